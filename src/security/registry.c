/* msgin5g-gw security: the device registry (interfaces.md 3, include/mgw/security.h).
 *
 * The YAML file is read by the config engine against entry_schema below. The schema's
 * check() functions validate and normalise each entry (fingerprints, MSISDNs, PSK pairs,
 * allow entries) and do the cross-entry checks (duplicate ue or credential) while the
 * engine still knows every key's FILE:LINE:COL; the running set of values seen so far
 * lives in the thread-local `cur_build` for the duration of one load (the only mutable
 * global state here, set and cleared around the engine call). Then the registry is built:
 * a device array plus two open-addressing hash tables (credential -> device,
 * ue -> device). A registry never changes once built; reload builds a new one.
 *
 * PSKs are copied into their own talloc buffers that a destructor wipes; the engine's
 * copies are wiped before the temporary list is freed. The same goes for a device's COSE
 * key (cose:): decoded and checked by cose_check(), held in a struct mgw_cose_key (wiped by
 * its destructor), never in the store copy.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/cose.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "security_int.h"

#define OFF(type, member) offsetof(struct type, member)

#define FP_PREFIX "sha256:"
#define FP_PREFIX_LEN 7
#define FP_HEX 64
#define FP_LEN (FP_PREFIX_LEN + FP_HEX)
#define MSISDN_MAX 15 /* E.164 */
#define PSK_MAX 256
#define RPK_B64_MAX 4096
#define SHOW_MAX 80 /* a whole fingerprint fits */

/* ---------------------------------------------------------------- the config schema */

struct reg_coap {
	char *psk_identity;
	char *psk;
	char *cert_fingerprint;
	char *cert_subject;
	char *rpk;
};

struct reg_sms {
	char *msisdn;
};

struct reg_mqtt {
	char *username;
	char *password; /* only for the broker's file (gwctl devices export) */
};

/* cose: the items, then what cose_check() decoded from them (wiped by wipe_list()) */
struct reg_cose {
	char *kid;
	char *key;
	char *common_iv;
	int alg; /* index into cose_algs[] */
	uint8_t kid_b[MGW_COSE_KID_MAX];
	size_t kid_len;
	uint8_t key_b[64];
	size_t key_len;
	uint8_t civ[MGW_COSE_NONCE_LEN];
	bool has_civ;
};

struct reg_entry {
	char *ue;
	struct reg_coap *coap;
	struct reg_sms *sms;
	struct reg_mqtt *mqtt;
	struct reg_cose *cose;
	struct mgw_cfg_strlist allow;
	int protection; /* 0 transport, 1 sign, 2 encrypt */
};

static const char *const protections[] = { "transport", "sign", "encrypt", NULL };

static int coap_check(void *obj, const char *path, struct mgw_cfg_err *err);
static int sms_check(void *obj, const char *path, struct mgw_cfg_err *err);
static int mqtt_check(void *obj, const char *path, struct mgw_cfg_err *err);
static int cose_check(void *obj, const char *path, struct mgw_cfg_err *err);
static int entry_check(void *obj, const char *path, struct mgw_cfg_err *err);

static const struct mgw_cfg_item coap_items[] = {
	{ "psk_identity", MGW_CFG_STR, OFF(reg_coap, psk_identity), 0, 0, MGW_ID_MAX, NULL,
	  "DTLS PSK identity the device presents (with psk)" },
	{ "psk", MGW_CFG_STR, OFF(reg_coap, psk), MGW_CFG_F_SECRET, 0, PSK_MAX, NULL,
	  "the pre-shared key (its bytes as written; with psk_identity)" },
	{ "cert_fingerprint", MGW_CFG_STR, OFF(reg_coap, cert_fingerprint), 0, 0, 200, NULL,
	  "X.509 client certificate: \"sha256:\" + 64 hex digits of its DER (colons allowed)" },
	{ "cert_subject", MGW_CFG_STR, OFF(reg_coap, cert_subject), 0, 0, MGW_ID_MAX, NULL,
	  "X.509 client certificate by its subject CN (must chain to coap.tls.ca)" },
	{ "rpk", MGW_CFG_STR, OFF(reg_coap, rpk), 0, 0, RPK_B64_MAX, NULL,
	  "raw public key: base64 SubjectPublicKeyInfo DER, or \"sha256:\" + hex of it" },
	{ NULL },
};

static const struct mgw_cfg_schema coap_schema = {
	"coap", coap_items, sizeof(struct reg_coap), coap_check,
};

static const struct mgw_cfg_item sms_items[] = {
	{ "msisdn", MGW_CFG_STR, OFF(reg_sms, msisdn), MGW_CFG_F_REQUIRED, 0, 32, NULL,
	  "MSISDN of the SMS device (digits, optional leading +)" },
	{ NULL },
};

static const struct mgw_cfg_schema sms_schema = {
	"sms", sms_items, sizeof(struct reg_sms), sms_check,
};

static const struct mgw_cfg_item mqtt_items[] = {
	{ "username", MGW_CFG_STR, OFF(reg_mqtt, username), MGW_CFG_F_REQUIRED, 0, MGW_ID_MAX,
	  NULL, "username the broker authenticated (with client certificates: the CN)" },
	{ "password", MGW_CFG_STR, OFF(reg_mqtt, password), MGW_CFG_F_SECRET, 0, 256, NULL,
	  "its password at the broker: only for msgin5g-gwctl devices export --format "
	  "mosquitto-passwd (the gateway never uses it)" },
	{ NULL },
};

static const struct mgw_cfg_schema mqtt_schema = {
	"mqtt", mqtt_items, sizeof(struct reg_mqtt), mqtt_check,
};

/* the RFC 9053 names, as mgw_cose_alg_by_name() takes them; the first is the default */
static const char *const cose_algs[] = {
	"AES-CCM-16-64-128", "AES-MAC 128/64", "HMAC 256/64", "HMAC 256/256", NULL,
};

static const struct mgw_cfg_item cose_items[] = {
	{ "kid", MGW_CFG_STR, OFF(reg_cose, kid), MGW_CFG_F_REQUIRED, 0, 64, NULL,
	  "the device's key id (COSE kid, its Sender ID): 1 to 7 bytes as hex digits, unique" },
	{ "key", MGW_CFG_STR, OFF(reg_cose, key), MGW_CFG_F_REQUIRED | MGW_CFG_F_SECRET, 0, 200,
	  NULL, "the symmetric key: hex digits, or base64; 16 bytes (AES), 32 to 64 (HMAC)" },
	{ "common_iv", MGW_CFG_STR, OFF(reg_cose, common_iv), 0, 0, 64, NULL,
	  "AES-CCM-16-64-128 only, required there: the 13-byte Common IV as hex digits" },
	{ "alg", MGW_CFG_ENUM, OFF(reg_cose, alg), 0, 0, 0, "AES-CCM-16-64-128",
	  "the one algorithm the key serves", NULL, cose_algs },
	{ NULL },
};

static const struct mgw_cfg_schema cose_schema = {
	"cose", cose_items, sizeof(struct reg_cose), cose_check,
};

static const struct mgw_cfg_item entry_items[] = {
	{ "ue", MGW_CFG_STR, OFF(reg_entry, ue), MGW_CFG_F_REQUIRED, 0, MGW_ID_MAX, NULL,
	  "UE Service ID the device is bound to" },
	{ "coap", MGW_CFG_SECTION, OFF(reg_entry, coap), 0, 0, 0, NULL,
	  "CoAP/DTLS credential: psk_identity+psk, cert_fingerprint, cert_subject or rpk",
	  &coap_schema },
	{ "sms", MGW_CFG_SECTION, OFF(reg_entry, sms), 0, 0, 0, NULL, "SMS credential",
	  &sms_schema },
	{ "mqtt", MGW_CFG_SECTION, OFF(reg_entry, mqtt), 0, 0, 0, NULL, "MQTT credential",
	  &mqtt_schema },
	{ "cose", MGW_CFG_SECTION, OFF(reg_entry, cose), 0, 0, 0, NULL,
	  "object security: payloads are COSE (kid, key, common_iv, alg); doc/interfaces.md 8.5",
	  &cose_schema },
	{ "allow", MGW_CFG_STRLIST, OFF(reg_entry, allow), 0, 0, 300, NULL,
	  "destinations it may send to (\"TYPE:addr\", \"TYPE:*\"); omitted or empty: policy "
	  "default" },
	{ "protection", MGW_CFG_ENUM, OFF(reg_entry, protection), 0, 0, 0, "transport",
	  "floor of the protection profile for this device (security: section): sign|encrypt "
	  "also means its downlink must arrive signed by the AS", NULL, protections },
	{ NULL },
};

static const struct mgw_cfg_schema entry_schema = {
	"device", entry_items, sizeof(struct reg_entry), entry_check,
};

/* ---------------------------------------------------------------- hash table */

/* Open addressing, linear probing; keys are (kind, string) and are borrowed. */
struct hent {
	const char *key;
	unsigned kind;
	const void *val;
};

struct htab {
	size_t cap, n; /* cap is 0 or a power of two */
	struct hent *v;
};

static uint64_t hash(unsigned kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	h = (h ^ (uint8_t)kind) * 1099511628211ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static const void *ht_get(const struct htab *h, unsigned kind, const char *key)
{
	if (!h->cap || !key)
		return NULL;
	for (size_t i = hash(kind, key) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		const struct hent *e = &h->v[i];

		if (!e->key)
			return NULL;
		if (e->kind == kind && strcmp(e->key, key) == 0)
			return e->val;
	}
}

static void ht_place(struct hent *v, size_t cap, const struct hent *e)
{
	size_t i = hash(e->kind, e->key) & (cap - 1);

	while (v[i].key)
		i = (i + 1) & (cap - 1);
	v[i] = *e;
}

/* Insert; if the key is present, *prev gets its value and MGW_E_DUPLICATE is returned. */
static int ht_put(struct htab *h, void *ctx, unsigned kind, const char *key, const void *val,
		  const void **prev)
{
	const void *old;
	struct hent e = { key, kind, val };

	if ((old = ht_get(h, kind, key))) {
		*prev = old;
		return MGW_E_DUPLICATE;
	}
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hent *v = talloc_zero_array(ctx, struct hent, cap);

		if (!v)
			return MGW_E_NOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->v[i].key)
				ht_place(v, cap, &h->v[i]);
		talloc_free(h->v);
		h->v = v;
		h->cap = cap;
	}
	ht_place(h->v, h->cap, &e);
	h->n++;
	return MGW_OK;
}

/* ---------------------------------------------------------------- normalisation */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "sha256:" (any case) + 64 hex digits, colons anywhere -> "sha256:" + lowercase hex */
static int fp_normalise(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = FP_PREFIX_LEN;

	if (outlen < FP_LEN + 1 || strncasecmp(in, FP_PREFIX, FP_PREFIX_LEN) != 0)
		return MGW_E_MALFORMED;
	memcpy(out, FP_PREFIX, FP_PREFIX_LEN);
	for (const char *p = in + FP_PREFIX_LEN; *p; p++) {
		int v;

		if (*p == ':')
			continue;
		if ((v = hexval(*p)) < 0 || o >= FP_LEN)
			return MGW_E_MALFORMED;
		out[o++] = hex[v];
	}
	if (o != FP_LEN)
		return MGW_E_MALFORMED;
	out[o] = '\0';
	return MGW_OK;
}

/* optional leading '+', then 1..15 digits -> the digits */
static int msisdn_normalise(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (*in == '+')
		in++;
	n = strlen(in);
	if (n == 0 || n > MSISDN_MAX || n >= outlen || strspn(in, "0123456789") != n)
		return MGW_E_MALFORMED;
	memcpy(out, in, n + 1);
	return MGW_OK;
}

int sec_cred_normalise(enum mgw_cred kind, const char *in, char *out, size_t outlen)
{
	size_t n;

	if (!in || !out)
		return MGW_E_INVAL;
	switch (kind) {
	case MGW_CRED_CERT_FP:
		return fp_normalise(in, out, outlen);
	case MGW_CRED_MSISDN:
		return msisdn_normalise(in, out, outlen);
	case MGW_CRED_PSK_ID:
	case MGW_CRED_MQTT_USER:
	case MGW_CRED_CERT_SUBJECT:
		n = strlen(in);
		if (n == 0 || n >= outlen)
			return MGW_E_MALFORMED;
		memcpy(out, in, n + 1);
		return MGW_OK;
	default:
		return MGW_E_INVAL;
	}
}

/* An RPK given as base64 SubjectPublicKeyInfo DER -> "sha256:" + hex of the DER. */
static int rpk_fingerprint(const char *b64, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(b64), pad = 0;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	int n, rc = MGW_E_MALFORMED;

	if (len == 0 || len % 4 || len > RPK_B64_MAX || outlen < FP_LEN + 1)
		goto out;
	if (!(der = talloc_size(NULL, len / 4 * 3 + 1))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)len)) < 0)
		goto out;
	while (pad < 2 && b64[len - 1 - pad] == '=')
		pad++;
	n -= (int)pad;
	p = der;
	if (n <= 0 || !(pk = d2i_PUBKEY(NULL, &p, n)) || p != der + n)
		goto out;
	if (!EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != FP_HEX)
		goto out;
	memcpy(out, FP_PREFIX, FP_PREFIX_LEN);
	for (unsigned int i = 0; i < mdlen; i++) {
		out[FP_PREFIX_LEN + 2 * i] = hex[md[i] >> 4];
		out[FP_PREFIX_LEN + 2 * i + 1] = hex[md[i] & 0xf];
	}
	out[FP_LEN] = '\0';
	rc = MGW_OK;
out:
	EVP_PKEY_free(pk);
	talloc_free(der);
	return rc;
}

/* User text in a message: quoted, control bytes as '?', long values cut. */
static const char *show(char *buf, size_t n, const char *s)
{
	size_t o = 0;

	if (n < SHOW_MAX + 6)
		return "";
	buf[o++] = '\'';
	for (size_t i = 0; s[i] && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (strlen(s) > SHOW_MAX) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* ---------------------------------------------------------------- per-section checks */

static const char *sub(char *buf, size_t n, const char *path, const char *key)
{
	snprintf(buf, n, "%s%s%s", path, *path ? "." : "", key);
	return buf;
}

/* replace *slot by a normalised copy allocated under obj (a talloc'd section) */
static int replace_str(void *obj, char **slot, const char *val)
{
	char *s = talloc_strdup(obj, val);

	if (!s)
		return -1;
	*slot = s;
	return 0;
}

static int coap_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct reg_coap *c = obj;
	char p[160], fp[FP_LEN + 1];

	if (c->psk && !c->psk_identity) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "psk"),
			     "psk given without psk_identity");
		return -1;
	}
	if (c->psk_identity && !c->psk) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "psk_identity"),
			     "psk_identity given without psk");
		return -1;
	}
	if (c->psk_identity && !*c->psk_identity) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "psk_identity"),
			     "must not be empty");
		return -1;
	}
	if (c->psk && !*c->psk) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "psk"), "must not be empty");
		return -1;
	}
	if (c->cert_fingerprint) {
		if (fp_normalise(c->cert_fingerprint, fp, sizeof(fp)) != MGW_OK) {
			mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "cert_fingerprint"),
				     "not a SHA-256 fingerprint (\"sha256:\" and 64 hex digits, "
				     "colons allowed)");
			return -1;
		}
		if (replace_str(obj, &c->cert_fingerprint, fp) < 0)
			goto nomem;
	}
	if (c->rpk) {
		int rc = strncasecmp(c->rpk, FP_PREFIX, FP_PREFIX_LEN) == 0
				 ? fp_normalise(c->rpk, fp, sizeof(fp))
				 : rpk_fingerprint(c->rpk, fp, sizeof(fp));

		if (rc == MGW_E_NOMEM)
			goto nomem;
		if (rc != MGW_OK) {
			mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "rpk"),
				     "not a public key (base64 SubjectPublicKeyInfo DER, or "
				     "\"sha256:\" and 64 hex digits)");
			return -1;
		}
		if (replace_str(obj, &c->rpk, fp) < 0)
			goto nomem;
	}
	if (c->cert_subject && !*c->cert_subject) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "cert_subject"), "must not be empty");
		return -1;
	}
	if (!c->psk_identity && !c->cert_fingerprint && !c->cert_subject && !c->rpk) {
		mgw_cfg_errf(err, obj, path,
			     "no credential (give psk_identity and psk, cert_fingerprint, "
			     "cert_subject or rpk)");
		return -1;
	}
	return 0;
nomem:
	mgw_cfg_errf(err, obj, path, "out of memory");
	return -1;
}

static int sms_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct reg_sms *s = obj;
	char p[160], digits[MSISDN_MAX + 1];

	if (msisdn_normalise(s->msisdn, digits, sizeof(digits)) != MGW_OK) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "msisdn"),
			     "not an MSISDN (1 to 15 digits, optional leading '+')");
		return -1;
	}
	/* never longer than the original: normalise in place */
	memcpy(s->msisdn, digits, strlen(digits) + 1);
	return 0;
}

static int mqtt_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	const struct reg_mqtt *m = obj;
	char p[160];

	if (!*m->username) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "username"), "must not be empty");
		return -1;
	}
	return 0;
}

/* An even number of hex digits (either case) -> bytes. -1 if it is not, or over cap. */
static int hex_decode(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(s);

	if (len == 0 || len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (hexval(*s) < 0)
			return false;
	return true;
}

/* cose: decode and check the section; the messages never quote the key */
static int cose_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	static const char hex[] = "0123456789abcdef";
	struct reg_cose *c = obj;
	int alg = mgw_cose_alg_by_name(cose_algs[c->alg]);
	const char *name = cose_algs[c->alg];
	bool hmac = alg == MGW_COSE_ALG_HMAC_256_64 || alg == MGW_COSE_ALG_HMAC_256_256;
	char p[160], kid[2 * MGW_COSE_KID_MAX + 1];
	size_t n = 0;

	if (hex_decode(c->kid, c->kid_b, sizeof(c->kid_b), &c->kid_len) < 0) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "kid"),
			     "not a kid (1 to %d bytes as hex digits)", MGW_COSE_KID_MAX);
		return -1;
	}
	for (size_t i = 0; i < c->kid_len; i++) {
		kid[2 * i] = hex[c->kid_b[i] >> 4];
		kid[2 * i + 1] = hex[c->kid_b[i] & 0xf];
	}
	kid[2 * c->kid_len] = '\0';
	if (replace_str(obj, &c->kid, kid) < 0)
		goto nomem;
	/* hex when it is an even number of hex digits, else base64 (either alphabet) */
	if (!(strlen(c->key) % 2 == 0 && all_hex(c->key)
		      ? hex_decode(c->key, c->key_b, sizeof(c->key_b), &c->key_len) == 0
		      : sec_b64_decode(c->key, strlen(c->key), c->key_b, sizeof(c->key_b),
				       &c->key_len) == MGW_OK)) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "key"),
			     "not a key (hex digits, or base64 of at most 64 bytes)");
		return -1;
	}
	if (hmac ? c->key_len < 32 || c->key_len > 64 : c->key_len != 16) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "key"),
			     "a key of %zu bytes; %s takes %s", c->key_len, name,
			     hmac ? "32 to 64" : "16");
		return -1;
	}
	if (alg == MGW_COSE_ALG_AES_CCM_16_64_128) {
		if (!c->common_iv) {
			mgw_cfg_errf(err, obj, path, "%s needs common_iv (%d bytes as hex digits)",
				     name, MGW_COSE_NONCE_LEN);
			return -1;
		}
		if (hex_decode(c->common_iv, c->civ, sizeof(c->civ), &n) < 0 ||
		    n != MGW_COSE_NONCE_LEN) {
			mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "common_iv"),
				     "not a Common IV (%d bytes as hex digits)",
				     MGW_COSE_NONCE_LEN);
			return -1;
		}
		c->has_civ = true;
	} else if (c->common_iv) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "common_iv"),
			     "%s takes no common_iv (a MAC algorithm has no nonce)", name);
		return -1;
	}
	return 0;
nomem:
	mgw_cfg_errf(err, obj, path, "out of memory");
	return -1;
}

/* ---------------------------------------------------------------- cross-entry checks */

/* What one load has seen so far: the key is (kind, value), kind 0 for the ue. */
struct seen {
	size_t entry; /* index in the list */
	const char *ue;
};

struct reg_build {
	void *tmp;
	struct htab seen;
	size_t count;
	bool nomem;
};

static _Thread_local struct reg_build *cur_build;

#define SEEN_UE 0u
#define SEEN_COSE_KID 100u /* not a channel credential, but unique all the same */

/* Record (kind, value) for the entry; on a duplicate fill err naming the key. */
static int seen_add(struct reg_build *b, void *obj, const char *path, const char *key,
		    unsigned kind, const char *value, const char *ue, struct mgw_cfg_err *err)
{
	const void *prev = NULL;
	struct seen *s;
	char p[200], v[SHOW_MAX + 8], u[SHOW_MAX + 8];
	int rc;

	if (!(s = talloc(b->tmp, struct seen)))
		goto nomem;
	s->entry = b->count;
	s->ue = ue;
	rc = ht_put(&b->seen, b->tmp, kind, value, s, &prev);
	if (rc == MGW_E_NOMEM)
		goto nomem;
	if (rc == MGW_E_DUPLICATE) {
		const struct seen *first = prev;

		if (kind == SEEN_UE)
			mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, key),
				     "duplicate ue %s (first in entry [%zu])",
				     show(v, sizeof(v), value), first->entry);
		else
			mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, key),
				     "duplicate credential: %s %s is also used by ue %s",
				     kind == SEEN_COSE_KID ? "cose kid"
							   : mgw_cred_name((enum mgw_cred)kind),
				     show(v, sizeof(v), value), show(u, sizeof(u), first->ue));
		return -1;
	}
	return 0;
nomem:
	b->nomem = true;
	mgw_cfg_errf(err, obj, path, "out of memory");
	return -1;
}

static int entry_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct reg_entry *e = obj;
	struct reg_build *b = cur_build;
	char p[200];
	int rc = -1;

	if (!*e->ue || has_ctl(e->ue)) {
		mgw_cfg_errf(err, obj, sub(p, sizeof(p), path, "ue"),
			     "must be a non-empty UE Service ID without control characters");
		goto out;
	}
	if (!e->coap && !e->sms && !e->mqtt) {
		mgw_cfg_errf(err, obj, path, "no credential (give coap, sms or mqtt)");
		goto out;
	}
	for (size_t i = 0; i < e->allow.n; i++) {
		char why[128];
		enum mgw_addr_type t;
		const char *addr;
		bool any;

		if (sec_allow_parse(e->allow.v[i], &t, &addr, &any, why, sizeof(why)) == MGW_OK)
			continue;
		snprintf(p, sizeof(p), "%s%sallow[%zu]", path, *path ? "." : "", i);
		mgw_cfg_errf(err, obj, p, "bad allow entry: %s", why);
		goto out;
	}
	if (!b) { /* not inside mgw_registry_load*(): no cross checks */
		rc = 0;
		goto out;
	}
	if (seen_add(b, obj, path, "ue", SEEN_UE, e->ue, e->ue, err) < 0)
		goto out;
	if (e->coap && e->coap->psk_identity &&
	    seen_add(b, obj, path, "coap.psk_identity", MGW_CRED_PSK_ID, e->coap->psk_identity,
		     e->ue, err) < 0)
		goto out;
	if (e->coap && e->coap->cert_fingerprint &&
	    seen_add(b, obj, path, "coap.cert_fingerprint", MGW_CRED_CERT_FP,
		     e->coap->cert_fingerprint, e->ue, err) < 0)
		goto out;
	if (e->coap && e->coap->rpk &&
	    seen_add(b, obj, path, "coap.rpk", MGW_CRED_CERT_FP, e->coap->rpk, e->ue, err) < 0)
		goto out;
	if (e->coap && e->coap->cert_subject &&
	    seen_add(b, obj, path, "coap.cert_subject", MGW_CRED_CERT_SUBJECT,
		     e->coap->cert_subject, e->ue, err) < 0)
		goto out;
	if (e->sms && seen_add(b, obj, path, "sms.msisdn", MGW_CRED_MSISDN, e->sms->msisdn, e->ue,
			       err) < 0)
		goto out;
	if (e->mqtt && seen_add(b, obj, path, "mqtt.username", MGW_CRED_MQTT_USER,
				e->mqtt->username, e->ue, err) < 0)
		goto out;
	if (e->cose && seen_add(b, obj, path, "cose.kid", SEEN_COSE_KID, e->cose->kid, e->ue,
				err) < 0)
		goto out;
	rc = 0;
out:
	if (b)
		b->count++;
	return rc;
}

/* ---------------------------------------------------------------- the registry */

struct mgw_registry {
	struct reg_cache *cache; /* not NULL: a bounded cache over the store (registry_cache.c) */
	size_t n;
	struct mgw_device *dev;
	struct htab by_cred; /* (mgw_cred, value) -> device */
	struct htab by_ue;   /* (0, ue) -> device */
};

static int psk_wipe(uint8_t *psk)
{
	OPENSSL_cleanse(psk, talloc_get_size(psk));
	return 0;
}

static int dup_str(void *ctx, char **dst, const char *src)
{
	if (!src)
		return MGW_OK;
	return (*dst = talloc_strdup(ctx, src)) ? MGW_OK : MGW_E_NOMEM;
}

static int device_fill(struct mgw_registry *r, struct mgw_device *d, const struct reg_entry *e)
{
	int rc;

	if ((rc = dup_str(r, &d->ue, e->ue)) != MGW_OK)
		return rc;
	if (e->coap) {
		const struct reg_coap *c = e->coap;

		if ((rc = dup_str(r, &d->psk_identity, c->psk_identity)) != MGW_OK ||
		    (rc = dup_str(r, &d->cert_fp, c->cert_fingerprint)) != MGW_OK ||
		    (rc = dup_str(r, &d->rpk_fp, c->rpk)) != MGW_OK ||
		    (rc = dup_str(r, &d->cert_subject, c->cert_subject)) != MGW_OK)
			return rc;
		if (c->psk) {
			d->psk_len = strlen(c->psk);
			if (!(d->psk = talloc_size(r, d->psk_len)))
				return MGW_E_NOMEM;
			talloc_set_name_const(d->psk, "mgw_device_psk");
			talloc_set_destructor(d->psk, psk_wipe);
			memcpy(d->psk, c->psk, d->psk_len);
		}
	}
	if (e->sms && (rc = dup_str(r, &d->msisdn, e->sms->msisdn)) != MGW_OK)
		return rc;
	if (e->mqtt && (rc = dup_str(r, &d->mqtt_user, e->mqtt->username)) != MGW_OK)
		return rc;
	if (e->cose) {
		const struct reg_cose *c = e->cose;
		struct mgw_cose_key_spec spec = {
			.alg = mgw_cose_alg_by_name(cose_algs[c->alg]),
			.key = c->key_b,
			.key_len = c->key_len,
			.kid = c->kid_b,
			.kid_len = c->kid_len,
			.common_iv = c->has_civ ? c->civ : NULL,
			.common_iv_len = c->has_civ ? sizeof(c->civ) : 0,
		};

		if ((rc = dup_str(r, &d->cose_kid, c->kid)) != MGW_OK)
			return rc;
		/* cose_check() refused what the module would: a refusal here is a bug */
		if ((rc = mgw_cose_key_alloc(r, &spec, &d->cose, NULL)) != MGW_OK)
			return rc == MGW_E_NOMEM ? rc : MGW_E_INTERNAL;
	}
	if (e->allow.n) {
		if ((rc = sec_allow_list_build(r, e->allow.v, e->allow.n, &d->allow)) != MGW_OK)
			return rc;
		d->has_allow = true;
	}
	d->protection = e->protection;
	return MGW_OK;
}

static int index_cred(struct mgw_registry *r, enum mgw_cred kind, const char *value,
		      const struct mgw_device *d)
{
	const void *prev = NULL;

	if (!value)
		return MGW_OK;
	/* duplicates were refused by entry_check(); a second hit here is a bug */
	return ht_put(&r->by_cred, r, kind, value, d, &prev) == MGW_OK ? MGW_OK : MGW_E_INTERNAL;
}

static int registry_build(void *ctx, const struct mgw_cfg_list *l, struct mgw_registry **out)
{
	struct mgw_registry *r = talloc_zero(ctx, struct mgw_registry);
	int rc;

	if (!r)
		return MGW_E_NOMEM;
	talloc_set_name_const(r, "mgw_registry");
	if (l->n && !(r->dev = talloc_zero_array(r, struct mgw_device, l->n))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct reg_entry *e = MGW_CFG_LIST_AT(l, struct reg_entry, i);
		struct mgw_device *d = &r->dev[i];
		const void *prev = NULL;

		if ((rc = device_fill(r, d, e)) != MGW_OK)
			goto out;
		r->n = i + 1;
		if ((rc = ht_put(&r->by_ue, r, 0, d->ue, d, &prev)) != MGW_OK) {
			rc = rc == MGW_E_NOMEM ? rc : MGW_E_INTERNAL;
			goto out;
		}
		if ((rc = index_cred(r, MGW_CRED_PSK_ID, d->psk_identity, d)) != MGW_OK ||
		    (rc = index_cred(r, MGW_CRED_CERT_FP, d->cert_fp, d)) != MGW_OK ||
		    (rc = index_cred(r, MGW_CRED_CERT_FP, d->rpk_fp, d)) != MGW_OK ||
		    (rc = index_cred(r, MGW_CRED_CERT_SUBJECT, d->cert_subject, d)) != MGW_OK ||
		    (rc = index_cred(r, MGW_CRED_MSISDN, d->msisdn, d)) != MGW_OK ||
		    (rc = index_cred(r, MGW_CRED_MQTT_USER, d->mqtt_user, d)) != MGW_OK)
			goto out;
	}
	*out = r;
	r = NULL;
	rc = MGW_OK;
out:
	talloc_free(r);
	return rc;
}

static void wipe_list(struct mgw_cfg_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct reg_entry *e = MGW_CFG_LIST_AT(l, struct reg_entry, i);

		if (e->coap && e->coap->psk)
			OPENSSL_cleanse(e->coap->psk, strlen(e->coap->psk));
		if (e->mqtt && e->mqtt->password)
			OPENSSL_cleanse(e->mqtt->password, strlen(e->mqtt->password));
		if (e->cose) {
			if (e->cose->key)
				OPENSSL_cleanse(e->cose->key, strlen(e->cose->key));
			OPENSSL_cleanse(e->cose->key_b, sizeof(e->cose->key_b));
		}
	}
}

static int registry_load(void *ctx, const char *name, const char *buf, size_t len,
			 bool quiet, struct mgw_registry **out, struct mgw_cfg_err *err)
{
	struct reg_build b = { 0 }, *prev_build = cur_build;
	struct mgw_cfg_list l = { 0, NULL };
	struct mgw_registry *r = NULL;
	int rc;

	err->msg[0] = '\0';
	if (!(b.tmp = talloc_named_const(NULL, 0, "registry_load"))) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		return MGW_E_NOMEM;
	}
	cur_build = &b;
	rc = buf ? mgw_cfg_load_list_buf(b.tmp, name, buf, len, &entry_schema, &l, err)
		 : mgw_cfg_load_list(b.tmp, name, &entry_schema, &l, err);
	cur_build = prev_build;
	if (rc != 0) {
		rc = b.nomem ? MGW_E_NOMEM : MGW_E_CONFIG;
		goto out;
	}
	if ((rc = registry_build(ctx, &l, &r)) != MGW_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, mgw_strerror(rc));
		goto out;
	}
	if (!quiet)
		LOGP(DSEC, MGW_LOGL_INFO, "registry %s: %zu devices", name, r->n);
	*out = r;
	rc = MGW_OK;
out:
	wipe_list(&l);
	talloc_free(b.tmp);
	return rc;
}

int mgw_registry_load(void *ctx, const char *file, struct mgw_registry **out,
		      struct mgw_cfg_err *err)
{
	if (!file || !out || !err)
		return MGW_E_INVAL;
	return registry_load(ctx, file, NULL, 0, false, out, err);
}

int mgw_registry_load_buf(void *ctx, const char *name, const char *buf, size_t len,
			  struct mgw_registry **out, struct mgw_cfg_err *err)
{
	if (!buf || !out || !err)
		return MGW_E_INVAL;
	return registry_load(ctx, name ? name : "<registry>", buf, len, false, out, err);
}

int sec_registry_row(void *ctx, const char *name, const char *buf, size_t len,
		     struct mgw_registry **out, struct mgw_cfg_err *err)
{
	return registry_load(ctx, name, buf, len, true, out, err);
}

const struct mgw_device *sec_registry_first(const struct mgw_registry *r)
{
	return r && r->n ? &r->dev[0] : NULL;
}

int mgw_registry_open_db(void *ctx, struct mgw_regdb *db, size_t cache_max,
			 struct mgw_registry **out)
{
	struct mgw_registry *r;
	int rc;

	if (!db || !out)
		return MGW_E_INVAL;
	if (!(r = talloc_zero(ctx, struct mgw_registry)))
		return MGW_E_NOMEM;
	talloc_set_name_const(r, "mgw_registry(store)");
	if ((rc = reg_cache_alloc(r, db, cache_max, &r->cache)) != MGW_OK) {
		talloc_free(r);
		return rc;
	}
	*out = r;
	return MGW_OK;
}

struct reg_cache *sec_registry_cache(const struct mgw_registry *r)
{
	return r ? r->cache : NULL;
}

void mgw_registry_free(struct mgw_registry *r)
{
	talloc_free(r);
}

size_t mgw_registry_count(const struct mgw_registry *r)
{
	if (r && r->cache)
		return reg_cache_count(r->cache);
	return r ? r->n : 0;
}

const struct mgw_device *mgw_registry_by_cred(const struct mgw_registry *r, enum mgw_cred kind,
					      const char *value)
{
	char norm[MGW_ID_MAX + 1];

	if (!r || !value)
		return NULL;
	if (kind == MGW_CRED_PSK_ID || kind == MGW_CRED_MQTT_USER || kind == MGW_CRED_CERT_SUBJECT)
		return r->cache ? reg_cache_get(r->cache, kind, value)
				: ht_get(&r->by_cred, kind, value);
	if (sec_cred_normalise(kind, value, norm, sizeof(norm)) != MGW_OK)
		return NULL;
	return r->cache ? reg_cache_get(r->cache, kind, norm) : ht_get(&r->by_cred, kind, norm);
}

const struct mgw_device *mgw_registry_by_ue(const struct mgw_registry *r, const char *ue)
{
	if (!r || !ue)
		return NULL;
	return r->cache ? reg_cache_get(r->cache, 0, ue) : ht_get(&r->by_ue, 0, ue);
}

const struct mgw_device *mgw_registry_at(const struct mgw_registry *r, size_t i)
{
	if (r && r->cache)
		return reg_cache_at(r->cache, i);
	if (!r || i >= r->n)
		return NULL;
	return &r->dev[i];
}

/* ---------------------------------------------------------------- devices */

const char *mgw_device_ue(const struct mgw_device *d)
{
	return d ? d->ue : NULL;
}

enum mgw_ingress mgw_device_adapter(const struct mgw_device *d)
{
	if (!d)
		return MGW_IN_NONE;
	if (d->psk_identity || d->cert_fp || d->rpk_fp || d->cert_subject)
		return MGW_IN_COAP;
	if (d->mqtt_user)
		return MGW_IN_MQTT;
	if (d->msisdn)
		return MGW_IN_SMS;
	return MGW_IN_NONE;
}

const char *mgw_device_cred(const struct mgw_device *d, enum mgw_cred kind)
{
	if (!d)
		return NULL;
	switch (kind) {
	case MGW_CRED_PSK_ID:
		return d->psk_identity;
	case MGW_CRED_CERT_FP:
		return d->cert_fp ? d->cert_fp : d->rpk_fp;
	case MGW_CRED_MSISDN:
		return d->msisdn;
	case MGW_CRED_MQTT_USER:
		return d->mqtt_user;
	case MGW_CRED_CERT_SUBJECT:
		return d->cert_subject;
	default:
		return NULL;
	}
}

int mgw_device_psk(const struct mgw_device *d, const uint8_t **key, size_t *len)
{
	if (!d || !key || !len)
		return MGW_E_INVAL;
	if (!d->psk)
		return MGW_E_NOT_FOUND;
	*key = d->psk;
	*len = d->psk_len;
	return MGW_OK;
}

const struct mgw_cose_key *mgw_device_cose(const struct mgw_device *d)
{
	return d ? d->cose : NULL;
}

int mgw_device_protection(const struct mgw_device *d)
{
	return d ? d->protection : 0;
}

/* ---------------------------------------------------------------- the store copy */

static int jset_str(json_t *o, const char *key, const char *val)
{
	if (!val)
		return 0;
	return json_object_set_new(o, key, json_string(val));
}

/* One row: the entry without its PSK or COSE key (secrets stay in the YAML file; see
 * doc/internals/security.md). */
static char *device_json(const struct mgw_device *d)
{
	json_t *o = json_object(), *sec = NULL, *allow = NULL;
	char *s = NULL;
	char buf[MGW_ADDR_TYPE_NAME_MAX + MGW_ID_MAX + 2];

	if (!o || jset_str(o, "ue", d->ue) < 0 ||
	    jset_str(o, "adapter", mgw_ingress_name(mgw_device_adapter(d))) < 0)
		goto out;
	if (d->psk_identity || d->cert_fp || d->rpk_fp || d->cert_subject) {
		if (!(sec = json_object()) || jset_str(sec, "psk_identity", d->psk_identity) < 0 ||
		    (d->psk && json_object_set_new(sec, "psk", json_string("<secret>")) < 0) ||
		    jset_str(sec, "cert_fingerprint", d->cert_fp) < 0 ||
		    jset_str(sec, "cert_subject", d->cert_subject) < 0 ||
		    jset_str(sec, "rpk", d->rpk_fp) < 0 || json_object_set_new(o, "coap", sec) < 0)
			goto out;
	}
	if (d->msisdn && json_object_set_new(o, "sms", json_pack("{s:s}", "msisdn", d->msisdn)) < 0)
		goto out;
	if (d->mqtt_user &&
	    json_object_set_new(o, "mqtt", json_pack("{s:s}", "username", d->mqtt_user)) < 0)
		goto out;
	if (d->cose &&
	    json_object_set_new(o, "cose",
				json_pack("{s:s, s:s, s:s}", "kid", d->cose_kid, "alg",
					  mgw_cose_alg_name(mgw_cose_key_alg(d->cose)), "key",
					  "<secret>")) < 0)
		goto out;
	if (d->has_allow) {
		if (!(allow = json_array()) || json_object_set_new(o, "allow", allow) < 0)
			goto out;
		for (size_t i = 0; i < d->allow.n; i++) {
			const struct sec_allow *a = &d->allow.v[i];

			snprintf(buf, sizeof(buf), "%s:%s", mgw_addr_type_name(a->type),
				 a->any ? "*" : a->addr);
			if (json_array_append_new(allow, json_string(buf)) < 0)
				goto out;
		}
	}
	s = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	return s;
}

int mgw_registry_save(const struct mgw_registry *r, struct mgw_store *s)
{
	int rc;

	if (!r)
		return MGW_E_INVAL;
	if (!s || r->cache) /* a registry in the store is its own copy */
		return MGW_OK;
	if ((rc = mgw_store_kv_clear(s, "registry")) != MGW_OK)
		goto out;
	for (size_t i = 0; i < r->n; i++) {
		char *row = device_json(&r->dev[i]);

		if (!row) {
			rc = MGW_E_NOMEM;
			goto out;
		}
		rc = mgw_store_kv_put(s, "registry", r->dev[i].ue, row, strlen(row), 0);
		free(row);
		if (rc != MGW_OK)
			goto out;
	}
	rc = MGW_OK;
out:
	if (rc != MGW_OK)
		LOGP_RC(DSEC, MGW_LOGL_ERROR, rc, "registry copy not saved");
	return rc;
}
