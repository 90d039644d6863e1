/* m5s-sim serve: an MSGin5G Server (TS 29.538 msgs-msgdelivery) on the gateway's north
 * HTTP server: decodes each request with the gateway's codec, records it as one JSON line
 * and answers as the script says. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>

#include "http_server.h"
#include "m5s_sim.h"

#define API "/msgs-msgdelivery/v1"
/* "drop": the server layer has no way to drop a connection, so the request is held this
 * long without an answer (longer than any sane client timeout), then answered 503. */
#define DROP_HOLD_MS 60000
/* at exit, how long answers to held requests get to be written */
#define DRAIN_MS 300

#define REG_API "/msgs-gwregistration/v1"

enum op { OP_UE_MESSAGE, OP_AS_MESSAGE, OP_REPORT, OP_REGISTER, OP_DEREGISTER };

static const struct {
	const char *path;
	enum op op;
} ops[] = {
	{ API "/deliver-ue-message", OP_UE_MESSAGE },
	{ API "/deliver-as-message", OP_AS_MESSAGE },
	{ API "/deliver-report", OP_REPORT },
	{ REG_API "/registrations", OP_REGISTER },
	{ REG_API "/deregistrations", OP_DEREGISTER },
};

/* The one table from an answer status to the TS 29.500 cause of this boundary. */
static const struct {
	int status;
	const char *title;
	const char *cause;
} status_map[] = {
	{ 400, "Bad Request", "INVALID_MSG_FORMAT" },
	{ 401, "Unauthorized", "UNAUTHORIZED" },
	{ 403, "Forbidden", "SERVICE_NOT_ALLOWED" },
	{ 404, "Not Found", "RESOURCE_URI_STRUCTURE_NOT_FOUND" },
	{ 405, "Method Not Allowed", "INVALID_API" },
	{ 411, "Length Required", "INCORRECT_LENGTH" },
	{ 413, "Payload Too Large", "INCORRECT_LENGTH" },
	{ 415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE" },
	{ 429, "Too Many Requests", "NF_CONGESTION_RISK" },
	{ 500, "Internal Server Error", "SYSTEM_FAILURE" },
	{ 503, "Service Unavailable", "NF_CONGESTION" },
	{ 504, "Gateway Timeout", "TIMED_OUT_REQUEST" },
};

static void status_cause(int status, const char **title, const char **cause)
{
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].status == status) {
			*title = status_map[i].title;
			*cause = status_map[i].cause;
			return;
		}
	*title = status >= 500 ? "Server Error" : "Client Error";
	*cause = status >= 500 ? "UNSPECIFIED_NF_FAILURE" : "UNSPECIFIED_MSG_FAILURE";
}

struct call;

struct sim {
	void *ctx;
	struct event_base *base;
	struct mgw_http_server *http;
	FILE *rec;
	char *record_file;
	char *script_file;
	struct sim_script *script;
	char *token;
	uint64_t seq;
	struct mgw_codec_limits lim; /* --max-payload */
	struct call *pending; /* delayed and dropped requests */
	struct sim_regs *regs; /* the gateway registration API (sim_reg.c) */
	bool stopping;        /* SIGTERM/SIGINT: new requests get 503 */
	struct event *sig[4];
};

/* a request, from the handler until answered */
struct call {
	struct sim *sim;
	struct mgw_http_req *req;
	struct call *prev, *next; /* in sim->pending while a timer runs */
	struct event *timer;
	char time[64];           /* arrival, RFC 3339 UTC with ms */
	const char *path;
	enum op op;
	bool known;              /* path is one of ops[] */
	const char *auth;        /* "ok", "bad" or NULL (no bearer token; see auth_check) */
	json_t *body;            /* the request body as recorded */
	char msg_id[MGW_ID_MAX + 1];
	struct mgw_addr ori;
	bool valid;
	char cause[512];
	bool recorded;
	/* the answer */
	int status;
	const char *ctype;
	char *resp;
	size_t resp_len;
	const char *hname;
	char hvalue[24];
};

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ts.tv_nsec / 1000000L));
}

static void unlink_pending(struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->sim->pending == c)
		c->sim->pending = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static int call_destructor(struct call *c)
{
	unlink_pending(c);
	if (c->timer)
		event_free(c->timer);
	json_decref(c->body);
	return 0;
}

/* a JSON string of (b, n): text that is not UTF-8 stays readable, with '?' for each byte
 * >= 0x80 (and NUL), so that every record line is valid JSON */
static json_t *json_text(const void *b, size_t n)
{
	const uint8_t *u = b;
	json_t *j;
	char *s;

	if ((j = json_stringn(b, n)))
		return j;
	if (!(s = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = u[i] >= 0x80 || u[i] == 0 ? '?' : (char)u[i];
	j = json_stringn(s, n);
	free(s);
	return j;
}

static json_t *json_text_or_null(const char *s)
{
	return s && *s ? json_text(s, strlen(s)) : json_null();
}

/* the request body as recorded: JSON text as parsed, anything else as a string */
static json_t *body_json(const uint8_t *b, size_t n)
{
	json_t *j = json_loadb((const char *)b, n, JSON_DECODE_ANY, NULL);

	return j ? j : json_text(b, n);
}

/* Append the record line of c (once). A failing record file is logged, never fatal for the
 * answer. */
static void record(struct call *c)
{
	struct sim *sim = c->sim;
	const char *cn = mgw_http_req_client_cn(c->req);
	json_t *r = NULL;
	char *line = NULL;

	if (c->recorded)
		return;
	c->recorded = true;
	r = json_pack("{s:I, s:s, s:o, s:s, s:o, s:o, s:i, s:b, s:o, s:O}", "seq",
		      (json_int_t)++sim->seq, "time", c->time, "path", json_text_or_null(c->path),
		      "proto", mgw_http_req_proto(c->req), "client_cn", json_text_or_null(cn),
		      "auth", json_text_or_null(c->auth), "status", c->status, "valid", c->valid,
		      "cause", json_text_or_null(c->cause), "body", c->body ? c->body : json_null());
	if (!r || !(line = json_dumps(r, JSON_COMPACT))) {
		fprintf(stderr, "m5s-sim: cannot encode the record of request %llu\n",
			(unsigned long long)sim->seq);
		goto out;
	}
	if (fputs(line, sim->rec) < 0 || fputc('\n', sim->rec) < 0 || fflush(sim->rec) != 0)
		fprintf(stderr, "m5s-sim: %s: write failed: %s\n", sim->record_file,
			strerror(errno));
out:
	free(line);
	json_decref(r);
}

/* record, answer and release c */
static void finish(struct call *c)
{
	record(c);
	mgw_http_respond(c->req, c->status, c->ctype, c->resp, c->resp_len, c->hname,
			 c->hname ? c->hvalue : NULL);
	talloc_free(c);
}

static void set_problem(struct call *c, const struct mgw_problem *p)
{
	c->status = p->status;
	c->ctype = "application/problem+json";
	talloc_free(c->resp);
	c->resp = NULL;
	c->resp_len = 0;
	if (mgw_json_encode_problem(c, p, &c->resp, &c->resp_len) != MGW_OK) {
		c->ctype = NULL;
		c->resp = NULL;
		c->resp_len = 0;
	}
}

/* a ProblemDetails without invalidParams; the record's cause is the detail */
static void answer_problem(struct call *c, int status, const char *detail, int retry_after)
{
	struct mgw_problem p;
	const char *title, *cause;

	memset(&p, 0, sizeof(p));
	status_cause(status, &title, &cause);
	p.status = status;
	snprintf(p.title, sizeof(p.title), "%s", title);
	snprintf(p.cause, sizeof(p.cause), "%s", cause);
	snprintf(p.detail, sizeof(p.detail), "%s", detail);
	if (!c->cause[0])
		snprintf(c->cause, sizeof(c->cause), "%s: %s", cause, detail);
	if (status >= 400) {
		set_problem(c, &p);
	} else {
		/* a script's status=2xx/3xx: that status, no body */
		c->status = status;
		c->ctype = NULL;
		TALLOC_FREE(c->resp);
		c->resp_len = 0;
	}
	if (retry_after >= 0) {
		c->hname = "Retry-After";
		snprintf(c->hvalue, sizeof(c->hvalue), "%d", retry_after);
	} else if (status == 401) {
		c->hname = "WWW-Authenticate";
		snprintf(c->hvalue, sizeof(c->hvalue), "Bearer");
	} else if (status == 405) {
		c->hname = "Allow";
		snprintf(c->hvalue, sizeof(c->hvalue), "POST");
	}
}

/* a body that failed to decode: 400 (or the status the server layer set) naming the member */
static void answer_diag(struct call *c, int status, const struct mgw_diag *d)
{
	struct mgw_problem p;

	mgw_problem_from_diag(&p, status, d);
	snprintf(c->cause, sizeof(c->cause), "%s %s: %s", p.cause, d->where[0] ? d->where : "/",
		 d->text[0] ? d->text : mgw_strerror(d->rc));
	c->valid = false;
	set_problem(c, &p);
}

/* 200 MessageDeliveryAck {oriAddr, msgId[, status[, failureCause]]} */
static void answer_ack(struct call *c, const char *status, const char *failure_cause)
{
	struct mgw_ack a;

	memset(&a, 0, sizeof(a));
	a.ori = c->ori;
	snprintf(a.msg_id, sizeof(a.msg_id), "%s", c->msg_id);
	if (status)
		snprintf(a.status, sizeof(a.status), "%s", status);
	if (failure_cause) {
		a.has_failure_cause = true;
		snprintf(a.failure_cause, sizeof(a.failure_cause), "%s", failure_cause);
	}
	talloc_free(c->resp);
	c->resp = NULL;
	if (mgw_json_encode_ack(c, &a, &c->resp, &c->resp_len) != MGW_OK) {
		answer_problem(c, 500, "cannot encode the MessageDeliveryAck", -1);
		return;
	}
	c->status = 200;
	c->ctype = "application/json";
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;

	(void)fd;
	(void)what;
	if (c->status == 0) /* dropped: the client is told at last, nothing counts as delivered */
		answer_problem(c, 503, "dropped by the m5s-sim script", -1);
	finish(c);
}

/* answer c after ms (recording at once when the request is dropped) */
static void answer_later(struct call *c, int64_t ms, bool dropped)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (!(c->timer = evtimer_new(c->sim->base, timer_cb, c))) {
		answer_problem(c, 500, "out of memory", -1);
		finish(c);
		return;
	}
	if (dropped) {
		/* status 0 in the record: no answer was given */
		c->status = 0;
		snprintf(c->cause, sizeof(c->cause), "dropped");
		record(c);
	}
	c->next = c->sim->pending;
	if (c->next)
		c->next->prev = c;
	c->sim->pending = c;
	evtimer_add(c->timer, &tv);
}

/* deliver-as-message: only JSON-parsed; the ack needs oriAddr and msgId */
static int check_as_message(struct call *c, struct mgw_diag *d)
{
	json_t *o, *t, *a, *id;

	if (!json_is_object(c->body))
		return mgw_diag_set(d, MGW_E_MALFORMED, "", "body is not a JSON object");
	if (!(o = json_object_get(c->body, "oriAddr")))
		return mgw_diag_set(d, MGW_E_MISSING, "/oriAddr", "mandatory member missing");
	t = json_object_get(o, "addrType");
	a = json_object_get(o, "addr");
	if (!json_is_string(t) || !json_is_string(a) ||
	    mgw_addr_set_wire(&c->ori, json_string_value(t), json_string_value(a)) != MGW_OK)
		return mgw_diag_set(d, MGW_E_TYPE, "/oriAddr", "not an Address");
	if (!(id = json_object_get(c->body, "msgId")))
		return mgw_diag_set(d, MGW_E_MISSING, "/msgId", "mandatory member missing");
	if (!json_is_string(id) || !json_string_length(id) ||
	    mgw_str_set(c->msg_id, sizeof(c->msg_id), json_string_value(id)) != MGW_OK)
		return mgw_diag_set(d, MGW_E_TYPE, "/msgId", "not a non-empty string");
	return MGW_OK;
}

/* The record's "auth": NULL when the request carries no bearer token; "ok" when it
 * carries one and it is --token (or there is no --token: any bearer is accepted); "bad"
 * when it carries one that is not --token. The token itself is never recorded. */
static const char *auth_check(const struct sim *sim, const char *hdr)
{
	size_t want;

	if (!hdr)
		return NULL;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	if (strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' && hdr[6] != '\t'))
		return NULL;
	hdr += 6;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	if (!sim->token)
		return "ok";
	want = strlen(sim->token);
	return strlen(hdr) == want && CRYPTO_memcmp(hdr, sim->token, want) == 0 ? "ok" : "bad";
}

static void handle(void *arg, struct mgw_http_req *req)
{
	struct sim *sim = arg;
	struct call *c;
	struct mgw_diag d;
	struct mgw_msg *m = NULL;
	struct sim_rule *rule;
	const uint8_t *b;
	size_t n = 0;
	int rc, err;

	if (!(c = talloc_zero(sim->ctx, struct call))) {
		mgw_http_respond(req, 500, NULL, NULL, 0, NULL, NULL);
		return;
	}
	talloc_set_destructor(c, call_destructor);
	c->sim = sim;
	c->req = req;
	now_rfc3339(c->time, sizeof(c->time));
	c->path = mgw_http_req_path(req);
	b = mgw_http_req_body(req, &n);
	c->body = body_json(b ? b : (const uint8_t *)"", b ? n : 0);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(c->path, ops[i].path) == 0) {
			c->known = true;
			c->op = ops[i].op;
		}
	mgw_diag_clear(&d);

	if ((err = mgw_http_req_error(req)) != 0) {
		mgw_diag_set(&d, err == 413 ? MGW_E_TOO_BIG : MGW_E_MALFORMED, "",
			     err == 413 ? "body too large" :
			     err == 411 ? "length required" : "malformed HTTP request");
		answer_diag(c, err, &d);
		goto answer;
	}
	if (sim->stopping) {
		answer_problem(c, 503, "m5s-sim is stopping", -1);
		goto answer;
	}
	if (!c->known) {
		answer_problem(c, 404, "no such operation of msgs-msgdelivery or msgs-gwregistration", -1);
		goto answer;
	}
	if (strcmp(mgw_http_req_method(req), "POST") != 0) {
		answer_problem(c, 405, "only POST", -1);
		goto answer;
	}
	c->auth = auth_check(sim, mgw_http_req_header(req, "authorization"));
	if (sim->token && (!c->auth || strcmp(c->auth, "ok") != 0)) {
		answer_problem(c, 401, c->auth ? "wrong bearer token" : "bearer token required", -1);
		goto answer;
	}
	/* decode */
	if (c->op == OP_REGISTER || c->op == OP_DEREGISTER) {
		/* a status= rule answers before anything is registered */
		rule = sim_script_match(sim->script, c->path, NULL);
		if (rule && rule->action == SIM_ACT_STATUS) {
			snprintf(c->cause, sizeof(c->cause), "script line %u: status=%d",
				 rule->line, rule->code);
			answer_problem(c, rule->code, "answered by the m5s-sim script",
				       rule->retry_after);
			goto answer;
		}
		if ((rc = sim_regs_apply(sim->regs, c, c->op == OP_REGISTER, c->body, &c->resp,
					 &c->resp_len, &d)) == MGW_OK) {
			c->valid = true;
			c->status = 200;
			c->ctype = "application/json";
			goto answer;
		}
	} else if (c->op == OP_AS_MESSAGE) {
		rc = check_as_message(c, &d);
	} else {
		rc = mgw_json_decode_msg(c, c->op == OP_REPORT ? MGW_BODY_REPORT : MGW_BODY_UE_MESSAGE,
					 (const char *)(b ? b : (const uint8_t *)""), b ? n : 0,
					 &c->sim->lim, &m, &d);
		if (rc == MGW_OK) {
			c->ori = m->ori;
			snprintf(c->msg_id, sizeof(c->msg_id), "%s", m->msg_id);
		}
		TALLOC_FREE(m);
	}
	if (rc != MGW_OK) {
		answer_diag(c, 400, &d);
		goto answer;
	}
	c->valid = true;
	answer_ack(c, NULL, NULL);

	rule = sim_script_match(sim->script, c->path, c->msg_id);
	if (!rule)
		goto answer;
	switch (rule->action) {
	case SIM_ACT_OK:
		break;
	case SIM_ACT_STORED:
		answer_ack(c, "DELY_STORED", NULL);
		break;
	case SIM_ACT_FAILED:
		answer_ack(c, "DELY_FAILED", rule->cause);
		break;
	case SIM_ACT_STATUS:
		snprintf(c->cause, sizeof(c->cause), "script line %u: status=%d", rule->line,
			 rule->code);
		answer_problem(c, rule->code, "answered by the m5s-sim script", rule->retry_after);
		break;
	case SIM_ACT_DELAY:
		answer_later(c, rule->delay_ms, false);
		goto out;
	case SIM_ACT_DROP:
		answer_later(c, DROP_HOLD_MS, true);
		goto out;
	}
answer:
	finish(c);
out:
	return;
}

/* at exit: answer every held request now (delay= with its answer, drop with 503) */
static void answer_held(struct sim *sim)
{
	while (sim->pending) {
		struct call *c = sim->pending;

		unlink_pending(c);
		if (c->status == 0)
			answer_problem(c, 503, "m5s-sim is stopping", -1);
		finish(c);
	}
}

static void conn_event(void *arg, const struct mgw_http_conn_event *ev)
{
	(void)arg;
	fprintf(stderr, "m5s-sim: connection from %s refused: %s\n", ev->peer, ev->reason);
}

static void reload_script(struct sim *sim)
{
	struct sim_script *s = NULL;
	char err[512];

	if (!sim->script_file)
		return;
	if (sim_script_load(sim->ctx, sim->script_file, &s, err, sizeof(err)) != MGW_OK) {
		fprintf(stderr, "m5s-sim: SIGHUP: keeping the previous script: %s\n", err);
		return;
	}
	talloc_free(sim->script);
	sim->script = s;
	fprintf(stderr, "m5s-sim: SIGHUP: %s reloaded (%zu rules)\n", sim->script_file, s->n);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sim *sim = arg;

	(void)what;
	if (sig == SIGHUP) {
		reload_script(sim);
		return;
	}
	fprintf(stderr, "m5s-sim: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(sim->base);
}

/* write the port, atomically (a reader never sees a partial number) */
static int write_port_file(void *ctx, const char *file, int port)
{
	char *tmp = talloc_asprintf(ctx, "%s.tmp", file);
	FILE *f = NULL;
	int rc = MGW_E_IO;

	if (!tmp) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if (!(f = fopen(tmp, "w")))
		goto out;
	if (fprintf(f, "%d\n", port) < 0) {
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, file) != 0)
		goto out;
	rc = MGW_OK;
out:
	if (rc != MGW_OK)
		fprintf(stderr, "m5s-sim: %s: cannot write the port: %s\n", file, strerror(errno));
	talloc_free(tmp);
	return rc;
}

/* "127.0.0.1:0", "[::1]:8443" */
static int split_listen(void *ctx, const char *s, char **addr, int *port)
{
	const char *colon = strrchr(s, ':');
	long long p;
	size_t n;

	if (!colon || colon == s || !sim_parse_ll(colon + 1, 0, 65535, &p))
		return MGW_E_INVAL;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return MGW_E_INVAL;
		s++;
		n -= 2;
	}
	if (!(*addr = talloc_strndup(ctx, s, n)))
		return MGW_E_NOMEM;
	*port = (int)p;
	return MGW_OK;
}

static const struct option serve_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "cert", required_argument, NULL, 'c' },
	{ "key", required_argument, NULL, 'k' },
	{ "client-ca", required_argument, NULL, 'C' },
	{ "insecure", no_argument, NULL, 'i' },
	{ "record", required_argument, NULL, 'r' },
	{ "script", required_argument, NULL, 's' },
	{ "token", required_argument, NULL, 't' },
	{ "port-file", required_argument, NULL, 'p' },
	{ "max-payload", required_argument, NULL, 'm' },
	{ "reg-state", required_argument, NULL, 'g' },
	{ NULL, 0, NULL, 0 },
};

int sim_serve_main(void *ctx, int argc, char **argv)
{
	struct mgw_http_server_cfg cfg;
	struct sim *sim;
	const char *listen = NULL, *port_file = NULL, *reg_state = NULL;
	char *addr = NULL, err[512];
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	int opt, port = 0, rc = SIM_EXIT_RUNTIME, fd;

	memset(&cfg, 0, sizeof(cfg));
	if (!(sim = talloc_zero(ctx, struct sim)))
		return SIM_EXIT_RUNTIME;
	sim->ctx = sim;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", serve_opts, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 'C': cfg.client_ca = optarg; break;
		case 'i': cfg.insecure = true; break;
		case 'r': sim->record_file = optarg; break;
		case 's': sim->script_file = optarg; break;
		case 't': sim->token = optarg; break;
		case 'p': port_file = optarg; break;
		case 'g': reg_state = optarg; break;
		case 'm': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || v < 1 || v > 1048576) {
				rc = sim_usage_error("serve: --max-payload wants 1..1048576 bytes");
				goto out;
			}
			sim->lim.max_payload = (size_t)v;
			break;
		}
		default:
			rc = sim_usage_error("serve: unknown option or missing value '%s'",
					     argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		rc = sim_usage_error("serve: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!listen || !sim->record_file) {
		rc = sim_usage_error("serve: --listen and --record are required");
		goto out;
	}
	if (split_listen(sim, listen, &addr, &port) != MGW_OK) {
		rc = sim_usage_error("serve: --listen wants ADDR:PORT, not '%s'", listen);
		goto out;
	}
	if (cfg.insecure == (cfg.cert || cfg.key || cfg.client_ca)) {
		rc = sim_usage_error("serve: give either --cert and --key (TLS) or --insecure");
		goto out;
	}
	if (!cfg.insecure && (!cfg.cert || !cfg.key)) {
		rc = sim_usage_error("serve: TLS needs both --cert and --key");
		goto out;
	}
	if (sim->token && !*sim->token) {
		rc = sim_usage_error("serve: --token must not be empty");
		goto out;
	}
	if (sim->script_file &&
	    sim_script_load(sim, sim->script_file, &sim->script, err, sizeof(err)) != MGW_OK) {
		fprintf(stderr, "m5s-sim: %s\n", err);
		rc = SIM_EXIT_USAGE;
		goto out;
	}

	if (sim_regs_alloc(sim, reg_state, &sim->regs) != MGW_OK)
		goto out;

	/* runtime */
	signal(SIGPIPE, SIG_IGN);
	mgw_log_set_all(MGW_LOGL_NOTICE);
	fd = open(sim->record_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || !(sim->rec = fdopen(fd, "a"))) {
		fprintf(stderr, "m5s-sim: %s: %s\n", sim->record_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (!(sim->base = event_base_new())) {
		fprintf(stderr, "m5s-sim: cannot create the event loop\n");
		goto out;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!(sim->sig[i] = evsignal_new(sim->base, sigs[i], signal_cb, sim)) ||
		    evsignal_add(sim->sig[i], NULL) != 0) {
			fprintf(stderr, "m5s-sim: cannot install signal handlers\n");
			goto out;
		}
	cfg.name = "m5s-sim";
	cfg.addr = addr;
	cfg.port = port;
	if (!sim->lim.max_payload)
		sim->lim = mgw_codec_default_limits;
	/* room for the payload as JSON text (escapes) and the other members */
	sim->lim.max_body = sim->lim.max_payload * 2 + 4096 > mgw_codec_default_limits.max_body
				    ? sim->lim.max_payload * 2 + 4096
				    : mgw_codec_default_limits.max_body;
	cfg.max_body = sim->lim.max_body;
	err[0] = '\0';
	if (mgw_http_server_start(sim, sim->base, &cfg, handle, conn_event, sim, &sim->http, err,
				  sizeof(err)) != MGW_OK) {
		fprintf(stderr, "m5s-sim: cannot serve on %s: %s\n", listen, err);
		goto out;
	}
	port = mgw_http_server_port(sim->http);
	/* the line first: whoever waits for the port file then finds it in the log */
	fprintf(stderr, "m5s-sim: listening on %s%s%s:%d (%s, http/1.1)\n",
		strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", port,
		cfg.insecure ? "h2c" : "h2");
	if (port_file && write_port_file(sim, port_file, port) != MGW_OK)
		goto out;
	if (event_base_dispatch(sim->base) < 0) {
		fprintf(stderr, "m5s-sim: event loop failed\n");
		goto out;
	}
	rc = SIM_EXIT_OK;
out:
	/* answer what is still held (delay/drop) and give the answers a moment to be written
	 * before the connections go */
	sim->stopping = true;
	if (sim->pending) {
		struct timeval drain = { .tv_sec = 0, .tv_usec = DRAIN_MS * 1000 };

		answer_held(sim);
		if (sim->http && event_base_loopexit(sim->base, &drain) == 0)
			event_base_dispatch(sim->base);
		answer_held(sim);
	}
	if (sim->http)
		mgw_http_server_free(sim->http);
	for (size_t i = 0; i < sizeof(sim->sig) / sizeof(sim->sig[0]); i++)
		if (sim->sig[i])
			event_free(sim->sig[i]);
	if (sim->base)
		event_base_free(sim->base);
	if (sim->rec)
		fclose(sim->rec);
	talloc_free(sim);
	return rc;
}
