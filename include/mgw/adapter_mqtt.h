/* The MQTT adapter (src/adapter/mqtt/, doc/internals/mqtt.md): devices that speak MQTT reach
 * the gateway through a broker (mosquitto) of which the gateway is a client (libmosquitto
 * 2.0, driven from the one libevent loop by its socket; no thread).
 *
 * Topics (interfaces.md 5): uplink {prefix}/up/{username}, delivery reports
 * {prefix}/report/{username}, downlink {prefix}/down/{username} (QoS 1). The gateway trusts
 * the broker for one thing only: a message on {prefix}/up/U or {prefix}/report/U was
 * published by the client the broker authenticated as username U (ACL pattern rules on %u,
 * contrib/mosquitto/). U is the identity handed to the security core (MGW_CRED_MQTT_USER).
 *
 * A device message is acknowledged to the broker (PUBACK) only once it is durable: the
 * adapter holds libmosquitto's outgoing packets until every message read before them is
 * stored (doc/internals/mqtt.md, "PUBACK").
 */
#ifndef MGW_ADAPTER_MQTT_H
#define MGW_ADAPTER_MQTT_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/adapter.h>
#include <mgw/cfg.h>
#include <mgw/tls_policy.h>

/* mqtt.broker */
struct mgw_mqtt_broker {
	char *host;   /* numeric address or DNS name (resolved at each connect) */
	int64_t port; /* TCP port */
	struct mgw_tls_client *tls; /* NULL: plain TCP, only with mqtt.insecure */
};

enum mgw_mqtt_protocol { MGW_MQTT_V5 = 0, MGW_MQTT_V311 = 1 };

/* The "mqtt:" config section. */
struct mgw_mqtt_cfg {
	struct mgw_mqtt_broker *broker;
	bool insecure;
	char *topic_prefix;
	char *client_id;          /* stable: the broker keeps the session under it */
	char *username, *password; /* the gateway's own account (optional with a certificate) */
	int protocol;             /* enum mgw_mqtt_protocol */
	int64_t keepalive_ms;
	int64_t session_expiry_ms; /* MQTT 5 Session Expiry Interval */
	int64_t qos;              /* downlink publish QoS (1 or 2) */
	int64_t receive_max;      /* uplink messages the broker may have unacknowledged to us */
	int64_t max_inflight;     /* downlink publishes awaiting their acknowledgement */
	int64_t publish_timeout_ms;
	int64_t reconnect_min_ms, reconnect_max_ms;
	int64_t max_payload;      /* bytes of one uplink MQTT payload */
};

extern const struct mgw_cfg_schema mgw_mqtt_schema;
extern const struct mgw_adapter_ops mgw_adapter_mqtt;

#endif
