/* Unit tests of the north HTTPS server (src/north/http_server.c, tls.c, http1.c) against
 * real peers: the server runs on an event_base in this process; curl, h2load and
 * openssl s_client are forked and the loop spins until they exit. Raw HTTP/1.1 bytes come
 * from a bufferevent client on the same loop. A test PKI is made with
 * contrib/make-certs.sh. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "http1.h"
#include "http_server.h"

static char pki[256];
static void *ctx; /* the server and its requests: must be empty after the server is freed */
static void *tmp; /* test strings */
static struct event_base *base;
static struct mgw_http_server *srv;
static int port;

/* what the handler and conn_cb saw */
static struct {
	int calls;
	char method[16], path[128], proto[16], peer[64], cn[64], fp[80], ctype[64];
	char peers[4][64];
	int error;
	size_t body_len;
} seen;
static int conn_events;
static char conn_reason[512];
static struct mgw_http_req *held;

/* ---- peers ---- */

struct child {
	pid_t pid;
	int fd;
	char out[1 << 16];
	size_t len;
	bool eof, exited, timedout;
	int status;
};

static void child_read(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;
	ssize_t n;

	if (what & EV_TIMEOUT)
		return;
	n = read(fd, ch->out + ch->len, sizeof(ch->out) - 1 - ch->len);
	if (n <= 0)
		ch->eof = true;
	else
		ch->len += (size_t)n;
	ch->out[ch->len] = '\0';
}

static void child_tick(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;
	int st;

	if (!ch->exited && waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
		ch->exited = true;
		ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* Run argv (with the test's stdout captured into *ch) while the loop serves. Returns the
 * exit status. */
static int run_peer(struct child *ch, const char *const *argv)
{
	int p[2];
	struct event *rd, *tick;
	struct timeval t10 = { 0, 10000 };
	struct timespec t0, t1;

	memset(ch, 0, sizeof(*ch));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(p[1], 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	ch->fd = p[0];
	evutil_make_socket_nonblocking(ch->fd);
	rd = event_new(base, ch->fd, EV_READ | EV_PERSIST, child_read, ch);
	tick = event_new(base, -1, EV_PERSIST, child_tick, ch);
	event_add(rd, NULL);
	event_add(tick, &t10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!(ch->eof && ch->exited)) {
		event_base_loop(base, EVLOOP_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 20 && !ch->timedout) {
			kill(ch->pid, SIGKILL);
			ch->timedout = true;
		}
	}
	event_free(rd);
	event_free(tick);
	close(ch->fd);
	/* let the server see the close of the peer's connections */
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	fprintf(stderr, "peer %s exit %d, output: %s\n", argv[0], ch->status, ch->out);
	return ch->status;
}

static char *path_of(const char *file)
{
	return talloc_asprintf(tmp, "%s/%s", pki, file);
}

static char *url(bool tls, const char *path)
{
	return talloc_asprintf(tmp, "%s://127.0.0.1:%d%s", tls ? "https" : "http", port, path);
}

/* curl -q -sS --cacert ca.pem -w '\n%{http_code} %{http_version}' <args...> */
#define CURL(ch, ...)                                                                      \
	run_peer(ch, (const char *const[]){ "curl", "-q", "-sS", "--max-time", "15", "--cacert", \
					    path_of("ca.pem"), "-w",                       \
					    "\n%{http_code} %{http_version}", __VA_ARGS__, NULL })

/* ---- raw HTTP/1.1 client ---- */

struct raw {
	struct evbuffer *got;
	bool done;
};

static void raw_read(struct bufferevent *bev, void *arg)
{
	struct raw *r = arg;

	evbuffer_add_buffer(r->got, bufferevent_get_input(bev));
}

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
	struct raw *r = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		evbuffer_add_buffer(r->got, bufferevent_get_input(bev));
		r->done = true;
	}
}

/* Send bytes on a plain connection, read until the server closes (or 3 s). */
static char *raw_send(const char *req, size_t len)
{
	struct raw r = { .got = evbuffer_new() };
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval t3 = { 3, 0 };
	char *s;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	bufferevent_setcb(bev, raw_read, NULL, raw_event, &r);
	bufferevent_set_timeouts(bev, &t3, &t3);
	ck_assert_int_eq(bufferevent_socket_connect(bev, (struct sockaddr *)&sin, sizeof(sin)), 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	bufferevent_write(bev, req, len);
	while (!r.done)
		event_base_loop(base, EVLOOP_ONCE);
	bufferevent_free(bev);
	evbuffer_add(r.got, "", 1);
	s = talloc_strdup(tmp, (const char *)evbuffer_pullup(r.got, -1));
	evbuffer_free(r.got);
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	return s;
}

static char *raw_exchange(const char *req)
{
	return raw_send(req, strlen(req));
}

/* ---- the server under test ---- */

static void free_server_cb(evutil_socket_t fd, short what, void *arg)
{
	mgw_http_server_free(srv);
	srv = NULL;
}

struct later {
	struct mgw_http_req *req;
	struct event *ev;
};

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	mgw_http_respond(l->req, 200, "text/plain", "later", 5, "Retry-After", "5");
	event_free(l->ev);
	talloc_free(l);
}

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void handler(void *arg, struct mgw_http_req *req)
{
	const char *path = mgw_http_req_path(req);
	const uint8_t *body;
	size_t len;
	char buf[256];
	int n;

	if (seen.calls < 4)
		copy(seen.peers[seen.calls], sizeof(seen.peers[0]), mgw_http_req_peer(req));
	seen.calls++;
	copy(seen.method, sizeof(seen.method), mgw_http_req_method(req));
	copy(seen.path, sizeof(seen.path), path);
	copy(seen.proto, sizeof(seen.proto), mgw_http_req_proto(req));
	copy(seen.peer, sizeof(seen.peer), mgw_http_req_peer(req));
	copy(seen.cn, sizeof(seen.cn), mgw_http_req_client_cn(req));
	copy(seen.fp, sizeof(seen.fp), mgw_http_req_client_fp(req));
	copy(seen.ctype, sizeof(seen.ctype), mgw_http_req_header(req, "Content-Type"));
	seen.error = mgw_http_req_error(req);
	body = mgw_http_req_body(req, &len);
	seen.body_len = len;

	if (seen.error) {
		n = snprintf(buf, sizeof(buf), "{\"status\":%d}", seen.error);
		mgw_http_respond(req, seen.error, "application/problem+json", buf, (size_t)n, NULL, NULL);
	} else if (strcmp(path, "/echo") == 0) {
		mgw_http_respond(req, 200, "application/octet-stream", body, len, "X-Proto",
				 mgw_http_req_proto(req));
	} else if (strcmp(path, "/async") == 0) {
		struct later *l = talloc_zero(ctx, struct later);
		struct timeval t50 = { 0, 50000 };

		l->req = req;
		l->ev = evtimer_new(base, answer_later, l);
		evtimer_add(l->ev, &t50);
	} else if (strcmp(path, "/hold") == 0) {
		held = req; /* answered by the test, after the server is gone */
	} else if (strcmp(path, "/nocontent") == 0) {
		mgw_http_respond(req, 204, NULL, NULL, 0, NULL, NULL);
	} else {
		n = snprintf(buf, sizeof(buf), "proto=%s cn=%s", mgw_http_req_proto(req),
			     mgw_http_req_client_cn(req) ? mgw_http_req_client_cn(req) : "-");
		mgw_http_respond(req, 200, "text/plain", buf, (size_t)n, NULL, NULL);
	}
}

static void conn_cb(void *arg, const struct mgw_http_conn_event *ev)
{
	conn_events++;
	snprintf(conn_reason, sizeof(conn_reason), "%s %s", ev->peer, ev->reason);
	fprintf(stderr, "conn_cb: %s\n", conn_reason);
}

static struct mgw_http_server_cfg cfg_of(bool insecure, bool client_ca, size_t max_body)
{
	struct mgw_http_server_cfg cfg = {
		.name = "test",
		.addr = "127.0.0.1",
		.port = 0,
		.insecure = insecure,
		.cert = path_of("gw.pem"),
		.key = path_of("gw.key"),
		.client_ca = client_ca ? path_of("ca.pem") : NULL,
		.max_body = max_body,
	};

	return cfg;
}

static void start_cfg(const struct mgw_http_server_cfg *cfg)
{
	char err[256] = "";
	int rc = mgw_http_server_start(ctx, base, cfg, handler, conn_cb, NULL, &srv, err,
				       sizeof(err));

	ck_assert_msg(rc == MGW_OK, "start: %s (%s)", mgw_errname(rc), err);
	port = mgw_http_server_port(srv);
	ck_assert_int_gt(port, 0);
}

static void start(bool insecure, bool client_ca, size_t max_body)
{
	struct mgw_http_server_cfg cfg = cfg_of(insecure, client_ca, max_body);

	start_cfg(&cfg);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	mgw_log_set_timestamps(false);
	ctx = talloc_new(NULL);
	tmp = talloc_new(NULL);
	base = event_base_new();
	srv = NULL;
	memset(&seen, 0, sizeof(seen));
	conn_events = 0;
	conn_reason[0] = '\0';
	held = NULL;
}

static void teardown(void)
{
	mgw_http_server_free(srv);
	srv = NULL;
	/* pending timers (async answers) run out */
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	ck_assert_int_eq(talloc_total_blocks(ctx), 1);
	talloc_free(ctx);
	talloc_free(tmp);
}

/* ---- tests ---- */

START_TEST(h2_over_tls)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http2", "-H", "Content-Type: text/plain", "--data-binary",
			      "hello h2", url(true, "/echo?x=1")),
			 0);
	ck_assert_str_eq(ch.out, "hello h2\n200 2");
	ck_assert_str_eq(seen.proto, "h2");
	ck_assert_str_eq(seen.method, "POST");
	ck_assert_str_eq(seen.path, "/echo");
	ck_assert_str_eq(seen.ctype, "text/plain");
	ck_assert_int_eq(seen.error, 0);
	ck_assert_ptr_eq(strstr(seen.peer, "127.0.0.1:"), seen.peer);
	ck_assert_str_eq(seen.cn, ""); /* no client_ca: no client certificate */
}
END_TEST

START_TEST(h1_over_tls)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http1.1", "--data-binary", "hello h1", url(true, "/echo")), 0);
	ck_assert_str_eq(ch.out, "hello h1\n200 1.1");
	ck_assert_str_eq(seen.proto, "http/1.1");
	/* a client offering no ALPN gets HTTP/1.1 */
	ck_assert_int_eq(CURL(&ch, "--no-alpn", url(true, "/info")), 0);
	ck_assert_str_eq(ch.out, "proto=http/1.1 cn=-\n200 1.1");
	/* 204: no body, no Content-Length */
	ck_assert_int_eq(CURL(&ch, "--http1.1", url(true, "/nocontent")), 0);
	ck_assert_str_eq(ch.out, "\n204 1.1");
	ck_assert_int_eq(CURL(&ch, "--http2", url(true, "/nocontent")), 0);
	ck_assert_str_eq(ch.out, "\n204 2");
}
END_TEST

START_TEST(insecure_h2c_and_h1)
{
	struct child ch;

	start(true, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http2-prior-knowledge", "--data-binary", "plain2",
			      url(false, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "plain2\n200 2");
	ck_assert_str_eq(seen.proto, "h2c");
	ck_assert_int_eq(CURL(&ch, "--http1.1", "--data-binary", "plain1", url(false, "/echo")), 0);
	ck_assert_str_eq(ch.out, "plain1\n200 1.1");
	ck_assert_str_eq(seen.proto, "http/1.1");
	/* chunked request body */
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary",
			      "chunky", url(false, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "chunky\n200 1.1");
	/* 100-continue */
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-H", "Expect: 100-continue", "--data-binary",
			      "cont", url(false, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "cont\n200 1.1");
}
END_TEST

START_TEST(async_answer)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http2", "-D", "/dev/stderr", url(true, "/async")), 0);
	ck_assert_str_eq(ch.out, "later\n200 2");
	ck_assert_int_eq(CURL(&ch, "--http1.1", url(true, "/async")), 0);
	ck_assert_str_eq(ch.out, "later\n200 1.1");
}
END_TEST

START_TEST(keep_alive)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http1.1", url(true, "/info"), url(true, "/async")), 0);
	ck_assert_str_eq(ch.out, "proto=http/1.1 cn=-\n200 1.1later\n200 1.1");
	ck_assert_int_eq(seen.calls, 2);
	ck_assert_str_eq(seen.peers[0], seen.peers[1]); /* one connection */
	/* Connection: close is honoured */
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-H", "Connection: close", url(true, "/info"),
			      url(true, "/info")),
			 0);
	ck_assert_int_eq(seen.calls, 4);
	ck_assert_str_ne(seen.peers[2], seen.peers[3]);
}
END_TEST

START_TEST(too_big_413)
{
	struct child ch;
	char *big = path_of("big.bin");
	char *at = talloc_asprintf(tmp, "@%s", big);
	FILE *f = fopen(big, "w");

	for (int i = 0; i < 4096; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	start(false, false, 1024);
	ck_assert_int_eq(CURL(&ch, "--http2", "--data-binary", at, url(true, "/echo")), 0);
	ck_assert_str_eq(ch.out, "{\"status\":413}\n413 2");
	ck_assert_int_eq(seen.error, 413);
	ck_assert_int_eq(seen.body_len, 0);
	ck_assert_int_eq(CURL(&ch, "--http1.1", "--data-binary", at, url(true, "/echo")), 0);
	ck_assert_str_eq(ch.out, "{\"status\":413}\n413 1.1");
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-H", "Expect: 100-continue", "--data-binary", at,
			      url(true, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "{\"status\":413}\n413 1.1");
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary",
			      at, url(true, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "{\"status\":413}\n413 1.1");
	/* exactly max_body is fine */
	f = fopen(big, "w");
	for (int i = 0; i < 1024; i++)
		fputc('z', f);
	fclose(f);
	ck_assert_int_eq(CURL(&ch, "--http2", "-o", "/dev/null", "--data-binary", at,
			      url(true, "/echo")),
			 0);
	ck_assert_str_eq(ch.out, "\n200 2");
	ck_assert_int_eq(seen.body_len, 1024);
}
END_TEST

START_TEST(length_required_411)
{
	struct child ch;

	start(true, false, 0);
	ck_assert_int_eq(CURL(&ch, "--http1.1", "-X", "POST", url(false, "/echo")), 0);
	ck_assert_str_eq(ch.out, "{\"status\":411}\n411 1.1");
	ck_assert_int_eq(seen.error, 411);
	ck_assert_str_eq(seen.method, "POST");
}
END_TEST

START_TEST(raw_http1)
{
	char *r;
	char big[HTTP1_MAX_HEAD + 200];

	start(true, false, 0);
	/* no request line: 400 without the handler */
	r = raw_exchange("GARBAGE\r\n\r\n");
	ck_assert_msg(strncmp(r, "HTTP/1.1 400 ", 13) == 0, "%s", r);
	ck_assert_int_eq(seen.calls, 0);
	/* Transfer-Encoding and Content-Length: 400 */
	r = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	ck_assert_msg(strncmp(r, "HTTP/1.1 400 ", 13) == 0, "%s", r);
	/* unknown transfer coding: 501 */
	r = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
	ck_assert_msg(strncmp(r, "HTTP/1.1 501 ", 13) == 0, "%s", r);
	/* a head over 8 KiB: 431 */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
	r = raw_send(big, sizeof(big));
	ck_assert_msg(strncmp(r, "HTTP/1.1 431 ", 13) == 0, "%s", r);
	/* a broken chunk: 400 through the handler */
	seen.calls = 0;
	r = raw_exchange("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	ck_assert_msg(strstr(r, "HTTP/1.1 400 ") == r && strstr(r, "Connection: close"), "%s", r);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.error, 400);
	/* two requests in one write (pipelined), then close */
	seen.calls = 0;
	r = raw_exchange("GET /info HTTP/1.1\r\nHost: x\r\n\r\n"
			 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
	ck_assert_int_eq(seen.calls, 2);
	ck_assert_msg(strstr(r, "proto=http/1.1") && strstr(r, "\r\n\r\nok") &&
			      strstr(r, "Content-Length: 2\r\n"),
		      "%s", r);
	/* HTTP/1.0 closes after the answer */
	r = raw_exchange("GET /async HTTP/1.0\r\n\r\n");
	ck_assert_msg(strstr(r, "HTTP/1.1 200 ") == r && strstr(r, "\r\n\r\nlater"), "%s", r);
}
END_TEST

START_TEST(client_cert_ok)
{
	struct child ch;

	start(false, true, 0);
	ck_assert_int_eq(CURL(&ch, "--http2", "--cert", path_of("m5s.pem"), "--key",
			      path_of("m5s.key"), url(true, "/info")),
			 0);
	ck_assert_str_eq(ch.out, "proto=h2 cn=m5s-sim\n200 2");
	ck_assert_str_eq(seen.cn, "m5s-sim");
	ck_assert_int_eq(strlen(seen.fp), 7 + 64);
	ck_assert_int_eq(strncmp(seen.fp, "sha256:", 7), 0);
	ck_assert_int_eq(conn_events, 0);
	ck_assert_int_eq(CURL(&ch, "--http1.1", "--cert", path_of("m5s.pem"), "--key",
			      path_of("m5s.key"), url(true, "/info")),
			 0);
	ck_assert_str_eq(ch.out, "proto=http/1.1 cn=m5s-sim\n200 1.1");
}
END_TEST

START_TEST(client_cert_missing)
{
	struct child ch;

	start(false, true, 0);
	ck_assert_int_ne(CURL(&ch, "--http2", url(true, "/info")), 0);
	ck_assert_int_eq(seen.calls, 0);
	ck_assert_int_eq(conn_events, 1);
	ck_assert_msg(strstr(conn_reason, "127.0.0.1:") == conn_reason, "%s", conn_reason);
	ck_assert_msg(strstr(conn_reason, "certificate"), "%s", conn_reason);
}
END_TEST

START_TEST(client_cert_wrong_ca)
{
	struct child ch;

	start(false, true, 0);
	ck_assert_int_ne(CURL(&ch, "--http2", "--cert", path_of("intruder.pem"), "--key",
			      path_of("intruder.key"), url(true, "/info")),
			 0);
	ck_assert_int_eq(seen.calls, 0);
	ck_assert_int_eq(conn_events, 1);
	ck_assert_msg(strstr(conn_reason, "certificate"), "%s", conn_reason);
}
END_TEST

START_TEST(old_tls_refused)
{
	struct child ch;

	start(false, false, 0);
	/* SECLEVEL 0 so that the client really offers TLS 1.1 */
	ck_assert_int_ne(CURL(&ch, "--tlsv1.0", "--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0",
			      url(true, "/info")),
			 0);
	ck_assert_int_eq(seen.calls, 0);
	ck_assert_int_eq(conn_events, 1);
	ck_assert_msg(strstr(conn_reason, "protocol"), "%s", conn_reason);
}
END_TEST

START_TEST(cbc_refused)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_ne(CURL(&ch, "--tls-max", "1.2", "--ciphers",
			      "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA", url(true, "/info")),
			 0);
	ck_assert_int_eq(seen.calls, 0);
	ck_assert_int_eq(conn_events, 1);
	ck_assert_msg(strstr(conn_reason, "cipher"), "%s", conn_reason);
}
END_TEST

START_TEST(many_h2_streams)
{
	struct child ch;

	start(false, false, 0);
	ck_assert_int_eq(run_peer(&ch, (const char *const[]){ "h2load", "-n", "1000", "-c", "2", "-m",
							       "50", url(true, "/async"), NULL }),
			 0);
	ck_assert_msg(strstr(ch.out, "1000 succeeded, 0 failed"), "%s", ch.out);
	ck_assert_int_eq(seen.calls, 1000);
	/* and h2c with a body on every stream */
	mgw_http_server_free(srv);
	start(true, false, 0);
	seen.calls = 0;
	ck_assert_int_eq(run_peer(&ch, (const char *const[]){ "h2load", "-n", "400", "-c", "1", "-m",
							       "100", "-d", path_of("ca.pem"),
							       url(false, "/echo"), NULL }),
			 0);
	ck_assert_msg(strstr(ch.out, "400 succeeded, 0 failed"), "%s", ch.out);
	ck_assert_int_eq(seen.calls, 400);
}
END_TEST


/* ---- the parser alone ---- */

struct h1_case {
	const char *in;
	enum http1_ev last; /* HTTP1_DONE or HTTP1_ERROR (or HTTP1_MORE: incomplete) */
	int error;
	const char *body;
	bool keep_alive;
};

static const struct h1_case h1_cases[] = {
	{ "GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP1_DONE, 0, "", true },
	{ "\r\nGET / HTTP/1.1\nHost: x\n\n", HTTP1_DONE, 0, "", true },
	{ "GET / HTTP/1.0\r\n\r\n", HTTP1_DONE, 0, "", false },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", HTTP1_DONE, 0, "", true },
	{ "GET / HTTP/1.1\r\nConnection: x, close\r\n\r\n", HTTP1_DONE, 0, "", false },
	{ "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", HTTP1_DONE, 0, "abc", true },
	{ "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", HTTP1_DONE, 0,
	  "abc", true },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n"
	  "0\r\nT: v\r\n\r\n",
	  HTTP1_DONE, 0, "abc0123456789", true },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", HTTP1_DONE, 0,
	  "", true },
	{ "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n0123456789abcdefg", HTTP1_DONE, 413, "",
	  true },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n",
	  HTTP1_DONE, 413, "", true },
	{ "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", HTTP1_MORE, 0, "ab", true },
	{ "POST / HTTP/1.1\r\n\r\n", HTTP1_ERROR, 411, NULL, true },
	{ "PUT / HTTP/1.1\r\n\r\n", HTTP1_ERROR, 411, NULL, true },
	{ "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_ERROR,
	  400 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP1_ERROR, 501 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n", HTTP1_ERROR, 400 },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", HTTP1_ERROR, 400 },
	{ "GET / HTTP/2.0\r\n\r\n", HTTP1_ERROR, 505 },
	{ "GET / HTTP/1.1 \r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET  / HTTP/1.1\r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET http://x/ HTTP/1.1\r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET / HTTP/1.1\r\nX : y\r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET / HTTP/1.1\r\nX: y\r\n z\r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", HTTP1_ERROR, 400 },
	{ "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", HTTP1_ERROR, 400 },
	{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP1_ERROR, 505 },
};

/* Feed a case in pieces of `piece` bytes; returns the last event, body in *body. */
static enum http1_ev h1_feed(struct http1_parser *p, const char *in, size_t piece, char *body,
			     size_t bodylen)
{
	size_t n = strlen(in), off = 0, blen = 0;
	enum http1_ev ev = HTTP1_MORE;

	body[0] = '\0';
	while (off < n || ev == HTTP1_HEAD || ev == HTTP1_BODY) {
		size_t k = n - off < piece ? n - off : piece, used, clen;
		const uint8_t *chunk;

		ev = http1_parse(p, (const uint8_t *)in + off, k, &used, &chunk, &clen);
		ck_assert_uint_le(used, k);
		off += used;
		if (ev == HTTP1_BODY) {
			ck_assert_uint_lt(blen + clen, bodylen);
			memcpy(body + blen, chunk, clen);
			blen += clen;
			body[blen] = '\0';
		}
		if (ev == HTTP1_DONE || ev == HTTP1_ERROR)
			break;
		if (ev == HTTP1_MORE && off == n)
			break;
	}
	return ev;
}

START_TEST(parser_table)
{
	static struct http1_parser p;
	char body[256];

	for (size_t i = 0; i < sizeof(h1_cases) / sizeof(h1_cases[0]); i++) {
		const struct h1_case *t = &h1_cases[i];

		for (size_t piece = 1; piece <= strlen(t->in); piece = piece * 2 + 1) {
			enum http1_ev ev;

			http1_init(&p, 16);
			ev = h1_feed(&p, t->in, piece, body, sizeof(body));
			ck_assert_msg(ev == t->last && p.error == t->error,
				      "case %zu piece %zu: event %d error %d", i, piece, ev, p.error);
			if (t->body)
				ck_assert_str_eq(body, t->body);
			if (ev == HTTP1_DONE)
				ck_assert_int_eq(p.keep_alive, t->keep_alive);
		}
	}
	/* the request fields */
	http1_init(&p, 100);
	ck_assert_int_eq(h1_feed(&p, "PATCH /x/y?q=1 HTTP/1.1\r\nHOST:  gw \r\nExpect: 100-Continue\r\n"
				 "Content-Length: 0\r\n\r\n", 1000, body, sizeof(body)),
			 HTTP1_DONE);
	ck_assert_str_eq(p.method, "PATCH");
	ck_assert_str_eq(p.path, "/x/y");
	ck_assert_str_eq(p.query, "q=1");
	ck_assert_str_eq(http1_header(&p, "Host"), "gw");
	ck_assert_str_eq(p.hdr[0].name, "host");
	ck_assert(p.expect_continue);
	/* limits: 64 fields, 8 KiB */
	{
		char *in = talloc_strdup(tmp, "GET / HTTP/1.1\r\n");

		for (int i = 0; i < HTTP1_MAX_HEADERS; i++)
			in = talloc_asprintf_append(in, "H%d: v\r\n", i);
		http1_init(&p, 100);
		ck_assert_int_eq(h1_feed(&p, talloc_asprintf(tmp, "%s\r\n", in), 7, body, sizeof(body)),
				 HTTP1_DONE);
		http1_init(&p, 100);
		ck_assert_int_eq(h1_feed(&p, talloc_asprintf(tmp, "%sX: y\r\n\r\n", in), 7, body,
					 sizeof(body)),
				 HTTP1_ERROR);
		ck_assert_int_eq(p.error, 431);
		in = talloc_zero_array(tmp, char, HTTP1_MAX_HEAD + 100);
		memset(in, 'a', HTTP1_MAX_HEAD + 10);
		memcpy(in, "GET / HTTP/1.1\r\nX: ", 19);
		http1_init(&p, 100);
		ck_assert_int_eq(h1_feed(&p, in, 4096, body, sizeof(body)), HTTP1_ERROR);
		ck_assert_int_eq(p.error, 431);
	}
	/* keep-alive: two requests back to back */
	http1_init(&p, 100);
	ck_assert_int_eq(h1_feed(&p, "GET /1 HTTP/1.1\r\n\r\n", 100, body, sizeof(body)), HTTP1_DONE);
	http1_reset(&p);
	ck_assert_int_eq(h1_feed(&p, "GET /2 HTTP/1.1\r\n\r\n", 100, body, sizeof(body)), HTTP1_DONE);
	ck_assert_str_eq(p.path, "/2");
}
END_TEST

START_TEST(answer_after_server_free)
{
	struct child ch;
	struct event *stop;
	struct timeval t200 = { 0, 200000 };

	start(false, false, 0);
	/* the server goes away while the handler holds the request */
	stop = evtimer_new(base, free_server_cb, NULL);
	evtimer_add(stop, &t200);
	ck_assert_int_ne(CURL(&ch, "--http2", url(true, "/hold")), 0);
	event_free(stop);
	ck_assert_ptr_null(srv);
	ck_assert_ptr_nonnull(held);
	ck_assert_str_eq(mgw_http_req_path(held), "/hold");
	mgw_http_respond(held, 200, "text/plain", "late", 4, NULL, NULL); /* dropped, freed */
	held = NULL;
}
END_TEST

/* connect a bufferevent to the server under test and run the loop a little */
static struct bufferevent *raw_open(const char *req)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct bufferevent *a = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_eq(bufferevent_socket_connect(a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (req)
		bufferevent_write(a, req, strlen(req));
	bufferevent_enable(a, EV_READ);
	for (int i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	return a;
}

START_TEST(max_conns)
{
	struct mgw_http_server_cfg cfg = cfg_of(true, false, 0);
	struct bufferevent *a;
	char *r;

	cfg.max_conns = 1;
	start_cfg(&cfg);
	/* a connection that sent nothing yet is shed for a newcomer (conn_limit.h) */
	a = raw_open(NULL);
	r = raw_exchange("GET /info HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_msg(strstr(r, "HTTP/1.1 200 ") == r, "%s", r);
	bufferevent_free(a);
	/* one that was answered 200 (trusted) keeps its slot: the newcomer is refused */
	a = raw_open("GET /info HTTP/1.1\r\n\r\n");
	ck_assert_int_gt(evbuffer_get_length(bufferevent_get_input(a)), 0);
	r = raw_exchange("GET /info HTTP/1.1\r\n\r\n");
	ck_assert_str_eq(r, "");
	bufferevent_free(a);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	r = raw_exchange("GET /info HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_msg(strstr(r, "HTTP/1.1 200 ") == r, "%s", r);
}
END_TEST

START_TEST(keylog_and_config_errors)
{
	struct mgw_http_server_cfg cfg = cfg_of(false, false, 0);
	struct mgw_http_server *s2 = NULL;
	struct child ch;
	char err[256], line[512];
	bool found = false;
	FILE *f;
	int rc;

	cfg.keylog = path_of("keylog.txt");
	start_cfg(&cfg);
	ck_assert_int_eq(CURL(&ch, "--http2", url(true, "/info")), 0);
	ck_assert_ptr_nonnull(f = fopen(cfg.keylog, "r"));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
			found = true;
	fclose(f);
	ck_assert(found);
	/* the port is taken */
	cfg = cfg_of(true, false, 0);
	cfg.port = port;
	rc = mgw_http_server_start(ctx, base, &cfg, handler, NULL, NULL, &s2, err, sizeof(err));
	ck_assert_int_eq(rc, MGW_E_IO);
	ck_assert_ptr_null(s2);
	fprintf(stderr, "port taken: %s\n", err);
	/* a key that does not match the certificate */
	cfg = cfg_of(false, false, 0);
	cfg.key = path_of("m5s.key");
	rc = mgw_http_server_start(ctx, base, &cfg, handler, NULL, NULL, &s2, err, sizeof(err));
	ck_assert_int_eq(rc, MGW_E_TLS);
	fprintf(stderr, "wrong key: %s\n", err);
	/* no such certificate file */
	cfg = cfg_of(false, false, 0);
	cfg.cert = path_of("nope.pem");
	rc = mgw_http_server_start(ctx, base, &cfg, handler, NULL, NULL, &s2, err, sizeof(err));
	ck_assert_int_eq(rc, MGW_E_TLS);
	ck_assert_msg(strstr(err, "nope.pem"), "%s", err);
	/* a bad address */
	cfg = cfg_of(true, false, 0);
	cfg.addr = "localhost:80";
	rc = mgw_http_server_start(ctx, base, &cfg, handler, NULL, NULL, &s2, err, sizeof(err));
	ck_assert_int_eq(rc, MGW_E_CONFIG);
	ck_assert_ptr_null(s2);
}
END_TEST

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static Suite *suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, h2_over_tls);
	tcase_add_test(tc, h1_over_tls);
	tcase_add_test(tc, insecure_h2c_and_h1);
	tcase_add_test(tc, async_answer);
	tcase_add_test(tc, keep_alive);
	tcase_add_test(tc, too_big_413);
	tcase_add_test(tc, length_required_411);
	tcase_add_test(tc, raw_http1);
	tcase_add_test(tc, client_cert_ok);
	tcase_add_test(tc, client_cert_missing);
	tcase_add_test(tc, client_cert_wrong_ca);
	tcase_add_test(tc, old_tls_refused);
	tcase_add_test(tc, cbc_refused);
	tcase_add_test(tc, many_h2_streams);
	tcase_add_test(tc, answer_after_server_free);
	tcase_add_test(tc, max_conns);
	tcase_add_test(tc, keylog_and_config_errors);
	tcase_add_test(tc, parser_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	const char *t = getenv("TMPDIR");
	char cmd[1024];
	SRunner *sr;
	int failed;

	snprintf(pki, sizeof(pki), "%s/mgw-http-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(pki))
		return 1;
	snprintf(cmd, sizeof(cmd), "sh '%s/contrib/make-certs.sh' '%s' >/dev/null 2>&1",
		 top && *top ? top : ".", pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "make-certs.sh failed (top_srcdir=%s)\n", top ? top : "(unset)");
		return 1;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(pki, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return failed ? 1 : 0;
}
