/* Unit tests of caller authentication (src/security/caller.c) and the OAuth2 access-token
 * check (oauth_token.c, oauth_keys.c; include/mgw/security.h).
 *
 * One EC P-256 and one RSA-2048 key are made at start; their public halves are the NRF's
 * JWKS (and PEM) given to the verifier. Tokens are forged here with OpenSSL directly from
 * header and claims texts, so that every check is reached with a valid signature and
 * refused for its own reason (or accepted at its exact edge). Interop with another JOSE
 * implementation (npm jose) is tests/integration/05-north-oauth2.sh.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>

#include "oauth_int.h"

#define NOW 1800000000LL
#define GW "5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a03"
#define NRF "5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a01"
#define L3G "msgg-l3gdelivery"
#define N3G "msgg-n3gdelivery"

static EVP_PKEY *ec, *rsa, *ec_other;
static char jwks[4096]; /* the NRF's public JWKS: ec (kid e1), rsa (kid r1) */
static char *audience_v[] = { GW, "MSGG" };
static char *scope_v[] = { L3G, N3G };
static struct mgw_oauth2_check cfg = {
	NULL, { 2, audience_v }, { 2, scope_v }, NRF, 30000,
};

/* ---- helpers ---- */

static void b64u(const uint8_t *p, size_t n, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = al[(acc >> bits) & 63];
		}
	}
	if (bits)
		*out++ = al[(acc << (6 - bits)) & 63];
	*out = '\0';
}

static void bn_b64u(EVP_PKEY *pk, const char *param, size_t pad, char *out)
{
	BIGNUM *bn = NULL;
	uint8_t b[600];
	int n;

	/* also called from main(), outside a test: no ck_assert here */
	if (!EVP_PKEY_get_bn_param(pk, param, &bn) ||
	    (n = pad ? BN_bn2binpad(bn, b, (int)pad) : BN_bn2bin(bn, b)) <= 0) {
		fprintf(stderr, "test_oauth: key parameter %s\n", param);
		exit(EXIT_FAILURE);
	}
	b64u(b, (size_t)n, out);
	BN_free(bn);
}

static void make_jwks(void)
{
	char x[64], y[64], n[400], e[16];

	bn_b64u(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
	bn_b64u(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
	bn_b64u(rsa, OSSL_PKEY_PARAM_RSA_N, 0, n);
	bn_b64u(rsa, OSSL_PKEY_PARAM_RSA_E, 0, e);
	snprintf(jwks, sizeof(jwks),
		 "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"use\":\"sig\","
		 "\"alg\":\"ES256\",\"x\":\"%s\",\"y\":\"%s\"},{\"kty\":\"RSA\",\"kid\":\"r1\","
		 "\"n\":\"%s\",\"e\":\"%s\"}]}",
		 x, y, n, e);
}

/* header.claims signed with pk (ES256 as R||S, RS256 PKCS#1 v1.5); pk NULL: no signature */
static char *forge(EVP_PKEY *pk, const char *hdr, const char *claims)
{
	static char tok[12000];
	uint8_t sig[600], rs[64];
	size_t sl = sizeof(sig), l;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	b64u((const uint8_t *)hdr, strlen(hdr), tok);
	l = strlen(tok);
	tok[l++] = '.';
	b64u((const uint8_t *)claims, strlen(claims), tok + l);
	l = strlen(tok);
	if (pk) {
		ck_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1);
		ck_assert(EVP_DigestSign(md, sig, &sl, (const uint8_t *)tok, l) == 1);
	}
	EVP_MD_CTX_free(md);
	tok[l++] = '.';
	tok[l] = '\0';
	if (pk && EVP_PKEY_is_a(pk, "EC")) {
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);

		ck_assert_ptr_nonnull(es);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
		ECDSA_SIG_free(es);
		b64u(rs, 64, tok + l);
	} else if (pk) {
		b64u(sig, sl, tok + l);
	}
	return tok;
}

/* claims with the given members replacing the defaults (a JSON text of members, or "") */
static char *claims(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *claims(const char *fmt, ...)
{
	static char c[4096];
	char extra[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	snprintf(c, sizeof(c), "{%s%s}", extra,
		 extra[0] ? "" : "\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"aud\":[\"" GW "\"],"
				 "\"scope\":\"" L3G " " N3G "\",\"exp\":1800000300");
	return c;
}
#define STD "\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"" L3G " " N3G "\""
#define ES_HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"e1\"}"
#define RS_HDR "{\"alg\":\"RS256\",\"kid\":\"r1\"}"

static struct mgw_token_verifier *verifier(void *mem, const char *keys)
{
	struct mgw_token_verifier *tv = NULL;
	char err[256];

	ck_assert_msg(oauth_verifier_alloc_buf(mem, &cfg, keys, strlen(keys), &tv, err,
					       sizeof(err)) == MGW_OK, "%s", err);
	return tv;
}

/* verify tok for service at NOW: the cause ("OK" on success) */
static const char *check_at(const char *tok, const char *service, int64_t now)
{
	static struct mgw_verdict v;
	void *mem = talloc_new(NULL);
	struct mgw_token_verifier *tv = verifier(mem, jwks);
	char sub[64];
	int rc;

	memset(&v, 0, sizeof(v));
	rc = mgw_token_verify(tv, tok, strlen(tok), service, now, sub, sizeof(sub), &v);
	talloc_free(mem);
	if (rc == MGW_OK) {
		ck_assert_str_eq(sub, "m5s-1");
		return "OK";
	}
	ck_assert_int_eq(rc, strcmp(v.cause, "TOKEN_SCOPE") == 0 ? MGW_E_FORBIDDEN : MGW_E_AUTH);
	ck_assert(!tok[0] || !strstr(v.detail, tok)); /* never the token */
	return v.cause;
}
#define CHECK(tok, service, cause) ck_assert_str_eq(check_at(tok, service, NOW), cause)

/* ---- tokens ---- */

START_TEST(valid_tokens)
{
	CHECK(forge(ec, ES_HDR, claims("%s", "")), L3G, "OK");
	CHECK(forge(rsa, RS_HDR, claims("%s", "")), N3G, "OK");
	CHECK(forge(ec, "{\"alg\":\"ES256\"}", claims("%s", "")), L3G, "OK"); /* no kid */
	CHECK(forge(ec, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", claims("%s", "")), L3G, "OK");
	CHECK(forge(ec, ES_HDR, claims("%s", "")), NULL, "OK"); /* no service: no scope check */
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000000.9")), L3G, "OK");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":[\"x\",\"" GW "\"],\"exp\":1800000001")), L3G,
	      "OK");
}
END_TEST

START_TEST(alg_allow_list)
{
	static const char *algs[] = { "none", "HS256", "es256", "ES384", "PS256", "RS512", "" };
	char h[128], k[64];
	uint8_t mac[32];
	unsigned ml = 0;
	char *tok;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(h, sizeof(h), "{\"alg\":\"%s\",\"kid\":\"e1\"}", algs[i]);
		CHECK(forge(ec, h, claims("%s", "")), L3G, "TOKEN_ALG");
	}
	CHECK(forge(NULL, "{\"alg\":\"none\"}", claims("%s", "")), L3G, "TOKEN_ALG");
	CHECK(forge(ec, "{\"kid\":\"e1\"}", claims("%s", "")), L3G, "TOKEN_ALG");
	CHECK(forge(ec, "{\"alg\":1}", claims("%s", "")), L3G, "TOKEN_ALG");
	/* the confusion attack: HS256 keyed with the NRF's public JWKS text */
	tok = forge(NULL, "{\"alg\":\"HS256\",\"kid\":\"e1\"}", claims("%s", ""));
	HMAC(EVP_sha256(), jwks, (int)strlen(jwks), (const uint8_t *)tok, strlen(tok) - 1, mac, &ml);
	b64u(mac, ml, k);
	memcpy(tok + strlen(tok), k, strlen(k) + 1);
	CHECK(tok, L3G, "TOKEN_ALG");
}
END_TEST

START_TEST(header_rules)
{
	CHECK(forge(ec, "{\"alg\":\"none\",\"alg\":\"ES256\"}", claims("%s", "")), L3G,
	      "TOKEN_MALFORMED"); /* duplicate member */
	CHECK(forge(ec, "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", claims("%s", "")), L3G,
	      "TOKEN_MALFORMED");
	CHECK(forge(ec, "{\"alg\":\"ES256\",\"typ\":\"JOSE\"}", claims("%s", "")), L3G,
	      "TOKEN_MALFORMED");
	CHECK(forge(ec, "{\"alg\":\"ES256\",\"kid\":7}", claims("%s", "")), L3G, "TOKEN_MALFORMED");
	CHECK(forge(ec, "[\"ES256\"]", claims("%s", "")), L3G, "TOKEN_MALFORMED");
	CHECK(forge(ec, "{\"alg\":\"ES256\",\"kid\":\"nope\"}", claims("%s", "")), L3G, "TOKEN_KID");
	/* RS256 naming the EC key's kid: no RSA key of that kid */
	CHECK(forge(rsa, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", claims("%s", "")), L3G, "TOKEN_KID");
}
END_TEST

START_TEST(serialization)
{
	char *tok = forge(ec, ES_HDR, claims("%s", "")), big[9000], copy[12000];
	const char *d1 = strchr(tok, '.');

	CHECK("", L3G, "TOKEN_MALFORMED");
	CHECK("abc", L3G, "TOKEN_MALFORMED");
	CHECK("a.b", L3G, "TOKEN_MALFORMED");
	snprintf(copy, sizeof(copy), "%s.x", tok);
	CHECK(copy, L3G, "TOKEN_MALFORMED"); /* four parts */
	snprintf(copy, sizeof(copy), "%.*s=%s", (int)(d1 - tok), tok, d1);
	CHECK(copy, L3G, "TOKEN_MALFORMED"); /* padding */
	snprintf(copy, sizeof(copy), "%.*s.", (int)(strrchr(tok, '.') - tok), tok);
	CHECK(copy, L3G, "TOKEN_MALFORMED"); /* empty signature */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = big[20] = '.';
	CHECK(big, L3G, "TOKEN_MALFORMED"); /* over 8 KiB */
	/* the longest signature part taken, one more refused; a short ES256 one */
	snprintf(copy, sizeof(copy), "%.*s", (int)(strrchr(tok, '.') + 1 - tok), tok);
	memset(copy + strlen(copy), 'A', 1400);
	copy[strlen(tok) - strlen(strrchr(tok, '.')) + 1 + 1400] = '\0';
	CHECK(copy, L3G, "TOKEN_SIGNATURE");
	memcpy(copy + strlen(copy), "A", 2);
	CHECK(copy, L3G, "TOKEN_MALFORMED");
	snprintf(copy, sizeof(copy), "%.*sAAAA", (int)(strrchr(tok, '.') + 1 - tok), tok);
	CHECK(copy, L3G, "TOKEN_SIGNATURE");
	/* ES256 signature of the wrong length: RSA-signed with an ES256 header */
	CHECK(forge(rsa, ES_HDR, claims("%s", "")), L3G, "TOKEN_SIGNATURE");
	CHECK(forge(ec_other, ES_HDR, claims("%s", "")), L3G, "TOKEN_SIGNATURE");
	/* claims changed after signing */
	tok = forge(ec, ES_HDR, claims("%s", ""));
	snprintf(copy, sizeof(copy), "%s", tok);
	{
		char *p = strchr(copy, '.') + 1;

		p[3] = p[3] == 'A' ? 'B' : 'A';
	}
	CHECK(copy, L3G, "TOKEN_SIGNATURE");
}
END_TEST

START_TEST(claim_rules)
{
	CHECK(forge(ec, ES_HDR, "[1]"), L3G, "TOKEN_MALFORMED");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"exp\":1,\"exp\":1800000300,\"aud\":\"MSGG\"")), L3G,
	      "TOKEN_MALFORMED");
	CHECK(forge(ec, ES_HDR, claims("\"sub\":\"m5s-1\",\"scope\":\"" L3G "\",\"aud\":\"MSGG\","
				       "\"exp\":1800000300")),
	      L3G, "TOKEN_CLAIMS"); /* no iss */
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"\",\"scope\":\"" L3G "\","
				       "\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "TOKEN_CLAIMS"); /* empty sub */
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":[\"" L3G "\"],"
				       "\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "TOKEN_CLAIMS"); /* scope not a string */
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\"")), L3G, "TOKEN_CLAIMS"); /* no exp */
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":\"1800000300\"")), L3G,
	      "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":-5")), L3G, "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1e300")), L3G, "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":[],\"exp\":1800000300")), L3G, "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":[1],\"exp\":1800000300")), L3G, "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000300,\"nbf\":\"x\"")), L3G,
	      "TOKEN_CLAIMS");
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"nrf-evil\",\"sub\":\"m5s-1\",\"scope\":\"" L3G "\","
				       "\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "TOKEN_ISSUER");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"AMF\",\"exp\":1800000300")), L3G,
	      "TOKEN_AUDIENCE");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":[\"AMF\",\"SMF\"],\"exp\":1800000300")), L3G,
	      "TOKEN_AUDIENCE");
}
END_TEST

START_TEST(time_window)
{
	/* max_skew 30 s: expired once now > exp + 30; nbf/iat too early once > now + 30 */
	ck_assert_str_eq(check_at(forge(ec, ES_HDR, claims("%s", "")), L3G, 1800000330), "OK");
	ck_assert_str_eq(check_at(forge(ec, ES_HDR, claims("%s", "")), L3G, 1800000331),
			 "TOKEN_EXPIRED");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000300,\"nbf\":1800000030")),
	      L3G, "OK");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000300,\"nbf\":1800000031")),
	      L3G, "TOKEN_NOT_YET_VALID");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000300,\"iat\":1800000031")),
	      L3G, "TOKEN_NOT_YET_VALID");
	CHECK(forge(ec, ES_HDR, claims(STD ",\"aud\":\"MSGG\",\"exp\":1800000300,\"iat\":1700000000")),
	      L3G, "OK");
}
END_TEST

START_TEST(scope_rules)
{
	CHECK(forge(ec, ES_HDR, claims("%s", "")), "msgg-bgdelivery", "TOKEN_SCOPE"); /* not offered */
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"" N3G "\","
				       "\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "TOKEN_SCOPE");
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"" L3G "x "
				       N3G "\",\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "TOKEN_SCOPE"); /* a prefix is not the name */
	CHECK(forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"  " N3G
				       "   " L3G "  \",\"aud\":\"MSGG\",\"exp\":1800000300")),
	      L3G, "OK");
}
END_TEST

/* a verified signature is remembered; the claims are still checked on every call */
START_TEST(seen_cache)
{
	void *mem = talloc_new(NULL);
	struct mgw_token_verifier *tv = verifier(mem, jwks);
	struct mgw_verdict v;
	char sub[64], copy[12000];
	const char *tok;

	tok = forge(ec, ES_HDR, claims("\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"" L3G "\","
				       "\"aud\":\"MSGG\",\"exp\":1800000300"));
	snprintf(copy, sizeof(copy), "%s", tok);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(mgw_token_verify(tv, copy, strlen(copy), L3G, NOW, sub, sizeof(sub),
						  &v), MGW_OK);
	ck_assert_int_eq(mgw_token_verify(tv, copy, strlen(copy), L3G, NOW + 400, sub, sizeof(sub),
					  &v), MGW_E_AUTH);
	ck_assert_str_eq(v.cause, "TOKEN_EXPIRED");
	ck_assert_int_eq(mgw_token_verify(tv, copy, strlen(copy), N3G, NOW, sub, sizeof(sub), &v),
			 MGW_E_FORBIDDEN);
	ck_assert_str_eq(v.cause, "TOKEN_SCOPE");
	copy[strlen(copy) - 2] = copy[strlen(copy) - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(mgw_token_verify(tv, copy, strlen(copy), L3G, NOW, sub, sizeof(sub), &v),
			 MGW_E_AUTH);
	ck_assert_str_eq(v.cause, "TOKEN_SIGNATURE");
	/* more distinct tokens than the cache holds: each still verifies */
	for (int i = 0; i < 300; i++) {
		char c[512];

		snprintf(c, sizeof(c), "{\"iss\":\"" NRF "\",\"sub\":\"m5s-1\",\"scope\":\"" L3G
			 "\",\"aud\":\"MSGG\",\"exp\":%d}", 1800000300 + i);
		tok = forge(ec, ES_HDR, c);
		ck_assert_int_eq(mgw_token_verify(tv, tok, strlen(tok), L3G, NOW, sub, sizeof(sub),
						  &v), MGW_OK);
	}
	talloc_free(mem);
}
END_TEST

/* ---- key files ---- */

static const char *load(const char *text)
{
	static char why[256];
	struct oauth_keyset *ks = NULL;

	why[0] = '\0';
	if (oauth_keys_parse(NULL, text, strlen(text), &ks, why, sizeof(why)) == MGW_OK) {
		talloc_free(ks);
		return "OK";
	}
	return why;
}
#define REFUSED(text, part)                                                                  \
	do {                                                                                 \
		const char *w_ = load(text);                                                 \
		ck_assert_msg(strstr(w_, part), "'%s' does not say '%s'", w_, part);          \
	} while (0)

START_TEST(key_files)
{
	char pem[2048], x[64], y[64], buf[4096];
	BIO *b = BIO_new(BIO_s_mem());
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	int n;

	ck_assert_str_eq(load(jwks), "OK");
	ck_assert(PEM_write_bio_PUBKEY(b, ec) == 1 && PEM_write_bio_PUBKEY(b, rsa) == 1);
	n = BIO_read(b, pem, sizeof(pem) - 1);
	pem[n] = '\0';
	ck_assert_str_eq(load(pem), "OK");
	(void)BIO_reset(b);
	ck_assert(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL) == 1);
	n = BIO_read(b, pem, sizeof(pem) - 1);
	pem[n] = '\0';
	REFUSED(pem, "never a private key");
	(void)BIO_reset(b);
	ck_assert(PEM_write_bio_PUBKEY(b, weak) == 1);
	n = BIO_read(b, pem, sizeof(pem) - 1);
	pem[n] = '\0';
	REFUSED(pem, "1024 bits");
	(void)BIO_reset(b);
	ck_assert(PEM_write_bio_PUBKEY(b, p384) == 1);
	n = BIO_read(b, pem, sizeof(pem) - 1);
	pem[n] = '\0';
	REFUSED(pem, "not on P-256");
	BIO_free(b);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(p384);

	bn_b64u(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
	bn_b64u(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
#define EC_JWK(extra) "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"" extra "}]}"
	snprintf(buf, sizeof(buf), EC_JWK(""), x, y);
	ck_assert_str_eq(load(buf), "OK");
	snprintf(buf, sizeof(buf), EC_JWK(",\"use\":\"enc\""), x, y);
	REFUSED(buf, "is not sig");
	snprintf(buf, sizeof(buf), EC_JWK(",\"alg\":\"RS256\""), x, y);
	REFUSED(buf, "alg RS256");
	snprintf(buf, sizeof(buf), EC_JWK(",\"d\":\"AAAA\""), x, y);
	REFUSED(buf, "private or symmetric");
	snprintf(buf, sizeof(buf), EC_JWK(""), x, x); /* not on the curve */
	REFUSED(buf, "not a valid EC public key");
	snprintf(buf, sizeof(buf), EC_JWK(""), "AAAA", y);
	REFUSED(buf, "not a valid EC public key");
	REFUSED("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", "private or symmetric");
	REFUSED("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}", "kty OKP");
	REFUSED("{\"keys\":[{\"crv\":\"P-256\"}]}", "no kty");
	REFUSED("{\"keys\":{}}", "no \"keys\" array");
	REFUSED("{\"keys\":[]}", "no public key");
	REFUSED("{\"keys\":[", "not JSON");
	REFUSED("garbage", "no public key");
	REFUSED("", "no public key");
}
END_TEST

/* ---- the caller decision ---- */

static const char *decide(const struct mgw_caller_policy *p, const char *cn, const char *auth,
			  char *who)
{
	static struct mgw_verdict v;
	struct mgw_caller_creds c = { cn, auth, L3G, NOW };
	struct mgw_identity id;
	int rc;

	memset(&id, 0, sizeof(id));
	rc = mgw_security_caller(p, &c, &id, &v);
	if (who)
		snprintf(who, MGW_ID_MAX + 1, "%s", id.value);
	ck_assert_int_eq(rc, v.rc);
	return rc == MGW_OK ? "OK" : v.cause;
}

START_TEST(caller_policy)
{
	void *mem = talloc_new(NULL);
	char *names[] = { "m5s-sim" }, who[MGW_ID_MAX + 1], auth[12100];
	struct mgw_cfg_strlist allowed = { 1, names }, none = { 0, NULL };
	struct mgw_caller_policy p;

	memset(&p, 0, sizeof(p));
	ck_assert_str_eq(decide(&p, "m5s-sim", "Bearer x", NULL), "NO_CALLER_AUTH");
	p.insecure = true;
	ck_assert_str_eq(decide(&p, NULL, NULL, who), "OK");
	ck_assert_str_eq(who, "insecure");

	memset(&p, 0, sizeof(p));
	p.require_cert = true;
	p.allowed_clients = &none;
	ck_assert_str_eq(decide(&p, NULL, NULL, NULL), "NO_CLIENT_CERT");
	ck_assert_str_eq(decide(&p, "device-1", NULL, who), "OK");
	ck_assert_str_eq(who, "device-1");
	p.allowed_clients = &allowed;
	ck_assert_str_eq(decide(&p, "device-1", NULL, NULL), "CLIENT_NOT_ALLOWED");
	ck_assert_str_eq(decide(&p, "m5s-sim", NULL, NULL), "OK");

	memset(&p, 0, sizeof(p));
	p.static_token = "tok-123";
	ck_assert_str_eq(decide(&p, NULL, NULL, NULL), "TOKEN_MISSING");
	ck_assert_str_eq(decide(&p, NULL, "Basic dG9rLTEyMw==", NULL), "TOKEN_MISSING");
	ck_assert_str_eq(decide(&p, NULL, "Bearer tok-12", NULL), "TOKEN_INVALID");
	ck_assert_str_eq(decide(&p, NULL, "Bearer tok-1234", NULL), "TOKEN_INVALID");
	ck_assert_str_eq(decide(&p, NULL, "Bearer tok-123 x", NULL), "TOKEN_MISSING");
	ck_assert_str_eq(decide(&p, NULL, "bearer tok-123", who), "OK");
	ck_assert_str_eq(who, "bearer");

	/* certificate and token both required; the certificate names the caller */
	memset(&p, 0, sizeof(p));
	p.require_cert = true;
	p.oauth2 = verifier(mem, jwks);
	snprintf(auth, sizeof(auth), "Bearer %s", forge(ec, ES_HDR, claims("%s", "")));
	ck_assert_str_eq(decide(&p, NULL, auth, NULL), "NO_CLIENT_CERT");
	ck_assert_str_eq(decide(&p, "m5s-sim", NULL, NULL), "TOKEN_MISSING");
	ck_assert_str_eq(decide(&p, "m5s-sim", auth, who), "OK");
	ck_assert_str_eq(who, "m5s-sim");
	p.require_cert = false;
	ck_assert_str_eq(decide(&p, NULL, auth, who), "OK");
	ck_assert_str_eq(who, "m5s-1"); /* the token's sub */
	snprintf(auth, sizeof(auth), "Bearer %s", forge(ec_other, ES_HDR, claims("%s", "")));
	ck_assert_str_eq(decide(&p, NULL, auth, NULL), "TOKEN_SIGNATURE");
	talloc_free(mem);
}
END_TEST

static Suite *oauth_suite(void)
{
	Suite *s = suite_create("oauth");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, valid_tokens);
	tcase_add_test(tc, alg_allow_list);
	tcase_add_test(tc, header_rules);
	tcase_add_test(tc, serialization);
	tcase_add_test(tc, claim_rules);
	tcase_add_test(tc, time_window);
	tcase_add_test(tc, scope_rules);
	tcase_add_test(tc, seen_cache);
	tcase_add_test(tc, key_files);
	tcase_add_test(tc, caller_policy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(oauth_suite());
	int failed;

	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!ec || !ec_other || !rsa)
		return EXIT_FAILURE;
	make_jwks();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec_other);
	EVP_PKEY_free(rsa);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
