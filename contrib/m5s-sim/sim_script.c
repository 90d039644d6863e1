/* m5s-sim serve: the answer script. One rule a line, "MATCH... ACTION [times=N]", the
 * first matching rule with applications left decides; whole-line "#" comments. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include <mgw/err.h>

#include "m5s_sim.h"

/* longest script line we accept */
#define SCRIPT_LINE_MAX 4096

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void rtrim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* cut the next whitespace-separated token off *p */
static char *next_token(char **p)
{
	char *s = skip_ws(*p), *e;

	if (!*s)
		return NULL;
	e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	if (*e)
		*e++ = '\0';
	*p = e;
	return s;
}

/* "status=CODE[:RETRY_AFTER]" */
static int parse_status(struct sim_rule *r, const char *arg, const char **why)
{
	char code[8];
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	long long v;

	if (n == 0 || n >= sizeof(code)) {
		*why = "status= needs a code from 200 to 599";
		return MGW_E_INVAL;
	}
	memcpy(code, arg, n);
	code[n] = '\0';
	if (!sim_parse_ll(code, 200, 599, &v)) {
		*why = "status= needs a code from 200 to 599";
		return MGW_E_INVAL;
	}
	r->code = (int)v;
	r->retry_after = -1;
	if (colon) {
		if (!sim_parse_ll(colon + 1, 0, 86400, &v)) {
			*why = "Retry-After must be 0..86400 seconds";
			return MGW_E_INVAL;
		}
		r->retry_after = (int)v;
	}
	return MGW_OK;
}

/* Parse one non-empty, non-comment line into r (strings under ctx). */
static int parse_line(void *ctx, char *line, struct sim_rule *r, const char **why)
{
	char *p = line, *tok, *last;
	long long v;

	/* a trailing times=N belongs to every action, failed:CAUSE included */
	r->times = -1;
	last = line + strlen(line);
	while (last > line && last[-1] != ' ' && last[-1] != '\t')
		last--;
	if (last > line && strncmp(last, "times=", 6) == 0) {
		if (!sim_parse_ll(last + 6, 0, 1000000000LL, &v)) {
			*why = "times= needs a count";
			return MGW_E_INVAL;
		}
		r->times = v;
		*last = '\0';
		rtrim(line);
	}
	for (;;) {
		if (!(tok = next_token(&p))) {
			*why = r->n_match ? "no action" : "empty rule";
			return MGW_E_INVAL;
		}
		if (strcmp(tok, "*") == 0 || strncmp(tok, "path=", 5) == 0 ||
		    strncmp(tok, "msgId=", 6) == 0) {
			if (r->n_match == SIM_RULE_MATCH_MAX) {
				*why = "too many matches in one rule";
				return MGW_E_INVAL;
			}
			if (tok[0] == '*') {
				r->match[r->n_match].kind = SIM_MATCH_ANY;
			} else {
				bool path = tok[0] == 'p';

				r->match[r->n_match].kind = path ? SIM_MATCH_PATH : SIM_MATCH_MSGID;
				if (!(r->match[r->n_match].glob =
					      talloc_strdup(ctx, tok + (path ? 5 : 6))))
					return MGW_E_NOMEM;
			}
			r->n_match++;
			continue;
		}
		break;
	}
	if (!r->n_match) {
		*why = "a rule starts with a match: *, path=GLOB or msgId=GLOB";
		return MGW_E_INVAL;
	}
	if (strcmp(tok, "ok") == 0) {
		r->action = SIM_ACT_OK;
	} else if (strcmp(tok, "stored") == 0) {
		r->action = SIM_ACT_STORED;
	} else if (strcmp(tok, "drop") == 0) {
		r->action = SIM_ACT_DROP;
	} else if (strcmp(tok, "failed") == 0 || strncmp(tok, "failed:", 7) == 0) {
		r->action = SIM_ACT_FAILED;
		if (tok[6] == ':') {
			/* the cause runs to the end of the line (spaces included) */
			char *cause = tok + 7;

			if (*p)
				cause[strlen(cause)] = ' '; /* undo next_token's cut */
			rtrim(cause);
			if (strlen(cause) > 512) {
				*why = "failure cause longer than 512 bytes";
				return MGW_E_INVAL;
			}
			if (*cause && !(r->cause = talloc_strdup(ctx, cause)))
				return MGW_E_NOMEM;
			p = cause + strlen(cause);
		}
	} else if (strncmp(tok, "status=", 7) == 0) {
		r->action = SIM_ACT_STATUS;
		if (parse_status(r, tok + 7, why) != MGW_OK)
			return MGW_E_INVAL;
	} else if (strncmp(tok, "delay=", 6) == 0) {
		r->action = SIM_ACT_DELAY;
		if (!sim_parse_ll(tok + 6, 0, 3600000LL, &v)) {
			*why = "delay= needs milliseconds (0..3600000)";
			return MGW_E_INVAL;
		}
		r->delay_ms = v;
	} else {
		*why = "unknown action (ok, stored, failed[:CAUSE], status=CODE[:S], delay=MS, drop)";
		return MGW_E_INVAL;
	}
	if ((tok = next_token(&p))) {
		*why = "unexpected text after the action";
		return MGW_E_INVAL;
	}
	return MGW_OK;
}

int sim_script_load(void *ctx, const char *file, struct sim_script **out, char *err,
		    size_t errlen)
{
	struct sim_script *s = NULL;
	FILE *f = NULL;
	char line[SCRIPT_LINE_MAX + 2];
	unsigned lineno = 0;
	const char *why = NULL;
	int rc;

	if (!(s = talloc_zero(ctx, struct sim_script)) || !(s->file = talloc_strdup(s, file))) {
		snprintf(err, errlen, "%s: out of memory", file);
		rc = MGW_E_NOMEM;
		goto out;
	}
	if (!(f = fopen(file, "r"))) {
		snprintf(err, errlen, "%s: cannot open: %m", file);
		rc = MGW_E_IO;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		struct sim_rule *rules, r;
		char *l;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", file, lineno);
			rc = MGW_E_TOO_BIG;
			goto out;
		}
		rtrim(line);
		l = skip_ws(line);
		if (!*l || *l == '#')
			continue;
		memset(&r, 0, sizeof(r));
		r.line = lineno;
		if ((rc = parse_line(s, l, &r, &why)) != MGW_OK) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno,
				 rc == MGW_E_NOMEM ? "out of memory" : why);
			goto out;
		}
		if (!(rules = talloc_realloc(s, s->rules, struct sim_rule, s->n + 1))) {
			snprintf(err, errlen, "%s: out of memory", file);
			rc = MGW_E_NOMEM;
			goto out;
		}
		s->rules = rules;
		s->rules[s->n++] = r;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", file);
		rc = MGW_E_IO;
		goto out;
	}
	*out = s;
	s = NULL;
	rc = MGW_OK;
out:
	if (f)
		fclose(f);
	talloc_free(s);
	return rc;
}

static bool rule_matches(const struct sim_rule *r, const char *path, const char *msg_id)
{
	for (size_t i = 0; i < r->n_match; i++) {
		switch (r->match[i].kind) {
		case SIM_MATCH_ANY:
			break;
		case SIM_MATCH_PATH:
			if (fnmatch(r->match[i].glob, path, 0) != 0)
				return false;
			break;
		case SIM_MATCH_MSGID:
			if (!msg_id || fnmatch(r->match[i].glob, msg_id, 0) != 0)
				return false;
			break;
		}
	}
	return true;
}

struct sim_rule *sim_script_match(struct sim_script *s, const char *path, const char *msg_id)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		struct sim_rule *r = &s->rules[i];

		if (r->times == 0 || !rule_matches(r, path, msg_id))
			continue;
		if (r->times > 0)
			r->times--;
		return r;
	}
	return NULL;
}
