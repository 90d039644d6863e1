/* CoAP adapter: the gate in front of libcoap's DTLS listeners (doc/internals/coap.md,
 * "Handshake floods").
 *
 * libcoap 4.3.1 makes a "hello" session (a coap_session_t) for every ClientHello from a new
 * address, before any cookie exchange, keeps it until a later new peer finds it older than
 * 30 s, and ignores every new address while more than max_handshake_sessions exist: ~1,000
 * spoofed ClientHellos lock every new device out for 30 s. So before libcoap reads a
 * listener's socket (coap_io_do_epoll() with its event), the gate peeks at the datagram at
 * the head of its queue:
 *  - nothing libcoap would make a session for, or a ClientHello from a peer already past
 *    the gate: libcoap reads it;
 *  - a ClientHello without a valid cookie of ours: answered here with a HelloVerifyRequest
 *    carrying a stateless cookie (HMAC-SHA256 of the source address under a secret that
 *    rotates every 30 s), consumed, nothing kept; at most coap.hello_rate a second, beyond
 *    that dropped and counted;
 *  - a ClientHello with our valid cookie (its source receives at its address): admitted as
 *    half-open within coap.max_half_open and coap.max_half_open_per_ip, and libcoap reads it
 *    (its cookie exchange runs on the gate's cookie callbacks); else consumed, counted and
 *    audited. A half-open handshake not done after coap.handshake_timeout is freed.
 * The head of a UDP socket's queue stays put until it is read, and libcoap reads one datagram
 * per listener event, so libcoap reads exactly what the gate let through.
 */
#define _GNU_SOURCE /* struct in6_pktinfo (RFC 3542) */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>

#include "coap_dtls.h"
#include "coap_int.h"

#define GATE_MAX_FDS 16
#define GATE_BUDGET 1024             /* datagrams judged per call, then the loop breathes */
#define COOKIE_LEN 16
#define SECRET_ROTATE_MS 30000       /* a cookie is good for 30..60 s */
#define FLOOD_HELLOS_PER_S 100       /* cookie-less hellos in a second that make an episode */
#define FLOOD_QUIET_MS 10000         /* an episode ends after this long without signs */


struct gate_peer {
	int64_t t_ms;
	int ifindex; /* where it came in (libcoap keys its sessions by it too) */
	uint16_t port;
	uint8_t fam;
	uint8_t addr[16];
};

struct coap_gate {
	int fds[GATE_MAX_FDS];
	size_t n_fds;
	struct gate_peer *half; /* peers past the cookie, handshake not yet done */
	size_t n_half, max_half;
	uint8_t secret[2][32];  /* [0] current, [1] previous */
	int64_t secret_ms;
	int64_t sec_ms;         /* the current one-second window */
	uint64_t hellos_in_sec; /* cookie-less hellos in it (answered or not) */
	/* the flood episode: one audit record at its start, one log line at its end */
	bool flood;
	int64_t flood_start_ms, flood_last_ms;
	uint64_t ep_verify, ep_shed, ep_refused;
	struct mgw_log_rl rl_refused; /* the HALF_OPEN lines (audit records: 20/s) */
	/* the datagrams at the heads of the listeners' queues that libcoap reads next */
	struct gate_peer passing[GATE_MAX_FDS];
	bool passing_set[GATE_MAX_FDS];
	size_t last_passing;
};

/* OpenSSL's cookie callbacks take no argument: the running gate (one adapter per process) */
static struct coap_gate *cookie_gate;

struct dgram {
	uint8_t b[1536];
	size_t n;
	struct sockaddr_storage src;
	socklen_t srclen;
	int ifindex;
	struct gate_peer peer;
};

/* ---- peers ---- */

static bool peer_of_addr(const struct sockaddr_storage *ss, struct gate_peer *p)
{
	memset(p, 0, sizeof(*p));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		p->fam = 4;
		p->port = a->sin_port;
		memcpy(p->addr, &a->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		p->fam = 6;
		p->port = a->sin6_port;
		memcpy(p->addr, &a->sin6_addr, 16);
	} else {
		return false;
	}
	return true;
}

static void peer_str(const struct gate_peer *p, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->fam == 4 ? AF_INET : AF_INET6, p->addr, ip, sizeof(ip));
	snprintf(out, len, p->fam == 4 ? "%s:%u" : "[%s]:%u", ip, (unsigned)ntohs(p->port));
}

static bool same_ip(const struct gate_peer *a, const struct gate_peer *b)
{
	return a->fam == b->fam && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static struct gate_peer *half_find(struct coap_gate *g, const struct gate_peer *p)
{
	for (size_t i = 0; i < g->n_half; i++)
		if (g->half[i].port == p->port && same_ip(&g->half[i], p))
			return &g->half[i];
	return NULL;
}

static void half_drop(struct coap_gate *g, size_t i)
{
	g->half[i] = g->half[--g->n_half];
}

/* A handshake past the cookie not done after coap.handshake_timeout: libcoap would keep
 * its session until OpenSSL gives up retransmitting (minutes), counted against its
 * max_handshake_sessions all along. Free it (and forget the peer). */
static coap_session_t *session_of(struct coap_ad *ad, const struct gate_peer *p)
{
	coap_address_t a;

	coap_address_init(&a);
	if (p->fam == 4) {
		a.addr.sin.sin_family = AF_INET;
		a.addr.sin.sin_port = p->port;
		memcpy(&a.addr.sin.sin_addr, p->addr, 4);
		a.size = sizeof(a.addr.sin);
	} else {
		a.addr.sin6.sin6_family = AF_INET6;
		a.addr.sin6.sin6_port = p->port;
		memcpy(&a.addr.sin6.sin6_addr, p->addr, 16);
		a.size = sizeof(a.addr.sin6);
	}
	return coap_session_get_by_peer(ad->ctx, &a, p->ifindex);
}

static void half_stalled(struct coap_ad *ad, const struct gate_peer *p)
{
	coap_session_t *session = session_of(ad, p);

	if (session && coap_session_get_type(session) == COAP_SESSION_TYPE_SERVER &&
	    coap_session_get_state(session) == COAP_SESSION_STATE_HANDSHAKE) {
		ad->n.half_open_expired++;
		cs_session_drop(ad, session);
	}
}

static void half_expire(struct coap_ad *ad, int64_t now)
{
	struct coap_gate *g = ad->gate;

	for (size_t i = 0; i < g->n_half;)
		if (now - g->half[i].t_ms >= ad->cfg->handshake_timeout_ms) {
			struct gate_peer p = g->half[i];

			half_drop(g, i);
			half_stalled(ad, &p);
		} else {
			i++;
		}
}

/* ---- cookies ---- */

static void secrets_fresh(struct coap_gate *g, int64_t now)
{
	if (g->secret_ms && now - g->secret_ms < SECRET_ROTATE_MS)
		return;
	memcpy(g->secret[1], g->secret[0], sizeof(g->secret[0]));
	if (RAND_bytes(g->secret[0], sizeof(g->secret[0])) != 1)
		LOGP(DCOAP, MGW_LOGL_ERROR, "coap: no randomness for the DTLS cookie secret");
	if (!g->secret_ms)
		memcpy(g->secret[1], g->secret[0], sizeof(g->secret[0]));
	g->secret_ms = now;
}

static void cookie_of(const uint8_t secret[32], const struct gate_peer *p, uint8_t out[COOKIE_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint8_t msg[19];

	msg[0] = p->fam;
	memcpy(msg + 1, &p->port, 2);
	memcpy(msg + 3, p->addr, 16);
	if (!HMAC(EVP_sha256(), secret, 32, msg, sizeof(msg), md, &mdlen) || mdlen < COOKIE_LEN)
		memset(md, 0, COOKIE_LEN); /* then no cookie verifies: hellos are answered only */
	memcpy(out, md, COOKIE_LEN);
}

static bool cookie_ok(struct coap_gate *g, const struct gate_peer *p, const uint8_t *c, size_t n)
{
	uint8_t want[COOKIE_LEN];

	if (n != COOKIE_LEN)
		return false;
	for (int i = 0; i < 2; i++) {
		cookie_of(g->secret[i], p, want);
		if (CRYPTO_memcmp(want, c, COOKIE_LEN) == 0)
			return true;
	}
	return false;
}

/* ---- the DTLS bytes ---- */

/* A HelloVerifyRequest with the gate's cookie to the sender of hello */
static void send_verify(struct coap_gate *g, int fd, const struct dgram *d,
			const struct dtls_hello *hello)
{
	uint8_t cookie[COOKIE_LEN], out[DTLS_VERIFY_LEN(COOKIE_LEN)];
	size_t n;

	cookie_of(g->secret[0], &d->peer, cookie);
	if ((n = dtls_verify_request(hello, cookie, sizeof(cookie), out, sizeof(out))))
		(void)sendto(fd, out, n, MSG_DONTWAIT, (const struct sockaddr *)&d->src,
			     d->srclen);
}

/* ---- the flood episode ---- */

static void flood_sign(struct coap_ad *ad, const struct gate_peer *p, int64_t now)
{
	struct coap_gate *g = ad->gate;
	struct mgw_identity id = { .ingress = MGW_IN_COAP, .kind = MGW_CRED_NONE };
	char detail[160];

	g->flood_last_ms = now;
	if (g->flood)
		return;
	g->flood = true;
	g->flood_start_ms = now;
	g->ep_verify = g->ep_shed = g->ep_refused = 0;
	peer_str(p, id.peer, sizeof(id.peer));
	snprintf(detail, sizeof(detail),
		 "DTLS handshake flood: over %d ClientHellos/s without a cookie, or over a limit "
		 "(answered statelessly; one record per episode)", FLOOD_HELLOS_PER_S);
	LOGP(DCOAP, MGW_LOGL_NOTICE, "coap: DTLS handshake flood started (%s among the senders)",
	     id.peer);
	mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &id, NULL, MGW_E_FULL,
				  "HANDSHAKE_FLOOD", detail);
}

/* cookie-less hellos counted per second: over FLOOD_HELLOS_PER_S is an episode */
static void count_hello(struct coap_ad *ad, const struct gate_peer *p, int64_t now)
{
	struct coap_gate *g = ad->gate;

	if (now - g->sec_ms >= 1000) {
		g->sec_ms = now;
		g->hellos_in_sec = 0;
	}
	if (++g->hellos_in_sec > FLOOD_HELLOS_PER_S)
		flood_sign(ad, p, now);
}

/* ---- verdicts ---- */

/* a ClientHello with our cookie: within the half-open limits? */
static bool admit(struct coap_ad *ad, const struct gate_peer *p, int64_t now)
{
	struct coap_gate *g = ad->gate;
	struct mgw_identity id = { .ingress = MGW_IN_COAP, .kind = MGW_CRED_NONE };
	const char *cause = "coap.max_half_open reached";
	size_t same = 0;

	if (g->n_half >= g->max_half)
		half_expire(ad, now);
	for (size_t i = 0; i < g->n_half; i++)
		same += same_ip(&g->half[i], p);
	if (g->n_half < g->max_half && same < (size_t)ad->cfg->max_half_open_per_ip) {
		g->half[g->n_half] = *p;
		g->half[g->n_half++].t_ms = now;
		return true;
	}
	if (g->n_half < g->max_half)
		cause = "coap.max_half_open_per_ip reached";
	ad->n.half_open_refused++;
	g->ep_refused++;
	flood_sign(ad, p, now);
	if (coap_audit_budget(ad, now)) {
		peer_str(p, id.peer, sizeof(id.peer));
		if (mgw_log_rl_pass(&g->rl_refused, NULL))
			LOGP(DCOAP, MGW_LOGL_NOTICE, "coap(%s): handshake refused: HALF_OPEN (%s)",
			     id.peer, cause);
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &id, NULL, MGW_E_FULL,
					  "HALF_OPEN", cause);
	}
	return false;
}

/* over coap.hello_rate this second? (then it is dropped, counted) */
static bool hello_over_rate(struct coap_ad *ad, const struct gate_peer *p, int64_t now)
{
	struct coap_gate *g = ad->gate;

	count_hello(ad, p, now);
	if (g->hellos_in_sec <= (uint64_t)ad->cfg->hello_rate)
		return false;
	ad->n.hello_shed++;
	g->ep_shed++;
	flood_sign(ad, p, now);
	return true;
}

/* true: libcoap may read this datagram; false: the gate dealt with it (consume it) */
static bool judge(struct coap_ad *ad, int fd, const struct dgram *d, int64_t now)
{
	struct coap_gate *g = ad->gate;
	struct dtls_hello hello;
	enum dtls_hello_kind kind = dtls_hello_parse(d->b, d->n, &hello);

	if (kind == DTLS_NO_HELLO)
		return true; /* libcoap keeps no state for it */
	/* its handshake goes on (retransmissions): timed from its admission, not refreshed */
	if (half_find(g, &d->peer))
		return true;
	if (kind == DTLS_HELLO_ODD) {
		/* fragmented, epoch > 0, truncated: only a running session may get it (a CBC
		 * record of one can look like this); looked up within the hello budget */
		if (hello_over_rate(ad, &d->peer, now))
			return false;
		if (session_of(ad, &d->peer))
			return true;
		ad->n.hello_shed++;
		g->ep_shed++;
		flood_sign(ad, &d->peer, now);
		return false;
	}
	if (hello.cookie_len && cookie_ok(g, &d->peer, hello.cookie, hello.cookie_len))
		return admit(ad, &d->peer, now);
	if (hello_over_rate(ad, &d->peer, now))
		return false;
	send_verify(g, fd, d, &hello);
	ad->n.hello_verify++;
	if (g->flood)
		g->ep_verify++;
	return false;
}

/* the interface a datagram came in on (libcoap asks for IP_PKTINFO on its sockets) */
static int ifindex_of(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return pi.ipi_ifindex;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			return (int)pi.ipi6_ifindex;
		}
	}
	return 0;
}

static bool peek(int fd, struct dgram *d)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl;
	struct iovec iov = { d->b, sizeof(d->b) };
	struct msghdr mh = { 0 };
	ssize_t n;

	mh.msg_name = &d->src;
	mh.msg_namelen = sizeof(d->src);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return false;
	d->n = (size_t)n < sizeof(d->b) ? (size_t)n : sizeof(d->b);
	d->srclen = mh.msg_namelen;
	d->ifindex = ifindex_of(&mh);
	return true;
}

/* Judge fd's queue from its head: true when its head is let through (libcoap reads it next),
 * false when the queue is empty or *budget ran out (libcoap must not read it now). */
static bool judge_queue(struct coap_ad *ad, size_t i, unsigned *budget, int64_t now)
{
	struct coap_gate *g = ad->gate;
	struct dgram d;

	while (*budget) {
		bool ok;

		if (!peek(g->fds[i], &d))
			/* empty; or a socket error, which libcoap's read reports and clears */
			return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
		ok = peer_of_addr(&d.src, &d.peer);
		d.peer.ifindex = d.ifindex;
		if (ok && judge(ad, g->fds[i], &d, now)) {
			g->passing[i] = d.peer;
			g->passing_set[i] = true;
			g->last_passing = i;
			return true;
		}
		(void)recv(g->fds[i], d.b, 1, MSG_DONTWAIT); /* consume it */
		(*budget)--;
	}
	return false;
}

/* The datagram at the head of a UDP socket's queue stays there until it is read: libcoap gets
 * a listener's event only when the gate let that head through, and reads one datagram per
 * event. The listener's coap_socket_t starts with its fd (libcoap 4.3.1 coap_io_internal.h:
 * there is no API from an epoll event to its socket). */
size_t coap_gate_events(struct coap_ad *ad, struct epoll_event *ev, size_t n)
{
	struct coap_gate *g = ad->gate;
	int64_t now = coap_now_ms();
	unsigned budget = GATE_BUDGET;
	size_t kept = 0;

	if (!g)
		return n;
	secrets_fresh(g, now);
	for (size_t i = 0; i < g->n_fds; i++)
		g->passing_set[i] = false;
	for (size_t j = 0; j < n; j++) {
		const int *fdp = ev[j].data.ptr; /* NULL: libcoap's timerfd */
		size_t i = g->n_fds;

		for (size_t k = 0; fdp && k < g->n_fds; k++)
			if (g->fds[k] == *fdp)
				i = k;
		if (i < g->n_fds && !judge_queue(ad, i, &budget, now))
			continue;
		ev[kept++] = ev[j];
	}
	return kept;
}

/* ---- libcoap's cookie exchange uses the gate's cookies ----
 *
 * libcoap runs OpenSSL's DTLSv1_listen() on a ClientHello the gate let through; with
 * libcoap's own cookie it would answer the gate's cookie with a second HelloVerifyRequest,
 * which an OpenSSL client ignores (its message_seq is stale). So libcoap's SSL_CTX gets the
 * gate's cookie callbacks: the peer is the one whose datagram the gate passed last. */

static int cb_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	struct coap_gate *g = cookie_gate;

	(void)ssl;
	if (!g || !g->passing_set[g->last_passing])
		return 0;
	cookie_of(g->secret[0], &g->passing[g->last_passing], cookie);
	*len = COOKIE_LEN;
	return 1;
}

static int cb_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	struct coap_gate *g = cookie_gate;

	(void)ssl;
	for (size_t i = 0; g && i < g->n_fds; i++)
		if (g->passing_set[i] && cookie_ok(g, &g->passing[i], cookie, len))
			return 1;
	return 0;
}

/* libcoap 4.3.1 (OpenSSL) keeps one SSL_CTX per context, for its DTLS client and server
 * sessions alike, and has no API for it: a client session toward the discard port, dropped
 * at once, shows it. */
static int install_cookies(struct coap_ad *ad)
{
	static const uint8_t key[16];
	coap_dtls_cpsk_t psk;
	coap_address_t dst;
	coap_session_t *probe;
	coap_tls_library_t lib;
	SSL *ssl;
	int rc = MGW_E_UNSUPPORTED;

	memset(&psk, 0, sizeof(psk));
	psk.version = COAP_DTLS_CPSK_SETUP_VERSION;
	psk.psk_info.identity.s = (const uint8_t *)"mgw-gate";
	psk.psk_info.identity.length = 8;
	psk.psk_info.key.s = key;
	psk.psk_info.key.length = sizeof(key);
	coap_address_init(&dst);
	dst.addr.sin.sin_family = AF_INET;
	dst.addr.sin.sin_port = htons(9);
	dst.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.size = sizeof(dst.addr.sin);
	if (!(probe = coap_new_client_session_psk2(ad->ctx, NULL, &dst, COAP_PROTO_DTLS, &psk)))
		goto out;
	ssl = coap_session_get_tls(probe, &lib);
	if (ssl && lib == COAP_TLS_LIBRARY_OPENSSL) {
		SSL_CTX_set_cookie_generate_cb(SSL_get_SSL_CTX(ssl), cb_generate);
		SSL_CTX_set_cookie_verify_cb(SSL_get_SSL_CTX(ssl), cb_verify);
		rc = MGW_OK;
	}
	coap_session_release(probe);
out:
	if (rc != MGW_OK)
		LOGP(DCOAP, MGW_LOGL_ERROR,
		     "coap: cannot reach libcoap's DTLS context for the cookie exchange");
	return rc;
}

/* ---- lifetimes ---- */

void coap_gate_session_done(struct coap_ad *ad, coap_session_t *session)
{
	struct coap_gate *g = ad->gate;
	const coap_address_t *a = session ? coap_session_get_addr_remote(session) : NULL;
	struct sockaddr_storage ss;
	struct gate_peer p;

	if (!g || !a || a->size > sizeof(ss))
		return;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, a->size);
	for (size_t i = 0; peer_of_addr(&ss, &p) && i < g->n_half; i++)
		if (g->half[i].port == p.port && same_ip(&g->half[i], &p)) {
			half_drop(g, i);
			break;
		}
}

void coap_gate_sweep(struct coap_ad *ad, int64_t now)
{
	struct coap_gate *g = ad->gate;
	uint64_t held;

	if (!g)
		return;
	half_expire(ad, now);
	if ((held = mgw_log_rl_flush(&g->rl_refused, false)))
		LOGP(DCOAP, MGW_LOGL_NOTICE, "coap: held back %llu lines 'handshake refused: "
		     "HALF_OPEN' (rate limit; counted, audited at most 20/s)",
		     (unsigned long long)held);
	if (!g->flood || now - g->flood_last_ms < FLOOD_QUIET_MS)
		return;
	g->flood = false;
	LOGP(DCOAP, MGW_LOGL_NOTICE,
	     "coap: DTLS handshake flood over after %lld s: %llu hellos answered statelessly, %llu "
	     "dropped over coap.hello_rate, %llu refused over the half-open limits",
	     (long long)((g->flood_last_ms - g->flood_start_ms) / 1000),
	     (unsigned long long)g->ep_verify, (unsigned long long)g->ep_shed,
	     (unsigned long long)g->ep_refused);
}

static int gate_destructor(struct coap_gate *g)
{
	OPENSSL_cleanse(g->secret, sizeof(g->secret));
	if (cookie_gate == g)
		cookie_gate = NULL;
	return 0;
}

int coap_gate_add_fd(struct coap_ad *ad, int fd)
{
	struct coap_gate *g = ad->gate;
	int rc;

	if (!g) {
		if (!(g = ad->gate = talloc_zero(ad, struct coap_gate)))
			return MGW_E_NOMEM;
		talloc_set_destructor(g, gate_destructor);
		g->rl_refused = (struct mgw_log_rl)MGW_LOG_RL_INIT(5, 10000);
		g->max_half = (size_t)ad->cfg->max_half_open;
		if (!(g->half = talloc_array(g, struct gate_peer, g->max_half)))
			return MGW_E_NOMEM;
		secrets_fresh(g, coap_now_ms());
		if ((rc = install_cookies(ad)) != MGW_OK)
			return rc;
		cookie_gate = g;
	}
	if (g->n_fds >= GATE_MAX_FDS)
		return MGW_E_FULL;
	g->fds[g->n_fds++] = fd;
	return MGW_OK;
}
