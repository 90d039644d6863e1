/* msgin5g-gw security: JWS/JWE protection profiles on cjose (include/mgw/jose.h,
 * doc/internals/jose.md).
 *
 * cjose 0.6.2 picks the algorithm from the object's header, not from the key: given an EC
 * key and a header saying HS256 it would run HMAC keyed with the EC key structure, and it
 * imports "alg":"none" objects (refusing only to verify them). So nothing untrusted reaches
 * cjose before this file has split the compact serialization itself, decoded every part as
 * strict base64url (no padding, no stray bits: one encoding per byte string), parsed the
 * protected header with duplicate members refused, checked alg/enc against the key's
 * allow-list, looked the key up by kid, and checked the lengths cjose does not check (an
 * ES256 signature is 64 bytes; an A256GCM IV 12 and its tag 16 bytes; ECDH-ES has no
 * encrypted key). cjose then does the crypto of JWS (ECDSA P-256 with SHA-256) and of JWE
 * encryption (ECDH-ES with the Concat KDF of RFC 7518 4.6, AES-256-GCM). JWE decryption
 * runs on OpenSSL 3 primitives here (see mgw_jose_decrypt: a leak in cjose 0.6.2.1).
 *
 * Claims are built and parsed here with jansson (duplicates refused, types exact).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/err.h>
#include <mgw/jose.h>
#include <mgw/msg.h>

#include "jose_int.h"

#define ES256_SIG_LEN 64
#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16
#define JTI_RAND 16
#define NUMERIC_DATE_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* ==================================================================================== */
/* causes                                                                               */
/* ==================================================================================== */

static const struct {
	const char *name;
	int rc;
} causes[] = {
	[MGW_JOSE_OK] = { "OK", MGW_OK },
	[MGW_JOSE_MALFORMED] = { "MALFORMED", MGW_E_MALFORMED },
	[MGW_JOSE_TOO_BIG] = { "TOO_BIG", MGW_E_TOO_BIG },
	[MGW_JOSE_UNSUPPORTED] = { "UNSUPPORTED", MGW_E_UNSUPPORTED },
	[MGW_JOSE_ALG_NOT_ALLOWED] = { "ALG_NOT_ALLOWED", MGW_E_CRYPTO },
	[MGW_JOSE_UNKNOWN_KID] = { "UNKNOWN_KID", MGW_E_CRYPTO },
	[MGW_JOSE_BAD_SIGNATURE] = { "BAD_SIGNATURE", MGW_E_CRYPTO },
	[MGW_JOSE_DECRYPT_FAILED] = { "DECRYPT_FAILED", MGW_E_CRYPTO },
	[MGW_JOSE_EXPIRED] = { "EXPIRED", MGW_E_EXPIRED },
	[MGW_JOSE_NOT_YET_VALID] = { "NOT_YET_VALID", MGW_E_EXPIRED },
	[MGW_JOSE_REPLAY] = { "REPLAY", MGW_E_REPLAY },
	[MGW_JOSE_CLAIM_MISMATCH] = { "CLAIM_MISMATCH", MGW_E_CRYPTO },
	[MGW_JOSE_UNSIGNED] = { "UNSIGNED", MGW_E_POLICY },
	[MGW_JOSE_NO_KEY] = { "NO_KEY", MGW_E_NOT_FOUND },
	[MGW_JOSE_INTERNAL] = { "INTERNAL", MGW_E_INTERNAL },
};

const char *mgw_jose_cause_name(enum mgw_jose_cause c)
{
	return (unsigned)c < sizeof(causes) / sizeof(causes[0]) ? causes[c].name : "UNKNOWN";
}

int mgw_jose_cause_rc(enum mgw_jose_cause c)
{
	return (unsigned)c < sizeof(causes) / sizeof(causes[0]) ? causes[c].rc : MGW_E_INTERNAL;
}

static int jfail(struct mgw_jose_err *e, enum mgw_jose_cause c, const char *where,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int jfail(struct mgw_jose_err *e, enum mgw_jose_cause c, const char *where,
		 const char *fmt, ...)
{
	va_list ap;

	ERR_clear_error(); /* cjose and OpenSSL leave nothing behind for the TLS code */
	if (e) {
		e->cause = c;
		snprintf(e->where, sizeof(e->where), "%s", where ? where : "");
		va_start(ap, fmt);
		vsnprintf(e->text, sizeof(e->text), fmt, ap);
		va_end(ap);
	}
	return mgw_jose_cause_rc(c);
}

/* A value from an object (alg, enc, kid) for an error text: printed only if it is short
 * printable ASCII, so that a log line or audit detail cannot be forged through it. */
const char *jose_shown(const char *v)
{
	size_t n = 0;

	for (; v[n]; n++)
		if (n >= MGW_JOSE_KID_MAX || (unsigned char)v[n] < 0x20 ||
		    (unsigned char)v[n] > 0x7e)
			return "(unprintable)";
	return v;
}

static void jok(struct mgw_jose_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

static int nomem(struct mgw_jose_err *e)
{
	return jfail(e, MGW_JOSE_INTERNAL, "", "out of memory");
}

/* ==================================================================================== */
/* base64url (RFC 7515 section 2: no padding) and the compact serialization             */
/* ==================================================================================== */

static int b64u_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict: only the alphabet, no '=', length not 1 mod 4, unused low bits zero. out holds
 * n * 3 / 4 + 1 bytes. */
bool jose_b64u_decode(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = b64u_val((unsigned char)s[i]);

		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return false;
	*out_len = o;
	return true;
}

/* Decode under ctx (NUL-terminated for JSON parsing). NULL on bad input or no memory:
 * *bad says which. */
static uint8_t *b64u_dup(void *ctx, const char *s, size_t n, size_t *out_len, bool *bad)
{
	uint8_t *b = talloc_size(ctx, n / 4 * 3 + 3);

	*bad = false;
	if (!b)
		return NULL;
	if (!jose_b64u_decode(s, n, b, out_len)) {
		*bad = true;
		talloc_free(b);
		return NULL;
	}
	b[*out_len] = '\0';
	return b;
}

static char *b64u_encode(void *ctx, const uint8_t *p, size_t n)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *s = talloc_size(ctx, (n + 2) / 3 * 4 + 1), *o = s;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*o++ = al[v >> 18];
		*o++ = al[(v >> 12) & 63];
		*o++ = al[(v >> 6) & 63];
		*o++ = al[v & 63];
	}
	if (n - i == 1) {
		*o++ = al[p[i] >> 2];
		*o++ = al[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

		*o++ = al[v >> 10];
		*o++ = al[(v >> 4) & 63];
		*o++ = al[(v & 15) << 2];
	}
	*o = '\0';
	return s;
}

struct compact {
	const char *part[5];
	size_t len[5];
};

/* Split s into exactly nparts '.'-separated parts of base64url characters. */
static int compact_split(const struct mgw_jose_keyset *ks, const char *s, size_t n, int nparts,
			 struct compact *c, struct mgw_jose_err *e)
{
	const char *what = nparts == 3 ? "JWS" : "JWE";
	int k = 0;
	size_t start = 0;

	if (n > ks->max_len)
		return jfail(e, MGW_JOSE_TOO_BIG, "", "%s of %zu bytes exceeds %zu", what, n,
			     ks->max_len);
	if (n == 0)
		return jfail(e, MGW_JOSE_MALFORMED, "", "empty %s", what);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (b64u_val((unsigned char)s[i]) < 0)
				return jfail(e, MGW_JOSE_MALFORMED, "",
					     "%s compact serialization: byte %zu is not base64url",
					     what, i);
			continue;
		}
		if (k == nparts)
			return jfail(e, MGW_JOSE_MALFORMED, "",
				     "%s compact serialization has more than %d parts", what, nparts);
		c->part[k] = s + start;
		c->len[k] = i - start;
		k++;
		start = i + 1;
	}
	if (k != nparts)
		return jfail(e, MGW_JOSE_MALFORMED, "", "%s compact serialization needs %d parts, has %d",
			     what, nparts, k);
	return MGW_OK;
}

/* The shape of a payload: 2 or 4 dots and a first part that decodes to a JSON object with a
 * string "alg" make a JWS or a JWE (whatever the other parts hold: their faults are then
 * reported precisely); anything else is plain content. */
enum shape { SHAPE_PLAIN, SHAPE_JWS, SHAPE_JWE };

static enum shape classify(const uint8_t *p, size_t n)
{
	size_t dots = 0, first = SIZE_MAX;
	enum shape sh = SHAPE_PLAIN;
	uint8_t *hb;
	size_t hl;
	bool bad;
	json_t *h;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (first == SIZE_MAX)
				first = i;
			dots++;
		} else if (first == SIZE_MAX && b64u_val(p[i]) < 0) {
			return SHAPE_PLAIN;
		}
	}
	if ((dots != 2 && dots != 4) || first == 0)
		return SHAPE_PLAIN;
	if (!(hb = b64u_dup(NULL, (const char *)p, first, &hl, &bad)))
		return SHAPE_PLAIN;
	if ((h = json_loadb((const char *)hb, hl, 0, NULL)) && json_is_object(h) &&
	    json_is_string(json_object_get(h, "alg")))
		sh = dots == 2 ? SHAPE_JWS : SHAPE_JWE;
	json_decref(h);
	talloc_free(hb);
	return sh;
}

/* ==================================================================================== */
/* protected headers                                                                    */
/* ==================================================================================== */

static const char *jstr(const json_t *o, const char *member)
{
	const json_t *v = json_object_get(o, member);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Decode and parse a protected header; refuse what this profile never accepts. */
static int header_parse(const char *b64, size_t n, json_t **out, struct mgw_jose_err *e)
{
	/* crit: no extension is understood (RFC 7515 4.1.11: must refuse); b64: RFC 7797
	 * unencoded payloads; zip: compression before encryption; embedded or remote keys:
	 * the key is the one configured for the peer, never one the object brings */
	static const char *const refused[] = { "crit", "b64", "zip", "jwk", "jku", "x5u", "x5c" };
	uint8_t *buf;
	size_t len;
	bool bad;
	json_t *h;
	json_error_t je;

	if (!(buf = b64u_dup(NULL, b64, n, &len, &bad)))
		return bad ? jfail(e, MGW_JOSE_MALFORMED, "header", "not base64url")
			   : nomem(e);
	h = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	talloc_free(buf);
	if (!h || !json_is_object(h)) {
		json_decref(h);
		return jfail(e, MGW_JOSE_MALFORMED, "header",
			     "not a JSON object without duplicate members");
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (json_object_get(h, refused[i])) {
			char where[32];

			snprintf(where, sizeof(where), "header.%s", refused[i]);
			json_decref(h);
			return jfail(e, MGW_JOSE_UNSUPPORTED, where, "header member %s is not accepted",
				     refused[i]);
		}
	*out = h;
	return MGW_OK;
}

/* The kid member: present, a string of 1..MGW_JOSE_KID_MAX bytes. */
static int header_kid(const json_t *h, const char **kid, struct mgw_jose_err *e)
{
	const char *k = jstr(h, "kid");

	if (!k || !*k || strlen(k) > MGW_JOSE_KID_MAX)
		return jfail(e, MGW_JOSE_MALFORMED, "header.kid",
			     "kid missing or not a string of 1..%d bytes: the key must be named",
			     MGW_JOSE_KID_MAX);
	*kid = k;
	return MGW_OK;
}

/* ==================================================================================== */
/* claims                                                                               */
/* ==================================================================================== */

static int put_addr(json_t *o, const char *name, const struct mgw_addr *a)
{
	json_t *v = json_object();

	if (!v || json_object_set_new(v, "addrType", json_string(a->type_name)) != 0 ||
	    json_object_set_new(v, "addr", json_string(a->addr)) != 0 ||
	    json_object_set_new(o, name, v) != 0)
		return -1;
	return 0;
}

/* The claims as compact JSON (malloc'd by jansson). */
static int claims_encode(void *ctx, const struct mgw_jose_claims *c, char **out,
			 struct mgw_jose_err *e)
{
	json_t *o = json_object(), *pl = NULL;
	uint8_t rnd[JTI_RAND];
	char *jti = NULL, *s;
	int rc;

	if (c->ori.type == MGW_ADDR_NONE || c->dest.type == MGW_ADDR_NONE || !c->msg_id[0]) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "claims",
			   "oriAddr, destAddr and msgId are required");
		goto out;
	}
	if (c->has_payload &&
	    !(pl = json_stringn((const char *)(c->payload ? c->payload : (const uint8_t *)""),
				c->payload ? c->payload_len : 0))) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "claims.payload",
			   "the payload is not UTF-8: a JSON string cannot carry it");
		goto out;
	}
	if (!c->jti[0]) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			rc = jfail(e, MGW_JOSE_INTERNAL, "claims.jti", "no random bytes");
			goto out;
		}
		if (!(jti = b64u_encode(ctx, rnd, sizeof(rnd)))) {
			rc = nomem(e);
			goto out;
		}
	}
	if (!o || put_addr(o, "oriAddr", &c->ori) != 0 || put_addr(o, "destAddr", &c->dest) != 0 ||
	    json_object_set_new(o, "msgId", json_string(c->msg_id)) != 0 ||
	    (c->has_app_id && json_object_set_new(o, "appId", json_string(c->app_id)) != 0) ||
	    (pl && json_object_set(o, "payload", pl) != 0) ||
	    json_object_set_new(o, "iat", json_integer(c->iat)) != 0 ||
	    json_object_set_new(o, "jti", json_string(jti ? jti : c->jti)) != 0 ||
	    !(s = json_dumps(o, JSON_COMPACT))) {
		/* json_string() of a non-UTF-8 id fails too: the ids are checked UTF-8 upstream */
		rc = jfail(e, MGW_JOSE_MALFORMED, "claims", "cannot encode the claims (UTF-8?)");
		goto out;
	}
	*out = s;
	rc = MGW_OK;
out:
	talloc_free(jti);
	json_decref(pl);
	json_decref(o);
	return rc;
}

static int get_addr(const json_t *o, const char *name, struct mgw_addr *a,
		    struct mgw_jose_err *e)
{
	const json_t *v = json_object_get(o, name);
	const char *t, *ad;
	char where[32];

	snprintf(where, sizeof(where), "claims.%s", name);
	if (!v)
		return jfail(e, MGW_JOSE_MALFORMED, where, "missing");
	if (!json_is_object(v) || !(t = jstr(v, "addrType")) || !(ad = jstr(v, "addr")) ||
	    mgw_addr_set_wire(a, t, ad) != MGW_OK)
		return jfail(e, MGW_JOSE_MALFORMED, where,
			     "must be {\"addrType\": TYPE, \"addr\": ADDR} (non-empty, addr at most "
			     "%d bytes)",
			     MGW_ID_MAX);
	return MGW_OK;
}

/* A NumericDate (RFC 7519 2): integer or real seconds, 0..9999-12-31. */
static int get_date(const json_t *o, const char *name, bool required, bool *has, int64_t *out,
		    struct mgw_jose_err *e)
{
	const json_t *v = json_object_get(o, name);
	char where[32];
	double d;

	snprintf(where, sizeof(where), "claims.%s", name);
	*has = false;
	if (!v)
		return required ? jfail(e, MGW_JOSE_MALFORMED, where, "missing") : MGW_OK;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || i > NUMERIC_DATE_MAX)
			return jfail(e, MGW_JOSE_MALFORMED, where, "out of range");
		*out = (int64_t)i;
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d < 0 || d > (double)NUMERIC_DATE_MAX)
			return jfail(e, MGW_JOSE_MALFORMED, where, "out of range");
		*out = (int64_t)d; /* d >= 0: truncation is floor */
	} else {
		return jfail(e, MGW_JOSE_MALFORMED, where, "must be a number of seconds");
	}
	*has = true;
	return MGW_OK;
}

static int get_id(const json_t *o, const char *name, bool required, bool *has, char *out,
		  size_t cap, struct mgw_jose_err *e)
{
	const json_t *v = json_object_get(o, name);
	char where[32];

	snprintf(where, sizeof(where), "claims.%s", name);
	if (has)
		*has = false;
	if (!v)
		return required ? jfail(e, MGW_JOSE_MALFORMED, where, "missing") : MGW_OK;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return jfail(e, MGW_JOSE_MALFORMED, where,
			     "must be a string of 1..%zu bytes without NUL", cap - 1);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	if (has)
		*has = true;
	return MGW_OK;
}

int mgw_jose_claims_decode(void *ctx, const uint8_t *buf, size_t len,
			   struct mgw_jose_claims *out, struct mgw_jose_err *e)
{
	struct mgw_jose_claims c;
	json_t *o, *pl;
	json_error_t je;
	uint8_t *p = NULL;
	bool has;
	int rc;

	memset(&c, 0, sizeof(c));
	/* JSON_ALLOW_NUL: a payload may hold U+0000 (as the TS 29.538 codec keeps it); ids
	 * may not (get_id) */
	if (!(o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			     &je)) ||
	    !json_is_object(o)) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "claims",
			   "not a JSON object without duplicate members");
		goto out;
	}
	if ((rc = get_addr(o, "oriAddr", &c.ori, e)) != MGW_OK ||
	    (rc = get_addr(o, "destAddr", &c.dest, e)) != MGW_OK ||
	    (rc = get_id(o, "msgId", true, NULL, c.msg_id, sizeof(c.msg_id), e)) != MGW_OK ||
	    (rc = get_id(o, "appId", false, &c.has_app_id, c.app_id, sizeof(c.app_id), e)) !=
		    MGW_OK ||
	    (rc = get_id(o, "jti", false, NULL, c.jti, sizeof(c.jti), e)) != MGW_OK ||
	    (rc = get_date(o, "iat", true, &has, &c.iat, e)) != MGW_OK ||
	    (rc = get_date(o, "exp", false, &c.has_exp, &c.exp, e)) != MGW_OK ||
	    (rc = get_date(o, "nbf", false, &c.has_nbf, &c.nbf, e)) != MGW_OK)
		goto out;
	if ((pl = json_object_get(o, "payload"))) {
		size_t n = json_string_length(pl);

		if (!json_is_string(pl)) {
			rc = jfail(e, MGW_JOSE_MALFORMED, "claims.payload", "must be a string");
			goto out;
		}
		if (n > MGW_PAYLOAD_HARD_MAX) {
			rc = jfail(e, MGW_JOSE_TOO_BIG, "claims.payload",
				   "payload of %zu bytes exceeds %d", n, MGW_PAYLOAD_HARD_MAX);
			goto out;
		}
		if (!(p = talloc_size(ctx, n + 1))) {
			rc = nomem(e);
			goto out;
		}
		memcpy(p, json_string_value(pl), n);
		p[n] = '\0';
		c.has_payload = true;
		c.payload = p;
		c.payload_len = n;
	}
	*out = c;
	p = NULL;
	rc = MGW_OK;
out:
	talloc_free(p);
	json_decref(o);
	return rc;
}

/* ==================================================================================== */
/* JWS                                                                                  */
/* ==================================================================================== */

int mgw_jose_sign(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_jose_claims *c,
		  char **jws, struct mgw_jose_err *e)
{
	const struct jose_key *k = jose_own_key(ks, MGW_JOSE_USE_SIG, NULL);
	cjose_header_t *h = NULL;
	cjose_jws_t *js = NULL;
	const char *ser;
	char *claims = NULL, *res;
	cjose_err cerr;
	int rc;

	if (!k)
		return jfail(e, MGW_JOSE_NO_KEY, "", "no active signing key (msgin5g-gwctl keys gen)");
	if ((rc = claims_encode(ctx, c, &claims, e)) != MGW_OK)
		return rc;
	if (!(h = cjose_header_new(&cerr)) ||
	    !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &cerr) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, k->kid, &cerr) ||
	    !cjose_header_set(h, "typ", MGW_JOSE_TYP, &cerr)) {
		rc = nomem(e);
		goto out;
	}
	if (!(js = cjose_jws_sign(k->jwk, h, (const uint8_t *)claims, strlen(claims), &cerr)) ||
	    !cjose_jws_export(js, &ser, &cerr)) {
		rc = jfail(e, MGW_JOSE_INTERNAL, "", "signing with %s failed (cjose: %s)", k->kid,
			   cerr.message ? cerr.message : "?");
		goto out;
	}
	if (!(res = talloc_strdup(ctx, ser))) {
		rc = nomem(e);
		goto out;
	}
	*jws = res;
	jok(e);
	rc = MGW_OK;
out:
	cjose_jws_release(js);
	cjose_header_release(h);
	free(claims);
	ERR_clear_error();
	return rc;
}

static bool typ_ok(const char *typ)
{
	if (!typ)
		return true;
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, "JWT") == 0 || strcasecmp(typ, MGW_JOSE_TYP) == 0;
}

static int replay_id(const char *peer, const char *kid, const uint8_t *claims, size_t n,
		     uint8_t id[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, peer ? peer : "", (peer ? strlen(peer) : 0) + 1) == 1 &&
		 EVP_DigestUpdate(md, kid, strlen(kid) + 1) == 1 &&
		 EVP_DigestUpdate(md, claims, n) == 1 && EVP_DigestFinal_ex(md, id, &len) == 1 &&
		 len == 32;

	EVP_MD_CTX_free(md);
	return ok ? MGW_OK : MGW_E_INTERNAL;
}

int mgw_jose_verify(void *ctx, const struct mgw_jose_keyset *ks, const char *peer,
		    const char *jws, size_t len, int64_t now, struct mgw_jose_claims *out,
		    struct mgw_jose_result *res, struct mgw_jose_err *e)
{
	void *tmp = talloc_new(NULL);
	struct compact c;
	struct mgw_jose_claims cl;
	struct mgw_jose_result r;
	const struct jose_key *k = NULL;
	const struct jose_app *app = NULL;
	const char *alg, *kid;
	json_t *h = NULL;
	cjose_jws_t *js = NULL;
	uint8_t *sig, *pt = NULL;
	size_t sig_len, pt_len = 0;
	bool bad;
	cjose_err cerr;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!tmp)
		return nomem(e);
	if ((rc = compact_split(ks, jws, len, 3, &c, e)) != MGW_OK ||
	    (rc = header_parse(c.part[0], c.len[0], &h, e)) != MGW_OK)
		goto out;
	if (!(alg = jstr(h, "alg"))) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "header.alg", "alg missing or not a string");
		goto out;
	}
	if (strcmp(alg, "none") == 0) {
		rc = jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.alg",
			   "alg none: an unsigned object is never accepted");
		goto out;
	}
	if (strcmp(alg, "ES256") != 0) {
		rc = jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.alg",
			   "alg %s is not allowed (ES256 only)", jose_shown(alg));
		goto out;
	}
	if (!typ_ok(jstr(h, "typ")) || (json_object_get(h, "typ") && !jstr(h, "typ"))) {
		rc = jfail(e, MGW_JOSE_UNSUPPORTED, "header.typ", "typ must be JWT or %s",
			   MGW_JOSE_TYP);
		goto out;
	}
	if ((rc = header_kid(h, &kid, e)) != MGW_OK)
		goto out;
	if (peer) {
		if (!(app = jose_app_find(ks, peer)) ||
		    !(k = jose_app_key(app, MGW_JOSE_USE_SIG, kid))) {
			rc = jfail(e, MGW_JOSE_UNKNOWN_KID, "header.kid",
				   "no signing key %s for AS %.64s", jose_shown(kid), peer);
			goto out;
		}
	} else if (!(k = jose_own_key(ks, MGW_JOSE_USE_SIG, kid))) {
		rc = jfail(e, MGW_JOSE_UNKNOWN_KID, "header.kid",
			   "no signing key %s of the gateway", jose_shown(kid));
		goto out;
	}
	if (!(k->algs & MGW_JOSE_ALG_ES256)) {
		rc = jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.alg", "key %s does not allow ES256",
			   k->kid);
		goto out;
	}
	if (!(sig = b64u_dup(tmp, c.part[2], c.len[2], &sig_len, &bad))) {
		rc = bad ? jfail(e, MGW_JOSE_MALFORMED, "signature", "not base64url") : nomem(e);
		goto out;
	}
	if (sig_len != ES256_SIG_LEN) {
		rc = jfail(e, MGW_JOSE_BAD_SIGNATURE, "signature",
			   "an ES256 signature is %d bytes, not %zu", ES256_SIG_LEN, sig_len);
		goto out;
	}
	if (!b64u_dup(tmp, c.part[1], c.len[1], &pt_len, &bad)) {
		rc = bad ? jfail(e, MGW_JOSE_MALFORMED, "payload", "not base64url") : nomem(e);
		goto out;
	}
	if (!(js = cjose_jws_import(jws, len, &cerr))) {
		rc = cerr.code == CJOSE_ERR_NO_MEMORY
			     ? nomem(e)
			     : jfail(e, MGW_JOSE_MALFORMED, "", "cjose refused the JWS");
		goto out;
	}
	if (!cjose_jws_verify(js, k->jwk, &cerr)) {
		rc = cerr.code == CJOSE_ERR_NO_MEMORY
			     ? nomem(e)
			     : jfail(e, MGW_JOSE_BAD_SIGNATURE, "signature",
				     "the signature does not verify with key %s", k->kid);
		goto out;
	}
	if (!cjose_jws_get_plaintext(js, &pt, &pt_len, &cerr)) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "payload", "no payload");
		goto out;
	}
	if ((rc = mgw_jose_claims_decode(tmp, pt, pt_len, &cl, e)) != MGW_OK)
		goto out;
	if (cl.iat > now + ks->skew || (cl.has_nbf && cl.nbf > now + ks->skew)) {
		rc = jfail(e, MGW_JOSE_NOT_YET_VALID, cl.iat > now + ks->skew ? "claims.iat" : "claims.nbf",
			   "issued %" PRId64 " s in the future (allowed skew %" PRId64 " s)",
			   (cl.iat > now + ks->skew ? cl.iat : cl.nbf) - now, ks->skew);
		goto out;
	}
	if (cl.iat < now - ks->skew) {
		rc = jfail(e, MGW_JOSE_EXPIRED, "claims.iat",
			   "issued %" PRId64 " s ago (allowed skew %" PRId64 " s)", now - cl.iat,
			   ks->skew);
		goto out;
	}
	if (cl.has_exp && cl.exp <= now - ks->skew) {
		rc = jfail(e, MGW_JOSE_EXPIRED, "claims.exp", "expired %" PRId64 " s ago",
			   now - cl.exp);
		goto out;
	}
	r.prot = MGW_PROT_JWS;
	r.is_signed = true;
	snprintf(r.kid, sizeof(r.kid), "%s", k->kid);
	r.iat = cl.iat;
	if (replay_id(peer, k->kid, pt, pt_len, r.replay_id) != MGW_OK) {
		rc = jfail(e, MGW_JOSE_INTERNAL, "", "SHA-256 failed");
		goto out;
	}
	if (cl.has_payload)
		talloc_steal(ctx, (void *)cl.payload);
	*out = cl;
	if (res)
		*res = r;
	jok(e);
	rc = MGW_OK;
out:
	cjose_jws_release(js);
	json_decref(h);
	talloc_free(tmp);
	ERR_clear_error();
	return rc;
}

/* ==================================================================================== */
/* JWE                                                                                  */
/* ==================================================================================== */

int mgw_jose_encrypt(void *ctx, const struct mgw_jose_keyset *ks, const char *peer,
		     const uint8_t *pt, size_t n, const char *cty, char **jwe,
		     struct mgw_jose_err *e)
{
	const struct jose_app *app = jose_app_find(ks, peer);
	const struct jose_key *k = app ? jose_app_key(app, MGW_JOSE_USE_ENC, NULL) : NULL;
	cjose_header_t *h = NULL;
	cjose_jwe_t *je = NULL;
	char *ser = NULL, *res;
	cjose_err cerr;
	int rc;

	if (!k)
		return jfail(e, MGW_JOSE_NO_KEY, "", "no encryption key for AS %.64s",
			     peer ? peer : "(none)");
	if (!(h = cjose_header_new(&cerr)) ||
	    !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ECDH_ES, &cerr) ||
	    !cjose_header_set(h, CJOSE_HDR_ENC, CJOSE_HDR_ENC_A256GCM, &cerr) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, k->kid, &cerr) ||
	    (cty && !cjose_header_set(h, CJOSE_HDR_CTY, cty, &cerr))) {
		rc = nomem(e);
		goto out;
	}
	if (!(je = cjose_jwe_encrypt(k->jwk, h, pt, n, &cerr)) ||
	    !(ser = cjose_jwe_export(je, &cerr))) {
		rc = jfail(e, MGW_JOSE_INTERNAL, "", "encryption to %s failed (cjose: %s)", k->kid,
			   cerr.message ? cerr.message : "?");
		goto out;
	}
	if (!(res = talloc_strdup(ctx, ser))) {
		rc = nomem(e);
		goto out;
	}
	*jwe = res;
	jok(e);
	rc = MGW_OK;
out:
	if (ser)
		cjose_get_dealloc()(ser);
	cjose_jwe_release(je);
	cjose_header_release(h);
	ERR_clear_error();
	return rc;
}

/* Checks of a JWE protected header for ECDH-ES + A256GCM to one of our keys. */
static int jwe_header(const struct mgw_jose_keyset *ks, const json_t *h,
		      const struct jose_key **key, struct mgw_jose_err *e)
{
	const char *alg = jstr(h, "alg"), *enc = jstr(h, "enc"), *kid, *kty, *crv;
	const json_t *epk = json_object_get(h, "epk");
	const struct jose_key *k;
	int rc;

	if (!alg)
		return jfail(e, MGW_JOSE_MALFORMED, "header.alg", "alg missing or not a string");
	if (strcmp(alg, "ECDH-ES") != 0)
		return jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.alg",
			     "alg %s is not allowed (ECDH-ES only)", jose_shown(alg));
	if (!enc)
		return jfail(e, MGW_JOSE_MALFORMED, "header.enc", "enc missing or not a string");
	if (strcmp(enc, "A256GCM") != 0)
		return jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.enc",
			     "enc %s is not allowed (A256GCM only)", jose_shown(enc));
	if ((rc = header_kid(h, &kid, e)) != MGW_OK)
		return rc;
	if (!(k = jose_own_key(ks, MGW_JOSE_USE_ENC, kid)))
		return jfail(e, MGW_JOSE_UNKNOWN_KID, "header.kid",
			     "no encryption key %s of the gateway", jose_shown(kid));
	if (!(k->algs & MGW_JOSE_ALG_ECDH_ES_A256GCM))
		return jfail(e, MGW_JOSE_ALG_NOT_ALLOWED, "header.alg",
			     "key %s does not allow ECDH-ES/A256GCM", k->kid);
	if (!json_is_object(epk) || !(kty = jstr(epk, "kty")) || strcmp(kty, "EC") != 0 ||
	    !(crv = jstr(epk, "crv")) || strcmp(crv, "P-256") != 0 || !jstr(epk, "x") ||
	    !jstr(epk, "y") || json_object_get(epk, "d"))
		return jfail(e, MGW_JOSE_MALFORMED, "header.epk",
			     "epk must be a public EC P-256 key");
	if ((json_object_get(h, "apu") && !jstr(h, "apu")) ||
	    (json_object_get(h, "apv") && !jstr(h, "apv")) ||
	    (json_object_get(h, "cty") && !jstr(h, "cty")))
		return jfail(e, MGW_JOSE_MALFORMED, "header", "apu, apv and cty must be strings");
	*key = k;
	return MGW_OK;
}

int jose_concat_kdf(const uint8_t *z, size_t z_len, const char *alg_id, const uint8_t *apu,
		    size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out, size_t out_len)
{
	size_t alg_len = strlen(alg_id), n = 4 + alg_len + 4 + apu_len + 4 + apv_len + 4, o = 0;
	uint8_t *info = talloc_size(NULL, n);
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kc = NULL;
	OSSL_PARAM params[4];
	char digest[] = "SHA256";
	int rc = MGW_E_INTERNAL;

	if (!info)
		return MGW_E_NOMEM;
#define PUT32(v)                                                                           \
	do {                                                                               \
		info[o++] = (uint8_t)((v) >> 24);                                          \
		info[o++] = (uint8_t)((v) >> 16);                                          \
		info[o++] = (uint8_t)((v) >> 8);                                           \
		info[o++] = (uint8_t)(v);                                                  \
	} while (0)
	PUT32(alg_len);
	memcpy(info + o, alg_id, alg_len);
	o += alg_len;
	PUT32(apu_len);
	if (apu_len)
		memcpy(info + o, apu, apu_len);
	o += apu_len;
	PUT32(apv_len);
	if (apv_len)
		memcpy(info + o, apv, apv_len);
	o += apv_len;
	PUT32(out_len * 8);
#undef PUT32
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[3] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL)) && (kc = EVP_KDF_CTX_new(kdf)) &&
	    EVP_KDF_derive(kc, out, out_len, params) == 1)
		rc = MGW_OK;
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	talloc_free(info);
	return rc;
}

/* The sender's ephemeral public key from the header's epk (checked by jwe_header). */
static EVP_PKEY *epk_key(const json_t *epk)
{
	const char *x = jstr(epk, "x"), *y = jstr(epk, "y");
	uint8_t pub[1 + 2 * 32 + 3];
	size_t xl = 0, yl = 0;
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *peer = NULL;

	pub[0] = 0x04; /* uncompressed point */
	if (strlen(x) != 43 || strlen(y) != 43 || !jose_b64u_decode(x, 43, pub + 1, &xl) || xl != 32 ||
	    !jose_b64u_decode(y, 43, pub + 33, &yl) || yl != 32)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 65);
	params[2] = OSSL_PARAM_construct_end();
	/* OpenSSL refuses a point that is not on the curve (EC_POINT_oct2point) */
	if (!(pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(pc);
	return peer;
}

/* Z = ECDH(own, peer), 32 bytes; the peer key is validated again by OpenSSL. */
static bool ecdh(EVP_PKEY *own, EVP_PKEY *peer, uint8_t z[32])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(own, NULL);
	size_t zl = 32;
	bool ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer_ex(c, peer, 1) == 1 &&
		  EVP_PKEY_derive(c, z, &zl) == 1 && zl == 32;

	EVP_PKEY_CTX_free(c);
	return ok;
}

/* AES-256-GCM decryption with the ASCII of the protected header as AAD (RFC 7516 5.2). */
static bool gcm_open(const uint8_t cek[32], const uint8_t *iv, const char *aad, size_t aad_len,
		     const uint8_t *ct, size_t ct_len, const uint8_t *tag, uint8_t *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, fl = 0;
	bool ok = c && ct_len <= INT32_MAX && aad_len <= INT32_MAX &&
		  EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GCM_IV_LEN, NULL) == 1 &&
		  EVP_DecryptInit_ex(c, NULL, NULL, cek, iv) == 1 &&
		  EVP_DecryptUpdate(c, NULL, &l, (const uint8_t *)aad, (int)aad_len) == 1 &&
		  EVP_DecryptUpdate(c, pt, &l, ct, (int)ct_len) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, (void *)tag) == 1 &&
		  EVP_DecryptFinal_ex(c, pt + l, &fl) == 1;

	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* JWE decryption is done here on OpenSSL (ECDH, SSKDF, AES-256-GCM) rather than with
 * cjose_jwe_decrypt(): cjose 0.6.2.1 leaks the buffer of the empty encrypted-key part on
 * every ECDH-ES decryption (fixed upstream in 2025, not in Debian 12), a daemon must not.
 * Encryption stays with cjose (no leak there); each side is tested against the other and
 * against npm jose. */
int mgw_jose_decrypt(void *ctx, const struct mgw_jose_keyset *ks, const char *jwe, size_t len,
		     uint8_t **pt, size_t *n, char **cty, struct mgw_jose_result *res,
		     struct mgw_jose_err *e)
{
	void *tmp = talloc_new(NULL);
	struct compact c;
	const struct jose_key *k = NULL;
	json_t *h = NULL;
	EVP_PKEY *peer = NULL;
	uint8_t *iv, *tag, *ct, *apu = NULL, *apv = NULL, *out = NULL, z[32], cek[32];
	size_t l, ct_len, apu_len = 0, apv_len = 0;
	char *ct_type = NULL;
	const char *s;
	bool bad;
	int rc;

	if (!tmp)
		return nomem(e);
	if ((rc = compact_split(ks, jwe, len, 5, &c, e)) != MGW_OK ||
	    (rc = header_parse(c.part[0], c.len[0], &h, e)) != MGW_OK ||
	    (rc = jwe_header(ks, h, &k, e)) != MGW_OK)
		goto out;
	if (!k->pkey) {
		rc = jfail(e, MGW_JOSE_INTERNAL, "", "key %s has no private part", k->kid);
		goto out;
	}
	if (c.len[1] != 0) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "encrypted_key",
			   "must be empty with ECDH-ES (direct key agreement)");
		goto out;
	}
	if (!(iv = b64u_dup(tmp, c.part[2], c.len[2], &l, &bad)) || l != GCM_IV_LEN) {
		rc = !iv && !bad ? nomem(e)
				 : jfail(e, MGW_JOSE_MALFORMED, "iv",
					 "an A256GCM IV is %d bytes of base64url", GCM_IV_LEN);
		goto out;
	}
	if (!(tag = b64u_dup(tmp, c.part[4], c.len[4], &l, &bad)) || l != GCM_TAG_LEN) {
		rc = !tag && !bad ? nomem(e)
				  : jfail(e, MGW_JOSE_MALFORMED, "tag",
					  "an A256GCM tag is %d bytes of base64url", GCM_TAG_LEN);
		goto out;
	}
	if (!(ct = b64u_dup(tmp, c.part[3], c.len[3], &ct_len, &bad))) {
		rc = bad ? jfail(e, MGW_JOSE_MALFORMED, "ciphertext", "not base64url") : nomem(e);
		goto out;
	}
	if (((s = jstr(h, "apu")) && !(apu = b64u_dup(tmp, s, strlen(s), &apu_len, &bad))) ||
	    ((s = jstr(h, "apv")) && !(apv = b64u_dup(tmp, s, strlen(s), &apv_len, &bad)))) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "header", "apu/apv must be base64url");
		goto out;
	}
	if (!(peer = epk_key(json_object_get(h, "epk"))) || !ecdh(k->pkey, peer, z)) {
		rc = jfail(e, MGW_JOSE_MALFORMED, "header.epk",
			   "epk is not a public key on P-256 (32-byte x and y of a curve point)");
		goto out;
	}
	rc = jose_concat_kdf(z, sizeof(z), "A256GCM", apu, apu_len, apv, apv_len, cek, sizeof(cek));
	OPENSSL_cleanse(z, sizeof(z));
	if (rc != MGW_OK) {
		rc = jfail(e, MGW_JOSE_INTERNAL, "", "key derivation failed");
		goto out;
	}
	if (!(out = talloc_size(ctx, ct_len + 16 + 1)) ||
	    (jstr(h, "cty") && !(ct_type = talloc_strdup(ctx, jstr(h, "cty"))))) {
		rc = nomem(e);
		goto out;
	}
	if (!gcm_open(cek, iv, c.part[0], c.len[0], ct, ct_len, tag, out)) {
		OPENSSL_cleanse(out, ct_len);
		rc = jfail(e, MGW_JOSE_DECRYPT_FAILED, "",
			   "does not decrypt with key %s (another key, or tampered)", k->kid);
		goto out;
	}
	out[ct_len] = '\0';
	*pt = out;
	*n = ct_len;
	*cty = ct_type;
	out = NULL;
	ct_type = NULL;
	if (res) {
		memset(res, 0, sizeof(*res));
		res->prot = MGW_PROT_JWE;
		snprintf(res->enc_kid, sizeof(res->enc_kid), "%s", k->kid);
	}
	jok(e);
	rc = MGW_OK;
out:
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_free(peer);
	talloc_free(out);
	talloc_free(ct_type);
	json_decref(h);
	talloc_free(tmp);
	ERR_clear_error();
	return rc;
}

/* ==================================================================================== */
/* replay cache: open addressing on a truncated SHA-256, expired slots reused            */
/* ==================================================================================== */

#define RP_ID 16

struct rp_slot {
	uint8_t id[RP_ID];
	int64_t exp; /* 0: never used; <= now: expired (reusable, but probing goes on) */
};

struct mgw_jose_replay {
	struct rp_slot *v;
	size_t cap;  /* power of two, >= 2 * max */
	size_t used; /* slots ever filled since the last rebuild */
	size_t max;
};

int mgw_jose_replay_alloc(void *ctx, size_t max, struct mgw_jose_replay **out)
{
	struct mgw_jose_replay *r;
	size_t cap = 32;

	if (max == 0 || max > (SIZE_MAX / sizeof(struct rp_slot)) / 4)
		return MGW_E_INVAL;
	while (cap < 2 * max)
		cap *= 2;
	if (!(r = talloc_zero(ctx, struct mgw_jose_replay)) ||
	    !(r->v = talloc_zero_array(r, struct rp_slot, cap))) {
		talloc_free(r);
		return MGW_E_NOMEM;
	}
	r->cap = cap;
	r->max = max;
	*out = r;
	return MGW_OK;
}

void mgw_jose_replay_free(struct mgw_jose_replay *r)
{
	talloc_free(r);
}

static size_t rp_hash(const uint8_t *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h)); /* the id is a hash already */
	return (size_t)(h & (cap - 1));
}

/* Keep only the live ids: *live gets their count. */
static int rp_rebuild(struct mgw_jose_replay *r, int64_t now, size_t *live)
{
	struct rp_slot *v = talloc_zero_array(r, struct rp_slot, r->cap);
	size_t n = 0;

	if (!v)
		return MGW_E_NOMEM;
	for (size_t i = 0; i < r->cap; i++) {
		size_t j;

		if (r->v[i].exp <= now)
			continue;
		for (j = rp_hash(r->v[i].id, r->cap); v[j].exp; j = (j + 1) & (r->cap - 1))
			;
		v[j] = r->v[i];
		n++;
	}
	talloc_free(r->v);
	r->v = v;
	r->used = n;
	*live = n;
	return MGW_OK;
}

int mgw_jose_replay_check(struct mgw_jose_replay *r, const uint8_t id[32], int64_t expires,
			  int64_t now)
{
	struct rp_slot *reuse = NULL;
	size_t i, live;
	int rc;

	if (expires <= now)
		return MGW_OK; /* the time window refuses it from now on */
	for (i = rp_hash(id, r->cap); r->v[i].exp; i = (i + 1) & (r->cap - 1)) {
		if (r->v[i].exp > now) {
			if (CRYPTO_memcmp(r->v[i].id, id, RP_ID) == 0)
				return MGW_E_REPLAY;
		} else if (!reuse) {
			reuse = &r->v[i];
		}
	}
	if (!reuse) {
		if (r->used >= r->max) {
			if ((rc = rp_rebuild(r, now, &live)) != MGW_OK)
				return rc;
			if (live >= r->max)
				return MGW_E_FULL;
			for (i = rp_hash(id, r->cap); r->v[i].exp; i = (i + 1) & (r->cap - 1))
				;
		}
		reuse = &r->v[i];
		r->used++;
	}
	memcpy(reuse->id, id, RP_ID);
	reuse->exp = expires;
	return MGW_OK;
}

/* ==================================================================================== */
/* profiles on messages                                                                 */
/* ==================================================================================== */

int mgw_jose_protect(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_msg *m,
		     int64_t now, char **out, size_t *out_len, enum mgw_prot *prot,
		     struct mgw_jose_err *e)
{
	return mgw_jose_protect_min(ctx, ks, m, MGW_JOSE_TRANSPORT, now, out, out_len, prot, e);
}

int mgw_jose_protect_min(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_msg *m,
			 enum mgw_jose_protection min, int64_t now, char **out, size_t *out_len,
			 enum mgw_prot *prot, struct mgw_jose_err *e)
{
	const struct jose_app *app = NULL;
	enum mgw_jose_protection want = MGW_JOSE_TRANSPORT;
	struct mgw_jose_claims c;
	char *jws = NULL, *jwe = NULL;
	int rc;

	jok(e);
	if (m->dest.type == MGW_ADDR_AS && (app = jose_app_find(ks, m->dest.addr)))
		want = app->prot;
	if (min > want)
		want = min;
	if (want == MGW_JOSE_TRANSPORT) {
		*out = NULL;
		*out_len = 0;
		*prot = MGW_PROT_NONE;
		return MGW_OK;
	}
	memset(&c, 0, sizeof(c));
	c.ori = m->ori;
	c.dest = m->dest;
	snprintf(c.msg_id, sizeof(c.msg_id), "%s", m->msg_id);
	c.has_app_id = m->has_app_id;
	snprintf(c.app_id, sizeof(c.app_id), "%s", m->app_id);
	c.has_payload = m->has_payload;
	c.payload = m->payload;
	c.payload_len = m->payload_len;
	c.iat = now;
	if ((rc = mgw_jose_sign(ctx, ks, &c, &jws, e)) != MGW_OK)
		return rc;
	if (want == MGW_JOSE_SIGN) {
		*out = jws;
		*out_len = strlen(jws);
		*prot = MGW_PROT_JWS;
		return MGW_OK;
	}
	if (!app) {
		talloc_free(jws);
		return jfail(e, MGW_JOSE_NO_KEY, "destAddr",
			     "encrypt needs the destination's key: not an application in security:");
	}
	rc = mgw_jose_encrypt(ctx, ks, app->as, (const uint8_t *)jws, strlen(jws), "JWT", &jwe, e);
	talloc_free(jws);
	if (rc != MGW_OK)
		return rc;
	*out = jwe;
	*out_len = strlen(jwe);
	*prot = MGW_PROT_JWE;
	return MGW_OK;
}

static int mismatch(struct mgw_jose_err *e, const char *where, const char *what)
{
	return jfail(e, MGW_JOSE_CLAIM_MISMATCH, where,
		     "%s in the signed claims differs from the message's", what);
}

int mgw_jose_open(void *ctx, const struct mgw_jose_keyset *ks, struct mgw_jose_replay *rp,
		  const struct mgw_msg *m, int64_t now, uint8_t **out, size_t *out_len,
		  struct mgw_jose_result *res, struct mgw_jose_err *e)
{
	void *tmp = talloc_new(NULL);
	struct mgw_jose_result r, vr;
	struct mgw_jose_claims cl;
	const uint8_t *obj;
	size_t obj_len;
	uint8_t *inner = NULL, *p;
	char *cty = NULL;
	enum shape sh;
	int rc;

	memset(&r, 0, sizeof(r));
	jok(e);
	if (!tmp)
		return nomem(e);
	if (m->ori.type != MGW_ADDR_AS) {
		*out = NULL; /* not from an Application Server: not ours to open */
		*out_len = 0;
		rc = MGW_OK;
		goto done;
	}
	obj = m->has_payload && m->payload ? m->payload : (const uint8_t *)"";
	obj_len = m->has_payload && m->payload ? m->payload_len : 0;
	sh = classify(obj, obj_len);
	if (sh == SHAPE_JWE) {
		size_t n;

		if ((rc = mgw_jose_decrypt(tmp, ks, (const char *)obj, obj_len, &inner, &n, &cty,
					   &r, e)) != MGW_OK)
			goto out;
		if ((cty && (strcasecmp(cty, "JWT") == 0 || strcasecmp(cty, "JWS") == 0)) ||
		    classify(inner, n) == SHAPE_JWS) {
			obj = inner;
			obj_len = n;
			sh = SHAPE_JWS;
		} else if (ks->require_signed) {
			rc = jfail(e, MGW_JOSE_UNSIGNED, "",
				   "encrypted but not signed by AS %.64s (require_signed_downlink)",
				   m->ori.addr);
			goto out;
		} else {
			*out = talloc_steal(ctx, inner);
			*out_len = n;
			inner = NULL; /* the caller's now */
			rc = MGW_OK;
			goto done;
		}
	}
	if (sh == SHAPE_PLAIN) {
		if (ks->require_signed) {
			rc = jfail(e, MGW_JOSE_UNSIGNED, "",
				   "payload from AS %.64s is not signed (require_signed_downlink)",
				   m->ori.addr);
			goto out;
		}
		*out = NULL;
		*out_len = 0;
		rc = MGW_OK;
		goto done;
	}
	if ((rc = mgw_jose_verify(tmp, ks, m->ori.addr, (const char *)obj, obj_len, now, &cl, &vr,
				  e)) != MGW_OK)
		goto out;
	if (!mgw_addr_eq(&cl.ori, &m->ori)) {
		rc = mismatch(e, "claims.oriAddr", "oriAddr");
		goto out;
	}
	if (!mgw_addr_eq(&cl.dest, &m->dest)) {
		rc = mismatch(e, "claims.destAddr", "destAddr");
		goto out;
	}
	if (strcmp(cl.msg_id, m->msg_id) != 0) {
		rc = mismatch(e, "claims.msgId", "msgId");
		goto out;
	}
	if (cl.has_app_id != m->has_app_id || (cl.has_app_id && strcmp(cl.app_id, m->app_id) != 0)) {
		rc = mismatch(e, "claims.appId", "appId");
		goto out;
	}
	if (rp) {
		rc = mgw_jose_replay_check(rp, vr.replay_id, cl.iat + ks->skew + 1, now);
		if (rc == MGW_E_REPLAY) {
			rc = jfail(e, MGW_JOSE_REPLAY, "",
				   "the same signed claims (key %s) were accepted before", vr.kid);
			goto out;
		}
		if (rc != MGW_OK) {
			rc = jfail(e, MGW_JOSE_REPLAY, "",
				   "replay cache full (security.replay_cache): refused");
			goto out;
		}
	}
	if (!(p = talloc_size(ctx, cl.payload_len + 1))) {
		rc = nomem(e);
		goto out;
	}
	if (cl.payload_len)
		memcpy(p, cl.payload, cl.payload_len);
	p[cl.payload_len] = '\0';
	*out = p;
	*out_len = cl.payload_len;
	vr.prot = r.prot == MGW_PROT_JWE ? MGW_PROT_JWE : MGW_PROT_JWS;
	memcpy(vr.enc_kid, r.enc_kid, sizeof(vr.enc_kid));
	r = vr;
	rc = MGW_OK;
done:
	if (res)
		*res = r;
out:
	if (inner)
		OPENSSL_cleanse(inner, talloc_get_size(inner));
	talloc_free(tmp);
	return rc;
}
