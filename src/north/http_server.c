/* north: the HTTPS server -- HTTP/2 (nghttp2) and HTTP/1.1 (http1.c) on one port, on the
 * one libevent loop (see http_server.h for the contract).
 *
 * Objects (talloc):
 *   ctx -> server -> conn -> { h1 parser, h2 stream (h2s) }
 *   ctx -> request          (a request outlives its stream, connection and server until
 *                            mgw_http_respond(); it is unlinked when they go away)
 * The connection's talloc destructor frees the bufferevent (and with it the SSL and the
 * socket) and the nghttp2 session. Connections are never freed from inside a nested call
 * (nghttp2 callback, handler): they are marked dead and freed from their "kick" event.
 *
 * Limits and choices:
 * - max_body 0 means 1 MiB. Headers: 64 per request; h2 also 16 KiB of names + values
 *   (RST_STREAM beyond), h1 8 KiB for the whole head (http1.h, 431 beyond).
 * - HTTP/1.1: one request at a time; reading stops while the handler has it. Chunked
 *   request bodies are decoded (http1.c). A body over max_body reaches the handler as
 *   error 413 after it was read and discarded (up to 1 MiB announced); with
 *   "Expect: 100-continue" or a larger Content-Length the handler gets it at once. The
 *   connection closes after every error answer. 1xx/204/304 carry no Content-Length
 *   (RFC 9110 8.6); every other answer has one.
 * - Deadlines per phase (enum phase, absolute: bytes do not extend them): TLS handshake,
 *   idle, request head, request body; plus a send deadline (bufferevent write timeout).
 * - Slots: conn_limit.c sheds the oldest unauthenticated connection for a newcomer at
 *   max_conns / max_per_source; max_conns follows RLIMIT_NOFILE; accept() out of
 *   descriptors pauses the listener for 100 ms. Output over max_output stops reading.
 * - A TLS handshake refused with an alert is reported to conn_cb; one that the peer left
 *   or that passed its deadline is counted in the summary line only.
 * (doc/internals/north.md "Listener limits")
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "conn_limit.h"
#include "http1.h"
#include "http_server.h"
#include "tls.h"

#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_MAX_STREAMS 128
/* RST_STREAM frames a peer may send: a burst, then so many per second (see h2_start) */
#define H2_RST_BURST 10000
#define H2_RST_RATE 20000
#define H2_MAX_OUTBOUND_ACK 1000
#define DEFAULT_MAX_BODY (1024 * 1024) /* max_body 0 */
#define MAX_HEADERS 64           /* per request, both protocols */
#define MAX_HEADER_BYTES 16384   /* names + values per request (h2; h1 has 8 KiB in all) */
/* deadlines (http_server.h; 0 in the cfg means these) */
#define DEFAULT_HANDSHAKE_MS 10000
#define DEFAULT_HEADER_MS 10000
#define DEFAULT_BODY_MS 30000
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_SEND_MS 30000
#define DEFAULT_MAX_OUTPUT (256 * 1024)
#define DEFAULT_MAX_PER_SOURCE 256
/* file descriptors kept for everything else (store, log, M5S client, adapters) */
#define FD_RESERVE_MIN 64
#define ACCEPT_PAUSE_MS 100
/* libevent's default is 128: under a connection flood a full backlog drops the M5S's SYN,
 * which then waits for its retransmission (1 s, then 3 s). The kernel caps this at
 * net.core.somaxconn (4096 on Debian 12). */
#define LISTEN_BACKLOG 4096
/* accepts per loop turn: a shed connection's descriptor is closed by libevent at the next
 * turn, so a burst of shed-and-take must stay well under the descriptor reserve */
#define ACCEPT_BURST 32
#define ACCEPT_SHED 8 /* connections shed when accept() runs out of descriptors */
#define SUMMARY_S 10 /* shed / refused / timed-out connections: one line per this */
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN (sizeof(H2_PREFACE) - 1)
/* a 413 body of up to this many bytes is read and discarded so that the client sees the
 * answer; a larger announced body is answered at once and the connection closed */
#define H1_DISCARD_MAX ((uint64_t)1 << 20)

#define LOG_SRV(s, level, fmt, ...) LOGP(DNORTH, level, "%s: " fmt, (s)->name, ##__VA_ARGS__)
#define LOG_CONN(c, level, fmt, ...)                                                       \
	LOGP(DNORTH, level, "%s(%s): " fmt, (c)->srv->name, (c)->peer, ##__VA_ARGS__)

enum proto {
	P_TLS_HANDSHAKE, /* TLS handshake in progress */
	P_SNIFF,         /* plain: waiting for the first bytes (h2 preface or not) */
	P_H1,
	P_H2,
};

struct conn;
struct h2s;

struct hdr {
	char *name; /* lowercase */
	char *value;
};

struct mgw_http_req {
	struct conn *conn;   /* NULL once the connection is gone */
	struct h2s *h2s;     /* h2: the stream, NULL once it closed */
	struct mgw_http_req *prev, *next; /* in conn->reqs */
	bool handed;         /* the handler has it */
	int32_t stream_id;
	char *method, *path, *peer, *client_cn, *client_fp;
	const char *proto;
	struct hdr *hdr;
	unsigned nhdr;
	size_t hdr_bytes;
	uint8_t *body;
	size_t len;
	size_t max_body;
	int error;
};

/* an h2 stream: the request until answered, then the response body being sent */
struct h2s {
	struct conn *conn;
	struct mgw_http_req *req;
	uint8_t *body;
	size_t len, off;
};

/* what the connection's deadline timer is waiting for */
enum phase {
	PH_HANDSHAKE, /* TLS handshake: handshake_ms from accept */
	PH_IDLE,      /* no request under way: idle_ms */
	PH_HEAD,      /* h1: first byte of a request to the end of its head: header_ms */
	PH_BODY,      /* h1: end of the head to the end of the body: body_ms */
	PH_HANDLER,   /* h1: the handler has the request: no deadline */
};

struct conn {
	struct mgw_http_server *srv;
	struct conn_slot slot;    /* in srv->lim (oldest first) */
	struct bufferevent *bev;
	struct event *kick;       /* deferred work: close, or parse buffered h1 input */
	struct event *timer;      /* the deadline of the current phase */
	enum phase phase;
	bool out_paused;          /* output over max_output: input is not read */
	char peer[64];
	enum proto proto;
	const char *proto_name;
	char *client_cn, *client_fp;
	bool dead;               /* close at the next kick */
	bool close_when_flushed; /* close once the output is written */
	bool in_recv;            /* inside nghttp2_session_mem_recv / the h1 loop */
	bool dead_io;            /* the socket failed or the peer closed: no close_notify */
	/* h2 */
	nghttp2_session *h2;
	unsigned h2_rst_in; /* RST_STREAM frames received */
	/* h1 */
	struct http1_parser *h1;
	struct mgw_http_req *h1_req; /* being read */
	bool h1_wait;                /* the handler has the request: read nothing more */
	bool h1_close;               /* close after the answer */
	struct mgw_http_req *reqs;   /* requests bound to this connection */
};

struct mgw_http_server {
	void *ctx; /* the parent: requests hang here so they outlive the server */
	struct event_base *base;
	char *name;
	bool insecure;
	size_t max_body, max_conns;
	unsigned max_streams;
	size_t max_output;
	struct timeval handshake_tv, header_tv, body_tv, idle_tv, send_tv;
	struct conn_limit lim;    /* every connection, oldest first */
	struct event *accept_timer; /* accepting again after EMFILE and friends */
	unsigned accept_pauses;   /* since the last log line about them */
	unsigned accept_burst;    /* accepted in this loop turn */
	time_t pause_log_t;
	/* counts for the one-line summaries (SUMMARY_S) */
	time_t summary_t;
	unsigned long shed, refused, timed_out, left;
	SSL_CTX *ssl_ctx;
	struct evconnlistener *lev;
	int port;
	mgw_http_handler handler;
	mgw_http_conn_cb conn_cb;
	void *arg;
};

static void conn_close_later(struct conn *c);
static void conn_input(struct conn *c);
static int h2_flush(struct conn *c);
static size_t fd_cap(struct mgw_http_server *s, size_t want);
static void conn_phase(struct conn *c, enum phase ph);
static void conn_close_flushed(struct conn *c);

/* ---- requests ---- */

static void req_unlink(struct mgw_http_req *r)
{
	struct conn *c = r->conn;

	if (!c)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->conn = NULL;
	if (c->h1_req == r)
		c->h1_req = NULL;
	if (r->h2s) {
		r->h2s->req = NULL;
		r->h2s = NULL;
	}
}

static int req_destructor(struct mgw_http_req *r)
{
	req_unlink(r);
	return 0;
}

static struct mgw_http_req *req_alloc(struct conn *c)
{
	struct mgw_http_req *r = talloc_zero(c->srv->ctx, struct mgw_http_req);

	if (!r)
		return NULL;
	r->hdr = talloc_zero_array(r, struct hdr, MAX_HEADERS);
	r->peer = talloc_strdup(r, c->peer);
	if (!r->hdr || !r->peer)
		goto fail;
	if (c->client_cn && !(r->client_cn = talloc_strdup(r, c->client_cn)))
		goto fail;
	if (c->client_fp && !(r->client_fp = talloc_strdup(r, c->client_fp)))
		goto fail;
	r->proto = c->proto_name;
	r->max_body = c->srv->max_body;
	r->conn = c;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	talloc_set_destructor(r, req_destructor);
	return r;
fail:
	talloc_free(r);
	return NULL;
}

/* Add a header (name lowercased); -1 when there are too many or no memory. */
static int req_add_header(struct mgw_http_req *r, const char *name, size_t nlen,
			  const char *value, size_t vlen)
{
	char *n;

	if (r->nhdr >= MAX_HEADERS || nlen + vlen > MAX_HEADER_BYTES - r->hdr_bytes)
		return -1;
	r->hdr_bytes += nlen + vlen;
	if (!(n = talloc_strndup(r->hdr, name, nlen)))
		return -1;
	for (char *p = n; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	r->hdr[r->nhdr].name = n;
	if (!(r->hdr[r->nhdr].value = talloc_strndup(r->hdr, value, vlen)))
		return -1;
	r->nhdr++;
	return 0;
}

/* Append body bytes; over max_body the body is dropped and error 413 set. */
static int req_add_body(struct mgw_http_req *r, const uint8_t *data, size_t len)
{
	uint8_t *b;

	if (r->error == 413)
		return 0;
	if (len > r->max_body - r->len) {
		TALLOC_FREE(r->body);
		r->len = 0;
		r->error = 413;
		return 0;
	}
	if (!(b = talloc_realloc_size(r, r->body, r->len + len + 1)))
		return -1;
	memcpy(b + r->len, data, len);
	r->len += len;
	b[r->len] = 0;
	r->body = b;
	return 0;
}

static void req_dispatch(struct mgw_http_req *r)
{
	struct mgw_http_server *srv = r->conn->srv;

	if (!r->method)
		r->method = talloc_strdup(r, "");
	if (!r->path)
		r->path = talloc_strdup(r, "");
	if (!r->method || !r->path) {
		/* out of memory: the handler cannot be given this request */
		talloc_free(r);
		return;
	}
	r->handed = true;
	if (r->conn->proto == P_H2)
		conn_phase(r->conn, PH_IDLE); /* a request: the connection is not idle */
	LOGP(DNORTH, MGW_LOGL_DEBUG, "%s(%s): %s %s %s (%zu bytes)%s", srv->name, r->peer,
	     r->proto, r->method, r->path, r->len, r->error ? " error" : "");
	srv->handler(srv->arg, r);
}

const char *mgw_http_req_method(const struct mgw_http_req *r)
{
	return r->method;
}

const char *mgw_http_req_path(const struct mgw_http_req *r)
{
	return r->path;
}

const char *mgw_http_req_header(const struct mgw_http_req *r, const char *name)
{
	const char *v = NULL;

	for (unsigned i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr[i].name, name) == 0) {
			v = r->hdr[i].value;
			break;
		}
	return v;
}

unsigned mgw_http_req_header_count(const struct mgw_http_req *r, const char *name)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr[i].name, name) == 0)
			n++;
	return n;
}

const uint8_t *mgw_http_req_body(const struct mgw_http_req *r, size_t *len)
{
	*len = r->len;
	return r->body ? r->body : (const uint8_t *)"";
}

const char *mgw_http_req_peer(const struct mgw_http_req *r)
{
	return r->peer;
}

const char *mgw_http_req_proto(const struct mgw_http_req *r)
{
	return r->proto;
}

int mgw_http_req_error(const struct mgw_http_req *r)
{
	return r->error;
}

const char *mgw_http_req_client_cn(const struct mgw_http_req *r)
{
	return r->client_cn;
}

const char *mgw_http_req_client_fp(const struct mgw_http_req *r)
{
	return r->client_fp;
}

/* ---- connections ---- */

static int conn_destructor(struct conn *c)
{
	struct mgw_http_server *srv = c->srv;
	struct mgw_http_req *r, *next;

	/* requests the handler has stay valid (unlinked); others go */
	for (r = c->reqs; r; r = next) {
		next = r->next;
		if (r->handed)
			req_unlink(r);
		else
			talloc_free(r);
	}
	if (c->h2)
		nghttp2_session_del(c->h2);
	if (c->bev && c->srv->ssl_ctx) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* best effort close_notify, so that a peer reading to EOF sees a clean end */
		if (ssl && SSL_is_init_finished(ssl) && !c->dead_io)
			SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (c->bev)
		bufferevent_free(c->bev); /* BEV_OPT_CLOSE_ON_FREE: the socket and the SSL */
	if (c->kick)
		event_free(c->kick);
	if (c->timer)
		event_free(c->timer);
	conn_limit_remove(&srv->lim, &c->slot);
	return 0;
}

/* ---- deadlines and summaries ---- */

/* One line per SUMMARY_S for connections shed, refused or timed out (an attack makes
 * thousands: each is logged at debug level, the summary at notice). */
static void summary(struct mgw_http_server *srv)
{
	time_t now = time(NULL);

	if (now - srv->summary_t < SUMMARY_S)
		return;
	if (srv->shed || srv->refused || srv->timed_out || srv->left)
		LOG_SRV(srv, MGW_LOGL_NOTICE,
			"in %lds: %lu connections shed (oldest unauthenticated first), %lu refused, "
			"%lu past a deadline, %lu left during the TLS handshake; %zu open "
			"(max_connections %zu, max_per_source %zu)",
			(long)(now - srv->summary_t), srv->shed, srv->refused, srv->timed_out,
			srv->left, srv->lim.n, srv->lim.max_conns, srv->lim.max_per_source);
	srv->shed = srv->refused = srv->timed_out = srv->left = 0;
	srv->summary_t = now;
}

static const char *phase_name(enum phase ph)
{
	static const char *const n[] = { "TLS handshake", "idle", "request head", "request body",
					 "handler" };

	return n[ph];
}

/* Enter a phase and (re)arm its deadline; PH_HANDLER has none. */
static void conn_phase(struct conn *c, enum phase ph)
{
	const struct mgw_http_server *srv = c->srv;
	const struct timeval *tv[] = { &srv->handshake_tv, &srv->idle_tv, &srv->header_tv,
				       &srv->body_tv, NULL };

	c->phase = ph;
	if (tv[ph])
		evtimer_add(c->timer, tv[ph]);
	else
		evtimer_del(c->timer);
}

static void tls_failed(struct conn *c, short what);

static bool conn_has_handed(const struct conn *c)
{
	for (const struct mgw_http_req *r = c->reqs; r; r = r->next)
		if (r->handed)
			return true;
	return false;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (c->proto == P_H2 && conn_has_handed(c)) {
		/* the handler has requests of this connection: not idle */
		conn_phase(c, PH_IDLE);
		return;
	}
	if (c->phase == PH_HANDSHAKE) {
		tls_failed(c, BEV_EVENT_TIMEOUT); /* counted and summarised there */
	} else {
		LOG_CONN(c, MGW_LOGL_DEBUG, "%s deadline passed: closed", phase_name(c->phase));
		c->srv->timed_out++;
		summary(c->srv);
	}
	if (c->proto == P_H2 && !c->out_paused &&
	    nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR) == 0 && h2_flush(c) == 0) {
		/* GOAWAY first, so that a client does not send a request into the close */
		conn_close_flushed(c);
		return;
	}
	conn_close_later(c);
}

static void conn_kick(struct conn *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

static void conn_close_later(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	conn_kick(c);
}

/* close once everything queued is written */
static void conn_close_flushed(struct conn *c)
{
	c->close_when_flushed = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close_later(c);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!c->dead)
		conn_input(c);
	if (c->dead)
		talloc_free(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->close_when_flushed && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		conn_close_later(c);
		return;
	}
	if (c->out_paused && !c->dead && !c->close_when_flushed) {
		/* the peer read half of what was queued: read (and answer) again */
		c->out_paused = false;
		if (c->proto == P_H2 && h2_flush(c) != 0) {
			conn_close_later(c);
			return;
		}
		if (!c->h1_wait)
			bufferevent_enable(c->bev, EV_READ);
		conn_kick(c);
	}
}

/* The output holds max_output bytes or more (a peer that does not read): stop reading its
 * input, so that it cannot make us queue more (answers, h2 PING and SETTINGS acks); the
 * write timeout (send_timeout) closes it if it never reads again. */
static bool conn_output_full(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) < c->srv->max_output)
		return false;
	if (!c->out_paused)
		LOG_CONN(c, MGW_LOGL_DEBUG, "output over %zu bytes: not reading until it drains",
			 c->srv->max_output);
	c->out_paused = true;
	bufferevent_disable(c->bev, EV_READ);
	return true;
}

/* ---- HTTP/1.1 ---- */

static const char *reason_phrase(int status)
{
	static const struct {
		int status;
		const char *text;
	} t[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 411, "Length Required" },
		{ 413, "Content Too Large" }, { 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].text;
	return "Status";
}

/* a header name or value we may put on the wire: no CR, LF or NUL (no injection) */
static bool hdr_ok(const char *s)
{
	return s && *s && !strpbrk(s, "\r\n");
}

static void h1_write_response(struct conn *c, int status, const char *ctype, const void *body,
			      size_t len, const char *hn, const char *hv, bool close, bool head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool nobody = status == 204 || status == 304 || (status >= 100 && status < 200);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason_phrase(status));
	/* RFC 9110 8.6: no Content-Length on 1xx and 204 */
	if (!nobody)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (hdr_ok(ctype) && !nobody)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (hdr_ok(hn) && hdr_ok(hv) && !strchr(hn, ':'))
		evbuffer_add_printf(out, "%s: %s\r\n", hn, hv);
	if (close)
		evbuffer_add_printf(out, "Connection: close\r\n");
	evbuffer_add(out, "\r\n", 2);
	if (!nobody && !head && len)
		evbuffer_add(out, body, len);
}

/* an error the handler cannot be asked about: answer it and close */
static void h1_fail(struct conn *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason_phrase(status));

	LOG_CONN(c, MGW_LOGL_INFO, "HTTP/1.1 request refused: %d", status);
	h1_write_response(c, status, "text/plain", body, (size_t)n, NULL, NULL, true, false);
	conn_close_flushed(c);
}

static int h1_make_req(struct conn *c)
{
	struct http1_parser *p = c->h1;
	struct mgw_http_req *r;

	if (!(r = req_alloc(c)))
		return -1;
	if (!(r->method = talloc_strdup(r, p->method)) || !(r->path = talloc_strdup(r, p->path)))
		goto fail;
	for (unsigned i = 0; i < p->nhdr; i++)
		if (req_add_header(r, p->hdr[i].name, strlen(p->hdr[i].name), p->hdr[i].value,
				   strlen(p->hdr[i].value)) != 0)
			goto fail;
	c->h1_req = r;
	return 0;
fail:
	talloc_free(r);
	return -1;
}

static void h1_hand(struct conn *c, int error, bool close)
{
	struct mgw_http_req *r = c->h1_req;

	c->h1_req = NULL;
	c->h1_wait = true;
	conn_phase(c, PH_HANDLER);
	c->h1_close = close || !c->h1->keep_alive;
	if (error)
		r->error = error;
	bufferevent_disable(c->bev, EV_READ);
	req_dispatch(r);
}

/* Parse what is buffered, one request at a time. */
static void h1_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct http1_parser *p = c->h1;

	c->in_recv = true;
	while (!c->dead && !c->close_when_flushed && !c->h1_wait) {
		size_t used = 0, clen = 0;
		const uint8_t *chunk = NULL;
		enum http1_ev ev;
		struct evbuffer_iovec v = { .iov_base = NULL, .iov_len = 0 };

		/* with nothing buffered the parser may still have an event (HTTP1_DONE
		 * right after the head of a request without a body) */
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			v.iov_len = 0;
		if (c->phase == PH_IDLE && v.iov_len > 0)
			conn_phase(c, PH_HEAD); /* header_timeout runs from the first byte */
		ev = http1_parse(p, v.iov_base, v.iov_len, &used, &chunk, &clen);
		switch (ev) {
		case HTTP1_MORE:
			if (v.iov_len == 0)
				goto out;
			break;
		case HTTP1_HEAD:
			if (h1_make_req(c) != 0) {
				evbuffer_drain(in, used);
				h1_fail(c, 500);
				goto out;
			}
			if (p->too_big && (p->expect_continue || p->content_length > H1_DISCARD_MAX)) {
				/* answer 413 without reading the body, then close */
				evbuffer_drain(in, used);
				h1_hand(c, 413, true);
				goto out;
			}
			if (p->expect_continue)
				evbuffer_add_printf(bufferevent_get_output(c->bev),
						    "HTTP/1.1 100 Continue\r\n\r\n");
			conn_phase(c, PH_BODY);
			break;
		case HTTP1_BODY:
			if (req_add_body(c->h1_req, chunk, clen) != 0) {
				evbuffer_drain(in, used);
				h1_fail(c, 500);
				goto out;
			}
			break;
		case HTTP1_DONE:
			evbuffer_drain(in, used);
			/* a 413 body was read whole: the connection could go on, but the brief
			 * and the ProblemDetails answer are simpler with a close */
			h1_hand(c, p->error, p->error != 0);
			goto out;
		case HTTP1_ERROR:
			evbuffer_drain(in, used);
			if (p->head_ok && (c->h1_req || h1_make_req(c) == 0)) {
				h1_hand(c, p->error, true);
			} else {
				h1_fail(c, p->error ? p->error : 400);
			}
			goto out;
		}
		evbuffer_drain(in, used);
		if (p->too_big && p->chunked && c->h1_req) {
			/* a chunked body over max_body: 413 now and close, instead of reading and
			 * discarding a body that may never end */
			h1_hand(c, 413, true);
			goto out;
		}
	}
out:
	c->in_recv = false;
}

static void h1_respond(struct conn *c, struct mgw_http_req *r, int status, const char *ctype,
		       const void *body, size_t len, const char *hn, const char *hv)
{
	bool close = c->h1_close;

	h1_write_response(c, status, ctype, body, len, hn, hv, close,
			  r->method && strcmp(r->method, "HEAD") == 0);
	talloc_free(r);
	c->h1_wait = false;
	if (close) {
		conn_close_flushed(c);
		return;
	}
	http1_reset(c->h1);
	conn_phase(c, PH_IDLE);
	bufferevent_enable(c->bev, EV_READ);
	/* input may already be buffered (pipelining, or TLS records decrypted earlier) */
	conn_kick(c);
}

/* ---- HTTP/2 ---- */

static ssize_t h2_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
			    size_t length, uint32_t *data_flags, nghttp2_data_source *source,
			    void *user_data)
{
	struct h2s *s = source->ptr;
	size_t n = s->len - s->off;

	if (n > length)
		n = length;
	memcpy(buf, s->body + s->off, n);
	s->off += n;
	if (s->off == s->len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int h2_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
			       void *user_data)
{
	struct conn *c = user_data;
	struct h2s *s;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(s = talloc_zero(c, struct h2s)))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->conn = c;
	if (!(s->req = req_alloc(c))) {
		talloc_free(s);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	s->req->h2s = s;
	s->req->stream_id = frame->hd.stream_id;
	if (nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s) != 0) {
		talloc_free(s->req);
		talloc_free(s);
	}
	return 0;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
			size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
			void *user_data)
{
	struct h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	struct mgw_http_req *r;
	const char *q;

	if (!s || !(r = s->req) || frame->hd.type != NGHTTP2_HEADERS ||
	    frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers are ignored */
	if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
		if (!(r->method = talloc_strndup(r, (const char *)value, valuelen)))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	} else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
		q = memchr(value, '?', valuelen);
		if (q)
			valuelen = (size_t)(q - (const char *)value);
		if (!(r->path = talloc_strndup(r, (const char *)value, valuelen)))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	} else if (namelen > 0 && name[0] == ':') {
		/* :scheme, :authority */
	} else if (req_add_header(r, (const char *)name, namelen, (const char *)value, valuelen) !=
		   0) {
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM this one */
	}
	return 0;
}

static int h2_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id,
		      const uint8_t *data, size_t len, void *user_data)
{
	struct h2s *s = nghttp2_session_get_stream_user_data(session, stream_id);

	if (!s || !s->req || s->req->handed)
		return 0;
	if (req_add_body(s->req, data, len) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int h2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	struct h2s *s;

	if (frame->hd.type == NGHTTP2_RST_STREAM) {
		struct conn *c = user_data;

		c->h2_rst_in++;
		LOG_CONN(c, MGW_LOGL_DEBUG, "h2: stream %d reset by the peer (%s), %u so far",
			 frame->hd.stream_id, nghttp2_http2_strerror(frame->rst_stream.error_code),
			 c->h2_rst_in);
		return 0;
	}
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!s || !s->req || s->req->handed)
		return 0;
	req_dispatch(s->req);
	return 0;
}

static int h2_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
			      void *user_data)
{
	struct h2s *s = nghttp2_session_get_stream_user_data(session, stream_id);

	if (!s)
		return 0;
	nghttp2_session_set_stream_user_data(session, stream_id, NULL);
	if (s->req) {
		if (s->req->handed)
			req_unlink(s->req); /* answered later into the void */
		else
			talloc_free(s->req);
	}
	talloc_free(s);
	return 0;
}

static int h2_start(struct conn *c)
{
	nghttp2_session_callbacks *cbs = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->srv->max_streams },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384 },
	};
	int rc = -1;

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		goto out;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
	if (nghttp2_option_new(&opt) != 0)
		goto out;
	/* nghttp2's rapid-reset guard (CVE-2023-44487) allows 1000 RST_STREAM then 33/s and
	 * ends the session with GOAWAY(INTERNAL_ERROR). libcurl 7.88 (Debian 12) resets every
	 * stream it has finished (STREAM_CLOSED), so an M5S on curl was cut off after ~1000
	 * deliveries per connection. A reset here never saves us work (a request is stored
	 * before its answer), so the guard is kept but at the request rate we can serve. */
	nghttp2_option_set_stream_reset_rate_limit(opt, H2_RST_BURST, H2_RST_RATE);
	/* a peer that floods PING or SETTINGS and does not read: h2_flush stops taking
	 * output at max_output, nghttp2 queues at most this many acks, then ends the session */
	nghttp2_option_set_max_outbound_ack(opt, H2_MAX_OUTBOUND_ACK);
	if (nghttp2_session_server_new2(&c->h2, cbs, c, opt) != 0) {
		c->h2 = NULL;
		goto out;
	}
	if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0)
		goto out;
	rc = 0;
out:
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	return rc;
}

/* Write what nghttp2 has to send; close when the session is over. */
static int h2_flush(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const uint8_t *data;
	ssize_t n = 0;

	/* never more than max_output queued: the rest stays in nghttp2 (whose own queue of
	 * PING/SETTINGS acks is bounded, max_outbound_ack) until write_cb calls again */
	while (evbuffer_get_length(out) < c->srv->max_output &&
	       (n = nghttp2_session_mem_send(c->h2, &data)) > 0)
		if (evbuffer_add(out, data, (size_t)n) != 0)
			return -1;
	if (evbuffer_get_length(out) >= c->srv->max_output) {
		conn_output_full(c);
		return 0;
	}
	if (n < 0) {
		LOG_CONN(c, MGW_LOGL_INFO, "h2: %s", nghttp2_strerror((int)n));
		return -1;
	}
	if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
		conn_close_flushed(c);
	return 0;
}

static void h2_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	ssize_t n;

	c->in_recv = true;
	while (evbuffer_get_length(in) > 0 && !c->dead) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = nghttp2_session_mem_recv(c->h2, v.iov_base, v.iov_len);
		if (n < 0) {
			LOG_CONN(c, MGW_LOGL_INFO, "h2: %s", nghttp2_strerror((int)n));
			c->in_recv = false;
			/* nghttp2 queued a GOAWAY where it could */
			h2_flush(c);
			conn_close_flushed(c);
			return;
		}
		evbuffer_drain(in, (size_t)n);
	}
	c->in_recv = false;
	if (!c->dead && h2_flush(c) != 0)
		conn_close_later(c);
}

static void h2_respond(struct conn *c, struct mgw_http_req *r, int status, const char *ctype,
		       const void *body, size_t len, const char *hn, const char *hv)
{
	struct h2s *s = r->h2s;
	char st[8], cl[24], lname[64];
	nghttp2_nv nva[4];
	size_t n = 0;
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = h2_data_read };
	bool nobody = status == 204 || status == 304;

#define NV(nm, val)                                                                         \
	do {                                                                                \
		nva[n].name = (uint8_t *)(nm);                                              \
		nva[n].namelen = strlen(nm);                                                \
		nva[n].value = (uint8_t *)(val);                                            \
		nva[n].valuelen = strlen(val);                                              \
		nva[n].flags = NGHTTP2_NV_FLAG_NONE;                                        \
		n++;                                                                        \
	} while (0)

	if (nobody || (r->method && strcmp(r->method, "HEAD") == 0))
		len = 0;
	snprintf(st, sizeof(st), "%d", status);
	NV(":status", st);
	if (!nobody) {
		snprintf(cl, sizeof(cl), "%zu", len);
		NV("content-length", cl);
	}
	if (hdr_ok(ctype) && !nobody)
		NV("content-type", ctype);
	if (hdr_ok(hn) && hdr_ok(hv) && !strchr(hn, ':') && strlen(hn) < sizeof(lname)) {
		size_t i;

		for (i = 0; hn[i]; i++)
			lname[i] = (hn[i] >= 'A' && hn[i] <= 'Z') ? (char)(hn[i] - 'A' + 'a') : hn[i];
		lname[i] = '\0';
		NV(lname, hv);
	}
#undef NV
	if (len && !(s->body = talloc_memdup(s, body, len)))
		len = 0; /* out of memory: the status still goes out */
	s->len = len;
	s->req = NULL;
	r->h2s = NULL;
	if (nghttp2_submit_response(c->h2, r->stream_id, nva, n, len ? &prd : NULL) != 0)
		nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, r->stream_id,
					  NGHTTP2_INTERNAL_ERROR);
	talloc_free(r);
	if (!c->in_recv && h2_flush(c) != 0)
		conn_close_later(c);
}

/* ---- both ---- */

void mgw_http_respond(struct mgw_http_req *r, int status, const char *content_type,
		      const void *body, size_t len, const char *hdr_name, const char *hdr_value)
{
	struct conn *c;

	if (!r)
		return;
	c = r->conn;
	if (!body)
		len = 0;
	if (!c || c->dead || c->close_when_flushed || (c->proto == P_H2 && !r->h2s)) {
		talloc_free(r); /* the peer is gone: drop the answer */
		return;
	}
	/* the handler accepted a request: the caller passed its checks, so this connection
	 * is no longer one to shed for newcomers (conn_limit.h) */
	if (status < 400)
		c->slot.rank = CONN_RANK_TRUSTED;
	if (c->proto == P_H2)
		h2_respond(c, r, status, content_type, body, len, hdr_name, hdr_value);
	else
		h1_respond(c, r, status, content_type, body, len, hdr_name, hdr_value);
}

/* Process buffered input; never frees c (callers do when c->dead). */
static void conn_input(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (conn_output_full(c))
		return;

	if (c->proto == P_SNIFF) {
		size_t n = evbuffer_get_length(in);
		uint8_t buf[H2_PREFACE_LEN];
		size_t m = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;

		if (m == 0 || evbuffer_copyout(in, buf, m) != (ssize_t)m)
			return;
		if (memcmp(buf, H2_PREFACE, m) == 0 && m < H2_PREFACE_LEN)
			return; /* could still be the preface */
		if (memcmp(buf, H2_PREFACE, m) == 0) {
			c->proto = P_H2;
			c->proto_name = "h2c";
			if (h2_start(c) != 0) {
				conn_close_later(c);
				return;
			}
		} else {
			c->proto = P_H1;
			c->proto_name = "http/1.1";
		}
	}
	if (c->proto == P_H2)
		h2_process(c);
	else if (c->proto == P_H1)
		h1_process(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (!c->dead)
		conn_input(c);
	if (c->dead)
		talloc_free(c);
}

static void peer_name(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/* The verified client certificate: subject CN and "sha256:<hex>" of its DER. */
static int tls_client_cert(struct conn *c, SSL *ssl)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char fp[8 + 2 * EVP_MAX_MD_SIZE + 1];
	int rc = -1, idx;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
		rc = 0; /* none: with client_ca the handshake already refused this */
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1);
	if (idx >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(X509_get_subject_name(cert), idx);
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));

		if (n >= 0) {
			/* a CN with an embedded NUL is not a name */
			if ((size_t)n == strlen((char *)utf8))
				c->client_cn = talloc_strndup(c, (char *)utf8, (size_t)n);
			OPENSSL_free(utf8);
		}
	}
	if (!X509_digest(cert, EVP_sha256(), md, &mdlen))
		goto out;
	memcpy(fp, "sha256:", 7);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(fp + 7 + 2 * i, 3, "%02x", md[i]);
	fp[7 + 2 * mdlen] = '\0';
	if (!(c->client_fp = talloc_strdup(c, fp)))
		goto out;
	rc = 0;
out:
	X509_free(cert);
	return rc;
}

static void tls_connected(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const unsigned char *alpn = NULL;
	unsigned int alpnlen = 0;

	if (tls_client_cert(c, ssl) != 0) {
		conn_close_later(c);
		return;
	}
	c->slot.rank = c->client_fp ? CONN_RANK_CERT : CONN_RANK_TLS;
	SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
	if (alpnlen == 2 && memcmp(alpn, "h2", 2) == 0) {
		c->proto = P_H2;
		c->proto_name = "h2";
		if (h2_start(c) != 0 || h2_flush(c) != 0) {
			conn_close_later(c);
			return;
		}
	} else {
		c->proto = P_H1;
		c->proto_name = "http/1.1";
	}
	LOG_CONN(c, MGW_LOGL_DEBUG, "TLS %s %s, %s%s%s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl), c->proto_name, c->client_cn ? ", client " : "",
		 c->client_cn ? c->client_cn : "");
	conn_phase(c, PH_IDLE);
	/* application data may have arrived with the handshake */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_kick(c);
}

/* A failed handshake: tell conn_cb why, in one line. */
static void tls_failed(struct conn *c, short what)
{
	struct mgw_http_server *srv = c->srv;
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char reason[256] = "", e[200];
	unsigned long err, first = 0;
	long vr;

	while ((err = bufferevent_get_openssl_error(c->bev)) != 0)
		if (!first)
			first = err;
	if (first) {
		ERR_error_string_n(first, e, sizeof(e));
		snprintf(reason, sizeof(reason), "%s", e);
	} else if (ERR_peek_error()) {
		snprintf(reason, sizeof(reason), "%s", mgw_tls_last_error(e, sizeof(e)));
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(reason, sizeof(reason), "handshake timeout");
	} else if (what & BEV_EVENT_EOF) {
		snprintf(reason, sizeof(reason), "connection closed during the TLS handshake");
	} else {
		snprintf(reason, sizeof(reason), "TLS handshake failed: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	if (ssl && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		size_t l = strlen(reason);

		snprintf(reason + l, sizeof(reason) - l, " (%s)", X509_verify_cert_error_string(vr));
	}
	/* a peer that left (or passed handshake_timeout) without a TLS alert proved nothing
	 * about itself, and an attack makes thousands: counted in summary(), not reported */
	if ((what & BEV_EVENT_TIMEOUT) || (!first && (what & BEV_EVENT_EOF)) ||
	    (first && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		LOG_CONN(c, MGW_LOGL_DEBUG, "TLS handshake not completed: %s", reason);
		if (what & BEV_EVENT_TIMEOUT)
			srv->timed_out++;
		else
			srv->left++;
		summary(srv);
		ERR_clear_error();
		return;
	}
	LOG_CONN(c, MGW_LOGL_INFO, "TLS handshake failed: %s", reason);
	if (srv->conn_cb) {
		struct mgw_http_conn_event ev = { .peer = c->peer, .reason = reason };

		srv->conn_cb(srv->arg, &ev);
	}
	ERR_clear_error();
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->proto == P_TLS_HANDSHAKE)
			tls_connected(c);
		if (c->dead)
			talloc_free(c);
		return;
	}
	if (c->proto == P_TLS_HANDSHAKE) {
		tls_failed(c, what);
	} else if (what & BEV_EVENT_ERROR) {
		unsigned long e, first = 0;
		char why[160] = "";
		int serr = EVUTIL_SOCKET_ERROR();

		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (!first)
				first = e;
		if (first)
			ERR_error_string_n(first, why, sizeof(why));
		LOG_CONN(c, MGW_LOGL_DEBUG, "connection error: %s",
			 first ? why : serr ? evutil_socket_error_to_string(serr) : "peer closed");
	} else if (what & BEV_EVENT_TIMEOUT) {
		/* the write timeout: output queued and the peer read none of it */
		LOG_CONN(c, MGW_LOGL_DEBUG, "send deadline passed (the peer does not read): closed");
		c->srv->timed_out++;
		summary(c->srv);
	}
	/* EOF, error or timeout: on h1 a request with the handler is answered into the void */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		c->dead_io = true;
	talloc_free(c);
}

/* Make room for a connection from sa: shed the oldest unauthenticated one if the listener
 * or that source is full. false: refuse it. */
static bool make_room(struct mgw_http_server *srv, const struct conn_slot *slot, const char *peer)
{
	struct conn_slot *victim;
	size_t same = 0;
	enum conn_verdict v = CONN_ADMIT;
	bool ok = true;

	/* one victim normally; a few more when the cap was lowered under the count */
	for (int i = 0; i < ACCEPT_SHED; i++) {
		struct conn *old;

		if ((v = conn_limit_admit(&srv->lim, slot, &victim, &same)) != CONN_SHED)
			break;
		old = victim->owner;
		LOG_CONN(old, MGW_LOGL_DEBUG, "shed (%s, for %s): %zu connections, %zu from %s",
			 phase_name(old->phase), peer, srv->lim.n, same, peer);
		srv->shed++;
		/* now, not at the next kick: the slot must be free before we take the new one */
		talloc_free(old);
	}
	if (v == CONN_REFUSE) {
		LOG_SRV(srv, MGW_LOGL_DEBUG, "refusing %s: %zu connections, %zu from that address",
			peer, srv->lim.n, same);
		srv->refused++;
		ok = false;
	}
	summary(srv);
	return ok;
}

static int conn_setup_bev(struct conn *c, evutil_socket_t fd)
{
	struct mgw_http_server *srv = c->srv;
	SSL *ssl = NULL;

	if (srv->ssl_ctx) {
		if (!(ssl = SSL_new(srv->ssl_ctx)))
			return -1;
		c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
							BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			SSL_free(ssl);
			return -1;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->proto = P_TLS_HANDSHAKE;
		conn_phase(c, PH_HANDSHAKE);
	} else {
		if (!(c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE)))
			return -1;
		c->proto = P_SNIFF;
		conn_phase(c, PH_IDLE);
	}
	/* no read timeout: the phase deadlines above are absolute, a byte a second does not
	 * extend them; the write timeout drops a peer that stops reading (send_timeout) */
	bufferevent_set_timeouts(c->bev, NULL, &srv->send_tv);
	/* write_cb runs when the output fell to half of max_output: resume reading then */
	bufferevent_setwatermark(c->bev, EV_WRITE, srv->max_output / 2, 0);
	return 0;
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct mgw_http_server *srv = arg;
	struct conn *c = NULL;
	struct conn_slot slot = { 0 };
	const struct timeval now_tv = { 0, 0 };
	char peer[64];
	int one = 1;

	if (++srv->accept_burst >= ACCEPT_BURST) {
		/* the rest at the next loop turn (libevent stops its accept loop now) */
		evconnlistener_disable(lev);
		evtimer_add(srv->accept_timer, &now_tv);
	}
	peer_name(sa, peer, sizeof(peer));
	conn_slot_set_addr(&slot, sa);
	if (!make_room(srv, &slot, peer)) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!(c = talloc_zero(srv, struct conn))) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = srv;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->slot = slot;
	c->slot.owner = c;
	conn_limit_add(&srv->lim, &c->slot);
	talloc_set_destructor(c, conn_destructor);
	if (!(c->kick = event_new(srv->base, -1, 0, kick_cb, c)) ||
	    !(c->timer = evtimer_new(srv->base, timer_cb, c)))
		goto fail;
	if (conn_setup_bev(c, fd) != 0)
		goto fail;
	fd = -1; /* the bufferevent has it */
	if (!(c->h1 = talloc(c, struct http1_parser)))
		goto fail;
	http1_init(c->h1, srv->max_body);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
		goto fail;
	LOG_CONN(c, MGW_LOGL_DEBUG, "connected");
	return;
fail:
	LOG_SRV(srv, MGW_LOGL_ERROR, "cannot set up a connection from %s", peer);
	if (fd >= 0)
		evutil_closesocket(fd);
	talloc_free(c);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mgw_http_server *srv = arg;

	srv->accept_burst = 0;
	evconnlistener_enable(srv->lev);
}

/* Out of descriptors: the limit may have been lowered since the start (the cap follows
 * it again), or other parts of the daemon hold more than their reserve. Shed a few of the
 * oldest unauthenticated connections, so that an M5S waiting in the backlog gets in when
 * accepting resumes. (Closing is deferred by libevent to the next loop turn, which is one
 * more reason to pause rather than accept again at once.) */
static void shed_for_fds(struct mgw_http_server *srv)
{
	struct conn_slot any = { .family = 0xff }; /* matches no source */
	struct conn_slot *victim;
	size_t same;

	srv->lim.max_conns = fd_cap(srv, srv->max_conns);
	for (int i = 0; i < ACCEPT_SHED; i++) {
		struct conn_limit l = srv->lim;

		l.max_conns = 1; /* "full": pick the oldest of the lowest rank */
		if (conn_limit_admit(&l, &any, &victim, &same) != CONN_SHED)
			break;
		srv->shed++;
		talloc_free(victim->owner);
	}
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct mgw_http_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	const struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		/* ECONNABORTED and friends: that connection is gone, the next may work */
		LOG_SRV(srv, MGW_LOGL_DEBUG, "accept: %s", evutil_socket_error_to_string(err));
		return;
	}
	/* out of descriptors or memory: the listening socket stays readable, so accepting
	 * again at once would spin; pause, and say so once per SUMMARY_S */
	srv->accept_pauses++;
	if (time(NULL) - srv->pause_log_t >= SUMMARY_S) {
		LOG_SRV(srv, MGW_LOGL_ERROR,
			"accept: %s (%zu connections): pausing accepts for %d ms (%u pauses since "
			"the last such line)",
			evutil_socket_error_to_string(err), srv->lim.n, ACCEPT_PAUSE_MS,
			srv->accept_pauses);
		srv->accept_pauses = 0;
		srv->pause_log_t = time(NULL);
	}
	if (err == EMFILE || err == ENFILE)
		shed_for_fds(srv);
	evconnlistener_disable(lev);
	evtimer_add(srv->accept_timer, &pause);
}

static int server_destructor(struct mgw_http_server *s)
{
	if (s->lev)
		evconnlistener_free(s->lev);
	if (s->accept_timer)
		event_free(s->accept_timer);
	while (s->lim.head)
		talloc_free(s->lim.head->owner);
	SSL_CTX_free(s->ssl_ctx);
	return 0;
}

static int parse_addr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 0 || port > 65535)
		return -1;
	if (evutil_inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*s4);
		return 0;
	}
	if (evutil_inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*s6);
		return 0;
	}
	return -1;
}

static struct timeval ms_tv(unsigned ms, unsigned dflt)
{
	unsigned v = ms ? ms : dflt;

	return (struct timeval){ v / 1000, (v % 1000) * 1000 };
}

/* Connection slots: never more than the descriptors left after FD_RESERVE_MIN (or an
 * eighth) for everything else, so that a full listener sheds instead of hitting EMFILE. */
static size_t fd_cap(struct mgw_http_server *s, size_t want)
{
	struct rlimit rl;
	size_t n, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	n = (size_t)rl.rlim_cur;
	reserve = n / 8 > FD_RESERVE_MIN ? n / 8 : FD_RESERVE_MIN;
	n = n > reserve + 16 ? n - reserve : 16;
	if (n >= want)
		return want;
	if (n != s->lim.max_conns)
		LOG_SRV(s, MGW_LOGL_NOTICE, "max_connections %zu lowered to %zu (RLIMIT_NOFILE %llu)",
			want, n, (unsigned long long)rl.rlim_cur);
	return n;
}

static void server_limits(struct mgw_http_server *s, const struct mgw_http_server_cfg *cfg)
{
	s->max_output = cfg->max_output ? cfg->max_output : DEFAULT_MAX_OUTPUT;
	s->handshake_tv = ms_tv(cfg->handshake_ms, DEFAULT_HANDSHAKE_MS);
	s->header_tv = ms_tv(cfg->header_ms, DEFAULT_HEADER_MS);
	s->body_tv = ms_tv(cfg->body_ms, DEFAULT_BODY_MS);
	s->idle_tv = ms_tv(cfg->idle_ms, DEFAULT_IDLE_MS);
	s->send_tv = ms_tv(cfg->send_ms, DEFAULT_SEND_MS);
	s->lim.max_conns = fd_cap(s, s->max_conns);
	s->lim.max_per_source = cfg->max_per_source ? cfg->max_per_source : DEFAULT_MAX_PER_SOURCE;
	s->summary_t = time(NULL);
}

int mgw_http_server_start(void *ctx, struct event_base *base, const struct mgw_http_server_cfg *cfg,
			  mgw_http_handler handler, mgw_http_conn_cb conn_cb, void *arg,
			  struct mgw_http_server **out, char *errbuf, size_t errlen)
{
	struct mgw_http_server *s = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int rc = MGW_E_INVAL;
	const char *addr = cfg && cfg->addr ? cfg->addr : "127.0.0.1";

	if (errlen)
		errbuf[0] = '\0';
	if (!cfg || !base || !handler || !out) {
		snprintf(errbuf, errlen, "http server: missing argument");
		goto out;
	}
	if (parse_addr(addr, cfg->port, &ss, &sslen) != 0) {
		snprintf(errbuf, errlen, "bad listen address %s port %d", addr, cfg->port);
		rc = MGW_E_CONFIG;
		goto out;
	}
	rc = MGW_E_NOMEM;
	if (!(s = talloc_zero(ctx, struct mgw_http_server)))
		goto out;
	talloc_set_destructor(s, server_destructor);
	s->ctx = ctx;
	s->base = base;
	s->insecure = cfg->insecure;
	s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
	s->max_conns = cfg->max_conns ? cfg->max_conns : DEFAULT_MAX_CONNS;
	s->max_streams = cfg->max_streams ? cfg->max_streams : DEFAULT_MAX_STREAMS;
	s->handler = handler;
	s->conn_cb = conn_cb;
	s->arg = arg;
	if (!(s->name = talloc_strdup(s, cfg->name ? cfg->name : "http")))
		goto out;
	server_limits(s, cfg);
	if (!cfg->insecure) {
		s->ssl_ctx = mgw_tls_server_ctx(cfg->cert, cfg->key, cfg->client_ca, cfg->keylog,
						errbuf, errlen);
		if (!s->ssl_ctx) {
			rc = MGW_E_TLS;
			goto out;
		}
	}
	s->lev = evconnlistener_new_bind(base, accept_cb, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 LISTEN_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
	if (!s->lev) {
		snprintf(errbuf, errlen, "listen on %s:%d: %s", addr, cfg->port,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		rc = MGW_E_IO;
		goto out;
	}
	evconnlistener_set_error_cb(s->lev, accept_error_cb);
	if (!(s->accept_timer = evtimer_new(base, accept_resume_cb, s)))
		goto out;
	sslen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(errbuf, errlen, "getsockname: %s", strerror(errno));
		rc = MGW_E_IO;
		goto out;
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	LOG_SRV(s, MGW_LOGL_INFO, "listening on %s:%d (%s)", addr, s->port,
		s->insecure ? "plain: h1 + h2c" : "TLS: h2 + http/1.1");
	*out = s;
	s = NULL;
	rc = MGW_OK;
out:
	talloc_free(s);
	return rc;
}

int mgw_http_server_port(const struct mgw_http_server *s)
{
	return s ? s->port : -1;
}

void mgw_http_server_free(struct mgw_http_server *s)
{
	talloc_free(s);
}
