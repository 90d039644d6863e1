/* The SMS adapter: SMSC binds, MT (L3G delivery -> submit_sm parts), delivery receipts
 * (-> DeliveryStatusReport), and the adapter ops. MO is in sms_mo.c. doc/internals/sms.md.
 *
 * MT: a delivery is split (sms_split) and its parts go out through the binds' windows in
 * order, one message after another (FIFO). ESME_RTHROTTLED / ESME_RMSGQFUL pause that bind
 * and the same part is sent again later; a lost link sends the unanswered parts again once
 * rebound; a permanent error ends the message (REPT_DELY_FAILED when asked). The message ids
 * of accepted parts are kept (SMS_NS_MT) so that a restart sends only the parts the SMSC
 * has not accepted. When every part is accepted the delivery is handed over
 * (MGW_DELIVER_HANDED_OVER) and, if a report was asked for, the receipts of all parts
 * decide it (SMS_NS_DLR): every part DELIVRD -> REPT_DELY_SUCCESS, any part failed ->
 * REPT_DELY_FAILED "stat/err". A receipt that matches no outstanding part is dropped and
 * audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/adapter_sms.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>
#include <mgw/tls_policy.h>

#include "sms_dlr.h"
#include "sms_int.h"

#define SWEEP_S 5
#define MT_QUEUE_MAX 4096 /* MT messages held by the adapter at once (beyond: retry later) */

/* ---- small helpers ---- */

int64_t sms_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const tlv_t *sms_tlv(const deliver_sm_t *pdu, uint16_t tag)
{
	const tlv_t *t;

	smpp34_tlv_for_each(t, pdu->tlv)
		if (t->tag == tag)
			return t;
	return NULL;
}

bool sms_msisdn_norm(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	if (*in == '+')
		in++;
	if (!*in)
		return false;
	for (; *in; in++) {
		if (*in < '0' || *in > '9' || n + 1 >= cap)
			return false;
		out[n++] = *in;
	}
	out[n] = '\0';
	return true;
}

const struct mgw_sms_port *sms_port_by_app(const struct sms_ad *ad, const char *app_id)
{
	for (size_t i = 0; i < ad->cfg->ports.n; i++) {
		const struct mgw_sms_port *p = MGW_CFG_LIST_AT(&ad->cfg->ports, struct mgw_sms_port, i);

		if (!strcmp(p->app_id, app_id))
			return p;
	}
	return NULL;
}

const struct mgw_sms_port *sms_port_by_port(const struct sms_ad *ad, unsigned port)
{
	for (size_t i = 0; i < ad->cfg->ports.n; i++) {
		const struct mgw_sms_port *p = MGW_CFG_LIST_AT(&ad->cfg->ports, struct mgw_sms_port, i);

		if ((unsigned)p->port == port)
			return p;
	}
	return NULL;
}


/* ---- tickets: callbacks that may come after the adapter is gone ---- */

struct sms_ticket *sms_ticket_new(struct sms_ad *ad, struct sms_bind *b, uint32_t seq)
{
	struct sms_ticket *t = talloc_zero(ad->ticket_ctx, struct sms_ticket);

	if (!t)
		return NULL;
	t->ad = ad;
	t->bind = b;
	t->seq = seq;
	LIST_INSERT_HEAD(&ad->tickets, t, link);
	return t;
}

void sms_ticket_free(struct sms_ticket *t)
{
	if (t->ad)
		LIST_REMOVE(t, link);
	talloc_free(t);
}

static void answer_cb(void *arg, int rc, int64_t id)
{
	struct sms_ticket *t = arg;

	(void)id;
	if (t->ad && t->bind->conn)
		smpp_conn_deliver_resp(t->bind->conn, t->seq, rc == MGW_OK ? t->status : ESME_RX_T_APPN);
	sms_ticket_free(t);
}

void sms_answer_durable(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, uint32_t status)
{
	struct sms_ticket *t = sms_ticket_new(ad, b, seq);

	if (!t) {
		smpp_conn_deliver_resp(b->conn, seq, ESME_RX_T_APPN);
		return;
	}
	t->status = status;
	if (mgw_core_barrier(ad->core, answer_cb, t) != MGW_OK) {
		smpp_conn_deliver_resp(b->conn, seq, ESME_RX_T_APPN);
		sms_ticket_free(t);
	}
}

/* ---- MT ---- */

enum part_state { P_QUEUED = 0, P_INFLIGHT, P_DONE };

struct sms_mt_part {
	struct sms_mt *mt;
	size_t i;
	enum part_state st;
	char id[SMS_DLR_ID_MAX + 1];
};

struct sms_mt {
	TAILQ_ENTRY(sms_mt) link;
	struct sms_ad *ad;
	struct mgw_msg *msg;
	char msisdn[32];
	char key[MGW_ID_MAX * 2 + 40]; /* "<ori>|<msgId>" */
	struct sms_parts *parts;
	struct sms_mt_part *p;
	const struct mgw_sms_port *port;
	bool report;        /* ask for receipts */
	size_t next;        /* first part not yet done */
	size_t inflight;
	mgw_deliver_done done;
	void *done_arg;
	bool failed;        /* a part was refused for good: ends when nothing is in flight */
	char cause[128];
};

static void pump(struct sms_ad *ad);

static void mt_end(struct sms_mt *mt, int rc, bool retry, const char *cause)
{
	struct sms_ad *ad = mt->ad;

	TAILQ_REMOVE(&ad->mts, mt, link);
	ad->n_mts--;
	if (rc != MGW_OK && rc != MGW_DELIVER_HANDED_OVER && !retry)
		mgw_core_kv_del(ad->core, SMS_NS_MT, mt->key);
	mt->done(mt->done_arg, rc, retry, cause);
	talloc_free(mt);
}

/* canonical form of an SMSC message id for the receipt index: lower case, no leading zeros */
static void id_canon(const char *id, char *out, size_t cap)
{
	size_t n = 0;

	while (*id == '0' && id[1])
		id++;
	for (; *id && n + 1 < cap; id++)
		out[n++] = (*id >= 'A' && *id <= 'Z') ? (char)(*id + 32) : *id;
	out[n] = '\0';
}

static void save_progress(struct sms_mt *mt)
{
	json_t *o = json_object(), *ids = json_array();
	char *text;

	json_object_set_new(o, "ref", json_integer(mt->parts->ref));
	json_object_set_new(o, "n", json_integer((json_int_t)mt->parts->n));
	for (size_t i = 0; i < mt->parts->n; i++)
		json_array_append_new(ids, mt->p[i].st == P_DONE ? json_string(mt->p[i].id) : json_null());
	json_object_set_new(o, "ids", ids);
	if ((text = json_dumps(o, JSON_COMPACT))) {
		mgw_core_kv_put(mt->ad->core, SMS_NS_MT, mt->key, text, strlen(text),
				sms_now_ms() + 7LL * 86400 * 1000);
		free(text);
	}
	json_decref(o);
}

/* every part accepted: hand over (receipts decide the report) or done */
static void mt_accepted(struct sms_mt *mt)
{
	struct sms_ad *ad = mt->ad;
	int64_t now = sms_now_ms();
	char ori[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2], dest[sizeof(ori)], canon[SMS_DLR_ID_MAX + 1];
	char gkey[sizeof(mt->key) + 4], ikey[SMS_DLR_ID_MAX + 8];
	json_t *g, *ids, *st;
	char *text;

	mgw_addr_fmt(&mt->msg->ori, ori, sizeof(ori));
	mgw_addr_fmt(&mt->msg->dest, dest, sizeof(dest));
	/* the transaction map: a reply to source_addr within the window goes to ori */
	if (ad->cfg->reply_window_ms > 0) {
		json_t *tx = json_pack("{s:s, s:s, s:s}", "ori", ori, "src", ad->cfg->source_addr,
				       "msgId", mt->msg->msg_id);

		if (tx && (text = json_dumps(tx, JSON_COMPACT))) {
			mgw_core_kv_put(ad->core, SMS_NS_TX, mt->msisdn, text, strlen(text),
					now + ad->cfg->reply_window_ms);
			free(text);
		}
		json_decref(tx);
	}
	mgw_core_kv_del(ad->core, SMS_NS_MT, mt->key);
	if (!mt->report) {
		mt_end(mt, MGW_OK, false, NULL);
		return;
	}
	g = json_object();
	ids = json_array();
	st = json_array();
	json_object_set_new(g, "ori", json_string(ori));
	json_object_set_new(g, "dest", json_string(dest));
	json_object_set_new(g, "msgId", json_string(mt->msg->msg_id));
	json_object_set_new(g, "msisdn", json_string(mt->msisdn));
	json_object_set_new(g, "ask", json_boolean(mt->msg->has_deliv_st_req && mt->msg->deliv_st_req));
	json_object_set_new(g, "deadline", json_integer(now + ad->cfg->receipt_wait_ms));
	for (size_t i = 0; i < mt->parts->n; i++) {
		json_array_append_new(ids, json_string(mt->p[i].id));
		json_array_append_new(st, json_string(""));
	}
	json_object_set_new(g, "ids", ids);
	json_object_set_new(g, "st", st);
	snprintf(gkey, sizeof(gkey), "g:%s", mt->key);
	if ((text = json_dumps(g, JSON_COMPACT))) {
		mgw_core_kv_put(ad->core, SMS_NS_DLR, gkey, text, strlen(text),
				now + ad->cfg->receipt_wait_ms + 86400000);
		free(text);
	}
	json_decref(g);
	for (size_t i = 0; i < mt->parts->n; i++) {
		id_canon(mt->p[i].id, canon, sizeof(canon));
		snprintf(ikey, sizeof(ikey), "id:%s", canon);
		mgw_core_kv_put(ad->core, SMS_NS_DLR, ikey, gkey, strlen(gkey),
				now + ad->cfg->receipt_wait_ms + 86400000);
	}
	mt_end(mt, MGW_DELIVER_HANDED_OVER, false, NULL);
}

static void throttle(struct sms_bind *b)
{
	struct sms_ad *ad = b->ad;
	int64_t max = ad->cfg->throttle_backoff_ms * 64;

	b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : ad->cfg->throttle_backoff_ms;
	if (b->backoff_ms > max)
		b->backoff_ms = max;
	b->pause_until_ms = sms_now_ms() + b->backoff_ms;
	ad->n.mt_throttled++;
	LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: %s throttles: pausing submits for %lld ms", b->cfg->name,
	     (long long)b->backoff_ms);
}

struct submit_arg {
	struct sms_mt_part *part;
	struct sms_bind *bind;
};

static void submit_cb(void *arg, uint32_t status, const char *message_id)
{
	struct submit_arg *sa = arg;
	struct sms_mt_part *part = sa->part;
	struct sms_bind *b = sa->bind;
	struct sms_mt *mt = part->mt;
	struct sms_ad *ad = mt->ad;

	talloc_free(sa);
	mt->inflight--;
	if (ad->stopping)
		return; /* the store entry stays in flight: after a restart only the parts not
			   accepted (SMS_NS_MT) are sent again */
	switch (status) {
	case ESME_ROK:
		part->st = P_DONE;
		snprintf(part->id, sizeof(part->id), "%s", message_id ? message_id : "");
		b->backoff_ms = 0;
		ad->n.mt_parts++;
		if (mt->parts->n > 1)
			save_progress(mt);
		break;
	case ESME_RTHROTTLED:
	case ESME_RMSGQFUL:
		part->st = P_QUEUED;
		throttle(b);
		break;
	case SMPP_CONN_LOST:
	case SMPP_CONN_TIMEOUT:
		/* unknown whether the SMSC took it: sent again once bound (at least once) */
		part->st = P_QUEUED;
		break;
	default:
		part->st = P_QUEUED;
		if (!mt->failed) {
			mt->failed = true;
			ad->n.mt_failed++;
			snprintf(mt->cause, sizeof(mt->cause),
				 "SMSC %s refused part %zu of %zu: status 0x%08x", b->cfg->name,
				 part->i + 1, mt->parts->n, status);
			LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: %s to %s: %s", mt->msg->msg_id,
			     mt->msisdn, mt->cause);
		}
	}
	if (mt->failed) {
		if (!mt->inflight)
			mt_end(mt, MGW_E_PEER, false, mt->cause);
	} else {
		while (mt->next < mt->parts->n && mt->p[mt->next].st == P_DONE)
			mt->next++;
		if (mt->next == mt->parts->n && !mt->inflight)
			mt_accepted(mt);
	}
	pump(ad);
}

static struct sms_bind *pick_bind(struct sms_ad *ad, int64_t now, int64_t *wake)
{
	for (size_t k = 0; k < ad->n_binds; k++) {
		struct sms_bind *b = &ad->binds[(ad->rr + k) % ad->n_binds];

		if (!b->conn || !smpp_conn_ready(b->conn))
			continue;
		if (b->pause_until_ms > now) {
			if (!*wake || b->pause_until_ms < *wake)
				*wake = b->pause_until_ms;
			continue;
		}
		ad->rr = (ad->rr + k + 1) % ad->n_binds;
		return b;
	}
	return NULL;
}

static int submit_part(struct sms_ad *ad, struct sms_bind *b, struct sms_mt *mt, size_t i)
{
	const struct sms_part *sp = &mt->parts->part[i];
	struct submit_arg *sa;
	submit_sm_t s;
	tlv_t tlv;
	int rc;

	memset(&s, 0, sizeof(s));
	s.source_addr_ton = 3; /* abbreviated: a short code */
	s.source_addr_npi = 0;
	snprintf((char *)s.source_addr, sizeof(s.source_addr), "%s", ad->cfg->source_addr);
	s.dest_addr_ton = 1; /* international */
	s.dest_addr_npi = 1; /* E.164 */
	snprintf((char *)s.destination_addr, sizeof(s.destination_addr), "%.20s", mt->msisdn);
	s.esm_class = sp->esm_class;
	s.data_coding = sp->data_coding;
	s.registered_delivery = mt->report ? 1 : 0;
	if (sp->data_coding == SMS_DCS_GSM7 && !ad->cfg->gsm7_packed) {
		size_t n = sms_part_unpacked(sp, s.short_message, sizeof(s.short_message));

		if (!n)
			return MGW_E_INTERNAL;
		s.sm_length = (uint8_t)n;
	} else {
		memcpy(s.short_message, sp->ud, sp->sm_length);
		s.sm_length = (uint8_t)sp->sm_length;
	}
	if (mt->port) {
		memset(&tlv, 0, sizeof(tlv));
		tlv.tag = TLVID_destination_port;
		tlv.length = 2;
		tlv.value.val16 = (uint16_t)mt->port->port;
		if (build_tlv(&s.tlv, &tlv) != 0)
			return MGW_E_NOMEM;
		tlv.tag = TLVID_source_port;
		if (build_tlv(&s.tlv, &tlv) != 0) {
			destroy_tlv(s.tlv);
			return MGW_E_NOMEM;
		}
	}
	if (!(sa = talloc_zero(mt, struct submit_arg))) {
		destroy_tlv(s.tlv);
		return MGW_E_NOMEM;
	}
	sa->part = &mt->p[i];
	sa->bind = b;
	rc = smpp_conn_submit(b->conn, &s, submit_cb, sa);
	destroy_tlv(s.tlv);
	if (rc != MGW_OK) {
		talloc_free(sa);
		return rc;
	}
	mt->p[i].st = P_INFLIGHT;
	mt->inflight++;
	return MGW_OK;
}

/* send what the windows allow, oldest message first, parts in order */
static void pump(struct sms_ad *ad)
{
	int64_t now = sms_now_ms(), wake = 0;
	struct sms_mt *mt, *nx;

	if (ad->stopping)
		return;
	for (mt = TAILQ_FIRST(&ad->mts); mt; mt = nx) {
		nx = TAILQ_NEXT(mt, link);
		if (mt->failed)
			continue;
		if (mt->next == mt->parts->n) {
			/* every part accepted before a restart: finish (not from inside deliver) */
			if (!mt->inflight && !ad->in_deliver)
				mt_accepted(mt);
			continue;
		}
		for (size_t i = mt->next; i < mt->parts->n; i++) {
			struct sms_bind *b;
			int rc;

			if (mt->p[i].st != P_QUEUED)
				continue;
			if (!(b = pick_bind(ad, now, &wake)))
				goto out;
			if ((rc = submit_part(ad, b, mt, i)) != MGW_OK) {
				LOGP_RC(DSMPP, MGW_LOGL_ERROR, rc, "sms: submit_sm of %s part %zu",
					mt->msg->msg_id, i + 1);
				goto out;
			}
		}
	}
out:
	if (wake) {
		struct timeval tv = { (wake - now) / 1000, ((wake - now) % 1000) * 1000 };

		event_add(ad->pump_ev, &tv);
	}
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

struct later {
	mgw_deliver_done done;
	void *arg;
	int rc;
	bool retry;
	char cause[160];
};

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)fd;
	(void)what;
	l->done(l->arg, l->rc, l->retry, l->cause[0] ? l->cause : NULL);
	free(l);
}

/* done, but never from inside deliver() */
static int done_later(struct sms_ad *ad, mgw_deliver_done done, void *arg, int rc, bool retry,
		      const char *cause)
{
	struct later *l = calloc(1, sizeof(*l));

	if (!l)
		return MGW_E_NOMEM;
	l->done = done;
	l->arg = arg;
	l->rc = rc;
	l->retry = retry;
	if (cause)
		snprintf(l->cause, sizeof(l->cause), "%s", cause);
	if (event_base_once(ad->base, -1, EV_TIMEOUT, later_cb, l, NULL) != 0) {
		free(l);
		return MGW_E_NOMEM;
	}
	return MGW_OK;
}

/* parts the SMSC accepted before a restart */
static void load_progress(struct sms_mt *mt, void *tmp)
{
	void *val;
	size_t len;
	json_t *o, *ids;

	if (mgw_core_kv_get(mt->ad->core, tmp, SMS_NS_MT, mt->key, &val, &len) != MGW_OK)
		return;
	if (!(o = json_loadb(val, len, 0, NULL)))
		return;
	ids = json_object_get(o, "ids");
	if ((size_t)json_integer_value(json_object_get(o, "n")) == mt->parts->n &&
	    json_array_size(ids) == mt->parts->n) {
		for (size_t i = 0; i < mt->parts->n; i++) {
			const char *id = json_string_value(json_array_get(ids, i));

			if (id) {
				mt->p[i].st = P_DONE;
				snprintf(mt->p[i].id, sizeof(mt->p[i].id), "%s", id);
			}
		}
		LOGP(DSMPP, MGW_LOGL_INFO, "sms: %s resumes after a restart", mt->key);
	}
	json_decref(o);
}

static int sms_deliver(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
		       mgw_deliver_done done, void *arg)
{
	struct sms_ad *ad = state;
	const char *msisdn = mgw_device_cred(dev, MGW_CRED_MSISDN);
	char ori[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2];
	const uint8_t *data;
	uint8_t *bin = NULL;
	size_t len;
	struct sms_mt *mt;
	bool binary = false;
	void *tmp;
	int rc;

	if (!ad || ad->stopping)
		return MGW_E_PEER;
	if (msg->kind == MGW_MSG_REPORT) {
		/* an SMS-only UE has no use for a DeliveryStatusReport: taken, not sent */
		LOGP(DSMPP, MGW_LOGL_INFO, "sms: report %s for %s not sent as SMS (dropped)",
		     msg->msg_id, msg->dest.addr);
		return done_later(ad, done, arg, MGW_OK, false, NULL);
	}
	if (!msisdn)
		return done_later(ad, done, arg, MGW_E_UNKNOWN_UE, false, "device has no msisdn");
	if (ad->n_mts >= MT_QUEUE_MAX)
		return MGW_E_FULL;
	if (!(mt = talloc_zero(ad, struct sms_mt)))
		return MGW_E_NOMEM;
	tmp = talloc_new(mt);
	mt->ad = ad;
	mt->done = done;
	mt->done_arg = arg;
	snprintf(mt->msisdn, sizeof(mt->msisdn), "%s", msisdn);
	mgw_addr_fmt(&msg->ori, ori, sizeof(ori));
	snprintf(mt->key, sizeof(mt->key), "%s|%s", ori, msg->msg_id);
	if (!(mt->msg = mgw_msg_dup(mt, msg))) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	mt->report = (msg->has_deliv_st_req && msg->deliv_st_req) ||
		     ad->cfg->registered_delivery_always;
	if (msg->has_app_id)
		mt->port = sms_port_by_app(ad, msg->app_id);
	data = msg->has_payload ? msg->payload : (const uint8_t *)"";
	len = msg->has_payload ? msg->payload_len : 0;
	if (mt->port && mt->port->binary) {
		/* binary payloads: base64 of the octets (doc/internals/sms.md) */
		int n;

		binary = true;
		if (!(bin = talloc_size(tmp, len / 4 * 3 + 4))) {
			rc = MGW_E_NOMEM;
			goto fail;
		}
		n = len ? EVP_DecodeBlock(bin, data, (int)len) : 0;
		if (n < 0 || len % 4) {
			talloc_free(mt);
			return done_later(ad, done, arg, MGW_E_MALFORMED, false,
					  "payload of a binary appId is not base64");
		}
		while (len && n > 0 && data[len - 1] == '=' && len--)
			n--;
		data = bin;
		len = (size_t)n;
	}
	rc = sms_split(mt, (const char *)data, len, binary, ad->next_ref, &mt->parts);
	if (rc != MGW_OK) {
		char cause[96];

		snprintf(cause, sizeof(cause), "cannot be sent as SMS: %s", mgw_strerror(rc));
		talloc_free(mt);
		return done_later(ad, done, arg, rc, false, cause);
	}
	if (!(mt->p = talloc_zero_array(mt, struct sms_mt_part, mt->parts->n))) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < mt->parts->n; i++) {
		mt->p[i].mt = mt;
		mt->p[i].i = i;
	}
	if (mt->parts->n > 1) {
		/* a restart sends only what was not accepted, with the same reference */
		void *val;
		size_t vl;
		json_t *o;

		if (mgw_core_kv_get(ad->core, tmp, SMS_NS_MT, mt->key, &val, &vl) == MGW_OK &&
		    (o = json_loadb(val, vl, 0, NULL))) {
			uint8_t ref = (uint8_t)json_integer_value(json_object_get(o, "ref"));

			json_decref(o);
			if (ref != mt->parts->ref) {
				talloc_free(mt->parts);
				mt->parts = NULL;
				if ((rc = sms_split(mt, (const char *)data, len, binary, ref,
						    &mt->parts)) != MGW_OK)
					goto fail;
			}
			load_progress(mt, tmp);
		} else {
			ad->next_ref++;
		}
	}
	talloc_free(tmp);
	TAILQ_INSERT_TAIL(&ad->mts, mt, link);
	ad->n_mts++;
	ad->n.mt_msgs++;
	LOGP(DSMPP, MGW_LOGL_DEBUG, "sms: %s to %s: %zu part(s), data_coding %u", msg->msg_id,
	     mt->msisdn, mt->parts->n, mt->parts->part[0].data_coding);
	while (mt->next < mt->parts->n && mt->p[mt->next].st == P_DONE)
		mt->next++;
	ad->in_deliver = true;
	pump(ad);
	ad->in_deliver = false;
	if (mt->next == mt->parts->n) {
		struct timeval now = { 0, 0 };

		event_add(ad->pump_ev, &now); /* finishes it on the next turn */
	}
	return MGW_OK;
fail:
	talloc_free(mt);
	return rc;
}

/* ---- receipts ---- */

static void dlr_report(struct sms_ad *ad, json_t *g, bool delivered, const char *cause)
{
	struct mgw_msg *m = mgw_msg_alloc(ad, MGW_MSG_MESSAGE);

	if (!m)
		return;
	if (mgw_addr_parse(&m->ori, json_string_value(json_object_get(g, "ori"))) != MGW_OK ||
	    mgw_addr_parse(&m->dest, json_string_value(json_object_get(g, "dest"))) != MGW_OK ||
	    mgw_str_set(m->msg_id, sizeof(m->msg_id),
			json_string_value(json_object_get(g, "msgId"))) != MGW_OK) {
		mgw_msg_free(m);
		return;
	}
	m->has_deliv_st_req = true;
	m->deliv_st_req = json_is_true(json_object_get(g, "ask"));
	m->dir = MGW_DIR_DOWNLINK;
	m->ingress = MGW_IN_NORTH;
	if (delivered)
		mgw_core_report_delivered(ad->core, m);
	else
		mgw_core_report_failure(ad->core, m, cause);
	mgw_msg_free(m);
}

static void dlr_forget(struct sms_ad *ad, const char *gkey, json_t *g)
{
	json_t *ids = json_object_get(g, "ids");
	char canon[SMS_DLR_ID_MAX + 1], ikey[SMS_DLR_ID_MAX + 8];

	for (size_t i = 0; i < json_array_size(ids); i++) {
		id_canon(json_string_value(json_array_get(ids, i)) ?: "", canon, sizeof(canon));
		snprintf(ikey, sizeof(ikey), "id:%s", canon);
		mgw_core_kv_del(ad->core, SMS_NS_DLR, ikey);
	}
	mgw_core_kv_del(ad->core, SMS_NS_DLR, gkey);
}

/* the group key of an SMSC message id: as written, else the same number the other way
 * (an SMSC may print in decimal what submit_sm_resp gave in hex, or the reverse) */
static bool dlr_lookup(struct sms_ad *ad, void *tmp, const char *id, char **gkey)
{
	char canon[SMS_DLR_ID_MAX + 1], alt[SMS_DLR_ID_MAX + 1], ikey[SMS_DLR_ID_MAX + 8];
	unsigned long long v;
	char *end;
	void *val;
	size_t len;

	id_canon(id, canon, sizeof(canon));
	snprintf(ikey, sizeof(ikey), "id:%s", canon);
	if (mgw_core_kv_get(ad->core, tmp, SMS_NS_DLR, ikey, &val, &len) == MGW_OK) {
		*gkey = val;
		return true;
	}
	alt[0] = '\0';
	if (canon[0] && strlen(canon) <= 16) {
		v = strtoull(canon, &end, 10);
		if (!*end)
			snprintf(alt, sizeof(alt), "%llx", v);
		else if ((v = strtoull(canon, &end, 16)), !*end)
			snprintf(alt, sizeof(alt), "%llu", v);
	}
	if (!alt[0])
		return false;
	snprintf(ikey, sizeof(ikey), "id:%s", alt);
	if (mgw_core_kv_get(ad->core, tmp, SMS_NS_DLR, ikey, &val, &len) == MGW_OK) {
		*gkey = val;
		return true;
	}
	return false;
}

void sms_receipt(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const deliver_sm_t *pdu)
{
	const tlv_t *tid = sms_tlv(pdu, TLVID_receipted_message_id);
	const tlv_t *tst = sms_tlv(pdu, TLVID_message_state);
	struct mgw_identity claimed = { .ingress = MGW_IN_SMS, .kind = MGW_CRED_MSISDN };
	struct sms_dlr d;
	char id[SMS_DLR_ID_MAX + 1] = "", msisdn[32] = "", cause[96], detail[200];
	enum sms_dlr_state state;
	bool text_ok, delivered, all = true;
	char *gkey = NULL;
	json_t *g = NULL, *ids, *st;
	void *tmp = talloc_new(ad), *val;
	size_t len, idx = SIZE_MAX;
	char *text;

	ad->n.receipts++;
	snprintf(claimed.peer, sizeof(claimed.peer), "smsc:%s", b->cfg->name);
	if (sms_msisdn_norm((const char *)pdu->source_addr, msisdn, sizeof(msisdn)))
		snprintf(claimed.value, sizeof(claimed.value), "%s", msisdn);
	text_ok = sms_dlr_parse((const char *)pdu->short_message, pdu->sm_length, &d) == MGW_OK;
	if (tid && tid->length > 0) {
		size_t n = tid->length < sizeof(id) ? tid->length : sizeof(id) - 1;

		memcpy(id, tid->value.octet, n);
		id[n] = '\0';
	} else if (text_ok) {
		snprintf(id, sizeof(id), "%s", d.id);
	}
	state = tst ? sms_dlr_state_of_tlv(tst->value.val08) : text_ok ? d.state : SMS_DLR_UNKNOWN;
	if (!id[0] || !dlr_lookup(ad, tmp, id, &gkey) ||
	    mgw_core_kv_get(ad->core, tmp, SMS_NS_DLR, gkey, &val, &len) != MGW_OK ||
	    !(g = json_loadb(val, len, 0, NULL))) {
		ad->n.receipts_unmatched++;
		snprintf(detail, sizeof(detail), "receipt for message id '%s' matches no outstanding "
			 "submit_sm (dropped)", id[0] ? id : "(none)");
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_SMS, &claimed, NULL,
					  MGW_E_NOT_FOUND, "RECEIPT_UNMATCHED", detail);
		LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: %s: %s", b->cfg->name, detail);
		smpp_conn_deliver_resp(b->conn, seq, ESME_ROK);
		goto out;
	}
	/* the receipt comes from the device the message went to */
	if (strcmp(msisdn, json_string_value(json_object_get(g, "msisdn")) ?: "")) {
		ad->n.receipts_unmatched++;
		snprintf(detail, sizeof(detail), "receipt for message id '%s' from %s, but that "
			 "message went to another number (dropped)", id, msisdn[0] ? msisdn : "?");
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_SMS, &claimed, NULL,
					  MGW_E_SPOOF, "RECEIPT_MISMATCH", detail);
		smpp_conn_deliver_resp(b->conn, seq, ESME_ROK);
		goto out;
	}
	if (!sms_dlr_final(state, &delivered)) {
		LOGP(DSMPP, MGW_LOGL_DEBUG, "sms: receipt %s: %s (not final)", id,
		     sms_dlr_state_name(state));
		smpp_conn_deliver_resp(b->conn, seq, ESME_ROK);
		goto out;
	}
	ids = json_object_get(g, "ids");
	st = json_object_get(g, "st");
	for (size_t i = 0; i < json_array_size(ids); i++)
		if (sms_dlr_id_match(json_string_value(json_array_get(ids, i)) ?: "", id))
			idx = i;
	if (idx == SIZE_MAX) {
		smpp_conn_deliver_resp(b->conn, seq, ESME_ROK);
		goto out;
	}
	json_array_set_new(st, idx, json_string(sms_dlr_state_name(state)));
	LOGP(DSMPP, MGW_LOGL_INFO, "sms: receipt %s for %s part %zu: %s", id,
	     json_string_value(json_object_get(g, "msgId")), idx + 1, sms_dlr_state_name(state));
	if (!delivered) {
		snprintf(cause, sizeof(cause), "SMS %s err:%s (part %zu of %zu)",
			 sms_dlr_state_name(state), text_ok && d.err[0] ? d.err : "-", idx + 1,
			 json_array_size(ids));
		dlr_report(ad, g, false, cause);
		dlr_forget(ad, gkey, g);
	} else {
		for (size_t i = 0; i < json_array_size(st); i++)
			if (strcmp(json_string_value(json_array_get(st, i)) ?: "", "DELIVRD"))
				all = false;
		if (all) {
			dlr_report(ad, g, true, NULL);
			dlr_forget(ad, gkey, g);
		} else if ((text = json_dumps(g, JSON_COMPACT))) {
			mgw_core_kv_put(ad->core, SMS_NS_DLR, gkey, text, strlen(text),
					json_integer_value(json_object_get(g, "deadline")) + 86400000);
			free(text);
		}
	}
	sms_answer_durable(ad, b, seq, ESME_ROK);
out:
	json_decref(g);
	talloc_free(tmp);
}

struct due {
	void *tmp;
	int64_t now;
	const char *prefix;
	char **keys;
	size_t n;
};

static int due_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct due *r = arg;
	json_t *o;

	if (strncmp(key, r->prefix, strlen(r->prefix)) || !(o = json_loadb(val, len, 0, NULL)))
		return 0;
	if (json_integer_value(json_object_get(o, "deadline")) <= r->now &&
	    (r->keys = talloc_realloc(r->tmp, r->keys, char *, r->n + 1)))
		r->keys[r->n++] = talloc_strdup(r->tmp, key);
	json_decref(o);
	return 0;
}

size_t sms_kv_due(struct sms_ad *ad, void *tmp, const char *ns, const char *prefix, int64_t now,
		  char ***keys)
{
	struct due r = { .tmp = tmp, .now = now, .prefix = prefix };

	mgw_core_kv_foreach(ad->core, ns, due_cb, &r);
	*keys = r.keys;
	return r.keys ? r.n : 0;
}

static void dlr_sweep(struct sms_ad *ad, int64_t now)
{
	void *tmp = talloc_new(ad);
	char **keys;
	size_t n = sms_kv_due(ad, tmp, SMS_NS_DLR, "g:", now, &keys);

	for (size_t i = 0; i < n; i++) {
		void *val;
		size_t len;
		json_t *g;

		if (!keys[i] || mgw_core_kv_get(ad->core, tmp, SMS_NS_DLR, keys[i], &val, &len) != MGW_OK ||
		    !(g = json_loadb(val, len, 0, NULL)))
			continue;
		LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: no final receipt for %s within receipt_wait",
		     keys[i]);
		dlr_report(ad, g, false, "RECEIPT_TIMEOUT: no final SMSC receipt in time");
		dlr_forget(ad, keys[i], g);
		json_decref(g);
	}
	talloc_free(tmp);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sms_ad *ad = arg;
	int64_t now = sms_now_ms();

	(void)fd;
	(void)what;
	dlr_sweep(ad, now);
	sms_mo_sweep(ad, now);
	pump(ad);
}

/* ---- binds ---- */

static void bound_cb(void *arg, struct smpp_conn *c)
{
	struct sms_bind *b = arg;
	struct sms_ad *ad = b->ad;

	(void)c;
	b->pause_until_ms = 0;
	b->backoff_ms = 0;
	LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: bound to %s", b->cfg->name);
	pump(ad);
	/* deliveries waiting out a back-off for SMS UEs go now */
	if (mgw_core_wake_adapter(ad->core, MGW_IN_SMS, NULL) != MGW_OK)
		LOGP(DSMPP, MGW_LOGL_ERROR, "sms: waiting downlink not woken (store)");
}

static void unbound_cb(void *arg, struct smpp_conn *c, const char *why)
{
	struct sms_bind *b = arg;

	(void)c;
	LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: %s unbound: %s", b->cfg->name, why);
}

static void deliver_cb(void *arg, struct smpp_conn *c, uint32_t seq, const deliver_sm_t *pdu)
{
	struct sms_bind *b = arg;

	(void)c;
	if (b->ad->stopping) {
		smpp_conn_deliver_resp(c, seq, ESME_RX_T_APPN);
		return;
	}
	if ((pdu->esm_class & SMS_ESM_TYPE_MASK) == SMS_ESM_RECEIPT ||
	    (pdu->esm_class & SMS_ESM_TYPE_MASK) == 0x20 /* intermediate notification */)
		sms_receipt(b->ad, b, seq, pdu);
	else
		sms_mo_deliver(b->ad, b, seq, pdu);
}

static const struct smpp_conn_ops conn_ops = {
	.bound = bound_cb,
	.unbound = unbound_cb,
	.deliver = deliver_cb,
};

static SSL_CTX *tls_ctx(const struct mgw_sms_smsc *s)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* the one TLS policy of the gateway (mgw/tls_policy.h) */
	if (mgw_tls_policy_apply(ctx) != MGW_OK ||
	    SSL_CTX_load_verify_locations(ctx, s->tls->ca, NULL) != 1 ||
	    (s->tls->cert && (SSL_CTX_use_certificate_chain_file(ctx, s->tls->cert) != 1 ||
			      SSL_CTX_use_PrivateKey_file(ctx, s->tls->key, SSL_FILETYPE_PEM) != 1 ||
			      SSL_CTX_check_private_key(ctx) != 1))) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	mgw_keylog_attach(ctx); /* lab.keylog only */
	return ctx;
}

static int ad_destructor(struct sms_ad *ad)
{
	struct sms_ticket *t;

	ad->stopping = true;
	for (size_t i = 0; i < ad->n_binds; i++) {
		smpp_conn_stop(ad->binds[i].conn);
		ad->binds[i].conn = NULL;
		if (ad->binds[i].ssl_ctx)
			SSL_CTX_free(ad->binds[i].ssl_ctx);
	}
	while ((t = LIST_FIRST(&ad->tickets))) {
		LIST_REMOVE(t, link);
		t->ad = NULL;
	}
	if (ad->pump_ev)
		event_free(ad->pump_ev);
	if (ad->sweep_ev)
		event_free(ad->sweep_ev);
	return 0;
}

static int sms_start(const struct mgw_adapter_env *env, const void *cfg, void **state)
{
	const struct mgw_sms_cfg *c = cfg;
	struct timeval tv = { SWEEP_S, 0 };
	struct sms_ad *ad;
	int rc;

	if (!env || !c || !state)
		return MGW_E_INVAL;
	if (!(ad = talloc_zero(env->ctx, struct sms_ad)))
		return MGW_E_NOMEM;
	ad->cfg = c;
	ad->base = env->base;
	ad->core = env->core;
	ad->sec = env->sec;
	ad->ticket_ctx = env->ctx;
	ad->next_ref = (uint8_t)(sms_now_ms() & 0xff);
	TAILQ_INIT(&ad->mts);
	LIST_INIT(&ad->tickets);
	talloc_set_destructor(ad, ad_destructor);
	if (!(ad->binds = talloc_zero_array(ad, struct sms_bind, c->smsc.n)) ||
	    !(ad->pump_ev = evtimer_new(env->base, pump_cb, ad)) ||
	    !(ad->sweep_ev = event_new(env->base, -1, EV_PERSIST, sweep_cb, ad)) ||
	    event_add(ad->sweep_ev, &tv) != 0) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	ad->n_binds = c->smsc.n;
	for (size_t i = 0; i < c->smsc.n; i++) {
		const struct mgw_sms_smsc *s = MGW_CFG_LIST_AT(&c->smsc, struct mgw_sms_smsc, i);
		struct sms_bind *b = &ad->binds[i];
		struct smpp_conn_cfg cc = {
			.name = s->name, .host = s->host, .port = (int)s->port,
			.system_id = s->system_id, .password = s->password,
			.system_type = s->system_type, .window = (unsigned)s->window,
			.enquire_ms = s->enquire_link_ms, .resp_timeout_ms = s->resp_timeout_ms,
			.reconnect_min_ms = s->reconnect_min_ms, .reconnect_max_ms = s->reconnect_max_ms,
		};

		b->ad = ad;
		b->cfg = s;
		if (s->tls) {
			if (!(b->ssl_ctx = tls_ctx(s))) {
				LOGP(DSMPP, MGW_LOGL_ERROR, "sms: %s: cannot load the TLS files "
				     "(sms.smsc[%zu].tls)", s->name, i);
				rc = MGW_E_TLS;
				goto fail;
			}
			cc.ssl_ctx = b->ssl_ctx;
		} else {
			LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: INSECURE: %s is plain SMPP (password and "
			     "messages in clear; sms.insecure: true)", s->name);
		}
		if ((rc = smpp_conn_start(ad, env->base, &cc, &conn_ops, b, &b->conn)) != MGW_OK)
			goto fail;
	}
	*state = ad;
	return MGW_OK;
fail:
	talloc_free(ad);
	return rc;
}

static void sms_stop(void *state)
{
	struct sms_ad *ad = state;

	if (!ad)
		return;
	LOGP(DSMPP, MGW_LOGL_INFO, "sms: MO %llu ok %llu refused (%llu parts); MT %llu messages "
	     "%llu parts %llu throttled %llu failed; receipts %llu (%llu unmatched)",
	     (unsigned long long)ad->n.mo_ok, (unsigned long long)ad->n.mo_refused,
	     (unsigned long long)ad->n.mo_parts, (unsigned long long)ad->n.mt_msgs,
	     (unsigned long long)ad->n.mt_parts, (unsigned long long)ad->n.mt_throttled,
	     (unsigned long long)ad->n.mt_failed, (unsigned long long)ad->n.receipts,
	     (unsigned long long)ad->n.receipts_unmatched);
	talloc_free(ad);
}

const struct mgw_adapter_ops mgw_adapter_sms = {
	.name = "sms",
	.ingress = MGW_IN_SMS,
	.cfg = &mgw_sms_schema,
	.start = sms_start,
	.stop = sms_stop,
	.deliver = sms_deliver,
};
