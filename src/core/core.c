/* msgin5g-gw core: the submit path for uplink messages and downlink deliveries
 * (include/mgw/core.h). security -> store -> callback once durable. */
#include <string.h>
#include <event2/event.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/backoff.h>
#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/jose.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

/* refresh the cached queue depth at most this often (high-water check) */
#define DEPTH_REFRESH_MS 1000
/* downlink: how many deliveries to adapters at once, and the housekeeping period */
#define SOUTH_WINDOW 256
#define SOUTH_TICK_MS 1000
/* downlink retry back-off for a device that is away: 1 s doubling up to 60 s */
#define SOUTH_RETRY_MIN_MS 1000
#define SOUTH_RETRY_MAX_MS 60000

struct notify {
	mgw_core_notify fn;
	void *arg;
	struct event *ev;
};

struct mgw_core {
	struct mgw_core_cfg cfg;
	struct mgw_security *sec;
	struct mgw_store *store;
	struct mgw_router *router;
	size_t depth[_MGW_Q_COUNT];
	int64_t depth_at[_MGW_Q_COUNT];
	struct notify notify[_MGW_Q_COUNT];
	struct event *south_tick;
	size_t south_inflight;
	bool south_stopping;
	const struct mgw_jose_keyset *jose; /* protection profiles toward ASs, or NULL */
	struct mgw_jose_replay *jose_rp;    /* downlink replay cache */
	struct mgw_backoff south_bo;        /* downlink retries */
	bool watching; /* registered with mgw_security_watch() */
};

/* one downlink delivery handed to an adapter */
struct delivery {
	struct mgw_core *core;
	int64_t id;
	uint32_t attempts;
	struct mgw_msg *msg;
	struct mgw_msg *out; /* what the adapter got, if not msg: its COSE-protected copy */
};

/* one submission in flight: lives until its callback has run */
struct submit {
	struct mgw_core *core;
	struct mgw_msg *msg;
	mgw_core_cb cb;
	void *arg;
	int rc;
	struct mgw_verdict v;
	enum mgw_queue q;
	struct mgw_identity id; /* who submitted it: for the second audit record */
};

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;

	(void)fd;
	(void)what;
	if (n->fn)
		n->fn(n->arg);
}

static void south_notify(void *arg);
static void south_tick_cb(evutil_socket_t fd, short what, void *arg);

static void device_changed(void *arg, const char *ue, enum mgw_dev_change what);

static int core_destructor(struct mgw_core *c)
{
	c->south_stopping = true;
	if (c->watching)
		mgw_security_unwatch(c->sec, device_changed, c);
	for (int q = 0; q < _MGW_Q_COUNT; q++)
		if (c->notify[q].ev)
			event_free(c->notify[q].ev);
	if (c->south_tick)
		event_free(c->south_tick);
	return 0;
}

int mgw_core_alloc(void *ctx, const struct mgw_core_cfg *cfg, struct mgw_security *sec,
		   struct mgw_store *store, struct mgw_router *router, struct mgw_core **out)
{
	static const struct timeval tick = { SOUTH_TICK_MS / 1000, (SOUTH_TICK_MS % 1000) * 1000 };
	struct mgw_core *c;

	if (!cfg || !cfg->base || !sec || !store)
		return MGW_E_INVAL;
	if (!(c = talloc_zero(ctx, struct mgw_core)))
		return MGW_E_NOMEM;
	talloc_set_destructor(c, core_destructor);
	c->cfg = *cfg;
	c->sec = sec;
	c->store = store;
	c->router = router;
	mgw_backoff_init(&c->south_bo, SOUTH_RETRY_MIN_MS, SOUTH_RETRY_MAX_MS, 0);
	for (int q = 0; q < _MGW_Q_COUNT; q++)
		if (!(c->notify[q].ev = event_new(cfg->base, -1, 0, notify_cb, &c->notify[q])))
			goto nomem;
	c->notify[MGW_Q_SOUTH].fn = south_notify;
	c->notify[MGW_Q_SOUTH].arg = c;
	if (!(c->south_tick = event_new(cfg->base, -1, EV_PERSIST, south_tick_cb, c)) ||
	    event_add(c->south_tick, &tick) != 0 ||
	    mgw_security_watch(sec, device_changed, c) != MGW_OK)
		goto nomem;
	c->watching = true;
	*out = c;
	return MGW_OK;
nomem:
	talloc_free(c);
	return MGW_E_NOMEM;
}

void mgw_core_set_notify(struct mgw_core *c, enum mgw_queue q, mgw_core_notify fn, void *arg)
{
	if ((unsigned)q >= _MGW_Q_COUNT || q == MGW_Q_SOUTH)
		return; /* SOUTH is the core's own */
	c->notify[q].fn = fn;
	c->notify[q].arg = arg;
}

/* new durable entries in q: wake its consumer once per loop turn, not per message */
static void notify_later(struct mgw_core *c, enum mgw_queue q)
{
	if (c->notify[q].fn && !event_pending(c->notify[q].ev, EV_TIMEOUT, NULL))
		event_active(c->notify[q].ev, EV_TIMEOUT, 0);
}

struct mgw_security *mgw_core_security(struct mgw_core *c)
{
	return c->sec;
}

void mgw_core_free(struct mgw_core *c)
{
	talloc_free(c);
}

int mgw_core_msg_to_blob(void *ctx, const struct mgw_msg *m, char **blob, size_t *len)
{
	return mgw_json_encode_msg(ctx, MGW_BODY_STORED, m, blob, len, NULL);
}

int mgw_core_msg_from_blob(void *ctx, const void *blob, size_t len, struct mgw_msg **out)
{
	static const struct mgw_codec_limits stored = {
		.max_body = 4 * MGW_PAYLOAD_HARD_MAX, .max_payload = MGW_PAYLOAD_HARD_MAX
	};

	return mgw_json_decode_msg(ctx, MGW_BODY_STORED, blob, len, &stored, out, NULL);
}

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct submit *sub = arg;

	(void)fd;
	(void)what;
	sub->cb(sub->arg, sub->rc, &sub->v);
	talloc_free(sub);
}

/* run the callback on the next loop turn: never from inside the submit call */
static void finish_later(struct submit *sub, int rc)
{
	static const struct timeval zero = { 0, 0 };

	sub->rc = rc;
	if (sub->v.rc == MGW_OK && rc != MGW_OK && rc != MGW_E_DUPLICATE) {
		sub->v.rc = rc;
		snprintf(sub->v.cause, sizeof(sub->v.cause), "%s", mgw_errname(rc));
		snprintf(sub->v.detail, sizeof(sub->v.detail), "%s", mgw_strerror(rc));
	}
	if (event_base_once(sub->core->cfg.base, -1, EV_TIMEOUT, finish_cb, sub, &zero) != 0) {
		/* cannot defer (out of memory in libevent): report now rather than lose it */
		finish_cb(-1, 0, sub);
	}
}

/* Security audited "accept" before the store had the message: a second record says it was
 * refused after all, naming the store error (interfaces.md 6). */
static void audit_not_stored(struct submit *sub, int rc)
{
	mgw_security_audit_reject(sub->core->sec, sub->msg->dir, sub->msg->ingress, &sub->id,
				  sub->msg->msg_id, rc, "STORE",
				  "accepted, then not stored (store write failed): refused");
}

static void stored_cb(void *arg, int rc, int64_t id)
{
	struct submit *sub = arg;

	if (rc == MGW_OK) {
		sub->core->depth[sub->q]++;
		notify_later(sub->core, sub->q);
		LOGP(DCORE, MGW_LOGL_DEBUG, "%s %s/%s stored as #%lld", mgw_dir_name(sub->msg->dir),
		     sub->msg->ori.addr, sub->msg->msg_id, (long long)id);
	} else if (rc == MGW_E_DUPLICATE) {
		LOGP(DCORE, MGW_LOGL_INFO, "%s %s/%s already stored as #%lld: idempotent retry",
		     mgw_dir_name(sub->msg->dir), sub->msg->ori.addr, sub->msg->msg_id,
		     (long long)id);
	} else {
		LOGP_RC(DCORE, MGW_LOGL_NOTICE, rc, "%s %s/%s not stored", mgw_dir_name(sub->msg->dir),
			sub->msg->ori.addr, sub->msg->msg_id);
		audit_not_stored(sub, rc);
		sub->v.rc = rc;
		snprintf(sub->v.cause, sizeof(sub->v.cause), "%s", mgw_errname(rc));
		snprintf(sub->v.detail, sizeof(sub->v.detail), "store: %s", mgw_strerror(rc));
	}
	/* the store calls us after its commit, outside any submit call: finish now */
	sub->rc = rc;
	finish_cb(-1, 0, sub);
}

static bool over_high_water(struct mgw_core *c, enum mgw_queue q)
{
	int64_t now = mgw_now_ms();

	if (!c->cfg.high_water)
		return false;
	if (now - c->depth_at[q] >= DEPTH_REFRESH_MS) {
		size_t a = 0, f = 0;

		if (mgw_store_count(c->store, q, MGW_QS_ACCEPTED, &a) == MGW_OK &&
		    mgw_store_count(c->store, q, MGW_QS_INFLIGHT, &f) == MGW_OK)
			c->depth[q] = a + f;
		c->depth_at[q] = now;
	}
	return c->depth[q] >= c->cfg.high_water;
}

static int enqueue(struct submit *sub, const char *dest_key, int64_t expiry_ms)
{
	struct mgw_store_entry_in in = { 0 };
	char origin[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	char *blob = NULL;
	size_t len = 0;
	int rc;

	mgw_addr_fmt(&sub->msg->ori, origin, sizeof(origin));
	if ((rc = mgw_core_msg_to_blob(sub, sub->msg, &blob, &len)) != MGW_OK)
		goto out;
	in.q = sub->q;
	in.origin = origin;
	in.msg_id = sub->msg->msg_id;
	in.order_key = sub->q == MGW_Q_NORTH ? origin : dest_key;
	in.dest_key = dest_key;
	in.blob = blob;
	in.blob_len = len;
	in.expiry_ms = expiry_ms;
	rc = mgw_store_enqueue(sub->core->store, &in, stored_cb, sub);
out:
	talloc_free(blob);
	return rc;
}

static struct submit *submit_new(struct mgw_core *c, struct mgw_msg *msg, mgw_core_cb cb,
				 void *arg, enum mgw_queue q)
{
	struct submit *sub = talloc_zero(c, struct submit);

	if (!sub)
		return NULL;
	sub->core = c;
	sub->msg = talloc_steal(sub, msg);
	sub->cb = cb;
	sub->arg = arg;
	sub->q = q;
	return sub;
}

int mgw_core_submit(struct mgw_core *c, struct mgw_msg *msg, const struct mgw_identity *id,
		    mgw_core_cb cb, void *arg)
{
	struct submit *sub;
	char dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	int rc;

	if (!c || !msg || !id || !cb)
		return MGW_E_INVAL;
	if (!(sub = submit_new(c, msg, cb, arg, MGW_Q_NORTH))) {
		mgw_msg_free(msg);
		return MGW_E_NOMEM;
	}
	sub->id = *id;
	msg->dir = MGW_DIR_UPLINK;
	msg->ingress = id->ingress;
	if (!msg->created_ms)
		msg->created_ms = mgw_now_ms();
	if ((rc = mgw_security_inbound(c->sec, msg, id, &sub->v)) != MGW_OK) {
		finish_later(sub, rc);
		return MGW_OK;
	}
	if (over_high_water(c, MGW_Q_NORTH)) {
		finish_later(sub, MGW_E_FULL);
		return MGW_OK;
	}
	/* what the acceptance consumed (a COSE Partial IV) joins the batch of the message:
	 * durable together, or lost together and the device sends again */
	if ((rc = mgw_security_inbound_commit(c->sec, &sub->v)) != MGW_OK) {
		finish_later(sub, rc);
		return MGW_OK;
	}
	mgw_addr_fmt(&msg->dest, dest, sizeof(dest));
	if ((rc = enqueue(sub, dest, msg->expiry_ms)) != MGW_OK) {
		audit_not_stored(sub, rc);
		finish_later(sub, rc);
	}
	return MGW_OK;
}

/* ---- protection profiles toward ASs (issue 7, jose.h) ---- */

void mgw_core_set_jose(struct mgw_core *c, const struct mgw_jose_keyset *ks,
		       struct mgw_jose_replay *rp)
{
	if (!c)
		return;
	c->jose = ks;
	c->jose_rp = rp;
}

/* Downlink from an AS: a signed and/or encrypted payload is checked and opened before
 * anything is stored (the device gets the content over its own protected channel); a
 * refusal is audited here, before the destination check would write its own record. */
static int open_downlink(struct mgw_core *c, struct mgw_msg *m, const struct mgw_identity *caller,
			 struct mgw_verdict *v)
{
	struct mgw_jose_result res;
	struct mgw_jose_err err;
	uint8_t *out = NULL;
	size_t n = 0;
	void *tmp;
	int rc;

	if (!c->jose || m->kind != MGW_MSG_MESSAGE)
		return MGW_OK;
	if (!(tmp = talloc_new(c)))
		return MGW_E_NOMEM;
	memset(&err, 0, sizeof(err));
	memset(&res, 0, sizeof(res));
	rc = mgw_jose_open(tmp, c->jose, c->jose_rp, m, mgw_now_ms() / 1000, &out, &n, &res, &err);
	if (rc == MGW_OK && !res.is_signed && m->dest.type == MGW_ADDR_UE &&
	    mgw_security_ue_protection(c->sec, m->dest.addr) > MGW_JOSE_TRANSPORT) {
		/* the device's registry entry asks for signed downlink */
		err.cause = MGW_JOSE_UNSIGNED;
		snprintf(err.where, sizeof(err.where), "payload");
		snprintf(err.text, sizeof(err.text), "%.100s requires payloads signed by the AS (registry "
			 "protection)", m->dest.addr);
		rc = mgw_jose_cause_rc(MGW_JOSE_UNSIGNED);
	}
	if (rc == MGW_E_REPLAY) {
		/* the same signed object under the same envelope: the M5S retrying a delivery
		 * whose answer it lost. If that delivery is stored, it is the idempotent retry
		 * (answered as such, stored once), not a replay */
		char origin[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
		struct mgw_store_entry *e;

		mgw_addr_fmt(&m->ori, origin, sizeof(origin));
		if (mgw_store_get(c->store, tmp, MGW_Q_SOUTH, origin, m->msg_id, &e) == MGW_OK)
			rc = MGW_OK;
	}
	if (rc == MGW_OK && out) {
		rc = mgw_msg_set_payload(m, out, n);
		m->prot = res.prot;
	}
	talloc_free(tmp);
	if (rc != MGW_OK) {
		memset(v, 0, sizeof(*v));
		v->rc = rc;
		snprintf(v->cause, sizeof(v->cause), "%s", mgw_jose_cause_name(err.cause));
		snprintf(v->detail, sizeof(v->detail), "%s: %s%s%.120s", mgw_jose_cause_name(err.cause),
			 err.where, err.where[0] ? ": " : "", err.text);
		if (m->dest.type == MGW_ADDR_UE)
			snprintf(v->ue, sizeof(v->ue), "%s", m->dest.addr);
		mgw_security_audit_reject(c->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, caller, m->msg_id,
					  rc, v->cause, v->detail);
	}
	return rc;
}

int mgw_core_protect_uplink(struct mgw_core *c, struct mgw_msg *m, char *cause, size_t cap)
{
	struct mgw_jose_err err;
	enum mgw_prot prot = MGW_PROT_NONE;
	char *out = NULL;
	size_t n = 0;
	void *tmp;
	int rc;

	if (!c || !m)
		return MGW_E_INVAL;
	if (!c->jose || m->kind != MGW_MSG_MESSAGE || m->prot == MGW_PROT_JWS ||
	    m->prot == MGW_PROT_JWE)
		return MGW_OK;
	if (!(tmp = talloc_new(c)))
		return MGW_E_NOMEM;
	memset(&err, 0, sizeof(err));
	rc = mgw_jose_protect_min(tmp, c->jose, m,
				  m->ori.type == MGW_ADDR_UE
					  ? (enum mgw_jose_protection)mgw_security_ue_protection(
						    c->sec, m->ori.addr)
					  : MGW_JOSE_TRANSPORT,
				  mgw_now_ms() / 1000, &out, &n, &prot, &err);
	if (rc == MGW_OK && out) {
		if ((rc = mgw_msg_set_payload(m, out, n)) == MGW_OK) {
			m->has_payload = true;
			m->prot = prot;
		}
	}
	talloc_free(tmp);
	if (rc != MGW_OK) {
		snprintf(cause, cap, "PROTECT_%s: %s", mgw_jose_cause_name(err.cause), err.text);
		mgw_security_audit_reject(c->sec, MGW_DIR_UPLINK, MGW_IN_NORTH, NULL, m->msg_id, rc,
					  mgw_jose_cause_name(err.cause), cause);
	}
	return rc;
}

int mgw_core_accept_downlink(struct mgw_core *c, struct mgw_msg *msg,
			     const struct mgw_identity *caller, mgw_core_cb cb, void *arg)
{
	const struct mgw_device *dev = NULL;
	struct submit *sub;
	char dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	int64_t expiry;
	int rc;

	if (!c || !msg || !caller || !cb)
		return MGW_E_INVAL;
	if (!(sub = submit_new(c, msg, cb, arg, MGW_Q_SOUTH))) {
		mgw_msg_free(msg);
		return MGW_E_NOMEM;
	}
	sub->id = *caller;
	msg->dir = MGW_DIR_DOWNLINK;
	msg->ingress = MGW_IN_NORTH;
	if (!msg->created_ms)
		msg->created_ms = mgw_now_ms();
	if ((rc = open_downlink(c, msg, caller, &sub->v)) != MGW_OK ||
	    (rc = mgw_security_outbound(c->sec, msg, caller, &dev, &sub->v)) != MGW_OK) {
		finish_later(sub, rc);
		return MGW_OK;
	}
	if (over_high_water(c, MGW_Q_SOUTH)) {
		finish_later(sub, MGW_E_FULL);
		return MGW_OK;
	}
	/* L3G/N3G bodies carry no expiry: the gateway's own validity applies */
	expiry = msg->expiry_ms ? msg->expiry_ms
				: (c->cfg.downlink_validity_ms ? msg->created_ms +
								     c->cfg.downlink_validity_ms
							       : 0);
	msg->expiry_ms = expiry;
	mgw_addr_fmt(&msg->dest, dest, sizeof(dest));
	if ((rc = enqueue(sub, dest, expiry)) != MGW_OK) {
		audit_not_stored(sub, rc);
		finish_later(sub, rc);
	}
	return MGW_OK;
}

/* ---- delivery status reports generated by the gateway ---- */

static void report_stored(void *arg, int rc, int64_t id)
{
	struct mgw_msg *r = arg;

	if (rc == MGW_OK || rc == MGW_E_DUPLICATE)
		LOGP(DCORE, MGW_LOGL_INFO, "report %s for %s/%s queued %s as #%lld",
		     r->deliv_st_name, r->dest.addr, r->msg_id, mgw_dir_name(r->dir), (long long)id);
	else
		LOGP(DCORE, MGW_LOGL_NOTICE, "report %s for %s/%s not stored yet: kept, written when "
		     "the store takes writes again", r->deliv_st_name, r->dest.addr, r->msg_id);
	talloc_free(r);
}

static int report(struct mgw_core *c, const struct mgw_msg *m, bool delivered, const char *cause)
{
	struct mgw_store_entry_in in = { 0 };
	char origin[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 16];
	char dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	struct mgw_msg *r;
	char *blob = NULL;
	size_t len = 0;
	int rc;

	if (m->kind == MGW_MSG_REPORT || !m->has_deliv_st_req || !m->deliv_st_req)
		return MGW_OK; /* nobody asked; reports are never answered with reports */
	if (!(r = mgw_msg_alloc(c, MGW_MSG_REPORT)))
		return MGW_E_NOMEM;
	r->ori = m->dest;
	r->dest = m->ori;
	/* one msgId field: the acknowledged message's id (standards brief 7.5) */
	memcpy(r->msg_id, m->msg_id, sizeof(r->msg_id));
	r->deliv_st = delivered ? MGW_DELIV_SUCCESS : MGW_DELIV_FAILED;
	snprintf(r->deliv_st_name, sizeof(r->deliv_st_name), "%s", mgw_deliv_st_name(r->deliv_st));
	if (cause) {
		r->has_failure_cause = true;
		mgw_str_set(r->failure_cause, sizeof(r->failure_cause), cause); /* truncation is fine */
	}
	/* toward the originator: back north for downlink messages, south for our devices */
	r->dir = m->dir == MGW_DIR_DOWNLINK ? MGW_DIR_UPLINK : MGW_DIR_DOWNLINK;
	r->ingress = m->dir == MGW_DIR_DOWNLINK ? m->ingress : MGW_IN_NORTH;
	r->created_ms = mgw_now_ms();
	if (r->dir == MGW_DIR_DOWNLINK && c->cfg.downlink_validity_ms)
		r->expiry_ms = r->created_ms + c->cfg.downlink_validity_ms;
	mgw_addr_fmt(&r->dest, dest, sizeof(dest));
	/* a report shares the msgId of its message: keep their idempotence keys apart */
	snprintf(origin, sizeof(origin), "report:%s", dest);
	if ((rc = mgw_core_msg_to_blob(r, r, &blob, &len)) != MGW_OK)
		goto fail;
	in.q = r->dir == MGW_DIR_UPLINK ? MGW_Q_NORTH : MGW_Q_SOUTH;
	in.origin = origin;
	in.msg_id = r->msg_id;
	in.order_key = dest;
	in.dest_key = dest;
	in.blob = blob;
	in.blob_len = len;
	in.expiry_ms = r->expiry_ms;
	in.keep = true; /* nobody would send it again: the store keeps it through a failed write */
	if ((rc = mgw_store_enqueue(c->store, &in, report_stored, r)) != MGW_OK)
		goto fail;
	talloc_free(blob);
	notify_later(c, in.q);
	return MGW_OK;
fail:
	LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "report for %s/%s not queued", dest, m->msg_id);
	talloc_free(r);
	return rc;
}

int mgw_core_report_failure(struct mgw_core *c, const struct mgw_msg *m, const char *cause)
{
	return report(c, m, false, cause);
}

int mgw_core_report_delivered(struct mgw_core *c, const struct mgw_msg *m)
{
	return report(c, m, true, NULL);
}

/* ---- downlink dispatcher: SOUTH queue -> adapters ---- */

static int64_t south_backoff(struct mgw_core *c, uint32_t attempts)
{
	return mgw_backoff_delay(&c->south_bo, attempts, 0);
}

static void delivered_cb(void *arg, int rc, bool retry, const char *cause)
{
	struct delivery *d = arg;
	struct mgw_core *c = d->core;
	int src;

	c->south_inflight--;
	if (rc == MGW_DELIVER_HANDED_OVER) {
		/* the adapter reports the outcome when it learns it */
		src = mgw_store_complete(c->store, d->id);
		LOGP(DCORE, MGW_LOGL_INFO, "downlink %s/%s handed over for %s", d->msg->ori.addr,
		     d->msg->msg_id, d->msg->dest.addr);
	} else if (rc == MGW_OK) {
		src = mgw_store_complete(c->store, d->id);
		LOGP(DCORE, MGW_LOGL_INFO, "downlink %s/%s delivered to %s", d->msg->ori.addr,
		     d->msg->msg_id, d->msg->dest.addr);
		report(c, d->msg, true, NULL);
	} else if (retry) {
		src = mgw_store_retry(c->store, d->id, mgw_now_ms() + south_backoff(c, d->attempts));
		LOGP(DCORE, MGW_LOGL_DEBUG, "downlink %s/%s to %s: %s, will retry",
		     d->msg->ori.addr, d->msg->msg_id, d->msg->dest.addr, cause ? cause : mgw_strerror(rc));
	} else {
		src = mgw_store_fail(c->store, d->id, cause ? cause : mgw_strerror(rc));
		LOGP(DCORE, MGW_LOGL_NOTICE, "downlink %s/%s to %s failed: %s", d->msg->ori.addr,
		     d->msg->msg_id, d->msg->dest.addr, cause ? cause : mgw_strerror(rc));
		report(c, d->msg, false, cause ? cause : mgw_strerror(rc));
	}
	if (src != MGW_OK)
		LOGP_RC(DCORE, MGW_LOGL_ERROR, src, "downlink #%lld: store update failed", (long long)d->id);
	talloc_free(d);
	if (!c->south_stopping)
		notify_later(c, MGW_Q_SOUTH);
}

static void expire_south(struct mgw_core *c, int64_t now)
{
	struct mgw_store_entry **e = NULL;
	size_t n = 0;
	void *tmp = talloc_new(c);
	int rc;

	if ((rc = mgw_store_expire(c->store, tmp, now, 256, &e, &n)) != MGW_OK) {
		LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "downlink expiry");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct mgw_msg *m = NULL;

		if (mgw_core_msg_from_blob(tmp, e[i]->blob, e[i]->blob_len, &m) != MGW_OK)
			continue;
		LOGP(DCORE, MGW_LOGL_NOTICE, "%s %s/%s to %s expired undelivered",
		     m->kind == MGW_MSG_REPORT ? "report" : "message", m->ori.addr, m->msg_id,
		     m->dest.addr);
		report(c, m, false, "EXPIRED: not delivered within the validity period");
	}
out:
	talloc_free(tmp);
}

/* ---- reassembly of segmented downlink messages ----
 *
 * The gateway delivers to devices that know nothing of MSGin5G segmentation, so a message the
 * M5S sent in segments (segInd true, segParams with segId and segNumb; totalSegCount on the
 * first, lastSegFlag on the last: TS 23.554 8.5) is put back together before it goes to the
 * adapter (Rel-19: the Message Gateway reassembles for non-MSGin5G UEs). Each segment, as it
 * comes off the SOUTH queue, is copied into one kv row per set (namespace "reasm", key
 * dest|origin|segId) and completed, in the same store batch. The set's last segment turns it
 * into one message: the first segment's members (its msgId, delivStReqInd, appId) with the
 * payloads joined in segNumb order and no segment members, queued to SOUTH (store key
 * "<msgId>#reasm") and delivered like any other. A set not complete by its deadline (the
 * first segment's expiry, else queue.downlink_validity, else 24 h) ends with REPT_DELY_FAILED
 * "SEGMENTS_MISSING" for the first segment's msgId; a count that contradicts the set, a
 * number out of 1..REASM_MAX_PARTS or a joined payload over MGW_PAYLOAD_HARD_MAX ends that
 * segment (and, for the size, the set) the same way. */
#define REASM_NS "reasm"
#define REASM_MAX_PARTS 256
#define REASM_DEFAULT_MS (24LL * 3600 * 1000)

static bool is_segment(const struct mgw_msg *m)
{
	return m->kind == MGW_MSG_MESSAGE && m->has_seg_ind && m->seg_ind && m->has_seg &&
	       m->seg.has_seg_id && m->seg.has_numb;
}

static void reasm_key(const struct mgw_msg *m, char *key, size_t len)
{
	char d[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2], o[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];

	mgw_addr_fmt(&m->dest, d, sizeof(d));
	mgw_addr_fmt(&m->ori, o, sizeof(o));
	snprintf(key, len, "%s|%s|%s", d, o, m->seg.seg_id);
}

static void reasm_stored(void *arg, int rc, int64_t id)
{
	(void)arg;
	if (rc == MGW_OK || rc == MGW_E_DUPLICATE)
		LOGP(DCORE, MGW_LOGL_DEBUG, "reassembled message queued as #%lld", (long long)id);
	else
		LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "reassembled message lost");
}

/* Join the parts 1..total of st into one message and queue it. */
static int reasm_finish(struct mgw_core *c, void *tmp, json_t *parts, int64_t total)
{
	struct mgw_store_entry_in in = { 0 };
	char origin[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2], dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	struct mgw_msg *base = NULL, *m;
	uint8_t *buf = NULL;
	size_t len = 0, blen = 0;
	char *blob = NULL, num[24], *id;
	int rc;

	for (int64_t i = 1; i <= total; i++) {
		json_t *b;

		snprintf(num, sizeof(num), "%lld", (long long)i);
		if (!(b = json_object_get(parts, num)) ||
		    mgw_core_msg_from_blob(tmp, json_string_value(b), json_string_length(b), &m) != MGW_OK)
			return MGW_E_INTERNAL;
		if (i == 1)
			base = m;
		if (m->payload_len) {
			if (!(buf = talloc_realloc_size(tmp, buf, len + m->payload_len + 1)))
				return MGW_E_NOMEM;
			memcpy(buf + len, m->payload, m->payload_len);
			len += m->payload_len;
		}
	}
	if ((rc = mgw_msg_set_payload(base, buf ? (const char *)buf : "", len)) != MGW_OK)
		return rc;
	base->has_payload = len > 0;
	base->has_seg_ind = false;
	base->seg_ind = false;
	base->has_seg = false;
	memset(&base->seg, 0, sizeof(base->seg));
	if ((rc = mgw_core_msg_to_blob(tmp, base, &blob, &blen)) != MGW_OK)
		return rc;
	mgw_addr_fmt(&base->ori, origin, sizeof(origin));
	mgw_addr_fmt(&base->dest, dest, sizeof(dest));
	if (!(id = talloc_asprintf(tmp, "%s#reasm", base->msg_id)))
		return MGW_E_NOMEM;
	in.q = MGW_Q_SOUTH;
	in.origin = origin;
	in.msg_id = id;
	in.order_key = dest;
	in.dest_key = dest;
	in.blob = blob;
	in.blob_len = blen;
	in.expiry_ms = base->expiry_ms;
	LOGP(DCORE, MGW_LOGL_INFO, "downlink %s/%s: %lld segments joined (%zu bytes) for %s", origin,
	     base->msg_id, (long long)total, len, dest);
	return mgw_store_enqueue(c->store, &in, reasm_stored, NULL);
}

/* A set that cannot complete: its first segment (or this one) reports the failure. */
static void reasm_fail(struct mgw_core *c, void *tmp, json_t *st, const struct mgw_msg *seg,
		       const char *cause)
{
	json_t *first = st ? json_object_get(json_object_get(st, "parts"), "1") : NULL;
	struct mgw_msg *m = NULL;

	if (first && mgw_core_msg_from_blob(tmp, json_string_value(first), json_string_length(first),
					    &m) == MGW_OK)
		seg = m;
	LOGP(DCORE, MGW_LOGL_NOTICE, "downlink %s/%s segments for %s: %s", seg->ori.addr,
	     seg->msg_id, seg->dest.addr, cause);
	report(c, seg, false, cause);
}

/* Take one segment off the queue into its set (see above). */
static void absorb_segment(struct mgw_core *c, struct delivery *d, const struct mgw_store_entry *e)
{
	const struct mgw_msg *m = d->msg;
	void *tmp = talloc_new(d);
	char key[3 * MGW_ID_MAX + 2 * MGW_ADDR_TYPE_NAME_MAX + 8], num[24];
	json_t *st = NULL, *parts, *jt;
	void *val = NULL;
	size_t vlen = 0, n;
	int64_t now = mgw_now_ms(), total = 0, deadline;
	char *text = NULL;
	int rc;

	reasm_key(m, key, sizeof(key));
	if (!tmp)
		goto retry;
	rc = mgw_store_kv_get(c->store, tmp, REASM_NS, key, now, &val, &vlen);
	if (rc == MGW_OK)
		st = json_loadb(val, vlen, 0, NULL);
	else if (rc != MGW_E_NOT_FOUND)
		goto retry;
	if (!st) {
		deadline = m->expiry_ms ? m->expiry_ms
					: now + (c->cfg.downlink_validity_ms ? c->cfg.downlink_validity_ms
									     : REASM_DEFAULT_MS);
		if (!(st = json_pack("{s:I, s:{}}", "deadline", (json_int_t)deadline, "parts")))
			goto retry;
	}
	parts = json_object_get(st, "parts");
	if (m->seg.numb < 1 || m->seg.numb > REASM_MAX_PARTS ||
	    (m->seg.has_total && (m->seg.total < 1 || m->seg.total > REASM_MAX_PARTS))) {
		mgw_store_fail(c->store, d->id, "SEGMENT_INVALID");
		reasm_fail(c, tmp, NULL, m, "SEGMENT_INVALID: segNumb or totalSegCount out of range");
		goto out;
	}
	jt = json_object_get(st, "total");
	if (m->seg.has_total && jt && json_integer_value(jt) != m->seg.total) {
		mgw_store_fail(c->store, d->id, "SEGMENT_MISMATCH");
		reasm_fail(c, tmp, NULL, m, "SEGMENT_MISMATCH: totalSegCount contradicts its set");
		goto out;
	}
	if (m->seg.has_total)
		json_object_set_new(st, "total", json_integer(m->seg.total));
	if (m->seg.has_last && m->seg.last && !json_object_get(st, "total"))
		json_object_set_new(st, "total", json_integer(m->seg.numb));
	snprintf(num, sizeof(num), "%lld", (long long)m->seg.numb);
	if (!json_object_get(parts, num) &&
	    json_object_set_new(parts, num, json_stringn((const char *)e->blob, e->blob_len)) != 0)
		goto retry;
	total = json_integer_value(json_object_get(st, "total"));
	/* the joined payload is bounded before it is ever built */
	n = 0;
	{
		const char *k;
		json_t *v;

		json_object_foreach(parts, k, v)
			n += json_string_length(v);
	}
	if (n > 2 * MGW_PAYLOAD_HARD_MAX) {
		mgw_store_fail(c->store, d->id, "SEGMENTS_TOO_LARGE");
		reasm_fail(c, tmp, st, m, "SEGMENTS_TOO_LARGE: the joined message exceeds the limit");
		mgw_store_kv_del(c->store, REASM_NS, key);
		goto out;
	}
	if (total && json_object_size(parts) >= (size_t)total) {
		rc = reasm_finish(c, tmp, parts, total);
		if (rc == MGW_E_INTERNAL) {
			/* numbers beyond total, or a gap: not the set it claims to be */
			mgw_store_fail(c->store, d->id, "SEGMENT_MISMATCH");
			reasm_fail(c, tmp, st, m, "SEGMENT_MISMATCH: segment numbers do not match the count");
			mgw_store_kv_del(c->store, REASM_NS, key);
			goto out;
		}
		if (rc != MGW_OK)
			goto retry;
		mgw_store_kv_del(c->store, REASM_NS, key);
	} else {
		deadline = json_integer_value(json_object_get(st, "deadline"));
		if (!(text = json_dumps(st, JSON_COMPACT)) ||
		    mgw_store_kv_put(c->store, REASM_NS, key, text, strlen(text),
				     deadline + REASM_DEFAULT_MS) != MGW_OK)
			goto retry;
		LOGP(DCORE, MGW_LOGL_DEBUG, "downlink %s/%s: segment %lld of %s kept (%zu so far)",
		     m->ori.addr, m->msg_id, (long long)m->seg.numb, total ? "a known count" : "an open set",
		     json_object_size(parts));
	}
	mgw_store_complete(c->store, d->id);
	goto out;
retry:
	mgw_store_retry(c->store, d->id, now + south_backoff(c, d->attempts));
out:
	free(text);
	json_decref(st);
	talloc_free(tmp);
}

struct reasm_due {
	struct mgw_core *c;
	void *tmp;
	int64_t now;
	char **keys;
	json_t **sets;
	size_t n;
};

static int reasm_due_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct reasm_due *r = arg;
	json_t *st = json_loadb(val, len, 0, NULL);

	if (!st || json_integer_value(json_object_get(st, "deadline")) > r->now) {
		json_decref(st);
		return 0;
	}
	if (!(r->keys = talloc_realloc(r->tmp, r->keys, char *, r->n + 1)) ||
	    !(r->sets = talloc_realloc(r->tmp, r->sets, json_t *, r->n + 1)) ||
	    !(r->keys[r->n] = talloc_strdup(r->tmp, key))) {
		json_decref(st);
		return -1;
	}
	r->sets[r->n++] = st;
	return 0;
}

/* Sets whose deadline passed: REPT_DELY_FAILED, then forgotten. */
static void reasm_sweep(struct mgw_core *c, int64_t now)
{
	struct reasm_due r = { .c = c, .now = now };

	if (!(r.tmp = talloc_new(c)))
		return;
	mgw_store_kv_foreach(c->store, REASM_NS, reasm_due_cb, &r);
	for (size_t i = 0; i < r.n; i++) {
		json_t *parts = json_object_get(r.sets[i], "parts"), *any = NULL;
		const char *k;
		struct mgw_msg *m = NULL;
		char cause[96];

		snprintf(cause, sizeof(cause), "SEGMENTS_MISSING: %zu of %lld arrived",
			 json_object_size(parts),
			 (long long)json_integer_value(json_object_get(r.sets[i], "total")));
		json_object_foreach(parts, k, any)
			break;
		if (any && mgw_core_msg_from_blob(r.tmp, json_string_value(any), json_string_length(any),
						  &m) == MGW_OK)
			reasm_fail(c, r.tmp, r.sets[i], m, cause);
		mgw_store_kv_del(c->store, REASM_NS, r.keys[i]);
		json_decref(r.sets[i]);
	}
	talloc_free(r.tmp);
}

static void south_barrier_cb(void *arg, int rc, int64_t id)
{
	(void)rc;
	(void)id;
	notify_later(arg, MGW_Q_SOUTH);
}

/* d could not be protected for its device (mgw_security_protect): wait for the reserved
 * sequence numbers (the store's next commit), try again later, or end it (audited) */
static void south_unprotected(struct mgw_core *c, struct delivery *d, int rc, int64_t now)
{
	if (rc == MGW_E_FULL) {
		mgw_store_retry(c->store, d->id, now);
		if (mgw_store_barrier(c->store, south_barrier_cb, c) != MGW_OK)
			LOGP(DCORE, MGW_LOGL_ERROR, "downlink: no wake-up after the commit");
	} else if (rc == MGW_E_STORE || rc == MGW_E_NOMEM) {
		mgw_store_retry(c->store, d->id, now + south_backoff(c, d->attempts));
	} else {
		LOGP(DCORE, MGW_LOGL_NOTICE, "downlink %s/%s to %s cannot be protected: %s",
		     d->msg->ori.addr, d->msg->msg_id, d->msg->dest.addr, mgw_strerror(rc));
		mgw_store_fail(c->store, d->id, "COSE_PROTECT");
		report(c, d->msg, false,
		       "COSE_PROTECT: the message cannot be protected for the device");
	}
	talloc_free(d);
}

/* The destination was removed from the registry (doc/internals/core.md "Changes"): the
 * message can never be delivered; its originator gets a failure report now rather than at
 * expiry. The next entry for that UE is claimable once this one is FAILED. */
static void south_removed(struct mgw_core *c, struct delivery *d)
{
	LOGP(DCORE, MGW_LOGL_NOTICE, "downlink %s/%s to %s failed: UE removed from the registry",
	     d->msg->ori.addr, d->msg->msg_id, d->msg->dest.addr);
	mgw_store_fail(c->store, d->id, "UE_REMOVED");
	report(c, d->msg, false, "UE_REMOVED: the destination UE is no longer registered");
	notify_later(c, MGW_Q_SOUTH);
	talloc_free(d);
}

static void dispatch_south(struct mgw_core *c)
{
	struct mgw_store_entry **e = NULL;
	size_t n = 0;
	void *tmp;
	int64_t now = mgw_now_ms();
	int rc;

	if (c->south_stopping || c->south_inflight >= SOUTH_WINDOW)
		return;
	tmp = talloc_new(c);
	if ((rc = mgw_store_claim(c->store, tmp, MGW_Q_SOUTH, NULL, now, SOUTH_WINDOW - c->south_inflight,
				  &e, &n)) != MGW_OK) {
		LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "downlink claim");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mgw_adapter_ops *ops = NULL;
		const struct mgw_device *dev;
		struct delivery *d;
		void *state = NULL;

		if (!(d = talloc_zero(c, struct delivery)))
			break;
		d->core = c;
		d->id = e[i]->id;
		d->attempts = e[i]->attempts;
		if ((rc = mgw_core_msg_from_blob(d, e[i]->blob, e[i]->blob_len, &d->msg)) != MGW_OK) {
			LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "downlink #%lld unreadable", (long long)d->id);
			mgw_store_fail(c->store, d->id, "unreadable entry");
			talloc_free(d);
			continue;
		}
		if (is_segment(d->msg)) {
			absorb_segment(c, d, e[i]);
			talloc_free(d);
			continue;
		}
		if (!(dev = mgw_security_device(c->sec, d->msg->dest.addr))) {
			south_removed(c, d);
			continue;
		}
		if (mgw_router_pick(c->router, dev, &ops, &state) != MGW_OK) {
			/* its adapter is not running: wait (until expiry) for it */
			LOGP(DCORE, MGW_LOGL_DEBUG, "downlink %s/%s: no adapter for %s, waiting",
			     d->msg->ori.addr, d->msg->msg_id, d->msg->dest.addr);
			mgw_store_retry(c->store, d->id, now + south_backoff(c, d->attempts));
			talloc_free(d);
			continue;
		}
		/* a device with object security gets a protected copy, never the plain one */
		if ((rc = mgw_security_protect(c->sec, d, d->msg, dev, &d->out)) != MGW_OK) {
			south_unprotected(c, d, rc, now);
			continue;
		}
		c->south_inflight++;
		if ((rc = ops->deliver(state, d->out ? d->out : d->msg, dev, delivered_cb, d)) !=
		    MGW_OK) {
			/* the adapter refused synchronously and will not call back */
			c->south_inflight--;
			mgw_store_retry(c->store, d->id, now + south_backoff(c, d->attempts));
			talloc_free(d);
		}
	}
out:
	talloc_free(tmp);
}

static void south_notify(void *arg)
{
	dispatch_south(arg);
}

static void south_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mgw_core *c = arg;

	(void)fd;
	(void)what;
	expire_south(c, mgw_now_ms());
	reasm_sweep(c, mgw_now_ms());
	dispatch_south(c);
}

int mgw_core_kv_put(struct mgw_core *c, const char *ns, const char *key, const void *val,
		    size_t len, int64_t expires_ms)
{
	/* an adapter's state after a delivery (SMS receipts, the reply map): kept through a
	 * failed store write, as the delivery's DONE is */
	return c ? mgw_store_kv_put_kept(c->store, ns, key, val, len, expires_ms) : MGW_E_INVAL;
}

int mgw_core_kv_get(struct mgw_core *c, void *ctx, const char *ns, const char *key, void **val,
		    size_t *len)
{
	return c ? mgw_store_kv_get(c->store, ctx, ns, key, mgw_now_ms(), val, len) : MGW_E_INVAL;
}

int mgw_core_kv_del(struct mgw_core *c, const char *ns, const char *key)
{
	return c ? mgw_store_kv_del_kept(c->store, ns, key) : MGW_E_INVAL;
}

int mgw_core_kv_foreach(struct mgw_core *c, const char *ns, mgw_store_kv_cb cb, void *arg)
{
	return c ? mgw_store_kv_foreach(c->store, ns, cb, arg) : MGW_E_INVAL;
}

int mgw_core_barrier(struct mgw_core *c, mgw_store_cb cb, void *arg)
{
	return c ? mgw_store_barrier(c->store, cb, arg) : MGW_E_INVAL;
}

void mgw_core_kick_south(struct mgw_core *c)
{
	notify_later(c, MGW_Q_SOUTH);
}

int mgw_core_device_ready(struct mgw_core *c, const char *ue)
{
	struct mgw_addr a;
	char dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	size_t n = 0;
	int rc;

	if (!c || !ue)
		return MGW_E_INVAL;
	/* the same key the downlink entries were stored under (mgw_core_accept_downlink) */
	snprintf(dest, sizeof(dest), "UE:%s", ue);
	if (mgw_addr_parse(&a, dest) != MGW_OK || a.type != MGW_ADDR_UE)
		return MGW_E_INVAL;
	mgw_addr_fmt(&a, dest, sizeof(dest));
	if ((rc = mgw_store_wake(c->store, MGW_Q_SOUTH, dest, mgw_now_ms(), &n)) != MGW_OK)
		return rc;
	if (n)
		LOGP(DCORE, MGW_LOGL_DEBUG, "downlink %s: reachable, %zu waiting entries due now",
		     dest, n);
	notify_later(c, MGW_Q_SOUTH);
	return MGW_OK;
}

/* The registry changed (mgw_security_watch()): the adapters close what the old credential
 * opened; a removed UE's queued downlink becomes due now, and dispatch_south() fails it
 * with a report (south_removed()). */
static void device_changed(void *arg, const char *ue, enum mgw_dev_change what)
{
	struct mgw_core *c = arg;

	mgw_router_device_changed(c->router, ue, what);
	if (what == MGW_DEV_REMOVED && mgw_core_device_ready(c, ue) != MGW_OK)
		LOGP(DCORE, MGW_LOGL_ERROR, "downlink to removed %s: not woken (store)", ue);
}

/* at most this many UEs woken per call: a reconnect wakes the rest at their own retry time */
#define WAKE_MAX 4096

int mgw_core_wake_adapter(struct mgw_core *c, enum mgw_ingress in, size_t *n)
{
	char **keys = NULL;
	size_t k = 0, woken = 0;
	void *tmp = NULL;
	int rc;

	if (!c) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(tmp = talloc_new(c))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = mgw_store_waiting_dests(c->store, tmp, MGW_Q_SOUTH, mgw_now_ms(), WAKE_MAX, &keys,
					  &k)) != MGW_OK)
		goto out;
	for (size_t i = 0; i < k; i++) {
		if (strncmp(keys[i], "UE:", 3) != 0 ||
		    mgw_device_adapter(mgw_security_device(c->sec, keys[i] + 3)) != in)
			continue;
		if ((rc = mgw_store_wake(c->store, MGW_Q_SOUTH, keys[i], mgw_now_ms(), NULL)) !=
		    MGW_OK)
			goto out;
		woken++;
	}
	if (woken)
		LOGP(DCORE, MGW_LOGL_INFO, "downlink: %s is back, %zu UEs with mail waiting due now",
		     mgw_ingress_name(in), woken);
	notify_later(c, MGW_Q_SOUTH);
	if (n)
		*n = woken;
	rc = MGW_OK;
out:
	talloc_free(tmp);
	return rc;
}
