/* Unit tests of the JOSE profiles and key set (src/security/jose.c, keys.c,
 * include/mgw/jose.h).
 *
 * Each test makes two key directories with mgw_jose_key_rotate(): A is the gateway's, B
 * another party's. The key set under test holds A's private keys and two applications:
 * "as-1" whose JWKS is A's own public JWKS (so the gateway's key can stand in for an AS
 * and every round trip closes), and "as-b" with B's public keys. Objects the gateway would
 * never make (alg none, HS256, crit, a signature over arbitrary claims) are forged here
 * with OpenSSL directly from A's key files, so each check is reached with a valid
 * signature and refused for its own reason. Interop with another JOSE library is
 * tests/integration/06-jose-interop.sh.
 */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/jose.h>
#include <mgw/msg.h>

#include "jose_int.h" /* jose_concat_kdf */

#define NOW 1800000000LL

static void *ctx; /* each test's allocations: empty again at teardown */
static void *fix; /* the fixture: keys, JWKS texts, the key set */
static char dir_a[64], dir_b[64];
static char sig_a[MGW_JOSE_KID_MAX + 1], enc_a[MGW_JOSE_KID_MAX + 1];
static char sig_b[MGW_JOSE_KID_MAX + 1], enc_b[MGW_JOSE_KID_MAX + 1];
static char *jwks_a, *jwks_b; /* public JWKS of A and B */
static char *secret_d[2];     /* base64url of the private scalars of A's keys */
static struct mgw_jose_keyset *ks;

/* ---- helpers ---- */

static char *b64u(void *mem, const uint8_t *p, size_t n)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *s = talloc_size(mem, n * 4 / 3 + 4), *o = s;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*o++ = al[(acc >> bits) & 63];
		}
	}
	if (bits)
		*o++ = al[(acc << (6 - bits)) & 63];
	*o = '\0';
	return s;
}

static char *b64s(void *mem, const char *s)
{
	return b64u(mem, (const uint8_t *)s, strlen(s));
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[600];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static char *export_dir(const char *dir)
{
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;
	char *json;

	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	ck_assert_msg(mgw_jose_keyset_add_dir(k, dir, &err) == MGW_OK, "%s", err.msg);
	ck_assert_int_eq(mgw_jose_keyset_export(ctx, k, &json), MGW_OK);
	mgw_jose_keyset_free(k);
	return json;
}

static EVP_PKEY *load_pkey(const char *dir, const char *kid, const char *use)
{
	char p[256];
	FILE *f;
	EVP_PKEY *pk;

	snprintf(p, sizeof(p), "%s/%s.%s.pem", dir, kid, use);
	if (!(f = fopen(p, "r"))) {
		snprintf(p, sizeof(p), "%s/%s.%s.retired.pem", dir, kid, use);
		f = fopen(p, "r");
	}
	ck_assert_ptr_nonnull(f);
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(pk);
	return pk;
}

static char *priv_d(const char *dir, const char *kid, const char *use)
{
	EVP_PKEY *pk = load_pkey(dir, kid, use);
	BIGNUM *d = NULL;
	uint8_t b[32];
	char *s;

	ck_assert(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d));
	ck_assert_int_eq(BN_bn2binpad(d, b, 32), 32);
	s = b64u(ctx, b, 32);
	BN_clear_free(d);
	EVP_PKEY_free(pk);
	return s;
}

/* Neither a key's private scalar nor its PEM body ever appears in a text. */
static void no_secret(const char *text)
{
	for (int i = 0; i < 2; i++)
		ck_assert_msg(!strstr(text, secret_d[i]), "key material in: %s", text);
	ck_assert_msg(!strstr(text, "-----BEGIN"), "key material in: %s", text);
}

/* A JWS over exactly these header and claims texts, signed ES256 with A's signing key
 * (key: "sig" with kid, or use the retired file): what an attacker cannot make, so that
 * every later check is reached. */
static char *forge(const char *hdr, const char *claims)
{
	EVP_PKEY *pk = load_pkey(dir_a, sig_a, "sig");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *input = talloc_asprintf(ctx, "%s.%s", b64s(ctx, hdr), b64s(ctx, claims));
	uint8_t der[128], raw[64];
	const uint8_t *q = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	ck_assert(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1);
	ck_assert(EVP_DigestSign(md, der, &dl, (const uint8_t *)input, strlen(input)) == 1);
	ck_assert_ptr_nonnull(es = d2i_ECDSA_SIG(NULL, &q, (long)dl));
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return talloc_asprintf(ctx, "%s.%s", input, b64u(ctx, raw, 64));
}

static char *claims_json(const char *ori, const char *dest, const char *extra, long long iat)
{
	return talloc_asprintf(ctx,
			       "{\"oriAddr\":{\"addrType\":\"%s\",\"addr\":\"%s\"},"
			       "\"destAddr\":{\"addrType\":\"%s\",\"addr\":\"%s\"},"
			       "\"msgId\":\"m1\",\"payload\":\"hi\",\"iat\":%lld%s}",
			       ori, ori[0] == 'A' ? "as-1" : "ue-1", dest,
			       dest[0] == 'A' ? "as-1" : "ue-1", iat, extra ? extra : "");
}

static char *hdr_json(const char *alg, const char *extra)
{
	return talloc_asprintf(ctx, "{\"alg\":\"%s\",\"kid\":\"%s\"%s}", alg, sig_a,
			       extra ? extra : "");
}

static struct mgw_jose_claims claims(const char *ori, const char *dest, const char *payload)
{
	struct mgw_jose_claims c;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(mgw_addr_parse(&c.ori, ori), MGW_OK);
	ck_assert_int_eq(mgw_addr_parse(&c.dest, dest), MGW_OK);
	snprintf(c.msg_id, sizeof(c.msg_id), "m1");
	if (payload) {
		c.has_payload = true;
		c.payload = (const uint8_t *)payload;
		c.payload_len = strlen(payload);
	}
	c.iat = NOW;
	return c;
}

static struct mgw_msg *msg(const char *ori, const char *dest, const char *app_id,
			   const char *payload)
{
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);

	ck_assert_int_eq(mgw_addr_parse(&m->ori, ori), MGW_OK);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, dest), MGW_OK);
	snprintf(m->msg_id, sizeof(m->msg_id), "m1");
	if (app_id) {
		m->has_app_id = true;
		snprintf(m->app_id, sizeof(m->app_id), "%s", app_id);
	}
	if (payload) {
		ck_assert_int_eq(mgw_msg_set_payload(m, payload, strlen(payload)), MGW_OK);
		m->has_payload = true;
	}
	return m;
}

/* Verify with peer (NULL: the gateway's keys) and expect a cause. */
static void verify_expect(const char *what, const char *peer, const char *jws,
			  enum mgw_jose_cause want)
{
	struct mgw_jose_claims c;
	struct mgw_jose_err e;
	int rc = mgw_jose_verify(ctx, ks, peer, jws, strlen(jws), NOW, &c, NULL, &e);

	if (want == MGW_JOSE_OK) {
		ck_assert_msg(rc == MGW_OK, "%s: refused %s at %s: %s", what,
			      mgw_jose_cause_name(e.cause), e.where, e.text);
		talloc_free((void *)c.payload);
		return;
	}
	ck_assert_msg(rc != MGW_OK && e.cause == want, "%s: got %s (%s: %s), want %s", what,
		      rc == MGW_OK ? "OK" : mgw_jose_cause_name(e.cause), e.where, e.text,
		      mgw_jose_cause_name(want));
	ck_assert_int_eq(rc, mgw_jose_cause_rc(want));
	no_secret(e.text);
}

static void open_expect(const char *what, struct mgw_jose_replay *rp, const struct mgw_msg *m,
			enum mgw_jose_cause want, const char *payload)
{
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	uint8_t *out = NULL;
	size_t n = 0;
	int rc = mgw_jose_open(ctx, ks, rp, m, NOW, &out, &n, &r, &e);

	if (want != MGW_JOSE_OK) {
		ck_assert_msg(rc != MGW_OK && e.cause == want, "%s: got %s (%s: %s), want %s",
			      what, rc == MGW_OK ? "OK" : mgw_jose_cause_name(e.cause), e.where,
			      e.text, mgw_jose_cause_name(want));
		no_secret(e.text);
		return;
	}
	ck_assert_msg(rc == MGW_OK, "%s: refused %s at %s: %s", what, mgw_jose_cause_name(e.cause),
		      e.where, e.text);
	if (!payload) {
		ck_assert_ptr_null(out);
	} else {
		ck_assert_ptr_nonnull(out);
		ck_assert_uint_eq(n, strlen(payload));
		ck_assert_str_eq((char *)out, payload);
	}
	talloc_free(out);
}

static struct mgw_jose_keyset *load_set(void)
{
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;

	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	ck_assert_msg(mgw_jose_keyset_add_dir(k, dir_a, &err) == MGW_OK, "%s", err.msg);
	ck_assert_msg(mgw_jose_keyset_add_app_jwks(k, "as-1", MGW_JOSE_SIGN, jwks_a,
						   strlen(jwks_a), "as-1.jwks", &err) == MGW_OK,
		      "%s", err.msg);
	ck_assert_msg(mgw_jose_keyset_add_app_jwks(k, "as-b", MGW_JOSE_ENCRYPT, jwks_b,
						   strlen(jwks_b), "as-b.jwks", &err) == MGW_OK,
		      "%s", err.msg);
	return k;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void setup(void)
{
	struct mgw_cfg_err err;

	ctx = talloc_named_const(NULL, 0, "test");
	fix = talloc_named_const(NULL, 0, "fixture");
	snprintf(dir_a, sizeof(dir_a), "/tmp/test_jose_a.XXXXXX");
	snprintf(dir_b, sizeof(dir_b), "/tmp/test_jose_b.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir_a));
	ck_assert_ptr_nonnull(mkdtemp(dir_b));
	ck_assert_msg(mgw_jose_key_rotate(dir_a, NOW, sig_a, enc_a, sizeof(sig_a), &err) == MGW_OK,
		      "%s", err.msg);
	ck_assert_msg(mgw_jose_key_rotate(dir_b, NOW, sig_b, enc_b, sizeof(sig_b), &err) == MGW_OK,
		      "%s", err.msg);
	jwks_a = export_dir(dir_a);
	jwks_b = export_dir(dir_b);
	secret_d[0] = priv_d(dir_a, sig_a, "sig");
	secret_d[1] = priv_d(dir_a, enc_a, "enc");
	ks = load_set();
	talloc_steal(fix, jwks_a);
	talloc_steal(fix, jwks_b);
	talloc_steal(fix, secret_d[0]);
	talloc_steal(fix, secret_d[1]);
	talloc_steal(fix, ks);
}

static void teardown(void)
{
	rm_dir(dir_a);
	rm_dir(dir_b);
	talloc_free(fix);
	fix = NULL;
	ck_assert_int_eq(talloc_total_blocks(ctx), 1);
	talloc_free(ctx);
	ctx = NULL;
}

/* ---- causes ---- */

START_TEST(cause_table)
{
	for (int c = MGW_JOSE_OK; c <= MGW_JOSE_INTERNAL; c++) {
		ck_assert_str_ne(mgw_jose_cause_name((enum mgw_jose_cause)c), "UNKNOWN");
		ck_assert_int_eq(mgw_jose_cause_rc((enum mgw_jose_cause)c) == MGW_OK,
				 c == MGW_JOSE_OK);
	}
	ck_assert_str_eq(mgw_jose_cause_name(MGW_JOSE_ALG_NOT_ALLOWED), "ALG_NOT_ALLOWED");
	ck_assert_int_eq(mgw_jose_cause_rc(MGW_JOSE_BAD_SIGNATURE), MGW_E_CRYPTO);
	ck_assert_int_eq(mgw_jose_cause_rc(MGW_JOSE_EXPIRED), MGW_E_EXPIRED);
	ck_assert_int_eq(mgw_jose_cause_rc(MGW_JOSE_REPLAY), MGW_E_REPLAY);
	ck_assert_int_eq(mgw_jose_cause_rc(MGW_JOSE_UNSIGNED), MGW_E_POLICY);
	ck_assert_str_eq(mgw_jose_cause_name((enum mgw_jose_cause)99), "UNKNOWN");
}
END_TEST

/* ---- JWS ---- */

START_TEST(sign_verify_round_trip)
{
	struct mgw_jose_claims c = claims("UE:ue-1", "AS:as-1", "h\xc3\xa9llo \xe2\x82\xac \"q\""),
			       out;
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	char *jws;

	c.has_app_id = true;
	snprintf(c.app_id, sizeof(c.app_id), "app-7");
	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &jws, &e), MGW_OK);
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, jws, strlen(jws), NOW + 10, &out, &r, &e),
			 MGW_OK);
	ck_assert(mgw_addr_eq(&out.ori, &c.ori));
	ck_assert(mgw_addr_eq(&out.dest, &c.dest));
	ck_assert_str_eq(out.msg_id, "m1");
	ck_assert(out.has_app_id);
	ck_assert_str_eq(out.app_id, "app-7");
	ck_assert_uint_eq(out.payload_len, c.payload_len);
	ck_assert(memcmp(out.payload, c.payload, c.payload_len) == 0);
	ck_assert_int_eq(out.iat, NOW);
	ck_assert_uint_eq(strlen(out.jti), 22); /* 128 random bits */
	ck_assert_str_eq(r.kid, sig_a);
	ck_assert_int_eq(r.prot, MGW_PROT_JWS);
	/* the same claims verify as those of the AS whose JWKS holds the key */
	verify_expect("as peer", "as-1", jws, MGW_JOSE_OK);
	/* but not under another AS's keys */
	verify_expect("other peer", "as-b", jws, MGW_JOSE_UNKNOWN_KID);
	verify_expect("unknown peer", "as-x", jws, MGW_JOSE_UNKNOWN_KID);
	talloc_free((void *)out.payload);
	talloc_free(jws);
}
END_TEST

START_TEST(header_is_what_contract_says)
{
	struct mgw_jose_claims c = claims("UE:ue-1", "AS:as-1", "x");
	struct mgw_jose_err e;
	char *jws, *want;

	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &jws, &e), MGW_OK);
	want = b64s(ctx, hdr_json("ES256", ",\"typ\":\"msgin5g+jwt\""));
	ck_assert_msg(strncmp(jws, want, strlen(want)) == 0 && jws[strlen(want)] == '.',
		      "header %s", jws);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(alg_none_refused)
{
	char *cl = claims_json("UE", "AS", NULL, NOW);
	char *none = talloc_asprintf(ctx, "%s.%s.", b64s(ctx, "{\"alg\":\"none\"}"), b64s(ctx, cl));
	char *none_kid = talloc_asprintf(ctx, "%s.%s.", b64s(ctx, hdr_json("none", NULL)),
					 b64s(ctx, cl));

	verify_expect("alg none", NULL, none, MGW_JOSE_ALG_NOT_ALLOWED);
	verify_expect("alg none with kid", NULL, none_kid, MGW_JOSE_ALG_NOT_ALLOWED);
	/* with a real signature under a header that says none: still refused */
	verify_expect("alg none signed", NULL, forge(hdr_json("none", NULL), cl),
		      MGW_JOSE_ALG_NOT_ALLOWED);
	verify_expect("alg None", NULL, forge(hdr_json("None", NULL), cl),
		      MGW_JOSE_ALG_NOT_ALLOWED);
	talloc_free_children(ctx);
}
END_TEST

/* HS256 keyed with the public key the verifier holds (the classic algorithm confusion):
 * refused on the header, before any key is used. */
START_TEST(alg_confusion_hs256)
{
	char *cl = claims_json("UE", "AS", NULL, NOW);
	const char *secrets[] = { jwks_a, "" };

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		char *input = talloc_asprintf(ctx, "%s.%s", b64s(ctx, hdr_json("HS256", NULL)),
					      b64s(ctx, cl));
		uint8_t mac[32];
		unsigned int ml = 0;

		HMAC(EVP_sha256(), secrets[i], (int)strlen(secrets[i]), (const uint8_t *)input,
		     strlen(input), mac, &ml);
		verify_expect("HS256", NULL,
			      talloc_asprintf(ctx, "%s.%s", input, b64u(ctx, mac, ml)),
			      MGW_JOSE_ALG_NOT_ALLOWED);
	}
	/* and every other algorithm a header may name */
	{
		const char *algs[] = { "HS384", "HS512", "RS256", "PS256", "ES384", "ES512",
				       "EdDSA", "es256", "ES256 ", "" };

		for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
			verify_expect(algs[i], NULL, forge(hdr_json(algs[i], NULL), cl),
				      MGW_JOSE_ALG_NOT_ALLOWED);
	}
	verify_expect("alg a number", NULL, forge("{\"alg\":256,\"kid\":\"x\"}", cl),
		      MGW_JOSE_MALFORMED);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(forged_headers)
{
	char *cl = claims_json("UE", "AS", NULL, NOW);
	static const struct {
		const char *extra;
		enum mgw_jose_cause want;
	} cases[] = {
		{ NULL, MGW_JOSE_OK },
		{ ",\"typ\":\"JWT\"", MGW_JOSE_OK },
		{ ",\"typ\":\"application/msgin5g+jwt\"", MGW_JOSE_OK },
		{ ",\"typ\":\"at+jwt\"", MGW_JOSE_UNSUPPORTED },
		{ ",\"typ\":7", MGW_JOSE_UNSUPPORTED },
		{ ",\"crit\":[\"exp\"]", MGW_JOSE_UNSUPPORTED },
		{ ",\"b64\":false", MGW_JOSE_UNSUPPORTED },
		{ ",\"jwk\":{\"kty\":\"EC\"}", MGW_JOSE_UNSUPPORTED },
		{ ",\"jku\":\"https://evil.example/jwks\"", MGW_JOSE_UNSUPPORTED },
		{ ",\"x5c\":[\"MII\"]", MGW_JOSE_UNSUPPORTED },
		{ ",\"alg\":\"ES256\"", MGW_JOSE_MALFORMED }, /* duplicate member */
		{ ",\"unknown\":1", MGW_JOSE_OK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		verify_expect(cases[i].extra ? cases[i].extra : "plain", NULL,
			      forge(hdr_json("ES256", cases[i].extra), cl), cases[i].want);
	verify_expect("no kid", NULL, forge("{\"alg\":\"ES256\"}", cl), MGW_JOSE_MALFORMED);
	verify_expect("kid not a string", NULL, forge("{\"alg\":\"ES256\",\"kid\":1}", cl),
		      MGW_JOSE_MALFORMED);
	verify_expect("unknown kid", NULL, forge("{\"alg\":\"ES256\",\"kid\":\"nope\"}", cl),
		      MGW_JOSE_UNKNOWN_KID);
	/* the encryption key's kid does not sign */
	verify_expect("enc kid", NULL,
		      forge(talloc_asprintf(ctx, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", enc_a), cl),
		      MGW_JOSE_UNKNOWN_KID);
	/* values from the object reach error texts only when printable */
	{
		char *j = forge("{\"alg\":\"ES256\",\"kid\":\"x\\nFAKE LOG LINE\"}", cl);
		struct mgw_jose_claims out;
		struct mgw_jose_err e;

		ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, j, strlen(j), NOW, &out, NULL, &e),
				 MGW_E_CRYPTO);
		ck_assert_int_eq(e.cause, MGW_JOSE_UNKNOWN_KID);
		ck_assert_msg(strstr(e.text, "(unprintable)") && !strchr(e.text, '\n'), "%s", e.text);
		j = forge("{\"alg\":\"HS256\\r\",\"kid\":\"x\"}", cl);
		ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, j, strlen(j), NOW, &out, NULL, &e),
				 MGW_E_CRYPTO);
		ck_assert_msg(strstr(e.text, "alg (unprintable)"), "%s", e.text);
	}
	verify_expect("header array", NULL, forge("[1]", cl), MGW_JOSE_MALFORMED);
	verify_expect("header not JSON", NULL, forge("{alg", cl), MGW_JOSE_MALFORMED);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(tampering)
{
	struct mgw_jose_claims c = claims("UE:ue-1", "AS:as-1", "the original payload");
	struct mgw_jose_err e;
	char *jws, *t, *dot1, *dot2;

	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &jws, &e), MGW_OK);
	dot1 = strchr(jws, '.');
	dot2 = strchr(dot1 + 1, '.');
	/* every base64url character of each part changed in turn */
	for (char *p = jws; *p; p++) {
		char old = *p;

		if (*p == '.')
			continue;
		t = talloc_strdup(ctx, jws);
		t[p - jws] = old == 'A' ? 'B' : 'A';
		/* the header may turn into other JSON, the last character of a part may set
		 * unused bits (not canonical): any refusal; inside the claims: the signature */
		{
			struct mgw_jose_claims out;
			struct mgw_jose_err e2;
			int rc = mgw_jose_verify(ctx, ks, NULL, t, strlen(t), NOW, &out, NULL, &e2);

			ck_assert_msg(rc != MGW_OK, "tampered byte %td accepted", p - jws);
			ck_assert_msg(e2.cause == MGW_JOSE_BAD_SIGNATURE ||
					      e2.cause == MGW_JOSE_MALFORMED ||
					      e2.cause == MGW_JOSE_UNSUPPORTED ||
					      e2.cause == MGW_JOSE_ALG_NOT_ALLOWED ||
					      e2.cause == MGW_JOSE_UNKNOWN_KID,
				      "byte %td: %s", p - jws, mgw_jose_cause_name(e2.cause));
			if (p > dot1 && p < dot2 - 1)
				ck_assert_msg(e2.cause == MGW_JOSE_BAD_SIGNATURE,
					      "payload byte %td: %s (%s)", p - jws,
					      mgw_jose_cause_name(e2.cause), e2.text);
		}
		talloc_free(t);
	}
	/* a signature of the wrong length, an extra part, a missing part, padding */
	t = talloc_asprintf(ctx, "%.*sAAAA", (int)(strlen(jws)), jws);
	verify_expect("long signature", NULL, t, MGW_JOSE_BAD_SIGNATURE);
	t = talloc_strndup(ctx, jws, (size_t)(dot2 - jws) + 41); /* 30 bytes */
	verify_expect("short signature", NULL, t, MGW_JOSE_BAD_SIGNATURE);
	verify_expect("four parts", NULL, talloc_asprintf(ctx, "%s.AAAA", jws), MGW_JOSE_MALFORMED);
	verify_expect("two parts", NULL, talloc_strndup(ctx, jws, (size_t)(dot2 - jws)),
		      MGW_JOSE_MALFORMED);
	verify_expect("padding", NULL, talloc_asprintf(ctx, "%s=", jws), MGW_JOSE_MALFORMED);
	verify_expect("empty", NULL, "", MGW_JOSE_MALFORMED);
	verify_expect("space", NULL, talloc_asprintf(ctx, " %s", jws), MGW_JOSE_MALFORMED);
	/* another party's valid signature under our kid */
	{
		struct mgw_jose_keyset *kb;
		struct mgw_cfg_err err;
		char *jb, *mix;

		ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &kb), MGW_OK);
		ck_assert_int_eq(mgw_jose_keyset_add_dir(kb, dir_b, &err), MGW_OK);
		ck_assert_int_eq(mgw_jose_sign(ctx, kb, &c, &jb, &e), MGW_OK);
		mix = talloc_asprintf(ctx, "%.*s%s", (int)(dot1 - jws), jws, strchr(jb, '.'));
		verify_expect("B's signature under A's header", NULL, mix, MGW_JOSE_BAD_SIGNATURE);
		verify_expect("B's JWS", NULL, jb, MGW_JOSE_UNKNOWN_KID);
		verify_expect("B's JWS as as-b", "as-b", jb, MGW_JOSE_OK);
		mgw_jose_keyset_free(kb);
	}
	talloc_free_children(ctx);
}
END_TEST

START_TEST(time_window)
{
	struct mgw_jose_claims c = claims("UE:ue-1", "AS:as-1", "x");
	struct mgw_jose_claims out;
	struct mgw_jose_err e;
	char *jws;

	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &jws, &e), MGW_OK);
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, jws, strlen(jws), NOW + 300, &out, NULL, &e),
			 MGW_OK);
	talloc_free((void *)out.payload);
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, jws, strlen(jws), NOW + 301, &out, NULL, &e),
			 MGW_E_EXPIRED);
	ck_assert_int_eq(e.cause, MGW_JOSE_EXPIRED);
	ck_assert_str_eq(e.where, "claims.iat");
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, jws, strlen(jws), NOW - 301, &out, NULL, &e),
			 MGW_E_EXPIRED);
	ck_assert_int_eq(e.cause, MGW_JOSE_NOT_YET_VALID);
	mgw_jose_keyset_set_skew(ks, 10);
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, NULL, jws, strlen(jws), NOW + 11, &out, NULL, &e),
			 MGW_E_EXPIRED);
	mgw_jose_keyset_set_skew(ks, 300);
	/* exp and nbf are honoured; iat as a real; iat missing or a string */
	verify_expect("exp passed", NULL,
		      forge(hdr_json("ES256", NULL),
			    claims_json("UE", "AS", talloc_asprintf(ctx, ",\"exp\":%lld", NOW - 400),
					NOW)),
		      MGW_JOSE_EXPIRED);
	verify_expect("exp ahead", NULL,
		      forge(hdr_json("ES256", NULL),
			    claims_json("UE", "AS", talloc_asprintf(ctx, ",\"exp\":%lld", NOW + 60),
					NOW)),
		      MGW_JOSE_OK);
	verify_expect("nbf ahead", NULL,
		      forge(hdr_json("ES256", NULL),
			    claims_json("UE", "AS", talloc_asprintf(ctx, ",\"nbf\":%lld", NOW + 900),
					NOW)),
		      MGW_JOSE_NOT_YET_VALID);
	verify_expect("iat real", NULL,
		      forge(hdr_json("ES256", NULL),
			    talloc_asprintf(ctx,
					    "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},"
					    "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},"
					    "\"msgId\":\"m\",\"iat\":%lld.5}",
					    NOW)),
		      MGW_JOSE_OK);
	verify_expect("iat string", NULL,
		      forge(hdr_json("ES256", NULL),
			    "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},"
			    "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":\"m\","
			    "\"iat\":\"1800000000\"}"),
		      MGW_JOSE_MALFORMED);
	talloc_free_children(ctx);
}
END_TEST

/* claims JSON, as parsed after a signature verified */
static const struct {
	const char *json;
	enum mgw_jose_cause want;
	const char *where;
} claim_cases[] = {
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1}",
	  MGW_JOSE_OK, "" },
	{ "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.oriAddr" },
	{ "{\"oriAddr\":\"UE:u\",\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":"
	  "\"m\",\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.oriAddr" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.oriAddr" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"msgId\":\"m\",\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.destAddr" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.msgId" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":5,\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.msgId" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\\u0000x\",\"iat\":1}",
	  MGW_JOSE_MALFORMED, "claims.msgId" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\"}",
	  MGW_JOSE_MALFORMED, "claims.iat" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":-1}",
	  MGW_JOSE_MALFORMED, "claims.iat" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1e300}",
	  MGW_JOSE_MALFORMED, "claims.iat" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1,\"payload\":7}",
	  MGW_JOSE_MALFORMED, "claims.payload" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1,\"appId\":\"\"}",
	  MGW_JOSE_MALFORMED, "claims.appId" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1,\"msgId\":\"n\"}",
	  MGW_JOSE_MALFORMED, "claims" },
	{ "[]", MGW_JOSE_MALFORMED, "claims" },
	{ "", MGW_JOSE_MALFORMED, "claims" },
	{ "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},\"destAddr\":{\"addrType\":\"AS\","
	  "\"addr\":\"a\"},\"msgId\":\"m\",\"iat\":1} trailing",
	  MGW_JOSE_MALFORMED, "claims" },
};

START_TEST(claims_decode)
{
	struct mgw_jose_claims c;
	struct mgw_jose_err e;
	int rc = mgw_jose_claims_decode(ctx, (const uint8_t *)claim_cases[_i].json,
					strlen(claim_cases[_i].json), &c, &e);

	if (claim_cases[_i].want == MGW_JOSE_OK) {
		ck_assert_msg(rc == MGW_OK, "case %d: %s", _i, e.text);
		return;
	}
	ck_assert_msg(rc != MGW_OK && e.cause == claim_cases[_i].want, "case %d: %s", _i,
		      rc == MGW_OK ? "accepted" : mgw_jose_cause_name(e.cause));
	ck_assert_msg(strcmp(e.where, claim_cases[_i].where) == 0, "case %d: where %s, want %s", _i,
		      e.where, claim_cases[_i].where);
}
END_TEST

START_TEST(too_big)
{
	char *big = talloc_size(ctx, MGW_JOSE_MAX_DEFAULT + 2);

	memset(big, 'A', MGW_JOSE_MAX_DEFAULT + 1);
	big[MGW_JOSE_MAX_DEFAULT + 1] = '\0';
	verify_expect("65537 bytes", NULL, big, MGW_JOSE_TOO_BIG);
	talloc_free(big);
}
END_TEST

/* ---- JWE ---- */

START_TEST(encrypt_decrypt)
{
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	const char *pt = "{\"nested\":\"jws would be here\"}";
	char *jwe, *cty;
	uint8_t *out;
	size_t n;

	/* to as-1, whose JWKS is the gateway's own: the gateway can decrypt it */
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-1", (const uint8_t *)pt, strlen(pt), "JWT",
					  &jwe, &e),
			 MGW_OK);
	ck_assert_int_eq(mgw_jose_decrypt(ctx, ks, jwe, strlen(jwe), &out, &n, &cty, &r, &e), MGW_OK);
	ck_assert_uint_eq(n, strlen(pt));
	ck_assert_str_eq((char *)out, pt);
	ck_assert_str_eq(cty, "JWT");
	ck_assert_str_eq(r.enc_kid, enc_a);
	ck_assert_int_eq(r.prot, MGW_PROT_JWE);
	talloc_free(out);
	talloc_free(cty);
	talloc_free(jwe);
	/* to B: the gateway holds no key for it */
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-b", (const uint8_t *)pt, strlen(pt), NULL,
					  &jwe, &e),
			 MGW_OK);
	ck_assert_int_eq(mgw_jose_decrypt(ctx, ks, jwe, strlen(jwe), &out, &n, &cty, &r, &e),
			 MGW_E_CRYPTO);
	ck_assert_int_eq(e.cause, MGW_JOSE_UNKNOWN_KID);
	talloc_free(jwe);
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-x", (const uint8_t *)pt, 1, NULL, &jwe, &e),
			 MGW_E_NOT_FOUND);
	ck_assert_int_eq(e.cause, MGW_JOSE_NO_KEY);
}
END_TEST

static char *jwe_with_header(const char *jwe, const char *hdr)
{
	return talloc_asprintf(ctx, "%s%s", b64s(ctx, hdr), strchr(jwe, '.'));
}

START_TEST(jwe_refusals)
{
	struct mgw_jose_keyset *kb;
	struct mgw_cfg_err err;
	struct mgw_jose_err e;
	char *jwe, *t, *parts[5], *jwks_b_as_a;
	uint8_t *out;
	size_t n;
	char *cty;
	int k = 0;
	static const struct {
		const char *pre, *post; /* around A's enc kid */
		enum mgw_jose_cause want;
	} hdrs[] = {
		{ "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"dir\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"A256KW\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"none\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A128CBC-HS256\",\"kid\":\"", "\"}",
		  MGW_JOSE_ALG_NOT_ALLOWED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"", "\",\"zip\":\"DEF\"}",
		  MGW_JOSE_UNSUPPORTED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"", "\",\"crit\":[\"x\"]}",
		  MGW_JOSE_UNSUPPORTED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"", "\"}", MGW_JOSE_MALFORMED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"", "\",\"epk\":{\"kty\":\"EC\","
		  "\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}}",
		  MGW_JOSE_MALFORMED },
		{ "{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"x\":\"", "\"}", MGW_JOSE_MALFORMED },
	};

	/* encrypted to B's key but naming A's kid: the gateway tries its key and fails */
	jwks_b_as_a = talloc_strdup(ctx, jwks_b);
	{
		char *p = strstr(jwks_b_as_a, enc_b);

		ck_assert_ptr_nonnull(p);
		memcpy(p, enc_a, strlen(enc_a)); /* same length: gw-enc-YYYYMMDD-8hex */
	}
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &kb), MGW_OK);
	ck_assert_msg(mgw_jose_keyset_add_app_jwks(kb, "gw", MGW_JOSE_ENCRYPT, jwks_b_as_a,
						   strlen(jwks_b_as_a), "b", &err) == MGW_OK,
		      "%s", err.msg);
	ck_assert_int_eq(mgw_jose_encrypt(ctx, kb, "gw", (const uint8_t *)"x", 1, NULL, &jwe, &e),
			 MGW_OK);
	ck_assert_int_eq(mgw_jose_decrypt(ctx, ks, jwe, strlen(jwe), &out, &n, &cty, NULL, &e),
			 MGW_E_CRYPTO);
	ck_assert_int_eq(e.cause, MGW_JOSE_DECRYPT_FAILED);
	mgw_jose_keyset_free(kb);

	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-1", (const uint8_t *)"secret", 6, "JWT",
					  &jwe, &e),
			 MGW_OK);
	/* tampering with each part */
	t = talloc_strdup(ctx, jwe);
	for (char *p = t, *s = t; k < 5; p++)
		if (*p == '.' || !*p) {
			parts[k++] = talloc_strndup(ctx, s, (size_t)(p - s));
			s = p + 1;
		}
	{
		struct {
			int part;
			const char *repl;
			enum mgw_jose_cause want;
		} mods[] = {
			{ 1, "AAAA", MGW_JOSE_MALFORMED },     /* an encrypted key with ECDH-ES */
			{ 2, "AAAAAAAAAAAAAAAA", MGW_JOSE_DECRYPT_FAILED }, /* another IV */
			{ 2, "AAAAAAAA", MGW_JOSE_MALFORMED },  /* 6-byte IV */
			{ 3, "AAAAAAAA", MGW_JOSE_DECRYPT_FAILED },
			{ 4, "AAAAAAAAAAAAAAAAAAAAAA", MGW_JOSE_DECRYPT_FAILED }, /* another tag */
			{ 4, "AAAAAAAAAAA", MGW_JOSE_MALFORMED }, /* 8-byte tag (CVE-2023-37464) */
			{ 4, "", MGW_JOSE_MALFORMED },
		};

		for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
			char *v[5];

			memcpy(v, parts, sizeof(v));
			v[mods[i].part] = (char *)mods[i].repl;
			t = talloc_asprintf(ctx, "%s.%s.%s.%s.%s", v[0], v[1], v[2], v[3], v[4]);
			ck_assert_int_ne(mgw_jose_decrypt(ctx, ks, t, strlen(t), &out, &n, &cty, NULL,
							  &e),
					 MGW_OK);
			ck_assert_msg(e.cause == mods[i].want, "part %d -> %s: %s (%s)", mods[i].part,
				      mods[i].repl, mgw_jose_cause_name(e.cause), e.text);
		}
	}
	/* the protected header is the AAD: any change in it fails the tag */
	{
		char *h = talloc_strndup(ctx, jwe, (size_t)(strchr(jwe, '.') - jwe));
		uint8_t hb[512];
		size_t hl = 0;

		/* decode by hand: the header is short and canonical */
		{
			static const char al[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
			uint32_t acc = 0;
			int bits = 0;

			for (char *p = h; *p; p++) {
				acc = (acc << 6) | (uint32_t)(strchr(al, *p) - al);
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					hb[hl++] = (uint8_t)(acc >> bits);
				}
			}
			hb[hl] = '\0';
		}
		/* same members, one more: cty changed from JWT to JWS */
		{
			char *mod = talloc_strdup(ctx, (char *)hb), *c = strstr(mod, "\"JWT\"");

			ck_assert_ptr_nonnull(c);
			c[3] = 'S';
			t = jwe_with_header(jwe, mod);
			ck_assert_int_ne(mgw_jose_decrypt(ctx, ks, t, strlen(t), &out, &n, &cty, NULL,
							  &e),
					 MGW_OK);
			ck_assert_int_eq(e.cause, MGW_JOSE_DECRYPT_FAILED);
		}
		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			t = jwe_with_header(jwe, talloc_asprintf(ctx, "%s%s%s", hdrs[i].pre, enc_a,
								 hdrs[i].post));
			ck_assert_int_ne(mgw_jose_decrypt(ctx, ks, t, strlen(t), &out, &n, &cty, NULL,
							  &e),
					 MGW_OK);
			ck_assert_msg(e.cause == hdrs[i].want, "header %zu: %s (%s)", i,
				      mgw_jose_cause_name(e.cause), e.text);
		}
	}
	/* a JWS is not a JWE, nor the other way round */
	ck_assert_int_ne(mgw_jose_decrypt(ctx, ks, "a.b.c", 5, &out, &n, &cty, NULL, &e), MGW_OK);
	ck_assert_int_eq(e.cause, MGW_JOSE_MALFORMED);
	verify_expect("JWE as JWS", NULL, jwe, MGW_JOSE_MALFORMED);
	talloc_free_children(ctx);
}
END_TEST

/* RFC 7518 Appendix C: the ECDH-ES example's Z, "A128GCM", apu "Alice", apv "Bob" give
 * the key VqqN6vgjbSBcIijNcacQGg (decrypting with A256GCM runs the same KDF). */
START_TEST(concat_kdf_rfc7518)
{
	static const uint8_t z[32] = { 158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
				       131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
				       106, 72,  246, 218, 167, 121, 140, 254, 144, 196 };
	static const uint8_t want[16] = { 86, 170, 141, 234, 248, 35,  109, 32,
					  92, 34,  40,  205, 113, 167, 16,  26 };
	uint8_t out[16];

	ck_assert_int_eq(jose_concat_kdf(z, sizeof(z), "A128GCM", (const uint8_t *)"Alice", 5,
					 (const uint8_t *)"Bob", 3, out, sizeof(out)),
			 MGW_OK);
	ck_assert(memcmp(out, want, sizeof(want)) == 0);
	/* without PartyUInfo/PartyVInfo (what cjose sends) the key differs */
	ck_assert_int_eq(jose_concat_kdf(z, sizeof(z), "A128GCM", NULL, 0, NULL, 0, out,
					 sizeof(out)),
			 MGW_OK);
	ck_assert(memcmp(out, want, sizeof(want)) != 0);
}
END_TEST

/* ---- the profiles on messages ---- */

START_TEST(protect_profiles)
{
	struct mgw_msg *m = msg("UE:ue-1", "AS:as-1", "app", "payload one");
	struct mgw_jose_claims c;
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	enum mgw_prot prot;
	char *out, *cty;
	uint8_t *pt;
	size_t n;

	/* as-1: sign */
	ck_assert_int_eq(mgw_jose_protect(ctx, ks, m, NOW, &out, &n, &prot, &e), MGW_OK);
	ck_assert_int_eq(prot, MGW_PROT_JWS);
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_int_eq(mgw_jose_verify(ctx, ks, "as-1", out, n, NOW, &c, &r, &e), MGW_OK);
	ck_assert_str_eq((const char *)c.payload, "payload one");
	ck_assert_str_eq(c.app_id, "app");
	ck_assert_str_eq(c.dest.addr, "as-1");
	ck_assert_str_eq(c.ori.addr, "ue-1");
	talloc_free((void *)c.payload);
	talloc_free(out);
	/* as-b: encrypt to B (nested: the gateway's JWS inside) */
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "AS:as-b"), MGW_OK);
	ck_assert_int_eq(mgw_jose_protect(ctx, ks, m, NOW, &out, &n, &prot, &e), MGW_OK);
	ck_assert_int_eq(prot, MGW_PROT_JWE);
	{
		struct mgw_jose_keyset *kb;
		struct mgw_cfg_err err;

		/* B decrypts and verifies with the gateway's public JWKS */
		ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &kb), MGW_OK);
		ck_assert_int_eq(mgw_jose_keyset_add_dir(kb, dir_b, &err), MGW_OK);
		ck_assert_int_eq(mgw_jose_keyset_add_app_jwks(kb, "gw", MGW_JOSE_SIGN, jwks_a,
							      strlen(jwks_a), "a", &err),
				 MGW_OK);
		ck_assert_int_eq(mgw_jose_decrypt(ctx, kb, out, n, &pt, &n, &cty, &r, &e), MGW_OK);
		ck_assert_str_eq(cty, "JWT");
		ck_assert_int_eq(mgw_jose_verify(ctx, kb, "gw", (char *)pt, n, NOW, &c, &r, &e),
				 MGW_OK);
		ck_assert_str_eq((const char *)c.payload, "payload one");
		ck_assert_str_eq(c.dest.addr, "as-b");
		mgw_jose_keyset_free(kb);
	}
	/* transport: unknown AS, or a UE destination */
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "AS:as-other"), MGW_OK);
	ck_assert_int_eq(mgw_jose_protect(ctx, ks, m, NOW, &out, &n, &prot, &e), MGW_OK);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(prot, MGW_PROT_NONE);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "UE:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_jose_protect(ctx, ks, m, NOW, &out, &n, &prot, &e), MGW_OK);
	ck_assert_ptr_null(out);
	/* a payload that is not UTF-8 cannot be a JSON string */
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "AS:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_msg_set_payload(m, "\xff\xfe", 2), MGW_OK);
	ck_assert_int_eq(mgw_jose_protect(ctx, ks, m, NOW, &out, &n, &prot, &e), MGW_E_MALFORMED);
	ck_assert_str_eq(e.where, "claims.payload");
	/* no signing key */
	{
		struct mgw_jose_keyset *k0;
		struct mgw_cfg_err err;

		ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k0), MGW_OK);
		ck_assert_int_eq(mgw_jose_keyset_add_app_jwks(k0, "as-1", MGW_JOSE_SIGN, NULL, 0,
							      "as-1", &err),
				 MGW_OK);
		ck_assert_int_eq(mgw_jose_protect(ctx, k0, msg("UE:u", "AS:as-1", NULL, "x"), NOW,
						  &out, &n, &prot, &e),
				 MGW_E_NOT_FOUND);
		ck_assert_int_eq(e.cause, MGW_JOSE_NO_KEY);
		mgw_jose_keyset_free(k0);
	}
	talloc_free_children(ctx);
}
END_TEST

/* A downlink payload as as-1 would make it (as-1's key is A's: see the top). */
static char *as_payload(const char *ori, const char *dest, const char *app_id,
			const char *payload, bool encrypt, int64_t iat)
{
	struct mgw_jose_claims c = claims(ori, dest, payload);
	struct mgw_jose_err e;
	char *jws, *jwe;

	c.iat = iat;
	if (app_id) {
		c.has_app_id = true;
		snprintf(c.app_id, sizeof(c.app_id), "%s", app_id);
	}
	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &jws, &e), MGW_OK);
	if (!encrypt)
		return jws;
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-1", (uint8_t *)jws, strlen(jws), "JWT",
					  &jwe, &e),
			 MGW_OK);
	return jwe;
}

START_TEST(open_downlink)
{
	struct mgw_jose_replay *rp;
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	struct mgw_msg *m;
	uint8_t *out;
	size_t n;
	char *p, *jwe;

	ck_assert_int_eq(mgw_jose_replay_alloc(ctx, 64, &rp), MGW_OK);
	/* signed; then the same object again: a replay */
	p = as_payload("AS:as-1", "UE:ue-1", NULL, "down one", false, NOW);
	m = msg("AS:as-1", "UE:ue-1", NULL, p);
	ck_assert_int_eq(mgw_jose_open(ctx, ks, rp, m, NOW, &out, &n, &r, &e), MGW_OK);
	ck_assert_str_eq((char *)out, "down one");
	ck_assert_int_eq(r.prot, MGW_PROT_JWS);
	ck_assert(r.is_signed);
	ck_assert_str_eq(r.kid, sig_a);
	talloc_free(out);
	open_expect("replayed JWS", rp, m, MGW_JOSE_REPLAY, NULL);
	/* without a cache the time window alone stands */
	open_expect("no cache", NULL, m, MGW_JOSE_OK, "down one");
	/* signed and encrypted */
	m = msg("AS:as-1", "UE:ue-1", "app", p = as_payload("AS:as-1", "UE:ue-1", "app", "down two", true, NOW));
	ck_assert_int_eq(mgw_jose_open(ctx, ks, rp, m, NOW, &out, &n, &r, &e), MGW_OK);
	ck_assert_str_eq((char *)out, "down two");
	ck_assert_int_eq(r.prot, MGW_PROT_JWE);
	ck_assert(r.is_signed);
	ck_assert_str_eq(r.enc_kid, enc_a);
	talloc_free(out);
	/* claims that do not match the envelope the M5S delivered */
	p = as_payload("AS:as-1", "UE:ue-1", NULL, "x", false, NOW + 1);
	open_expect("dest changed", rp, msg("AS:as-1", "UE:ue-2", NULL, p), MGW_JOSE_CLAIM_MISMATCH,
		    NULL);
	open_expect("appId added", rp, msg("AS:as-1", "UE:ue-1", "app", p), MGW_JOSE_CLAIM_MISMATCH,
		    NULL);
	m = msg("AS:as-1", "UE:ue-1", NULL, p);
	snprintf(m->msg_id, sizeof(m->msg_id), "m2");
	open_expect("msgId changed", rp, m, MGW_JOSE_CLAIM_MISMATCH, NULL);
	p = as_payload("AS:as-1", "UE:ue-1", "app", "x", false, NOW + 2);
	open_expect("appId changed", rp, msg("AS:as-1", "UE:ue-1", "ppa", p),
		    MGW_JOSE_CLAIM_MISMATCH, NULL);
	open_expect("appId dropped", rp, msg("AS:as-1", "UE:ue-1", NULL, p),
		    MGW_JOSE_CLAIM_MISMATCH, NULL);
	/* claims naming another AS than the key's owner */
	p = as_payload("AS:as-b", "UE:ue-1", NULL, "x", false, NOW);
	open_expect("claims ori as-b", rp, msg("AS:as-1", "UE:ue-1", NULL, p),
		    MGW_JOSE_CLAIM_MISMATCH, NULL);
	/* signed by A but delivered as from as-b: as-b's keys do not have A's kid */
	open_expect("as-b", rp, msg("AS:as-b", "UE:ue-1", NULL, p), MGW_JOSE_UNKNOWN_KID, NULL);
	/* expired */
	p = as_payload("AS:as-1", "UE:ue-1", NULL, "x", false, NOW - 3600);
	open_expect("expired", rp, msg("AS:as-1", "UE:ue-1", NULL, p), MGW_JOSE_EXPIRED, NULL);
	/* plain content: accepted as it is, unless signing is required */
	open_expect("plain", rp, msg("AS:as-1", "UE:ue-1", NULL, "just text"), MGW_JOSE_OK, NULL);
	open_expect("a.b.c plain", rp, msg("AS:as-1", "UE:ue-1", NULL, "a.b.c"), MGW_JOSE_OK, NULL);
	/* encrypted, not signed */
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-1", (const uint8_t *)"enc only", 8, NULL,
					  &jwe, &e),
			 MGW_OK);
	open_expect("encrypted only", rp, msg("AS:as-1", "UE:ue-1", NULL, jwe), MGW_JOSE_OK,
		    "enc only");
	mgw_jose_keyset_set_require_signed(ks, true);
	open_expect("plain, signing required", rp, msg("AS:as-1", "UE:ue-1", NULL, "just text"),
		    MGW_JOSE_UNSIGNED, NULL);
	open_expect("no payload, signing required", rp, msg("AS:as-1", "UE:ue-1", NULL, NULL),
		    MGW_JOSE_UNSIGNED, NULL);
	open_expect("encrypted only, signing required", rp, msg("AS:as-1", "UE:ue-1", NULL, jwe),
		    MGW_JOSE_UNSIGNED, NULL);
	/* a UE's payload is not the gateway's to open, whatever it looks like */
	open_expect("from a UE", rp, msg("UE:ue-9", "UE:ue-1", NULL, "plain"), MGW_JOSE_OK, NULL);
	mgw_jose_keyset_set_require_signed(ks, false);
	/* an alg none object from the AS */
	p = talloc_asprintf(ctx, "%s.%s.", b64s(ctx, "{\"alg\":\"none\"}"),
			    b64s(ctx, claims_json("AS", "UE", NULL, NOW)));
	open_expect("alg none downlink", rp, msg("AS:as-1", "UE:ue-1", NULL, p),
		    MGW_JOSE_ALG_NOT_ALLOWED, NULL);
	mgw_jose_replay_free(rp);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(replay_cache)
{
	struct mgw_jose_replay *rp;
	uint8_t id[32];

	ck_assert_int_eq(mgw_jose_replay_alloc(ctx, 100, &rp), MGW_OK);
	memset(id, 0, sizeof(id));
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 10, NOW), MGW_OK);
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 10, NOW + 5), MGW_E_REPLAY);
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 20, NOW + 10), MGW_OK); /* expired */
	/* fill: 100 live ids, the 101st is refused (fail closed) */
	for (int i = 1; i < 100; i++) {
		memcpy(id, &i, sizeof(i));
		id[31] = (uint8_t)i;
		ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 1000, NOW + 10), MGW_OK);
	}
	memset(id, 0xee, sizeof(id));
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 1000, NOW + 10), MGW_E_FULL);
	/* all but the first expire at NOW + 1000: after that, room again, old ids forgotten */
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 3000, NOW + 1000), MGW_OK);
	ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 3000, NOW + 1001), MGW_E_REPLAY);
	/* many rounds of expiring ids keep working (rebuilds) */
	for (int i = 0; i < 5000; i++) {
		memcpy(id, &i, sizeof(i));
		id[30] = 0x55;
		ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 2000 + i + 5, NOW + 2000 + i),
				 MGW_OK);
		ck_assert_int_eq(mgw_jose_replay_check(rp, id, NOW + 2000 + i + 5, NOW + 2000 + i),
				 MGW_E_REPLAY);
	}
	ck_assert_int_eq(mgw_jose_replay_alloc(ctx, 0, &rp), MGW_E_INVAL);
	talloc_free_children(ctx);
}
END_TEST

/* ---- keys ---- */

static void load_dir_expect(const char *what, const char *dir, const char *needle)
{
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;
	int rc;

	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	memset(&err, 0, sizeof(err));
	rc = mgw_jose_keyset_add_dir(k, dir, &err);
	if (!needle)
		ck_assert_msg(rc == MGW_OK, "%s: %s", what, err.msg);
	else
		ck_assert_msg(rc == MGW_E_CONFIG && strstr(err.msg, needle), "%s: rc %d: %s", what,
			      rc, err.msg);
	no_secret(err.msg);
	mgw_jose_keyset_free(k);
}

START_TEST(key_file_permissions)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s.sig.pem", dir_a, sig_a);
	load_dir_expect("0600", dir_a, NULL);
	chmod(p, 0644);
	{
		char want[320];

		snprintf(want, sizeof(want), "%s: mode 0644", p);
		load_dir_expect("0644", dir_a, want);
	}
	load_dir_expect("0644 says chmod", dir_a, "chmod 600");
	chmod(p, 0640);
	load_dir_expect("0640", dir_a, "mode 0640");
	chmod(p, 0604);
	load_dir_expect("0604", dir_a, "mode 0604");
	chmod(p, 0400);
	load_dir_expect("0400", dir_a, NULL);
	chmod(p, 0600);
	chmod(dir_a, 0770);
	load_dir_expect("dir 0770", dir_a, "mode 0770");
	chmod(dir_a, 0755);
	load_dir_expect("dir 0755", dir_a, NULL);
	chmod(dir_a, 0700);
	load_dir_expect("missing dir", "/nonexistent/keys", "keys gen");
}
END_TEST

START_TEST(key_dir_contents)
{
	char p[256], q[256];
	EVP_PKEY *pk;
	FILE *f;

	/* a file not ending in .pem is ignored; a .pem with another name is not */
	snprintf(p, sizeof(p), "%s/README", dir_a);
	write_file(p, "notes\n", 0644);
	load_dir_expect("README", dir_a, NULL);
	snprintf(p, sizeof(p), "%s/stray.pem", dir_a);
	write_file(p, "x", 0600);
	load_dir_expect("stray.pem", dir_a, "stray.pem: a key file is named");
	unlink(p);
	snprintf(p, sizeof(p), "%s/bad kid.sig.pem", dir_a);
	write_file(p, "x", 0600);
	load_dir_expect("space in kid", dir_a, "a key file is named");
	unlink(p);
	/* not a key */
	snprintf(p, sizeof(p), "%s/junk.sig.retired.pem", dir_a);
	write_file(p, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0600);
	load_dir_expect("junk", dir_a, "not an unencrypted private key");
	unlink(p);
	/* a P-384 key */
	ck_assert_ptr_nonnull(pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
	snprintf(p, sizeof(p), "%s/p384.sig.retired.pem", dir_a);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(p, 0600);
	EVP_PKEY_free(pk);
	load_dir_expect("P-384", dir_a, "not an EC P-256 key");
	unlink(p);
	/* an encrypted key is refused, never prompted for */
	ck_assert_ptr_nonnull(pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	snprintf(p, sizeof(p), "%s/enc1.sig.retired.pem", dir_a);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	PEM_write_PKCS8PrivateKey(f, pk, EVP_aes_256_cbc(), "pass", 4, NULL, NULL);
	fclose(f);
	chmod(p, 0600);
	EVP_PKEY_free(pk);
	load_dir_expect("encrypted PEM", dir_a, "not an unencrypted private key");
	unlink(p);
	/* two active signing keys */
	snprintf(p, sizeof(p), "%s/%s.sig.pem", dir_a, sig_a);
	snprintf(q, sizeof(q), "%s/%s.sig.pem", dir_a, sig_b);
	{
		char r[256];
		FILE *in, *out;
		char buf[1024];
		size_t n;

		snprintf(r, sizeof(r), "%s/%s.sig.pem", dir_b, sig_b);
		in = fopen(r, "r");
		out = fopen(q, "w");
		n = fread(buf, 1, sizeof(buf), in);
		fwrite(buf, 1, n, out);
		fclose(in);
		fclose(out);
		chmod(q, 0600);
	}
	load_dir_expect("two active", dir_a, "two active signing keys");
	/* the same kid twice (active and retired) */
	snprintf(q, sizeof(q), "%s/%s.sig.pem", dir_a, sig_b);
	unlink(q);
	snprintf(q, sizeof(q), "%s/%s.sig.retired.pem", dir_a, sig_a);
	ck_assert_int_eq(link(p, q), 0);
	load_dir_expect("same kid twice", dir_a, "is also the kid of");
	unlink(q);
	load_dir_expect("clean again", dir_a, NULL);
}
END_TEST

static void jwks_expect(const char *what, const char *json, const char *needle)
{
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;
	int rc;

	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	memset(&err, 0, sizeof(err));
	rc = mgw_jose_keyset_add_app_jwks(k, "as-9", MGW_JOSE_SIGN, json, strlen(json), "f.jwks",
					  &err);
	if (!needle)
		ck_assert_msg(rc == MGW_OK, "%s: %s", what, err.msg);
	else
		ck_assert_msg(rc == MGW_E_CONFIG && strstr(err.msg, needle), "%s: rc %d: %s", what,
			      rc, err.msg);
	mgw_jose_keyset_free(k);
}

START_TEST(jwks_files)
{
	/* a key of A's JWKS, edited */
	char *k0 = talloc_strndup(ctx, strchr(jwks_a, '[') + 1,
				  (size_t)(strstr(jwks_a, "},{") - strchr(jwks_a, '[')));
	const char *x = strstr(k0, "\"x\":\"") + 5;
	char *t;

	jwks_expect("A's", jwks_a, NULL);
	jwks_expect("empty", "{\"keys\":[]}", NULL);
	jwks_expect("one key", talloc_asprintf(ctx, "{\"keys\":[%s]}", k0), NULL);
	jwks_expect("not JSON", "{", "f.jwks:1:");
	jwks_expect("not a JWKS", "[]", "not a JWKS");
	jwks_expect("a lone JWK", k0, "not a JWKS");
	jwks_expect("duplicate kid", talloc_asprintf(ctx, "{\"keys\":[%s,%s]}", k0, k0),
		    "appears twice");
	jwks_expect("duplicate member", "{\"keys\":[],\"keys\":[]}", "not a JWKS");
	jwks_expect("private", talloc_asprintf(ctx, "{\"keys\":[%.*s,\"d\":\"AAAA\"}]}",
					       (int)strlen(k0) - 1, k0),
		    "private key material");
	jwks_expect("RSA", "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"AQAB\",\"e\":\"AQAB\","
			   "\"use\":\"sig\"}]}",
		    "only EC P-256");
	jwks_expect("oct", "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"o\",\"k\":\"AAAA\"}]}",
		    "private key material");
	jwks_expect("no kid",
		    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		    "needs a kid");
	t = talloc_strdup(ctx, k0);
	*strstr(t, "\"use\":\"sig\"") = '\0';
	jwks_expect("no use, alg ES256", talloc_asprintf(ctx, "{\"keys\":[%s\"alg\":\"ES256\"}]}", t),
		    NULL);
	jwks_expect("no use, no alg", talloc_asprintf(ctx, "{\"keys\":[%s\"kid2\":1}]}", t),
		    "needs \"use\"");
	jwks_expect("alg RS256", talloc_asprintf(ctx, "{\"keys\":[%s\"alg\":\"RS256\"}]}", t),
		    "alg RS256 is not allowed");
	jwks_expect("use sig alg ECDH-ES",
		    talloc_asprintf(ctx, "{\"keys\":[%s\"use\":\"sig\",\"alg\":\"ECDH-ES\"}]}", t),
		    "does not fit use sig");
	jwks_expect("use foo", talloc_asprintf(ctx, "{\"keys\":[%s\"use\":\"foo\"}]}", t),
		    "use foo");
	/* a point off the curve: x with one bit flipped */
	t = talloc_strdup(ctx, k0);
	t[x - k0] = t[x - k0] == 'A' ? 'B' : 'A';
	jwks_expect("off curve", talloc_asprintf(ctx, "{\"keys\":[%s]}", t),
		    "not a valid P-256 public key");
	/* an '=' inside x: cjose's own decoder would abort the process on it */
	t = talloc_strdup(ctx, k0);
	t[x - k0 + 5] = '=';
	jwks_expect("= inside x", talloc_asprintf(ctx, "{\"keys\":[%s]}", t),
		    "not a valid P-256 public key");
	/* short x */
	t = talloc_strdup(ctx, k0);
	memmove(t + (x - k0), t + (x - k0) + 2, strlen(t + (x - k0) + 2) + 1);
	jwks_expect("short x", talloc_asprintf(ctx, "{\"keys\":[%s]}", t),
		    "not a valid P-256 public key");
	talloc_free_children(ctx);
}
END_TEST

START_TEST(jwks_file_permissions)
{
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;
	char p[256];

	snprintf(p, sizeof(p), "%s/as.jwks.json", dir_b);
	write_file(p, jwks_b, 0644);
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	ck_assert_msg(mgw_jose_keyset_add_app(k, "as-b", MGW_JOSE_ENCRYPT, p, &err) == MGW_OK, "%s",
		      err.msg);
	mgw_jose_keyset_free(k);
	chmod(p, 0664);
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k), MGW_OK);
	ck_assert_int_eq(mgw_jose_keyset_add_app(k, "as-b", MGW_JOSE_ENCRYPT, p, &err), MGW_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "mode 0664") && strstr(err.msg, "chmod 644"), "%s", err.msg);
	ck_assert_int_eq(mgw_jose_keyset_add_app(k, "as-b", MGW_JOSE_ENCRYPT, "/nonexistent.jwks",
						 &err),
			 MGW_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "/nonexistent.jwks: cannot open"), "%s", err.msg);
	ck_assert_int_eq(mgw_jose_keyset_add_app(k, "as-b", MGW_JOSE_ENCRYPT, NULL, &err), MGW_OK);
	ck_assert_int_eq(mgw_jose_keyset_add_app(k, "as-b", MGW_JOSE_SIGN, NULL, &err), MGW_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "listed twice"), "%s", err.msg);
	ck_assert_int_eq(mgw_jose_keyset_protection(k, "as-b"), MGW_JOSE_ENCRYPT);
	ck_assert_int_eq(mgw_jose_keyset_protection(k, "nobody"), MGW_JOSE_TRANSPORT);
	mgw_jose_keyset_free(k);
}
END_TEST

START_TEST(rotation)
{
	struct mgw_jose_claims c = claims("UE:ue-1", "AS:as-1", "before"), out;
	struct mgw_jose_keyset *k2;
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	struct mgw_cfg_err err;
	char sig2[MGW_JOSE_KID_MAX + 1], enc2[MGW_JOSE_KID_MAX + 1], *old_jws, *new_jws, *jwe_old,
		*json, *cty, p[256];
	struct mgw_jose_key_info ki;
	uint8_t *pt;
	size_t n;

	ck_assert_int_eq(mgw_jose_sign(ctx, ks, &c, &old_jws, &e), MGW_OK);
	ck_assert_int_eq(mgw_jose_encrypt(ctx, ks, "as-1", (const uint8_t *)"to old", 6, NULL,
					  &jwe_old, &e),
			 MGW_OK);
	/* rotate: new active keys, the old ones retired, the set reloaded (SIGHUP) */
	ck_assert_int_eq(mgw_jose_key_rotate(dir_a, NOW + 86400, sig2, enc2, sizeof(sig2), &err),
			 MGW_OK);
	ck_assert_str_ne(sig2, sig_a);
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k2), MGW_OK);
	ck_assert_msg(mgw_jose_keyset_add_dir(k2, dir_a, &err) == MGW_OK, "%s", err.msg);
	ck_assert_uint_eq(mgw_jose_keyset_count(k2), 4);
	for (size_t i = 0; mgw_jose_keyset_key(k2, i, &ki) == MGW_OK; i++) {
		ck_assert_ptr_null(ki.peer);
		ck_assert(ki.has_private);
		ck_assert_int_eq(ki.state, strcmp(ki.kid, sig2) == 0 || strcmp(ki.kid, enc2) == 0
						   ? MGW_JOSE_ACTIVE
						   : MGW_JOSE_RETIRED);
	}
	ck_assert_int_eq(mgw_jose_keyset_key(k2, 4, &ki), MGW_E_NOT_FOUND);
	/* new signatures name the new key; the old one still verifies until removed */
	c.payload = (const uint8_t *)"after";
	c.payload_len = 5;
	ck_assert_int_eq(mgw_jose_sign(ctx, k2, &c, &new_jws, &e), MGW_OK);
	ck_assert_int_eq(mgw_jose_verify(ctx, k2, NULL, new_jws, strlen(new_jws), NOW, &out, &r, &e),
			 MGW_OK);
	ck_assert_str_eq(r.kid, sig2);
	talloc_free((void *)out.payload);
	ck_assert_int_eq(mgw_jose_verify(ctx, k2, NULL, old_jws, strlen(old_jws), NOW, &out, &r, &e),
			 MGW_OK);
	ck_assert_str_eq(r.kid, sig_a);
	talloc_free((void *)out.payload);
	/* what was encrypted to the old encryption key still decrypts */
	ck_assert_int_eq(mgw_jose_decrypt(ctx, k2, jwe_old, strlen(jwe_old), &pt, &n, &cty, &r, &e),
			 MGW_OK);
	ck_assert_str_eq(r.enc_kid, enc_a);
	talloc_free(pt);
	/* the JWKS: both signing keys (verifiers need the old one), only the new enc key */
	ck_assert_int_eq(mgw_jose_keyset_export(ctx, k2, &json), MGW_OK);
	ck_assert_ptr_nonnull(strstr(json, sig2));
	ck_assert_ptr_nonnull(strstr(json, sig_a));
	ck_assert_ptr_nonnull(strstr(json, enc2));
	ck_assert_ptr_null(strstr(json, enc_a));
	ck_assert(strstr(json, sig2) < strstr(json, sig_a)); /* active first */
	ck_assert_ptr_null(strstr(json, "\"d\""));
	no_secret(json);
	mgw_jose_keyset_free(k2);
	/* retired key files removed: reload, and the old objects are refused */
	snprintf(p, sizeof(p), "%s/%s.sig.retired.pem", dir_a, sig_a);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/%s.enc.retired.pem", dir_a, enc_a);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k2), MGW_OK);
	ck_assert_int_eq(mgw_jose_keyset_add_dir(k2, dir_a, &err), MGW_OK);
	ck_assert_int_eq(mgw_jose_verify(ctx, k2, NULL, old_jws, strlen(old_jws), NOW, &out, &r, &e),
			 MGW_E_CRYPTO);
	ck_assert_int_eq(e.cause, MGW_JOSE_UNKNOWN_KID);
	ck_assert_int_eq(mgw_jose_decrypt(ctx, k2, jwe_old, strlen(jwe_old), &pt, &n, &cty, &r, &e),
			 MGW_E_CRYPTO);
	ck_assert_int_eq(e.cause, MGW_JOSE_UNKNOWN_KID);
	mgw_jose_keyset_free(k2);
	/* the set that was loaded before keeps working as it was (swap on success only) */
	verify_expect("old set, old JWS", NULL, old_jws, MGW_JOSE_OK);
	/* retire by hand, and a kid that does not exist */
	ck_assert_int_eq(mgw_jose_key_retire(dir_a, sig2, &err), MGW_OK);
	ck_assert_int_eq(mgw_jose_key_retire(dir_a, sig2, &err), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_jose_key_retire(dir_a, "../x", &err), MGW_E_INVAL);
	ck_assert_int_eq(mgw_jose_keyset_alloc(ctx, &k2), MGW_OK);
	ck_assert_int_eq(mgw_jose_keyset_add_dir(k2, dir_a, &err), MGW_OK);
	ck_assert_int_eq(mgw_jose_sign(ctx, k2, &c, &new_jws, &e), MGW_E_NOT_FOUND);
	ck_assert_int_eq(e.cause, MGW_JOSE_NO_KEY);
	mgw_jose_keyset_free(k2);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(generated_files)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s.sig.pem", dir_a, sig_a);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(strncmp(sig_a, "gw-sig-20270115-", 16), 0); /* NOW's day, UTC */
	ck_assert_uint_eq(strlen(sig_a), 24);
	ck_assert_int_eq(strncmp(enc_a, "gw-enc-", 7), 0);
	ck_assert_int_eq(stat(dir_a, &st), 0);
	/* a new directory is made 0700 */
	{
		char d[128], s[MGW_JOSE_KID_MAX + 1];
		struct mgw_cfg_err err;

		snprintf(d, sizeof(d), "%s/sub", dir_b);
		ck_assert_int_eq(mgw_jose_key_generate(d, MGW_JOSE_USE_SIG, NOW, s, sizeof(s), &err),
				 MGW_OK);
		ck_assert_int_eq(stat(d, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0700);
		rm_dir(d);
	}
}
END_TEST

START_TEST(config_section)
{
	struct mgw_jose_cfg *cfg = talloc_zero(ctx, struct mgw_jose_cfg);
	struct mgw_jose_keyset *k;
	struct mgw_cfg_err err;
	char yaml[1024], jw[256];

	snprintf(jw, sizeof(jw), "%s/as-b.jwks.json", dir_b);
	write_file(jw, jwks_b, 0644);
	snprintf(yaml, sizeof(yaml),
		 "keys: %s\n"
		 "applications:\n"
		 "  - { as: as-b, jwks: %s, protection: encrypt }\n"
		 "  - { as: as-2, protection: sign }\n"
		 "  - { as: as-3 }\n"
		 "require_signed_downlink: true\n"
		 "max_skew: 30s\n",
		 dir_a, jw);
	ck_assert_msg(mgw_cfg_load_buf(cfg, "sec.yaml", yaml, strlen(yaml), &mgw_jose_cfg_schema,
				       cfg, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(cfg->max_skew_ms, 30000);
	ck_assert_int_eq(cfg->replay_cache, 100000);
	ck_assert_msg(mgw_jose_keyset_load(ctx, cfg, &k, &err) == MGW_OK, "%s", err.msg);
	ck_assert_int_eq(mgw_jose_keyset_protection(k, "as-b"), MGW_JOSE_ENCRYPT);
	ck_assert_int_eq(mgw_jose_keyset_protection(k, "as-2"), MGW_JOSE_SIGN);
	ck_assert_int_eq(mgw_jose_keyset_protection(k, "as-3"), MGW_JOSE_TRANSPORT);
	mgw_jose_keyset_free(k);
	/* the schema's checks */
	{
		static const struct {
			const char *yaml;
			const char *needle;
		} bad[] = {
			{ "applications:\n  - { as: a, protection: encrypt }\n", "encrypt needs" },
			{ "applications:\n  - { as: a, protection: sign }\n", "needs the gateway's keys" },
			{ "keys: /tmp\napplications:\n  - { as: a }\n  - { as: a }\n", "listed twice" },
			{ "applications:\n  - { as: a, protection: sealed }\n", "protection" },
			{ "max_skew: 0s\n", "max_skew" },
			{ "keyz: x\n", "keyz" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct mgw_jose_cfg *c2 = talloc_zero(ctx, struct mgw_jose_cfg);

			ck_assert_msg(mgw_cfg_load_buf(c2, "sec.yaml", bad[i].yaml,
						       strlen(bad[i].yaml), &mgw_jose_cfg_schema, c2,
						       &err) != 0 &&
					      strstr(err.msg, bad[i].needle),
				      "case %zu: %s", i, err.msg);
			talloc_free(c2);
		}
	}
	/* encrypt to an AS whose JWKS has no encryption key; sign without an active key */
	{
		struct mgw_jose_cfg *c3 = talloc_zero(ctx, struct mgw_jose_cfg);
		char *only_sig = talloc_asprintf(ctx, "%.*s]}",
						 (int)(strstr(jwks_b, "},{") - jwks_b) + 1, jwks_b);

		write_file(jw, only_sig, 0644);
		snprintf(yaml, sizeof(yaml), "keys: %s\napplications:\n  - { as: as-b, jwks: %s, "
					     "protection: encrypt }\n",
			 dir_a, jw);
		ck_assert_int_eq(mgw_cfg_load_buf(c3, "sec.yaml", yaml, strlen(yaml),
						  &mgw_jose_cfg_schema, c3, &err),
				 0);
		ck_assert_int_eq(mgw_jose_keyset_load(ctx, c3, &k, &err), MGW_E_CONFIG);
		ck_assert_msg(strstr(err.msg, "no encryption key"), "%s", err.msg);
		ck_assert_int_eq(mgw_jose_key_retire(dir_a, sig_a, &err), MGW_OK);
		write_file(jw, jwks_b, 0644);
		ck_assert_int_eq(mgw_jose_keyset_load(ctx, c3, &k, &err), MGW_E_CONFIG);
		ck_assert_msg(strstr(err.msg, "no active signing key"), "%s", err.msg);
		talloc_free(c3);
		talloc_free(only_sig);
	}
	talloc_free(cfg);
}
END_TEST

static Suite *jose_suite(void)
{
	Suite *s = suite_create("jose");
	TCase *tc = tcase_create("jose");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cause_table);
	tcase_add_test(tc, sign_verify_round_trip);
	tcase_add_test(tc, header_is_what_contract_says);
	tcase_add_test(tc, alg_none_refused);
	tcase_add_test(tc, alg_confusion_hs256);
	tcase_add_test(tc, forged_headers);
	tcase_add_test(tc, tampering);
	tcase_add_test(tc, time_window);
	tcase_add_loop_test(tc, claims_decode, 0,
			    (int)(sizeof(claim_cases) / sizeof(claim_cases[0])));
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, encrypt_decrypt);
	tcase_add_test(tc, jwe_refusals);
	tcase_add_test(tc, concat_kdf_rfc7518);
	tcase_add_test(tc, protect_profiles);
	tcase_add_test(tc, open_downlink);
	tcase_add_test(tc, replay_cache);
	tcase_add_test(tc, key_file_permissions);
	tcase_add_test(tc, key_dir_contents);
	tcase_add_test(tc, jwks_files);
	tcase_add_test(tc, jwks_file_permissions);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, generated_files);
	tcase_add_test(tc, config_section);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jose_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
