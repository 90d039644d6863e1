/* MQTT adapter internals: shared by mqtt_conn.c (the broker connection on the loop, the
 * held acknowledgements) and mqtt_adapter.c (ops table, uplink, downlink, counters).
 * doc/internals/mqtt.md has the design. */
#ifndef MGW_MQTT_INT_H
#define MGW_MQTT_INT_H

#include <sys/queue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosquitto.h>

#include <mgw/adapter.h>
#include <mgw/adapter_mqtt.h>
#include <mgw/log.h>
#include <mgw/security.h>

#include "mqtt_topic.h"

struct event;
struct event_base;

/* counters (logged every minute when they moved, and at stop) */
struct mq_counters {
	uint64_t connects, connect_failures, disconnects;
	uint64_t uplink_ok, uplink_dup, uplink_refused, uplink_dropped;
	uint64_t nacks;   /* a held message could not be stored: dropped unacknowledged */
	uint64_t batches; /* held-acknowledgement rounds (one store commit each, or more) */
	uint64_t batch_max;
	uint64_t published, delivered, no_subscriber, delivery_failed;
};

struct mq_conn;

/* one uplink message awaiting the core (under ad->ticket_ctx: may outlive the adapter) */
struct mq_ticket {
	struct mq_conn *conn; /* NULL once that connection is gone */
	TAILQ_ENTRY(mq_ticket) link;
	bool held; /* QoS 1: its PUBACK waits in libmosquitto's queue (conn->pending) */
};
TAILQ_HEAD(mq_ticket_list, mq_ticket);

/* one downlink publish awaiting the broker's acknowledgement */
struct mq_deliv {
	struct mq_ad *ad;
	struct mq_conn *conn; /* NULL until published */
	TAILQ_ENTRY(mq_deliv) link;
	int mid;
	mgw_deliver_done done;
	void *arg;
	struct event *timer; /* publish_timeout, and the deferred early failure */
	int rc;
	bool retry;
	bool linked;
	char cause[MGW_CAUSE_MAX + 1];
	char msg_id[MGW_ID_MAX + 1];
	char topic[MQTT_PREFIX_MAX + MGW_ID_MAX + 8];
};
TAILQ_HEAD(mq_deliv_list, mq_deliv);

/* one connection to the broker: a fresh libmosquitto handle per attempt, so nothing of a
 * lost connection (queued acknowledgements, in-flight publishes) is ever sent on the next */
struct mq_conn {
	struct mq_ad *ad;
	struct mosquitto *mosq;
	int fd;
	struct event *read_ev, *write_ev, *kick_ev;
	int64_t started_ms;
	bool tcp_connecting; /* until the socket first turns writable */
	bool connack;        /* the broker accepted the session */
	bool refused;        /* the broker refused the CONNECT */
	bool lost;           /* libmosquitto closed the socket */
	bool nack;           /* a held message was not stored: drop without acknowledging */
	bool in_io;
	size_t pending;      /* QoS 1 messages read, not yet durable: their PUBACKs are held */
	size_t batch;        /* messages of the current round */
	struct mq_ticket_list tickets;
	char tls_err[160];   /* libmosquitto's first OpenSSL error line: a TLS failure's cause */
};

struct mq_ad {
	const struct mgw_mqtt_cfg *cfg;
	struct event_base *base;
	struct mgw_core *core;
	struct mgw_security *sec;
	void *ticket_ctx;
	struct mq_conn *conn; /* the connection (attempt), or NULL while waiting to reconnect */
	struct event *reconnect_ev, *stats_ev, *misc_ev;
	int64_t backoff_ms;
	bool last_drop_nack;
	bool wake_needed; /* deliveries failed while disconnected: wake the devices on connect */
	bool stopping;
	bool subscribe_refused;
	bool v311; /* MQTT 3.1.1: configured, or the broker refused MQTT 5 (fallback) */
	char peer[64]; /* "broker:HOST:PORT", the transport peer in audit records */
	char last_fail[224]; /* the connect failure last logged at notice: a repeat goes at info */
	struct mq_deliv_list delivs;
	size_t n_inflight;
	struct mq_counters n, n_logged;
};

#define LOG_MQ(ad, lvl, fmt, ...) LOGP(DMQTT, lvl, "mqtt(%s): " fmt, (ad)->peer, ##__VA_ARGS__)

/* mqtt_conn.c */
int mq_conn_schedule(struct mq_ad *ad, int64_t delay_ms); /* (re)connect after delay_ms */
void mq_conn_close(struct mq_ad *ad, bool graceful);       /* at stop */
void mq_conn_kick(struct mq_conn *c);                      /* run its I/O soon */
void mq_conn_misc(struct mq_ad *ad);                       /* keepalive, timeouts (1 s) */
int64_t mq_now_ms(void);

/* mqtt_adapter.c: called by the connection */
void mq_uplink(struct mq_conn *c, const struct mosquitto_message *m);
void mq_published(struct mq_conn *c, int mid, int reason);
void mq_connected(struct mq_conn *c);
void mq_conn_gone(struct mq_conn *c); /* its deliveries and tickets let go */
void mq_ticket_done(struct mq_ticket *t, bool transient); /* the core answered */

#endif
