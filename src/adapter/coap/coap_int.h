/* CoAP adapter internals: shared by coap_adapter.c (context, loop, DTLS, sessions, limits)
 * and coap_res.c (the resources: uplink /msg and /report, downlink /inbox). */
#ifndef MGW_COAP_INT_H
#define MGW_COAP_INT_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stdint.h>

#include <coap3/coap.h>

#include <mgw/adapter.h>
#include <mgw/adapter_coap.h>
#include <mgw/log.h>
#include <mgw/security.h>

struct event;
struct event_base;
struct cs_delivery;
struct coap_gate;
struct epoll_event;

/* counters (logged every minute when they moved, and at stop) */
struct coap_counters {
	uint64_t sessions, sessions_peak;
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t refused_max_sessions, refused_handshake_rate, refused_rate;
	uint64_t idle_closed;
	uint64_t uplink_ok, uplink_refused;
	uint64_t notified, delivered, delivery_failed;
	uint64_t plaintext; /* plain CoAP datagrams sent to a coaps port */
	/* the gate (coap_gate.c): cookie-less ClientHellos answered statelessly, dropped over
	 * coap.hello_rate; cookie-proved ones refused over the half-open limits */
	uint64_t hello_verify, hello_shed, half_open_refused, half_open_expired;
};

/* a token bucket per key: source address (handshake_rate) or UE (rate) */
struct hs_bucket {
	LIST_ENTRY(hs_bucket) link;
	char key[MGW_ID_MAX + 1];
	double tokens;
	int64_t last_ms;
};
LIST_HEAD(bucket_list, hs_bucket);

/* block-wise (RFC 7959) reassembly of one request body, per session */
struct cs_block {
	coap_resource_t *res;
	uint8_t *buf;
	size_t len;
	unsigned next_num;
	unsigned szx;
	uint16_t format;
};

/* one CoAP session (libcoap's app data): who it is, what it observes */
struct cs {
	struct coap_ad *ad;
	coap_session_t *session;
	TAILQ_ENTRY(cs) link;
	LIST_ENTRY(cs) ue_link; /* in ad->by_ue while observing */
	char peer[64];
	char ip[48];
	bool dtls;
	bool refused;   /* over a limit at its handshake: refuse the credential */
	const char *refused_cause;
	bool have_id;   /* the handshake proved a credential in the registry */
	bool audited;   /* its handshake failure is already audited */
	bool failed;    /* DTLS error or closed: not an idle close */
	bool established;
	int64_t created_ms;
	struct mgw_identity id;
	char ue[MGW_ID_MAX + 1];
	/* observe on /inbox */
	bool observing;
	uint8_t token[8];
	size_t toklen;
	uint32_t obs_seq;
	bool want_cbor;
	struct cs_delivery *deliv; /* the one notification in flight */
	struct cs_block blk;
};
TAILQ_HEAD(cs_list, cs);
LIST_HEAD(cs_ue_list, cs);

#define COAP_UE_BUCKETS 1024

struct coap_ad {
	const struct mgw_coap_cfg *cfg;
	struct event_base *base;
	struct mgw_core *core;
	struct mgw_security *sec;
	uint8_t psk_buf[256]; /* the PSK handed to libcoap (it copies it); wiped on free */
	void *ticket_ctx; /* outlives the adapter: tickets the core still owes a callback */
	coap_context_t *ctx;
	struct coap_gate *gate; /* in front of the DTLS listeners (coap_gate.c) */
	struct event *io_ev, *timer_ev, *stats_ev, *sweep_ev;
	struct event **plain_ev; /* plaintext sentinels, one per coaps listener (or NULL) */
	size_t n_plain_ev;
	coap_resource_t *r_msg, *r_report, *r_inbox;
	struct cs_list sessions;
	struct cs_ue_list by_ue[COAP_UE_BUCKETS];
	struct bucket_list ip_buckets, ue_buckets;
	size_t n_ip_buckets, n_ue_buckets;
	struct coap_counters n, n_logged;
	bool stopping;
	bool in_io;
	/* handshakes refused at the DTLS layer (alerts in libcoap's log): one audit each */
	char last_refused[64];
	int64_t last_refused_ms;
	int64_t alert_window_ms;
	unsigned alerts_in_window;
	/* lines a peer can cause at will (libcoap's per-datagram warnings, plain CoAP probes):
	 * rate-limited, the count held back reported by the sweep */
	struct mgw_log_rl rl_libcoap, rl_plain;
	char rl_last[96]; /* the last libcoap line held back */
};

#define LOG_CS(s, lvl, fmt, ...) \
	LOGP(DCOAP, lvl, "coap(%s): " fmt, (s)->peer, ##__VA_ARGS__)

/* coap_adapter.c */
struct cs *cs_of(struct coap_ad *ad, coap_session_t *session);
void coap_ad_kick(struct coap_ad *ad); /* run libcoap's I/O and timers soon */
bool cs_rate_ok(struct cs *s);
void cs_session_drop(struct coap_ad *ad, coap_session_t *session); /* a stalled handshake */
int64_t coap_now_ms(void);
bool coap_audit_budget(struct coap_ad *ad, int64_t now); /* audits without a session: 20/s */

/* coap_gate.c: stateless cookies and half-open limits before libcoap sees a new peer */
int coap_gate_add_fd(struct coap_ad *ad, int fd); /* a DTLS listener's socket */
/* libcoap's epoll events, less those of listeners whose next datagram the gate consumed or
 * has not judged yet: the count kept (at the start of ev) */
size_t coap_gate_events(struct coap_ad *ad, struct epoll_event *ev, size_t n);
void coap_gate_session_done(struct coap_ad *ad, coap_session_t *session);
void coap_gate_sweep(struct coap_ad *ad, int64_t now);

/* coap_res.c */
int coap_res_init(struct coap_ad *ad);
void coap_res_session_gone(struct cs *s);
void coap_res_nack(struct coap_ad *ad, coap_session_t *session, const coap_pdu_t *sent,
		   coap_nack_reason_t reason, coap_mid_t mid);
int coap_res_deliver(struct coap_ad *ad, const struct mgw_msg *msg,
		     const struct mgw_device *dev, mgw_deliver_done done, void *arg);
void coap_res_stop(struct coap_ad *ad);

#endif
