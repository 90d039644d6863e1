/* testdev lab adapter: the line protocol, parsed and formatted (no I/O). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include <mgw/err.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "test_int.h"

static const struct {
	const char *name;
	enum td_verb verb;
	bool has_arg; /* the verb takes an argument after one space */
} verbs[] = {
	{ "HELLO", TD_HELLO, true }, { "MSG", TD_MSG, true },   { "REPORT", TD_REPORT, true },
	{ "SUB", TD_SUB, false },    { "ACK", TD_ACK, true },   { "NACK", TD_NACK, true },
	{ "QUIT", TD_QUIT, false },
};

static const struct {
	const char *name;
	enum mgw_cred kind;
} creds[] = {
	{ "psk", MGW_CRED_PSK_ID },
	{ "cert", MGW_CRED_CERT_FP },
	{ "msisdn", MGW_CRED_MSISDN },
	{ "mqtt", MGW_CRED_MQTT_USER },
};

enum mgw_cred td_cred_parse(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		if (strlen(creds[i].name) == len && memcmp(creds[i].name, s, len) == 0)
			return creds[i].kind;
	return MGW_CRED_NONE;
}

static bool has_ctl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static int parse_hello(const char *a, size_t n, struct td_cmd *out, struct mgw_diag *diag)
{
	const char *sp = memchr(a, ' ', n);
	enum mgw_cred kind;
	size_t klen;

	if (!sp || sp + 1 == a + n)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "",
				    "usage: HELLO psk|cert|msisdn|mqtt VALUE");
	klen = (size_t)(sp - a);
	if ((kind = td_cred_parse(a, klen)) == MGW_CRED_NONE)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "",
				    "hello: kind must be psk, cert, msisdn or mqtt");
	a = sp + 1;
	n -= klen + 1;
	if (n > MGW_ID_MAX)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, "", "hello: value longer than %d bytes",
				    MGW_ID_MAX);
	if (has_ctl(a, n) || memchr(a, ' ', n))
		return mgw_diag_set(diag, MGW_E_MALFORMED, "",
				    "hello: value holds a space or control character");
	out->kind = kind;
	out->arg = a;
	out->arg_len = n;
	return MGW_OK;
}

int td_parse(const char *line, size_t len, struct td_cmd *out, struct mgw_diag *diag)
{
	struct td_cmd c = { 0 };
	const char *arg = NULL;
	size_t vlen, alen = 0;
	int rc;

	if (len && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		vlen = strlen(verbs[i].name);
		if (len < vlen || memcmp(line, verbs[i].name, vlen) != 0)
			continue;
		if (len == vlen) {
			arg = line + len;
		} else if (line[vlen] == ' ') {
			arg = line + vlen + 1;
			alen = len - vlen - 1;
		} else {
			continue; /* "SUBX": another word */
		}
		c.verb = verbs[i].verb;
		if (!verbs[i].has_arg && alen) {
			rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "%s takes no argument",
					  verbs[i].name);
			goto out;
		}
		if (verbs[i].has_arg && !alen) {
			rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "%s needs an argument",
					  verbs[i].name);
			goto out;
		}
		break;
	}
	if (!arg) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "unknown command");
		goto out;
	}
	c.arg = arg;
	c.arg_len = alen;
	if (c.verb == TD_HELLO && (rc = parse_hello(arg, alen, &c, diag)) != MGW_OK)
		goto out;
	if ((c.verb == TD_ACK || c.verb == TD_NACK) && has_ctl(arg, alen)) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "control character in %s",
				  c.verb == TD_ACK ? "ACK" : "NACK");
		goto out;
	}
	*out = c;
	rc = MGW_OK;
out:
	return rc;
}

bool td_nack_match(const char *rest, size_t len, const char *msg_id, const char **cause,
		   size_t *cause_len)
{
	size_t n = strlen(msg_id);

	if (len < n || memcmp(rest, msg_id, n) != 0)
		return false;
	if (len == n) {
		*cause = rest + len;
		*cause_len = 0;
		return true;
	}
	if (rest[n] != ' ')
		return false;
	*cause = rest + n + 1;
	*cause_len = len - n - 1;
	return true;
}

/* a copy of s usable as one space-free token */
static char *token(void *ctx, const char *s)
{
	char *t;

	if (!s || !*s)
		return talloc_strdup(ctx, "-");
	if (!(t = talloc_strdup(ctx, s)))
		return NULL;
	for (char *p = t; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			*p = '_';
	return t;
}

/* a copy of s usable as free text on one line */
static char *text(void *ctx, const char *s)
{
	char *t;

	if (!(t = talloc_strdup(ctx, s ? s : "")))
		return NULL;
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return t;
}

char *td_fmt_ok(void *ctx, const char *what, const char *ue)
{
	void *tmp = talloc_new(ctx);
	char *line = NULL, *u;

	if (tmp && (u = token(tmp, ue)))
		line = talloc_asprintf(ctx, "OK %s %s", what, u);
	talloc_free(tmp);
	return line;
}

char *td_fmt_submit(void *ctx, int rc, const char *msg_id, const char *cause,
		    const char *detail)
{
	void *tmp = talloc_new(ctx);
	char *line = NULL, *id, *c, *d;

	if (!tmp || !(id = token(tmp, msg_id)))
		goto out;
	if (rc == MGW_OK || rc == MGW_E_DUPLICATE) {
		line = talloc_asprintf(ctx, "OK %s %s", id,
				       rc == MGW_OK ? "stored" : "duplicate");
		goto out;
	}
	if (!(c = token(tmp, cause && *cause ? cause : mgw_errname(rc))) ||
	    !(d = text(tmp, detail && *detail ? detail : mgw_strerror(rc))))
		goto out;
	line = talloc_asprintf(ctx, "ERR %s %s %s %s", mgw_errname(rc), id, c, d);
out:
	talloc_free(tmp);
	return line;
}

char *td_fmt_err(void *ctx, int rc, const char *where, const char *txt)
{
	void *tmp = talloc_new(ctx);
	char *line = NULL, *w, *t;

	if (!tmp || !(w = text(tmp, where)) || !(t = text(tmp, txt)))
		goto out;
	line = talloc_asprintf(ctx, "ERR %s - %s%s%s", mgw_errname(rc), w, *w ? " " : "", t);
out:
	talloc_free(tmp);
	return line;
}

int td_fmt_deliver(void *ctx, const char *json, size_t len, char **out)
{
	char *line;

	if (memchr(json, '\n', len) || memchr(json, '\r', len))
		return MGW_E_INVAL;
	if (!(line = talloc_asprintf(ctx, "DELIVER %.*s", (int)len, json)))
		return MGW_E_NOMEM;
	*out = line;
	return MGW_OK;
}
