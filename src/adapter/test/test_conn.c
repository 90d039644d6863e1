/* testdev lab adapter: the listener, one session per TCP connection, uplink submits and
 * downlink deliveries (README.md beside this file).
 *
 * Lifetimes: sessions and deliveries are talloc children of the adapter; a delivery is
 * finished (its done callback called) exactly once, by ACK/NACK, its timer, its session
 * closing or stop(). An uplink submit is tracked by a ticket under env->ctx, which outlives
 * the adapter: the core calls its callback later in any case, and a ticket whose session
 * has gone (session == NULL) is then just freed.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "test_int.h"

struct td_session;

/* one uplink submit awaiting the core's callback (child of env->ctx, not of the adapter) */
struct td_ticket {
	struct td_session *s; /* NULL once the session has gone */
	TAILQ_ENTRY(td_ticket) link;
	char msg_id[MGW_ID_MAX + 1];
};
TAILQ_HEAD(td_tickets, td_ticket);

enum td_where { TD_NOWHERE, TD_IN_SESSION, TD_IN_FAILS };

/* one downlink delivery: awaiting ACK in a session, or an early failure awaiting its turn */
struct td_delivery {
	struct td_adapter *ad;
	struct td_session *s; /* when where == TD_IN_SESSION */
	enum td_where where;
	TAILQ_ENTRY(td_delivery) link;
	mgw_deliver_done done;
	void *arg;
	struct event *timer; /* ACK timeout, or zero timeout for an early failure */
	char msg_id[MGW_ID_MAX + 1];
	int rc; /* early failure */
	bool retry;
	char cause[MGW_CAUSE_MAX + 1];
};
TAILQ_HEAD(td_deliveries, td_delivery);

struct td_session {
	struct td_adapter *ad;
	TAILQ_ENTRY(td_session) link;
	struct bufferevent *bev;
	struct event *resume; /* re-enable reading when submits drained below TD_SUBMIT_MAX */
	char peer[64];
	bool bound; /* HELLO succeeded: id and ue are set */
	struct mgw_identity id;
	char ue[MGW_ID_MAX + 1];
	bool sub;      /* receives downlink */
	bool paused;   /* TD_SUBMIT_MAX submits outstanding: not reading */
	bool eof;      /* the peer will send nothing more */
	bool quitting; /* close once the answers are out */
	size_t n_submits;
	struct td_tickets tickets;
	size_t n_deliv;
	struct td_deliveries deliv; /* oldest first */
};
TAILQ_HEAD(td_sessions, td_session);

struct td_adapter {
	void *ticket_ctx; /* env->ctx */
	struct event_base *base;
	struct mgw_core *core;
	struct mgw_security *sec;
	struct evconnlistener *lev;
	char where[80]; /* "ADDR:PORT" as bound */
	struct timeval ack_timeout;
	size_t window;
	bool stopping;
	struct td_sessions sessions; /* newest first */
	struct td_deliveries fails;
};

#define LOG_TD(s, level, fmt, ...)                                                           \
	LOGP(DTESTDEV, level, "testdev(%s){%s}: " fmt, (s)->peer, (s)->bound ? (s)->ue : "-", \
	     ##__VA_ARGS__)

static void session_process(struct td_session *s);
static bool session_maybe_close(struct td_session *s);

/* ---- deliveries ---- */

static void delivery_unlink(struct td_delivery *d)
{
	if (d->where == TD_IN_SESSION) {
		TAILQ_REMOVE(&d->s->deliv, d, link);
		d->s->n_deliv--;
		d->s = NULL;
	} else if (d->where == TD_IN_FAILS) {
		TAILQ_REMOVE(&d->ad->fails, d, link);
	}
	d->where = TD_NOWHERE;
}

static int delivery_destructor(struct td_delivery *d)
{
	delivery_unlink(d);
	if (d->timer)
		event_free(d->timer);
	return 0;
}

/* the one place where done is called: d is gone when done runs */
static void delivery_finish(struct td_delivery *d, int rc, bool retry, const char *cause)
{
	mgw_deliver_done done = d->done;
	void *arg = d->arg;
	char c[MGW_CAUSE_MAX + 1];

	snprintf(c, sizeof(c), "%s", cause ? cause : "");
	talloc_free(d);
	done(arg, rc, retry, c[0] ? c : NULL);
}

static void delivery_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct td_delivery *d = arg;

	(void)fd;
	(void)what;
	if (d->where == TD_IN_SESSION) {
		LOG_TD(d->s, MGW_LOGL_NOTICE, "no ACK for %s in time", d->msg_id);
		delivery_finish(d, MGW_E_TIMEOUT, true, "no ack");
		return;
	}
	delivery_finish(d, d->rc, d->retry, d->cause);
}

/* finish d on the next loop turn (never from inside deliver()) */
static int delivery_fail_later(struct td_delivery *d, int rc, bool retry, const char *cause)
{
	static const struct timeval zero = { 0, 0 };

	d->rc = rc;
	d->retry = retry;
	snprintf(d->cause, sizeof(d->cause), "%s", cause);
	TAILQ_INSERT_TAIL(&d->ad->fails, d, link);
	d->where = TD_IN_FAILS;
	if (evtimer_add(d->timer, &zero) != 0) {
		talloc_free(d); /* done will not be called */
		return MGW_E_NOMEM;
	}
	return MGW_OK;
}

/* ---- sessions ---- */

static int session_destructor(struct td_session *s)
{
	struct td_delivery *d;
	struct td_ticket *t;

	/* normally emptied by session_close(); this covers a bare talloc_free */
	while ((d = TAILQ_FIRST(&s->deliv)))
		delivery_finish(d, MGW_E_PEER, true, "device gone");
	while ((t = TAILQ_FIRST(&s->tickets))) {
		TAILQ_REMOVE(&s->tickets, t, link);
		t->s = NULL;
	}
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->resume)
		event_free(s->resume);
	TAILQ_REMOVE(&s->ad->sessions, s, link);
	return 0;
}

static void session_close(struct td_session *s, const char *cause)
{
	struct td_delivery *d;

	LOG_TD(s, MGW_LOGL_INFO, "closed (%s%s)", cause,
	       s->n_deliv ? ", deliveries pending" : "");
	while ((d = TAILQ_FIRST(&s->deliv)))
		delivery_finish(d, MGW_E_PEER, true, cause);
	talloc_free(s);
}

static void send_line(struct td_session *s, const char *line)
{
	if (!line || bufferevent_write(s->bev, line, strlen(line)) != 0 ||
	    bufferevent_write(s->bev, "\n", 1) != 0)
		LOG_TD(s, MGW_LOGL_ERROR, "answer lost: out of memory");
}

static void send_err(struct td_session *s, int rc, const char *where, const char *text)
{
	void *tmp = talloc_new(s);

	send_line(s, tmp ? td_fmt_err(tmp, rc, where, text) : NULL);
	talloc_free(tmp);
}

static void session_quit(struct td_session *s)
{
	s->quitting = true;
	bufferevent_disable(s->bev, EV_READ);
}

/* a quitting session closes once no answer is owed and everything was written */
static bool session_maybe_close(struct td_session *s)
{
	if (!s->quitting || s->n_submits ||
	    evbuffer_get_length(bufferevent_get_output(s->bev)) != 0)
		return false;
	session_close(s, s->eof ? "device gone" : "quit");
	return true;
}

static void submit_cb(void *arg, int rc, const struct mgw_verdict *v)
{
	struct td_ticket *t = arg;
	struct td_session *s = t->s;
	void *tmp;

	if (!s) {
		talloc_free(t);
		return;
	}
	TAILQ_REMOVE(&s->tickets, t, link);
	s->n_submits--;
	tmp = talloc_new(s);
	send_line(s, tmp ? td_fmt_submit(tmp, rc, t->msg_id, v ? v->cause : NULL,
					  v ? v->detail : NULL)
			 : NULL);
	LOG_TD(s, MGW_LOGL_DEBUG, "%s: %s", t->msg_id, mgw_errname(rc));
	talloc_free(tmp);
	talloc_free(t);
	if (s->paused && s->n_submits < TD_SUBMIT_MAX) {
		s->paused = false;
		event_active(s->resume, EV_TIMEOUT, 0); /* not from inside the core's callback */
	} else if (s->quitting && !s->n_submits) {
		event_active(s->resume, EV_TIMEOUT, 0); /* closes it, on our own event */
	}
}

static void do_submit(struct td_session *s, enum mgw_body body, const char *json, size_t len)
{
	struct td_adapter *ad = s->ad;
	struct mgw_diag diag = { 0 };
	struct mgw_msg *msg = NULL;
	struct td_ticket *t = NULL;
	char detail[MGW_DIAG_WHERE_MAX + MGW_DIAG_TEXT_MAX + 2];
	void *tmp = NULL;
	int rc;

	if ((rc = mgw_json_decode_msg(s, body, json, len, &mgw_codec_default_limits, &msg,
				      &diag)) != MGW_OK) {
		snprintf(detail, sizeof(detail), "%s%s%s", diag.where, diag.where[0] ? " " : "",
			 diag.text);
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_TEST, &s->id, NULL, rc,
					  NULL, detail);
		LOG_TD(s, MGW_LOGL_DEBUG, "%s refused: %s", mgw_body_name(body), detail);
		send_err(s, rc, diag.where, diag.text);
		goto out;
	}
	if (!(t = talloc_zero(ad->ticket_ctx, struct td_ticket))) {
		rc = MGW_E_NOMEM;
		goto answer;
	}
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg->msg_id);
	t->s = s;
	TAILQ_INSERT_TAIL(&s->tickets, t, link);
	s->n_submits++;
	if ((rc = mgw_core_submit(ad->core, msg, &s->id, submit_cb, t)) != MGW_OK) {
		/* the callback will not come; msg is the core's (freed) */
		msg = NULL;
		TAILQ_REMOVE(&s->tickets, t, link);
		s->n_submits--;
		goto answer;
	}
	msg = NULL;
	t = NULL;
	if (s->n_submits >= TD_SUBMIT_MAX) {
		s->paused = true;
		bufferevent_disable(s->bev, EV_READ);
	}
	goto out;
answer:
	LOG_TD(s, MGW_LOGL_ERROR, "submit of %s failed: %s", t ? t->msg_id : msg->msg_id,
	       mgw_strerror(rc));
	if ((tmp = talloc_new(s)))
		send_line(s, td_fmt_submit(tmp, rc, t ? t->msg_id : (msg ? msg->msg_id : ""),
					   NULL, NULL));
out:
	talloc_free(tmp);
	talloc_free(t);
	mgw_msg_free(msg);
}

static void do_hello(struct td_session *s, const struct td_cmd *c)
{
	struct mgw_ue_ref ref;
	struct mgw_identity id = s->id;
	void *tmp;

	if (s->bound) {
		send_err(s, MGW_E_INVAL, "", "hello: this session is bound already");
		return;
	}
	id.kind = c->kind;
	snprintf(id.value, sizeof(id.value), "%.*s", (int)c->arg_len, c->arg);
	if (mgw_security_identify(s->ad->sec, id.kind, id.value, &ref) != MGW_OK) {
		mgw_security_audit_reject(s->ad->sec, MGW_DIR_UPLINK, MGW_IN_TEST, &id, NULL,
					  MGW_E_UNKNOWN_DEVICE, NULL, "testdev hello: unknown credential");
		LOG_TD(s, MGW_LOGL_NOTICE, "hello refused: unknown %s credential",
		       mgw_cred_name(id.kind));
		send_err(s, MGW_E_UNKNOWN_DEVICE, "", "unknown credential");
		return;
	}
	s->id = id;
	snprintf(s->ue, sizeof(s->ue), "%s", ref.ue);
	s->bound = true;
	LOG_TD(s, MGW_LOGL_INFO, "hello as %s credential", mgw_cred_name(id.kind));
	if ((tmp = talloc_new(s)))
		send_line(s, td_fmt_ok(tmp, "hello", s->ue));
	talloc_free(tmp);
}

static void do_ack(struct td_session *s, const struct td_cmd *c)
{
	struct td_delivery *d;
	const char *cause = NULL;
	size_t clen = 0;
	char buf[MGW_CAUSE_MAX + 1];

	TAILQ_FOREACH(d, &s->deliv, link) {
		if (c->verb == TD_ACK && strlen(d->msg_id) == c->arg_len &&
		    memcmp(d->msg_id, c->arg, c->arg_len) == 0)
			break;
		if (c->verb == TD_NACK && td_nack_match(c->arg, c->arg_len, d->msg_id, &cause, &clen))
			break;
	}
	if (!d) {
		send_err(s, MGW_E_NOT_FOUND, "", c->verb == TD_ACK ? "ACK: no delivery awaits it"
								 : "NACK: no delivery awaits it");
		return;
	}
	if (c->verb == TD_ACK) {
		LOG_TD(s, MGW_LOGL_DEBUG, "ACK %s", d->msg_id);
		delivery_finish(d, MGW_OK, false, NULL);
		return;
	}
	if (clen > MGW_CAUSE_MAX)
		clen = MGW_CAUSE_MAX;
	snprintf(buf, sizeof(buf), "%.*s", (int)clen, clen ? cause : "refused by device");
	LOG_TD(s, MGW_LOGL_INFO, "NACK %s", d->msg_id);
	delivery_finish(d, MGW_E_PEER, false, buf);
}

static void handle_line(struct td_session *s, const char *line, size_t n)
{
	struct mgw_diag diag = { 0 };
	struct td_cmd c;
	void *tmp;
	int rc;

	if ((rc = td_parse(line, n, &c, &diag)) != MGW_OK) {
		send_err(s, rc, diag.where, diag.text);
		return;
	}
	if (c.verb == TD_QUIT) {
		session_quit(s);
		return;
	}
	if (c.verb == TD_HELLO) {
		do_hello(s, &c);
		return;
	}
	if (!s->bound) {
		send_err(s, MGW_E_AUTH, "", "hello first");
		return;
	}
	switch (c.verb) {
	case TD_MSG:
		do_submit(s, MGW_BODY_DEVICE, c.arg, c.arg_len);
		break;
	case TD_REPORT:
		do_submit(s, MGW_BODY_REPORT, c.arg, c.arg_len);
		break;
	case TD_SUB:
		s->sub = true;
		if ((tmp = talloc_new(s)))
			send_line(s, td_fmt_ok(tmp, "sub", s->ue));
		talloc_free(tmp);
		/* downlink waiting for this UE need not wait for its back-off */
		mgw_core_kick_south(s->ad->core);
		break;
	case TD_ACK:
	case TD_NACK:
		do_ack(s, &c);
		break;
	default:
		break;
	}
}

/* read complete lines until paused, quitting or out of input; may close s */
static void session_process(struct td_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char *line;
	size_t n;

	while (!s->paused && !s->quitting) {
		if (!(line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF))) {
			if (evbuffer_get_length(in) > TD_LINE_MAX) {
				LOG_TD(s, MGW_LOGL_NOTICE, "line longer than %d bytes: closing",
				       TD_LINE_MAX);
				send_err(s, MGW_E_TOO_BIG, "", "line too long");
				evbuffer_drain(in, evbuffer_get_length(in));
				session_quit(s);
			} else if (s->eof) {
				session_quit(s); /* an unterminated last line is ignored */
			}
			break;
		}
		if (n > TD_LINE_MAX) {
			free(line);
			send_err(s, MGW_E_TOO_BIG, "", "line too long");
			evbuffer_drain(in, evbuffer_get_length(in));
			session_quit(s);
			break;
		}
		handle_line(s, line, n);
		free(line);
	}
	session_maybe_close(s);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_process(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_maybe_close(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct td_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		session_close(s, "device gone");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		s->eof = true;
		session_process(s); /* answers still go out; then it closes */
	}
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct td_session *s = arg;

	(void)fd;
	(void)what;
	if (!s->quitting && !s->eof)
		bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

static void fmt_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct td_adapter *ad = arg;
	struct td_session *s;

	(void)l;
	if (!(s = talloc_zero(ad, struct td_session))) {
		evutil_closesocket(fd);
		return;
	}
	s->ad = ad;
	TAILQ_INIT(&s->tickets);
	TAILQ_INIT(&s->deliv);
	TAILQ_INSERT_HEAD(&ad->sessions, s, link);
	talloc_set_destructor(s, session_destructor);
	fmt_sockaddr(sa, (socklen_t)salen, s->peer, sizeof(s->peer));
	s->id.ingress = MGW_IN_TEST;
	snprintf(s->id.peer, sizeof(s->id.peer), "%s", s->peer);
	if (!(s->bev = bufferevent_socket_new(ad->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		evutil_closesocket(fd);
		talloc_free(s);
		return;
	}
	if (!(s->resume = event_new(ad->base, -1, 0, resume_cb, s))) {
		talloc_free(s);
		return;
	}
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	/* never buffer more than one maximal line (plus its LF) */
	bufferevent_setwatermark(s->bev, EV_READ, 0, TD_LINE_MAX + 1);
	if (bufferevent_enable(s->bev, EV_READ | EV_WRITE) != 0) {
		talloc_free(s);
		return;
	}
	LOG_TD(s, MGW_LOGL_INFO, "connected");
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	LOGP(DTESTDEV, MGW_LOGL_ERROR, "testdev: accept: %s", evutil_socket_error_to_string(e));
}

/* ---- downlink ---- */

static struct td_session *find_sub(struct td_adapter *ad, const char *ue)
{
	struct td_session *s;

	TAILQ_FOREACH(s, &ad->sessions, link)
		if (s->sub && !s->quitting && strcmp(s->ue, ue) == 0)
			return s;
	return NULL;
}

int td_adapter_deliver(struct td_adapter *ad, const struct mgw_msg *msg,
		       const struct mgw_device *dev, mgw_deliver_done done, void *arg)
{
	struct mgw_diag diag = { 0 };
	struct td_delivery *d;
	struct td_session *s;
	const char *ue = mgw_device_ue(dev);
	char *json = NULL, *line = NULL;
	size_t len = 0;
	void *tmp = NULL;
	int rc;

	if (!ad || ad->stopping || !msg || !ue || !done)
		return MGW_E_INVAL;
	if (!(d = talloc_zero(ad, struct td_delivery)))
		return MGW_E_NOMEM;
	talloc_set_destructor(d, delivery_destructor);
	d->ad = ad;
	d->done = done;
	d->arg = arg;
	snprintf(d->msg_id, sizeof(d->msg_id), "%s", msg->msg_id);
	if (!(d->timer = evtimer_new(ad->base, delivery_timer_cb, d))) {
		talloc_free(d);
		return MGW_E_NOMEM;
	}
	if (!(s = find_sub(ad, ue))) {
		rc = delivery_fail_later(d, MGW_E_TIMEOUT, true, "device not connected");
		goto out;
	}
	if (s->n_deliv >= ad->window) {
		rc = delivery_fail_later(d, MGW_E_FULL, true, "window full");
		goto out;
	}
	if (!(tmp = talloc_new(d))) {
		talloc_free(d);
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = mgw_json_encode_msg(tmp, msg->kind == MGW_MSG_REPORT ? MGW_BODY_REPORT
								 : MGW_BODY_N3G_MESSAGE,
				      msg, &json, &len, &diag)) != MGW_OK ||
	    (rc = td_fmt_deliver(tmp, json, len, &line)) != MGW_OK) {
		if (rc == MGW_E_NOMEM) {
			talloc_free(d); /* and tmp with it */
			tmp = NULL;
			goto out;
		}
		/* this message can never be written on this wire: end it */
		LOG_TD(s, MGW_LOGL_ERROR, "cannot deliver %s: %s %s", d->msg_id, diag.where,
		       diag.text[0] ? diag.text : mgw_strerror(rc));
		talloc_free(tmp);
		tmp = NULL;
		rc = delivery_fail_later(d, rc, false, "cannot encode for testdev");
		goto out;
	}
	send_line(s, line);
	TAILQ_INSERT_TAIL(&s->deliv, d, link);
	d->where = TD_IN_SESSION;
	d->s = s;
	s->n_deliv++;
	if (evtimer_add(d->timer, &ad->ack_timeout) != 0)
		LOG_TD(s, MGW_LOGL_ERROR, "no ACK timer for %s", d->msg_id);
	LOG_TD(s, MGW_LOGL_DEBUG, "DELIVER %s", d->msg_id);
	rc = MGW_OK;
out:
	talloc_free(tmp);
	return rc;
}

/* ---- start / stop ---- */

static int adapter_destructor(struct td_adapter *ad)
{
	struct td_session *s;
	struct td_delivery *d;

	if (ad->lev)
		evconnlistener_free(ad->lev);
	ad->lev = NULL;
	while ((s = TAILQ_FIRST(&ad->sessions)))
		session_close(s, "adapter stopped");
	while ((d = TAILQ_FIRST(&ad->fails)))
		delivery_finish(d, d->rc, d->retry, d->cause);
	return 0;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;
	int rc = MGW_E_IO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return MGW_E_INVAL;
	if (!(f = fopen(tmp, "w")))
		goto out;
	if (fprintf(f, "%d\n", port) < 0) {
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		goto out;
	rc = MGW_OK;
out:
	if (rc != MGW_OK) {
		LOGP(DTESTDEV, MGW_LOGL_ERROR, "testdev: cannot write port_file %s: %s", path,
		     strerror(errno));
		unlink(tmp);
	}
	return rc;
}

int td_adapter_start(const struct mgw_adapter_env *env, const struct mgw_testdev_cfg *cfg,
		     struct td_adapter **out)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	struct td_adapter *ad;
	int port, rc;

	if (!(ad = talloc_zero(env->ctx, struct td_adapter)))
		return MGW_E_NOMEM;
	TAILQ_INIT(&ad->sessions);
	TAILQ_INIT(&ad->fails);
	talloc_set_destructor(ad, adapter_destructor);
	ad->ticket_ctx = env->ctx;
	ad->base = env->base;
	ad->core = env->core;
	ad->sec = env->sec;
	ad->window = (size_t)cfg->window;
	ad->ack_timeout.tv_sec = cfg->ack_timeout_ms / 1000;
	ad->ack_timeout.tv_usec = (cfg->ack_timeout_ms % 1000) * 1000;
	if (evutil_inet_pton(AF_INET, cfg->addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)cfg->port);
		sl = sizeof(*v4);
	} else if (evutil_inet_pton(AF_INET6, cfg->addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)cfg->port);
		sl = sizeof(*v6);
	} else {
		LOGP(DTESTDEV, MGW_LOGL_ERROR, "testdev: addr %s is not a numeric address", cfg->addr);
		rc = MGW_E_CONFIG;
		goto out;
	}
	if (!(ad->lev = evconnlistener_new_bind(ad->base, accept_cb, ad,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
							LEV_OPT_CLOSE_ON_EXEC,
						-1, (struct sockaddr *)&ss, (int)sl))) {
		LOGP(DTESTDEV, MGW_LOGL_ERROR, "testdev: cannot listen on %s port %d: %s", cfg->addr,
		     (int)cfg->port, strerror(errno));
		rc = MGW_E_IO;
		goto out;
	}
	evconnlistener_set_error_cb(ad->lev, accept_error_cb);
	sl = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(ad->lev), (struct sockaddr *)&ss, &sl) != 0) {
		rc = MGW_E_IO;
		goto out;
	}
	port = ntohs(ss.ss_family == AF_INET6 ? v6->sin6_port : v4->sin_port);
	fmt_sockaddr((struct sockaddr *)&ss, sl, ad->where, sizeof(ad->where));
	if (cfg->port_file && (rc = write_port_file(cfg->port_file, port)) != MGW_OK)
		goto out;
	LOGP(DTESTDEV, MGW_LOGL_NOTICE, "testdev: INSECURE lab adapter listening on %s", ad->where);
	*out = ad;
	ad = NULL;
	rc = MGW_OK;
out:
	talloc_free(ad);
	return rc;
}

void td_adapter_stop(struct td_adapter *ad)
{
	if (!ad)
		return;
	ad->stopping = true;
	LOGP(DTESTDEV, MGW_LOGL_INFO, "testdev: stopping");
	talloc_free(ad); /* the destructor closes and fails everything, in order */
}
