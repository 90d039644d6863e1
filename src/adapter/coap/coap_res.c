/* CoAP adapter: the resources (interfaces.md 5, doc/internals/coap.md).
 *
 * Uplink, POST /msg and POST /report: the body (JSON, Content-Format 50, or CBOR, 60; Block1
 * reassembled here up to coap.max_body) goes to mgw_core_submit() and the request is parked
 * as a libcoap async: the device gets an empty ACK at once and the 2.04 as a separate
 * response once the message is durable (or the refusal code). A retransmitted CON is
 * answered by libcoap from the async state; a repeated msgId is stored once (the store is
 * idempotent on (origin, msgId)) and answered 2.04 again.
 *
 * Downlink, GET /inbox + Observe: the observation is kept here, not in libcoap's observe
 * machinery (which notifies every observer of a resource at once): each stored message for
 * the observing UE goes as one confirmable 2.05 notification with the observation's token,
 * one at a time. libcoap 4.3.1 reports no event for the empty ACK of a CON (net.c: "an empty
 * ACK needs no further handling"), so each notification is followed by a CoAP ping: NSTART=1
 * holds the ping back until the notification was acknowledged, and the ping's RST comes back
 * through the NACK handler. A NACK of the notification itself (RST: the device cancelled;
 * too many retransmissions: it is away) keeps the message for later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <talloc.h>

#include <mgw/adapter_coap.h>
#include <mgw/codec.h>
#include <mgw/codec_cbor.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "coap_int.h"

#define CODE(n) COAP_RESPONSE_CODE(n)

/* ---- mgw_err -> CoAP response code: the one table ---- */
static const struct {
	int rc;
	unsigned code;
} code_table[] = {
	{ MGW_OK, 204 },
	{ MGW_E_DUPLICATE, 204 },
	{ MGW_E_MALFORMED, 400 },
	{ MGW_E_MISSING, 400 },
	{ MGW_E_TYPE, 400 },
	{ MGW_E_AUTH, 401 },
	{ MGW_E_UNKNOWN_DEVICE, 401 },
	{ MGW_E_BAD_CREDENTIAL, 401 },
	{ MGW_E_REPLAY, 401 }, /* RFC 8613 7.4: a replayed OSCORE request gets 4.01 */
	{ MGW_E_CRYPTO, 400 }, /* RFC 8613 8.2: one that does not decrypt gets 4.00 */
	{ MGW_E_FORBIDDEN, 403 },
	{ MGW_E_POLICY, 403 },
	{ MGW_E_SPOOF, 403 },
	{ MGW_E_UNKNOWN_UE, 404 },
	{ MGW_E_NOT_FOUND, 404 },
	{ MGW_E_TOO_BIG, 413 },
	{ MGW_E_UNSUPPORTED, 415 },
	{ MGW_E_FULL, 503 },
	{ MGW_E_TIMEOUT, 503 },
};

static unsigned code_of(int rc)
{
	for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
		if (code_table[i].rc == rc)
			return code_table[i].code;
	return 500;
}

/* one uplink submit awaiting the core (under ad->ticket_ctx: may outlive the adapter) */
struct ticket {
	struct coap_ad *ad; /* NULL once the adapter stopped */
	coap_async_t *async;
	TAILQ_ENTRY(ticket) link;
	bool done;
	bool is_report;
	int rc;
	char msg_id[MGW_ID_MAX + 1];
	char cause[48];
	char detail[MGW_DIAG_TEXT_MAX];
};
static TAILQ_HEAD(, ticket) tickets = TAILQ_HEAD_INITIALIZER(tickets);

/* one downlink notification in flight */
struct cs_delivery {
	struct coap_ad *ad;
	struct cs *s;
	mgw_deliver_done done;
	void *arg;
	coap_mid_t mid, ping_mid;
	struct event *timer; /* safety net, and the deferred early failure */
	int rc;
	bool retry;
	char cause[MGW_CAUSE_MAX + 1];
	char msg_id[MGW_ID_MAX + 1];
	/* a body larger than one datagram goes block-wise (RFC 7959 Block2): the notification
	 * carries block 0, the device fetches the rest with GET /inbox + Block2 */
	uint8_t *body;
	size_t len;
	unsigned szx;     /* block size 2^(szx+4) */
	unsigned nblocks; /* 1: fits one datagram */
	uint8_t etag[4];
	uint16_t format;
	bool first_acked; /* block 0 acknowledged: now it is up to the device's GETs */
};

static unsigned ue_hash(const char *ue)
{
	unsigned h = 2166136261u;

	for (; *ue; ue++)
		h = (h ^ (unsigned char)*ue) * 16777619u;
	return h % COAP_UE_BUCKETS;
}

/* ---- answers ---- */

static void answer(coap_pdu_t *response, unsigned code, const char *diag)
{
	coap_pdu_set_code(response, (coap_pdu_code_t)CODE(code));
	if (diag && *diag && code >= 400)
		coap_add_data(response, strlen(diag), (const uint8_t *)diag);
}

static void answer_max_age(coap_pdu_t *response, unsigned code, int64_t ms, const char *diag)
{
	uint8_t buf[4];
	unsigned secs = (unsigned)((ms + 999) / 1000);

	coap_add_option(response, COAP_OPTION_MAXAGE, coap_encode_var_safe(buf, sizeof(buf), secs),
			buf);
	answer(response, code, diag);
}

/* A refusal before the core saw the message: audited here (the core audits its own). */
static void refuse(struct cs *s, coap_pdu_t *response, int rc, const char *cause,
		   const char *msg_id, const char *detail)
{
	char diag[MGW_DIAG_TEXT_MAX + 64];

	mgw_security_audit_reject(s->ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, s->id.kind ? &s->id : NULL,
				  msg_id, rc, cause, detail);
	s->ad->n.uplink_refused++;
	snprintf(diag, sizeof(diag), "%s: %s", cause ? cause : mgw_errname(rc), detail);
	LOG_CS(s, MGW_LOGL_INFO, "refused %u: %s", code_of(rc), diag);
	if (rc == MGW_E_FULL)
		answer_max_age(response, 503, s->ad->cfg->retry_after_ms, diag);
	else
		answer(response, code_of(rc), diag);
}

static unsigned opt_uint(const coap_pdu_t *pdu, coap_option_num_t num, bool *present)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, num, &it);

	*present = o != NULL;
	return o ? coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : 0;
}

/* ---- who is calling ---- */

/* The identity of a request: the DTLS credential; on an insecure plain listener the
 * claimed `ep=<psk identity>` query (believed: that is what insecure means). */
static struct cs *caller(struct coap_ad *ad, coap_session_t *session, const coap_string_t *query,
			 coap_pdu_t *response)
{
	struct cs *s = cs_of(ad, session);
	struct mgw_ue_ref ref;

	if (!s) {
		answer(response, 500, "out of memory");
		return NULL;
	}
	if (s->dtls) {
		if (!s->have_id) {
			refuse(s, response, MGW_E_AUTH, "NO_CREDENTIAL", NULL, "no DTLS credential");
			return NULL;
		}
		return s;
	}
	if (s->refused) {
		refuse(s, response, MGW_E_FULL, s->refused_cause, NULL, "session limit");
		return NULL;
	}
	if (!s->have_id) {
		size_t n = query ? query->length : 0;
		const char *q = query ? (const char *)query->s : "";

		s->id.kind = MGW_CRED_PSK_ID;
		if (n < 4 || memcmp(q, "ep=", 3) != 0 || n - 3 > MGW_ID_MAX || memchr(q, '&', n)) {
			refuse(s, response, MGW_E_AUTH, "NO_CREDENTIAL", NULL,
			       "plain CoAP: say who you are with ?ep=<psk_identity>");
			return NULL;
		}
		snprintf(s->id.value, sizeof(s->id.value), "%.*s", (int)(n - 3), q + 3);
		if (mgw_security_identify(ad->sec, MGW_CRED_PSK_ID, s->id.value, &ref) != MGW_OK) {
			refuse(s, response, MGW_E_UNKNOWN_DEVICE, NULL, NULL, "unknown endpoint name");
			return NULL;
		}
		snprintf(s->ue, sizeof(s->ue), "%s", ref.ue);
		s->have_id = true;
		s->established = true;
	}
	return s;
}

/* ---- block-wise uplink (RFC 7959 Block1) ---- */

static void blk_reset(struct cs *s)
{
	talloc_free(s->blk.buf);
	memset(&s->blk, 0, sizeof(s->blk));
}

/* Take this request's part of the body. Returns 1 with the whole body in body and len, 0 when
 * the answer (2.31 or an error) is already in response. */
static int take_body(struct cs *s, coap_resource_t *res, const coap_pdu_t *req,
		     coap_pdu_t *response, uint16_t fmt, const uint8_t **body, size_t *len)
{
	size_t max = (size_t)s->ad->cfg->max_body, n = 0, size;
	const uint8_t *data = NULL;
	coap_block_b_t b;
	unsigned size1;
	bool has_size1;
	uint8_t buf[4];
	char diag[96];

	coap_get_data(req, &n, &data);
	size1 = opt_uint(req, COAP_OPTION_SIZE1, &has_size1);
	if (has_size1 && size1 > max) {
		coap_add_option(response, COAP_OPTION_SIZE1, coap_encode_var_safe(buf, sizeof(buf), max), buf);
		snprintf(diag, sizeof(diag), "body of %u bytes over coap.max_body (%zu)", size1, max);
		refuse(s, response, MGW_E_TOO_BIG, "TOO_LARGE", NULL, diag);
		blk_reset(s);
		return 0;
	}
	if (!coap_get_block_b(s->session, req, COAP_OPTION_BLOCK1, &b)) {
		if (n > max) {
			coap_add_option(response, COAP_OPTION_SIZE1,
					coap_encode_var_safe(buf, sizeof(buf), max), buf);
			snprintf(diag, sizeof(diag), "body of %zu bytes over coap.max_body (%zu)", n, max);
			refuse(s, response, MGW_E_TOO_BIG, "TOO_LARGE", NULL, diag);
			return 0;
		}
		*body = data;
		*len = n;
		return 1;
	}
	size = (size_t)1 << (b.szx + 4);
	if (b.bert || b.szx > 6) {
		refuse(s, response, MGW_E_UNSUPPORTED, "BLOCK", NULL, "BERT is not supported");
		blk_reset(s);
		return 0;
	}
	if (b.num == 0) {
		blk_reset(s);
		s->blk.res = res;
		s->blk.szx = b.szx;
		s->blk.format = fmt;
	} else if (s->blk.res != res || b.num != s->blk.next_num || b.szx != s->blk.szx ||
		   fmt != s->blk.format) {
		blk_reset(s);
		s->ad->n.uplink_refused++;
		answer(response, 408, "block out of sequence: start again at block 0");
		return 0;
	}
	if ((b.m && n != size) || n > size) {
		blk_reset(s);
		refuse(s, response, MGW_E_MALFORMED, "BLOCK", NULL, "block of the wrong size");
		return 0;
	}
	if (s->blk.len + n > max) {
		coap_add_option(response, COAP_OPTION_SIZE1, coap_encode_var_safe(buf, sizeof(buf), max), buf);
		snprintf(diag, sizeof(diag), "body over coap.max_body (%zu)", max);
		refuse(s, response, MGW_E_TOO_BIG, "TOO_LARGE", NULL, diag);
		blk_reset(s);
		return 0;
	}
	if (n) {
		uint8_t *nb = talloc_realloc_size(s, s->blk.buf, s->blk.len + n);

		if (!nb) {
			blk_reset(s);
			answer(response, 500, "out of memory");
			return 0;
		}
		memcpy(nb + s->blk.len, data, n);
		s->blk.buf = nb;
		s->blk.len += n;
	}
	s->blk.next_num = b.num + 1;
	coap_add_option(response, COAP_OPTION_BLOCK1,
			coap_encode_var_safe(buf, sizeof(buf), (b.num << 4) | (b.m << 3) | b.szx), buf);
	if (b.m) {
		coap_pdu_set_code(response, (coap_pdu_code_t)CODE(231));
		return 0;
	}
	*body = s->blk.buf;
	*len = s->blk.len;
	return 1;
}

/* ---- uplink ---- */

static void ticket_unlink(struct ticket *t)
{
	if (t->ad)
		TAILQ_REMOVE(&tickets, t, link);
	t->ad = NULL;
}

static void submit_cb(void *arg, int rc, const struct mgw_verdict *v)
{
	struct ticket *t = arg;

	if (!t->ad) {
		talloc_free(t);
		return;
	}
	t->done = true;
	t->rc = rc;
	if (v && v->cause[0])
		snprintf(t->cause, sizeof(t->cause), "%s", v->cause);
	if (v && v->detail[0])
		snprintf(t->detail, sizeof(t->detail), "%s", v->detail);
	if (rc == MGW_OK || rc == MGW_E_DUPLICATE)
		t->ad->n.uplink_ok++;
	else
		t->ad->n.uplink_refused++;
	/* the handler runs again for this request (coap_check_async) and answers from t */
	coap_async_trigger(t->async);
	coap_ad_kick(t->ad);
}

/* The separate response of a parked request: called by libcoap once triggered. */
static void answer_parked(coap_session_t *session, coap_async_t *async, const coap_pdu_t *req,
			  coap_pdu_t *response)
{
	struct ticket *t = coap_async_get_app_data(async);
	coap_block_b_t b;
	uint8_t buf[4];
	char diag[MGW_DIAG_TEXT_MAX + 64];
	unsigned code;

	if (!t || !t->done)
		return; /* not ours to answer yet */
	coap_async_set_app_data(async, NULL);
	code = code_of(t->rc);
	if (coap_get_block_b(session, req, COAP_OPTION_BLOCK1, &b))
		coap_add_option(response, COAP_OPTION_BLOCK1,
				coap_encode_var_safe(buf, sizeof(buf), (b.num << 4) | b.szx), buf);
	snprintf(diag, sizeof(diag), "%s: %s", t->cause[0] ? t->cause : mgw_errname(t->rc),
		 t->detail[0] ? t->detail : mgw_strerror(t->rc));
	if (t->rc == MGW_E_FULL && t->ad)
		answer_max_age(response, 503, t->ad->cfg->retry_after_ms, diag);
	else
		answer(response, code, diag);
	ticket_unlink(t);
	talloc_free(t);
}

/* A device's report on a notification it got: also confirms that delivery. */
static void report_confirms(struct cs *s, const struct mgw_msg *m)
{
	struct cs_delivery *d = s->deliv;

	if (!d || strcmp(d->msg_id, m->msg_id) != 0)
		return;
	LOG_CS(s, MGW_LOGL_DEBUG, "report confirms %s", d->msg_id);
	s->deliv = NULL;
	d->s = NULL;
	s->ad->n.delivered++;
	d->done(d->arg, MGW_OK, false, NULL);
	talloc_free(d);
}

static void uplink(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
		   const coap_string_t *query, coap_pdu_t *response, enum mgw_body kind)
{
	struct coap_ad *ad = coap_get_app_data(coap_session_get_context(session));
	struct mgw_codec_limits lim;
	struct mgw_diag diag = { 0 };
	struct mgw_msg *msg = NULL;
	struct ticket *t;
	coap_async_t *async;
	const uint8_t *body = NULL;
	size_t len = 0;
	unsigned fmt;
	bool has_fmt;
	char detail[MGW_DIAG_WHERE_MAX + MGW_DIAG_TEXT_MAX + 2];
	struct cs *s;
	int rc;

	if (!ad)
		return;
	if ((async = coap_find_async(session, coap_pdu_get_token(req)))) {
		answer_parked(session, async, req, response);
		return;
	}
	if (!(s = caller(ad, session, query, response)))
		return;
	fmt = opt_uint(req, COAP_OPTION_CONTENT_FORMAT, &has_fmt);
	if (!has_fmt || (fmt != COAP_MEDIATYPE_APPLICATION_JSON &&
			 fmt != COAP_MEDIATYPE_APPLICATION_CBOR)) {
		refuse(s, response, MGW_E_UNSUPPORTED, "CONTENT_FORMAT", NULL,
		       "Content-Format must be 50 (application/json) or 60 (application/cbor)");
		return;
	}
	if (!take_body(s, res, req, response, (uint16_t)fmt, &body, &len))
		return;
	if (!cs_rate_ok(s)) {
		blk_reset(s);
		ad->n.refused_rate++;
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_COAP, &s->id, NULL,
					  MGW_E_FULL, "RATE", "coap.rate exceeded");
		ad->n.uplink_refused++;
		answer_max_age(response, 429, 1000, "RATE: coap.rate exceeded");
		return;
	}
	lim.max_body = (size_t)ad->cfg->max_body;
	lim.max_payload = (size_t)ad->cfg->max_body;
	if (fmt == COAP_MEDIATYPE_APPLICATION_CBOR)
		rc = mgw_cbor_decode_msg(s, kind, body, len, &lim, &msg, &diag);
	else
		rc = mgw_json_decode_msg(s, kind, (const char *)body, len, &lim, &msg, &diag);
	blk_reset(s);
	if (rc != MGW_OK) {
		snprintf(detail, sizeof(detail), "%s%s%s", diag.where, diag.where[0] ? " " : "",
			 diag.text);
		refuse(s, response, rc, NULL, NULL, detail);
		return;
	}
	if (kind == MGW_BODY_REPORT)
		report_confirms(s, msg);
	if (!(t = talloc_zero(ad->ticket_ctx, struct ticket)) ||
	    !(async = coap_register_async(session, req, 0))) {
		talloc_free(t);
		mgw_msg_free(msg);
		answer(response, 500, "out of memory");
		return;
	}
	t->ad = ad;
	t->async = async;
	t->is_report = kind == MGW_BODY_REPORT;
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg->msg_id);
	coap_async_set_app_data(async, t);
	TAILQ_INSERT_TAIL(&tickets, t, link);
	if ((rc = mgw_core_submit(ad->core, msg, &s->id, submit_cb, t)) !=
	    MGW_OK) {
		/* no callback will come: answer now, drop the parked state */
		coap_async_set_app_data(async, NULL);
		coap_free_async(session, async);
		ticket_unlink(t);
		talloc_free(t);
		refuse(s, response, rc, NULL, NULL, mgw_strerror(rc));
		return;
	}
	/* no code: libcoap sends the empty ACK now, the answer comes separately */
}

static void msg_handler(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
			const coap_string_t *query, coap_pdu_t *response)
{
	uplink(res, session, req, query, response, MGW_BODY_DEVICE);
}

static void report_handler(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
			   const coap_string_t *query, coap_pdu_t *response)
{
	uplink(res, session, req, query, response, MGW_BODY_REPORT);
}

/* ---- downlink ---- */

static void unobserve(struct cs *s)
{
	if (!s->observing)
		return;
	LIST_REMOVE(s, ue_link);
	s->observing = false;
	LOG_CS(s, MGW_LOGL_INFO, "stopped observing /inbox (UE %s)", s->ue);
}

static void deliv_finish(struct cs_delivery *d, int rc, bool retry, const char *cause);

/* A GET /inbox with Block2 for a block of the notification in flight: that block (2.05 with
 * ETag, Block2, Size2); the last one completes the delivery. Returns false when the request
 * is not such a fetch. */
static bool serve_block(struct cs *s, const coap_pdu_t *req, coap_pdu_t *response)
{
	struct cs_delivery *d = s->deliv;
	coap_block_b_t b;
	uint8_t buf[4];
	size_t size, off, n;

	if (!coap_get_block_b(s->session, req, COAP_OPTION_BLOCK2, &b))
		return false;
	if (!d || d->nblocks <= 1) {
		answer(response, 404, "no message in transfer");
		return true;
	}
	/* a device may ask for smaller blocks, never larger ones */
	if (b.szx < d->szx) {
		d->szx = b.szx;
	}
	size = (size_t)1 << (d->szx + 4);
	off = (size_t)b.num * size;
	if (off >= d->len) {
		answer(response, 400, "Block2 beyond the message");
		return true;
	}
	n = d->len - off < size ? d->len - off : size;
	coap_add_option(response, COAP_OPTION_ETAG, sizeof(d->etag), d->etag);
	coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
			coap_encode_var_safe(buf, sizeof(buf), d->format), buf);
	coap_add_option(response, COAP_OPTION_BLOCK2,
			coap_encode_var_safe(buf, sizeof(buf),
					     (b.num << 4) | ((off + n < d->len) << 3) | d->szx),
			buf);
	coap_add_option(response, COAP_OPTION_SIZE2, coap_encode_var_safe(buf, sizeof(buf), d->len),
			buf);
	coap_pdu_set_code(response, (coap_pdu_code_t)CODE(205));
	coap_add_data(response, n, d->body + off);
	if (off + n >= d->len) {
		/* the device has the whole message */
		LOG_CS(s, MGW_LOGL_DEBUG, "delivered %s (%u blocks)", d->msg_id, d->nblocks);
		deliv_finish(d, MGW_OK, false, NULL);
	}
	return true;
}

static void inbox_handler(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
			  const coap_string_t *query, coap_pdu_t *response)
{
	struct coap_ad *ad = coap_get_app_data(coap_session_get_context(session));
	coap_bin_const_t tok = coap_pdu_get_token(req);
	unsigned obs, accept;
	bool has_obs, has_accept;
	uint8_t buf[4];
	struct cs *s;

	(void)res;
	if (!ad || !(s = caller(ad, session, query, response)))
		return;
	obs = opt_uint(req, COAP_OPTION_OBSERVE, &has_obs);
	accept = opt_uint(req, COAP_OPTION_ACCEPT, &has_accept);
	if (!has_obs && serve_block(s, req, response))
		return;
	if (has_accept && accept != COAP_MEDIATYPE_APPLICATION_JSON &&
	    accept != COAP_MEDIATYPE_APPLICATION_CBOR) {
		answer(response, 406, "Accept: 50 (application/json) or 60 (application/cbor)");
		return;
	}
	if (has_obs && obs == 0) {
		if (tok.length > sizeof(s->token)) {
			answer(response, 400, "token too long");
			return;
		}
		if (!s->observing) {
			struct cs *o;

			/* one observer per UE: a newer session of the same device takes over */
			LIST_FOREACH(o, &ad->by_ue[ue_hash(s->ue)], ue_link)
				if (strcmp(o->ue, s->ue) == 0)
					break;
			if (o)
				unobserve(o);
			LIST_INSERT_HEAD(&ad->by_ue[ue_hash(s->ue)], s, ue_link);
			s->observing = true;
		}
		memcpy(s->token, tok.s, tok.length);
		s->toklen = tok.length;
		s->want_cbor = has_accept && accept == COAP_MEDIATYPE_APPLICATION_CBOR;
		coap_add_option(response, COAP_OPTION_OBSERVE,
				coap_encode_var_safe(buf, sizeof(buf), ++s->obs_seq & 0xffffff), buf);
		LOG_CS(s, MGW_LOGL_INFO, "observing /inbox (UE %s)", s->ue);
		/* what waits for this UE goes now, not after its retry back-off */
		mgw_core_device_ready(ad->core, s->ue);
	} else if (s->observing && (!has_obs || obs == 1) && tok.length == s->toklen &&
		   memcmp(tok.s, s->token, tok.length) == 0) {
		unobserve(s);
	}
	coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
			coap_encode_var_safe(buf, sizeof(buf), COAP_MEDIATYPE_APPLICATION_JSON), buf);
	coap_pdu_set_code(response, (coap_pdu_code_t)CODE(205));
	coap_add_data(response, 2, (const uint8_t *)"{}");
}

static void deliv_finish(struct cs_delivery *d, int rc, bool retry, const char *cause)
{
	struct coap_ad *ad = d->ad;

	if (d->s) {
		d->s->deliv = NULL;
		d->s = NULL;
	}
	if (rc == MGW_OK)
		ad->n.delivered++;
	else
		ad->n.delivery_failed++;
	d->done(d->arg, rc, retry, cause);
	talloc_free(d);
}

static void deliv_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cs_delivery *d = arg;

	(void)fd;
	(void)what;
	if (d->rc != MGW_OK)
		deliv_finish(d, d->rc, d->retry, d->cause[0] ? d->cause : NULL);
	else
		deliv_finish(d, MGW_E_TIMEOUT, true, "no acknowledgement from the device");
}

static int deliv_destructor(struct cs_delivery *d)
{
	if (d->timer)
		event_free(d->timer);
	return 0;
}

/* fail later, from the loop (done is never called from inside deliver) */
static int deliv_fail_later(struct cs_delivery *d, int rc, bool retry, const char *cause)
{
	struct timeval tv = { 0, 0 };

	d->rc = rc;
	d->retry = retry;
	snprintf(d->cause, sizeof(d->cause), "%s", cause);
	if (evtimer_add(d->timer, &tv) != 0) {
		talloc_free(d);
		return MGW_E_NOMEM;
	}
	return MGW_OK;
}

int coap_res_deliver(struct coap_ad *ad, const struct mgw_msg *msg, const struct mgw_device *dev,
		     mgw_deliver_done done, void *arg)
{
	const char *ue = mgw_device_ue(dev);
	struct cs_delivery *d;
	struct mgw_diag diag = { 0 };
	coap_pdu_t *pdu = NULL;
	uint8_t buf[4];
	void *tmp = NULL;
	void *body = NULL;
	size_t len = 0;
	struct cs *s;
	int rc;

	if (!ad || ad->stopping || !msg || !ue || !done)
		return MGW_E_INVAL;
	if (!(d = talloc_zero(ad, struct cs_delivery)))
		return MGW_E_NOMEM;
	d->ad = ad;
	d->done = done;
	d->arg = arg;
	d->mid = d->ping_mid = COAP_INVALID_MID;
	snprintf(d->msg_id, sizeof(d->msg_id), "%s", msg->msg_id);
	talloc_set_destructor(d, deliv_destructor);
	if (!(d->timer = evtimer_new(ad->base, deliv_timer_cb, d))) {
		talloc_free(d);
		return MGW_E_NOMEM;
	}
	LIST_FOREACH(s, &ad->by_ue[ue_hash(ue)], ue_link)
		if (strcmp(s->ue, ue) == 0)
			break;
	if (!s || !s->session)
		return deliv_fail_later(d, MGW_E_TIMEOUT, true, "device not observing /inbox");
	if (s->deliv)
		return deliv_fail_later(d, MGW_E_FULL, true, "a notification is in flight");
	if (!(tmp = talloc_new(d)))
		return deliv_fail_later(d, MGW_E_NOMEM, true, "out of memory");
	if (s->want_cbor)
		rc = mgw_cbor_encode_msg(tmp, msg->kind == MGW_MSG_REPORT ? MGW_BODY_REPORT
									: MGW_BODY_N3G_MESSAGE,
					 msg, (uint8_t **)&body, &len, &diag);
	else
		rc = mgw_json_encode_msg(tmp, msg->kind == MGW_MSG_REPORT ? MGW_BODY_REPORT
									: MGW_BODY_N3G_MESSAGE,
					 msg, (char **)&body, &len, &diag);
	if (rc != MGW_OK) {
		LOG_CS(s, MGW_LOGL_ERROR, "cannot encode %s: %s %s", d->msg_id, diag.where, diag.text);
		return deliv_fail_later(d, rc, false, "cannot encode for the device");
	}
	d->format = s->want_cbor ? COAP_MEDIATYPE_APPLICATION_CBOR : COAP_MEDIATYPE_APPLICATION_JSON;
	d->len = len;
	d->nblocks = 1;
	{
		/* what fits beside the header and options: else block-wise, the largest block
		 * size that fits (at most 1024) */
		size_t room = coap_session_max_pdu_size(s->session), size;
		uint32_t h = 2166136261u;

		room = room > 64 ? room - 64 : 16;
		if (len > room) {
			for (d->szx = 6; d->szx > 0 && ((size_t)1 << (d->szx + 4)) > room; d->szx--)
				;
			size = (size_t)1 << (d->szx + 4);
			d->nblocks = (unsigned)((len + size - 1) / size);
		}
		for (const char *p = msg->msg_id; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		h ^= s->obs_seq;
		memcpy(d->etag, &h, sizeof(d->etag));
	}
	if (d->nblocks > 1 && !(d->body = talloc_memdup(d, body, len)))
		return deliv_fail_later(d, MGW_E_NOMEM, true, "out of memory");
	if (!(pdu = coap_pdu_init(COAP_MESSAGE_CON, (coap_pdu_code_t)CODE(205),
				  coap_new_message_id(s->session), coap_session_max_pdu_size(s->session))) ||
	    !coap_add_token(pdu, s->toklen, s->token) ||
	    (d->nblocks > 1 && !coap_add_option(pdu, COAP_OPTION_ETAG, sizeof(d->etag), d->etag)) ||
	    !coap_add_option(pdu, COAP_OPTION_OBSERVE,
			     coap_encode_var_safe(buf, sizeof(buf), ++s->obs_seq & 0xffffff), buf) ||
	    !coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
			     coap_encode_var_safe(buf, sizeof(buf), d->format), buf) ||
	    (d->nblocks > 1 &&
	     (!coap_add_option(pdu, COAP_OPTION_BLOCK2,
			       coap_encode_var_safe(buf, sizeof(buf), (0 << 4) | (1 << 3) | d->szx), buf) ||
	      !coap_add_option(pdu, COAP_OPTION_SIZE2, coap_encode_var_safe(buf, sizeof(buf), len),
			       buf))) ||
	    !coap_add_data(pdu, d->nblocks > 1 ? (size_t)1 << (d->szx + 4) : len, body)) {
		if (pdu)
			coap_delete_pdu(pdu);
		return deliv_fail_later(d, MGW_E_TOO_BIG, false,
					"cannot build the notification for the device");
	}
	talloc_free(tmp);
	if ((d->mid = coap_send(s->session, pdu)) == COAP_INVALID_MID)
		return deliv_fail_later(d, MGW_E_PEER, true, "cannot send to the device");
	d->ping_mid = coap_session_send_ping(s->session);
	d->s = s;
	s->deliv = d;
	ad->n.notified++;
	{
		/* beyond MAX_TRANSMIT_WAIT twice over (notification, then ping), plus margin */
		int64_t wait = ad->cfg->ack_timeout_ms * ((2 << ad->cfg->max_retransmit) - 1) * 3 + 5000;
		struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };

		evtimer_add(d->timer, &tv);
	}
	LOG_CS(s, MGW_LOGL_DEBUG, "notified %s (mid %d, ping %d)", d->msg_id, d->mid, d->ping_mid);
	coap_ad_kick(ad);
	return MGW_OK;
}

void coap_res_nack(struct coap_ad *ad, coap_session_t *session, const coap_pdu_t *sent,
		   coap_nack_reason_t reason, coap_mid_t mid)
{
	struct cs *s = coap_session_get_app_data(session);
	struct cs_delivery *d = s ? s->deliv : NULL;

	(void)ad;
	(void)sent;
	if (!d)
		return;
	if (mid == d->ping_mid) {
		/* the pong (or a lost ping, which left only after the notification's ACK): the
		 * notification was acknowledged; block-wise, the device still fetches the rest */
		if (d->nblocks > 1) {
			d->first_acked = true;
			return;
		}
		LOG_CS(s, MGW_LOGL_DEBUG, "delivered %s", d->msg_id);
		deliv_finish(d, MGW_OK, false, NULL);
		return;
	}
	if (mid != d->mid)
		return;
	if (reason == COAP_NACK_RST) {
		LOG_CS(s, MGW_LOGL_INFO, "notification %s reset: the device stopped observing",
		       d->msg_id);
		unobserve(s);
		deliv_finish(d, MGW_E_PEER, true, "device cancelled the observation");
	} else {
		LOG_CS(s, MGW_LOGL_INFO, "notification %s not acknowledged (%d)", d->msg_id, reason);
		if (reason != COAP_NACK_TOO_MANY_RETRIES)
			unobserve(s);
		deliv_finish(d, MGW_E_TIMEOUT, true, "device did not acknowledge");
	}
}

/* The session is going: its observation ends, its notification waits for the next. */
void coap_res_session_gone(struct cs *s)
{
	unobserve(s);
	blk_reset(s);
	if (s->deliv)
		deliv_finish(s->deliv, MGW_E_PEER, true, "device session closed");
}

int coap_res_init(struct coap_ad *ad)
{
	if (!(ad->r_msg = coap_resource_init(coap_make_str_const("msg"), 0)) ||
	    !(ad->r_report = coap_resource_init(coap_make_str_const("report"), 0)) ||
	    !(ad->r_inbox = coap_resource_init(coap_make_str_const("inbox"), 0)))
		return MGW_E_NOMEM;
	coap_register_request_handler(ad->r_msg, COAP_REQUEST_POST, msg_handler);
	coap_register_request_handler(ad->r_report, COAP_REQUEST_POST, report_handler);
	coap_register_request_handler(ad->r_inbox, COAP_REQUEST_GET, inbox_handler);
	coap_add_resource(ad->ctx, ad->r_msg);
	coap_add_resource(ad->ctx, ad->r_report);
	coap_add_resource(ad->ctx, ad->r_inbox);
	return MGW_OK;
}

/* Stop: deliveries end (kept for later), tickets forget the adapter (the core still calls
 * them back; libcoap frees the parked requests with its context). */
void coap_res_stop(struct coap_ad *ad)
{
	struct ticket *t, *next;
	struct cs *s;

	TAILQ_FOREACH(s, &ad->sessions, link)
		if (s->deliv)
			deliv_finish(s->deliv, MGW_E_PEER, true, "gateway stopping");
	for (t = TAILQ_FIRST(&tickets); t; t = next) {
		next = TAILQ_NEXT(t, link);
		if (t->ad == ad)
			ticket_unlink(t);
	}
}
