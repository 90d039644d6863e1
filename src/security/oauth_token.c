/* msgin5g-gw security: OAuth2 access tokens of the M5S, checked the TS 33.501 13.4.1.1 way
 * (include/mgw/security.h, doc/internals/security.md "Caller authentication").
 *
 * The NRF issues the token as a JWS (RFC 7515 compact, a JWT of RFC 7519) with the claims of
 * TS 29.510 AccessTokenClaims: iss (NRF instance id), sub (consumer instance id), aud (NF
 * type or instance ids of the producer), scope (space-separated service names), exp. The
 * order below matters: the header's alg is checked against the allow-list (ES256, RS256)
 * and a key of exactly that algorithm is chosen before any signature code runs; no claim is
 * read before the signature verified. Every failure names one cause; none quotes the token.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>

#include "jose_int.h"
#include "oauth_int.h"
#include "security_int.h"

#define TOKEN_MAX 8192
#define SIG_B64_MAX 1400 /* an RS256 signature of an 8192-bit key is 1366 characters */
#define OFF(member) offsetof(struct mgw_oauth2_check, member)

static const struct mgw_cfg_item oauth2_items[] = {
	{ "nrf_keys", MGW_CFG_PATH, OFF(nrf_keys), MGW_CFG_F_REQUIRED | MGW_CFG_F_READABLE, 0, 0,
	  NULL, "the NRF's public keys that sign access tokens: JWKS (JSON) or PEM" },
	{ "audience", MGW_CFG_STRLIST, OFF(audience), MGW_CFG_F_REQUIRED, 0, 0, NULL,
	  "aud must name one of these (the gateway's NF instance id or NF type)" },
	{ "scope", MGW_CFG_STRLIST, OFF(scope), 0, 0, 0, "[msgg-l3gdelivery, msgg-n3gdelivery]",
	  "services offered to token callers; the called one must be in the token's scope" },
	{ "issuer", MGW_CFG_STR, OFF(issuer), 0, 0, 256, NULL,
	  "iss must be this (the NRF's NF instance id); absent: any issuer the keys sign for" },
	{ "max_skew", MGW_CFG_DURATION, OFF(max_skew_ms), 0, 0, 600000, "30s",
	  "clock skew allowed on exp, nbf and iat" },
	{ NULL },
};

/* -t finds a bad key file with its FILE:LINE:COL: load it once here and drop it. */
static int oauth2_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_oauth2_check *c = obj;
	struct oauth_keyset *ks = NULL;
	char why[200], sub[256];

	if (!c->audience.n) {
		snprintf(sub, sizeof(sub), "%s.audience", path);
		mgw_cfg_errf(err, obj, sub, "must name at least one audience");
		return -1;
	}
	if (oauth_keys_load(NULL, c->nrf_keys, &ks, why, sizeof(why)) != MGW_OK) {
		snprintf(sub, sizeof(sub), "%s.nrf_keys", path);
		mgw_cfg_errf(err, obj, sub, "%s: %s", c->nrf_keys, why);
		return -1;
	}
	talloc_free(ks);
	return 0;
}

const struct mgw_cfg_schema mgw_oauth2_check_schema = {
	"oauth2", oauth2_items, sizeof(struct mgw_oauth2_check), oauth2_check,
};

/* Signatures already verified, by SHA-256 of the whole token: the M5S sends the same token
 * with every request until it expires, and a signature check costs ~80 us of CPU (ECDSA
 * verify plus OpenSSL 3 fetches) against ~20 us for the rest of a request. Only the
 * signature is remembered: every claim (exp above all) is checked on every request. The key
 * set never changes during the verifier's life, so an entry never goes stale. */
#define SEEN_MAX 256
struct seen_cache {
	uint8_t h[SEEN_MAX][32];
	unsigned n, next;
	EVP_MD *sha256;
};

struct mgw_token_verifier {
	struct oauth_keyset *keys;
	const struct mgw_oauth2_check *cfg; /* borrowed: lives as long as the config */
	struct seen_cache *seen;            /* mutable behind the const verifier */
};

static int seen_destructor(struct seen_cache *c)
{
	EVP_MD_free(c->sha256);
	return 0;
}

static bool token_hash(const struct seen_cache *c, const char *tok, size_t len, uint8_t h[32])
{
	unsigned l = 0;

	return EVP_Digest(tok, len, h, &l, c->sha256, NULL) == 1 && l == 32;
}

static bool seen_has(const struct seen_cache *c, const uint8_t h[32])
{
	bool hit = false;

	for (unsigned i = 0; i < c->n; i++)
		hit |= CRYPTO_memcmp(c->h[i], h, 32) == 0;
	return hit;
}

static void seen_add(struct seen_cache *c, const uint8_t h[32])
{
	memcpy(c->h[c->next], h, 32);
	c->next = (c->next + 1) % SEEN_MAX;
	if (c->n < SEEN_MAX)
		c->n++;
}

static int verifier_alloc(void *ctx, const struct mgw_oauth2_check *cfg, const char *keys,
			  size_t len, struct mgw_token_verifier **out, char *errbuf, size_t errlen)
{
	struct mgw_token_verifier *tv = talloc_zero(ctx, struct mgw_token_verifier);
	char why[200];
	int rc;

	if (!tv || !(tv->seen = talloc_zero(tv, struct seen_cache))) {
		talloc_free(tv);
		return MGW_E_NOMEM;
	}
	talloc_set_destructor(tv->seen, seen_destructor);
	if (!(tv->seen->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
		snprintf(errbuf, errlen, "oauth2: no SHA-256 in OpenSSL");
		talloc_free(tv);
		return MGW_E_INTERNAL;
	}
	tv->cfg = cfg;
	rc = keys ? oauth_keys_parse(tv, keys, len, &tv->keys, why, sizeof(why))
		  : oauth_keys_load(tv, cfg->nrf_keys, &tv->keys, why, sizeof(why));
	if (rc != MGW_OK) {
		snprintf(errbuf, errlen, "oauth2.nrf_keys: %s: %s",
			 keys ? "(buffer)" : cfg->nrf_keys, why);
		talloc_free(tv);
		return rc;
	}
	*out = tv;
	return MGW_OK;
}

int mgw_token_verifier_alloc(void *ctx, const struct mgw_oauth2_check *cfg,
			     struct mgw_token_verifier **out, char *errbuf, size_t errlen)
{
	return verifier_alloc(ctx, cfg, NULL, 0, out, errbuf, errlen);
}

int oauth_verifier_alloc_buf(void *ctx, const struct mgw_oauth2_check *cfg, const char *keys,
			     size_t len, struct mgw_token_verifier **out, char *errbuf,
			     size_t errlen)
{
	return verifier_alloc(ctx, cfg, keys, len, out, errbuf, errlen);
}

void mgw_token_verifier_free(struct mgw_token_verifier *v)
{
	talloc_free(v);
}

/* ---- one check ---- */

struct tok {
	const char *h64, *p64, *s64; /* the three parts, not NUL-terminated */
	size_t hl, pl, sl;
	json_t *hdr, *claims;
	enum oauth_alg alg;
};

static int bad(struct mgw_verdict *v, int rc, const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(struct mgw_verdict *v, int rc, const char *cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sec_verdict_vset(v, rc, cause, fmt, ap);
	va_end(ap);
	return rc;
}

/* base64url part -> JSON object, duplicates refused */
static json_t *part_json(const char *s, size_t n)
{
	uint8_t *b = talloc_size(NULL, n / 4 * 3 + 3);
	size_t len = 0;
	json_t *j = NULL;

	if (b && jose_b64u_decode(s, n, b, &len))
		j = json_loadb((const char *)b, len, JSON_REJECT_DUPLICATES, NULL);
	talloc_free(b);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static int split(struct tok *t, const char *s, size_t n, struct mgw_verdict *v)
{
	const char *d1 = memchr(s, '.', n), *d2;

	if (n > TOKEN_MAX)
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "access token longer than %d bytes",
			   TOKEN_MAX);
	d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - s)))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED",
			   "access token is not a JWS compact serialization (three parts)");
	t->h64 = s;
	t->hl = (size_t)(d1 - s);
	t->p64 = d1 + 1;
	t->pl = (size_t)(d2 - t->p64);
	t->s64 = d2 + 1;
	t->sl = n - (size_t)(t->s64 - s);
	if (!(t->hdr = part_json(t->h64, t->hl)))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED",
			   "token header is not base64url of a JSON object");
	return MGW_OK;
}

/* The allow-list, before anything else is read from the header. */
static int header(struct tok *t, struct mgw_verdict *v)
{
	const char *alg = json_string_value(json_object_get(t->hdr, "alg"));
	const json_t *typ = json_object_get(t->hdr, "typ");

	if (!alg)
		return bad(v, MGW_E_AUTH, "TOKEN_ALG", "token header has no alg");
	if (strcmp(alg, "ES256") == 0)
		t->alg = OAUTH_ES256;
	else if (strcmp(alg, "RS256") == 0)
		t->alg = OAUTH_RS256;
	else
		return bad(v, MGW_E_AUTH, "TOKEN_ALG", "token alg %s is not accepted (ES256, RS256)",
			   jose_shown(alg));
	if (json_object_get(t->hdr, "crit"))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "token header has crit (unsupported)");
	if (typ && (!json_is_string(typ) || (strcasecmp(json_string_value(typ), "JWT") != 0 &&
					     strcasecmp(json_string_value(typ), "at+jwt") != 0)))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "token typ is not JWT");
	if (json_object_get(t->hdr, "kid") && !json_is_string(json_object_get(t->hdr, "kid")))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "token kid is not a string");
	return MGW_OK;
}

/* ES256: the JWS signature is R || S (32 bytes each); OpenSSL verifies DER. */
static unsigned char *es256_der(const uint8_t *rs, size_t n, size_t *dlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int l;

	if (n != 64)
		return NULL;
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(rs, 32, NULL);
	s = BN_bin2bn(rs + 32, 32, NULL);
	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	l = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (l <= 0)
		return NULL;
	*dlen = (size_t)l;
	return der;
}

static bool verify_with(EVP_PKEY *pk, const EVP_MD *sha256, const struct tok *t,
			const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestVerifyInit(md, NULL, sha256, NULL, pk) == 1 &&
		  EVP_DigestVerifyUpdate(md, t->h64, t->hl + 1 + t->pl) == 1 &&
		  EVP_DigestVerifyFinal(md, sig, slen) == 1;

	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* Keys of the token's algorithm (and kid, when both name one) are tried in turn. */
static int signature(const struct mgw_token_verifier *tv, struct tok *t, struct mgw_verdict *v)
{
	const char *kid = json_string_value(json_object_get(t->hdr, "kid"));
	uint8_t raw[SIG_B64_MAX / 4 * 3 + 3];
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t rl = 0, dl = 0, i, tried = 0;
	int rc;

	uint8_t h[32];
	bool hashed;

	if (t->sl == 0 || t->sl > SIG_B64_MAX || !jose_b64u_decode(t->s64, t->sl, raw, &rl))
		return bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "token signature is not base64url");
	hashed = token_hash(tv->seen, t->h64, t->hl + 1 + t->pl + 1 + t->sl, h);
	if (hashed && seen_has(tv->seen, h))
		return MGW_OK;
	if (t->alg == OAUTH_ES256 && !(der = es256_der(raw, rl, &dl)))
		return bad(v, MGW_E_AUTH, "TOKEN_SIGNATURE", "ES256 signature is not 64 bytes");
	sig = der ? der : raw;
	if (!der)
		dl = rl;
	rc = bad(v, MGW_E_AUTH, "TOKEN_SIGNATURE", "signature does not verify with any NRF key");
	for (i = 0; i < tv->keys->n; i++) {
		const struct oauth_key *k = tv->keys->v[i];

		if (k->alg != t->alg || (kid && k->kid[0] && strcmp(kid, k->kid) != 0))
			continue;
		tried++;
		if (verify_with(k->pk, tv->seen->sha256, t, sig, dl)) {
			rc = MGW_OK;
			if (hashed)
				seen_add(tv->seen, h);
			break;
		}
	}
	if (!tried)
		rc = bad(v, MGW_E_AUTH, "TOKEN_KID", "no NRF key for %s%s%s",
			 t->alg == OAUTH_ES256 ? "ES256" : "RS256", kid ? " with kid " : "",
			 kid ? jose_shown(kid) : "");
	OPENSSL_free(der);
	return rc;
}

/* a NumericDate claim: absent (false, *ok true), or a number (true) */
static bool date_claim(const json_t *c, const char *name, int64_t *out, bool *ok)
{
	const json_t *j = json_object_get(c, name);
	double d;

	*ok = !j || json_is_number(j);
	if (!j || !*ok)
		return false;
	d = json_number_value(j);
	*ok = isfinite(d) && d >= 0 && d < 253402300800.0;
	*out = (int64_t)d; /* d >= 0: truncation is floor */
	return *ok;
}

static int times(const struct mgw_token_verifier *tv, const json_t *c, int64_t now,
		 struct mgw_verdict *v)
{
	int64_t skew = tv->cfg->max_skew_ms / 1000, exp = 0, nbf = 0, iat = 0;
	bool ok;

	if (!date_claim(c, "exp", &exp, &ok))
		return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim exp is %s",
			   ok ? "missing" : "not a NumericDate");
	if (now > exp + skew)
		return bad(v, MGW_E_AUTH, "TOKEN_EXPIRED", "token expired %" PRId64 " s ago",
			   now - exp);
	if (date_claim(c, "nbf", &nbf, &ok) && nbf > now + skew)
		return bad(v, MGW_E_AUTH, "TOKEN_NOT_YET_VALID", "nbf is %" PRId64 " s ahead",
			   nbf - now);
	if (!ok)
		return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim nbf is not a NumericDate");
	if (date_claim(c, "iat", &iat, &ok) && iat > now + skew)
		return bad(v, MGW_E_AUTH, "TOKEN_NOT_YET_VALID", "iat is %" PRId64 " s ahead",
			   iat - now);
	if (!ok)
		return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim iat is not a NumericDate");
	return MGW_OK;
}

static bool in_list(const struct mgw_cfg_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* aud: a string or an array of strings (RFC 7519 4.1.3); one must be ours */
static int audience(const struct mgw_token_verifier *tv, const json_t *c, struct mgw_verdict *v)
{
	const json_t *aud = json_object_get(c, "aud"), *e;
	size_t i;

	if (json_is_string(aud))
		return in_list(&tv->cfg->audience, json_string_value(aud))
			       ? MGW_OK
			       : bad(v, MGW_E_AUTH, "TOKEN_AUDIENCE",
				     "aud %s is not one of oauth2.audience",
				     jose_shown(json_string_value(aud)));
	if (!json_is_array(aud) || !json_array_size(aud))
		return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim aud is missing or not a string/array");
	json_array_foreach(aud, i, e) {
		if (!json_is_string(e))
			return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim aud[%zu] is not a string", i);
		if (in_list(&tv->cfg->audience, json_string_value(e)))
			return MGW_OK;
	}
	return bad(v, MGW_E_AUTH, "TOKEN_AUDIENCE", "no aud entry is one of oauth2.audience");
}

/* is service one of the space-separated names of scope? */
static bool scope_has(const char *scope, const char *service)
{
	size_t n = strlen(service);

	for (const char *p = scope; *p;) {
		size_t l = strcspn(p, " ");

		if (l == n && memcmp(p, service, n) == 0)
			return true;
		p += l;
		p += strspn(p, " ");
	}
	return false;
}

static int claims(const struct mgw_token_verifier *tv, const struct tok *t, const char *service,
		  int64_t now, struct mgw_verdict *v)
{
	const json_t *c = t->claims;
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	const char *scope = json_string_value(json_object_get(c, "scope"));
	int rc;

	if (!iss || !sub || !sub[0] || !scope)
		return bad(v, MGW_E_AUTH, "TOKEN_CLAIMS", "claim %s is missing or not a string",
			   !iss ? "iss" : !sub || !sub[0] ? "sub" : "scope");
	if (tv->cfg->issuer && strcmp(iss, tv->cfg->issuer) != 0)
		return bad(v, MGW_E_AUTH, "TOKEN_ISSUER", "iss %s is not oauth2.issuer",
			   jose_shown(iss));
	if ((rc = times(tv, c, now, v)) != MGW_OK || (rc = audience(tv, c, v)) != MGW_OK)
		return rc;
	if (service && !in_list(&tv->cfg->scope, service))
		return bad(v, MGW_E_FORBIDDEN, "TOKEN_SCOPE",
			   "service %s is not offered to token callers (oauth2.scope)", service);
	if (service && !scope_has(scope, service))
		return bad(v, MGW_E_FORBIDDEN, "TOKEN_SCOPE", "scope does not grant %s", service);
	return MGW_OK;
}

int mgw_token_verify(const struct mgw_token_verifier *tv, const char *token, size_t len,
		     const char *service, int64_t now, char *sub, size_t sub_len,
		     struct mgw_verdict *v)
{
	struct tok t;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = split(&t, token, len, v)) != MGW_OK || (rc = header(&t, v)) != MGW_OK ||
	    (rc = signature(tv, &t, v)) != MGW_OK)
		goto out;
	if (!(t.claims = part_json(t.p64, t.pl))) {
		rc = bad(v, MGW_E_AUTH, "TOKEN_MALFORMED", "token claims are not a JSON object");
		goto out;
	}
	if ((rc = claims(tv, &t, service, now, v)) != MGW_OK)
		goto out;
	snprintf(sub, sub_len, "%s", jose_shown(json_string_value(json_object_get(t.claims, "sub"))));
	rc = MGW_OK;
out:
	json_decref(t.hdr);
	json_decref(t.claims);
	return rc;
}
