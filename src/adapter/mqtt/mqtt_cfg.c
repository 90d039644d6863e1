/* MQTT adapter: the "mqtt:" configuration section (include/mgw/adapter_mqtt.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mgw/adapter_mqtt.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/tls_policy.h>

#include "mqtt_topic.h"

#define OFF(type, member) offsetof(struct type, member)

static const struct mgw_cfg_item broker_items[] = {
	{ "host", MGW_CFG_STR, OFF(mgw_mqtt_broker, host), MGW_CFG_F_REQUIRED, 0, 253, NULL,
	  "broker address (numeric, or a DNS name resolved at each connect)" },
	{ "port", MGW_CFG_INT, OFF(mgw_mqtt_broker, port), 0, 1, 65535, "8883",
	  "broker TCP port (MQTT over TLS: 8883)" },
	{ "tls", MGW_CFG_SECTION, OFF(mgw_mqtt_broker, tls), 0, 0, 0, NULL,
	  "TLS 1.2/1.3 to the broker; absent: plain TCP, only with mqtt.insecure: true",
	  &mgw_tls_client_schema },
	{ NULL },
};

static const struct mgw_cfg_schema broker_schema = {
	"broker", broker_items, sizeof(struct mgw_mqtt_broker), NULL,
};

static const char *const protocols[] = { "5", "3.1.1", NULL };

static const struct mgw_cfg_item mqtt_items[] = {
	{ "broker", MGW_CFG_SECTION, OFF(mgw_mqtt_cfg, broker), MGW_CFG_F_REQUIRED, 0, 0, NULL,
	  "the broker: { host, port, tls: { ca, cert, key } }", &broker_schema },
	{ "insecure", MGW_CFG_BOOL, OFF(mgw_mqtt_cfg, insecure), 0, 0, 0, "false",
	  "allow a broker connection without TLS (labs only)" },
	{ "topic_prefix", MGW_CFG_STR, OFF(mgw_mqtt_cfg, topic_prefix), 0, 0, MQTT_PREFIX_MAX,
	  "msgin5g", "topics are {prefix}/up|report|down/{username}" },
	{ "client_id", MGW_CFG_STR, OFF(mgw_mqtt_cfg, client_id), 0, 0, 128, "msgin5g-gw",
	  "MQTT client id; the broker keeps the gateway's session under it (keep it stable)" },
	{ "username", MGW_CFG_STR, OFF(mgw_mqtt_cfg, username), 0, 0, 256, NULL,
	  "the gateway's own account at the broker (absent: the broker takes it from the "
	  "certificate)" },
	{ "password", MGW_CFG_STR, OFF(mgw_mqtt_cfg, password), MGW_CFG_F_SECRET, 0, 256, NULL,
	  "its password" },
	{ "protocol", MGW_CFG_ENUM, OFF(mgw_mqtt_cfg, protocol), 0, 0, 0, "5",
	  "MQTT version: 5 or 3.1.1", NULL, protocols },
	{ "keepalive", MGW_CFG_DURATION, OFF(mgw_mqtt_cfg, keepalive_ms), 0, 5000, 65535000, "30s",
	  "MQTT keepalive; also the connect timeout" },
	{ "session_expiry", MGW_CFG_DURATION, OFF(mgw_mqtt_cfg, session_expiry_ms), 0, 60000,
	  4294967000LL, "7d",
	  "MQTT 5: how long the broker keeps the session (and queues uplink) while the gateway "
	  "is away (3.1.1: until the broker's persistent_client_expiration)" },
	{ "qos", MGW_CFG_INT, OFF(mgw_mqtt_cfg, qos), 0, 1, 2, "1",
	  "QoS of downlink publishes (uplink is always subscribed at QoS 1)" },
	{ "receive_max", MGW_CFG_INT, OFF(mgw_mqtt_cfg, receive_max), 0, 1, 65535, "100",
	  "MQTT 5 Receive Maximum: uplink messages the broker may send before their PUBACK" },
	{ "max_inflight", MGW_CFG_INT, OFF(mgw_mqtt_cfg, max_inflight), 0, 1, 65535, "100",
	  "downlink publishes awaiting their acknowledgement (more: retried later)" },
	{ "publish_timeout", MGW_CFG_DURATION, OFF(mgw_mqtt_cfg, publish_timeout_ms), 0, 1000,
	  3600000, "30s", "a downlink publish not acknowledged by then is retried later" },
	{ "reconnect_min", MGW_CFG_DURATION, OFF(mgw_mqtt_cfg, reconnect_min_ms), 0, 10, 3600000,
	  "1s", "first reconnect delay (doubles, with jitter)" },
	{ "reconnect_max", MGW_CFG_DURATION, OFF(mgw_mqtt_cfg, reconnect_max_ms), 0, 10, 3600000,
	  "60s", "longest reconnect delay" },
	{ "max_payload", MGW_CFG_SIZE, OFF(mgw_mqtt_cfg, max_payload), 0, 64, 1048576, "16KiB",
	  "largest uplink MQTT payload (bigger: dropped, audited TOO_BIG)" },
	{ NULL },
};

static int mqtt_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_mqtt_cfg *c = obj;
	const char *why = "";
	char sub[256];

	if (!c->broker->tls && !c->insecure) {
		snprintf(sub, sizeof(sub), "%s.broker.tls", path);
		mgw_cfg_errf(err, obj, sub,
			     "the broker connection would not be encrypted: give tls, or write "
			     "'mqtt.insecure: true'");
		return -1;
	}
	if (mqtt_prefix_check(c->topic_prefix, &why) != MGW_OK) {
		snprintf(sub, sizeof(sub), "%s.topic_prefix", path);
		mgw_cfg_errf(err, obj, sub, "'%s': %s", c->topic_prefix, why);
		return -1;
	}
	if (!*c->client_id) {
		snprintf(sub, sizeof(sub), "%s.client_id", path);
		mgw_cfg_errf(err, obj, sub, "must not be empty (the session lives under it)");
		return -1;
	}
	if (strpbrk(c->client_id, "+#/")) {
		snprintf(sub, sizeof(sub), "%s.client_id", path);
		mgw_cfg_errf(err, obj, sub, "'%s' has '+', '#' or '/' (the broker refuses it in ACLs)",
			     c->client_id);
		return -1;
	}
	if (c->password && !c->username) {
		snprintf(sub, sizeof(sub), "%s.password", path);
		mgw_cfg_errf(err, obj, sub, "needs username");
		return -1;
	}
	if (c->reconnect_min_ms > c->reconnect_max_ms) {
		snprintf(sub, sizeof(sub), "%s.reconnect_min", path);
		mgw_cfg_errf(err, obj, sub, "is above reconnect_max");
		return -1;
	}
	return 0;
}

const struct mgw_cfg_schema mgw_mqtt_schema = {
	"mqtt", mqtt_items, sizeof(struct mgw_mqtt_cfg), mqtt_check,
};
