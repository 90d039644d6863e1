/* msgin5g-gw security: the audit log (interfaces.md 6, include/mgw/security.h).
 *
 * One JSON object per line, one line per security decision:
 *   {"time":"2026-11-28T17:00:00.123Z","dir":"uplink","adapter":"coap",
 *    "identity":{"kind":"psk","value":"sensor-1","peer":"127.0.0.1:5555"},
 *    "ue":"ue-coap-1","msgId":"m1","decision":"reject","cause":"SPOOF",
 *    "detail":"...","protection":"transport"}
 * time, dir, adapter, decision and cause are always present; the others when known.
 * Never payloads, never key material: the record is built only from the fields of
 * struct mgw_audit_rec, none of which carries either.
 *
 * The file is opened O_APPEND and each record (line and newline) goes out in one write(),
 * so lines from several writers never interleave. A failed write (disk full, I/O error) is
 * counted and returned; the first of an episode is logged loudly with the policy in force,
 * and the first success after it says how many records were lost. Whether the gateway keeps
 * serving meanwhile is audit.required, applied by the security core (security.c record()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#define AUDIT_MODE 0640

struct mgw_audit {
	char *path;
	int fd;
	bool required; /* audit.required: input is refused while records cannot be written */
	struct mgw_audit_stats st; /* st.failing: do not log every further failure */
	uint64_t lost_episode;     /* records lost in the current episode */
};

static int audit_destroy(struct mgw_audit *a)
{
	if (a->st.lost)
		LOGP(DSEC, MGW_LOGL_ERROR,
		     "audit %s: %" PRIu64 " records written, %" PRIu64 " lost in %" PRIu64
		     " episodes",
		     a->path, a->st.written, a->st.lost, a->st.episodes);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	return 0;
}

void mgw_audit_set_required(struct mgw_audit *a, bool required)
{
	if (a)
		a->required = required;
}

bool mgw_audit_required(const struct mgw_audit *a)
{
	return a && a->required;
}

void mgw_audit_stats(const struct mgw_audit *a, struct mgw_audit_stats *st)
{
	if (!st)
		return;
	if (a)
		*st = a->st;
	else
		memset(st, 0, sizeof(*st));
}

/* the first failure of an episode: loud, once, with what the gateway does about it */
static void failed(struct mgw_audit *a, int err)
{
	a->st.lost++;
	a->lost_episode++;
	if (a->st.failing)
		return;
	a->st.failing = true;
	a->st.episodes++;
	LOGP(DSEC, MGW_LOGL_ERROR,
	     "audit %s: write failed: %s: security decisions are NOT being recorded; %s", a->path,
	     strerror(err),
	     a->required ? "refusing new input until a record can be written (audit.required: true)"
			 : "still serving (audit.required: false)");
}

static void written(struct mgw_audit *a)
{
	a->st.written++;
	if (!a->st.failing)
		return;
	a->st.failing = false;
	LOGP(DSEC, MGW_LOGL_NOTICE, "audit %s: writing again; %" PRIu64 " records lost (%" PRIu64
	     " in all)", a->path, a->lost_episode, a->st.lost);
	a->lost_episode = 0;
}

static int open_log(const char *path)
{
	int fd;

	do
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, AUDIT_MODE);
	while (fd < 0 && errno == EINTR);
	return fd;
}

int mgw_audit_open(void *ctx, const char *path, struct mgw_audit **out, char *errbuf,
		   size_t errlen)
{
	struct mgw_audit *a = NULL;
	int rc;

	if (!path || !*path || !out) {
		rc = MGW_E_INVAL;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "no audit log path");
		goto out;
	}
	if (!(a = talloc_zero(ctx, struct mgw_audit)) || !(a->path = talloc_strdup(a, path))) {
		rc = MGW_E_NOMEM;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: out of memory", path);
		goto out;
	}
	a->fd = -1;
	talloc_set_destructor(a, audit_destroy);
	if ((a->fd = open_log(path)) < 0) {
		rc = MGW_E_IO;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	*out = a;
	a = NULL;
	rc = MGW_OK;
out:
	talloc_free(a);
	return rc;
}

int mgw_audit_reopen(struct mgw_audit *a)
{
	int fd;

	if (!a)
		return MGW_E_INVAL;
	if ((fd = open_log(a->path)) < 0) {
		/* keep writing to the old file rather than to nothing */
		LOGP(DSEC, MGW_LOGL_ERROR, "audit %s: cannot reopen: %s", a->path, strerror(errno));
		return MGW_E_IO;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	LOGP(DSEC, MGW_LOGL_INFO, "audit %s reopened", a->path);
	return MGW_OK;
}

void mgw_audit_close(struct mgw_audit *a)
{
	talloc_free(a);
}

/* A JSON string from text that may not be UTF-8 (identities and msgIds come from the
 * device side): bytes above 0x7f become '?' when the text is not valid UTF-8. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	if (!(copy = strdup(s)))
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static int put(json_t *o, const char *key, const char *val)
{
	json_t *j;

	if (!val || !*val)
		return 0;
	if (!(j = jstr(val)))
		return -1;
	return json_object_set_new(o, key, j);
}

static void fmt_time(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

/* Build the record as one line with its newline (malloc'd). */
static char *record_line(const struct mgw_audit_rec *r, size_t *len)
{
	json_t *o = json_object(), *id;
	char when[48], *s = NULL, *line = NULL;
	size_t n;

	fmt_time(when, sizeof(when));
	if (!o || put(o, "time", when) < 0 ||
	    (r->op ? put(o, "op", r->op) < 0 || put(o, "who", r->who) < 0
		   : put(o, "dir", mgw_dir_name(r->dir)) < 0) ||
	    put(o, "adapter", mgw_ingress_name(r->adapter)) < 0)
		goto out;
	if (r->claimed) {
		if (!(id = json_object()) || json_object_set_new(o, "identity", id) < 0 ||
		    put(id, "kind", mgw_cred_name(r->claimed->kind)) < 0 ||
		    put(id, "value", r->claimed->value) < 0 ||
		    put(id, "peer", r->claimed->peer) < 0)
			goto out;
	}
	if (put(o, "ue", r->ue) < 0 || put(o, "msgId", r->msg_id) < 0 ||
	    put(o, "decision", r->accept ? "accept" : "reject") < 0 ||
	    put(o, "cause", r->cause && *r->cause ? r->cause : (r->accept ? "OK" : "UNKNOWN")) <
		    0 ||
	    put(o, "detail", r->detail) < 0 || put(o, "protection", r->protection) < 0)
		goto out;
	if (!(s = json_dumps(o, JSON_COMPACT)))
		goto out;
	n = strlen(s);
	if (!(line = malloc(n + 2)))
		goto out;
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
out:
	free(s);
	json_decref(o);
	return line;
}

int mgw_audit_write(struct mgw_audit *a, const struct mgw_audit_rec *r)
{
	char *line = NULL;
	size_t len = 0;
	ssize_t w;
	int rc, err = 0;

	if (!a || !r)
		return MGW_E_INVAL;
	if (!(line = record_line(r, &len))) {
		rc = MGW_E_NOMEM;
		failed(a, ENOMEM);
		goto out;
	}
	/* one write(): with O_APPEND the line lands whole at the end of the file */
	do
		w = write(a->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len) {
		err = w < 0 ? errno : ENOSPC;
		rc = MGW_E_IO;
		failed(a, err);
		goto out;
	}
	written(a);
	rc = MGW_OK;
out:
	free(line);
	return rc;
}
