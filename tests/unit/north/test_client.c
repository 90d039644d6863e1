/* Unit tests of the client to the M5S (src/north/m5s_client.c) against real HTTP servers:
 * libevent's evhttp in this process (plain HTTP/1.1, scripted answers) on the same
 * event_base, and nghttpd (h2c prior knowledge) as a child process when installed. The
 * store is real (temporary directory) and messages enter through the real core and
 * security layer, as a device's adapter would submit them. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/north.h>
#include <mgw/router.h>
#include <mgw/security.h>
#include <mgw/store.h>

static const char registry_yaml[] =
	"- ue: ue-1\n  coap: { psk_identity: sensor-1, psk: \"k1\" }\n  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-2\n  coap: { psk_identity: sensor-2, psk: \"k2\" }\n  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-3\n  coap: { psk_identity: sensor-3, psk: \"k3\" }\n  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-4\n  coap: { psk_identity: sensor-4, psk: \"k4\" }\n  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-5\n  coap: { psk_identity: sensor-5, psk: \"k5\" }\n  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-6\n  coap: { psk_identity: sensor-6, psk: \"k6\" }\n  allow: [ \"AS:as-1\" ]\n";

/* ---- the scripted M5S (evhttp) ---- */

enum answer {
	A_ACK,      /* 200 MessageDeliveryAck, no status */
	A_STORED,   /* 200 DELY_STORED */
	A_FAILED,   /* 200 DELY_FAILED + failureCause */
	A_503_RA1,  /* 503 + Retry-After: 1 */
	A_500,      /* 500, no body */
	A_400,      /* 400 + ProblemDetails */
	A_204,      /* 204 */
	A_GARBAGE,  /* 200 with a body that is not an ack */
	A_HOLD,     /* never answer (the client times out) */
	A_401,      /* 401 (token revoked) */
	A_429_DATE, /* 429 + Retry-After as an HTTP-date 2 s ahead */
	A_503_RA_BIG, /* 503 + Retry-After: 3600 (beyond retry_max) */
	A_REG_RESULTS, /* 200 registration results: ue-2 refused, ue-nobody (not asked) too */
};

#define MAX_REQ 128
struct req_rec {
	char path[128];
	char *body;
	size_t len;
	int64_t at_ms;
	bool has_auth;
	char auth[128];
	char ctype[64];
};

struct server {
	struct evhttp *http;
	int port;
	enum answer script[16]; /* answer i to request i; the last one repeats */
	int nscript;
	int delay_ms;           /* answer after this long */
	int nreq;
	struct req_rec reqs[MAX_REQ];
	int concurrent, max_concurrent;
	int ntoken;            /* token requests (path /token) */
	char token_form[512];  /* the last one's body */
};

struct fixture {
	void *ctx;
	char dir[64];
	struct event_base *base;
	struct mgw_store *store;
	struct mgw_security *sec;
	struct mgw_audit *audit;
	struct mgw_router *router;
	struct mgw_core *core;
	struct mgw_north_client *client;
	struct mgw_north_m5s cfg;
	struct server srv;
	SSL_CTX *ssl;
	struct mgw_north_tls tls;
	int submitted, accepted;
	pid_t nghttpd;
};
static struct fixture F;

struct pending {
	struct evhttp_request *req;
	enum answer a;
	char *body; /* request body copy */
	size_t len;
	char path[128];
};

static void answer(struct pending *p)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);
	struct mgw_msg *m = NULL;
	struct mgw_ack ack;
	struct mgw_problem pd;
	char *txt = NULL;
	size_t n = 0;
	bool report = strstr(p->path, "deliver-report") != NULL;

	memset(&ack, 0, sizeof(ack));
	if (p->a == A_ACK || p->a == A_STORED || p->a == A_FAILED) {
		ck_assert_int_eq(mgw_json_decode_msg(F.ctx, report ? MGW_BODY_REPORT : MGW_BODY_UE_MESSAGE,
						     p->body, p->len, NULL, &m, NULL),
				 MGW_OK);
		ack.ori = m->ori;
		memcpy(ack.msg_id, m->msg_id, sizeof(ack.msg_id));
		if (p->a == A_STORED)
			snprintf(ack.status, sizeof(ack.status), "DELY_STORED");
		if (p->a == A_FAILED) {
			snprintf(ack.status, sizeof(ack.status), "DELY_FAILED");
			ack.has_failure_cause = true;
			snprintf(ack.failure_cause, sizeof(ack.failure_cause), "UE unreachable");
		}
		ck_assert_int_eq(mgw_json_encode_ack(F.ctx, &ack, &txt, &n), MGW_OK);
		evbuffer_add(out, txt, n);
		evhttp_add_header(h, "Content-Type", "application/json");
		evhttp_send_reply(p->req, 200, "OK", out);
		mgw_msg_free(m);
	} else if (p->a == A_503_RA1) {
		evhttp_add_header(h, "Retry-After", "1");
		evhttp_send_reply(p->req, 503, "Service Unavailable", out);
	} else if (p->a == A_500) {
		evhttp_send_reply(p->req, 500, "Internal Server Error", out);
	} else if (p->a == A_400) {
		memset(&pd, 0, sizeof(pd));
		pd.status = 400;
		snprintf(pd.title, sizeof(pd.title), "Bad Request");
		snprintf(pd.cause, sizeof(pd.cause), "MANDATORY_IE_INCORRECT");
		snprintf(pd.detail, sizeof(pd.detail), "destAddr unknown");
		ck_assert_int_eq(mgw_json_encode_problem(F.ctx, &pd, &txt, &n), MGW_OK);
		evbuffer_add(out, txt, n);
		evhttp_add_header(h, "Content-Type", "application/problem+json");
		evhttp_send_reply(p->req, 400, "Bad Request", out);
	} else if (p->a == A_429_DATE) {
		char date[64];
		time_t t = time(NULL) + 2;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		evhttp_add_header(h, "Retry-After", date);
		evhttp_send_reply(p->req, 429, "Too Many Requests", out);
	} else if (p->a == A_503_RA_BIG) {
		evhttp_add_header(h, "Retry-After", "3600");
		evhttp_send_reply(p->req, 503, "Service Unavailable", out);
	} else if (p->a == A_401) {
		evhttp_send_reply(p->req, 401, "Unauthorized", out);
	} else if (p->a == A_204) {
		evhttp_send_reply(p->req, 204, "No Content", NULL);
	} else if (p->a == A_REG_RESULTS) {
		evbuffer_add_printf(out, "{\"results\":[{\"ueServiceId\":\"ue-2\",\"result\":"
				    "\"FAILURE\",\"cause\":\"NOT_ALLOWED\"},{\"ueServiceId\":"
				    "\"ue-nobody\",\"result\":\"FAILURE\"}]}");
		evhttp_add_header(h, "Content-Type", "application/json");
		evhttp_send_reply(p->req, 200, "OK", out);
	} else if (p->a == A_GARBAGE) {
		evbuffer_add(out, "{\"hello\":1}", 11);
		evhttp_send_reply(p->req, 200, "OK", out);
	}
	F.srv.concurrent--;
	talloc_free(txt);
	evbuffer_free(out);
	talloc_free(p);
}

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
	answer(arg);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(h, "Content-Type");
	struct req_rec *r;
	struct pending *p;
	size_t len = evbuffer_get_length(in);
	int i = s->nreq;

	ck_assert_int_lt(s->nreq, MAX_REQ);
	ck_assert_int_eq(evhttp_request_get_command(req), EVHTTP_REQ_POST);
	if (strcmp(evhttp_request_get_uri(req), "/token") == 0) {
		struct evbuffer *out = evbuffer_new();

		ck_assert_uint_lt(len, sizeof(s->token_form));
		evbuffer_remove(in, s->token_form, len);
		s->token_form[len] = '\0';
		s->ntoken++;
		evbuffer_add_printf(out, "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\","
				    "\"expires_in\":3600}", s->ntoken);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "application/json");
		evhttp_send_reply(req, 200, "OK", out);
		evbuffer_free(out);
		return;
	}
	r = &s->reqs[s->nreq++];
	snprintf(r->path, sizeof(r->path), "%s", evhttp_request_get_uri(req));
	r->body = talloc_size(F.ctx, len + 1);
	evbuffer_remove(in, r->body, len);
	r->body[len] = '\0';
	r->len = len;
	r->at_ms = mgw_now_ms();
	r->has_auth = evhttp_find_header(h, "Authorization") != NULL;
	snprintf(r->auth, sizeof(r->auth), "%s", r->has_auth ? evhttp_find_header(h, "Authorization") : "");
	snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
	if (++s->concurrent > s->max_concurrent)
		s->max_concurrent = s->concurrent;

	p = talloc_zero(F.ctx, struct pending);
	p->req = req;
	p->a = s->script[i < s->nscript ? i : s->nscript - 1];
	p->body = r->body;
	p->len = len;
	snprintf(p->path, sizeof(p->path), "%s", r->path);
	if (p->a == A_HOLD) {
		talloc_steal(F.ctx, p); /* freed with the fixture; evhttp_free drops the request */
		return;
	}
	if (s->delay_ms) {
		struct timeval tv = { s->delay_ms / 1000, (s->delay_ms % 1000) * 1000 };

		ck_assert_int_eq(event_base_once(F.base, -1, EV_TIMEOUT, answer_later, p, &tv), 0);
		return;
	}
	answer(p);
}

static int bound_port(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	return bufferevent_openssl_socket_new(base, -1, SSL_new(arg), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

/* make the test server speak HTTPS with a fresh self-signed certificate for 127.0.0.1;
 * also writes other.pem, a CA that did not sign it */
static void server_tls(void)
{
	char cmd[1024], cert[128], key[128];

	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd),
			 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
			 " -keyout %s/%s.key -out %s/%s.pem -days 1 -subj /CN=localhost"
			 " -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1",
			 F.dir, i ? "other" : "server", F.dir, i ? "other" : "server");
		ck_assert_int_eq(system(cmd), 0);
	}
	snprintf(cert, sizeof(cert), "%s/server.pem", F.dir);
	snprintf(key, sizeof(key), "%s/server.key", F.dir);
	F.ssl = SSL_CTX_new(TLS_server_method());
	ck_assert_ptr_nonnull(F.ssl);
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(F.ssl, cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(F.ssl, key, SSL_FILETYPE_PEM), 1);
	evhttp_set_bevcb(F.srv.http, tls_bev, F.ssl);
	F.cfg.api_root = talloc_asprintf(F.ctx, "https://127.0.0.1:%d", F.srv.port);
	F.cfg.insecure = false;
	F.tls.ca = talloc_strdup(F.ctx, cert);
	F.cfg.tls = &F.tls;
}

static void server_start(void)
{
	struct evhttp_bound_socket *bs;

	F.srv.http = evhttp_new(F.base);
	ck_assert_ptr_nonnull(F.srv.http);
	bs = evhttp_bind_socket_with_handle(F.srv.http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	F.srv.port = bound_port(evhttp_bound_socket_get_fd(bs));
	evhttp_set_gencb(F.srv.http, on_request, &F.srv);
}

static void script(int n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		F.srv.script[i] = (enum answer)va_arg(ap, int);
	va_end(ap);
	F.srv.nscript = n;
}

/* ---- the gateway side ---- */

static void setup(void)
{
	struct mgw_registry *reg = NULL;
	struct mgw_cfg_err err;
	struct mgw_policy *pol;
	struct mgw_core_cfg cc = { 0 };
	char path[128], why[256];

	signal(SIGPIPE, SIG_IGN); /* the test server writes to sockets curl closed */
	mgw_log_set_timestamps(false);
	mgw_log_set_all(getenv("MGW_TEST_DEBUG") ? MGW_LOGL_DEBUG : MGW_LOGL_ERROR + 1);
	memset(&F, 0, sizeof(F));
	F.ctx = talloc_named_const(NULL, 0, "test_client");
	snprintf(F.dir, sizeof(F.dir), "/tmp/test_client.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	F.base = event_base_new();
	snprintf(path, sizeof(path), "%s/gw.db", F.dir);
	ck_assert_int_eq(mgw_store_open(F.ctx, path, NULL, &F.store, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_store_attach(F.store, F.base), MGW_OK);
	ck_assert_int_eq(mgw_registry_load_buf(F.ctx, "devices.yaml", registry_yaml,
					       strlen(registry_yaml), &reg, &err), MGW_OK);
	pol = talloc_zero(F.ctx, struct mgw_policy);
	ck_assert_int_eq(mgw_cfg_load_buf(F.ctx, "p", "{}", 2, &mgw_policy_schema, pol, &err), 0);
	snprintf(path, sizeof(path), "%s/audit.log", F.dir);
	ck_assert_int_eq(mgw_audit_open(F.ctx, path, &F.audit, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_security_alloc(F.ctx, pol, reg, F.audit, F.store, &F.sec), MGW_OK);
	ck_assert_int_eq(mgw_router_alloc(F.ctx, &F.router), MGW_OK);
	cc.base = F.base;
	cc.downlink_validity_ms = 60000;
	cc.high_water = 10000;
	ck_assert_int_eq(mgw_core_alloc(F.ctx, &cc, F.sec, F.store, F.router, &F.core), MGW_OK);
	server_start();
	script(1, A_ACK);

	F.cfg.api_root = talloc_asprintf(F.ctx, "http://127.0.0.1:%d", F.srv.port);
	F.cfg.insecure = true;
	F.cfg.http2 = false;
	F.cfg.timeout_ms = 2000;
	F.cfg.max_inflight = 10;
	F.cfg.retry_min_ms = 1000;
	F.cfg.retry_max_ms = 5000;
}

static void teardown(void)
{
	char cmd[128];

	mgw_north_client_free(F.client);
	if (F.nghttpd > 0) {
		kill(F.nghttpd, SIGTERM);
		waitpid(F.nghttpd, NULL, 0);
	}
	if (F.srv.http)
		evhttp_free(F.srv.http);
	if (F.ssl)
		SSL_CTX_free(F.ssl);
	talloc_free(F.ctx);
	event_base_free(F.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
	ck_assert_int_eq(system(cmd), 0);
	memset(&F, 0, sizeof(F));
}

static void start_client(void)
{
	char why[256] = "";

	ck_assert_int_eq(mgw_north_client_start(F.ctx, F.base, &F.cfg, F.core, F.store, &F.client,
						why, sizeof(why)),
			 MGW_OK);
}

/* run the loop for about ms */
static void spin(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(F.base, &tv);
	event_base_dispatch(F.base);
}

#define RUN_UNTIL(cond, ms)                                                              \
	do {                                                                             \
		int64_t end_ = mgw_now_ms() + (ms);                                      \
		while (!(cond) && mgw_now_ms() < end_)                                   \
			spin(5);                                                         \
		ck_assert_msg((cond), "timed out waiting for: %s", #cond);               \
	} while (0)

static void on_submitted(void *arg, int rc, const struct mgw_verdict *v)
{
	F.submitted++;
	if (rc == MGW_OK)
		F.accepted++;
}

static struct mgw_msg *uplink(const char *msg_id, bool report_wanted)
{
	struct mgw_msg *m = mgw_msg_alloc(F.ctx, MGW_MSG_MESSAGE);

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), msg_id), MGW_OK);
	ck_assert_int_eq(mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1"), MGW_OK);
	ck_assert_int_eq(mgw_msg_set_payload(m, "temp=21.5", 9), MGW_OK);
	m->has_payload = true;
	m->has_app_id = true;
	snprintf(m->app_id, sizeof(m->app_id), "app-1");
	if (report_wanted) {
		m->has_deliv_st_req = true;
		m->deliv_st_req = true;
	}
	return m;
}

static void submit_as(const char *psk_id, const char *msg_id, bool report_wanted)
{
	struct mgw_identity id;

	memset(&id, 0, sizeof(id));
	id.ingress = MGW_IN_TEST;
	id.kind = MGW_CRED_PSK_ID;
	snprintf(id.value, sizeof(id.value), "%s", psk_id);
	snprintf(id.peer, sizeof(id.peer), "test");
	ck_assert_int_eq(mgw_core_submit(F.core, uplink(msg_id, report_wanted), &id, on_submitted,
					 NULL),
			 MGW_OK);
}

static struct mgw_store_entry *entry(enum mgw_queue q, const char *origin, const char *msg_id)
{
	struct mgw_store_entry *e = NULL;

	ck_assert_int_eq(mgw_store_get(F.store, F.ctx, q, origin, msg_id, &e), MGW_OK);
	return e;
}

static enum mgw_qstate state_of(const char *origin, const char *msg_id)
{
	struct mgw_store_entry *e = NULL;
	enum mgw_qstate st;

	if (mgw_store_get(F.store, F.ctx, MGW_Q_NORTH, origin, msg_id, &e) != MGW_OK)
		return (enum mgw_qstate)-1;
	st = e->state;
	talloc_free(e);
	return st;
}

static size_t count(enum mgw_queue q, enum mgw_qstate st)
{
	size_t n = 0;

	ck_assert_int_eq(mgw_store_count(F.store, q, st, &n), MGW_OK);
	return n;
}

static struct mgw_north_stats stats(void)
{
	struct mgw_north_stats st;

	mgw_north_client_stats(F.client, &st);
	return st;
}

/* audit records (lines of audit.log) that hold every one of the NULL-terminated strings;
 * the last one found is copied to last */
static int audit_lines(char *last, size_t lastlen, ...)
{
	char path[128], line[2048];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/audit.log", F.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f)) {
		va_list ap;
		const char *needle;
		bool all = true;

		va_start(ap, lastlen);
		while ((needle = va_arg(ap, const char *)))
			if (!strstr(line, needle))
				all = false;
		va_end(ap);
		if (all) {
			n++;
			if (last)
				snprintf(last, lastlen, "%s", line);
		}
	}
	fclose(f);
	return n;
}

/* ---- tests ---- */

START_TEST(test_ack_completes_and_body_is_the_message)
{
	struct mgw_msg *m = NULL;
	struct mgw_diag d = { 0 };

	start_client();
	submit_as("sensor-1", "m-1", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-1") == MGW_QS_DONE, 3000);
	ck_assert_int_eq(F.srv.nreq, 1);
	ck_assert_str_eq(F.srv.reqs[0].path, "/msgs-msgdelivery/v1/deliver-ue-message");
	ck_assert_str_eq(F.srv.reqs[0].ctype, "application/json");
	ck_assert(!F.srv.reqs[0].has_auth);
	ck_assert_int_eq(mgw_json_decode_msg(F.ctx, MGW_BODY_UE_MESSAGE, F.srv.reqs[0].body,
					     F.srv.reqs[0].len, NULL, &m, &d),
			 MGW_OK);
	ck_assert_int_eq(m->ori.type, MGW_ADDR_UE);
	ck_assert_str_eq(m->ori.addr, "ue-1"); /* bound by security, not claimed */
	ck_assert_int_eq(m->dest.type, MGW_ADDR_AS);
	ck_assert_str_eq(m->dest.addr, "as-1");
	ck_assert_str_eq(m->msg_id, "m-1");
	ck_assert(m->has_app_id);
	ck_assert_str_eq(m->app_id, "app-1");
	ck_assert_uint_eq(m->payload_len, 9);
	ck_assert_mem_eq(m->payload, "temp=21.5", 9);
	ck_assert_uint_eq(stats().sent, 1);
	ck_assert_uint_eq(stats().ok, 1);
	ck_assert_uint_eq(stats().failed + stats().retried + stats().stored, 0);
}
END_TEST

START_TEST(test_dely_stored_completes)
{
	script(1, A_STORED);
	start_client();
	submit_as("sensor-1", "m-s", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-s") == MGW_QS_DONE, 3000);
	ck_assert_uint_eq(stats().stored, 1);
	ck_assert_uint_eq(stats().failed, 0);
}
END_TEST

START_TEST(test_dely_failed_fails_and_reports_south)
{
	struct mgw_store_entry *e;
	struct mgw_msg *r = NULL;

	script(1, A_FAILED);
	start_client();
	submit_as("sensor-1", "m-f", true);
	RUN_UNTIL(state_of("UE:ue-1", "m-f") == MGW_QS_FAILED, 3000);
	ck_assert_uint_eq(stats().failed, 1);
	/* the originator asked for a report: one waits in the SOUTH queue */
	spin(20);
	e = entry(MGW_Q_SOUTH, "report:UE:ue-1", "m-f");
	ck_assert_int_eq(mgw_core_msg_from_blob(F.ctx, e->blob, e->blob_len, &r), MGW_OK);
	ck_assert_int_eq(r->kind, MGW_MSG_REPORT);
	ck_assert_str_eq(r->dest.addr, "ue-1");
	ck_assert_int_eq(r->deliv_st, MGW_DELIV_FAILED);
	ck_assert(r->has_failure_cause);
	ck_assert_str_eq(r->failure_cause, "DELY_FAILED: UE unreachable");
}
END_TEST

START_TEST(test_dely_failed_without_request_no_report)
{
	struct mgw_store_entry *e = NULL;

	script(1, A_FAILED);
	start_client();
	submit_as("sensor-1", "m-f2", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-f2") == MGW_QS_FAILED, 3000);
	spin(20);
	ck_assert_int_eq(mgw_store_get(F.store, F.ctx, MGW_Q_SOUTH, "report:UE:ue-1", "m-f2", &e),
			 MGW_E_NOT_FOUND);
}
END_TEST

START_TEST(test_400_problem_fails_with_cause)
{
	struct mgw_store_entry *e;
	struct mgw_msg *r = NULL;

	script(1, A_400);
	start_client();
	submit_as("sensor-2", "m-400", true);
	RUN_UNTIL(state_of("UE:ue-2", "m-400") == MGW_QS_FAILED, 3000);
	ck_assert_int_eq(F.srv.nreq, 1); /* never retried */
	spin(20);
	e = entry(MGW_Q_SOUTH, "report:UE:ue-2", "m-400");
	ck_assert_int_eq(mgw_core_msg_from_blob(F.ctx, e->blob, e->blob_len, &r), MGW_OK);
	ck_assert_str_eq(r->failure_cause, "HTTP 400: MANDATORY_IE_INCORRECT - destAddr unknown");
	spin(300);
	ck_assert_int_eq(F.srv.nreq, 1);
}
END_TEST

START_TEST(test_500_backs_off_with_jitter)
{
	struct mgw_store_entry *e;
	int64_t before, after;

	script(2, A_500, A_ACK);
	start_client();
	before = mgw_now_ms();
	submit_as("sensor-1", "m-500", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	after = mgw_now_ms();
	e = entry(MGW_Q_NORTH, "UE:ue-1", "m-500");
	ck_assert_int_eq(e->state, MGW_QS_ACCEPTED);
	ck_assert_uint_eq(e->attempts, 1);
	/* retry_min 1000 ms * 2^0, +-25 % */
	ck_assert_int_ge(e->next_try_ms, before + 750);
	ck_assert_int_le(e->next_try_ms, after + 1250);
	RUN_UNTIL(state_of("UE:ue-1", "m-500") == MGW_QS_DONE, 3000);
	ck_assert_int_eq(F.srv.nreq, 2);
	ck_assert_int_ge(F.srv.reqs[1].at_ms - F.srv.reqs[0].at_ms, 740);
}
END_TEST

START_TEST(test_retry_after_is_honoured)
{
	struct mgw_store_entry *e;

	F.cfg.retry_min_ms = 50; /* the back-off alone would retry after ~50 ms */
	script(2, A_503_RA1, A_ACK);
	start_client();
	submit_as("sensor-1", "m-503", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	e = entry(MGW_Q_NORTH, "UE:ue-1", "m-503");
	ck_assert_int_eq(e->state, MGW_QS_ACCEPTED);
	ck_assert_int_ge(e->next_try_ms, F.srv.reqs[0].at_ms + 1000);
	spin(500);
	ck_assert_int_eq(F.srv.nreq, 1); /* not before 1 s */
	RUN_UNTIL(state_of("UE:ue-1", "m-503") == MGW_QS_DONE, 3000);
	ck_assert_int_eq(F.srv.nreq, 2);
	ck_assert_int_ge(F.srv.reqs[1].at_ms - F.srv.reqs[0].at_ms, 1000);
}
END_TEST

START_TEST(test_retry_after_http_date)
{
	struct mgw_store_entry *e;

	F.cfg.retry_min_ms = 50;
	script(2, A_429_DATE, A_ACK);
	start_client();
	submit_as("sensor-1", "m-429", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	e = entry(MGW_Q_NORTH, "UE:ue-1", "m-429");
	ck_assert_int_eq(e->state, MGW_QS_ACCEPTED);
	/* the date is 2 s ahead with one-second resolution: at least 1 s */
	ck_assert_int_ge(e->next_try_ms, F.srv.reqs[0].at_ms + 1000);
	ck_assert_int_le(e->next_try_ms, mgw_now_ms() + 2000);
	spin(500);
	ck_assert_int_eq(F.srv.nreq, 1);
	RUN_UNTIL(state_of("UE:ue-1", "m-429") == MGW_QS_DONE, 4000);
	ck_assert_int_ge(F.srv.reqs[1].at_ms - F.srv.reqs[0].at_ms, 1000);
}
END_TEST

START_TEST(test_retry_after_capped_at_retry_max)
{
	struct mgw_store_entry *e;

	F.cfg.retry_min_ms = 50;
	F.cfg.retry_max_ms = 1500;
	script(2, A_503_RA_BIG, A_ACK);
	start_client();
	submit_as("sensor-1", "m-cap", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	e = entry(MGW_Q_NORTH, "UE:ue-1", "m-cap");
	/* Retry-After: 3600 is cut to retry_max */
	ck_assert_int_ge(e->next_try_ms, F.srv.reqs[0].at_ms + 1500);
	ck_assert_int_le(e->next_try_ms, mgw_now_ms() + 1500);
	RUN_UNTIL(state_of("UE:ue-1", "m-cap") == MGW_QS_DONE, 4000);
	ck_assert_int_ge(F.srv.reqs[1].at_ms - F.srv.reqs[0].at_ms, 1500);
}
END_TEST

START_TEST(test_slow_answer_times_out_then_succeeds)
{
	/* the M5S answers after 1.2 s, the client gives up at 500 ms and sends again */
	F.cfg.timeout_ms = 500;
	F.cfg.retry_min_ms = 100;
	F.srv.delay_ms = 1200;
	script(1, A_ACK);
	start_client();
	submit_as("sensor-1", "m-late", false);
	RUN_UNTIL(stats().retried >= 1, 3000);
	ck_assert_int_eq(state_of("UE:ue-1", "m-late"), MGW_QS_ACCEPTED);
	F.srv.delay_ms = 0;
	RUN_UNTIL(state_of("UE:ue-1", "m-late") == MGW_QS_DONE, 3000);
	ck_assert_int_ge(F.srv.nreq, 2);
	spin(1000); /* the late answer to the first request (to a closed socket) changes nothing */
	ck_assert_int_eq(state_of("UE:ue-1", "m-late"), MGW_QS_DONE);
}
END_TEST

START_TEST(test_timeout_retries)
{
	int64_t t0;

	F.cfg.timeout_ms = 500;
	script(1, A_HOLD); /* as good as a 5 s delay */
	start_client();
	t0 = mgw_now_ms();
	submit_as("sensor-1", "m-slow", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	ck_assert_int_ge(mgw_now_ms() - t0, 450);
	ck_assert_int_lt(mgw_now_ms() - t0, 1500);
	ck_assert_int_eq(state_of("UE:ue-1", "m-slow"), MGW_QS_ACCEPTED);
}
END_TEST

static void accept_and_close(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			     int socklen, void *arg)
{
	int *n = arg;

	(*n)++;
	evutil_closesocket(fd);
}

START_TEST(test_closed_socket_and_refused_retry)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct evconnlistener *l;
	int accepted = 0, port;
	evutil_socket_t fd;

	l = evconnlistener_new_bind(F.base, accept_and_close, &accepted,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
				    (struct sockaddr *)&sin, sizeof(sin));
	ck_assert_ptr_nonnull(l);
	port = bound_port(evconnlistener_get_fd(l));
	F.cfg.api_root = talloc_asprintf(F.ctx, "http://127.0.0.1:%d", port);
	start_client();
	submit_as("sensor-1", "m-closed", false);
	RUN_UNTIL(stats().retried == 1, 3000);
	ck_assert_int_ge(accepted, 1);
	ck_assert_int_eq(state_of("UE:ue-1", "m-closed"), MGW_QS_ACCEPTED);
	mgw_north_client_free(F.client);
	F.client = NULL;
	evconnlistener_free(l);

	/* nobody listens: connection refused */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	port = bound_port(fd);
	close(fd);
	F.cfg.api_root = talloc_asprintf(F.ctx, "http://127.0.0.1:%d", port);
	F.cfg.retry_min_ms = 10;
	F.cfg.retry_max_ms = 10;
	start_client();
	/* with a 10 ms back-off the entry cycles ACCEPTED <-> INFLIGHT: what matters is that
	 * a refused connection is retried again and again and never ends the message */
	RUN_UNTIL(stats().retried >= 3, 3000);
	ck_assert_uint_ge(stats().retried, 3);
	ck_assert_int_ne(state_of("UE:ue-1", "m-closed"), MGW_QS_FAILED);
	ck_assert_int_ne(state_of("UE:ue-1", "m-closed"), MGW_QS_DONE);
}
END_TEST

/* a 200 whose body is not an ack is no proof of delivery (issue 12 item 6): sent again, and
 * done once the M5S answers well (it deduplicates by msgId) */
START_TEST(test_invalid_ack_retried)
{
	script(2, A_GARBAGE, A_ACK);
	start_client();
	submit_as("sensor-1", "m-g", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-g") == MGW_QS_DONE, 5000);
	ck_assert_int_eq(state_of("UE:ue-1", "m-g"), MGW_QS_DONE);
	ck_assert_int_eq(F.srv.nreq, 2);
	ck_assert_uint_ge(stats().retried, 1);
}
END_TEST

static void enq_done(void *arg, int rc, int64_t id)
{
	*(int *)arg = rc == MGW_OK ? 1 : -1;
}

START_TEST(test_report_goes_to_deliver_report_204)
{
	struct mgw_store_entry_in in = { 0 };
	struct mgw_msg *r = mgw_msg_alloc(F.ctx, MGW_MSG_REPORT), *got = NULL;
	char *blob = NULL;
	size_t len = 0;
	int done = 0;

	/* a delivery report toward an AS, as the core queues it after a downlink delivery */
	mgw_addr_set(&r->ori, MGW_ADDR_UE, "ue-3");
	mgw_addr_set(&r->dest, MGW_ADDR_AS, "as-1");
	mgw_str_set(r->msg_id, sizeof(r->msg_id), "d-7");
	r->deliv_st = MGW_DELIV_SUCCESS;
	snprintf(r->deliv_st_name, sizeof(r->deliv_st_name), "%s", mgw_deliv_st_name(r->deliv_st));
	r->dir = MGW_DIR_UPLINK;
	r->ingress = MGW_IN_NORTH;
	r->created_ms = mgw_now_ms();
	ck_assert_int_eq(mgw_core_msg_to_blob(F.ctx, r, &blob, &len), MGW_OK);
	in.q = MGW_Q_NORTH;
	in.origin = "report:AS:as-1";
	in.msg_id = "d-7";
	in.order_key = "AS:as-1";
	in.dest_key = "AS:as-1";
	in.blob = blob;
	in.blob_len = len;
	ck_assert_int_eq(mgw_store_enqueue(F.store, &in, enq_done, &done), MGW_OK);
	RUN_UNTIL(done == 1, 1000);
	script(1, A_204);
	start_client(); /* start drives the queue */
	RUN_UNTIL(count(MGW_Q_NORTH, MGW_QS_DONE) == 1, 3000);
	ck_assert_str_eq(F.srv.reqs[0].path, "/msgs-msgdelivery/v1/deliver-report");
	ck_assert_int_eq(mgw_json_decode_msg(F.ctx, MGW_BODY_REPORT, F.srv.reqs[0].body,
					     F.srv.reqs[0].len, NULL, &got, NULL),
			 MGW_OK);
	ck_assert_str_eq(got->msg_id, "d-7");
	ck_assert_int_eq(got->deliv_st, MGW_DELIV_SUCCESS);
	ck_assert_str_eq(got->ori.addr, "ue-3");
}
END_TEST

START_TEST(test_per_originator_order)
{
	char id[16];

	start_client();
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "o-%02d", i);
		submit_as("sensor-1", id, false);
		if (i % 5 == 0)
			spin(1); /* several batches */
	}
	RUN_UNTIL(count(MGW_Q_NORTH, MGW_QS_DONE) == 20, 10000);
	ck_assert_int_eq(F.srv.nreq, 20);
	ck_assert_int_eq(F.srv.max_concurrent, 1); /* one originator: one at a time */
	for (int i = 0; i < 20; i++) {
		struct mgw_msg *m = NULL;

		snprintf(id, sizeof(id), "o-%02d", i);
		ck_assert_int_eq(mgw_json_decode_msg(F.ctx, MGW_BODY_UE_MESSAGE, F.srv.reqs[i].body,
						     F.srv.reqs[i].len, NULL, &m, NULL),
				 MGW_OK);
		ck_assert_str_eq(m->msg_id, id);
	}
}
END_TEST

START_TEST(test_max_inflight_respected)
{
	char id[16], dev[16];

	F.cfg.max_inflight = 3;
	F.srv.delay_ms = 150;
	start_client();
	for (int d = 1; d <= 6; d++)
		for (int i = 0; i < 2; i++) {
			snprintf(id, sizeof(id), "w-%d", i);
			snprintf(dev, sizeof(dev), "sensor-%d", d);
			submit_as(dev, id, false);
		}
	RUN_UNTIL(count(MGW_Q_NORTH, MGW_QS_DONE) == 12, 10000);
	ck_assert_int_eq(F.srv.nreq, 12);
	ck_assert_int_eq(F.srv.max_concurrent, 3);
	ck_assert_uint_eq(stats().ok, 12);
}
END_TEST

START_TEST(test_free_leaves_inflight)
{
	script(1, A_HOLD);
	start_client();
	submit_as("sensor-4", "m-held", false);
	RUN_UNTIL(F.srv.nreq == 1, 3000);
	mgw_north_client_free(F.client);
	F.client = NULL;
	spin(20);
	ck_assert_int_eq(state_of("UE:ue-4", "m-held"), MGW_QS_INFLIGHT);
}
END_TEST

START_TEST(test_start_refuses_cleartext)
{
	struct mgw_north_oauth2 o = { .token_url = "http://127.0.0.1:1/token", .client_id = "gw-1",
				      .client_secret = "s3cret", .scope = "msgs-msgdelivery" };
	char why[256] = "";

	F.cfg.insecure = false;
	ck_assert_int_eq(mgw_north_client_start(F.ctx, F.base, &F.cfg, F.core, F.store, &F.client,
						why, sizeof(why)),
			 MGW_E_CONFIG);
	ck_assert_ptr_null(F.client);
	ck_assert(strstr(why, "api_root") != NULL);

	F.cfg.api_root = "https://127.0.0.1:1";
	F.cfg.oauth2 = &o;
	ck_assert_int_eq(mgw_north_client_start(F.ctx, F.base, &F.cfg, F.core, F.store, &F.client,
						why, sizeof(why)),
			 MGW_E_CONFIG);
	ck_assert(strstr(why, "token_url") != NULL);
}
END_TEST

START_TEST(test_no_token_over_http)
{
	struct mgw_north_oauth2 o = { .token_url = "http://127.0.0.1:1/token", .client_id = "gw-1",
				      .client_secret = "s3cret", .scope = "msgs-msgdelivery" };

	/* insecure lab: starts, but neither asks for nor sends a token over cleartext */
	F.cfg.oauth2 = &o;
	start_client();
	submit_as("sensor-1", "m-nt", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-nt") == MGW_QS_DONE, 3000);
	ck_assert_int_eq(F.srv.nreq, 1);
	ck_assert(!F.srv.reqs[0].has_auth);
}
END_TEST

START_TEST(test_https_verified)
{
	server_tls();
	start_client();
	submit_as("sensor-1", "m-tls", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-tls") == MGW_QS_DONE, 5000);
	ck_assert_int_eq(F.srv.nreq, 1);
	ck_assert(!F.srv.reqs[0].has_auth);
	ck_assert_int_eq(audit_lines(NULL, 0, "TLS_PEER_VERIFY", NULL), 0);
}
END_TEST

START_TEST(test_https_unknown_ca_retries)
{
	char rec[2048] = "";

	server_tls();
	F.tls.ca = talloc_asprintf(F.ctx, "%s/other.pem", F.dir);
	F.cfg.retry_min_ms = 50;
	F.cfg.retry_max_ms = 100;
	start_client();
	submit_as("sensor-1", "m-badca", false);
	RUN_UNTIL(stats().retried >= 3, 5000);
	ck_assert_int_eq(F.srv.nreq, 0);
	ck_assert_int_ne(state_of("UE:ue-1", "m-badca"), MGW_QS_DONE);
	ck_assert_int_ne(state_of("UE:ue-1", "m-badca"), MGW_QS_FAILED);
	/* refused M5S: audited, once per 10 s however often it is retried */
	ck_assert_int_eq(audit_lines(rec, sizeof(rec), "TLS_PEER_VERIFY", NULL), 1);
	ck_assert_int_eq(audit_lines(NULL, 0, "\"cause\":\"TLS_PEER_VERIFY\"",
				     "\"decision\":\"reject\"", "\"dir\":\"uplink\"",
				     "\"adapter\":\"north\"", "\"kind\":\"m5s\"",
				     "\"value\":\"127.0.0.1\"", "\"msgId\":\"m-badca\"", NULL),
			 1);
	ck_assert_msg(strstr(rec, "\"detail\":\"TLS: ") != NULL, "no curl text in %s", rec);
	ck_assert(strstr(rec, "temp=21.5") == NULL); /* never the payload */
}
END_TEST

START_TEST(test_https_wrong_name_retries)
{
	server_tls();
	/* the certificate names 127.0.0.1 and localhost, not 127.0.0.2 (same listener) */
	F.cfg.api_root = talloc_asprintf(F.ctx, "https://127.0.0.2:%d", F.srv.port);
	evhttp_free(F.srv.http);
	F.srv.http = evhttp_new(F.base);
	ck_assert_ptr_nonnull(evhttp_bind_socket_with_handle(F.srv.http, "0.0.0.0", F.srv.port));
	evhttp_set_gencb(F.srv.http, on_request, &F.srv);
	evhttp_set_bevcb(F.srv.http, tls_bev, F.ssl);
	start_client();
	submit_as("sensor-1", "m-name", false);
	RUN_UNTIL(stats().retried == 1, 5000);
	ck_assert_int_eq(F.srv.nreq, 0);
	ck_assert_int_eq(audit_lines(NULL, 0, "TLS_PEER_VERIFY", "\"value\":\"127.0.0.2\"", NULL),
			 1);
}
END_TEST

START_TEST(test_oauth2_token_and_401_refresh)
{
	struct mgw_north_oauth2 o = { .client_id = "gw-1", .client_secret = "s3cr&t",
				      .scope = "msgs-msgdelivery" };

	server_tls();
	o.token_url = talloc_asprintf(F.ctx, "https://127.0.0.1:%d/token", F.srv.port);
	F.cfg.oauth2 = &o;
	script(3, A_ACK, A_401, A_ACK);
	start_client();
	submit_as("sensor-1", "m-a1", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-a1") == MGW_QS_DONE, 5000);
	ck_assert_int_eq(F.srv.ntoken, 1);
	ck_assert(strstr(F.srv.token_form, "grant_type=client_credentials") != NULL);
	ck_assert(strstr(F.srv.token_form, "client_id=gw-1") != NULL);
	ck_assert(strstr(F.srv.token_form, "client_secret=s3cr%26t") != NULL);
	ck_assert(strstr(F.srv.token_form, "nfInstanceId=gw-1") != NULL);
	ck_assert_str_eq(F.srv.reqs[0].auth, "Bearer tok-1");
	/* the token is cached; a 401 renews it and the message goes again, once */
	submit_as("sensor-1", "m-a2", false);
	RUN_UNTIL(state_of("UE:ue-1", "m-a2") == MGW_QS_DONE, 5000);
	ck_assert_int_eq(F.srv.ntoken, 2);
	ck_assert_int_eq(F.srv.nreq, 3);
	ck_assert_str_eq(F.srv.reqs[1].auth, "Bearer tok-1");
	ck_assert_str_eq(F.srv.reqs[2].auth, "Bearer tok-2");
	ck_assert_uint_eq(stats().retried + stats().failed, 0);
}
END_TEST

START_TEST(test_oauth2_second_401_fails)
{
	struct mgw_north_oauth2 o = { .client_id = "gw-1", .client_secret = "x" };

	server_tls();
	o.token_url = talloc_asprintf(F.ctx, "https://127.0.0.1:%d/token", F.srv.port);
	F.cfg.oauth2 = &o;
	script(1, A_401);
	start_client();
	submit_as("sensor-1", "m-a3", true);
	RUN_UNTIL(state_of("UE:ue-1", "m-a3") == MGW_QS_FAILED, 5000);
	ck_assert_int_eq(F.srv.nreq, 2);
	ck_assert_int_eq(F.srv.ntoken, 2);
	spin(20);
	talloc_free(entry(MGW_Q_SOUTH, "report:UE:ue-1", "m-a3"));
}
END_TEST

/* a free TCP port on 127.0.0.1 (bound, read, released) */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	port = bound_port(fd);
	close(fd);
	return port;
}

static bool can_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				   .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;

	close(fd);
	return ok;
}

START_TEST(test_h2c_prior_knowledge_404_against_nghttpd)
{
	char portstr[16];
	int port;

	if (system("command -v nghttpd >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: nghttpd not installed\n");
		return;
	}
	port = free_port();
	snprintf(portstr, sizeof(portstr), "%d", port);
	F.nghttpd = fork();
	ck_assert_int_ge(F.nghttpd, 0);
	if (F.nghttpd == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		dup2(devnull, 2);
		execlp("nghttpd", "nghttpd", "--no-tls", "-d", F.dir, portstr, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !can_connect(port); i++)
		usleep(20000);
	ck_assert(can_connect(port));
	F.cfg.api_root = talloc_asprintf(F.ctx, "http://127.0.0.1:%d/", port); /* trailing / */
	F.cfg.http2 = true;
	start_client();
	submit_as("sensor-5", "m-h2", true);
	RUN_UNTIL(state_of("UE:ue-5", "m-h2") == MGW_QS_FAILED, 5000);
	ck_assert_uint_eq(stats().sent, 1);
	ck_assert_uint_eq(stats().failed, 1);
	spin(20);
	{
		struct mgw_store_entry *e = entry(MGW_Q_SOUTH, "report:UE:ue-5", "m-h2");
		struct mgw_msg *r = NULL;

		ck_assert_int_eq(mgw_core_msg_from_blob(F.ctx, e->blob, e->blob_len, &r), MGW_OK);
		ck_assert(strncmp(r->failure_cause, "HTTP 404", 8) == 0);
	}
}
END_TEST

/* ---- registration at the M5S (m5s_registration.c) ---- */

static void registration_on(void)
{
	struct mgw_north_registration *r = talloc_zero(F.ctx, struct mgw_north_registration);

	r->enable = true;
	r->gw_id = talloc_strdup(r, "gw-t");
	r->api_root = talloc_strdup(r, "https://gw.test:7443");
	r->batch = 4;
	F.cfg.registration = r;
}

static bool kv_has(const char *ue)
{
	void *v = NULL;
	size_t n;
	int rc = mgw_store_kv_get(F.store, F.ctx, "m5s.reg", ue, mgw_now_ms(), &v, &n);

	talloc_free(v);
	return rc == MGW_OK;
}

static json_t *req_json(int i)
{
	json_t *j = json_loads(F.srv.reqs[i].body, 0, NULL);

	ck_assert_ptr_nonnull(j);
	return j;
}

/* 6 devices, batch 4: two requests (4 + 2), in order; a 500 is retried with the same body;
 * a UE the M5S refuses is no longer marked registered and is audited; a result naming a UE
 * that was not asked for changes nothing */
START_TEST(test_registration_batched_retried_results)
{
	json_t *a, *b, *c;
	char last[512];

	registration_on();
	script(2, A_500, A_REG_RESULTS);
	start_client();
	ck_assert_int_eq(mgw_north_client_sync_devices(F.client, F.sec), MGW_OK);
	RUN_UNTIL(F.srv.nreq == 3 && count(MGW_Q_NORTH, MGW_QS_DONE) == 2, 10000);
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(F.srv.reqs[i].path, "/msgs-gwregistration/v1/registrations");
	a = req_json(0);
	b = req_json(1);
	c = req_json(2);
	ck_assert(json_equal(a, b)); /* the retry resends the same entry */
	ck_assert_str_eq(json_string_value(json_object_get(a, "gwId")), "gw-t");
	ck_assert_str_eq(json_string_value(json_object_get(a, "gwApiRoot")), "https://gw.test:7443");
	ck_assert_uint_eq(json_array_size(json_object_get(a, "ues")), 4);
	ck_assert_uint_eq(json_array_size(json_object_get(c, "ues")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(a, "ues"), 0),
							   "mechanism")), "COAP");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(a, "ues"), 0),
							    "maxSegSize")), 2048);
	ck_assert(!kv_has("ue-2"));
	ck_assert(kv_has("ue-1") && kv_has("ue-3") && kv_has("ue-6"));
	ck_assert(!kv_has("ue-nobody"));
	/* once: the second request did not ask for ue-2 */
	ck_assert_int_eq(audit_lines(last, sizeof(last), "REGISTRATION_REFUSED", "ue-2", NULL), 1);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

/* changes in one turn: an add and a remove of the same UE cancel out, the remove of a UE
 * never registered sends nothing; a restart sync then registers what is missing only */
START_TEST(test_registration_changes_cancel_and_sync_skips_registered)
{
	registration_on();
	script(1, A_REG_RESULTS);
	start_client();
	mgw_security_device_changed(F.sec, "ue-1", MGW_DEV_ADDED);
	mgw_security_device_changed(F.sec, "ue-1", MGW_DEV_REMOVED);
	mgw_security_device_changed(F.sec, "ue-3", MGW_DEV_REMOVED);
	mgw_security_device_changed(F.sec, "ue-4", MGW_DEV_ADDED);
	RUN_UNTIL(F.srv.nreq == 1, 5000);
	spin(300);
	ck_assert_int_eq(F.srv.nreq, 1);
	ck_assert_ptr_nonnull(strstr(F.srv.reqs[0].body, "\"ue-4\""));
	ck_assert_ptr_null(strstr(F.srv.reqs[0].body, "\"ue-1\""));
	ck_assert(!kv_has("ue-1") && kv_has("ue-4"));
	ck_assert_int_eq(mgw_north_client_sync_devices(F.client, F.sec), MGW_OK);
	RUN_UNTIL(F.srv.nreq == 3, 5000); /* ue-1,2,3,5,6: 4 + 1 (ue-4 is registered) */
	ck_assert_ptr_null(strstr(F.srv.reqs[1].body, "\"ue-4\""));
	ck_assert_ptr_null(strstr(F.srv.reqs[2].body, "\"ue-4\""));
	/* ue-4 leaves: one de-registration */
	mgw_security_device_changed(F.sec, "ue-4", MGW_DEV_REMOVED);
	RUN_UNTIL(F.srv.nreq == 4, 5000);
	ck_assert_str_eq(F.srv.reqs[3].path, "/msgs-gwregistration/v1/deregistrations");
	ck_assert_str_eq(F.srv.reqs[3].body, "{\"gwId\":\"gw-t\",\"ues\":[\"ue-4\"]}");
	ck_assert(!kv_has("ue-4"));
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("north client");
	TCase *tc = tcase_create("m5s");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ack_completes_and_body_is_the_message);
	tcase_add_test(tc, test_dely_stored_completes);
	tcase_add_test(tc, test_dely_failed_fails_and_reports_south);
	tcase_add_test(tc, test_dely_failed_without_request_no_report);
	tcase_add_test(tc, test_400_problem_fails_with_cause);
	tcase_add_test(tc, test_500_backs_off_with_jitter);
	tcase_add_test(tc, test_retry_after_is_honoured);
	tcase_add_test(tc, test_retry_after_http_date);
	tcase_add_test(tc, test_retry_after_capped_at_retry_max);
	tcase_add_test(tc, test_timeout_retries);
	tcase_add_test(tc, test_slow_answer_times_out_then_succeeds);
	tcase_add_test(tc, test_closed_socket_and_refused_retry);
	tcase_add_test(tc, test_invalid_ack_retried);
	tcase_add_test(tc, test_report_goes_to_deliver_report_204);
	tcase_add_test(tc, test_per_originator_order);
	tcase_add_test(tc, test_max_inflight_respected);
	tcase_add_test(tc, test_free_leaves_inflight);
	tcase_add_test(tc, test_start_refuses_cleartext);
	tcase_add_test(tc, test_no_token_over_http);
	tcase_add_test(tc, test_h2c_prior_knowledge_404_against_nghttpd);
	tcase_add_test(tc, test_https_verified);
	tcase_add_test(tc, test_https_unknown_ca_retries);
	tcase_add_test(tc, test_https_wrong_name_retries);
	tcase_add_test(tc, test_oauth2_token_and_401_refresh);
	tcase_add_test(tc, test_oauth2_second_401_fails);
	tcase_add_test(tc, test_registration_batched_retried_results);
	tcase_add_test(tc, test_registration_changes_cancel_and_sync_skips_registered);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
