/* msgin5g-gw security: the NRF's public keys that sign OAuth2 access tokens (oauth_int.h).
 *
 * Built on OpenSSL 3 directly (EVP_PKEY_fromdata for JWK members, PEM_read_bio for PEM), not
 * on cjose: each key gets exactly one algorithm here, from its type, so the token's header
 * can only select among keys, never tell a key how to be used (an RSA or EC public key is
 * never an HMAC secret). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "jose_int.h"
#include "oauth_int.h"

#define KEYS_FILE_MAX (1024 * 1024)
#define KEYS_MAX 64
#define RSA_MIN_BITS 2048
#define B64_MAX 1400 /* a 8192-bit modulus is 1366 base64url characters */

static int key_destructor(struct oauth_key *k)
{
	EVP_PKEY_free(k->pk);
	return 0;
}

/* Accept pk (taken: freed on every path) as a key of the set. */
static int add_key(struct oauth_keyset *ks, EVP_PKEY *pk, const char *kid, char *why,
		   size_t whylen)
{
	struct oauth_key *k = NULL, **v;
	char group[32] = "";
	int rc = MGW_E_CONFIG;

	if (ks->n >= KEYS_MAX) {
		snprintf(why, whylen, "more than %d keys", KEYS_MAX);
		goto out;
	}
	if (!(k = talloc_zero(ks, struct oauth_key)))
		goto nomem;
	k->pk = pk;
	pk = NULL;
	talloc_set_destructor(k, key_destructor);
	snprintf(k->kid, sizeof(k->kid), "%s", kid ? kid : "");
	if (EVP_PKEY_is_a(k->pk, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(k->pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL) ||
		    strcmp(group, "prime256v1") != 0) {
			snprintf(why, whylen, "EC key %s is not on P-256 (ES256 only)",
				 jose_shown(k->kid));
			goto out;
		}
		k->alg = OAUTH_ES256;
	} else if (EVP_PKEY_is_a(k->pk, "RSA")) {
		if (EVP_PKEY_get_bits(k->pk) < RSA_MIN_BITS) {
			snprintf(why, whylen, "RSA key %s has %d bits (at least %d)",
				 jose_shown(k->kid), EVP_PKEY_get_bits(k->pk), RSA_MIN_BITS);
			goto out;
		}
		k->alg = OAUTH_RS256;
	} else {
		snprintf(why, whylen, "key %s is neither EC P-256 nor RSA", jose_shown(k->kid));
		goto out;
	}
	if (!(v = talloc_realloc(ks, ks->v, struct oauth_key *, ks->n + 1)))
		goto nomem;
	ks->v = v;
	ks->v[ks->n++] = k;
	k = NULL;
	rc = MGW_OK;
	goto out;
nomem:
	snprintf(why, whylen, "out of memory");
	rc = MGW_E_NOMEM;
out:
	EVP_PKEY_free(pk);
	talloc_free(k);
	return rc;
}

/* A JWK member: strict base64url of at most max bytes (0: exactly want). */
static bool jwk_bytes(const json_t *jk, const char *name, uint8_t *out, size_t want,
		      size_t max, size_t *len)
{
	const char *s = json_string_value(json_object_get(jk, name));
	size_t n = s ? strlen(s) : 0;

	if (!s || n == 0 || n > B64_MAX || (n / 4 * 3 + 3) > max + 3)
		return false;
	if (!jose_b64u_decode(s, n, out, len))
		return false;
	return want ? *len == want : *len > 0 && *len <= max;
}

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(pc);
	return pk;
}

static EVP_PKEY *jwk_ec(const json_t *jk)
{
	const char *crv = json_string_value(json_object_get(jk, "crv"));
	uint8_t pub[1 + 64 + 4];
	char group[] = "prime256v1";
	size_t xl = 0, yl = 0;
	OSSL_PARAM params[3];

	if (!crv || strcmp(crv, "P-256") != 0)
		return NULL;
	pub[0] = 0x04; /* uncompressed point */
	if (!jwk_bytes(jk, "x", pub + 1, 32, 32, &xl) || !jwk_bytes(jk, "y", pub + 33, 32, 32, &yl))
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, 65);
	params[2] = OSSL_PARAM_construct_end();
	return fromdata("EC", params); /* OpenSSL refuses a point off the curve */
}

static EVP_PKEY *jwk_rsa(const json_t *jk)
{
	uint8_t n[1024 + 4], e[8 + 4];
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pk = NULL;

	if (!jwk_bytes(jk, "n", n, 0, 1024, &nl) || !jwk_bytes(jk, "e", e, 0, 8, &el))
		goto out;
	if (!(bn = BN_bin2bn(n, (int)nl, NULL)) || !(be = BN_bin2bn(e, (int)el, NULL)) ||
	    !(b = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) ||
	    !(params = OSSL_PARAM_BLD_to_param(b)))
		goto out;
	pk = fromdata("RSA", params);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* One element of "keys". */
static int jwk_one(struct oauth_keyset *ks, const json_t *jk, size_t i, char *why, size_t whylen)
{
	const char *kty = json_string_value(json_object_get(jk, "kty"));
	const char *kid = json_string_value(json_object_get(jk, "kid"));
	const char *use = json_string_value(json_object_get(jk, "use"));
	const char *alg = json_string_value(json_object_get(jk, "alg"));
	const char *want;
	EVP_PKEY *pk;

	if (!json_is_object(jk) || !kty) {
		snprintf(why, whylen, "keys[%zu]: not a JWK (no kty)", i);
		return MGW_E_CONFIG;
	}
	if (json_object_get(jk, "d") || json_object_get(jk, "p") || json_object_get(jk, "k")) {
		snprintf(why, whylen, "keys[%zu]: holds private or symmetric key material: give "
			 "the NRF's public keys only", i);
		return MGW_E_CONFIG;
	}
	if (kid && strlen(kid) > OAUTH_KID_MAX) {
		snprintf(why, whylen, "keys[%zu]: kid longer than %d", i, OAUTH_KID_MAX);
		return MGW_E_CONFIG;
	}
	if (use && strcmp(use, "sig") != 0) {
		snprintf(why, whylen, "keys[%zu]: use \"%s\" is not sig", i, jose_shown(use));
		return MGW_E_CONFIG;
	}
	want = strcmp(kty, "EC") == 0 ? "ES256" : "RS256";
	if (alg && strcmp(alg, want) != 0) {
		snprintf(why, whylen, "keys[%zu]: alg %s (only ES256 for EC, RS256 for RSA)", i,
			 jose_shown(alg));
		return MGW_E_CONFIG;
	}
	if (strcmp(kty, "EC") == 0)
		pk = jwk_ec(jk);
	else if (strcmp(kty, "RSA") == 0)
		pk = jwk_rsa(jk);
	else {
		snprintf(why, whylen, "keys[%zu]: kty %s is not EC or RSA", i, jose_shown(kty));
		return MGW_E_CONFIG;
	}
	if (!pk) {
		snprintf(why, whylen, "keys[%zu]: not a valid %s public key (crv P-256 with x, y; "
			 "or n, e)", i, kty);
		return MGW_E_CONFIG;
	}
	return add_key(ks, pk, kid, why, whylen);
}

static int load_jwks(struct oauth_keyset *ks, const char *buf, size_t len, char *why,
		     size_t whylen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je), *keys;
	size_t i;
	int rc = MGW_E_CONFIG;

	if (!doc) {
		snprintf(why, whylen, "not JSON (line %d: %s)", je.line, je.text);
		goto out;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		snprintf(why, whylen, "not a JWKS (no \"keys\" array)");
		goto out;
	}
	for (i = 0; i < json_array_size(keys); i++)
		if ((rc = jwk_one(ks, json_array_get(keys, i), i, why, whylen)) != MGW_OK)
			goto out;
	rc = MGW_OK;
out:
	json_decref(doc);
	return rc;
}

/* One PEM block: PUBLIC KEY or CERTIFICATE. */
static int pem_one(struct oauth_keyset *ks, const char *name, const unsigned char *der,
		   long dlen, char *why, size_t whylen)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = NULL;
	X509 *x;

	if (strcmp(name, "PUBLIC KEY") == 0) {
		pk = d2i_PUBKEY(NULL, &p, dlen);
	} else if (strcmp(name, "CERTIFICATE") == 0) {
		if ((x = d2i_X509(NULL, &p, dlen))) {
			pk = X509_get_pubkey(x);
			X509_free(x);
		}
	} else {
		snprintf(why, whylen, "PEM block \"%s\": only PUBLIC KEY and CERTIFICATE (never a "
			 "private key)", jose_shown(name));
		return MGW_E_CONFIG;
	}
	if (!pk) {
		snprintf(why, whylen, "PEM block \"%s\" does not decode", name);
		return MGW_E_CONFIG;
	}
	return add_key(ks, pk, NULL, why, whylen);
}

static int load_pem(struct oauth_keyset *ks, const char *buf, size_t len, char *why,
		    size_t whylen)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	char *name = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	long dlen = 0;
	int rc = MGW_E_CONFIG;

	if (!bio) {
		snprintf(why, whylen, "out of memory");
		return MGW_E_NOMEM;
	}
	while (PEM_read_bio(bio, &name, &hdr, &der, &dlen) == 1) {
		rc = pem_one(ks, name, der, dlen, why, whylen);
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(der);
		name = hdr = NULL;
		der = NULL;
		if (rc != MGW_OK)
			goto out;
	}
	ERR_clear_error(); /* the end of the input reads as an error */
	rc = MGW_OK;
out:
	BIO_free(bio);
	return rc;
}

static int read_file(void *ctx, const char *file, char **buf, size_t *len, char *why,
		     size_t whylen)
{
	FILE *f = fopen(file, "rb");
	char *b = NULL;
	size_t n;
	int rc = MGW_E_CONFIG;

	if (!f) {
		snprintf(why, whylen, "cannot read: %s", strerror(errno));
		return rc;
	}
	if (!(b = talloc_size(ctx, KEYS_FILE_MAX + 1))) {
		snprintf(why, whylen, "out of memory");
		rc = MGW_E_NOMEM;
		goto out;
	}
	n = fread(b, 1, KEYS_FILE_MAX + 1, f);
	if (ferror(f) || n > KEYS_FILE_MAX) {
		snprintf(why, whylen, ferror(f) ? "read error" : "larger than 1 MiB");
		talloc_free(b);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	rc = MGW_OK;
out:
	fclose(f);
	return rc;
}

int oauth_keys_parse(void *ctx, const char *buf, size_t len, struct oauth_keyset **out,
		     char *why, size_t whylen)
{
	struct oauth_keyset *ks = talloc_zero(ctx, struct oauth_keyset);
	size_t i = 0;
	int rc;

	if (!ks) {
		snprintf(why, whylen, "out of memory");
		return MGW_E_NOMEM;
	}
	if (len > KEYS_FILE_MAX) {
		snprintf(why, whylen, "larger than 1 MiB");
		rc = MGW_E_CONFIG;
		goto out;
	}
	while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
		i++;
	if (i < len && buf[i] == '{')
		rc = load_jwks(ks, buf, len, why, whylen);
	else
		rc = load_pem(ks, buf, len, why, whylen);
	if (rc == MGW_OK && ks->n == 0) {
		snprintf(why, whylen, "no public key in the file (JWKS or PEM)");
		rc = MGW_E_CONFIG;
	}
	if (rc != MGW_OK)
		goto out;
	*out = ks;
	ks = NULL;
out:
	talloc_free(ks);
	return rc;
}

int oauth_keys_load(void *ctx, const char *file, struct oauth_keyset **out, char *why,
		    size_t whylen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = read_file(NULL, file, &buf, &len, why, whylen)) != MGW_OK)
		return rc;
	rc = oauth_keys_parse(ctx, buf, len, out, why, whylen);
	talloc_free(buf);
	return rc;
}
