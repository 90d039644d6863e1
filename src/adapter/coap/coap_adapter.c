/* CoAP adapter: the libcoap context on the libevent loop, DTLS credentials per handshake,
 * sessions and their limits (doc/internals/coap.md).
 *
 * The loop: libcoap (built with epoll) exposes one epoll fd that becomes readable for its
 * sockets and its own timerfd; io_ev watches it and runs libcoap's I/O (coap_io_process()
 * in its documented parts, with the gate of coap_gate.c between epoll_wait() and
 * coap_io_do_epoll()), after which timer_ev is armed for the next timeout libcoap reports.
 * Nothing blocks.
 *
 * Credentials: the PSK callback looks the identity up in the registry at each handshake
 * (no global key); the certificate callback takes the SHA-256 fingerprint of the client
 * certificate (depth 0) and looks that up. Either way the proven credential becomes the
 * session's struct mgw_identity; an unknown one fails the handshake with one audit record.
 *
 * Lifetimes: a struct cs is created when a session first reaches us (the credential
 * callback of its handshake, or a request on a plain listener) and freed at
 * SERVER_SESSION_DEL (idle timeout, failed handshake) or when the adapter stops (libcoap
 * frees its sessions in coap_free_context without events). Not earlier: a session whose
 * handshake fails inside libcoap's first SSL_accept is freed with no event at all.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/adapter_coap.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>

#include "coap_int.h"

#define STATS_INTERVAL_S 60
/* a DTLS handshake not done by then failed: a wrong key shows only as silence, since DTLS
 * drops records that fail their MAC (RFC 6347 4.1.2.7) */
#define HANDSHAKE_TIMEOUT_MS 10000
#define HS_BUCKETS_MAX 4096
#define IO_EVENTS 64 /* epoll events taken per run of libcoap's I/O */
/* lines a peer can cause at will: at most this many per interval, then a count */
#define RL_LINES 5
#define RL_INTERVAL_MS 10000

int64_t coap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- libcoap's log into ours ---- */

static struct coap_ad *log_ad; /* the running adapter (one per process) */

/* Audit records of refusals that no session carries (alerts, plaintext probes): at most 20
 * a second; beyond, the flood is counted, not written out. */
bool coap_audit_budget(struct coap_ad *ad, int64_t now)
{
	if (now - ad->alert_window_ms >= 1000) {
		ad->alert_window_ms = now;
		ad->alerts_in_window = 0;
	}
	return ++ad->alerts_in_window <= 20;
}

/* A handshake OpenSSL refused before any credential callback ran (DTLS 1.0, no common
 * cipher suite): libcoap frees such a session without an event, and the only trace is the
 * alert in its log ("*  LOCAL <-> REMOTE ... alert write:fatal:WHY"). One audit record per
 * refusal, at most 20 a second (a flood is counted, not written out). */
static void alert_audit(struct coap_ad *ad, const char *message)
{
	struct mgw_identity id = { .ingress = MGW_IN_COAP, .kind = MGW_CRED_NONE };
	const char *p = strstr(message, "<-> "), *why = strstr(message, "write:fatal:");
	int64_t now = coap_now_ms();
	char detail[96];
	size_t n;

	if (!p || !why)
		return;
	p += 4;
	n = strcspn(p, " ");
	if (n == 0 || n >= sizeof(id.peer))
		return;
	memcpy(id.peer, p, n);
	id.peer[n] = '\0';
	/* already audited by the credential callback that refused it */
	if (strcmp(id.peer, ad->last_refused) == 0 && now - ad->last_refused_ms < 2000)
		return;
	ad->n.handshakes_failed++;
	if (!coap_audit_budget(ad, now))
		return;
	why += strlen("write:fatal:");
	snprintf(detail, sizeof(detail), "DTLS handshake refused: %.*s", (int)strcspn(why, "\r\n"),
		 why);
	mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &id, NULL, MGW_E_TLS,
				  "TLS_HANDSHAKE", detail);
}

static void coap_log_cb(coap_log_t level, const char *message)
{
	enum mgw_log_level l;
	size_t n = strlen(message);

	while (n && (message[n - 1] == '\n' || message[n - 1] == '\r'))
		n--;
	if (level <= LOG_ERR)
		l = MGW_LOGL_ERROR;
	else if (level <= LOG_NOTICE)
		l = MGW_LOGL_NOTICE;
	else if (level == LOG_INFO)
		l = MGW_LOGL_INFO;
	else
		l = MGW_LOGL_DEBUG;
	/* our delivery confirmation rides on a CoAP ping, answered by RST: routine here */
	if (strncmp(message, "got RST for mid=", 16) == 0)
		l = MGW_LOGL_DEBUG;
	/* OpenSSL's state trace of a non-blocking handshake, and a stale "no start line" its
	 * error queue keeps after libcoap read the CA file: not news */
	if (strstr(message, "SSL_accept:error in") || strstr(message, "no start line at PEM"))
		l = MGW_LOGL_DEBUG;
	if (log_ad && level <= LOG_WARNING && strstr(message, "alert write:fatal:"))
		alert_audit(log_ad, message);
	/* once running, libcoap's warnings are mostly about one datagram ("discard malformed
	 * PDU"): a sender repeats them at will */
	if (log_ad && l >= MGW_LOGL_NOTICE && mgw_log_enabled(DCOAP, l)) {
		uint64_t held = 0;

		if (!mgw_log_rl_pass(&log_ad->rl_libcoap, &held)) {
			snprintf(log_ad->rl_last, sizeof(log_ad->rl_last), "%.*s", (int)n, message);
			return;
		}
		if (held) {
			LOGP(DCOAP, l, "libcoap: %.*s (held back %llu lines before it)", (int)n,
			     message, (unsigned long long)held);
			return;
		}
	}
	LOGP(DCOAP, l, "libcoap: %.*s", (int)n, message);
}

/* the sweep (and the stop): the lines held back in an interval that is over, one line each */
static void rl_report(struct coap_ad *ad, bool always)
{
	uint64_t held;

	if ((held = mgw_log_rl_flush(&ad->rl_libcoap, always)))
		LOGP(DCOAP, MGW_LOGL_NOTICE, "coap: held back %llu libcoap lines (rate limit), the "
		     "last: %s", (unsigned long long)held, ad->rl_last);
	if ((held = mgw_log_rl_flush(&ad->rl_plain, always)))
		LOGP(DCOAP, MGW_LOGL_NOTICE, "coap: held back %llu lines 'plain CoAP to a coaps "
		     "port' (rate limit; counted as plaintext)", (unsigned long long)held);
}

/* ---- plaintext on a coaps port ----
 *
 * libcoap drops a datagram that is not a DTLS ClientHello before any session or callback
 * exists, without its source (coap_session.c, debug log only). To audit plain CoAP sent to a
 * coaps port anyway, a raw IPv4 UDP socket gets a copy of exactly those datagrams: a socket
 * filter in the kernel passes only UDP to the listener's port whose first payload byte says
 * CoAP version 1 (0b01xxxxxx; a DTLS record starts with a content type 20..25). It needs
 * CAP_NET_RAW; without it the adapter says so once and such datagrams stay unaudited (they
 * are still never answered or forwarded). IPv4 listeners on one address only. */

static int plain_open(uint32_t addr, uint16_t port)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),          /* IPv4 destination */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, addr, 0, 6),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),          /* X = IP header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),           /* UDP destination port */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 3),
		BPF_STMT(BPF_LD | BPF_B | BPF_IND, 8),           /* first payload byte */
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xc0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 1, 0), /* CoAP version 1 */
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 128),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void plain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coap_ad *ad = arg;
	uint8_t pkt[128];
	ssize_t n;

	(void)what;
	while ((n = recv(fd, pkt, sizeof(pkt), 0)) > 0) {
		struct mgw_identity id = { .ingress = MGW_IN_COAP, .kind = MGW_CRED_NONE };
		uint64_t held = 0;
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		char ip[INET_ADDRSTRLEN];
		int64_t now = coap_now_ms();

		if ((size_t)n < ihl + 8 || !inet_ntop(AF_INET, pkt + 12, ip, sizeof(ip)))
			continue;
		snprintf(id.peer, sizeof(id.peer), "%s:%u", ip,
			 (unsigned)(pkt[ihl] << 8 | pkt[ihl + 1]));
		ad->n.plaintext++;
		if (!coap_audit_budget(ad, now))
			continue;
		if (mgw_log_rl_pass(&ad->rl_plain, &held))
			LOGP(DCOAP, MGW_LOGL_NOTICE, "coap(%s): plain CoAP to a coaps port: dropped%s",
			     id.peer, held ? " (and more, held back: see below)" : "");
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &id, NULL, MGW_E_TLS,
					  "PLAINTEXT", "plain CoAP sent to a coaps (DTLS) port: dropped");
	}
}

static void plain_start(struct coap_ad *ad)
{
	const struct mgw_coap_cfg *c = ad->cfg;

	if (!(ad->plain_ev = talloc_zero_array(ad, struct event *, c->listen.n)))
		return;
	for (size_t i = 0; i < c->listen.n; i++) {
		const struct mgw_coap_listen *l = MGW_CFG_LIST_AT(&c->listen, struct mgw_coap_listen, i);
		struct in_addr a4;
		int fd;

		if (l->plain || inet_pton(AF_INET, l->addr, &a4) != 1)
			continue;
		if (a4.s_addr == htonl(INADDR_ANY) ||
		    (fd = plain_open(ntohl(a4.s_addr), (uint16_t)l->port)) < 0) {
			LOGP(DCOAP, MGW_LOGL_NOTICE,
			     "coap: plain CoAP sent to %s:%lld will not be audited (raw socket: %s; "
			     "needs CAP_NET_RAW)", l->addr, (long long)l->port, strerror(errno));
			continue;
		}
		if (!(ad->plain_ev[ad->n_plain_ev] =
			      event_new(ad->base, fd, EV_READ | EV_PERSIST, plain_cb, ad)) ||
		    event_add(ad->plain_ev[ad->n_plain_ev], NULL) != 0) {
			if (ad->plain_ev[ad->n_plain_ev])
				event_free(ad->plain_ev[ad->n_plain_ev]);
			ad->plain_ev[ad->n_plain_ev] = NULL;
			close(fd);
			continue;
		}
		ad->n_plain_ev++;
	}
}

static void plain_stop(struct coap_ad *ad)
{
	for (size_t i = 0; i < ad->n_plain_ev; i++) {
		evutil_socket_t fd = event_get_fd(ad->plain_ev[i]);

		event_free(ad->plain_ev[i]);
		close(fd);
	}
	ad->n_plain_ev = 0;
}

/* ---- the loop ---- */

/* coap_io_process() split in its documented parts (coap_io.txt), so that the gate sees the
 * events of the DTLS listeners before libcoap reads them */
static void run_io(struct coap_ad *ad)
{
	struct epoll_event ev[IO_EVENTS];
	coap_tick_t now;
	unsigned int ms;
	struct timeval tv;
	int n;

	if (!ad->ctx || ad->in_io)
		return;
	ad->in_io = true;
	coap_ticks(&now);
	coap_io_prepare_epoll(ad->ctx, now);
	n = epoll_wait(coap_context_get_coap_fd(ad->ctx), ev, IO_EVENTS, 0);
	if (n > 0)
		coap_io_do_epoll(ad->ctx, ev, coap_gate_events(ad, ev, (size_t)n));
	coap_ticks(&now);
	ms = coap_io_prepare_epoll(ad->ctx, now);
	ad->in_io = false;
	/* 0: nothing pending; look again in a second anyway (session timeouts) */
	if (ms == 0 || ms > 1000)
		ms = 1000;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ad->timer_ev, &tv);
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_io(arg);
}

void coap_ad_kick(struct coap_ad *ad)
{
	if (ad && ad->timer_ev && !ad->stopping)
		event_active(ad->timer_ev, EV_TIMEOUT, 1);
}

static void stats_log(struct coap_ad *ad, bool always)
{
	const struct coap_counters *n = &ad->n;

	if (!always && memcmp(&ad->n, &ad->n_logged, sizeof(ad->n)) == 0)
		return;
	ad->n_logged = ad->n;
	LOGP(DCOAP, MGW_LOGL_NOTICE,
	     "coap: sessions %llu (peak %llu), handshakes %llu ok %llu failed, refused: "
	     "max_sessions %llu handshake_rate %llu rate %llu, idle closed %llu, uplink %llu ok "
	     "%llu refused, downlink %llu notified %llu delivered %llu failed, plaintext %llu, "
	     "hellos %llu verified %llu dropped, half-open refused %llu expired %llu",
	     (unsigned long long)n->sessions, (unsigned long long)n->sessions_peak,
	     (unsigned long long)n->handshakes_ok, (unsigned long long)n->handshakes_failed,
	     (unsigned long long)n->refused_max_sessions,
	     (unsigned long long)n->refused_handshake_rate, (unsigned long long)n->refused_rate,
	     (unsigned long long)n->idle_closed, (unsigned long long)n->uplink_ok,
	     (unsigned long long)n->uplink_refused, (unsigned long long)n->notified,
	     (unsigned long long)n->delivered, (unsigned long long)n->delivery_failed,
	     (unsigned long long)n->plaintext, (unsigned long long)n->hello_verify,
	     (unsigned long long)n->hello_shed, (unsigned long long)n->half_open_refused,
	     (unsigned long long)n->half_open_expired);
}

static void cs_refuse(struct cs *s, int rc, const char *cause, const char *detail);

/* audit handshakes that stalled: the client gave up on a Finished we could not decrypt */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coap_ad *ad = arg;
	int64_t now = coap_now_ms();
	struct cs *s;

	(void)fd;
	(void)what;
	coap_gate_sweep(ad, now);
	rl_report(ad, false);
	TAILQ_FOREACH(s, &ad->sessions, link) {
		if (!s->dtls || s->established || s->audited ||
		    now - s->created_ms < HANDSHAKE_TIMEOUT_MS)
			continue;
		if (s->have_id)
			cs_refuse(s, MGW_E_BAD_CREDENTIAL, "BAD_CREDENTIAL",
				  "DTLS handshake not completed (wrong key?)");
		else
			cs_refuse(s, MGW_E_TLS, "TLS_HANDSHAKE", "DTLS handshake not completed");
	}
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stats_log(arg, false);
}

/* ---- limits ---- */

static bool bucket_take(double *tokens, int64_t *last_ms, double rate, double burst)
{
	int64_t now = coap_now_ms();

	if (*last_ms == 0)
		*tokens = burst;
	else
		*tokens += (double)(now - *last_ms) * rate / 1000.0;
	if (*tokens > burst)
		*tokens = burst;
	*last_ms = now;
	if (*tokens < 1.0)
		return false;
	*tokens -= 1.0;
	return true;
}

/* Take a token from KEY's bucket in list l (rate/s, burst); false when empty. At most
 * HS_BUCKETS_MAX keys are kept: full buckets are forgotten first (they would start full
 * anyway); if all are in use, full_answer is the verdict for a new key. */
static bool keyed_take(struct coap_ad *ad, struct bucket_list *l, size_t *n, const char *key,
		       double rate, double burst, bool full_answer)
{
	struct hs_bucket *b, *next;
	int64_t now = coap_now_ms();

	LIST_FOREACH(b, l, link)
		if (strcmp(b->key, key) == 0)
			break;
	if (!b) {
		if (*n >= HS_BUCKETS_MAX) {
			for (b = LIST_FIRST(l); b; b = next) {
				next = LIST_NEXT(b, link);
				if (b->tokens + (double)(now - b->last_ms) * rate / 1000.0 >= burst) {
					LIST_REMOVE(b, link);
					talloc_free(b);
					(*n)--;
				}
			}
			if (*n >= HS_BUCKETS_MAX)
				return full_answer;
		}
		if (!(b = talloc_zero(ad, struct hs_bucket)))
			return full_answer;
		snprintf(b->key, sizeof(b->key), "%s", key);
		LIST_INSERT_HEAD(l, b, link);
		(*n)++;
	}
	return bucket_take(&b->tokens, &b->last_ms, rate, burst);
}

/* the device's uplink rate (per UE, across its sessions) */
bool cs_rate_ok(struct cs *s)
{
	struct coap_ad *ad = s->ad;

	return keyed_take(ad, &ad->ue_buckets, &ad->n_ue_buckets, s->ue, (double)ad->cfg->rate,
			  (double)ad->cfg->burst, true);
}

/* a handshake from ip: within handshake_rate? (a flood from many addresses is refused) */
static bool handshake_ok(struct coap_ad *ad, const char *ip)
{
	double rate = (double)ad->cfg->handshake_rate;

	return keyed_take(ad, &ad->ip_buckets, &ad->n_ip_buckets, ip, rate, 2 * rate, false);
}

/* ---- sessions ---- */

static void peer_of(const coap_session_t *session, char *peer, size_t plen, char *ip, size_t iplen)
{
	const coap_address_t *a = coap_session_get_addr_remote(session);
	char buf[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (a && a->addr.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->addr.sin.sin_addr, buf, sizeof(buf));
		port = ntohs(a->addr.sin.sin_port);
	} else if (a && a->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, buf, sizeof(buf));
		port = ntohs(a->addr.sin6.sin6_port);
	}
	snprintf(ip, iplen, "%s", buf);
	snprintf(peer, plen, strchr(buf, ':') ? "[%s]:%d" : "%s:%d", buf, port);
}

static int cs_destructor(struct cs *s)
{
	coap_res_session_gone(s);
	TAILQ_REMOVE(&s->ad->sessions, s, link);
	if (s->ad->n.sessions)
		s->ad->n.sessions--;
	if (s->session)
		coap_session_set_app_data(s->session, NULL);
	return 0;
}

/* The session state, created on first sight. */
struct cs *cs_of(struct coap_ad *ad, coap_session_t *session)
{
	struct cs *s = coap_session_get_app_data(session);

	if (s || ad->stopping)
		return s;
	if (!(s = talloc_zero(ad, struct cs)))
		return NULL;
	s->ad = ad;
	s->session = session;
	s->dtls = coap_session_get_proto(session) == COAP_PROTO_DTLS;
	s->created_ms = coap_now_ms();
	peer_of(session, s->peer, sizeof(s->peer), s->ip, sizeof(s->ip));
	snprintf(s->id.peer, sizeof(s->id.peer), "%s", s->peer);
	s->id.ingress = MGW_IN_COAP;
	TAILQ_INSERT_TAIL(&ad->sessions, s, link);
	talloc_set_destructor(s, cs_destructor);
	coap_session_set_app_data(session, s);
	if (++ad->n.sessions > ad->n.sessions_peak)
		ad->n.sessions_peak = ad->n.sessions;
	/* notifications: the configured transmission parameters (RFC 7252 4.8) */
	coap_session_set_ack_timeout(session, (coap_fixed_point_t){
		(uint16_t)(ad->cfg->ack_timeout_ms / 1000), (uint16_t)(ad->cfg->ack_timeout_ms % 1000) });
	coap_session_set_max_retransmit(session, (uint16_t)ad->cfg->max_retransmit);
	return s;
}

/* Free a server session whose handshake stalled (the gate's half-open limit): libcoap has
 * no call for it, but frees a client session at its last release, and
 * coap_session_set_type_client() turns a server session into one. No event follows, so our
 * state goes first. */
void cs_session_drop(struct coap_ad *ad, coap_session_t *session)
{
	struct cs *s = coap_session_get_app_data(session);

	(void)ad;
	if (s) {
		if (!s->audited)
			cs_refuse(s, s->have_id ? MGW_E_BAD_CREDENTIAL : MGW_E_TLS,
				  s->have_id ? "BAD_CREDENTIAL" : "TLS_HANDSHAKE",
				  "DTLS handshake not completed within coap.handshake_timeout");
		s->session = NULL;
		coap_session_set_app_data(session, NULL);
		talloc_free(s);
	}
	if (coap_session_set_type_client(session))
		coap_session_release(session);
}

/* Refuse this session's handshake: one audit record, counted. */
static void cs_refuse(struct cs *s, int rc, const char *cause, const char *detail)
{
	if (!s->audited) {
		mgw_security_audit_reject(s->ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &s->id, NULL, rc,
					  cause, detail);
		s->ad->n.handshakes_failed++;
	}
	s->audited = true;
	snprintf(s->ad->last_refused, sizeof(s->ad->last_refused), "%s", s->peer);
	s->ad->last_refused_ms = coap_now_ms();
	s->failed = true;
	LOG_CS(s, MGW_LOGL_NOTICE, "handshake refused: %s (%s)", cause, detail);
}

static int event_cb(coap_session_t *session, const coap_event_t event)
{
	coap_context_t *ctx = coap_session_get_context(session);
	struct coap_ad *ad = ctx ? coap_get_app_data(ctx) : NULL;
	struct cs *s;

	if (!ad)
		return 0;
	switch (event) {
	case COAP_EVENT_DTLS_CONNECTED:
		coap_gate_session_done(ad, session); /* half-open no more */
		if ((s = coap_session_get_app_data(session))) {
			if (!s->have_id) {
				/* a handshake without a credential (cannot happen with PSK/PKI
				 * callbacks, but never serve it) */
				cs_refuse(s, MGW_E_AUTH, "NO_CREDENTIAL", "DTLS without a credential");
				break;
			}
			s->established = true;
			ad->n.handshakes_ok++;
			LOG_CS(s, MGW_LOGL_INFO, "DTLS up as %s %s (UE %s)", mgw_cred_name(s->id.kind),
			       s->id.value, s->ue);
		}
		break;
	case COAP_EVENT_DTLS_ERROR:
		if ((s = coap_session_get_app_data(session))) {
			s->failed = true;
			if (!s->established) {
				cs_refuse(s, s->have_id ? MGW_E_BAD_CREDENTIAL : MGW_E_TLS,
					  s->have_id ? "BAD_CREDENTIAL" : "TLS_HANDSHAKE",
					  s->have_id ? "DTLS handshake failed (wrong key?)"
						     : "DTLS handshake failed");
			} else {
				LOG_CS(s, MGW_LOGL_INFO, "DTLS error: session closed");
			}
		}
		break;
	case COAP_EVENT_DTLS_CLOSED:
	case COAP_EVENT_SESSION_CLOSED:
	case COAP_EVENT_SESSION_FAILED:
		if ((s = coap_session_get_app_data(session))) {
			s->failed = true;
			coap_res_session_gone(s);
		}
		break;
	case COAP_EVENT_SERVER_SESSION_DEL:
		coap_gate_session_done(ad, session);
		if ((s = coap_session_get_app_data(session))) {
			if (s->established && !s->failed) {
				ad->n.idle_closed++;
				LOG_CS(s, MGW_LOGL_INFO, "idle: session closed");
			}
			s->session = NULL; /* libcoap frees it right after */
			coap_session_set_app_data(session, NULL);
			talloc_free(s);
		}
		break;
	default:
		break;
	}
	return 0;
}

static void nack_cb(coap_session_t *session, const coap_pdu_t *sent, const coap_nack_reason_t reason,
		    const coap_mid_t mid)
{
	coap_context_t *ctx = coap_session_get_context(session);
	struct coap_ad *ad = ctx ? coap_get_app_data(ctx) : NULL;

	if (ad)
		coap_res_nack(ad, session, sent, reason, mid);
}

/* Limits at the handshake (a cs exists from the credential callback on: libcoap frees
 * sessions that fail earlier without telling us). */
static void cs_admit(struct cs *s)
{
	struct coap_ad *ad = s->ad;

	if (s->refused)
		return;
	if (ad->n.sessions > (uint64_t)ad->cfg->max_sessions) {
		s->refused = true;
		s->refused_cause = "MAX_SESSIONS";
		ad->n.refused_max_sessions++;
	} else if (!handshake_ok(ad, s->ip)) {
		s->refused = true;
		s->refused_cause = "HANDSHAKE_RATE";
		ad->n.refused_handshake_rate++;
	}
}

/* PSK: the identity is looked up per handshake; its key is the device's own. */
/* lab.keylog: libcoap keeps its SSL_CTX to itself; the first handshake callback of a
 * session reaches it through the session's SSL, before the secrets are derived */
static void keylog_session(coap_session_t *session)
{
	coap_tls_library_t lib;
	void *ssl;

	if (!mgw_keylog_on())
		return;
	ssl = coap_session_get_tls(session, &lib);
	if (ssl && lib == COAP_TLS_LIBRARY_OPENSSL)
		mgw_keylog_attach(SSL_get_SSL_CTX(ssl));
}

static const coap_bin_const_t *psk_cb(coap_bin_const_t *identity, coap_session_t *session,
				      void *arg)
{
	struct coap_ad *ad = arg;
	static coap_bin_const_t key; /* libcoap copies it before the next handshake runs */
	struct mgw_ue_ref ref;
	size_t klen = 0;
	struct cs *s;

	keylog_session(session);
	if (!(s = cs_of(ad, session)))
		return NULL;
	cs_admit(s);
	s->id.kind = MGW_CRED_PSK_ID;
	if (!identity || identity->length == 0 || identity->length > MGW_ID_MAX ||
	    memchr(identity->s, '\0', identity->length)) {
		snprintf(s->id.value, sizeof(s->id.value), "(invalid)");
		cs_refuse(s, MGW_E_MALFORMED, "BAD_IDENTITY", "PSK identity empty, too long or binary");
		return NULL;
	}
	snprintf(s->id.value, sizeof(s->id.value), "%.*s", (int)identity->length,
		 (const char *)identity->s);
	if (s->refused) {
		cs_refuse(s, MGW_E_FULL, s->refused_cause,
			  strcmp(s->refused_cause, "MAX_SESSIONS") == 0 ? "coap.max_sessions reached"
									 : "coap.handshake_rate exceeded");
		return NULL;
	}
	/* a copy: the registry entry may be gone by the time libcoap reads the key */
	if (mgw_security_psk(ad->sec, s->id.value, &ref, ad->psk_buf, sizeof(ad->psk_buf), &klen) !=
	    MGW_OK) {
		cs_refuse(s, MGW_E_UNKNOWN_DEVICE, NULL, "unknown PSK identity");
		return NULL;
	}
	s->have_id = true;
	snprintf(s->ue, sizeof(s->ue), "%s", ref.ue);
	key.s = ad->psk_buf;
	key.length = klen;
	return &key;
}

/* Certificates: chain checks are libcoap's (with coap.tls.ca); the identity is the
 * fingerprint of the client certificate, which must be in the registry. */
static int cert_cb(const char *cn, const uint8_t *der, size_t der_len, coap_session_t *session,
		   unsigned int depth, int validated, void *arg)
{
	static const char hex[] = "0123456789abcdef";
	struct coap_ad *ad = arg;
	struct mgw_ue_ref ref;
	bool known;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct cs *s;
	size_t o;

	keylog_session(session);
	if (depth > 0)
		return 1; /* CA certificates: libcoap's chain validation decides */
	if (!(s = cs_of(ad, session)))
		return 0;
	cs_admit(s);
	s->id.kind = MGW_CRED_CERT_FP;
	if (!validated && ad->cfg->tls && ad->cfg->tls->ca) {
		cs_refuse(s, MGW_E_BAD_CREDENTIAL, "CERT_UNTRUSTED", "client certificate not valid");
		return 0;
	}
	if (!der || !EVP_Digest(der, der_len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		cs_refuse(s, MGW_E_MALFORMED, "BAD_CERT", "client certificate unreadable");
		return 0;
	}
	o = (size_t)snprintf(s->id.value, sizeof(s->id.value), "sha256:");
	for (unsigned i = 0; i < mdlen && o + 2 < sizeof(s->id.value); i++) {
		s->id.value[o++] = hex[md[i] >> 4];
		s->id.value[o++] = hex[md[i] & 15];
	}
	s->id.value[o] = '\0';
	if (s->refused) {
		cs_refuse(s, MGW_E_FULL, s->refused_cause, "session limit");
		return 0;
	}
	known = mgw_security_identify(ad->sec, MGW_CRED_CERT_FP, s->id.value, &ref) == MGW_OK;
	/* a certificate the configured CA issued may be registered by its subject CN */
	if (!known && validated && ad->cfg->tls && ad->cfg->tls->ca && cn && *cn &&
	    strlen(cn) <= MGW_ID_MAX &&
	    (known = mgw_security_identify(ad->sec, MGW_CRED_CERT_SUBJECT, cn, &ref) == MGW_OK)) {
		s->id.kind = MGW_CRED_CERT_SUBJECT;
		snprintf(s->id.value, sizeof(s->id.value), "%s", cn);
	}
	if (!known) {
		cs_refuse(s, MGW_E_UNKNOWN_DEVICE, NULL, "client certificate not registered");
		LOG_CS(s, MGW_LOGL_INFO, "certificate CN '%s' %s not registered", cn ? cn : "",
		       s->id.value);
		return 0;
	}
	s->have_id = true;
	snprintf(s->ue, sizeof(s->ue), "%s", ref.ue);
	return 1;
}

static int setup_dtls(struct coap_ad *ad)
{
	const struct mgw_coap_cfg *c = ad->cfg;
	coap_dtls_spsk_t psk;

	if (!coap_dtls_is_supported()) {
		LOGP(DCOAP, MGW_LOGL_ERROR, "coap: libcoap has no DTLS support");
		return MGW_E_UNSUPPORTED;
	}
	memset(&psk, 0, sizeof(psk));
	psk.version = COAP_DTLS_SPSK_SETUP_VERSION;
	psk.validate_id_call_back = psk_cb;
	psk.id_call_back_arg = ad;
	if (!coap_context_set_psk2(ad->ctx, &psk)) {
		LOGP(DCOAP, MGW_LOGL_ERROR, "coap: PSK setup refused by libcoap");
		return MGW_E_TLS;
	}
	if (c->tls && c->tls->cert) {
		coap_dtls_pki_t pki;

		memset(&pki, 0, sizeof(pki));
		pki.version = COAP_DTLS_PKI_SETUP_VERSION;
		/* a client certificate is always asked for: with coap.tls.ca it must chain to
		 * that CA (check_common_ca loads it as the trust store and names it in the
		 * CertificateRequest); without, only self-signed certificates, pinned by their
		 * fingerprint in the registry */
		pki.verify_peer_cert = 1;
		pki.check_common_ca = c->tls->ca ? 1 : 0;
		pki.allow_self_signed = c->tls->ca ? 0 : 1;
		pki.allow_expired_certs = 0;
		pki.cert_chain_validation = 1;
		pki.cert_chain_verify_depth = 3;
		pki.check_cert_revocation = 0;
		pki.allow_no_crl = 1;
		pki.validate_cn_call_back = cert_cb;
		pki.cn_call_back_arg = ad;
		pki.pki_key.key_type = COAP_PKI_KEY_PEM;
		pki.pki_key.key.pem.public_cert = c->tls->cert;
		pki.pki_key.key.pem.private_key = c->tls->key;
		pki.pki_key.key.pem.ca_file = c->tls->ca;
		if (!coap_context_set_pki(ad->ctx, &pki)) {
			LOGP(DCOAP, MGW_LOGL_ERROR, "coap: certificate setup refused by libcoap (%s)",
			     c->tls->cert);
			return MGW_E_TLS;
		}
	}
	return MGW_OK;
}

static int add_listeners(struct coap_ad *ad)
{
	const struct mgw_coap_cfg *c = ad->cfg;

	for (size_t i = 0; i < c->listen.n; i++) {
		const struct mgw_coap_listen *l = MGW_CFG_LIST_AT(&c->listen, struct mgw_coap_listen, i);
		coap_address_t a;

		coap_address_init(&a);
		if (inet_pton(AF_INET, l->addr, &a.addr.sin.sin_addr) == 1) {
			a.addr.sin.sin_family = AF_INET;
			a.addr.sin.sin_port = htons((uint16_t)l->port);
			a.size = sizeof(a.addr.sin);
		} else if (inet_pton(AF_INET6, l->addr, &a.addr.sin6.sin6_addr) == 1) {
			a.addr.sin6.sin6_family = AF_INET6;
			a.addr.sin6.sin6_port = htons((uint16_t)l->port);
			a.size = sizeof(a.addr.sin6);
		} else {
			return MGW_E_CONFIG;
		}
		if (!coap_new_endpoint(ad->ctx, &a, l->plain ? COAP_PROTO_UDP : COAP_PROTO_DTLS)) {
			LOGP(DCOAP, MGW_LOGL_ERROR, "coap: cannot listen on %s port %lld (%s)", l->addr,
			     (long long)l->port, l->plain ? "coap" : "coaps");
			return MGW_E_IO;
		}
		if (l->plain)
			LOGP(DCOAP, MGW_LOGL_NOTICE,
			     "coap: INSECURE plain CoAP on %s:%lld: devices are NOT authenticated",
			     l->addr, (long long)l->port);
		else
			LOGP(DCOAP, MGW_LOGL_NOTICE, "coap: listening on %s:%lld (coaps, DTLS 1.2)",
			     l->addr, (long long)l->port);
	}
	return MGW_OK;
}

/* libcoap gives no handle on its endpoint sockets, so find our UDP sockets bound to a
 * listener's port. Their default receive buffer (net.core.rmem_default, ~200 KiB) overflows
 * under a burst of DTLS records while the loop is in a store commit (lost datagrams cost the
 * device a 2 s retransmission): raise it (SO_RCVBUFFORCE when allowed). And the sockets of
 * the DTLS listeners go to the gate (coap_gate.c), which sees new peers before libcoap. */
static int listener_sockets(struct coap_ad *ad)
{
	struct rlimit rl = { 1024, 1024 };
	int size = (int)ad->cfg->rcvbuf, type, rc;
	size_t dtls = 0, found = 0;

	for (size_t i = 0; i < ad->cfg->listen.n; i++)
		dtls += !MGW_CFG_LIST_AT(&ad->cfg->listen, struct mgw_coap_listen, i)->plain;
	getrlimit(RLIMIT_NOFILE, &rl);
	for (int fd = 3; fd < (int)(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536); fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), tl = sizeof(type);
		struct stat st;
		int port;

		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			continue;
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else
			continue;
		for (size_t i = 0; i < ad->cfg->listen.n; i++) {
			const struct mgw_coap_listen *l =
				MGW_CFG_LIST_AT(&ad->cfg->listen, struct mgw_coap_listen, i);

			if (l->port != port)
				continue;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
			if (!l->plain) {
				if ((rc = coap_gate_add_fd(ad, fd)) != MGW_OK)
					return rc;
				found++;
			}
			break;
		}
	}
	if (found < dtls) {
		LOGP(DCOAP, MGW_LOGL_ERROR, "coap: %zu of %zu DTLS listener sockets not found",
		     dtls - found, dtls);
		return MGW_E_IO;
	}
	return MGW_OK;
}

static int ad_destructor(struct coap_ad *ad)
{
	struct cs *s;

	ad->stopping = true;
	OPENSSL_cleanse(ad->psk_buf, sizeof(ad->psk_buf));
	if (log_ad == ad)
		log_ad = NULL;
	coap_res_stop(ad);
	if (ad->io_ev)
		event_free(ad->io_ev);
	if (ad->timer_ev)
		event_free(ad->timer_ev);
	if (ad->stats_ev)
		event_free(ad->stats_ev);
	if (ad->sweep_ev)
		event_free(ad->sweep_ev);
	plain_stop(ad);
	ad->io_ev = ad->timer_ev = ad->stats_ev = ad->sweep_ev = NULL;
	/* our session states go first: coap_free_context frees sessions without events */
	while ((s = TAILQ_FIRST(&ad->sessions))) {
		if (s->session)
			coap_session_set_app_data(s->session, NULL);
		s->session = NULL;
		talloc_free(s);
	}
	if (ad->ctx) {
		coap_set_app_data(ad->ctx, NULL);
		coap_free_context(ad->ctx);
	}
	ad->ctx = NULL;
	return 0;
}

static int coap_start(const struct mgw_adapter_env *env, const void *cfg, void **state)
{
	const struct mgw_coap_cfg *c = cfg;
	static bool started;
	struct coap_ad *ad;
	struct timeval tv = { STATS_INTERVAL_S, 0 }, sweep_tv = { 1, 0 };
	int fd, rc;

	if (!env || !c || !state)
		return MGW_E_INVAL;
	if (!started) {
		coap_startup();
		started = true;
	}
	coap_set_log_handler(coap_log_cb);
	coap_set_log_level(mgw_log_enabled(DCOAP, MGW_LOGL_DEBUG) ? LOG_DEBUG
			   : mgw_log_enabled(DCOAP, MGW_LOGL_INFO) ? LOG_INFO : LOG_WARNING);
	coap_dtls_set_log_level(mgw_log_enabled(DCOAP, MGW_LOGL_DEBUG) ? LOG_DEBUG : LOG_WARNING);
	if (!(ad = talloc_zero(env->ctx, struct coap_ad)))
		return MGW_E_NOMEM;
	ad->cfg = c;
	ad->base = env->base;
	ad->core = env->core;
	ad->sec = env->sec;
	ad->ticket_ctx = env->ctx;
	ad->rl_libcoap = (struct mgw_log_rl)MGW_LOG_RL_INIT(RL_LINES, RL_INTERVAL_MS);
	ad->rl_plain = (struct mgw_log_rl)MGW_LOG_RL_INIT(RL_LINES, RL_INTERVAL_MS);
	TAILQ_INIT(&ad->sessions);
	LIST_INIT(&ad->ip_buckets);
	LIST_INIT(&ad->ue_buckets);
	for (size_t i = 0; i < COAP_UE_BUCKETS; i++)
		LIST_INIT(&ad->by_ue[i]);
	talloc_set_destructor(ad, ad_destructor);
	if (!(ad->ctx = coap_new_context(NULL))) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	coap_set_app_data(ad->ctx, ad);
	/* block-wise is ours (coap_res.c): bounded by coap.max_body before anything is kept */
	coap_context_set_block_mode(ad->ctx, 0);
	coap_context_set_session_timeout(ad->ctx, (unsigned)((c->idle_timeout_ms + 999) / 1000));
	/* libcoap ignores every new peer while more than this many sessions are in their
	 * handshake; the gate keeps fewer than half of it (coap.max_half_open) past the
	 * cookie, the rest is headroom for hello sessions libcoap frees late (after 30 s) */
	coap_context_set_max_handshake_sessions(ad->ctx, (unsigned)(2 * c->max_half_open + 16));
	coap_register_event_handler(ad->ctx, event_cb);
	coap_register_nack_handler(ad->ctx, nack_cb);
	if ((rc = setup_dtls(ad)) != MGW_OK || (rc = coap_res_init(ad)) != MGW_OK ||
	    (rc = add_listeners(ad)) != MGW_OK)
		goto fail;
	if ((fd = coap_context_get_coap_fd(ad->ctx)) < 0) {
		LOGP(DCOAP, MGW_LOGL_ERROR, "coap: libcoap has no epoll fd (built without epoll?)");
		rc = MGW_E_UNSUPPORTED;
		goto fail;
	}
	if (!(ad->io_ev = event_new(env->base, fd, EV_READ | EV_PERSIST, io_cb, ad)) ||
	    !(ad->timer_ev = evtimer_new(env->base, io_cb, ad)) ||
	    !(ad->stats_ev = event_new(env->base, -1, EV_PERSIST, stats_cb, ad)) ||
	    !(ad->sweep_ev = event_new(env->base, -1, EV_PERSIST, sweep_cb, ad)) ||
	    event_add(ad->io_ev, NULL) != 0 || event_add(ad->stats_ev, &tv) != 0 ||
	    event_add(ad->sweep_ev, &sweep_tv) != 0) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	plain_start(ad);
	if ((rc = listener_sockets(ad)) != MGW_OK)
		goto fail;
	run_io(ad);
	log_ad = ad;
	*state = ad;
	return MGW_OK;
fail:
	talloc_free(ad);
	return rc;
}

static void coap_stop(void *state)
{
	struct coap_ad *ad = state;

	if (!ad)
		return;
	rl_report(ad, true);
	stats_log(ad, true);
	talloc_free(ad);
}

static int coap_deliver(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
			mgw_deliver_done done, void *arg)
{
	return coap_res_deliver(state, msg, dev, done, arg);
}

/* A device removed or re-keyed (include/mgw/adapter.h device_changed): every session it
 * opened with the old credential ends now. Its state forgets the identity first (a request
 * that still arrives on it is refused NO_CREDENTIAL), then libcoap tears the DTLS session
 * down (close_notify, observers and pending notifications dropped; the delivery in flight
 * ends "keep it, try later"). The next handshake is judged with the new registry. The walk
 * is over open sessions (at most coap.max_sessions), never over the fleet. */
static void coap_device_changed(void *state, const char *ue, enum mgw_dev_change what)
{
	struct coap_ad *ad = state;
	struct cs *s, *next;

	if (what == MGW_DEV_ADDED || ad->stopping)
		return;
	for (s = TAILQ_FIRST(&ad->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (!s->have_id || strcmp(s->ue, ue) != 0)
			continue;
		LOG_CS(s, MGW_LOGL_NOTICE, "session of UE %s closed: device %s", s->ue,
		       mgw_dev_change_name(what));
		s->have_id = false;
		s->established = false;
		s->failed = true;
		coap_res_session_gone(s);
		if (s->dtls && s->session)
			coap_session_disconnected(s->session, COAP_NACK_NOT_DELIVERABLE);
	}
}

const struct mgw_adapter_ops mgw_adapter_coap = {
	.name = "coap",
	.ingress = MGW_IN_COAP,
	.cfg = &mgw_coap_schema,
	.start = coap_start,
	.stop = coap_stop,
	.deliver = coap_deliver,
	.device_changed = coap_device_changed,
};
