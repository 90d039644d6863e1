/* msgin5g-gw security: what oauth_keys.c and oauth_token.c share (the NRF's public keys). */
#ifndef MGW_OAUTH_INT_H
#define MGW_OAUTH_INT_H

#include <stddef.h>
#include <openssl/evp.h>

#define OAUTH_KID_MAX 64

/* The signature algorithms accepted on access tokens: the allow-list. Anything else (none,
 * HS*, PS*, ES384...) is refused before any key or library sees the token. */
enum oauth_alg {
	OAUTH_ES256 = 0, /* ECDSA P-256 + SHA-256 (RFC 7518 3.4) */
	OAUTH_RS256 = 1, /* RSASSA-PKCS1-v1_5 + SHA-256, keys of 2048 bits or more */
};

/* One NRF public key. The EVP_PKEY is freed by a talloc destructor. */
struct oauth_key {
	char kid[OAUTH_KID_MAX + 1]; /* "" when the file gives none (PEM) */
	enum oauth_alg alg;          /* the one algorithm this key verifies */
	EVP_PKEY *pk;
};

struct oauth_keyset {
	struct oauth_key **v;
	size_t n;
};

/* Load FILE: a JWKS ({"keys":[...]}, EC P-256 or RSA public keys; "use" sig and "alg"
 * ES256/RS256 when given) or PEM (PUBLIC KEY and CERTIFICATE blocks). A private or
 * symmetric key, an unknown kty, a weak RSA key or an empty set is an error. MGW_OK, or
 * MGW_E_CONFIG with a one-line reason in why. */
int oauth_keys_load(void *ctx, const char *file, struct oauth_keyset **out, char *why,
		    size_t whylen);
/* The same for the file's bytes (fuzz target, unit tests). */
int oauth_keys_parse(void *ctx, const char *buf, size_t len, struct oauth_keyset **out,
		     char *why, size_t whylen);

struct mgw_oauth2_check;
struct mgw_token_verifier;
/* mgw_token_verifier_alloc() with the key file's bytes given (fuzz target, unit tests). */
int oauth_verifier_alloc_buf(void *ctx, const struct mgw_oauth2_check *cfg, const char *keys,
			     size_t len, struct mgw_token_verifier **out, char *errbuf,
			     size_t errlen);

#endif
