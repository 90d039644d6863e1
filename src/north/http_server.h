/* north: a small HTTPS server for the TS 29.538 APIs -- HTTP/2 (nghttp2) and HTTP/1.1 on
 * one port, on the one libevent loop. Private to src/north (and m5s-sim, which is built
 * from the same north code).
 *
 * One listener accepts TCP; with TLS the handshake negotiates ALPN "h2" or "http/1.1"; on
 * a plain (insecure) listener a connection that starts with the HTTP/2 preface is h2c
 * (prior knowledge), anything else HTTP/1.1. Why not evhttp for the HTTP/1.1 half:
 * libevent 2.1 offers no public way to hand it a connection whose TLS handshake and ALPN
 * we already did (evhttp_get_request is static), so the two protocols could not share a
 * port; HTTP/1.1 is parsed by http1.c (a bounded, fuzzed parser) instead.
 *
 * TLS policy (server and client, tls.c): TLS 1.2 and 1.3 only; TLS 1.2 suites ECDHE with
 * AES-GCM or ChaCha20-Poly1305 only (no CBC, NULL, anonymous, export, RSA key exchange);
 * no renegotiation, no compression, no session tickets without rotation.
 *
 * Requests: the handler is called once per complete request (body read, within max_body).
 * It may answer at once or later (e.g. 204 after the store commit): the request object
 * stays valid until mgw_http_respond() is called, even if the peer went away meanwhile
 * (then the response is dropped). The handler MUST call mgw_http_respond() exactly once.
 */
#ifndef MGW_NORTH_HTTP_SERVER_H
#define MGW_NORTH_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct mgw_http_server;
struct mgw_http_req;

struct mgw_http_server_cfg {
	const char *name;      /* log prefix, e.g. "msgg" or "m5s-sim" */
	const char *addr;      /* "127.0.0.1", "::1", "0.0.0.0" */
	int port;              /* 0: any free port (see mgw_http_server_port) */
	bool insecure;         /* plain TCP (h1 + h2c); else TLS with cert/key */
	const char *cert, *key;
	const char *client_ca; /* if set: client certificate required and verified */
	size_t max_body;       /* larger bodies are answered by the handler with error 413 */
	size_t max_conns;      /* 0: 1024; never above RLIMIT_NOFILE minus a reserve */
	unsigned max_streams;  /* h2 SETTINGS_MAX_CONCURRENT_STREAMS; 0: 128 */
	/* abuse limits (conn_limit.h, doc/internals/north.md); 0 means the default given */
	size_t max_per_source; /* connections from one address; 0: 256 */
	size_t max_output;     /* bytes queued to a peer before its input is not read; 256 KiB */
	unsigned handshake_ms; /* TLS handshake, from accept; 10 s */
	unsigned header_ms;    /* h1: first byte of a request to the end of its head; 10 s */
	unsigned body_ms;      /* h1: end of the head to the end of the body; 30 s */
	unsigned idle_ms;      /* no request under way (h1 keep-alive, h2 without one); 60 s */
	unsigned send_ms;      /* output queued and the peer reads none of it; 30 s */
	const char *keylog;    /* lab only: NSS key log file, or NULL */
};

/* A failed connection attempt (TLS handshake refused: wrong version, no shared cipher,
 * bad or missing client certificate), for the audit log. Not reported: handshakes the peer
 * left without an alert or that passed handshake_ms (counted in the server's summary line:
 * an attack makes thousands). */
struct mgw_http_conn_event {
	const char *peer;   /* "127.0.0.1:40000" */
	const char *reason; /* one line, from OpenSSL's error queue, no secrets */
};

typedef void (*mgw_http_handler)(void *arg, struct mgw_http_req *req);
typedef void (*mgw_http_conn_cb)(void *arg, const struct mgw_http_conn_event *ev);

/* Listen and serve on base. errbuf gets a one-line reason on failure (bind, cert, key).
 * conn_cb may be NULL. */
int mgw_http_server_start(void *ctx, struct event_base *base, const struct mgw_http_server_cfg *cfg,
			  mgw_http_handler handler, mgw_http_conn_cb conn_cb, void *arg,
			  struct mgw_http_server **out, char *errbuf, size_t errlen);
int mgw_http_server_port(const struct mgw_http_server *s);
/* Stop listening and close every connection; pending requests stay valid until answered.
 * NULL is a no-op. Not from inside the handler or conn_cb (free it from another event). */
void mgw_http_server_free(struct mgw_http_server *s);

/* ---- the request ---- */
const char *mgw_http_req_method(const struct mgw_http_req *r); /* "POST" */
const char *mgw_http_req_path(const struct mgw_http_req *r);   /* without query */
/* Header value by name (case-insensitive), or NULL. */
const char *mgw_http_req_header(const struct mgw_http_req *r, const char *name);
/* how many times the request carries header NAME (case-insensitive) */
unsigned mgw_http_req_header_count(const struct mgw_http_req *r, const char *name);
const uint8_t *mgw_http_req_body(const struct mgw_http_req *r, size_t *len);
const char *mgw_http_req_peer(const struct mgw_http_req *r);  /* "ip:port" */
const char *mgw_http_req_proto(const struct mgw_http_req *r); /* "h2", "h2c", "http/1.1" */
/* Set by the server before calling the handler when the request could not be read
 * whole: 413 (body over max_body), 411 (h1 POST without length), 400 (malformed h1);
 * 0 otherwise. The handler answers such a request with that status and a ProblemDetails. */
int mgw_http_req_error(const struct mgw_http_req *r);
/* The verified TLS client certificate: subject CN and "sha256:<hex>" of its DER, or NULL
 * when there is none (plain, or no client_ca configured). */
const char *mgw_http_req_client_cn(const struct mgw_http_req *r);
const char *mgw_http_req_client_fp(const struct mgw_http_req *r);

/* Answer and release the request. body may be NULL (len 0). Extra header: name/value or
 * NULLs (e.g. "Retry-After", "5"). */
void mgw_http_respond(struct mgw_http_req *r, int status, const char *content_type,
		      const void *body, size_t len, const char *hdr_name, const char *hdr_value);

#endif
