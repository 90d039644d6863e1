/* SMPP 3.4 ESME session (bind_transceiver) on the libevent loop, PDUs through libsmpp34.
 * Internal to the SMS adapter (src/adapter/sms/).
 *
 * One smpp_conn is one bind to one SMSC: it connects, binds, keeps the link alive with
 * enquire_link both ways, reconnects with exponential back-off and jitter, answers
 * generic_nack to what it cannot read, and unbinds in order on stop. Submits are bounded by
 * a window of outstanding requests; each ends exactly once in its callback (the SMSC's
 * status, or SMPP_CONN_LOST / SMPP_CONN_TIMEOUT when the answer cannot come).
 */
#ifndef MGW_SMPP_CONN_H
#define MGW_SMPP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

struct event_base;
struct smpp_conn;

/* local outcomes of a submit, beside the SMSC's command_status values */
#define SMPP_CONN_LOST 0xfffffff0u    /* the link went before the answer */
#define SMPP_CONN_TIMEOUT 0xfffffff1u /* no answer within resp_timeout */

struct smpp_conn_cfg {
	const char *name; /* for logs */
	const char *host; /* numeric address */
	int port;
	const char *system_id, *password, *system_type;
	unsigned window;           /* outstanding submit_sm */
	int64_t enquire_ms;        /* enquire_link interval while bound */
	int64_t resp_timeout_ms;   /* an answer later than this: the request failed */
	int64_t reconnect_min_ms, reconnect_max_ms;
	void *ssl_ctx; /* SSL_CTX for SMPP over TLS (peer verified, name = host), or NULL */
};

struct smpp_conn_ops {
	void (*bound)(void *arg, struct smpp_conn *c);
	void (*unbound)(void *arg, struct smpp_conn *c, const char *why);
	/* A deliver_sm arrived (MO or a receipt): answer it with smpp_conn_deliver_resp(),
	 * now or later. The PDU and its TLVs are valid only during the call. */
	void (*deliver)(void *arg, struct smpp_conn *c, uint32_t seq, const deliver_sm_t *pdu);
};

typedef void (*smpp_submit_cb)(void *arg, uint32_t status, const char *message_id);

int smpp_conn_start(void *ctx, struct event_base *base, const struct smpp_conn_cfg *cfg,
		    const struct smpp_conn_ops *ops, void *arg, struct smpp_conn **out);
/* Unbind (if bound) and free; pending submits end with SMPP_CONN_LOST. NULL is a no-op. */
void smpp_conn_stop(struct smpp_conn *c);
bool smpp_conn_bound(const struct smpp_conn *c);
/* bound and the window has room */
bool smpp_conn_ready(const struct smpp_conn *c);
/* Send a submit_sm (sequence number and command fields are set here). MGW_E_FULL when the
 * window is full, MGW_E_PEER when not bound; else cb is called exactly once, later. */
int smpp_conn_submit(struct smpp_conn *c, submit_sm_t *pdu, smpp_submit_cb cb, void *arg);
int smpp_conn_deliver_resp(struct smpp_conn *c, uint32_t seq, uint32_t status);
const char *smpp_conn_name(const struct smpp_conn *c);

#endif
