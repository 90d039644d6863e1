/* msgin5g-gw core: the submit path for uplink messages and downlink deliveries
 * (include/mgw/core.h). security -> store -> callback once durable. */
#include <string.h>
#include <event2/event.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

/* refresh the cached queue depth at most this often (high-water check) */
#define DEPTH_REFRESH_MS 1000

struct mgw_core {
	struct mgw_core_cfg cfg;
	struct mgw_security *sec;
	struct mgw_store *store;
	struct mgw_router *router;
	size_t depth[_MGW_Q_COUNT];
	int64_t depth_at[_MGW_Q_COUNT];
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
};

int mgw_core_alloc(void *ctx, const struct mgw_core_cfg *cfg, struct mgw_security *sec,
		   struct mgw_store *store, struct mgw_router *router, struct mgw_core **out)
{
	struct mgw_core *c;

	if (!cfg || !cfg->base || !sec || !store)
		return MGW_E_INVAL;
	if (!(c = talloc_zero(ctx, struct mgw_core)))
		return MGW_E_NOMEM;
	c->cfg = *cfg;
	c->sec = sec;
	c->store = store;
	c->router = router;
	*out = c;
	return MGW_OK;
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

static void stored_cb(void *arg, int rc, int64_t id)
{
	struct submit *sub = arg;

	if (rc == MGW_OK) {
		sub->core->depth[sub->q]++;
		LOGP(DCORE, MGW_LOGL_DEBUG, "%s %s/%s stored as #%lld", mgw_dir_name(sub->msg->dir),
		     sub->msg->ori.addr, sub->msg->msg_id, (long long)id);
	} else if (rc == MGW_E_DUPLICATE) {
		LOGP(DCORE, MGW_LOGL_INFO, "%s %s/%s already stored as #%lld: idempotent retry",
		     mgw_dir_name(sub->msg->dir), sub->msg->ori.addr, sub->msg->msg_id,
		     (long long)id);
	} else {
		LOGP_RC(DCORE, MGW_LOGL_ERROR, rc, "%s %s/%s not stored", mgw_dir_name(sub->msg->dir),
			sub->msg->ori.addr, sub->msg->msg_id);
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
	mgw_addr_fmt(&msg->dest, dest, sizeof(dest));
	if ((rc = enqueue(sub, dest, msg->expiry_ms)) != MGW_OK)
		finish_later(sub, rc);
	return MGW_OK;
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
	msg->dir = MGW_DIR_DOWNLINK;
	msg->ingress = MGW_IN_NORTH;
	if (!msg->created_ms)
		msg->created_ms = mgw_now_ms();
	if ((rc = mgw_security_outbound(c->sec, msg, caller, &dev, &sub->v)) != MGW_OK) {
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
	if ((rc = enqueue(sub, dest, expiry)) != MGW_OK)
		finish_later(sub, rc);
	return MGW_OK;
}
