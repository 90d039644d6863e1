/* SMPP 3.4 ESME session (smpp_conn.h): connect, bind_transceiver, enquire_link, window,
 * reconnect with back-off, generic_nack, orderly unbind.
 *
 * Stop is not a handshake: unbind is sent and the socket closed at once (the loop must not
 * wait at shutdown); the SMSC sees unbind then FIN.
 *
 * Framing: a PDU is its 4-byte command_length and the rest; lengths below the 16-byte
 * header or above SMPP_PDU_MAX are a broken stream (generic_nack, then the link is
 * dropped: nothing after it can be trusted to be aligned). libsmpp34 packs and unpacks the
 * bodies; its TLV lists are freed with destroy_tlv().
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "smpp_conn.h"

#define SMPP_PDU_MAX 65536
#define SMPP_HDR 16

enum conn_state { ST_IDLE, ST_CONNECTING, ST_BINDING, ST_BOUND, ST_UNBINDING };

struct pending {
	struct smpp_conn *c;
	TAILQ_ENTRY(pending) link;
	uint32_t seq;
	int64_t due_ms;
	smpp_submit_cb cb;
	void *arg;
};
TAILQ_HEAD(pending_list, pending);

struct smpp_conn {
	struct smpp_conn_cfg cfg;
	const struct smpp_conn_ops *ops;
	void *arg;
	struct event_base *base;
	struct bufferevent *bev;
	enum conn_state state;
	uint32_t seq;
	struct pending_list pend;
	unsigned npend;
	struct event *retry_ev, *enquire_ev, *timeout_ev;
	int64_t backoff_ms;
	int64_t last_rx_ms;
	bool stopping;
	const char *drop_why; /* static text: why the link goes once its output is written */
};

#define LOG_C(c, lvl, fmt, ...) LOGP(DSMPP, lvl, "smpp(%s): " fmt, (c)->cfg.name, ##__VA_ARGS__)

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ms_tv(int64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static uint32_t next_seq(struct smpp_conn *c)
{
	c->seq = c->seq >= 0x7fffffffu ? 1 : c->seq + 1;
	return c->seq;
}

/* pack and queue one PDU; false if libsmpp34 refused it */
static bool send_pdu(struct smpp_conn *c, void *pdu)
{
	uint8_t buf[SMPP_PDU_MAX];
	int len = 0;

	if (!c->bev)
		return false;
	if (smpp34_pack2(buf, sizeof(buf), &len, pdu) != 0) {
		LOG_C(c, MGW_LOGL_ERROR, "cannot pack a PDU: %s", smpp34_strerror);
		return false;
	}
	return bufferevent_write(c->bev, buf, (size_t)len) == 0;
}

static void send_simple(struct smpp_conn *c, uint32_t id, uint32_t status, uint32_t seq)
{
	/* enquire_link, enquire_link_resp, unbind, unbind_resp and generic_nack are a bare
	 * header: written by hand, libsmpp34 has a struct for each but nothing to add */
	uint8_t h[SMPP_HDR];
	uint32_t v[4] = { htonl(SMPP_HDR), htonl(id), htonl(status), htonl(seq) };

	memcpy(h, v, sizeof(h));
	if (c->bev)
		bufferevent_write(c->bev, h, sizeof(h));
}

static void pending_end(struct pending *p, uint32_t status, const char *message_id)
{
	struct smpp_conn *c = p->c;

	TAILQ_REMOVE(&c->pend, p, link);
	c->npend--;
	p->cb(p->arg, status, message_id);
	talloc_free(p);
}

static void fail_all(struct smpp_conn *c, uint32_t status)
{
	struct pending *p;

	while ((p = TAILQ_FIRST(&c->pend)))
		pending_end(p, status, NULL);
}

static void schedule_reconnect(struct smpp_conn *c);

/* the link is gone (or given up): everything outstanding fails, reconnect later */
static void drop(struct smpp_conn *c, const char *why)
{
	bool was_bound = c->state == ST_BOUND || c->state == ST_UNBINDING;

	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_del(c->enquire_ev);
	event_del(c->timeout_ev);
	c->state = ST_IDLE;
	LOG_C(c, was_bound ? MGW_LOGL_NOTICE : MGW_LOGL_INFO, "link down: %s", why);
	fail_all(c, SMPP_CONN_LOST);
	if (was_bound && c->ops->unbound)
		c->ops->unbound(c->arg, c, why);
	if (!c->stopping)
		schedule_reconnect(c);
}

static void send_bind(struct smpp_conn *c)
{
	bind_transceiver_t b;

	memset(&b, 0, sizeof(b));
	b.command_id = BIND_TRANSCEIVER;
	b.command_status = ESME_ROK;
	b.sequence_number = next_seq(c);
	snprintf((char *)b.system_id, sizeof(b.system_id), "%s", c->cfg.system_id);
	snprintf((char *)b.password, sizeof(b.password), "%s", c->cfg.password ? c->cfg.password : "");
	snprintf((char *)b.system_type, sizeof(b.system_type), "%s",
		 c->cfg.system_type ? c->cfg.system_type : "");
	b.interface_version = SMPP_VERSION;
	c->state = ST_BINDING;
	if (!send_pdu(c, &b))
		drop(c, "cannot send bind_transceiver");
}

static void on_bind_resp(struct smpp_conn *c, uint32_t status)
{
	struct timeval tv;

	if (c->state != ST_BINDING)
		return;
	if (status != ESME_ROK) {
		char why[64];

		snprintf(why, sizeof(why), "bind refused (command_status 0x%08x)", status);
		/* a refused bind is configuration: back off the most */
		c->backoff_ms = c->cfg.reconnect_max_ms;
		drop(c, why);
		return;
	}
	c->state = ST_BOUND;
	c->backoff_ms = 0;
	ms_tv(c->cfg.enquire_ms, &tv);
	event_add(c->enquire_ev, &tv);
	LOG_C(c, MGW_LOGL_NOTICE, "bound (transceiver) as %s", c->cfg.system_id);
	if (c->ops->bound)
		c->ops->bound(c->arg, c);
}

static void on_submit_resp(struct smpp_conn *c, const uint8_t *buf, size_t len, uint32_t status,
			   uint32_t seq)
{
	struct pending *p;
	submit_sm_resp_t r;

	TAILQ_FOREACH(p, &c->pend, link)
		if (p->seq == seq)
			break;
	if (!p) {
		LOG_C(c, MGW_LOGL_INFO, "submit_sm_resp for unknown sequence %u: ignored", seq);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (status == ESME_ROK && smpp34_unpack2(&r, buf, (int)len) != 0) {
		LOG_C(c, MGW_LOGL_ERROR, "submit_sm_resp unreadable: %s", smpp34_strerror);
		pending_end(p, ESME_RSYSERR, NULL);
		return;
	}
	pending_end(p, status, status == ESME_ROK ? (const char *)r.message_id : NULL);
}

static void on_deliver(struct smpp_conn *c, const uint8_t *buf, size_t len, uint32_t seq)
{
	deliver_sm_t *d = talloc_zero(c, deliver_sm_t);

	if (!d) {
		smpp_conn_deliver_resp(c, seq, ESME_RSYSERR);
		return;
	}
	if (smpp34_unpack2(d, buf, (int)len) != 0) {
		LOG_C(c, MGW_LOGL_NOTICE, "deliver_sm unreadable (%s): generic_nack", smpp34_strerror);
		destroy_tlv(d->tlv);
		talloc_free(d);
		send_simple(c, GENERIC_NACK, ESME_RINVCMDLEN, seq);
		return;
	}
	if (c->ops->deliver)
		c->ops->deliver(c->arg, c, seq, d);
	else
		smpp_conn_deliver_resp(c, seq, ESME_RX_T_APPN);
	destroy_tlv(d->tlv);
	talloc_free(d);
}

static void on_pdu(struct smpp_conn *c, const uint8_t *buf, size_t len)
{
	uint32_t v[4];

	memcpy(v, buf, sizeof(v));
	uint32_t id = ntohl(v[1]), status = ntohl(v[2]), seq = ntohl(v[3]);

	c->last_rx_ms = mono_ms();
	switch (id) {
	case BIND_TRANSCEIVER_RESP:
		on_bind_resp(c, status);
		break;
	case ENQUIRE_LINK:
		send_simple(c, ENQUIRE_LINK_RESP, ESME_ROK, seq);
		break;
	case ENQUIRE_LINK_RESP:
		break;
	case SUBMIT_SM_RESP:
		on_submit_resp(c, buf, len, status, seq);
		break;
	case DELIVER_SM:
		if (c->state != ST_BOUND) {
			send_simple(c, GENERIC_NACK, ESME_RINVBNDSTS, seq);
			break;
		}
		on_deliver(c, buf, len, seq);
		break;
	case UNBIND:
		send_simple(c, UNBIND_RESP, ESME_ROK, seq);
		bufferevent_flush(c->bev, EV_WRITE, BEV_FLUSH);
		drop(c, "the SMSC unbound");
		break;
	case UNBIND_RESP:
		if (c->state == ST_UNBINDING)
			drop(c, "unbound");
		break;
	case GENERIC_NACK: {
		struct pending *p;

		LOG_C(c, MGW_LOGL_NOTICE, "generic_nack 0x%08x for sequence %u", status, seq);
		TAILQ_FOREACH(p, &c->pend, link)
			if (p->seq == seq) {
				pending_end(p, status ? status : ESME_RSYSERR, NULL);
				break;
			}
		break;
	}
	default:
		if (!(id & 0x80000000u)) {
			LOG_C(c, MGW_LOGL_INFO, "command 0x%08x not supported: generic_nack", id);
			send_simple(c, GENERIC_NACK, ESME_RINVCMDID, seq);
		}
		break;
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg);

/* the output (a last generic_nack) has reached the socket: now the link may go */
static void sent_cb(struct bufferevent *bev, void *arg)
{
	struct smpp_conn *c = arg;

	(void)bev;
	drop(c, c->drop_why);
}

/* drop the link once what is queued is written: bufferevent_flush() does nothing on a
 * socket bufferevent and bufferevent_free() discards unsent output, so a generic_nack
 * followed by drop() never left. Reading stops now (the stream is not aligned any more);
 * the write timeout bounds the wait for a peer that does not read. */
static void drop_when_sent(struct smpp_conn *c, const char *why)
{
	struct timeval tv = { 5, 0 };

	c->drop_why = why;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, sent_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct smpp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t *buf = NULL;

	while (c->bev && evbuffer_get_length(in) >= 4) {
		uint32_t n;

		evbuffer_copyout(in, &n, 4);
		n = ntohl(n);
		if (n < SMPP_HDR || n > SMPP_PDU_MAX) {
			uint32_t seq = 0;

			if (evbuffer_get_length(in) >= SMPP_HDR) {
				uint8_t h[SMPP_HDR];

				evbuffer_copyout(in, h, sizeof(h));
				memcpy(&seq, h + 12, 4);
				seq = ntohl(seq);
			}
			LOG_C(c, MGW_LOGL_NOTICE, "command_length %u (allowed %d..%d): generic_nack",
			      n, SMPP_HDR, SMPP_PDU_MAX);
			send_simple(c, GENERIC_NACK, ESME_RINVCMDLEN, seq);
			drop_when_sent(c, "a PDU with an impossible command_length");
			break;
		}
		if (evbuffer_get_length(in) < n)
			break;
		if (!(buf = talloc_realloc(c, buf, uint8_t, n)))
			break;
		evbuffer_remove(in, buf, n);
		on_pdu(c, buf, n);
	}
	talloc_free(buf);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smpp_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		LOG_C(c, MGW_LOGL_INFO, "connected to %s:%d", c->cfg.host, c->cfg.port);
		send_bind(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = c->cfg.ssl_ctx ? bufferevent_get_openssl_error(c->bev) : 0;
		int err = EVUTIL_SOCKET_ERROR();
		char why[200];

		if (e && ERR_reason_error_string(e))
			snprintf(why, sizeof(why), "TLS: %s", ERR_reason_error_string(e));
		else
			snprintf(why, sizeof(why), "connection error: %s",
				 err ? evutil_socket_error_to_string(err) : "unknown");
		drop(c, why);
		return;
	}
	drop(c, what & BEV_EVENT_EOF ? "closed by the SMSC" : "connection error");
}

/* an SSL for one connection: the SMSC's certificate must name host (DNS name or IP) */
static SSL *tls_new(struct smpp_conn *c)
{
	SSL *ssl = SSL_new(c->cfg.ssl_ctx);
	X509_VERIFY_PARAM *vp;

	if (!ssl)
		return NULL;
	vp = SSL_get0_param(ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->cfg.host) != 1) {
		if (X509_VERIFY_PARAM_set1_host(vp, c->cfg.host, 0) != 1 ||
		    SSL_set_tlsext_host_name(ssl, c->cfg.host) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return ssl;
}

static void connect_now(struct smpp_conn *c)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char hp[128];

	snprintf(hp, sizeof(hp), strchr(c->cfg.host, ':') ? "[%s]:%d" : "%s:%d", c->cfg.host,
		 c->cfg.port);
	if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sl) != 0) {
		drop(c, "bad address");
		return;
	}
	if (c->cfg.ssl_ctx) {
		SSL *ssl = tls_new(c);

		if (!ssl || !(c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
								      BUFFEREVENT_SSL_CONNECTING,
								      BEV_OPT_CLOSE_ON_FREE))) {
			if (ssl)
				SSL_free(ssl);
			drop(c, "TLS setup failed");
			return;
		}
	} else if (!(c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE))) {
		drop(c, "out of memory");
		return;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = ST_CONNECTING;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sl) != 0)
		drop(c, "connect failed");
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_now(arg);
}

static void schedule_reconnect(struct smpp_conn *c)
{
	struct timeval tv;
	int64_t ms;

	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : c->cfg.reconnect_min_ms;
	if (c->backoff_ms > c->cfg.reconnect_max_ms)
		c->backoff_ms = c->cfg.reconnect_max_ms;
	/* +-25 % jitter: binds of many gateways do not come back in step */
	ms = c->backoff_ms * 3 / 4 + (int64_t)(random() % (c->backoff_ms / 2 + 1));
	ms_tv(ms, &tv);
	event_add(c->retry_ev, &tv);
	LOG_C(c, MGW_LOGL_INFO, "reconnect in %lld ms", (long long)ms);
}

/* enquire_link while bound; a link silent for three intervals is dead */
static void enquire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_conn *c = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (c->state != ST_BOUND)
		return;
	if (mono_ms() - c->last_rx_ms > 3 * c->cfg.enquire_ms) {
		drop(c, "no answer to enquire_link");
		return;
	}
	send_simple(c, ENQUIRE_LINK, ESME_ROK, next_seq(c));
	ms_tv(c->cfg.enquire_ms, &tv);
	event_add(c->enquire_ev, &tv);
}

/* answers that never came: the submit fails with SMPP_CONN_TIMEOUT */
static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_conn *c = arg;
	struct pending *p, *next;
	int64_t now = mono_ms();
	struct timeval tv = { 0, 200000 };

	(void)fd;
	(void)what;
	for (p = TAILQ_FIRST(&c->pend); p; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->due_ms <= now)
			pending_end(p, SMPP_CONN_TIMEOUT, NULL);
	}
	if (c->npend)
		event_add(c->timeout_ev, &tv);
}

int smpp_conn_submit(struct smpp_conn *c, submit_sm_t *pdu, smpp_submit_cb cb, void *arg)
{
	struct pending *p;
	struct timeval tv = { 0, 200000 };

	if (!c || !pdu || !cb)
		return MGW_E_INVAL;
	if (c->state != ST_BOUND)
		return MGW_E_PEER;
	if (c->npend >= c->cfg.window)
		return MGW_E_FULL;
	if (!(p = talloc_zero(c, struct pending)))
		return MGW_E_NOMEM;
	pdu->command_id = SUBMIT_SM;
	pdu->command_status = ESME_ROK;
	pdu->sequence_number = next_seq(c);
	if (!send_pdu(c, pdu)) {
		talloc_free(p);
		return MGW_E_MALFORMED;
	}
	p->c = c;
	p->seq = pdu->sequence_number;
	p->due_ms = mono_ms() + c->cfg.resp_timeout_ms;
	p->cb = cb;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&c->pend, p, link);
	c->npend++;
	if (!event_pending(c->timeout_ev, EV_TIMEOUT, NULL))
		event_add(c->timeout_ev, &tv);
	return MGW_OK;
}

int smpp_conn_deliver_resp(struct smpp_conn *c, uint32_t seq, uint32_t status)
{
	deliver_sm_resp_t r;

	if (!c || !c->bev)
		return MGW_E_PEER;
	memset(&r, 0, sizeof(r));
	r.command_id = DELIVER_SM_RESP;
	r.command_status = status;
	r.sequence_number = seq;
	return send_pdu(c, &r) ? MGW_OK : MGW_E_PEER;
}

bool smpp_conn_bound(const struct smpp_conn *c)
{
	return c && c->state == ST_BOUND;
}

bool smpp_conn_ready(const struct smpp_conn *c)
{
	return smpp_conn_bound(c) && c->npend < c->cfg.window;
}

const char *smpp_conn_name(const struct smpp_conn *c)
{
	return c ? c->cfg.name : "";
}

static int conn_destructor(struct smpp_conn *c)
{
	c->stopping = true;
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	fail_all(c, SMPP_CONN_LOST);
	event_free(c->retry_ev);
	event_free(c->enquire_ev);
	event_free(c->timeout_ev);
	return 0;
}

int smpp_conn_start(void *ctx, struct event_base *base, const struct smpp_conn_cfg *cfg,
		    const struct smpp_conn_ops *ops, void *arg, struct smpp_conn **out)
{
	struct smpp_conn *c;

	if (!base || !cfg || !cfg->host || !cfg->system_id || !ops || !out || cfg->window == 0)
		return MGW_E_INVAL;
	if (!(c = talloc_zero(ctx, struct smpp_conn)))
		return MGW_E_NOMEM;
	c->cfg = *cfg;
	if (!(c->cfg.name = talloc_strdup(c, cfg->name ? cfg->name : cfg->host)) ||
	    !(c->cfg.host = talloc_strdup(c, cfg->host)) ||
	    !(c->cfg.system_id = talloc_strdup(c, cfg->system_id)) ||
	    (cfg->password && !(c->cfg.password = talloc_strdup(c, cfg->password))) ||
	    (cfg->system_type && !(c->cfg.system_type = talloc_strdup(c, cfg->system_type)))) {
		talloc_free(c);
		return MGW_E_NOMEM;
	}
	c->ops = ops;
	c->arg = arg;
	c->base = base;
	TAILQ_INIT(&c->pend);
	if (!(c->retry_ev = evtimer_new(base, retry_cb, c)) ||
	    !(c->enquire_ev = evtimer_new(base, enquire_cb, c)) ||
	    !(c->timeout_ev = evtimer_new(base, timeout_cb, c))) {
		if (c->retry_ev)
			event_free(c->retry_ev);
		if (c->enquire_ev)
			event_free(c->enquire_ev);
		talloc_free(c);
		return MGW_E_NOMEM;
	}
	talloc_set_destructor(c, conn_destructor);
	connect_now(c);
	*out = c;
	return MGW_OK;
}

void smpp_conn_stop(struct smpp_conn *c)
{
	if (!c)
		return;
	c->stopping = true;
	if (c->state == ST_BOUND && c->bev && c->cfg.ssl_ctx) {
		/* TLS: the unbind goes through the bufferevent; one flush attempt, then the
		 * close_notify (no loop turn is left to wait for the SMSC's unbind_resp) */
		uint32_t v[4] = { htonl(SMPP_HDR), htonl(UNBIND), htonl(ESME_ROK), htonl(next_seq(c)) };
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		struct evbuffer *out = bufferevent_get_output(c->bev);
		size_t n = evbuffer_get_length(out);

		evbuffer_add(out, v, sizeof(v));
		n += sizeof(v);
		if (ssl) {
			unsigned char *p = evbuffer_pullup(out, -1);

			if (p && SSL_write(ssl, p, (int)n) == (int)n)
				evbuffer_drain(out, n);
			else
				LOG_C(c, MGW_LOGL_INFO, "unbind not sent");
			SSL_shutdown(ssl);
		}
		c->state = ST_UNBINDING;
	} else if (c->state == ST_BOUND && c->bev) {
		/* orderly: what is queued, then unbind, written now (no loop turn is left) */
		int fd = bufferevent_getfd(c->bev);
		uint32_t v[4] = { htonl(SMPP_HDR), htonl(UNBIND), htonl(ESME_ROK), htonl(next_seq(c)) };
		struct evbuffer *out = bufferevent_get_output(c->bev);

		while (evbuffer_get_length(out) && evbuffer_write(out, fd) > 0)
			;
		if (send(fd, v, sizeof(v), MSG_NOSIGNAL) != (ssize_t)sizeof(v))
			LOG_C(c, MGW_LOGL_INFO, "unbind not sent");
		c->state = ST_UNBINDING;
		/* FIN after the unbind, and nothing unread left behind: a close with unread
		 * input would reset the connection and the SMSC could lose the unbind */
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		{
			uint8_t junk[512];

			while (recv(bufferevent_getfd(c->bev), junk, sizeof(junk), MSG_DONTWAIT) > 0)
				;
		}
	}
	talloc_free(c);
}
