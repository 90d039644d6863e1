/* msgin5g-gw security: identity binding and the uplink/downlink verdicts
 * (include/mgw/security.h; decisions in doc/internals/security.md).
 *
 * Uplink, in this order (the first failing step decides the cause):
 *   1. the credential kind must fit the adapter it came through (cred_ingress[])
 *                                                      -> AUTH / WRONG_INGRESS
 *   2. the credential must be registered               -> UNKNOWN_DEVICE
 *   2b. a device with a COSE key: its payload is a COSE object for it, opened here (the
 *       payload becomes the plaintext)    -> COSE_REQUIRED / _MALFORMED / _KID / _REPLAY /
 *       _AUTH / _STATE (cose_gw.c); the Partial IV is recorded by
 *       mgw_security_inbound_commit() in the batch that stores the message
 *   3. oriAddr, when present, must be the bound UE     -> SPOOF, or rewritten (policy)
 *   4. the destination: policy table + allow list      -> POLICY_ADDR_TYPE / POLICY_DEST
 *   5. the payload size                                -> TOO_BIG
 * and on acceptance m->ori is set to {UE, bound UE}: the originator that leaves the
 * gateway is always the one bound to the credential (S1).
 *
 * Replay: a repeated (origin, msgId) is NOT refused here. The store's UNIQUE(queue,
 * origin, msgId) turns it into MGW_E_DUPLICATE, which the core reports to the adapter as
 * success: that is how a device's retransmission (lost ACK) stays idempotent. A replay
 * check in this function would turn that retransmission into a reject. Refusing real
 * replays (a captured message re-sent after its original was delivered and purged)
 * belongs to the message-protection layer (issue 7), where a signed timestamp or nonce
 * tells a replay from a retry.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "security_int.h"

#define DEFAULT_MAX_PAYLOAD 2048

/* the policy as the security instance keeps it (a copy: the config may go away) */
struct sec_policy {
	int64_t max_payload;
	enum mgw_spoof_action spoof;
	bool has_default_allow;
	struct sec_allow_list default_allow;
};

struct mgw_security {
	struct sec_policy *pol;
	struct mgw_registry *reg;
	struct mgw_audit *audit; /* borrowed; NULL: no audit (unit tests) */
	struct mgw_store *store; /* borrowed; NULL in unit tests */
	struct sec_cose *cose;   /* downlink counters and COSE counters (cose_gw.c) */
	struct sec_watch *watch; /* change watchers (watch.c) */
};

/* ---------------------------------------------------------------- identities */

static const char *const cred_names[] = {
	[MGW_CRED_NONE] = "none",     [MGW_CRED_PSK_ID] = "psk",
	[MGW_CRED_CERT_FP] = "cert",  [MGW_CRED_MSISDN] = "msisdn",
	[MGW_CRED_MQTT_USER] = "mqtt", [MGW_CRED_M5S] = "m5s",
	[MGW_CRED_CERT_SUBJECT] = "cert-subject",
};

const char *mgw_cred_name(enum mgw_cred c)
{
	if ((unsigned)c >= sizeof(cred_names) / sizeof(cred_names[0]) || !cred_names[c])
		return "unknown";
	return cred_names[c];
}

/* Which device credential may arrive through which adapter. Anything else is refused
 * (a PSK identity handed in by the MQTT adapter is a bug or an attack). */
static const struct {
	enum mgw_ingress in;
	enum mgw_cred kind;
} cred_ingress[] = {
	{ MGW_IN_COAP, MGW_CRED_PSK_ID },    { MGW_IN_COAP, MGW_CRED_CERT_FP },
	{ MGW_IN_COAP, MGW_CRED_CERT_SUBJECT }, { MGW_IN_TEST, MGW_CRED_CERT_SUBJECT },
	{ MGW_IN_SMS, MGW_CRED_MSISDN },     { MGW_IN_MQTT, MGW_CRED_MQTT_USER },
	{ MGW_IN_TEST, MGW_CRED_PSK_ID },    { MGW_IN_TEST, MGW_CRED_CERT_FP },
	{ MGW_IN_TEST, MGW_CRED_MSISDN },    { MGW_IN_TEST, MGW_CRED_MQTT_USER },
};

static bool cred_fits(enum mgw_ingress in, enum mgw_cred kind)
{
	for (size_t i = 0; i < sizeof(cred_ingress) / sizeof(cred_ingress[0]); i++)
		if (cred_ingress[i].in == in && cred_ingress[i].kind == kind)
			return true;
	return false;
}

static bool device_kind(enum mgw_cred k)
{
	return k == MGW_CRED_PSK_ID || k == MGW_CRED_CERT_FP || k == MGW_CRED_MSISDN ||
	       k == MGW_CRED_MQTT_USER || k == MGW_CRED_CERT_SUBJECT;
}

/* ---------------------------------------------------------------- the instance */

static int policy_copy(void *ctx, const struct mgw_policy *pol, struct sec_policy **out)
{
	struct sec_policy *p = talloc_zero(ctx, struct sec_policy);
	int rc;

	if (!p)
		return MGW_E_NOMEM;
	talloc_set_name_const(p, "sec_policy");
	p->max_payload = DEFAULT_MAX_PAYLOAD;
	p->spoof = MGW_SPOOF_REWRITE;
	if (pol) {
		if (pol->max_payload < 1 || pol->max_payload > MGW_PAYLOAD_HARD_MAX ||
		    (pol->spoof != MGW_SPOOF_REWRITE && pol->spoof != MGW_SPOOF_REJECT)) {
			rc = MGW_E_INVAL;
			goto out;
		}
		p->max_payload = pol->max_payload;
		p->spoof = pol->spoof;
		if (pol->default_allow.n) {
			rc = sec_allow_list_build(p, pol->default_allow.v, pol->default_allow.n,
						  &p->default_allow);
			if (rc != MGW_OK) {
				rc = rc == MGW_E_NOMEM ? rc : MGW_E_CONFIG;
				goto out;
			}
			p->has_default_allow = true;
		}
	}
	*out = p;
	p = NULL;
	rc = MGW_OK;
out:
	talloc_free(p);
	return rc;
}

int mgw_security_alloc(void *ctx, const struct mgw_policy *pol, struct mgw_registry *reg,
		       struct mgw_audit *audit, struct mgw_store *store, struct mgw_security **out)
{
	struct mgw_security *sec = NULL;
	int rc;

	if (!reg || !out) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(sec = talloc_zero(ctx, struct mgw_security))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = policy_copy(sec, pol, &sec->pol)) != MGW_OK ||
	    (rc = sec_cose_alloc(sec, &sec->cose)) != MGW_OK ||
	    (rc = sec_watch_alloc(sec, &sec->watch)) != MGW_OK)
		goto out;
	sec->reg = talloc_steal(sec, reg);
	sec->audit = audit;
	sec->store = store;
	LOGP(DSEC, MGW_LOGL_INFO, "security: %zu devices, max_payload %lld, spoofed origin: %s",
	     mgw_registry_count(reg), (long long)sec->pol->max_payload,
	     sec->pol->spoof == MGW_SPOOF_REJECT ? "reject" : "rewrite");
	*out = sec;
	sec = NULL;
	rc = MGW_OK;
out:
	talloc_free(sec);
	return rc;
}

void mgw_security_free(struct mgw_security *sec)
{
	talloc_free(sec);
}

struct sec_watch *sec_watch_of(struct mgw_security *sec)
{
	return sec->watch;
}

/* Count what a reload changes, for the operator (each change is audited on its own). */
static void log_changes(const struct mgw_registry *new, const struct sec_change *c, size_t n)
{
	size_t k[MGW_DEV_REMOVED + 1] = { 0 };

	for (size_t i = 0; i < n; i++)
		k[c[i].what]++;
	LOGP(DSEC, MGW_LOGL_NOTICE,
	     "security reloaded: %zu devices (%zu added, %zu removed, %zu with new credentials)",
	     mgw_registry_count(new), k[MGW_DEV_ADDED], k[MGW_DEV_REMOVED], k[MGW_DEV_UPDATED]);
}

int mgw_security_reload(struct mgw_security *sec, const struct mgw_policy *pol,
			struct mgw_registry *reg)
{
	struct sec_policy *p = NULL;
	struct sec_change *c = NULL;
	size_t n = 0;
	int rc;

	if (!sec || !reg)
		return MGW_E_INVAL;
	/* build everything new first: a failure leaves the running state untouched */
	if ((rc = policy_copy(sec, pol, &p)) != MGW_OK)
		goto out;
	if (reg != sec->reg && (rc = sec_watch_diff(p, sec->reg, reg, &c, &n)) != MGW_OK)
		goto out;
	talloc_free(sec->pol);
	sec->pol = p;
	p = NULL;
	if (reg != sec->reg) {
		log_changes(reg, c, n);
		talloc_free(sec->reg);
		sec->reg = talloc_steal(sec, reg);
	}
	/* the registry answers with the new state: now tell the watchers, one change at a time
	 * (a removed device's adapter is the one it had) */
	for (size_t i = 0; i < n; i++) {
		sec_change_record(sec, c[i].ue, c[i].what, c[i].adapter);
		sec_watch_notify(sec, c[i].ue, c[i].what);
	}
	rc = MGW_OK;
out:
	talloc_free(c);
	talloc_free(p);
	return rc;
}

const struct mgw_registry *mgw_security_registry(const struct mgw_security *sec)
{
	return sec ? sec->reg : NULL;
}

/* ---------------------------------------------------------------- verdicts */

/* printable copy for log lines: control bytes become '?', cut at n-1 */
static const char *safe(char *buf, size_t n, const char *s)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < n; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static void verdict_set(struct mgw_verdict *v, int rc, const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void verdict_set(struct mgw_verdict *v, int rc, const char *cause, const char *fmt, ...)
{
	va_list ap;

	v->rc = rc;
	snprintf(v->cause, sizeof(v->cause), "%s", cause);
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	/* the detail may quote device-supplied text: keep it one printable line */
	for (char *p = v->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static const char *protection_name(enum mgw_prot p)
{
	switch (p) {
	case MGW_PROT_JWS:
		return "sign";
	case MGW_PROT_JWE:
		return "encrypt";
	case MGW_PROT_COSE:
		return "cose";
	default:
		return "transport";
	}
}

/* An acceptance whose audit record could not be written, under audit.required: true,
 * becomes a refusal the peer may try again later (the record of the refusal is not
 * written either; the writer counts both). */
static void audit_unavailable(struct mgw_verdict *v)
{
	verdict_set(v, MGW_E_FULL, "AUDIT_UNAVAILABLE",
		    "the audit log cannot be written (audit.required: true): try again later");
	v->cose_pending = false;
}

/* One audit record and one log line per verdict; returns v->rc (changed to MGW_E_FULL
 * when the record of an acceptance is required and could not be written). */
static int record(struct mgw_security *sec, enum mgw_dir dir, enum mgw_ingress adapter,
		  const struct mgw_identity *id, const char *msg_id, struct mgw_verdict *v,
		  const char *protection)
{
	struct mgw_audit_rec r = {
		.dir = dir,
		.adapter = adapter,
		.claimed = id,
		.ue = v->ue,
		.msg_id = msg_id,
		.accept = v->rc == MGW_OK,
		.cause = v->cause,
		.detail = v->detail,
		.protection = protection,
	};
	const char *kind = id ? mgw_cred_name(id->kind) : "-";
	char who[96], mid[96];
	bool unrecorded = false;

	/* the writer logs a failure (once per episode) and counts it */
	if (sec && sec->audit && mgw_audit_write(sec->audit, &r) != MGW_OK && v->rc == MGW_OK &&
	    mgw_audit_required(sec->audit)) {
		audit_unavailable(v);
		unrecorded = true;
	}
	safe(who, sizeof(who), id ? id->value : "");
	safe(mid, sizeof(mid), msg_id);
	if (v->rc == MGW_OK)
		LOGP(DSEC, MGW_LOGL_DEBUG, "%s %s %s '%s' -> %s msgId '%s': accept%s%s",
		     mgw_dir_name(dir), mgw_ingress_name(adapter), kind, who, v->ue, mid,
		     v->detail[0] ? ": " : "", v->detail);
	else
		/* a refusal for the audit alone is not logged per message: the writer said it
		 * once for the episode */
		LOGP(DSEC, unrecorded ? MGW_LOGL_DEBUG : MGW_LOGL_NOTICE,
		     "%s %s %s '%s' msgId '%s': reject %s: %s", mgw_dir_name(dir),
		     mgw_ingress_name(adapter), kind, who, mid, v->cause, v->detail);
	return v->rc;
}

int mgw_security_inbound(struct mgw_security *sec, struct mgw_msg *m,
			 const struct mgw_identity *id, struct mgw_verdict *v)
{
	struct mgw_verdict local;
	const struct mgw_device *d;
	const struct sec_allow_list *allow;
	const char *cause = NULL;
	char shown[MGW_ADDR_TYPE_NAME_MAX + MGW_ID_MAX + 2] = "";
	char detail[MGW_DIAG_TEXT_MAX];
	bool spoofed;
	struct mgw_addr bound;
	int rc;

	if (!v)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (!sec || !m || !id) {
		verdict_set(v, MGW_E_INVAL, "INVAL", "inbound without %s",
			    !sec ? "security" : !m ? "message" : "identity");
		rc = MGW_E_INVAL;
		goto out;
	}
	if (id->kind == MGW_CRED_NONE || !id->value[0]) {
		rc = MGW_E_AUTH;
		verdict_set(v, rc, "AUTH", "no authenticated identity");
		goto out;
	}
	if (!device_kind(id->kind) || !cred_fits(id->ingress, id->kind)) {
		rc = MGW_E_FORBIDDEN;
		verdict_set(v, rc, "WRONG_INGRESS", "a %s credential cannot arrive through %s",
			    mgw_cred_name(id->kind), mgw_ingress_name(id->ingress));
		goto out;
	}
	if (!(d = mgw_registry_by_cred(sec->reg, id->kind, id->value))) {
		rc = MGW_E_UNKNOWN_DEVICE;
		verdict_set(v, rc, "UNKNOWN_DEVICE", "no device registered for this %s credential",
			    mgw_cred_name(id->kind));
		goto out;
	}
	snprintf(v->ue, sizeof(v->ue), "%s", d->ue);
	if ((rc = mgw_addr_set(&bound, MGW_ADDR_UE, d->ue)) != MGW_OK) {
		rc = MGW_E_INTERNAL;
		verdict_set(v, rc, "INTERNAL", "bound UE Service ID unusable");
		goto out;
	}
	if (d->cose && m->kind == MGW_MSG_MESSAGE) {
		struct sec_cose_why why;

		m->prot = MGW_PROT_COSE; /* refused or not, the audit record says "cose" */
		if ((rc = sec_cose_open(sec->cose, sec->store, d, m, &v->cose_seq, &why)) !=
		    MGW_OK) {
			verdict_set(v, rc, why.cause, "%s", why.detail);
			goto out;
		}
	}
	spoofed = m->ori.type != MGW_ADDR_NONE && !mgw_addr_eq(&m->ori, &bound);
	if (spoofed)
		mgw_addr_fmt(&m->ori, shown, sizeof(shown));
	if (spoofed && sec->pol->spoof == MGW_SPOOF_REJECT) {
		rc = MGW_E_SPOOF;
		verdict_set(v, rc, "SPOOF", "oriAddr %.*s is not the bound UE", 150, shown);
		goto out;
	}
	allow = d->has_allow ? &d->allow
			     : sec->pol->has_default_allow ? &sec->pol->default_allow : NULL;
	detail[0] = '\0';
	rc = sec_policy_dest(MGW_DIR_UPLINK, id->ingress, &m->dest, allow, &cause, detail,
			     sizeof(detail));
	if (rc != MGW_OK) {
		verdict_set(v, rc, cause, "%s", detail);
		goto out;
	}
	if (m->has_payload && m->payload_len > (size_t)sec->pol->max_payload) {
		rc = MGW_E_TOO_BIG;
		verdict_set(v, rc, "TOO_BIG", "payload of %zu bytes exceeds max_payload %lld",
			    m->payload_len, (long long)sec->pol->max_payload);
		goto out;
	}
	/* accepted: the originator that leaves is the bound one, whatever was written */
	m->ori = bound;
	v->cose_pending = d->cose && m->kind == MGW_MSG_MESSAGE;
	if (spoofed)
		verdict_set(v, MGW_OK, "OK", "oriAddr rewritten from %.*s", 150, shown);
	else
		verdict_set(v, MGW_OK, "OK", "%s", "");
	rc = MGW_OK;
out:
	/* an acceptance can still be refused here: its record is required and not written */
	if (record(sec, MGW_DIR_UPLINK, id ? id->ingress : MGW_IN_NONE, id, m ? m->msg_id : NULL,
		   v, m ? protection_name(m->prot) : NULL) != MGW_OK && rc == MGW_OK)
		rc = v->rc;
	return rc;
}

int mgw_security_inbound_commit(struct mgw_security *sec, const struct mgw_verdict *v)
{
	const struct mgw_device *d;
	struct sec_cose_why why;
	int rc;

	if (!sec || !v)
		return MGW_E_INVAL;
	if (v->rc != MGW_OK || !v->cose_pending)
		return MGW_OK;
	/* same call as mgw_security_inbound(): the registry has not been swapped since */
	if (!(d = mgw_registry_by_ue(sec->reg, v->ue)))
		return MGW_E_INTERNAL;
	if ((rc = sec_cose_commit(sec->cose, sec->store, d, v->cose_seq, &why)) != MGW_OK)
		LOGP(DSEC, MGW_LOGL_ERROR, "uplink from %s: %s: %s", d->ue, why.cause, why.detail);
	return rc;
}

int mgw_security_outbound(struct mgw_security *sec, const struct mgw_msg *m,
			  const struct mgw_identity *caller, const struct mgw_device **dev,
			  struct mgw_verdict *v)
{
	struct mgw_verdict local;
	const struct mgw_device *d;
	const char *cause = NULL, *prot = NULL;
	char detail[MGW_DIAG_TEXT_MAX];
	int rc;

	if (!v)
		v = &local;
	memset(v, 0, sizeof(*v));
	if (!sec || !m || !dev) {
		verdict_set(v, MGW_E_INVAL, "INVAL", "outbound without %s",
			    !sec ? "security" : !m ? "message" : "device slot");
		rc = MGW_E_INVAL;
		goto out;
	}
	if (m->dest.type == MGW_ADDR_UE)
		snprintf(v->ue, sizeof(v->ue), "%s", m->dest.addr);
	if (!caller || caller->kind != MGW_CRED_M5S) {
		rc = MGW_E_FORBIDDEN;
		verdict_set(v, rc, "FORBIDDEN", "downlink caller is %s, not the MSGin5G Server",
			    caller ? mgw_cred_name(caller->kind) : "unknown");
		goto out;
	}
	detail[0] = '\0';
	rc = sec_policy_dest(MGW_DIR_DOWNLINK, MGW_IN_NORTH, &m->dest, NULL, &cause, detail,
			     sizeof(detail));
	if (rc != MGW_OK) {
		verdict_set(v, rc, cause, "%s", detail);
		goto out;
	}
	if (!(d = mgw_registry_by_ue(sec->reg, m->dest.addr))) {
		rc = MGW_E_UNKNOWN_UE;
		verdict_set(v, rc, "UE_NOT_FOUND", "no device registered for the destination UE");
		goto out;
	}
	if (m->has_payload && m->payload_len > (size_t)sec->pol->max_payload) {
		rc = MGW_E_TOO_BIG;
		verdict_set(v, rc, "TOO_BIG", "payload of %zu bytes exceeds max_payload %lld",
			    m->payload_len, (long long)sec->pol->max_payload);
		goto out;
	}
	verdict_set(v, MGW_OK, "OK", "%s", "");
	*dev = d;
	/* what the device will get: protected toward a COSE device (mgw_security_protect),
	 * unless the record has a protection of its own to name (an AS's JWS) */
	if (d->cose && m->kind == MGW_MSG_MESSAGE && m->has_payload && m->prot == MGW_PROT_NONE)
		prot = "cose";
	rc = MGW_OK;
out:
	if (record(sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, caller, m ? m->msg_id : NULL, v,
		   prot ? prot : m ? protection_name(m->prot) : NULL) != MGW_OK && rc == MGW_OK)
		rc = v->rc;
	return rc;
}

int mgw_security_protect(struct mgw_security *sec, void *ctx, const struct mgw_msg *m,
			 const struct mgw_device *dev, struct mgw_msg **out)
{
	struct sec_cose_why why;
	struct mgw_verdict v;
	int rc;

	if (!sec || !m || !dev || !out)
		return MGW_E_INVAL;
	rc = sec_cose_protect(sec->cose, sec->store, ctx, dev, m, out, &why);
	if (rc == MGW_OK || rc == MGW_E_FULL || rc == MGW_E_STORE || rc == MGW_E_NOMEM)
		return rc; /* done, or it may pass later */
	/* the message cannot go to this device protected, and never goes unprotected */
	memset(&v, 0, sizeof(v));
	verdict_set(&v, rc, why.cause, "%s", why.detail);
	snprintf(v.ue, sizeof(v.ue), "%s", dev->ue);
	record(sec, MGW_DIR_DOWNLINK, mgw_device_adapter(dev), NULL, m->msg_id, &v, "cose");
	return rc;
}

void mgw_security_cose_stats(const struct mgw_security *sec, struct mgw_cose_stats *st)
{
	if (st)
		sec_cose_get_stats(sec ? sec->cose : NULL, st);
}

void mgw_security_audit_reject(struct mgw_security *sec, enum mgw_dir dir,
			       enum mgw_ingress adapter, const struct mgw_identity *claimed,
			       const char *msg_id, int rc, const char *cause, const char *detail)
{
	struct mgw_verdict v;

	memset(&v, 0, sizeof(v));
	if (rc == MGW_OK)
		rc = MGW_E_INTERNAL; /* a reject always carries a reason */
	verdict_set(&v, rc, cause && *cause ? cause : mgw_errname(rc), "%s", detail ? detail : "");
	/* name the bound UE when the claimed credential is a registered one */
	if (sec && claimed && device_kind(claimed->kind) && claimed->value[0]) {
		const struct mgw_device *d =
			mgw_registry_by_cred(sec->reg, claimed->kind, claimed->value);

		if (d)
			snprintf(v.ue, sizeof(v.ue), "%s", d->ue);
	}
	record(sec, dir, adapter, claimed, msg_id, &v, NULL);
}

void sec_change_record(struct mgw_security *sec, const char *ue, enum mgw_dev_change what,
		       enum mgw_ingress adapter)
{
	static const char *const causes[] = {
		[MGW_DEV_ADDED] = "DEVICE_ADDED",
		[MGW_DEV_UPDATED] = "DEVICE_UPDATED",
		[MGW_DEV_REMOVED] = "DEVICE_REMOVED",
	};
	char detail[MGW_DIAG_TEXT_MAX];
	struct mgw_audit_rec r = {
		.adapter = adapter,
		.ue = ue,
		.accept = true,
		.cause = causes[what],
		.detail = detail,
		.op = "device-change",
		.who = "local-operator",
	};
	char shown[MGW_ID_MAX + 1];

	snprintf(detail, sizeof(detail), "device %s by the local operator%s",
		 mgw_dev_change_name(what),
		 what == MGW_DEV_UPDATED ? " (credentials or keys changed)" : "");
	if (sec->audit)
		(void)mgw_audit_write(sec->audit, &r); /* the writer logs and counts a failure */
	LOGP(DSEC, MGW_LOGL_INFO, "device %s %s (%s)", safe(shown, sizeof(shown), ue),
	     mgw_dev_change_name(what), mgw_ingress_name(adapter));
}
