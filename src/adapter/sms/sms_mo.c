/* SMS adapter, MO: deliver_sm from a device -> UEMessageDelivery (doc/internals/sms.md).
 *
 * The originator is the MSISDN the SMSC delivered (source_addr), bound to its UE by the
 * registry; the destination is the originator of the last MT to that MSISDN when the MO goes
 * to source_addr within sms.reply_window (the transaction map), else sms.routes by the MO's
 * destination number. Text is decoded by data_coding; concatenated messages (UDH with 8- or
 * 16-bit reference, or SAR TLVs) are kept part by part in the store (SMS_NS_MO) and
 * submitted whole when the last part is in. Every deliver_sm is answered only once what it
 * brought is durable: ESME_ROK; ESME_RX_T_APPN when the store failed or the queue is full (the
 * SMSC tries again); a permanent error (unknown MSISDN, no route, undecodable text, policy)
 * with ESME_RX_P_APPN / ESME_RINVSRCADR / ESME_RINVDSTADR, audited.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <talloc.h>

#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "sms_int.h"

struct mo {
	char msisdn[32];
	struct mgw_identity id;
	struct mgw_addr dest;
	const struct mgw_sms_port *port;
	char enc;      /* the text units in raw: 'g' GSM septets, 'u' UCS-2, 't' UTF-8, 'b' octets */
	uint8_t *raw;
	size_t raw_len;
	uint8_t *data; /* decoded payload: UTF-8 text, or octets when binary */
	size_t len;
	bool binary;
	bool concat;
	char ref_kind; /* 'b' 8-bit UDH ref, 'w' 16-bit, 's' SAR */
	unsigned ref, total, seq;
};

static void refuse(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const struct mo *m,
		   int rc, const char *cause, uint32_t status, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static void refuse(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const struct mo *m,
		   int rc, const char *cause, uint32_t status, const char *fmt, ...)
{
	char detail[MGW_DIAG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	ad->n.mo_refused++;
	mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_SMS, &m->id, NULL, rc, cause,
				  detail);
	LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: MO from %s refused (%s): %s, deliver_sm_resp 0x%08x",
	     m->msisdn[0] ? m->msisdn : "?", cause, detail, status);
	smpp_conn_deliver_resp(b->conn, seq, status);
}

/* ---- text ---- */

enum alphabet { A_GSM7, A_8BIT, A_UCS2, A_IA5, A_LATIN1, A_NONE };

static enum alphabet alphabet_of(uint8_t dcs)
{
	switch (dcs) {
	case 0x00:
		return A_GSM7; /* SMSC default alphabet: GSM 03.38 */
	case 0x01:
		return A_IA5;
	case 0x02:
	case 0x04:
		return A_8BIT;
	case 0x03:
		return A_LATIN1;
	case 0x08:
		return A_UCS2;
	}
	if ((dcs & 0xc0) == 0x00 && !(dcs & 0x20)) /* general coding, uncompressed */
		return (dcs & 0x0c) == 0x00 ? A_GSM7 : (dcs & 0x0c) == 0x04 ? A_8BIT
						    : (dcs & 0x0c) == 0x08 ? A_UCS2 : A_NONE;
	if ((dcs & 0xf0) == 0xf0)
		return (dcs & 0x04) ? A_8BIT : A_GSM7;
	return A_NONE;
}

/* short_message (or message_payload) -> m->raw in the units of m->enc; the UDH into udh.
 * Concatenated parts keep their units and are decoded joined, so an escape or a surrogate
 * pair that a phone split across parts still decodes. */
static int unpack(struct sms_ad *ad, void *ctx, const deliver_sm_t *pdu, struct mo *m,
		  struct sms_udh *udh, const char **why)
{
	const uint8_t *ud = pdu->short_message;
	size_t len = pdu->sm_length, off = 0, n;
	bool udhi = pdu->esm_class & SMS_ESM_UDHI;
	enum alphabet a = alphabet_of(pdu->data_coding);
	const tlv_t *mp;
	int rc;

	memset(udh, 0, sizeof(*udh));
	if (!len && (mp = sms_tlv(pdu, TLVID_message_payload))) {
		ud = mp->value.octet;
		len = mp->length;
	}
	if (a == A_NONE) {
		*why = "data_coding not supported";
		return MGW_E_UNSUPPORTED;
	}
	if (a == A_GSM7 && ad->cfg->gsm7_packed) {
		if ((rc = sms_gsm7_ud_unpack(ctx, ud, len, SMS_UDL_UNKNOWN, udhi, udh, &m->raw,
					     &m->raw_len)) != MGW_OK) {
			struct sms_udh h;

			/* the UDH's own cause when it is the UDH that is bad */
			if (!udhi || sms_udh_parse(ud, len, &h, why) == MGW_OK)
				*why = "bad packed GSM 7-bit user data";
			return rc;
		}
		m->enc = 'g';
		return MGW_OK;
	}
	if (udhi) {
		if ((rc = sms_udh_parse(ud, len, udh, why)) != MGW_OK)
			return rc;
		off = udh->len;
	}
	ud += off;
	len -= off;
	switch (a) {
	case A_LATIN1:
		if (!(m->raw = talloc_size(ctx, 2 * len + 1)))
			return MGW_E_NOMEM;
		n = 0;
		for (size_t i = 0; i < len; i++) {
			if (ud[i] < 0x80) {
				m->raw[n++] = ud[i];
			} else {
				m->raw[n++] = (uint8_t)(0xc0 | (ud[i] >> 6));
				m->raw[n++] = (uint8_t)(0x80 | (ud[i] & 0x3f));
			}
		}
		m->raw_len = n;
		m->enc = 't';
		return MGW_OK;
	case A_IA5:
		for (size_t i = 0; i < len; i++)
			if (ud[i] >= 0x80) {
				*why = "IA5 text with an octet above 0x7f";
				return MGW_E_MALFORMED;
			}
		m->enc = 't';
		break;
	case A_GSM7:
		m->enc = 'g';
		break;
	case A_UCS2:
		m->enc = 'u';
		break;
	default:
		m->enc = 'b';
	}
	if (!(m->raw = talloc_memdup(ctx, len ? ud : (const uint8_t *)"", len + 1)))
		return MGW_E_NOMEM;
	m->raw_len = len;
	return MGW_OK;
}

/* units of enc -> text (UTF-8) appended to *out (talloc, NUL-terminated), or octets ('b') */
static int units_to_text(void *ctx, char enc, const uint8_t *raw, size_t n, uint8_t **out,
			 size_t *len, const char **why)
{
	char *u = NULL;
	size_t ul = 0;
	int rc = MGW_OK;

	switch (enc) {
	case 'g':
		if ((rc = sms_gsm7_to_utf8(ctx, raw, n, &u, &ul)) != MGW_OK)
			*why = "not GSM 7-bit text (a septet above 0x7f)";
		break;
	case 'u':
		if ((rc = sms_ucs2_to_utf8(ctx, raw, n, &u, &ul)) != MGW_OK)
			*why = "not UCS-2 text (odd length or a lone surrogate)";
		break;
	default:
		u = (char *)raw;
		ul = n;
	}
	if (rc != MGW_OK)
		return rc;
	if (!(*out = talloc_realloc(ctx, *out, uint8_t, *len + ul + 1)))
		return MGW_E_NOMEM;
	memcpy(*out + *len, u, ul);
	*len += ul;
	(*out)[*len] = 0;
	return MGW_OK;
}

/* ---- submit ---- */

static void submit_cb(void *arg, int rc, const struct mgw_verdict *v)
{
	struct sms_ticket *t = arg;
	struct sms_ad *ad = t->ad;
	uint32_t status;

	if (!ad) {
		sms_ticket_free(t);
		return;
	}
	switch (rc) {
	case MGW_OK:
	case MGW_E_DUPLICATE:
		status = ESME_ROK;
		ad->n.mo_ok++;
		break;
	case MGW_E_FULL:
	case MGW_E_STORE:
	case MGW_E_NOMEM:
	case MGW_E_INTERNAL:
		status = ESME_RX_T_APPN; /* the SMSC tries again later */
		break;
	default:
		status = ESME_RX_P_APPN; /* refused for good (audited by the security layer) */
		ad->n.mo_refused++;
	}
	LOGP(DSMPP, status == ESME_ROK ? MGW_LOGL_DEBUG : MGW_LOGL_NOTICE,
	     "sms: MO %s from %s: %s%s%s, deliver_sm_resp 0x%08x", t->msg_id, t->msisdn,
	     mgw_errname(rc), v && v->cause[0] ? " " : "", v ? v->cause : "", status);
	if (t->key[0] && status != ESME_RX_T_APPN)
		mgw_core_kv_del(ad->core, SMS_NS_MO, t->key); /* the set is done with */
	if (t->bind->conn)
		smpp_conn_deliver_resp(t->bind->conn, t->seq, status);
	sms_ticket_free(t);
}

static void submit(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, struct mo *m,
		   const uint8_t *data, size_t len, const char *msg_id, const char *set_key)
{
	struct mgw_msg *msg = mgw_msg_alloc(ad, MGW_MSG_MESSAGE);
	struct sms_ticket *t = NULL;
	char *b64 = NULL;
	int rc;

	if (!msg || !(t = sms_ticket_new(ad, b, seq)))
		goto nomem;
	snprintf(t->msisdn, sizeof(t->msisdn), "%s", m->msisdn);
	snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg_id);
	if (set_key)
		snprintf(t->key, sizeof(t->key), "%s", set_key);
	msg->dest = m->dest;
	mgw_str_set(msg->msg_id, sizeof(msg->msg_id), msg_id);
	if (m->port) {
		msg->has_app_id = true;
		mgw_str_set(msg->app_id, sizeof(msg->app_id), m->port->app_id);
	}
	if (m->binary) {
		/* octets travel base64-encoded in the payload string (doc/internals/sms.md) */
		if (!(b64 = talloc_size(msg, 4 * ((len + 2) / 3) + 1)))
			goto nomem;
		EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
		data = (const uint8_t *)b64;
		len = strlen(b64);
	}
	if ((rc = mgw_msg_set_payload(msg, data, len)) != MGW_OK) {
		mgw_msg_free(msg);
		sms_ticket_free(t);
		refuse(ad, b, seq, m, rc, "TOO_BIG", ESME_RX_P_APPN, "payload of %zu bytes", len);
		return;
	}
	msg->has_payload = true;
	talloc_free(b64);
	if ((rc = mgw_core_submit(ad->core, msg, &m->id, submit_cb, t)) != MGW_OK) {
		sms_ticket_free(t);
		smpp_conn_deliver_resp(b->conn, seq, ESME_RX_T_APPN);
	}
	return;
nomem:
	mgw_msg_free(msg);
	if (t)
		sms_ticket_free(t);
	smpp_conn_deliver_resp(b->conn, seq, ESME_RX_T_APPN);
}

/* ---- concatenated MO ---- */

static char *hex_of(void *ctx, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	char *s = talloc_size(ctx, 2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = hx[p[i] >> 4];
		s[2 * i + 1] = hx[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void concat_part(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, struct mo *m,
			void *tmp)
{
	char key[160], num[8], dest[MGW_ID_MAX + MGW_ADDR_TYPE_NAME_MAX + 2], msg_id[64];
	int64_t now = sms_now_ms();
	json_t *set = NULL, *parts;
	void *val;
	size_t vlen;
	char *text = NULL, *hx;

	snprintf(key, sizeof(key), "%s:%c%u:%u", m->msisdn, m->ref_kind, m->ref, m->total);
	snprintf(num, sizeof(num), "%u", m->seq);
	if (mgw_core_kv_get(ad->core, tmp, SMS_NS_MO, key, &val, &vlen) == MGW_OK)
		set = json_loadb(val, vlen, 0, NULL);
	if (!set) {
		mgw_addr_fmt(&m->dest, dest, sizeof(dest));
		set = json_pack("{s:I, s:I, s:s, s:b, s:o}", "t", (json_int_t)now, "deadline",
				(json_int_t)(now + ad->cfg->concat_timeout_ms), "dest", dest, "bin",
				m->binary, "parts", json_object());
		if (!set)
			goto nomem;
		if (m->port)
			json_object_set_new(set, "app", json_string(m->port->app_id));
	}
	parts = json_object_get(set, "parts");
	ad->n.mo_parts++;
	if (json_object_get(parts, num)) {
		/* the SMSC sent this part again (our answer was lost): already kept */
		LOGP(DSMPP, MGW_LOGL_INFO, "sms: MO part %u of %s again", m->seq, key);
		json_decref(set);
		sms_answer_durable(ad, b, seq, ESME_ROK);
		return;
	}
	if (!(hx = hex_of(tmp, m->raw, m->raw_len)))
		goto nomem;
	json_object_set_new(parts, num, json_pack("[s, s]", (char[]){ m->enc, 0 }, hx));
	if (json_object_size(parts) < m->total) {
		if (!(text = json_dumps(set, JSON_COMPACT)) ||
		    mgw_core_kv_put(ad->core, SMS_NS_MO, key, text, strlen(text),
				    json_integer_value(json_object_get(set, "deadline")) + 60000) !=
			    MGW_OK)
			goto nomem;
		free(text);
		json_decref(set);
		LOGP(DSMPP, MGW_LOGL_DEBUG, "sms: MO part %u of %u (%s) kept", m->seq, m->total, key);
		sms_answer_durable(ad, b, seq, ESME_ROK);
		return;
	}
	/* the last part: join in order (runs of the same units decoded together) and submit;
	 * the set goes once that is durable */
	{
		size_t cap = 0, n = 0, rn = 0;
		uint8_t *run, *all = NULL;
		const char *app = json_string_value(json_object_get(set, "app")), *why = "";
		char enc = 0;
		int rc = MGW_OK;

		for (unsigned i = 1; i <= m->total; i++) {
			snprintf(num, sizeof(num), "%u", i);
			cap += json_string_length(json_array_get(json_object_get(parts, num), 1)) / 2;
		}
		if (!(run = talloc_size(tmp, cap + 1)) || !(all = talloc_zero_size(tmp, 1)))
			goto nomem;
		for (unsigned i = 1; i <= m->total && rc == MGW_OK; i++) {
			json_t *pv;
			const char *e;

			snprintf(num, sizeof(num), "%u", i);
			pv = json_object_get(parts, num);
			e = json_string_value(json_array_get(pv, 0));
			if (!e || !*e) {
				rc = MGW_E_MALFORMED;
				break;
			}
			if (enc && *e != enc) {
				rc = units_to_text(tmp, enc, run, rn, &all, &n, &why);
				rn = 0;
			}
			enc = *e;
			rn += unhex(json_string_value(json_array_get(pv, 1)) ?: "", run + rn);
		}
		if (rc == MGW_OK)
			rc = units_to_text(tmp, enc, run, rn, &all, &n, &why);
		if (rc != MGW_OK) {
			json_decref(set);
			mgw_core_kv_del(ad->core, SMS_NS_MO, key);
			refuse(ad, b, seq, m, rc, "MALFORMED", ESME_RX_P_APPN,
			       "concatenated SMS %s: %s", key, why);
			return;
		}
		m->binary = json_is_true(json_object_get(set, "bin"));
		if (mgw_addr_parse(&m->dest, json_string_value(json_object_get(set, "dest")) ?: "") != MGW_OK)
			goto nomem;
		if (app && !m->port)
			m->port = sms_port_by_app(ad, app);
		if (!m->binary && !mgw_utf8_valid(all, n))
			m->binary = true; /* octets that are not text: base64 */
		snprintf(msg_id, sizeof(msg_id), "sms-%llx-%c%u-%u",
			 (unsigned long long)json_integer_value(json_object_get(set, "t")),
			 m->ref_kind, m->ref, m->total);
		json_decref(set);
		LOGP(DSMPP, MGW_LOGL_INFO, "sms: MO %s from %s: %u parts joined (%zu bytes)", msg_id,
		     m->msisdn, m->total, n);
		submit(ad, b, seq, m, all, n, msg_id, key);
	}
	return;
nomem:
	free(text);
	json_decref(set);
	smpp_conn_deliver_resp(b->conn, seq, ESME_RX_T_APPN);
}

/* ---- the destination ---- */

static bool route(struct sms_ad *ad, void *tmp, struct mo *m, const char *number)
{
	void *val;
	size_t len;
	json_t *tx;

	if (ad->cfg->reply_window_ms > 0 &&
	    mgw_core_kv_get(ad->core, tmp, SMS_NS_TX, m->msisdn, &val, &len) == MGW_OK &&
	    (tx = json_loadb(val, len, 0, NULL))) {
		bool hit = !strcmp(json_string_value(json_object_get(tx, "src")) ?: "", number) &&
			   mgw_addr_parse(&m->dest, json_string_value(json_object_get(tx, "ori")) ?: "") ==
				   MGW_OK;

		json_decref(tx);
		if (hit) {
			LOGP(DSMPP, MGW_LOGL_DEBUG, "sms: MO from %s answers an MT of %s", m->msisdn,
			     m->dest.addr);
			return true;
		}
	}
	for (size_t i = 0; i < ad->cfg->routes.n; i++) {
		const struct mgw_sms_route *r = MGW_CFG_LIST_AT(&ad->cfg->routes, struct mgw_sms_route, i);
		const char *rn = r->number[0] == '+' ? r->number + 1 : r->number;

		if (!strcmp(rn, number))
			return mgw_addr_set_wire(&m->dest, r->dest->addr_type, r->dest->addr) == MGW_OK;
	}
	return false;
}

/* ---- deliver_sm ---- */

void sms_mo_deliver(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const deliver_sm_t *pdu)
{
	struct mgw_ue_ref ref;
	struct mo m = { .id = { .ingress = MGW_IN_SMS, .kind = MGW_CRED_MSISDN } };
	struct sms_udh udh;
	const tlv_t *t;
	char number[32], msg_id[64];
	const char *why = "";
	void *tmp = talloc_new(ad);
	int rc;

	snprintf(m.id.peer, sizeof(m.id.peer), "smsc:%s", b->cfg->name);
	if (!sms_msisdn_norm((const char *)pdu->source_addr, m.msisdn, sizeof(m.msisdn))) {
		snprintf(m.id.value, sizeof(m.id.value), "%s", (const char *)pdu->source_addr);
		refuse(ad, b, seq, &m, MGW_E_MALFORMED, "SOURCE_ADDR", ESME_RINVSRCADR,
		       "source_addr is not a number");
		goto out;
	}
	snprintf(m.id.value, sizeof(m.id.value), "%s", m.msisdn);
	if (mgw_security_identify(ad->sec, MGW_CRED_MSISDN, m.msisdn, &ref) != MGW_OK) {
		refuse(ad, b, seq, &m, MGW_E_UNKNOWN_DEVICE, "UNKNOWN_DEVICE", ESME_RX_P_APPN,
		       "MSISDN %s is not in the registry", m.msisdn);
		goto out;
	}
	if ((rc = unpack(ad, tmp, pdu, &m, &udh, &why)) != MGW_OK) {
		refuse(ad, b, seq, &m, rc, "MALFORMED", ESME_RX_P_APPN, "data_coding 0x%02x: %s",
		       pdu->data_coding, why);
		goto out;
	}
	m.binary = m.enc == 'b';
	/* the application port: UDH IE, else the destination_port TLV */
	if (udh.ports)
		m.port = sms_port_by_port(ad, udh.dst_port);
	else if ((t = sms_tlv(pdu, TLVID_destination_port)))
		m.port = sms_port_by_port(ad, t->value.val16);
	if (m.binary && !(m.port && m.port->binary) && mgw_utf8_valid(m.raw, m.raw_len))
		m.binary = false; /* 8-bit data that is UTF-8 text: the text itself */
	if (m.port && m.port->binary)
		m.binary = true;
	if (!sms_msisdn_norm((const char *)pdu->destination_addr, number, sizeof(number)) ||
	    !route(ad, tmp, &m, number)) {
		refuse(ad, b, seq, &m, MGW_E_NOT_FOUND, "NO_ROUTE", ESME_RINVDSTADR,
		       "no route for destination number '%s' (sms.routes)",
		       (const char *)pdu->destination_addr);
		goto out;
	}
	if (udh.concat && udh.total > 1) {
		m.concat = true;
		m.ref_kind = udh.concat16 ? 'w' : 'b';
		m.ref = udh.ref;
		m.total = udh.total;
		m.seq = udh.seq;
	} else {
		const tlv_t *r = sms_tlv(pdu, TLVID_sar_msg_ref_num);
		const tlv_t *tt = sms_tlv(pdu, TLVID_sar_total_segments);
		const tlv_t *sq = sms_tlv(pdu, TLVID_sar_segment_seqnum);

		if (r && tt && sq && tt->value.val08 > 1) {
			if (!sq->value.val08 || sq->value.val08 > tt->value.val08) {
				refuse(ad, b, seq, &m, MGW_E_MALFORMED, "MALFORMED", ESME_RX_P_APPN,
				       "sar_segment_seqnum %u of %u", sq->value.val08,
				       tt->value.val08);
				goto out;
			}
			m.concat = true;
			m.ref_kind = 's';
			m.ref = r->value.val16;
			m.total = tt->value.val08;
			m.seq = sq->value.val08;
		}
	}
	if (m.concat) {
		concat_part(ad, b, seq, &m, tmp);
		goto out;
	}
	if ((rc = units_to_text(tmp, m.enc, m.raw, m.raw_len, &m.data, &m.len, &why)) != MGW_OK) {
		refuse(ad, b, seq, &m, rc, "MALFORMED", ESME_RX_P_APPN, "data_coding 0x%02x: %s",
		       pdu->data_coding, why);
		goto out;
	}
	snprintf(msg_id, sizeof(msg_id), "sms-%llx-%x", (unsigned long long)sms_now_ms(),
		 ad->mo_seq++);
	submit(ad, b, seq, &m, m.data, m.len, msg_id, NULL);
out:
	talloc_free(tmp);
}

/* ---- sets whose parts did not all come ---- */

void sms_mo_sweep(struct sms_ad *ad, int64_t now)
{
	void *tmp = talloc_new(ad);
	char **keys;
	size_t n = sms_kv_due(ad, tmp, SMS_NS_MO, "", now, &keys);

	for (size_t i = 0; i < n; i++) {
		struct mgw_identity id = { .ingress = MGW_IN_SMS, .kind = MGW_CRED_MSISDN };

		if (!keys[i])
			continue;
		snprintf(id.value, sizeof(id.value), "%.*s", (int)strcspn(keys[i], ":"), keys[i]);
		mgw_security_audit_reject(ad->sec, MGW_DIR_UPLINK, MGW_IN_SMS, &id, NULL,
					  MGW_E_EXPIRED, "SEGMENTS_MISSING",
					  "concatenated SMS incomplete at sms.concat_timeout (dropped)");
		LOGP(DSMPP, MGW_LOGL_NOTICE, "sms: MO set %s incomplete at concat_timeout: dropped",
		     keys[i]);
		mgw_core_kv_del(ad->core, SMS_NS_MO, keys[i]);
	}
	talloc_free(tmp);
}
