/* msgin5g-gw north: registration of the devices at the M5S on their behalf.
 *
 * TS 23.554 8.2.3/8.2.4 (Non-MSGin5G UE (de)registration by the gateway) have no stage-3
 * API: this is the project extension of doc/interfaces.md "Registration at the M5S".
 * Changes (the start-up/SIGHUP sync, the registry's change notification) collect in two
 * pending lists during a loop turn; a deferred flush turns them into NORTH queue entries
 * of up to `batch` UEs each (origin and FIFO key M5S_REG_ORIGIN, so they reach the M5S in
 * the order they were decided), written with keep like the gateway's own reports. The
 * store kv "m5s.reg" holds one key per UE the gateway took charge of registering, written
 * in the same batch as the entry, so a restart registers only what changed.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/north.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "m5s_reg.h"

#define REG_PATH "/msgs-gwregistration/v1"
/* the MSGin5G segment limit (TS 23.554 8.5): the gateway segments per mechanism itself
 * (concatenated SMS, CoAP/MQTT bodies), so each of its UEs takes whole segments */
#define REG_MAX_SEG 2048
#define OP_REG "register"
#define OP_DEREG "deregister"

#define LOG_REG(level, fmt, ...) LOGP(DNORTH, level, "m5s: " fmt, ##__VA_ARGS__)

struct m5s_reg {
	struct mgw_store *store;
	m5s_reg_kick kick;
	void *kick_arg;
	char *gw_id, *gw_api_root, *url_reg, *url_dereg;
	size_t batch;
	json_t *add; /* pending, by UE Service ID: UE objects to register */
	json_t *del; /* pending, by UE Service ID: the ids to de-register */
	struct event *flush_ev;
	uint64_t seq;
	bool closing; /* the client is going: entries without a callback */
};

static void flush_list(struct m5s_reg *r, const char *op, json_t *ues);

static int reg_destructor(struct m5s_reg *r)
{
	/* changes of this last turn are in the kv already: their entries must join the batch
	 * that the store writes at close, or a restart would take them as sent */
	r->closing = true;
	if (r->add && r->del) {
		flush_list(r, OP_REG, r->add);
		flush_list(r, OP_DEREG, r->del);
	}
	json_decref(r->add);
	json_decref(r->del);
	if (r->flush_ev)
		event_free(r->flush_ev);
	return 0;
}

static const char *mechanism(enum mgw_ingress adapter)
{
	switch (adapter) {
	case MGW_IN_SMS:
		return "SMS";
	case MGW_IN_COAP:
		return "COAP";
	case MGW_IN_MQTT:
		return "MQTT";
	default:
		return NULL; /* the lab test adapter: no mechanism of the tables */
	}
}

static const char *item_ue(json_t *it)
{
	return json_is_string(it) ? json_string_value(it)
				  : json_string_value(json_object_get(it, "ueServiceId"));
}

/* remove ue from a pending set: true if it was there (a hash: a fleet-sized sync stays
 * linear) */
static bool pending_drop(json_t *set, const char *ue)
{
	return json_object_del(set, ue) == 0;
}

static void schedule(struct m5s_reg *r)
{
	event_active(r->flush_ev, EV_TIMEOUT, 0);
}

static int queue_add(struct m5s_reg *r, const char *ue, enum mgw_ingress adapter)
{
	const char *mech = mechanism(adapter);
	json_t *o;
	int rc;

	if (!mech) {
		LOG_REG(MGW_LOGL_INFO, "UE %s: no SMS/CoAP/MQTT mechanism, not registered", ue);
		return MGW_OK;
	}
	pending_drop(r->del, ue);
	pending_drop(r->add, ue);
	if (!(o = json_pack("{s:s, s:s, s:i, s:b}", "ueServiceId", ue, "mechanism", mech,
			    "maxSegSize", (json_int_t)REG_MAX_SEG, "commAvail", 1)))
		return MGW_E_NOMEM;
	if (json_object_set_new(r->add, ue, o) != 0)
		return MGW_E_NOMEM;
	if ((rc = mgw_store_kv_put_kept(r->store, M5S_REG_NS, ue, "1", 1, 0)) != MGW_OK)
		return rc;
	schedule(r);
	return MGW_OK;
}

static int queue_del(struct m5s_reg *r, const char *ue)
{
	void *v = NULL;
	size_t n;
	int rc;

	if (pending_drop(r->add, ue)) /* never sent: nothing to undo at the M5S */
		return mgw_store_kv_del_kept(r->store, M5S_REG_NS, ue);
	rc = mgw_store_kv_get(r->store, NULL, M5S_REG_NS, ue, mgw_now_ms(), &v, &n);
	talloc_free(v);
	if (rc == MGW_E_NOT_FOUND)
		return MGW_OK;
	if (rc != MGW_OK)
		return rc;
	pending_drop(r->del, ue);
	if (json_object_set_new(r->del, ue, json_string(ue)) != 0)
		return MGW_E_NOMEM;
	if ((rc = mgw_store_kv_del_kept(r->store, M5S_REG_NS, ue)) != MGW_OK)
		return rc;
	schedule(r);
	return MGW_OK;
}

static void enqueued(void *arg, int rc, int64_t id)
{
	struct m5s_reg *r = arg;

	(void)id;
	if (rc != MGW_OK && rc != MGW_E_DUPLICATE)
		LOG_REG(MGW_LOGL_NOTICE, "registration entry not durable yet (kept): %s",
			mgw_strerror(rc));
	r->kick(r->kick_arg);
}

/* one entry of ues[from, from + n) */
static int enqueue_chunk(struct m5s_reg *r, const char *op, json_t *ues, size_t from, size_t n)
{
	json_t *part = json_array(), *doc = NULL;
	char *blob = NULL, id[64];
	int rc = MGW_E_NOMEM;

	if (!part)
		goto out;
	for (size_t i = from; i < from + n; i++)
		if (json_array_append(part, json_array_get(ues, i)) != 0)
			goto out;
	if (!(doc = json_pack("{s:s, s:O}", "op", op, "ues", part)) ||
	    !(blob = json_dumps(doc, JSON_COMPACT)))
		goto out;
	snprintf(id, sizeof(id), "reg-%lld-%llu", (long long)mgw_now_ms(),
		 (unsigned long long)++r->seq);
	struct mgw_store_entry_in in = {
		.q = MGW_Q_NORTH, .origin = M5S_REG_ORIGIN, .msg_id = id,
		.order_key = M5S_REG_ORIGIN, .blob = blob, .blob_len = strlen(blob), .keep = true,
	};
	if ((rc = mgw_store_enqueue(r->store, &in, r->closing ? NULL : enqueued, r)) != MGW_OK)
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: %s of %zu UEs not queued", op, n);
out:
	free(blob);
	json_decref(doc);
	json_decref(part);
	return rc;
}

static void flush_list(struct m5s_reg *r, const char *op, json_t *set)
{
	json_t *ues = json_array(), *v;
	const char *k;
	size_t n;

	json_object_foreach(set, k, v)
		if (!ues || json_array_append(ues, v) != 0) {
			/* kept pending: the next flush tries again */
			LOG_REG(MGW_LOGL_ERROR, "%s of %zu UEs not queued yet: out of memory", op,
				json_object_size(set));
			goto out;
		}
	n = json_array_size(ues);
	for (size_t i = 0; i < n; i += r->batch)
		enqueue_chunk(r, op, ues, i, n - i < r->batch ? n - i : r->batch);
	json_object_clear(set);
out:
	json_decref(ues);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct m5s_reg *r = arg;

	(void)fd;
	(void)what;
	flush_list(r, OP_REG, r->add);
	flush_list(r, OP_DEREG, r->del);
}

int m5s_reg_alloc(void *ctx, const struct mgw_north_registration *cfg, const char *m5s_api_root,
		  struct mgw_store *store, struct event_base *base, m5s_reg_kick kick, void *arg,
		  struct m5s_reg **out)
{
	struct m5s_reg *r;
	size_t l = strlen(m5s_api_root);

	while (l && m5s_api_root[l - 1] == '/')
		l--;
	if (!(r = talloc_zero(ctx, struct m5s_reg)))
		return MGW_E_NOMEM;
	talloc_set_destructor(r, reg_destructor);
	r->store = store;
	r->kick = kick;
	r->kick_arg = arg;
	r->batch = (size_t)cfg->batch;
	if (!(r->gw_id = talloc_strdup(r, cfg->gw_id)) ||
	    !(r->gw_api_root = talloc_strdup(r, cfg->api_root)) ||
	    !(r->url_reg = talloc_asprintf(r, "%.*s" REG_PATH "/registrations", (int)l,
					   m5s_api_root)) ||
	    !(r->url_dereg = talloc_asprintf(r, "%.*s" REG_PATH "/deregistrations", (int)l,
					     m5s_api_root)) ||
	    !(r->add = json_object()) || !(r->del = json_object()) ||
	    !(r->flush_ev = event_new(base, -1, 0, on_flush, r))) {
		talloc_free(r);
		return MGW_E_NOMEM;
	}
	*out = r;
	return MGW_OK;
}

bool m5s_reg_is_entry(const struct mgw_store_entry *e)
{
	return e->origin && strcmp(e->origin, M5S_REG_ORIGIN) == 0;
}

/* the stored entry: op and the UE list */
static int entry_read(const void *blob, size_t len, json_t **doc, const char **op, json_t **ues)
{
	json_t *d = json_loadb(blob, len, 0, NULL);

	if (!d || !(*op = json_string_value(json_object_get(d, "op"))) ||
	    (strcmp(*op, OP_REG) != 0 && strcmp(*op, OP_DEREG) != 0) ||
	    !json_is_array(*ues = json_object_get(d, "ues"))) {
		json_decref(d);
		return MGW_E_MALFORMED;
	}
	*doc = d;
	return MGW_OK;
}

int m5s_reg_request(struct m5s_reg *r, void *ctx, const struct mgw_store_entry *e, char **url,
		    char **body, size_t *len, char *label, size_t cap)
{
	json_t *doc = NULL, *ues, *req = NULL;
	const char *op;
	char *s = NULL;
	int rc;

	if ((rc = entry_read(e->blob, e->blob_len, &doc, &op, &ues)) != MGW_OK)
		goto out;
	rc = MGW_E_NOMEM;
	if (strcmp(op, OP_REG) == 0)
		req = json_pack("{s:s, s:s, s:O}", "gwId", r->gw_id, "gwApiRoot", r->gw_api_root,
				"ues", ues);
	else
		req = json_pack("{s:s, s:O}", "gwId", r->gw_id, "ues", ues);
	if (!req || !(s = json_dumps(req, JSON_COMPACT)) ||
	    !(*body = talloc_strdup(ctx, s)) ||
	    !(*url = talloc_strdup(ctx, strcmp(op, OP_REG) == 0 ? r->url_reg : r->url_dereg)))
		goto out;
	*len = strlen(*body);
	snprintf(label, cap, "%s of %zu UE%s", strcmp(op, OP_REG) == 0 ? "registration"
								      : "de-registration",
		 json_array_size(ues), json_array_size(ues) == 1 ? "" : "s");
	rc = MGW_OK;
out:
	free(s);
	json_decref(req);
	json_decref(doc);
	return rc;
}

static void audit_refused(struct mgw_security *sec, const char *ue, const char *why)
{
	struct mgw_identity id = { .ingress = MGW_IN_NORTH, .kind = MGW_CRED_M5S };

	snprintf(id.value, sizeof(id.value), "%s", ue);
	mgw_security_audit_reject(sec, MGW_DIR_UPLINK, MGW_IN_NORTH, &id, NULL, MGW_E_PEER,
				  "REGISTRATION_REFUSED", why);
}

/* a UE the M5S did not register: no longer ours to de-register, tried again at next sync */
static void refused(struct m5s_reg *r, struct mgw_security *sec, bool reg, const char *ue,
		    const char *why)
{
	LOG_REG(MGW_LOGL_NOTICE, "%s of UE %s refused by the M5S: %s",
		reg ? "registration" : "de-registration", ue, why);
	if (reg)
		mgw_store_kv_del_kept(r->store, M5S_REG_NS, ue);
	audit_refused(sec, ue, why);
}

static bool in_request(json_t *ues, const char *ue)
{
	size_t i;
	json_t *it;

	json_array_foreach(ues, i, it) {
		const char *v = item_ue(it);

		if (v && strcmp(v, ue) == 0)
			return true;
	}
	return false;
}

/* 200 with {"results": [{ueServiceId, result: SUCCESS|FAILURE, cause?}]}: the refusals
 * (a result for a UE that was not in this request is ignored) */
static size_t read_results(struct m5s_reg *r, struct mgw_security *sec, bool reg, json_t *ues,
			   const char *resp, size_t resp_len)
{
	json_t *d = resp_len ? json_loadb(resp, resp_len, 0, NULL) : NULL, *it;
	size_t i, bad = 0;

	json_array_foreach(json_object_get(d, "results"), i, it) {
		const char *ue = json_string_value(json_object_get(it, "ueServiceId"));
		const char *res = json_string_value(json_object_get(it, "result"));
		const char *cause = json_string_value(json_object_get(it, "cause"));

		if (!ue || !res || strcmp(res, "SUCCESS") == 0 || !in_request(ues, ue))
			continue;
		refused(r, sec, reg, ue, cause ? cause : res);
		bad++;
	}
	json_decref(d);
	return bad;
}

int m5s_reg_answer(struct m5s_reg *r, struct mgw_security *sec, const void *blob, size_t blob_len,
		   long status, const char *resp, size_t resp_len, char *cause, size_t cap)
{
	json_t *doc = NULL, *ues, *it;
	const char *op;
	size_t i, n, bad;
	bool reg;
	int rc;

	if ((rc = entry_read(blob, blob_len, &doc, &op, &ues)) != MGW_OK) {
		snprintf(cause, cap, "unreadable registration entry");
		return MGW_E_PEER;
	}
	reg = strcmp(op, OP_REG) == 0;
	n = json_array_size(ues);
	if (status < 200 || status >= 300) {
		snprintf(cause, cap, "HTTP %ld", status);
		json_array_foreach(ues, i, it)
			refused(r, sec, reg, item_ue(it), cause);
		rc = MGW_E_PEER;
		goto out;
	}
	bad = status == 200 ? read_results(r, sec, reg, ues, resp, resp_len) : 0;
	LOG_REG(MGW_LOGL_INFO, "%s of %zu UE%s at the M5S: %zu done, %zu refused",
		reg ? "registration" : "de-registration", n, n == 1 ? "" : "s", n - bad, bad);
	rc = MGW_OK;
out:
	json_decref(doc);
	return rc;
}

struct sync {
	struct m5s_reg *r;
	struct mgw_security *sec;
	json_t *gone; /* UEs registered at the M5S and no longer in the registry */
	size_t added;
};

static int collect_gone(void *arg, const char *key, const void *val, size_t len)
{
	struct sync *g = arg;

	(void)val;
	(void)len;
	if (!mgw_security_device(g->sec, key) && json_array_append_new(g->gone, json_string(key)))
		return MGW_E_NOMEM;
	return MGW_OK;
}

/* one registered device: registered at the M5S unless the kv says it is */
static int sync_one(void *arg, const struct mgw_ue_ref *ref)
{
	struct sync *g = arg;
	void *v = NULL;
	size_t len;
	int rc;

	rc = mgw_store_kv_get(g->r->store, NULL, M5S_REG_NS, ref->ue, mgw_now_ms(), &v, &len);
	talloc_free(v);
	if (rc == MGW_OK)
		return MGW_OK;
	if (rc != MGW_E_NOT_FOUND || (rc = queue_add(g->r, ref->ue, ref->adapter)) != MGW_OK)
		return rc;
	g->added++;
	return MGW_OK;
}

int m5s_reg_sync(struct m5s_reg *r, struct mgw_security *sec)
{
	struct sync g = { r, sec, json_array(), 0 };
	size_t i;
	json_t *it;
	int rc = MGW_E_NOMEM;

	if (!g.gone)
		goto out;
	if ((rc = mgw_security_each_device(sec, sync_one, &g)) != MGW_OK)
		goto out;
	if ((rc = mgw_store_kv_foreach(r->store, M5S_REG_NS, collect_gone, &g)) != MGW_OK)
		goto out;
	json_array_foreach(g.gone, i, it)
		if ((rc = queue_del(r, json_string_value(it))) != MGW_OK)
			goto out;
	LOG_REG(MGW_LOGL_NOTICE, "registration sync: %zu UE%s to register, %zu to de-register",
		g.added, g.added == 1 ? "" : "s", json_array_size(g.gone));
	rc = MGW_OK;
out:
	if (rc != MGW_OK)
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: registration sync incomplete");
	json_decref(g.gone);
	return rc;
}

void m5s_reg_changed(struct m5s_reg *r, struct mgw_security *sec, const char *ue, int what)
{
	const struct mgw_device *d;
	int rc;

	if (what == MGW_DEV_REMOVED)
		rc = queue_del(r, ue);
	else if ((d = mgw_security_device(sec, ue)))
		rc = queue_add(r, ue, mgw_device_adapter(d));
	else
		rc = queue_del(r, ue); /* announced, but gone again */
	if (rc != MGW_OK)
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: registration change of UE %s not queued",
			ue);
}
