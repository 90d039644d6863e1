/* MQTT adapter: the ops table, uplink, downlink, counters (doc/internals/mqtt.md).
 *
 * Uplink: a message on {prefix}/up/U or {prefix}/report/U (subscribed at QoS 1) is the
 * device the broker authenticated as username U (the trust contract with the broker: ACL
 * pattern rules on %u, contrib/mosquitto/). Its topic level U becomes the identity
 * {MGW_CRED_MQTT_USER, U} handed to mgw_core_submit(); the security core binds it to a UE
 * Service ID, checks policy and audits. A topic whose username level is not one valid level,
 * a payload over mqtt.max_payload or a body that does not decode is audited here and
 * dropped. Its PUBACK is held until the core answered (mqtt_conn.c); the one table below
 * says what each answer does to it.
 *
 * Downlink: deliver() publishes the N3gMessageDelivery (or DeliveryStatusReport) JSON body,
 * the same body as the CoAP downlink, to {prefix}/down/U at mqtt.qos; done(MGW_OK) when
 * the broker acknowledges it (PUBACK, or PUBCOMP at QoS 2). With MQTT 5, a PUBACK "no
 * matching subscribers" means nobody will get it: kept and retried later.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <mqtt_protocol.h>
#include <talloc.h>

#include <mgw/adapter_mqtt.h>
#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "mqtt_int.h"

#define STATS_INTERVAL_S 60

/* ---- the one table: the core's answer to an uplink message -> its PUBACK ----
 * libmosquitto 2.0.11 sends every PUBACK with reason 0 (Success): a refusal cannot be told
 * to the broker, and the device never sees the gateway's PUBACK anyway (its own comes from
 * the broker). So a refusal is acknowledged (the message is audited and dropped), and a
 * failure to store is not: the connection is dropped and the broker sends the message again. */
static const struct {
	int rc;
	bool transient; /* true: no PUBACK, drop the connection; false: PUBACK */
} ack_table[] = {
	{ MGW_OK, false },         /* durable */
	{ MGW_E_DUPLICATE, false }, /* already durable (a resend after a lost PUBACK) */
	{ MGW_E_FULL, true },      /* queue at queue.high_water */
	{ MGW_E_STORE, true },
	{ MGW_E_NOMEM, true },
	{ MGW_E_IO, true },
	{ MGW_E_TIMEOUT, true },
	{ MGW_E_INTERNAL, true },
	/* anything else (UNKNOWN_DEVICE, POLICY, SPOOF, MALFORMED, TOO_BIG, ...): refused for good,
	 * audited by the security core, acknowledged and dropped */
};

static bool transient(int rc)
{
	for (size_t i = 0; i < sizeof(ack_table) / sizeof(ack_table[0]); i++)
		if (ack_table[i].rc == rc)
			return ack_table[i].transient;
	return false;
}

/* ---- counters ---- */

static void stats_log(struct mq_ad *ad, bool always)
{
	const struct mq_counters *n = &ad->n;

	if (!always && memcmp(&ad->n, &ad->n_logged, sizeof(ad->n)) == 0)
		return;
	ad->n_logged = ad->n;
	LOGP(DMQTT, MGW_LOGL_NOTICE,
	     "mqtt: connects %llu, failed attempts %llu, disconnects %llu; uplink %llu ok %llu "
	     "duplicate %llu refused %llu dropped, %llu not stored (resent by the broker), "
	     "%llu rounds (largest %llu); downlink %llu published %llu delivered %llu no "
	     "subscriber %llu failed",
	     (unsigned long long)n->connects, (unsigned long long)n->connect_failures,
	     (unsigned long long)n->disconnects, (unsigned long long)n->uplink_ok,
	     (unsigned long long)n->uplink_dup, (unsigned long long)n->uplink_refused,
	     (unsigned long long)n->uplink_dropped, (unsigned long long)n->nacks,
	     (unsigned long long)n->batches, (unsigned long long)n->batch_max,
	     (unsigned long long)n->published, (unsigned long long)n->delivered,
	     (unsigned long long)n->no_subscriber, (unsigned long long)n->delivery_failed);
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stats_log(arg, false);
}

static void misc_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mq_conn_misc(arg);
}

/* ---- uplink ---- */

static void ticket_unlink(struct mq_ticket *t)
{
	struct mq_conn *c = t->conn;

	if (!c)
		return;
	TAILQ_REMOVE(&c->tickets, t, link);
	if (t->held && c->pending)
		c->pending--;
	t->conn = NULL;
}

static void submit_cb(void *arg, int rc, const struct mgw_verdict *v)
{
	struct mq_ticket *t = arg;
	struct mq_conn *c = t->conn;

	(void)v;
	if (!c) {
		/* the connection (or the adapter) went: the broker sends it again, stored or not */
		talloc_free(t);
		return;
	}
	if (rc == MGW_OK)
		c->ad->n.uplink_ok++;
	else if (rc == MGW_E_DUPLICATE)
		c->ad->n.uplink_dup++;
	else if (!transient(rc))
		c->ad->n.uplink_refused++;
	if (t->held && transient(rc))
		c->nack = true;
	ticket_unlink(t);
	talloc_free(t);
	if (c->pending == 0)
		mq_conn_kick(c);
}

static void drop(struct mq_ad *ad, const struct mgw_identity *id, const char *msg_id, int rc,
		 const char *cause, const char *detail)
{
	ad->n.uplink_dropped++;
	LOG_MQ(ad, MGW_LOGL_INFO, "message from '%s' dropped: %s: %s", id->value,
	       cause ? cause : mgw_errname(rc), detail);
	mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_MQTT, id, msg_id, rc, cause,
				  detail);
}

void mq_uplink(struct mq_conn *c, const struct mosquitto_message *m)
{
	struct mq_ad *ad = c->ad;
	struct mgw_identity id = { .ingress = MGW_IN_MQTT, .kind = MGW_CRED_MQTT_USER };
	struct mgw_codec_limits lim;
	struct mgw_diag diag = { 0 };
	struct mgw_msg *msg = NULL;
	struct mq_ticket *t;
	enum mqtt_topic_kind kind = MQTT_TOPIC_UP;
	const char *why = "";
	char detail[MGW_DIAG_WHERE_MAX + MGW_DIAG_TEXT_MAX + 2];
	size_t len = (size_t)(m->payloadlen > 0 ? m->payloadlen : 0);
	int rc;

	snprintf(id.peer, sizeof(id.peer), "%s", ad->peer);
	if (!m->topic)
		return;
	rc = mqtt_topic_parse(ad->cfg->topic_prefix, m->topic, strlen(m->topic), &kind, id.value,
			      sizeof(id.value), &why);
	if (rc == MGW_E_NOT_FOUND) {
		ad->n.uplink_dropped++;
		LOG_MQ(ad, MGW_LOGL_INFO, "message on '%s' is not ours: ignored", m->topic);
		return;
	}
	if (rc != MGW_OK) {
		snprintf(detail, sizeof(detail), "topic %s/%s/...: %s", ad->cfg->topic_prefix,
			 kind == MQTT_TOPIC_UP ? "up" : "report", why);
		drop(ad, &id, NULL, rc, "TOPIC", detail);
		return;
	}
	if (m->retain) {
		/* the broker sets RETAIN only on a copy it sends for a new subscription (MQTT
		 * 3.1.1 3.3.1.3; MQTT 5 without Retain As Published): a stored old message, not
		 * one the device sent now (that one came, or was queued, with RETAIN 0) */
		ad->n.uplink_dropped++;
		LOG_MQ(ad, MGW_LOGL_INFO, "retained copy on '%s' (sent for a new subscription): "
		       "ignored", m->topic);
		return;
	}
	if (len > (size_t)ad->cfg->max_payload) {
		snprintf(detail, sizeof(detail), "payload of %zu bytes over mqtt.max_payload (%lld)",
			 len, (long long)ad->cfg->max_payload);
		drop(ad, &id, NULL, MGW_E_TOO_BIG, "TOO_LARGE", detail);
		return;
	}
	lim.max_body = (size_t)ad->cfg->max_payload;
	lim.max_payload = (size_t)ad->cfg->max_payload;
	rc = mgw_json_decode_msg(ad, kind == MQTT_TOPIC_REPORT ? MGW_BODY_REPORT : MGW_BODY_DEVICE,
				 m->payload ? (const char *)m->payload : "", len, &lim, &msg, &diag);
	if (rc != MGW_OK) {
		snprintf(detail, sizeof(detail), "%s%s%s", diag.where, diag.where[0] ? " " : "",
			 diag.text);
		drop(ad, &id, NULL, rc, NULL, detail);
		return;
	}
	if (!(t = talloc_zero(ad->ticket_ctx, struct mq_ticket))) {
		/* its PUBACK is queued already: never send it */
		mgw_msg_free(msg);
		if (m->qos > 0)
			c->nack = true;
		return;
	}
	t->conn = c;
	t->held = m->qos > 0;
	TAILQ_INSERT_TAIL(&c->tickets, t, link);
	if (t->held) {
		c->pending++;
		c->batch++;
	}
	LOG_MQ(ad, MGW_LOGL_DEBUG, "%s %s from '%s' (QoS %d%s)",
	       kind == MQTT_TOPIC_REPORT ? "report" : "message", msg->msg_id, id.value, m->qos,
	       t->held ? ", PUBACK held" : "");
	if ((rc = mgw_core_submit(ad->core, msg, &id, submit_cb, t)) != MGW_OK) {
		/* no callback will come (msg is freed) */
		ticket_unlink(t);
		talloc_free(t);
		if (transient(rc)) {
			if (m->qos > 0)
				c->nack = true;
		} else {
			drop(ad, &id, NULL, rc, NULL, mgw_strerror(rc));
		}
	}
}

/* ---- downlink ---- */

static void deliv_finish(struct mq_deliv *d, int rc, bool retry, const char *cause)
{
	struct mq_ad *ad = d->ad;

	if (d->linked) {
		TAILQ_REMOVE(&ad->delivs, d, link);
		d->linked = false;
		ad->n_inflight--;
	}
	if (rc == MGW_OK)
		ad->n.delivered++;
	else
		ad->n.delivery_failed++;
	if (rc != MGW_OK && retry && rc == MGW_E_PEER)
		ad->wake_needed = true;
	d->done(d->arg, rc, retry, cause);
	talloc_free(d);
}

static void deliv_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mq_deliv *d = arg;

	(void)fd;
	(void)what;
	if (d->rc != MGW_OK)
		deliv_finish(d, d->rc, d->retry, d->cause[0] ? d->cause : NULL);
	else
		deliv_finish(d, MGW_E_TIMEOUT, true, "no acknowledgement from the broker");
}

static int deliv_destructor(struct mq_deliv *d)
{
	if (d->timer)
		event_free(d->timer);
	return 0;
}

/* fail later, from the loop (done is never called from inside deliver) */
static int deliv_fail_later(struct mq_deliv *d, int rc, bool retry, const char *cause)
{
	struct timeval tv = { 0, 0 };

	d->rc = rc;
	d->retry = retry;
	snprintf(d->cause, sizeof(d->cause), "%s", cause);
	if (rc == MGW_E_PEER && retry)
		d->ad->wake_needed = true;
	if (evtimer_add(d->timer, &tv) != 0) {
		talloc_free(d);
		return MGW_E_NOMEM;
	}
	return MGW_OK;
}

/* The broker's answer to a downlink publish: the one table of its reason codes. */
void mq_published(struct mq_conn *c, int mid, int reason)
{
	struct mq_ad *ad = c->ad;
	struct mq_deliv *d;
	char cause[MGW_CAUSE_MAX + 1];

	TAILQ_FOREACH(d, &ad->delivs, link)
		if (d->conn == c && d->mid == mid)
			break;
	if (!d)
		return; /* timed out already */
	if (reason == MQTT_RC_SUCCESS) {
		LOG_MQ(ad, MGW_LOGL_DEBUG, "delivered %s to %s", d->msg_id, d->topic);
		deliv_finish(d, MGW_OK, false, NULL);
	} else if (reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
		ad->n.no_subscriber++;
		LOG_MQ(ad, MGW_LOGL_INFO, "%s: nobody subscribes to %s: kept for later", d->msg_id,
		       d->topic);
		deliv_finish(d, MGW_E_TIMEOUT, true, "no subscriber on the device's down topic");
	} else {
		snprintf(cause, sizeof(cause), "the broker refused the publish to %s: %s", d->topic,
			 mosquitto_reason_string(reason));
		LOG_MQ(ad, MGW_LOGL_ERROR, "%s: %s", d->msg_id, cause);
		/* too large or malformed for this broker: never better; else (not authorised,
		 * quota, ...) an operator can fix it: keep the message */
		if (reason == MQTT_RC_PACKET_TOO_LARGE || reason == MQTT_RC_PAYLOAD_FORMAT_INVALID ||
		    reason == MQTT_RC_TOPIC_NAME_INVALID)
			deliv_finish(d, MGW_E_PEER, false, cause);
		else
			deliv_finish(d, MGW_E_PEER, true, cause);
	}
}

static int mq_deliver(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
		      mgw_deliver_done done, void *arg)
{
	struct mq_ad *ad = state;
	const char *user = dev ? mgw_device_cred(dev, MGW_CRED_MQTT_USER) : NULL;
	struct mgw_diag diag = { 0 };
	struct mq_conn *c = ad ? ad->conn : NULL;
	struct mq_deliv *d;
	void *tmp;
	char *body = NULL;
	size_t len = 0;
	int mid = 0, rc;

	if (!ad || ad->stopping || !msg || !done)
		return MGW_E_INVAL;
	if (!(d = talloc_zero(ad, struct mq_deliv)))
		return MGW_E_NOMEM;
	d->ad = ad;
	d->done = done;
	d->arg = arg;
	snprintf(d->msg_id, sizeof(d->msg_id), "%s", msg->msg_id);
	talloc_set_destructor(d, deliv_destructor);
	if (!(d->timer = evtimer_new(ad->base, deliv_timer_cb, d))) {
		talloc_free(d);
		return MGW_E_NOMEM;
	}
	if (!user)
		return deliv_fail_later(d, MGW_E_INVAL, false, "the device has no mqtt username");
	if (mqtt_topic_down(ad->cfg->topic_prefix, user, d->topic, sizeof(d->topic)) != MGW_OK)
		return deliv_fail_later(d, MGW_E_INVAL, false,
					"the device's mqtt username is not one topic level");
	if (!c || !c->connack || c->lost)
		return deliv_fail_later(d, MGW_E_PEER, true, "not connected to the broker");
	if (ad->n_inflight >= (size_t)ad->cfg->max_inflight)
		return deliv_fail_later(d, MGW_E_FULL, true, "mqtt.max_inflight publishes in flight");
	if (!(tmp = talloc_new(d)))
		return deliv_fail_later(d, MGW_E_NOMEM, true, "out of memory");
	rc = mgw_json_encode_msg(tmp, msg->kind == MGW_MSG_REPORT ? MGW_BODY_REPORT
								 : MGW_BODY_N3G_MESSAGE,
				 msg, &body, &len, &diag);
	if (rc != MGW_OK) {
		LOG_MQ(ad, MGW_LOGL_ERROR, "cannot encode %s: %s %s", d->msg_id, diag.where, diag.text);
		return deliv_fail_later(d, rc, false, "cannot encode for the device");
	}
	rc = mosquitto_publish_v5(c->mosq, &mid, d->topic, (int)len, body, (int)ad->cfg->qos, false,
				  NULL);
	talloc_free(tmp);
	if (rc != MOSQ_ERR_SUCCESS) {
		LOG_MQ(ad, MGW_LOGL_NOTICE, "cannot publish %s: %s", d->msg_id, mosquitto_strerror(rc));
		return deliv_fail_later(d, rc == MOSQ_ERR_PAYLOAD_SIZE ? MGW_E_TOO_BIG : MGW_E_PEER,
					rc != MOSQ_ERR_PAYLOAD_SIZE, "cannot publish to the broker");
	}
	d->conn = c;
	d->mid = mid;
	d->linked = true;
	TAILQ_INSERT_TAIL(&ad->delivs, d, link);
	ad->n_inflight++;
	ad->n.published++;
	{
		struct timeval tv = { (time_t)(ad->cfg->publish_timeout_ms / 1000),
				      (suseconds_t)((ad->cfg->publish_timeout_ms % 1000) * 1000) };

		evtimer_add(d->timer, &tv);
	}
	LOG_MQ(ad, MGW_LOGL_DEBUG, "published %s to %s (mid %d)", d->msg_id, d->topic, mid);
	mq_conn_kick(c);
	return MGW_OK;
}

/* ---- connection events ---- */

void mq_connected(struct mq_conn *c)
{
	struct mq_ad *ad = c->ad;
	const struct mgw_mqtt_cfg *cfg = ad->cfg;
	char up[MQTT_PREFIX_MAX + 8], report[MQTT_PREFIX_MAX + 12];
	char *subs[2] = { up, report };
	int opts = 0, rc;

	snprintf(up, sizeof(up), "%s/up/+", cfg->topic_prefix);
	snprintf(report, sizeof(report), "%s/report/+", cfg->topic_prefix);
	/* MQTT 5: not our own publishes; retained messages only for a new subscription */
	if (!ad->v311)
		opts = MQTT_SUB_OPT_NO_LOCAL | MQTT_SUB_OPT_SEND_RETAIN_NEW;
	/* QoS 1, never 2: at QoS 2 libmosquitto sends PUBREC before on_message, and after
	 * PUBREC the broker no longer has the message to send again (doc/internals/mqtt.md) */
	if ((rc = mosquitto_subscribe_multiple(c->mosq, NULL, 2, subs, 1, opts, NULL)) !=
	    MOSQ_ERR_SUCCESS)
		LOG_MQ(ad, MGW_LOGL_ERROR, "cannot subscribe: %s", mosquitto_strerror(rc));
	ad->subscribe_refused = false;
	if (!ad->last_drop_nack)
		ad->backoff_ms = cfg->reconnect_min_ms;
	if (ad->wake_needed) {
		/* deliveries failed while we were away: what waits goes now, not after its
		 * retry back-off */
		ad->wake_needed = false;
		if (mgw_core_wake_adapter(ad->core, MGW_IN_MQTT, NULL) != MGW_OK)
			LOG_MQ(ad, MGW_LOGL_ERROR, "waiting downlink not woken (store)");
	}
	mgw_core_kick_south(ad->core);
}

void mq_conn_gone(struct mq_conn *c)
{
	struct mq_ad *ad = c->ad;
	struct mq_ticket *t;
	struct mq_deliv *d, *next;

	while ((t = TAILQ_FIRST(&c->tickets)))
		ticket_unlink(t);
	for (d = TAILQ_FIRST(&ad->delivs); d; d = next) {
		next = TAILQ_NEXT(d, link);
		if (d->conn == c)
			deliv_finish(d, MGW_E_PEER, true,
				     ad->stopping ? "gateway stopping"
						  : "connection to the broker lost before its "
						    "acknowledgement");
	}
}

/* ---- ops ---- */

static int ad_destructor(struct mq_ad *ad)
{
	ad->stopping = true;
	mq_conn_close(ad, false);
	if (ad->reconnect_ev)
		event_free(ad->reconnect_ev);
	if (ad->stats_ev)
		event_free(ad->stats_ev);
	if (ad->misc_ev)
		event_free(ad->misc_ev);
	ad->reconnect_ev = ad->stats_ev = ad->misc_ev = NULL;
	while (!TAILQ_EMPTY(&ad->delivs))
		deliv_finish(TAILQ_FIRST(&ad->delivs), MGW_E_PEER, true, "gateway stopping");
	return 0;
}

static unsigned lib_users;

static int mq_start(const struct mgw_adapter_env *env, const void *cfg, void **state)
{
	const struct mgw_mqtt_cfg *c = cfg;
	struct timeval stats_tv = { STATS_INTERVAL_S, 0 }, misc_tv = { 1, 0 };
	struct mq_ad *ad;
	int rc;

	if (!env || !c || !state)
		return MGW_E_INVAL;
	if (!(ad = talloc_zero(env->ctx, struct mq_ad)))
		return MGW_E_NOMEM;
	if (lib_users++ == 0)
		mosquitto_lib_init();
	ad->cfg = c;
	ad->base = env->base;
	ad->core = env->core;
	ad->sec = env->sec;
	ad->ticket_ctx = env->ctx;
	ad->backoff_ms = c->reconnect_min_ms;
	ad->v311 = c->protocol == MGW_MQTT_V311;
	TAILQ_INIT(&ad->delivs);
	snprintf(ad->peer, sizeof(ad->peer), "broker:%s:%lld", c->broker->host,
		 (long long)c->broker->port);
	talloc_set_destructor(ad, ad_destructor);
	if (!(ad->stats_ev = event_new(env->base, -1, EV_PERSIST, stats_cb, ad)) ||
	    !(ad->misc_ev = event_new(env->base, -1, EV_PERSIST, misc_cb, ad)) ||
	    event_add(ad->stats_ev, &stats_tv) != 0 || event_add(ad->misc_ev, &misc_tv) != 0) {
		rc = MGW_E_NOMEM;
		goto fail;
	}
	if (!c->broker->tls)
		LOGP(DMQTT, MGW_LOGL_NOTICE,
		     "mqtt: INSECURE broker connection to %s:%lld without TLS (mqtt.insecure): the "
		     "broker is not authenticated and the traffic is readable",
		     c->broker->host, (long long)c->broker->port);
	LOGP(DMQTT, MGW_LOGL_NOTICE, "mqtt: broker %s:%lld, topics %s/up|report|down/+",
	     c->broker->host, (long long)c->broker->port, c->topic_prefix);
	if ((rc = mq_conn_schedule(ad, 0)) != MGW_OK)
		goto fail;
	*state = ad;
	return MGW_OK;
fail:
	talloc_free(ad);
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
	return rc;
}

static void mq_stop(void *state)
{
	struct mq_ad *ad = state;

	if (!ad)
		return;
	ad->stopping = true;
	mq_conn_close(ad, true);
	stats_log(ad, true);
	talloc_free(ad);
	if (lib_users && --lib_users == 0)
		mosquitto_lib_cleanup();
}

const struct mgw_adapter_ops mgw_adapter_mqtt = {
	.name = "mqtt",
	.ingress = MGW_IN_MQTT,
	.cfg = &mgw_mqtt_schema,
	.start = mq_start,
	.stop = mq_stop,
	.deliver = mq_deliver,
};
