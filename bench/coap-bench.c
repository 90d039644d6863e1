/* coap-bench: CoAP/DTLS load generator for the gateway's CoAP adapter (and, for comparison,
 * any CoAP server with a resource that takes POST), on libcoap 3 (4.3.1, OpenSSL).
 *
 * Not a test: it prints figures. S devices = S DTLS 1.2 PSK client sessions in one
 * coap_context_t, driven by coap_io_process() in one thread. Each device POSTs the
 * device-side JSON body (Content-Format 50) to coaps://HOST:PORT/PATH; a 2.xx response
 * counts as ok, anything else (4.xx, 5.03, RST, retransmissions exhausted, the DTLS session
 * failing, no answer within --req-timeout) as failed, counted by code.
 *
 * The run:
 * 1. handshakes: the sessions are opened (libcoap starts the DTLS handshake when a client
 *    session is created), at most --hs-window of them handshaking at a time (libcoap's own
 *    server ignores ClientHellos beyond 100 sessions in handshake, the gateway has a
 *    handshake rate); "handshakes S in T s" is this phase;
 * 2. load (default): --messages N requests, at most --window W outstanding per session,
 *    given to whichever session has room. The latency of a request is from coap_send() to
 *    its final response (piggybacked in the ACK, or a separate CON response after an empty
 *    ACK: libcoap ACKs that one for us when the response handler returns OK);
 *    msgs/s = ok responses / (first send to last response received): a request that times
 *    out does not stretch the figure (it is counted as failed, "timeout"), though it holds
 *    its window slot until --req-timeout;
 *    or idle (--idle SECONDS): one request per session, then "S sessions established" and
 *    SECONDS of silence while a driver measures the server.
 *
 * Window and NSTART: libcoap 4.3.1 holds back a CON while the session has NSTART (default
 * 1, RFC 7252 4.7) CONs unacknowledged (coap_send_pdu -> coap_session_delay_pdu), so with
 * W > 1 and NSTART 1 the extra requests would wait in libcoap's delay queue (against a
 * server that answers with an empty ACK first, they would still overlap at the server).
 * We set NSTART = W on each session (coap_session_set_nstart) so W CON requests, each with
 * its own token, really are in flight at once; W = 1 is the RFC's default behaviour.
 *
 * What libcoap 4.3.1 tells us (src/net.c, src/coap_session.c, src/coap_openssl.c):
 * - a fatal DTLS alert: event COAP_EVENT_DTLS_ERROR, then coap_session_disconnected(
 *   COAP_NACK_TLS_FAILED): the nack handler for each CON still queued or in flight;
 * - a handshake nobody answers: coap_dtls_handle_timeout() gives up after MAX_RETRANSMIT
 *   DTLS timeouts with coap_session_disconnected(COAP_NACK_TLS_FAILED) and NO event, so the
 *   session state (coap_session_get_state() == NONE) is polled as well;
 * - a CON never acknowledged: nack COAP_NACK_TOO_MANY_RETRIES (~45-93 s); RST: COAP_NACK_RST;
 *   a separate response that never comes: libcoap has no timer for it: --req-timeout;
 * - coap_io_process() returns the milliseconds it spent, -1 on an unexpected error.
 * Client sessions per context: no limit in libcoap (a hash list), but each DTLS client
 * session has its own connected UDP socket: RLIMIT_NOFILE is raised to its hard limit.
 *
 * Exit: 0 all ok, 1 some failed or timed out, 2 usage or setup error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <coap3/coap.h>

#define SESSIONS_MAX 100000L
#define MESSAGES_MAX 100000000L
#define WINDOW_MAX 1000L
#define PAYLOAD_MAX 900L
#define PATH_SEGS_MAX 8
/* request states */
#define REQ_FREE 0
#define REQ_SENT 1
#define REQ_DONE 2
/* failure kinds beside response codes (index into fail_other[]) */
enum fail_kind { FAIL_DTLS, FAIL_TIMEOUT, FAIL_RST, FAIL_RETRIES, FAIL_SEND, FAIL_OTHER, FAIL_N };
static const char *const fail_names[FAIL_N] = {
	"dtls", "timeout", "rst", "no-ack", "send", "nack",
};

enum sess_state { S_NEW, S_HANDSHAKE, S_UP, S_DEAD };

struct sess {
	coap_session_t *s;
	enum sess_state st;
	unsigned idx;
	unsigned outstanding; /* requests sent, no final answer yet */
	unsigned sent; /* requests sent on this session */
	bool queued; /* in the ready queue */
	double t_open;
	char id[64], key[64];
};

struct req {
	double t0;
	uint32_t sess;
	uint8_t state;
};

struct bench {
	/* options */
	const char *host, *port, *path, *psk_id, *psk;
	long sessions, messages, window, payload_size, hs_window;
	double idle, timeout, req_timeout, hs_timeout;
	int verbose;
	/* run */
	coap_context_t *ctx;
	coap_address_t dst;
	struct sess *ss;
	struct req *rq; /* one per request, indexed by the token */
	long nreq; /* capacity of rq */
	long next; /* next request index to send */
	long limit; /* requests of this phase: [0, limit) */
	long oldest; /* every request below it is done */
	unsigned per_sess_max; /* 0 unlimited; 1 in idle mode */
	/* the ready queue: sessions that may have room for another request */
	unsigned *ready;
	unsigned rhead, rlen;
	/* handshakes */
	long hs_open, hs_busy, hs_ok, hs_fail;
	double hs_t0, hs_last;
	/* results */
	long sent, ok, failed, done;
	double t_load, t_last_resp; /* the load began; the last response came */
	long codes[256]; /* failed responses by code byte (class << 5 | detail) */
	long fail_other[FAIL_N];
	uint32_t *lat_us; /* latencies of ok requests */
	long nlat;
	char segs[PATH_SEGS_MAX][64];
	int nsegs;
	char *body_tail; /* the body after the msgId */
	char prefix[48];
};

static struct bench B;

/* the device-side body up to its msgId (make_body has the rest) */
static const char body_head[] = "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"msgId\":\"";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coap-bench --port PORT [options]\n"
		"  --host HOST         server address (127.0.0.1)\n"
		"  --port PORT         its DTLS port\n"
		"  --sessions S        concurrent DTLS sessions = devices (1); identities\n"
		"                      bench-1..bench-S with PSKs key-1..key-S\n"
		"  --psk-id ID --psk KEY  one identity for every session instead\n"
		"  --messages N        requests in total (1000)\n"
		"  --window W          outstanding requests per session (1; NSTART is set to W)\n"
		"  --path PATH         resource (msg)\n"
		"  --payload-size B    characters of the message's payload text (40, at most %ld)\n"
		"  --idle SECONDS      one request per session, then idle that long (memory runs)\n"
		"  --hs-window H       sessions handshaking at once (50)\n"
		"  --hs-timeout SEC    one handshake, at most (10)\n"
		"  --timeout SECONDS   the whole run, at most (120)\n"
		"  --req-timeout SEC   one request, at most (30)\n"
		"  --verbose           libcoap warnings (twice: debug)\n",
		PAYLOAD_MAX);
}

/* --- requests --- */

static void queue_ready(struct sess *se)
{
	if (se->queued || se->st != S_UP)
		return;
	se->queued = true;
	B.ready[(B.rhead + B.rlen) % B.sessions] = se->idx;
	B.rlen++;
}

static void fail_req(long i, enum fail_kind k)
{
	struct req *r = &B.rq[i];
	struct sess *se = &B.ss[r->sess];

	if (r->state != REQ_SENT)
		return;
	r->state = REQ_DONE;
	B.failed++;
	B.done++;
	B.fail_other[k]++;
	if (B.verbose)
		fprintf(stderr, "coap-bench: %s: request %ld (msgId %s%ld) failed: %s after %.3f s\n",
			se->id, i, B.prefix, i, fail_names[k], now_s() - r->t0);
	se->outstanding--;
	queue_ready(se);
}

/* the final answer to request i */
static void finish_req(long i, coap_pdu_code_t code)
{
	struct req *r = &B.rq[i];
	struct sess *se = &B.ss[r->sess];

	r->state = REQ_DONE;
	B.done++;
	B.t_last_resp = now_s();
	if (COAP_RESPONSE_CLASS(code) == 2) {
		double us = (now_s() - r->t0) * 1e6;

		B.ok++;
		B.lat_us[B.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	} else {
		B.failed++;
		B.codes[code & 0xff]++;
	}
	se->outstanding--;
	queue_ready(se);
}

/* request index from a token we made (4 bytes, big endian), -1 if not ours */
static long token_req(coap_bin_const_t tok)
{
	uint32_t v;

	if (tok.length != 4)
		return -1;
	v = (uint32_t)tok.s[0] << 24 | (uint32_t)tok.s[1] << 16 | (uint32_t)tok.s[2] << 8 | tok.s[3];
	return v < (uint32_t)B.nreq ? (long)v : -1;
}

static int send_req(struct sess *se, long i)
{
	coap_pdu_t *pdu;
	uint8_t tok[4], cf[4];
	char *body;
	int n;
	size_t blen;

	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, coap_new_message_id(se->s),
			    coap_session_max_pdu_size(se->s));
	if (!pdu)
		return -1;
	tok[0] = (uint8_t)(i >> 24);
	tok[1] = (uint8_t)(i >> 16);
	tok[2] = (uint8_t)(i >> 8);
	tok[3] = (uint8_t)i;
	if (!coap_add_token(pdu, sizeof(tok), tok))
		goto err;
	for (int k = 0; k < B.nsegs; k++)
		if (!coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(B.segs[k]), (const uint8_t *)B.segs[k]))
			goto err;
	if (!coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
			     coap_encode_var_safe(cf, sizeof(cf), COAP_MEDIATYPE_APPLICATION_JSON), cf))
		goto err;
	/* the body, with this request's msgId */
	blen = sizeof(body_head) + sizeof(B.prefix) + 24 + strlen(B.body_tail);
	if (!(body = malloc(blen)))
		goto err;
	n = snprintf(body, blen, "%s%s%ld%s", body_head, B.prefix, i, B.body_tail);
	if (n < 0 || (size_t)n >= blen || !coap_add_data(pdu, (size_t)n, (const uint8_t *)body)) {
		free(body);
		goto err;
	}
	free(body);
	B.rq[i].sess = se->idx;
	B.rq[i].state = REQ_SENT;
	B.rq[i].t0 = now_s();
	se->outstanding++;
	se->sent++;
	B.sent++;
	if (coap_send(se->s, pdu) == COAP_INVALID_MID) { /* pdu is freed by coap_send */
		fail_req(i, FAIL_SEND);
		return 0;
	}
	return 0;
err:
	coap_delete_pdu(pdu);
	return -1;
}

/* give sessions in the ready queue requests up to their window */
static int refill(void)
{
	while (B.rlen > 0 && B.next < B.limit) {
		struct sess *se = &B.ss[B.ready[B.rhead]];

		if (se->st == S_UP && se->outstanding < (unsigned)B.window &&
		    (!B.per_sess_max || se->sent < B.per_sess_max)) {
			if (send_req(se, B.next) < 0) {
				fprintf(stderr, "coap-bench: cannot build a request (--payload-size too big?)\n");
				return -1;
			}
			B.next++;
			continue; /* the same session again until its window is full */
		}
		se->queued = false;
		B.rhead = (B.rhead + 1) % B.sessions;
		B.rlen--;
	}
	return 0;
}

/* requests older than --req-timeout fail; requests are sent in index order so the oldest
 * outstanding is found from a moving lower bound */
static void expire_reqs(double t)
{
	while (B.oldest < B.next) {
		struct req *r = &B.rq[B.oldest];

		if (r->state == REQ_SENT) {
			if (t - r->t0 < B.req_timeout)
				break;
			fail_req(B.oldest, FAIL_TIMEOUT);
		}
		B.oldest++;
	}
}

/* a session is gone: its outstanding requests fail, it takes no more */
static void sess_dead(struct sess *se, enum fail_kind k)
{
	if (se->st == S_HANDSHAKE) {
		B.hs_busy--;
		B.hs_fail++;
	}
	se->st = S_DEAD;
	if (!se->outstanding)
		return;
	for (long i = B.oldest; i < B.next; i++)
		if (B.rq[i].state == REQ_SENT && B.rq[i].sess == se->idx)
			fail_req(i, k);
}

/* --- libcoap handlers --- */

static coap_response_t response_handler(coap_session_t *session, const coap_pdu_t *sent,
					const coap_pdu_t *received, const coap_mid_t mid)
{
	struct sess *se = coap_session_get_app_data(session);
	long i = token_req(coap_pdu_get_token(received));
	coap_pdu_code_t code = coap_pdu_get_code(received);

	if (!se || i < 0 || B.rq[i].state != REQ_SENT || B.rq[i].sess != se->idx)
		return COAP_RESPONSE_OK; /* late (timed out) or repeated: ACK it all the same */
	if (code == COAP_EMPTY_CODE)
		return COAP_RESPONSE_OK;
	if (B.verbose && COAP_RESPONSE_CLASS(code) != 2) {
		size_t len;
		const uint8_t *data;

		if (coap_get_data(received, &len, &data))
			fprintf(stderr, "coap-bench: %s: %d.%02d %.*s\n", se->id, COAP_RESPONSE_CLASS(code),
				code & 0x1f, (int)len, (const char *)data);
	}
	finish_req(i, code);
	return COAP_RESPONSE_OK;
}

static void nack_handler(coap_session_t *session, const coap_pdu_t *sent,
			 const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct sess *se = coap_session_get_app_data(session);
	long i;

	if (!se || !sent)
		return;
	i = token_req(coap_pdu_get_token(sent));
	if (i < 0 || B.rq[i].sess != se->idx)
		return;
	switch (reason) {
	case COAP_NACK_TLS_FAILED:
		fail_req(i, FAIL_DTLS);
		break;
	case COAP_NACK_RST:
		fail_req(i, FAIL_RST);
		break;
	case COAP_NACK_TOO_MANY_RETRIES:
		fail_req(i, FAIL_RETRIES);
		break;
	default:
		fail_req(i, FAIL_OTHER);
		break;
	}
}

static int event_handler(coap_session_t *session, const coap_event_t event)
{
	struct sess *se = coap_session_get_app_data(session);

	if (!se)
		return 0;
	switch (event) {
	case COAP_EVENT_DTLS_CONNECTED:
		if (se->st == S_HANDSHAKE) {
			se->st = S_UP;
			B.hs_busy--;
			B.hs_ok++;
			B.hs_last = now_s();
			queue_ready(se);
		}
		break;
	case COAP_EVENT_DTLS_ERROR:
	case COAP_EVENT_DTLS_CLOSED:
		if (se->st == S_HANDSHAKE || se->st == S_UP)
			sess_dead(se, FAIL_DTLS);
		break;
	default:
		break;
	}
	return 0;
}

/* --- setup --- */

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

static int split_path(const char *path)
{
	const char *p = path;

	while (*p == '/')
		p++;
	B.nsegs = 0;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (B.nsegs == PATH_SEGS_MAX || n >= sizeof(B.segs[0]))
			return -1;
		memcpy(B.segs[B.nsegs], p, n);
		B.segs[B.nsegs++][n] = '\0';
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* the rest of the device-side body after the msgId: ","payload":"<B characters>"} */
static int make_body(void)
{
	static const char mid[] = "\",\"payload\":\"";
	static const char tail[] = "\"}";
	size_t n = sizeof(mid) - 1 + (size_t)B.payload_size + sizeof(tail);

	if (!(B.body_tail = malloc(n)))
		return -1;
	memcpy(B.body_tail, mid, sizeof(mid) - 1);
	for (long k = 0; k < B.payload_size; k++)
		B.body_tail[sizeof(mid) - 1 + k] = "benchmark payload "[k % 18];
	memcpy(B.body_tail + sizeof(mid) - 1 + B.payload_size, tail, sizeof(tail));
	return 0;
}

static int resolve(void)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(B.host, B.port, &hints, &res)) != 0) {
		fprintf(stderr, "coap-bench: %s:%s: %s\n", B.host, B.port, gai_strerror(rc));
		return -1;
	}
	coap_address_init(&B.dst);
	B.dst.size = res->ai_addrlen;
	memcpy(&B.dst.addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* each DTLS client session holds a socket: allow as many as the hard limit */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)B.sessions + 32 > rl.rlim_cur)
		fprintf(stderr, "coap-bench: warning: %ld sessions need as many sockets, the limit is %llu\n",
			B.sessions, (unsigned long long)rl.rlim_cur);
}

static int open_session(struct sess *se)
{
	coap_dtls_cpsk_t cpsk;

	if (B.psk_id) {
		snprintf(se->id, sizeof(se->id), "%s", B.psk_id);
		snprintf(se->key, sizeof(se->key), "%s", B.psk);
	} else {
		snprintf(se->id, sizeof(se->id), "bench-%u", se->idx + 1);
		snprintf(se->key, sizeof(se->key), "key-%u", se->idx + 1);
	}
	memset(&cpsk, 0, sizeof(cpsk));
	cpsk.version = COAP_DTLS_CPSK_SETUP_VERSION;
	cpsk.psk_info.identity.s = (const uint8_t *)se->id;
	cpsk.psk_info.identity.length = strlen(se->id);
	cpsk.psk_info.key.s = (const uint8_t *)se->key;
	cpsk.psk_info.key.length = strlen(se->key);
	se->t_open = now_s();
	se->st = S_HANDSHAKE;
	B.hs_busy++;
	B.hs_open++;
	/* creating a DTLS client session starts its handshake (coap_session_connect) */
	se->s = coap_new_client_session_psk2(B.ctx, NULL, &B.dst, COAP_PROTO_DTLS, &cpsk);
	if (!se->s) {
		sess_dead(se, FAIL_DTLS);
		return -1;
	}
	coap_session_set_app_data(se->s, se);
	coap_session_set_nstart(se->s, (uint16_t)B.window);
	return 0;
}

/* one turn of the loop; -1 when coap_io_process failed */
static int turn(uint32_t wait_ms)
{
	if (coap_io_process(B.ctx, wait_ms) < 0) {
		fprintf(stderr, "coap-bench: coap_io_process failed\n");
		return -1;
	}
	return 0;
}

/* phase 1: open every session, at most --hs-window handshaking at once. A handshake that
 * times out inside libcoap leaves the session in state NONE with only a DTLS_CLOSED event;
 * one whose Finished the server silently drops (wrong PSK) is retried by both sides for
 * minutes (the server's retransmissions reset libcoap's count): --hs-timeout ends it. */
static int handshakes(double deadline)
{
	double t = now_s(), last_poll = 0;

	B.hs_t0 = t;
	B.hs_last = t;
	while (B.hs_open < B.sessions || B.hs_busy > 0) {
		while (B.hs_open < B.sessions && B.hs_busy < B.hs_window)
			open_session(&B.ss[B.hs_open]);
		if (turn(50) < 0)
			return -1;
		t = now_s();
		if (t - last_poll > 0.2) {
			last_poll = t;
			for (long k = 0; k < B.hs_open; k++) {
				struct sess *se = &B.ss[k];

				if (se->st != S_HANDSHAKE)
					continue;
				if (coap_session_get_state(se->s) == COAP_SESSION_STATE_NONE) {
					sess_dead(se, FAIL_DTLS);
				} else if (t - se->t_open > B.hs_timeout || t > deadline) {
					/* dead first: releasing it reports DTLS_CLOSED */
					sess_dead(se, FAIL_DTLS);
					coap_session_release(se->s);
					se->s = NULL;
				}
			}
		}
		if (t > deadline && B.hs_open < B.sessions) {
			/* the rest is never opened: they count as failed handshakes */
			B.hs_fail += B.sessions - B.hs_open;
			B.hs_open = B.sessions;
		}
	}
	return 0;
}

/* phase 2: requests [next, limit) */
static int load(double deadline)
{
	double t;

	while (B.done < B.next || B.next < B.limit) {
		if (refill() < 0)
			return -1;
		if (B.rlen == 0 && B.done == B.next)
			break; /* nobody can send: every session is dead */
		if (turn(B.done < B.next ? 100 : COAP_IO_NO_WAIT) < 0)
			return -1;
		t = now_s();
		expire_reqs(t);
		if (t > deadline) {
			for (long i = B.oldest; i < B.next; i++)
				fail_req(i, FAIL_TIMEOUT);
			B.limit = B.next;
			break;
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
	long k;

	if (!B.nlat)
		return 0;
	k = (long)(p * (B.nlat - 1) + 0.5);
	return B.lat_us[k] / 1000.0;
}

static void print_result(double secs)
{
	char codes[512] = "";
	size_t n = 0;

	qsort(B.lat_us, (size_t)B.nlat, sizeof(B.lat_us[0]), cmp_u32);
	for (int c = 0; c < 256; c++)
		if (B.codes[c] && n < sizeof(codes))
			n += (size_t)snprintf(codes + n, sizeof(codes) - n, "%s%d.%02d: %ld", n ? ", " : "",
					      c >> 5, c & 0x1f, B.codes[c]);
	for (int k = 0; k < FAIL_N; k++)
		if (B.fail_other[k] && n < sizeof(codes))
			n += (size_t)snprintf(codes + n, sizeof(codes) - n, "%s%s: %ld", n ? ", " : "",
					      fail_names[k], B.fail_other[k]);
	printf("coap-bench: %ld sent, %ld ok, %ld failed (%s), %.0f msgs/s, p50 %.2f ms, p99 %.2f ms, "
	       "handshakes %ld in %.2f s",
	       B.sent, B.ok, B.failed, n ? codes : "none", secs > 0 ? B.ok / secs : 0.0, pct_ms(0.50),
	       pct_ms(0.99), B.hs_ok, B.hs_last - B.hs_t0);
	if (B.hs_fail)
		printf(" (%ld failed)", B.hs_fail);
	printf("\n");
	fflush(stdout);
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "sessions", required_argument, NULL, 's' },
		{ "psk-id", required_argument, NULL, 'i' },
		{ "psk", required_argument, NULL, 'k' },
		{ "messages", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "path", required_argument, NULL, 'P' },
		{ "payload-size", required_argument, NULL, 'b' },
		{ "idle", required_argument, NULL, 'I' },
		{ "hs-window", required_argument, NULL, 'h' },
		{ "hs-timeout", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "req-timeout", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	B.host = "127.0.0.1";
	B.path = "msg";
	B.sessions = 1;
	B.messages = 1000;
	B.window = 1;
	B.payload_size = 40;
	B.hs_window = 50;
	B.idle = -1;
	B.timeout = 120;
	B.req_timeout = 30;
	B.hs_timeout = 10;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'H': B.host = optarg; break;
		case 'p': B.port = optarg; break;
		case 'i': B.psk_id = optarg; break;
		case 'k': B.psk = optarg; break;
		case 'P': B.path = optarg; break;
		case 'v': B.verbose++; break;
		case 's':
			if (parse_long(optarg, 1, SESSIONS_MAX, &B.sessions) < 0)
				goto bad;
			break;
		case 'n':
			if (parse_long(optarg, 1, MESSAGES_MAX, &B.messages) < 0)
				goto bad;
			break;
		case 'w':
			if (parse_long(optarg, 1, WINDOW_MAX, &B.window) < 0)
				goto bad;
			break;
		case 'b':
			if (parse_long(optarg, 0, PAYLOAD_MAX, &B.payload_size) < 0)
				goto bad;
			break;
		case 'h':
			if (parse_long(optarg, 1, SESSIONS_MAX, &B.hs_window) < 0)
				goto bad;
			break;
		case 'I':
			if (parse_secs(optarg, &B.idle) < 0)
				goto bad;
			break;
		case 't':
			if (parse_secs(optarg, &B.timeout) < 0 || B.timeout == 0)
				goto bad;
			break;
		case 'r':
			if (parse_secs(optarg, &B.req_timeout) < 0 || B.req_timeout == 0)
				goto bad;
			break;
		case 'T':
			if (parse_secs(optarg, &B.hs_timeout) < 0 || B.hs_timeout == 0)
				goto bad;
			break;
		case 'X':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !B.port) {
		usage(stderr);
		return -1;
	}
	if (!B.psk_id != !B.psk) {
		fprintf(stderr, "coap-bench: --psk-id and --psk go together\n");
		return -1;
	}
	if (B.psk_id && (strlen(B.psk_id) >= sizeof(B.ss[0].id) || strlen(B.psk) >= sizeof(B.ss[0].key))) {
		fprintf(stderr, "coap-bench: --psk-id or --psk too long\n");
		return -1;
	}
	if (split_path(B.path) < 0 || B.nsegs == 0) {
		fprintf(stderr, "coap-bench: bad --path '%s'\n", B.path);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "coap-bench: bad value '%s'\n", optarg);
	return -1;
}

int main(int argc, char **argv)
{
	double t0, deadline;
	int rc, pa;

	if ((pa = parse_args(argc, argv)) != 0)
		return pa > 0 ? 0 : 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_nofile();
	coap_startup();
	/* quiet by default: a refused handshake is a libcoap warning, and there may be many */
	coap_set_log_level(B.verbose > 1 ? LOG_DEBUG : B.verbose ? LOG_WARNING : LOG_ERR);
	coap_dtls_set_log_level(B.verbose > 1 ? LOG_DEBUG : B.verbose ? LOG_WARNING : LOG_ERR);
	if (!coap_dtls_is_supported()) {
		fprintf(stderr, "coap-bench: this libcoap has no DTLS\n");
		return 2;
	}
	B.nreq = B.idle >= 0 ? B.sessions : B.messages;
	B.ss = calloc((size_t)B.sessions, sizeof(*B.ss));
	B.ready = calloc((size_t)B.sessions, sizeof(*B.ready));
	B.rq = calloc((size_t)B.nreq, sizeof(*B.rq));
	B.lat_us = calloc((size_t)B.nreq, sizeof(*B.lat_us));
	if (!B.ss || !B.ready || !B.rq || !B.lat_us || make_body() < 0 || resolve() < 0) {
		fprintf(stderr, "coap-bench: setup failed\n");
		return 2;
	}
	snprintf(B.prefix, sizeof(B.prefix), "cb%ld-%ld-", (long)getpid(), (long)time(NULL));
	for (long k = 0; k < B.sessions; k++)
		B.ss[k].idx = (unsigned)k;
	if (!(B.ctx = coap_new_context(NULL))) {
		fprintf(stderr, "coap-bench: coap_new_context failed\n");
		return 2;
	}
	coap_register_response_handler(B.ctx, response_handler);
	coap_register_nack_handler(B.ctx, nack_handler);
	coap_register_event_handler(B.ctx, event_handler);

	t0 = now_s();
	deadline = t0 + B.timeout;
	rc = handshakes(deadline);
	if (rc == 0) {
		/* ready queue: the sessions that are up, in order */
		B.rhead = B.rlen = 0;
		for (long k = 0; k < B.sessions; k++) {
			B.ss[k].queued = false;
			queue_ready(&B.ss[k]);
		}
		B.limit = B.nreq;
		B.per_sess_max = B.idle >= 0 ? 1 : 0;
		B.t_load = B.t_last_resp = now_s();
		rc = load(deadline);
		print_result(B.t_last_resp - B.t_load);
	}
	if (rc == 0 && B.idle >= 0) {
		long up = 0;
		double end;

		for (long k = 0; k < B.sessions; k++)
			up += B.ss[k].st == S_UP;
		printf("coap-bench: %ld sessions established\n", up);
		fflush(stdout);
		end = now_s() + B.idle;
		while (rc == 0 && now_s() < end)
			rc = turn(200);
		up = 0;
		for (long k = 0; k < B.sessions; k++)
			up += B.ss[k].st == S_UP && B.ss[k].s &&
			      coap_session_get_state(B.ss[k].s) == COAP_SESSION_STATE_ESTABLISHED;
		printf("coap-bench: idle %.0f s over, %ld sessions still up\n", B.idle, up);
	}
	for (long k = 0; k < B.sessions; k++)
		if (B.ss[k].s)
			coap_session_release(B.ss[k].s);
	coap_free_context(B.ctx);
	coap_cleanup();
	free(B.ss);
	free(B.ready);
	free(B.rq);
	free(B.lat_us);
	free(B.body_tail);
	if (rc < 0)
		return 2;
	return B.failed || B.hs_fail || B.ok < B.nreq ? 1 : 0;
}
