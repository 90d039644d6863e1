/* MQTT adapter: the connection to the broker on the libevent loop, and the held PUBACKs
 * (doc/internals/mqtt.md).
 *
 * The loop: libmosquitto runs in "threaded" mode (mosquitto_threaded_set(true)) although
 * the adapter starts no thread: in that mode packet__queue() never writes to the socket by
 * itself, every outgoing packet waits in the handle's queue until mosquitto_loop_write().
 * read_ev calls mosquitto_loop_read() (and keeps reading while the socket or TLS has bytes),
 * write_ev calls mosquitto_loop_write() while mosquitto_want_write(), misc_ev (1 s) calls
 * mosquitto_loop_misc() (keepalive) and watches the connect timeout.
 *
 * The PUBACK: libmosquitto 2.0.11 queues the PUBACK of a QoS 1 message *before* it calls
 * on_message (lib/handle_publish.c), and has no manual-acknowledgement API. In threaded mode
 * that PUBACK is only queued, not written. So: after a read that delivered QoS 1 messages,
 * the adapter stops reading and writing (pending > 0) until the core has answered for every
 * one of them (durable, a duplicate, or refused for good); then one mosquitto_loop_write()
 * sends all their PUBACKs (and whatever else waited), and reading resumes. If one of them
 * could not be stored (queue full, store error), the connection is dropped without writing:
 * the queued PUBACKs die with the handle, and the broker sends the messages again on the
 * next connection (persistent session), where the stored ones are answered as duplicates.
 *
 * Lifetimes: one struct mq_conn and one libmosquitto handle per connection attempt. A lost
 * connection is torn down outside libmosquitto's call stack (on_disconnect only marks it),
 * and the next attempt gets a fresh handle, so nothing queued for a lost connection (held
 * PUBACKs, unacknowledged downlink publishes) is ever sent on a later one.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/tls_policy.h>

#include "mqtt_int.h"

/* messages read in one go before the loop gets a turn */
#define READ_BUDGET 1024

int64_t mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_io(struct mq_conn *c, short what);

/* ---- libmosquitto's callbacks: they only record; the loop acts after the call returns ---- */

/* libmosquitto reports a TLS failure's cause only in its log ("OpenSSL Error[0]: ..."):
 * the first such line of a connection is kept for the one line that logs the failure */
static bool tls_cause(struct mq_conn *c, int level, const char *str)
{
	const char *p;

	if (!(level & MOSQ_LOG_ERR) || strncmp(str, "OpenSSL Error", 13) != 0)
		return false;
	if (!c->tls_err[0]) {
		p = strstr(str, ": ");
		snprintf(c->tls_err, sizeof(c->tls_err), "%s", p ? p + 2 : str);
	}
	return true;
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	enum mgw_log_level l;

	(void)mosq;
	if (obj && tls_cause(obj, level, str))
		l = MGW_LOGL_DEBUG;
	else if (level & MOSQ_LOG_ERR)
		l = MGW_LOGL_ERROR;
	else if (level & MOSQ_LOG_WARNING)
		l = MGW_LOGL_NOTICE;
	else if (level & (MOSQ_LOG_NOTICE | MOSQ_LOG_INFO))
		l = MGW_LOGL_INFO;
	else
		l = MGW_LOGL_DEBUG;
	LOGP(DMQTT, l, "libmosquitto: %s", str);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct mq_conn *c = obj;
	struct mq_ad *ad = c->ad;
	int err = errno;

	(void)mosq;
	(void)props;
	if (rc != 0) {
		c->refused = true;
		if (!ad->v311 && rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION) {
			/* a 3.1.1 broker (its CONNACK "unacceptable protocol version"): speak 3.1.1
			 * from the next attempt on, until the gateway restarts */
			ad->v311 = true;
			ad->backoff_ms = ad->cfg->reconnect_min_ms;
			LOG_MQ(ad, MGW_LOGL_NOTICE, "the broker does not speak MQTT 5: falling back "
			       "to MQTT 3.1.1 (no session expiry, no reason codes)");
			errno = err;
			return;
		}
		LOG_MQ(ad, MGW_LOGL_ERROR, "the broker refused the gateway's connection: %s",
		       !ad->v311 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
		errno = err;
		return;
	}
	c->connack = true;
	ad->n.connects++;
	ad->last_fail[0] = '\0';
	LOG_MQ(ad, MGW_LOGL_NOTICE, "connected as '%s' (MQTT %s%s, session %s)",
	       ad->cfg->client_id, ad->v311 ? "3.1.1" : "5",
	       ad->cfg->broker->tls ? ", TLS" : ", NO TLS",
	       (flags & 1) ? "resumed" : "new");
	mq_connected(c);
	errno = err;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
			  const mosquitto_property *props)
{
	struct mq_conn *c = obj;

	(void)mosq;
	(void)props;
	if (c->lost)
		return;
	c->lost = true;
	/* the socket is closed already: forget it before its number is reused */
	if (c->read_ev)
		event_del(c->read_ev);
	if (c->write_ev)
		event_del(c->write_ev);
	if (!c->ad->stopping)
		LOG_MQ(c->ad, c->connack ? MGW_LOGL_NOTICE : MGW_LOGL_INFO, "connection lost: %s",
		       mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted,
			 const mosquitto_property *props)
{
	struct mq_conn *c = obj;
	struct mq_ad *ad = c->ad;

	(void)mosq;
	(void)mid;
	(void)props;
	for (int i = 0; i < n; i++) {
		if (granted[i] >= 0x80) {
			ad->subscribe_refused = true;
			LOG_MQ(ad, MGW_LOGL_ERROR,
			       "the broker refused a subscription (%s): no uplink; check the ACL of the "
			       "gateway's account (read %s/up/# and %s/report/#)",
			       !ad->v311 ? mosquitto_reason_string(granted[i])
								 : "failure",
			       ad->cfg->topic_prefix, ad->cfg->topic_prefix);
		} else if (granted[i] < 1) {
			LOG_MQ(ad, MGW_LOGL_ERROR, "subscription granted at QoS 0 only: uplink "
			       "messages can be lost");
		}
	}
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
		       const mosquitto_property *props)
{
	int err = errno;

	(void)mosq;
	(void)props;
	mq_published(obj, mid, reason);
	errno = err;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
		       const mosquitto_property *props)
{
	/* libmosquitto reads on while errno is not EAGAIN: keep what it had */
	int err = errno;

	(void)mosq;
	(void)props;
	mq_uplink(obj, m);
	errno = err;
}

/* ---- the connection ---- */

static void conn_free_events(struct mq_conn *c)
{
	if (c->read_ev)
		event_free(c->read_ev);
	if (c->write_ev)
		event_free(c->write_ev);
	if (c->kick_ev)
		event_free(c->kick_ev);
	c->read_ev = c->write_ev = c->kick_ev = NULL;
}

static int conn_destructor(struct mq_conn *c)
{
	if (c->ad->conn == c)
		c->ad->conn = NULL;
	conn_free_events(c);
	mq_conn_gone(c);
	if (c->mosq)
		mosquitto_destroy(c->mosq); /* closes the socket; nothing queued is written */
	c->mosq = NULL;
	return 0;
}

static int64_t next_backoff(struct mq_ad *ad)
{
	int64_t d = ad->backoff_ms;

	if (ad->backoff_ms < ad->cfg->reconnect_max_ms) {
		ad->backoff_ms *= 2;
		if (ad->backoff_ms > ad->cfg->reconnect_max_ms)
			ad->backoff_ms = ad->cfg->reconnect_max_ms;
	}
	/* jitter: 75..100 % */
	return d - (int64_t)((double)d * 0.25 * ((double)random() / (double)RAND_MAX));
}

/* Tear down c (never from inside a libmosquitto call) and connect again later. */
static void conn_drop(struct mq_conn *c, bool nack)
{
	struct mq_ad *ad = c->ad;
	int64_t delay;

	if (c->connack)
		ad->n.disconnects++;
	else
		ad->n.connect_failures++;
	ad->last_drop_nack = nack;
	talloc_free(c);
	if (ad->stopping)
		return;
	delay = next_backoff(ad);
	LOG_MQ(ad, MGW_LOGL_INFO, "reconnecting in %lld ms", (long long)delay);
	mq_conn_schedule(ad, delay);
}

/* once libmosquitto made the connection's SSL (its ClientHello may be out): what the TLS
 * policy can still set on it (no renegotiation), and the lab key log on its context, before
 * the first handshake secrets exist (the ServerHello is read by our next loop_read) */
static void ssl_attach(struct mq_conn *c)
{
	SSL *ssl = mosquitto_ssl_get(c->mosq);

	if (!ssl) {
		LOG_MQ(c->ad, MGW_LOGL_DEBUG, "no TLS connection object yet");
		return;
	}
	LOG_MQ(c->ad, MGW_LOGL_DEBUG, "TLS connection object %p: policy%s", (void *)ssl,
	       mgw_keylog_on() ? ", key log" : "");
	mgw_tls_policy_apply_ssl(ssl);
	mgw_keylog_attach(SSL_get_SSL_CTX(ssl)); /* lab.keylog only */
}

static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	conn_io(arg, what);
}

/* TLS established (or no TLS): libmosquitto's packets may flow */
static bool handshake_done(struct mq_conn *c)
{
	SSL *ssl = mosquitto_ssl_get(c->mosq);

	return !ssl || SSL_is_init_finished(ssl);
}

/* bytes waiting in the socket or inside TLS */
static bool more_input(struct mq_conn *c)
{
	SSL *ssl = mosquitto_ssl_get(c->mosq);
	int n = 0;

	if (ssl && SSL_has_pending(ssl))
		return true;
	return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

static void rearm(struct mq_conn *c)
{
	if (c->lost)
		return;
	if (c->pending > 0) {
		/* the store has the word: no read, no write (the held PUBACKs stay queued) */
		event_del(c->read_ev);
		event_del(c->write_ev);
		return;
	}
	event_add(c->read_ev, NULL);
	if (c->tcp_connecting || (handshake_done(c) && mosquitto_want_write(c->mosq)))
		event_add(c->write_ev, NULL);
	else
		event_del(c->write_ev);
}

/* one line per failed connection attempt, with its cause (a TLS failure: OpenSSL's reason);
 * the same failure again on the next attempts is logged at info, not notice */
static void log_fail(struct mq_conn *c, const char *what, int rc)
{
	struct mq_ad *ad = c->ad;
	char line[sizeof(ad->last_fail)];

	if (rc == MOSQ_ERR_TLS && c->tls_err[0])
		snprintf(line, sizeof(line), "%s: TLS: %s", what, c->tls_err);
	else
		snprintf(line, sizeof(line), "%s: %s", what,
			 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	if (strcmp(line, ad->last_fail) != 0) {
		LOG_MQ(ad, MGW_LOGL_NOTICE, "%s", line);
		snprintf(ad->last_fail, sizeof(ad->last_fail), "%s", line);
	} else {
		LOG_MQ(ad, MGW_LOGL_INFO, "%s (again)", line);
	}
}

/* after a libmosquitto call: false when the connection is gone (and c freed) */
static bool conn_alive(struct mq_conn *c, int rc)
{
	if (rc == MOSQ_ERR_SUCCESS && !c->lost && !c->refused)
		return true;
	if (!c->lost && !c->refused && !c->ad->stopping)
		log_fail(c, c->connack ? "connection failed" : "cannot connect", rc);
	conn_drop(c, false);
	return false;
}

static void conn_io(struct mq_conn *c, short what)
{
	struct mq_ad *ad = c->ad;
	int rc = MOSQ_ERR_SUCCESS;

	if (c->in_io || c->lost) {
		if (c->lost && !c->in_io)
			conn_drop(c, false);
		return;
	}
	if (c->pending > 0) {
		rearm(c);
		return;
	}
	if (c->nack) {
		ad->n.nacks++;
		LOG_MQ(ad, MGW_LOGL_NOTICE,
		       "a message could not be stored: connection dropped without acknowledging the "
		       "last %zu (the broker sends them again)", c->batch);
		conn_drop(c, true);
		return;
	}
	if (c->batch) {
		/* every message of the round is durable (or refused for good): their PUBACKs go */
		LOG_MQ(ad, MGW_LOGL_DEBUG, "%zu message(s) stored: their PUBACKs go", c->batch);
		ad->n.batches++;
		if (c->batch > ad->n.batch_max)
			ad->n.batch_max = c->batch;
		c->batch = 0;
		ad->backoff_ms = ad->cfg->reconnect_min_ms;
		ad->last_drop_nack = false;
	}
	c->in_io = true;
	if (c->tcp_connecting && (what & EV_WRITE)) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(int), ss_len = sizeof(ss);
		int soerr = 0;

		c->tcp_connecting = false;
		/* the connect's outcome (libmosquitto's TLS layer takes a refused connection for
		 * "try again": a handshake that never ends) */
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0 ||
		    getpeername(c->fd, (struct sockaddr *)&ss, &ss_len) != 0) {
			c->in_io = false;
			LOG_MQ(ad, MGW_LOGL_NOTICE, "cannot connect: %s",
			       strerror(soerr ? soerr : errno == ENOTCONN ? ECONNREFUSED : errno));
			conn_drop(c, false);
			return;
		}
		ssl_attach(c); /* a connect that was in progress has its SSL only now */
	}
	/* first what waited: the acknowledgements of a round that is durable now */
	if (handshake_done(c) && mosquitto_want_write(c->mosq)) {
		rc = mosquitto_loop_write(c->mosq, 1);
		if (rc != MOSQ_ERR_SUCCESS || c->lost)
			goto out;
	}
	if (!handshake_done(c)) {
		/* loop_read drives libmosquitto's TLS handshake; it takes an error or the end of
		 * the stream for "try again" (SSL_ERROR_SYSCALL), so look for those here */
		rc = mosquitto_loop_read(c->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && !c->lost && !handshake_done(c) && !c->tcp_connecting) {
			char b;
			ssize_t k = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				       errno != EINTR)) {
				c->in_io = false;
				LOG_MQ(ad, MGW_LOGL_NOTICE, "TLS handshake: %s",
				       k == 0 ? "the broker closed the connection" : strerror(errno));
				conn_drop(c, false);
				return;
			}
		}
	} else {
		for (int i = 0; i < READ_BUDGET && rc == MOSQ_ERR_SUCCESS && !c->lost && !c->refused;
		     i++) {
			rc = mosquitto_loop_read(c->mosq, 1);
			if (!more_input(c))
				break;
		}
	}
	if (rc != MOSQ_ERR_SUCCESS || c->lost || c->refused)
		goto out;
	/* what the reads made (a CONNECT after the handshake, PINGREQ), unless PUBACKs are held */
	if (c->pending == 0 && !c->nack && handshake_done(c) && mosquitto_want_write(c->mosq))
		rc = mosquitto_loop_write(c->mosq, 1);
out:
	c->in_io = false;
	if (!conn_alive(c, rc))
		return;
	if (c->pending == 0 && c->nack) {
		/* every message of the round answered, one of them was not stored */
		event_active(c->kick_ev, EV_TIMEOUT, 1);
		return;
	}
	rearm(c);
}

void mq_conn_kick(struct mq_conn *c)
{
	if (c && c->kick_ev && !c->lost)
		event_active(c->kick_ev, EV_TIMEOUT, 1);
}

static struct mosquitto *handle_new(struct mq_conn *c)
{
	const struct mgw_mqtt_cfg *cfg = c->ad->cfg;
	bool v5 = !c->ad->v311;
	struct mosquitto *m;

	/* clean_session false: the broker keeps the subscriptions and queues while we are away */
	if (!(m = mosquitto_new(cfg->client_id, false, c)))
		return NULL;
	/* see the top comment: nothing is written behind our back (the held PUBACKs rest on it) */
	if (mosquitto_threaded_set(m, true) != MOSQ_ERR_SUCCESS) {
		mosquitto_destroy(m);
		return NULL;
	}
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, (int)cfg->receive_max);
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)cfg->max_inflight);
	mosquitto_log_callback_set(m, on_log);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_disconnect_v5_callback_set(m, on_disconnect);
	mosquitto_subscribe_v5_callback_set(m, on_subscribe);
	mosquitto_publish_v5_callback_set(m, on_publish);
	mosquitto_message_v5_callback_set(m, on_message);
	return m;
}

/* TLS: libmosquitto's own context, TLS >= 1.2 ("tlsv1.2" allows 1.3), the broker's
 * certificate verified against ca with its name checked against broker.host, the gateway's
 * client certificate when configured. Not our own SSL_CTX (MOSQ_OPT_SSL_CTX): with one,
 * libmosquitto 2.0.11 never initialises the SSL ex_data index its verify callback reads
 * the handle from (net__init_tls() runs only when it makes the context itself), so every
 * certificate fails verification. The lab key log is attached once the context exists. */
static int handle_tls(struct mq_conn *c)
{
	const struct mgw_tls_client *t = c->ad->cfg->broker->tls;
	int rc;

	rc = mosquitto_tls_set(c->mosq, t->ca, NULL, t->cert, t->key, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_opts_set(c->mosq, SSL_VERIFY_PEER, "tlsv1.2",
					    MGW_TLS_POLICY_CIPHERS12);
	if (rc != MOSQ_ERR_SUCCESS) {
		LOG_MQ(c->ad, MGW_LOGL_ERROR, "TLS setup: %s", mosquitto_strerror(rc));
		return MGW_E_TLS;
	}
	return MGW_OK;
}

/* MQTT 5 CONNECT properties (Session Expiry Interval) without a blocking connect:
 * mosquitto_connect_async() takes no properties and mosquitto_connect_bind_v5() connects
 * in blocking mode. connect_bind_v5() keeps the properties before it connects, so it is
 * called once toward port 0 on an empty host, which fails at once without any I/O (port 0
 * means a unix socket path, and an empty one is refused; a build without unix sockets
 * refuses port 0), and mosquitto_connect_bind_async() then uses the kept properties. */
static int handle_v5_props(struct mq_conn *c, int keepalive)
{
	mosquitto_property *props = NULL;
	int64_t secs = c->ad->cfg->session_expiry_ms / 1000;
	int rc;

	if ((rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					       (uint32_t)secs)) != MOSQ_ERR_SUCCESS)
		return MGW_E_NOMEM;
	rc = mosquitto_connect_bind_v5(c->mosq, "", 0, keepalive, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS) {
		/* cannot happen (nothing listens on an empty path): never go on with it */
		LOG_MQ(c->ad, MGW_LOGL_ERROR, "unexpected: the property-only connect succeeded");
		return MGW_E_INTERNAL;
	}
	return MGW_OK;
}

static void conn_start(struct mq_ad *ad)
{
	const struct mgw_mqtt_cfg *cfg = ad->cfg;
	int keepalive = (int)(cfg->keepalive_ms / 1000);
	struct mq_conn *c;
	int rc;

	if (!(c = talloc_zero(ad, struct mq_conn)))
		goto retry;
	c->ad = ad;
	c->fd = -1;
	c->started_ms = mq_now_ms();
	TAILQ_INIT(&c->tickets);
	ad->conn = c;
	talloc_set_destructor(c, conn_destructor);
	if (!(c->mosq = handle_new(c)))
		goto fail;
	if (cfg->username &&
	    mosquitto_username_pw_set(c->mosq, cfg->username, cfg->password) != MOSQ_ERR_SUCCESS)
		goto fail;
	if (cfg->broker->tls && handle_tls(c) != MGW_OK)
		goto fail;
	if (!ad->v311 && handle_v5_props(c, keepalive) != MGW_OK)
		goto fail;
	rc = mosquitto_connect_bind_async(c->mosq, cfg->broker->host, (int)cfg->broker->port,
					  keepalive, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_fail(c, "cannot connect", rc);
		goto fail;
	}
	if ((c->fd = mosquitto_socket(c->mosq)) < 0)
		goto fail;
	ssl_attach(c);
	c->tcp_connecting = true;
	if (!(c->read_ev = event_new(ad->base, c->fd, EV_READ | EV_PERSIST, conn_cb, c)) ||
	    !(c->write_ev = event_new(ad->base, c->fd, EV_WRITE, conn_cb, c)) ||
	    !(c->kick_ev = event_new(ad->base, -1, 0, conn_cb, c)))
		goto fail;
	LOG_MQ(ad, MGW_LOGL_INFO, "connecting (client id '%s')", cfg->client_id);
	rearm(c);
	return;
fail:
	conn_drop(c, false);
	return;
retry:
	mq_conn_schedule(ad, next_backoff(ad));
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mq_ad *ad = arg;

	(void)fd;
	(void)what;
	if (!ad->conn && !ad->stopping)
		conn_start(ad);
}

int mq_conn_schedule(struct mq_ad *ad, int64_t delay_ms)
{
	struct timeval tv = { (time_t)(delay_ms / 1000), (suseconds_t)((delay_ms % 1000) * 1000) };

	if (ad->stopping)
		return MGW_OK;
	if (!ad->reconnect_ev && !(ad->reconnect_ev = evtimer_new(ad->base, reconnect_cb, ad))) {
		LOG_MQ(ad, MGW_LOGL_ERROR, "out of memory: no reconnect timer");
		return MGW_E_NOMEM;
	}
	return evtimer_add(ad->reconnect_ev, &tv) == 0 ? MGW_OK : MGW_E_NOMEM;
}

void mq_conn_misc(struct mq_ad *ad)
{
	struct mq_conn *c = ad->conn;
	int rc;

	if (!c || c->in_io)
		return;
	if (c->lost) {
		conn_drop(c, false);
		return;
	}
	if (!c->connack && mq_now_ms() - c->started_ms > ad->cfg->keepalive_ms) {
		LOG_MQ(ad, MGW_LOGL_NOTICE, "no CONNACK within %lld s: giving up this attempt",
		       (long long)(ad->cfg->keepalive_ms / 1000));
		conn_drop(c, false);
		return;
	}
	if (!handshake_done(c) && !c->tcp_connecting) {
		/* a handshake that waited to write is driven from here */
		conn_io(c, 0);
		return;
	}
	c->in_io = true;
	rc = mosquitto_loop_misc(c->mosq); /* keepalive: PINGREQ, or the connection is dead */
	c->in_io = false;
	if (!conn_alive(c, rc))
		return;
	rearm(c);
}

void mq_conn_close(struct mq_ad *ad, bool graceful)
{
	struct mq_conn *c = ad->conn;

	if (!c)
		return;
	/* a clean DISCONNECT only when no PUBACK is held: writing would send them too */
	if (graceful && c->connack && !c->lost && c->pending == 0 && !c->nack) {
		mosquitto_disconnect(c->mosq);
		mosquitto_loop_write(c->mosq, 1);
	}
	if (c->connack)
		ad->n.disconnects++;
	talloc_free(c);
}
