/* msgin5g-gw security: streaming import of registry entries into the store
 * (include/mgw/security.h mgw_registry_import, doc/internals/registry.md).
 *
 * The file is never read whole: YAML goes through libyaml's event parser one top-level
 * sequence item at a time, JSON Lines one line at a time. Each entry becomes a JSON object
 * (YAML scalars become strings, as the config engine reads them anyway), is checked by the
 * very code that checks devices.yaml (sec_registry_row() on the one-element sequence
 * "[row]"), and is written with mgw_regdb_put() into the caller's transaction. Memory
 * stays that of one entry whatever the file's size.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <talloc.h>
#include <yaml.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "security_int.h"

#define DEPTH_MAX 8
#define LINE_MAX_JSONL (64 * 1024)

/* ---------------------------------------------------------------- YAML events -> JSON */

static int node_json(yaml_parser_t *p, yaml_event_t *ev, int depth, json_t **out, char *why,
		     size_t n);

static int next_event(yaml_parser_t *p, yaml_event_t *ev, char *why, size_t n)
{
	if (yaml_parser_parse(p, ev))
		return MGW_OK;
	snprintf(why, n, "%zu: YAML: %s", p->problem_mark.line + 1,
		 p->problem ? p->problem : "syntax error");
	return MGW_E_MALFORMED;
}

static int seq_json(yaml_parser_t *p, int depth, json_t *a, char *why, size_t n)
{
	for (;;) {
		yaml_event_t ev;
		json_t *v = NULL;
		int rc;

		if ((rc = next_event(p, &ev, why, n)) != MGW_OK)
			return rc;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return MGW_OK;
		}
		rc = node_json(p, &ev, depth + 1, &v, why, n);
		if (rc != MGW_OK)
			return rc;
		if (json_array_append_new(a, v) < 0)
			return MGW_E_NOMEM;
	}
}

static int map_json(yaml_parser_t *p, int depth, json_t *o, char *why, size_t n)
{
	for (;;) {
		yaml_event_t ev;
		json_t *v = NULL;
		char *key;
		int rc;

		if ((rc = next_event(p, &ev, why, n)) != MGW_OK)
			return rc;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return MGW_OK;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			snprintf(why, n, "%zu: a key must be a plain scalar", ev.start_mark.line + 1);
			yaml_event_delete(&ev);
			return MGW_E_MALFORMED;
		}
		key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);
		if (!key)
			return MGW_E_NOMEM;
		if ((rc = next_event(p, &ev, why, n)) == MGW_OK &&
		    (rc = node_json(p, &ev, depth + 1, &v, why, n)) == MGW_OK) {
			if (json_object_get(o, key)) {
				snprintf(why, n, "%zu: duplicate key %s", ev.start_mark.line + 1, key);
				rc = MGW_E_MALFORMED;
				json_decref(v);
			} else if (json_object_set_new(o, key, v) < 0)
				rc = MGW_E_NOMEM;
		}
		free(key);
		if (rc != MGW_OK)
			return rc;
	}
}

/* One node whose first event is *ev (consumed here). */
static int node_json(yaml_parser_t *p, yaml_event_t *ev, int depth, json_t **out, char *why,
		     size_t n)
{
	size_t line = ev->start_mark.line + 1;
	yaml_event_type_t t = ev->type;
	json_t *v = NULL;
	int rc = MGW_E_MALFORMED;

	if (depth > DEPTH_MAX) {
		snprintf(why, n, "%zu: nested too deep", line);
		goto out;
	}
	if (t == YAML_SCALAR_EVENT)
		v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
	else if (t == YAML_SEQUENCE_START_EVENT)
		v = json_array();
	else if (t == YAML_MAPPING_START_EVENT)
		v = json_object();
	else {
		snprintf(why, n, "%zu: %s", line,
			 t == YAML_ALIAS_EVENT ? "aliases are not supported" : "unexpected YAML");
		goto out;
	}
	if (!v) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	rc = t == YAML_SEQUENCE_START_EVENT  ? seq_json(p, depth, v, why, n)
	     : t == YAML_MAPPING_START_EVENT ? map_json(p, depth, v, why, n)
					     : MGW_OK;
out:
	yaml_event_delete(ev);
	if (rc != MGW_OK) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return MGW_OK;
}

/* ---------------------------------------------------------------- one entry */

struct imp {
	struct mgw_regdb *db;
	const char *file, *src;
	int64_t gen;
	mode_t mode;
	bool check_mode;
	struct mgw_registry_import_stats *st;
	struct mgw_cfg_err *err;
};

/* "@:1:5: [0].coap.psk: what" (the engine's message about "[row]") -> "FILE:LINE: coap.psk:
 * what" */
static void row_err(struct mgw_cfg_err *err, const char *file, size_t line, size_t col,
		    const char *msg)
{
	const char *m = msg;

	if (strncmp(m, "@:", 2) == 0)
		for (int colons = 0; *m && colons < 3; m++)
			colons += *m == ':';
	while (*m == ' ')
		m++;
	if (strncmp(m, "[0].", 4) == 0)
		m += 4;
	else if (strncmp(m, "[0]: ", 5) == 0)
		m += 5;
	snprintf(err->msg, sizeof(err->msg), "%s:%zu:%zu: %s", file, line, col, m);
}

static const char *cred_path(int kind)
{
	switch (kind) {
	case MGW_CRED_PSK_ID:
		return "coap.psk_identity";
	case MGW_CRED_CERT_FP:
		return "coap.cert_fingerprint";
	case MGW_CRED_CERT_SUBJECT:
		return "coap.cert_subject";
	case MGW_CRED_MSISDN:
		return "sms.msisdn";
	default:
		return "mqtt.username";
	}
}

static void add_cred(struct mgw_regdb_cred *c, size_t *n, int kind, const char *v)
{
	if (v)
		c[(*n)++] = (struct mgw_regdb_cred){ kind, v };
}

/* The checked device of the row: *one (under ctx) and the store row in *dev. */
static int entry_dev(void *ctx, const char *row, const char *src, struct mgw_regdb_dev *dev,
		     struct mgw_regdb_cred *cred, struct mgw_registry **one, char *msg, size_t n)
{
	struct mgw_cfg_err e = { { 0 } };
	const struct mgw_device *d;
	char *buf = talloc_asprintf(ctx, "[%s]", row);
	int rc;

	if (!buf)
		return MGW_E_NOMEM;
	rc = sec_registry_row(ctx, "@", buf, strlen(buf), one, &e);
	OPENSSL_cleanse(buf, strlen(buf));
	talloc_free(buf);
	if (rc != MGW_OK) {
		snprintf(msg, n, "%s", e.msg);
		return rc;
	}
	d = sec_registry_first(*one);
	*dev = (struct mgw_regdb_dev){ .ue = d->ue,
				       .adapter = mgw_ingress_name(mgw_device_adapter(d)),
				       .src = src,
				       .row = row,
				       .cred = cred };
	add_cred(cred, &dev->ncred, MGW_CRED_PSK_ID, d->psk_identity);
	add_cred(cred, &dev->ncred, MGW_CRED_CERT_FP, d->cert_fp);
	add_cred(cred, &dev->ncred, MGW_CRED_CERT_FP, d->rpk_fp);
	add_cred(cred, &dev->ncred, MGW_CRED_CERT_SUBJECT, d->cert_subject);
	add_cred(cred, &dev->ncred, MGW_CRED_MSISDN, d->msisdn);
	add_cred(cred, &dev->ncred, MGW_CRED_MQTT_USER, d->mqtt_user);
	return MGW_OK;
}

static int put_fail(struct imp *im, size_t line, size_t col, const struct mgw_regdb_dev *dev,
		    size_t bad, const char *owner, int rc)
{
	if (rc == MGW_E_DUPLICATE && bad == (size_t)-1)
		snprintf(im->err->msg, sizeof(im->err->msg), "%s:%zu:%zu: ue: duplicate ue %s",
			 im->file, line, col, dev->ue);
	else if (rc == MGW_E_DUPLICATE && bad < dev->ncred)
		snprintf(im->err->msg, sizeof(im->err->msg),
			 "%s:%zu:%zu: %s: duplicate credential: %s %s is also used by ue %s",
			 im->file, line, col, cred_path(dev->cred[bad].kind),
			 mgw_cred_name((enum mgw_cred)dev->cred[bad].kind), dev->cred[bad].value,
			 owner);
	else
		snprintf(im->err->msg, sizeof(im->err->msg), "%s:%zu:%zu: the store: %s", im->file,
			 line, col, mgw_strerror(rc));
	return rc;
}

/* A file holding secrets must be private (as the config engine wants devices.yaml). */
static int secret_check(struct imp *im, json_t *item, const struct mgw_registry *one)
{
	const struct mgw_device *d = sec_registry_first(one);
	char what[96];

	if (!d->psk && !d->cose && !json_object_get(json_object_get(item, "mqtt"), "password"))
		return MGW_OK;
	im->st->secrets = true;
	snprintf(what, sizeof(what), "its secrets ([%zu].%s)", im->st->rows,
		 d->psk ? "coap.psk" : d->cose ? "cose.key" : "mqtt.password");
	if (im->check_mode && mgw_cfg_file_mode(im->file, (unsigned)im->mode,
						MGW_CFG_SECRET_FORBID, what, im->err) < 0)
		return MGW_E_CONFIG;
	im->check_mode = false;
	return MGW_OK;
}

static int import_one(struct imp *im, json_t *item, size_t line, size_t col)
{
	struct mgw_regdb_cred cred[8];
	struct mgw_regdb_dev dev;
	struct mgw_registry *one = NULL;
	char msg[sizeof(im->err->msg)], owner[MGW_ID_MAX + 1] = "";
	char *row = NULL;
	size_t bad = 0;
	int rc, what = 0;

	if (!json_is_object(item)) {
		snprintf(im->err->msg, sizeof(im->err->msg), "%s:%zu:%zu: an entry must be a mapping",
			 im->file, line, col);
		return MGW_E_CONFIG;
	}
	if (!(row = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS)))
		return MGW_E_NOMEM;
	if ((rc = entry_dev(NULL, row, im->src, &dev, cred, &one, msg, sizeof(msg))) != MGW_OK) {
		row_err(im->err, im->file, line, col, msg);
		goto out;
	}
	if ((rc = secret_check(im, item, one)) != MGW_OK)
		goto out;
	rc = mgw_regdb_put(im->db, &dev, im->gen, &what, &bad, owner, sizeof(owner));
	if (rc != MGW_OK) {
		put_fail(im, line, col, &dev, bad, owner, rc);
		goto out;
	}
	im->st->rows++;
	if (what == MGW_REGDB_ADDED)
		im->st->added++;
	else if (what == MGW_REGDB_UPDATED)
		im->st->updated++;
	else
		im->st->unchanged++;
out:
	talloc_free(one);
	OPENSSL_cleanse(row, strlen(row));
	free(row);
	return rc;
}

/* ---------------------------------------------------------------- the two formats */

/* After the document start: a sequence of entries, or a single mapping, or nothing. */
static int yaml_items(struct imp *im, yaml_parser_t *p)
{
	char why[256];
	yaml_event_t ev;
	json_t *item;
	bool seq;
	int rc;

	if ((rc = next_event(p, &ev, why, sizeof(why))) != MGW_OK)
		goto bad;
	if (ev.type == YAML_STREAM_END_EVENT ||
	    (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0)) {
		yaml_event_delete(&ev);
		return MGW_OK; /* an empty file: nothing to import */
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		snprintf(why, sizeof(why), "1: not a YAML document");
		goto bad;
	}
	yaml_event_delete(&ev);
	if ((rc = next_event(p, &ev, why, sizeof(why))) != MGW_OK)
		goto bad;
	seq = ev.type == YAML_SEQUENCE_START_EVENT;
	if (seq)
		yaml_event_delete(&ev);
	for (;;) {
		size_t line, col;

		if (seq && (rc = next_event(p, &ev, why, sizeof(why))) != MGW_OK)
			goto bad;
		if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 && !seq)) {
			yaml_event_delete(&ev);
			return MGW_OK;
		}
		line = ev.start_mark.line + 1;
		col = ev.start_mark.column + 1;
		if ((rc = node_json(p, &ev, 0, &item, why, sizeof(why))) != MGW_OK)
			goto bad;
		rc = import_one(im, item, line, col);
		json_decref(item);
		if (rc != MGW_OK || !seq)
			return rc;
	}
bad:
	snprintf(im->err->msg, sizeof(im->err->msg), "%s:%s", im->file, why);
	return rc == MGW_E_NOMEM ? rc : MGW_E_CONFIG;
}

static int import_yaml(struct imp *im, FILE *f)
{
	yaml_parser_t p;
	yaml_event_t ev;
	char why[256];
	int rc;

	if (!yaml_parser_initialize(&p))
		return MGW_E_NOMEM;
	yaml_parser_set_input_file(&p, f);
	if ((rc = next_event(&p, &ev, why, sizeof(why))) != MGW_OK) { /* stream start */
		snprintf(im->err->msg, sizeof(im->err->msg), "%s:%s", im->file, why);
		rc = MGW_E_CONFIG;
		goto out;
	}
	yaml_event_delete(&ev);
	rc = yaml_items(im, &p);
out:
	yaml_parser_delete(&p);
	return rc;
}

static int import_jsonl(struct imp *im, FILE *f)
{
	char *line = NULL;
	size_t cap = 0, no = 0;
	ssize_t len;
	int rc = MGW_OK;

	while ((len = getline(&line, &cap, f)) >= 0) {
		json_error_t je;
		json_t *item;
		char *s = line;

		no++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\n' || *s == '\r' || *s == '\0' || *s == '#')
			continue;
		if (len > LINE_MAX_JSONL) {
			snprintf(im->err->msg, sizeof(im->err->msg), "%s:%zu: line longer than %d bytes",
				 im->file, no, LINE_MAX_JSONL);
			rc = MGW_E_CONFIG;
			break;
		}
		if (!(item = json_loads(s, JSON_REJECT_DUPLICATES, &je))) {
			snprintf(im->err->msg, sizeof(im->err->msg), "%s:%zu: not JSON: %s", im->file,
				 no, je.text);
			rc = MGW_E_CONFIG;
			break;
		}
		rc = import_one(im, item, no, (size_t)(s - line) + 1);
		json_decref(item);
		if (rc != MGW_OK)
			break;
	}
	if (line)
		OPENSSL_cleanse(line, cap);
	free(line);
	return rc;
}

static enum mgw_registry_fmt guess(const char *file, FILE *f)
{
	size_t n = strlen(file);
	int c;

	if ((n > 6 && strcmp(file + n - 6, ".jsonl") == 0) ||
	    (n > 7 && strcmp(file + n - 7, ".ndjson") == 0))
		return MGW_REGFMT_JSONL;
	while ((c = getc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		;
	if (c != EOF)
		ungetc(c, f);
	return c == '{' ? MGW_REGFMT_JSONL : MGW_REGFMT_YAML;
}

int mgw_registry_import(struct mgw_regdb *db, const char *file, enum mgw_registry_fmt fmt,
			const char *src, int64_t gen, struct mgw_registry_import_stats *st,
			struct mgw_cfg_err *err)
{
	struct mgw_registry_import_stats dummy;
	struct imp im = { db, file, src, gen, 0, true, st ? st : &dummy, err };
	struct stat sb;
	FILE *f;
	int rc;

	if (!db || !file || !src || !err)
		return MGW_E_INVAL;
	memset(im.st, 0, sizeof(*im.st));
	err->msg[0] = '\0';
	if (!(f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re"))) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", file, strerror(errno));
		return MGW_E_IO;
	}
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
		im.mode = sb.st_mode;
	else
		im.check_mode = false; /* a pipe: nobody else reads it */
	if (fmt == MGW_REGFMT_AUTO)
		fmt = guess(file, f);
	rc = fmt == MGW_REGFMT_JSONL ? import_jsonl(&im, f) : import_yaml(&im, f);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* ---------------------------------------------------------------- one entry from text */

int mgw_registry_entry(void *ctx, const char *name, const char *text, const char *src,
		       struct mgw_regdb_dev **dev, struct mgw_cfg_err *err)
{
	struct mgw_regdb_dev *d = NULL;
	struct mgw_registry *one = NULL;
	struct mgw_regdb_cred *cred;
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *item = NULL;
	char why[256] = "", msg[sizeof(err->msg)], *row = NULL;
	int rc, i;

	if (!text || !dev || !err)
		return MGW_E_INVAL;
	if (!yaml_parser_initialize(&p))
		return MGW_E_NOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	for (i = 0, rc = MGW_OK; i < 3 && rc == MGW_OK; i++) /* stream, document, the node */
		if ((rc = next_event(&p, &ev, why, sizeof(why))) == MGW_OK && i < 2)
			yaml_event_delete(&ev);
	if (rc == MGW_OK && (rc = node_json(&p, &ev, 0, &item, why, sizeof(why))) == MGW_OK &&
	    !json_is_object(item)) {
		snprintf(why, sizeof(why), "1: an entry must be a mapping");
		rc = MGW_E_CONFIG;
	}
	yaml_parser_delete(&p);
	if (rc != MGW_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s:%s", name, why);
		rc = rc == MGW_E_NOMEM ? rc : MGW_E_CONFIG;
		goto out;
	}
	if (!(d = talloc_zero(ctx, struct mgw_regdb_dev)) ||
	    !(cred = talloc_zero_array(d, struct mgw_regdb_cred, 8)) ||
	    !(row = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = entry_dev(d, row, src, d, cred, &one, msg, sizeof(msg))) != MGW_OK) {
		row_err(err, name, 1, 1, msg);
		goto out;
	}
	/* the strings of *d live in one and the row copy, both under d */
	if (!(d->row = talloc_strdup(d, row))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	*dev = d;
	d = NULL;
	rc = MGW_OK;
out:
	json_decref(item);
	if (row) {
		OPENSSL_cleanse(row, strlen(row));
		free(row);
	}
	talloc_free(d);
	return rc;
}
