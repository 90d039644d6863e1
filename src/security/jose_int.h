/* msgin5g-gw security: what jose.c and keys.c share (include/mgw/jose.h). */
#ifndef MGW_JOSE_INT_H
#define MGW_JOSE_INT_H

#include <cjose/cjose.h>
#include <openssl/evp.h>

#include <mgw/jose.h>

/* One key: own (private, from the keys directory) or an application's (public, JWKS). The
 * cjose key is released by the talloc destructor; for a private key that frees the EC_KEY,
 * whose private scalar OpenSSL clears (BN_clear_free). */
struct jose_key {
	char kid[MGW_JOSE_KID_MAX + 1];
	enum mgw_jose_use use;
	enum mgw_jose_state state;
	unsigned algs; /* MGW_JOSE_ALG_* allowed with this key */
	bool has_private;
	char *file;
	cjose_jwk_t *jwk;
	EVP_PKEY *pkey; /* own keys: the OpenSSL key (JWE decryption runs on it) */
};

struct jose_app {
	char *as;
	enum mgw_jose_protection prot;
	struct jose_key **keys;
	size_t n_keys;
};

struct mgw_jose_keyset {
	struct jose_key **own;
	size_t n_own;
	struct jose_app **apps;
	size_t n_apps;
	int64_t skew;        /* seconds */
	bool require_signed; /* downlink */
	size_t max_len;      /* longest compact object */
};

/* The gateway's own key of a use: by kid (any state), or with kid NULL the active one. */
const struct jose_key *jose_own_key(const struct mgw_jose_keyset *ks, enum mgw_jose_use use,
				    const char *kid);
const struct jose_app *jose_app_find(const struct mgw_jose_keyset *ks, const char *as);
/* An application's key of a use: by kid, or with kid NULL the first one listed. */
const struct jose_key *jose_app_key(const struct jose_app *app, enum mgw_jose_use use,
				    const char *kid);

/* Strict base64url (RFC 7515 2): only the alphabet, no '=', length not 1 mod 4, unused
 * bits zero. out holds n * 3 / 4 + 1 bytes. Everything from outside passes here before
 * cjose, whose decoder asserts (aborts the process) on an '=' inside its input. */
bool jose_b64u_decode(const char *s, size_t n, uint8_t *out, size_t *out_len);

/* v if it is printable ASCII of at most MGW_JOSE_KID_MAX bytes, else "(unprintable)": for
 * values from objects and files that go into error texts. */
const char *jose_shown(const char *v);

/* Concat KDF of RFC 7518 4.6.2 (NIST SP 800-56A one-step KDF with SHA-256: OpenSSL's
 * SSKDF): out_len bytes from the shared secret z, AlgorithmID alg_id, PartyUInfo apu,
 * PartyVInfo apv, SuppPubInfo out_len * 8. MGW_OK or MGW_E_INTERNAL. */
int jose_concat_kdf(const uint8_t *z, size_t z_len, const char *alg_id, const uint8_t *apu,
		    size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out, size_t out_len);

#endif
