/* The core: the one entry point for uplink messages and downlink deliveries.
 *
 * Uplink: mgw_core_submit(msg, identity) -> security inbound (bind, policy, audit)
 * -> store (queue NORTH) -> callback with the verdict once durable (or refused).
 * Downlink: mgw_core_accept_downlink(msg, caller) -> security outbound -> store (queue
 * SOUTH) -> callback once durable. Entries leave the queues through the north client
 * (NORTH) and the downlink dispatcher (SOUTH).
 */
#ifndef MGW_CORE_H
#define MGW_CORE_H

#include <mgw/adapter.h>
#include <mgw/msg.h>
#include <mgw/router.h>
#include <mgw/security.h>
#include <mgw/store.h>

struct event_base;

struct mgw_core_cfg {
	struct event_base *base;      /* the loop: callbacks are deferred onto it */
	int64_t downlink_validity_ms; /* store-and-forward validity for L3G/N3G deliveries */
	size_t high_water;            /* queued entries above which submits get MGW_E_FULL */
};

struct mgw_core;

int mgw_core_alloc(void *ctx, const struct mgw_core_cfg *cfg, struct mgw_security *sec,
		   struct mgw_store *store, struct mgw_router *router, struct mgw_core **out);
void mgw_core_free(struct mgw_core *c);

/* cb(arg, rc, verdict): rc MGW_OK (durable), MGW_E_DUPLICATE (already durable: acknowledge
 * the peer as success), or the reject reason with verdict->cause. Ownership of msg passes
 * to the core. Returns MGW_OK when cb will be called (once, never from inside the call
 * itself), or an error when it will not (msg is freed then). */
typedef void (*mgw_core_cb)(void *arg, int rc, const struct mgw_verdict *v);
int mgw_core_submit(struct mgw_core *c, struct mgw_msg *msg, const struct mgw_identity *id,
		    mgw_core_cb cb, void *arg);
int mgw_core_accept_downlink(struct mgw_core *c, struct mgw_msg *msg,
			     const struct mgw_identity *caller, mgw_core_cb cb, void *arg);

/* Called (on the loop) after new entries of queue q became durable: the consumer of that
 * queue (the north client for NORTH) registers here, so the core never calls north. */
typedef void (*mgw_core_notify)(void *arg);
void mgw_core_set_notify(struct mgw_core *c, enum mgw_queue q, mgw_core_notify fn, void *arg);

/* A message ended without delivery (M5S refused it, DELY_FAILED, expired): if its
 * originator asked for a delivery status report, queue a DeliveryStatusReport
 * (REPT_DELY_FAILED, failureCause = cause) toward it: NORTH (deliver-report) for a downlink
 * message from an AS/UE behind the M5S, SOUTH for an uplink message from one of our
 * devices. Reports are never answered with reports. */
int mgw_core_report_failure(struct mgw_core *c, const struct mgw_msg *m, const char *cause);
/* Same, for a message an adapter delivered: REPT_DELY_SUCCESS toward its originator. */
int mgw_core_report_delivered(struct mgw_core *c, const struct mgw_msg *m);

/* Downlink: hand due SOUTH entries to adapters now (also runs on a 1 s timer, which also
 * expires undeliverable entries into REPT_DELY_FAILED reports). */
void mgw_core_kick_south(struct mgw_core *c);
/* A device of UE ue is reachable again (it observes, subscribes, binds): its waiting
 * downlink entries skip what is left of their retry back-off and go now. */
int mgw_core_device_ready(struct mgw_core *c, const char *ue);
/* An adapter is back (reconnected, bound): the downlink waiting out a back-off for the UEs
 * it serves becomes due now. The store answers which UEs have mail waiting (one indexed
 * query, mgw_store_waiting_dests()); security which of them this adapter serves. Never a
 * walk of the registry. *n (may be NULL): UEs woken. */
int mgw_core_wake_adapter(struct mgw_core *c, enum mgw_ingress in, size_t *n);

/* Adapter state that must survive a restart (receipt correlation, reassembly of
 * concatenated SMS, transaction maps): the store's key/value table, namespaced by the
 * adapter ("sms.dlr", ...). Writes join the current batch; mgw_core_barrier() calls back
 * once they are durable (MGW_OK) or not yet (MGW_E_STORE). Puts and deletes are kept through
 * a failed store write (mgw_store_kv_put_kept: written again with the episode, seen by
 * mgw_core_kv_get meanwhile), so MGW_E_STORE from a barrier means "not durable yet", not
 * "gone". Same contracts as mgw_store_kv_* otherwise. */
int mgw_core_kv_put(struct mgw_core *c, const char *ns, const char *key, const void *val,
		    size_t len, int64_t expires_ms);
int mgw_core_kv_get(struct mgw_core *c, void *ctx, const char *ns, const char *key, void **val,
		    size_t *len);
int mgw_core_kv_del(struct mgw_core *c, const char *ns, const char *key);
int mgw_core_kv_foreach(struct mgw_core *c, const char *ns, mgw_store_kv_cb cb, void *arg);
int mgw_core_barrier(struct mgw_core *c, mgw_store_cb cb, void *arg);

/* The protection profiles toward Application Servers (issue 7, include/mgw/jose.h): the
 * key set in use and the downlink replay cache (NULL: transport only). The caller owns
 * them; SIGHUP swaps in a new set. */
struct mgw_jose_keyset;
struct mgw_jose_replay;
void mgw_core_set_jose(struct mgw_core *c, const struct mgw_jose_keyset *ks,
		       struct mgw_jose_replay *rp);
/* Uplink, as the north client sends m: its payload protected as its AS's profile says
 * (sign: JWS, encrypt: JWE of the JWS; iat = now, so a message that waited in the queue is
 * fresh). MGW_OK (m changed or left as it is), or the refusal with cause ("PROTECT_<JOSE
 * cause>: text"), audited once. */
int mgw_core_protect_uplink(struct mgw_core *c, struct mgw_msg *m, char *cause, size_t cap);

/* The security instance (for audit records at boundaries the core does not see, e.g. a
 * refused TLS handshake toward the M5S). */
struct mgw_security *mgw_core_security(struct mgw_core *c);

/* Serialize/deserialize a message for the store (MGW_BODY_STORED envelope). */
int mgw_core_msg_to_blob(void *ctx, const struct mgw_msg *m, char **blob, size_t *len);
int mgw_core_msg_from_blob(void *ctx, const void *blob, size_t len, struct mgw_msg **out);

#endif
