/* JOSE protection profiles toward Application Servers (issue 7, interfaces.md 7): the
 * gateway's key set, JWS (ES256) over the message's bound claims, nested sign-then-encrypt
 * JWE (ECDH-ES + A256GCM) to an AS's key, and the reverse for downlink. Built on cjose
 * 0.6.2 (JWS/JWE/JWK) and OpenSSL 3 (key files, generation). doc/internals/jose.md has the
 * formats, the key files, rotation and every refusal cause.
 *
 * What the gateway signs (uplink, profile sign) is a JWS compact serialization:
 *   protected header {"alg":"ES256","kid":"<gateway sig kid>","typ":"msgin5g+jwt"}
 *   claims {"oriAddr":{"addrType":"UE","addr":..},"destAddr":{"addrType":"AS","addr":..},
 *           "msgId":..,"appId":..(if any),"payload":"<original payload>","iat":<s>,
 *           "jti":"<random>"}
 * With profile encrypt that JWS is the plaintext of a JWE compact serialization:
 *   {"alg":"ECDH-ES","enc":"A256GCM","kid":"<AS enc kid>","cty":"JWT","epk":{..}}.
 * Downlink mirrors it: an AS signs the same claims (oriAddr = the AS) with its key and may
 * encrypt them to the gateway's encryption key.
 *
 * Algorithms: one allow-list per key, checked on the header *before* cjose sees the
 * object: a signing key allows ES256 only, an encryption key ECDH-ES with A256GCM only.
 * "none", HS*, RS*, PS*, RSA1_5, RSA-OAEP, dir, A*KW, other encs: MGW_JOSE_ALG_NOT_ALLOWED.
 * Headers with crit, b64, zip, jwk, jku, x5u, x5c: MGW_JOSE_UNSUPPORTED.
 *
 * Errors: every function returns an mgw_err and fills struct mgw_jose_err with a cause
 * (machine-readable, for the audit record), where it went wrong and one line of text.
 * Texts name kids, files, modes and members, never key bytes or payload. Output
 * parameters are written only on success. Nothing here logs.
 */
#ifndef MGW_JOSE_H
#define MGW_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/msg.h>

#define MGW_JOSE_KID_MAX 64          /* kid: 1..64 of [A-Za-z0-9_-] (own keys) or printable */
#define MGW_JOSE_JTI_MAX 64
#define MGW_JOSE_MAX_DEFAULT 65536   /* longest JWS/JWE compact accepted */
#define MGW_JOSE_SKEW_DEFAULT 300    /* seconds: |now - iat| allowed */
#define MGW_JOSE_TYP "msgin5g+jwt"   /* typ of what the gateway signs */

/* ---- causes ---- */
enum mgw_jose_cause {
	MGW_JOSE_OK = 0,
	MGW_JOSE_MALFORMED,       /* not compact JOSE, bad base64url/JSON, member missing */
	MGW_JOSE_TOO_BIG,         /* over the size limit */
	MGW_JOSE_UNSUPPORTED,     /* crit, b64, zip, embedded/remote keys, other typ */
	MGW_JOSE_ALG_NOT_ALLOWED, /* alg/enc not in the key's allow-list (none, HS256, ...) */
	MGW_JOSE_UNKNOWN_KID,     /* no key with that kid (for that peer and use) */
	MGW_JOSE_BAD_SIGNATURE,   /* the signature does not verify */
	MGW_JOSE_DECRYPT_FAILED,  /* the JWE does not decrypt (tag, wrong key) */
	MGW_JOSE_EXPIRED,         /* iat older than now - skew, or exp passed */
	MGW_JOSE_NOT_YET_VALID,   /* iat later than now + skew, or nbf ahead */
	MGW_JOSE_REPLAY,          /* the same claims under the same key seen before */
	MGW_JOSE_CLAIM_MISMATCH,  /* claims do not match the envelope (dest, msgId, ...) */
	MGW_JOSE_UNSIGNED,        /* require_signed_downlink and the payload is not signed */
	MGW_JOSE_NO_KEY,          /* no key to sign or encrypt with */
	MGW_JOSE_INTERNAL,        /* out of memory, crypto library failure */
};

struct mgw_jose_err {
	enum mgw_jose_cause cause;
	char where[32];                /* "header.alg", "claims.msgId", "jwe.tag", ... or "" */
	char text[MGW_DIAG_TEXT_MAX];  /* one line */
};

/* "ALG_NOT_ALLOWED" ...: the audit cause. Never NULL. */
const char *mgw_jose_cause_name(enum mgw_jose_cause c);
/* The mgw_err each cause maps to (the one table): MALFORMED -> MGW_E_MALFORMED, TOO_BIG ->
 * MGW_E_TOO_BIG, UNSUPPORTED -> MGW_E_UNSUPPORTED, EXPIRED/NOT_YET_VALID -> MGW_E_EXPIRED,
 * REPLAY -> MGW_E_REPLAY, UNSIGNED -> MGW_E_POLICY, NO_KEY -> MGW_E_NOT_FOUND, INTERNAL ->
 * MGW_E_INTERNAL, every failed protection check (alg, kid, signature, decryption,
 * claims) -> MGW_E_CRYPTO. */
int mgw_jose_cause_rc(enum mgw_jose_cause c);

/* ---- configuration: the "security:" section (interfaces.md 7) ---- */
enum mgw_jose_protection { MGW_JOSE_TRANSPORT = 0, MGW_JOSE_SIGN, MGW_JOSE_ENCRYPT };
const char *mgw_jose_protection_name(enum mgw_jose_protection p); /* "transport" ... */

struct mgw_jose_app_cfg {
	char *as;       /* the AS's addr (destAddr/oriAddr of addrType AS) */
	char *jwks;     /* its public JWKS file, or NULL */
	int protection; /* enum mgw_jose_protection */
};

struct mgw_jose_cfg {
	char *keys;                       /* the gateway's private keys (directory), or NULL */
	struct mgw_cfg_list applications; /* of struct mgw_jose_app_cfg */
	bool require_signed_downlink;
	int64_t max_skew_ms;              /* iat window, both directions */
	int64_t replay_cache;             /* most downlink objects remembered for REPLAY */
};
extern const struct mgw_cfg_schema mgw_jose_cfg_schema;

/* ---- key set ---- */
enum mgw_jose_use { MGW_JOSE_USE_SIG = 1, MGW_JOSE_USE_ENC = 2 };
enum mgw_jose_state { MGW_JOSE_ACTIVE = 0, MGW_JOSE_RETIRED = 1 };
/* algorithm allow-list bits */
#define MGW_JOSE_ALG_ES256 0x1u           /* JWS ES256 (P-256, SHA-256) */
#define MGW_JOSE_ALG_ECDH_ES_A256GCM 0x2u /* JWE alg ECDH-ES, enc A256GCM (P-256) */

/* An immutable set: the gateway's own keys (private, from the keys directory), and per
 * application its profile and public keys (from its JWKS). SIGHUP: load a new set; on
 * success use it and free the old one, on failure keep the old one. Keys of the old set
 * stay valid for as long as that set lives; a key verifies/decrypts until its file (or
 * JWKS entry) is removed and the set reloaded. Private key material lives only inside
 * cjose/OpenSSL key objects (EC_KEY, freed with BN_clear_free) and buffers wiped here. */
struct mgw_jose_keyset;

/* Everything from cfg: the keys directory (if set) and each application's JWKS (if set).
 * MGW_E_CONFIG with err->msg naming the file and what is wrong (mode, name, curve, ...). */
int mgw_jose_keyset_load(void *ctx, const struct mgw_jose_cfg *cfg,
			 struct mgw_jose_keyset **out, struct mgw_cfg_err *err);
/* An empty set with defaults (skew 300 s, unsigned downlink allowed). */
int mgw_jose_keyset_alloc(void *ctx, struct mgw_jose_keyset **out);
void mgw_jose_keyset_free(struct mgw_jose_keyset *ks); /* NULL is fine */
void mgw_jose_keyset_set_skew(struct mgw_jose_keyset *ks, int64_t seconds);
void mgw_jose_keyset_set_require_signed(struct mgw_jose_keyset *ks, bool on);
/* Private keys of the gateway from a directory: files <kid>.sig.pem / <kid>.enc.pem
 * (PKCS#8 PEM, EC P-256), retired ones <kid>.sig.retired.pem / <kid>.enc.retired.pem;
 * other names ending in .pem are an error, files not ending in .pem are ignored. Each file
 * must be a regular file owned by the user (or root) with no group/other permission
 * ("mode 0644 ... chmod 600"); the directory must not be group/other writable. At most one
 * active key per use. */
int mgw_jose_keyset_add_dir(struct mgw_jose_keyset *ks, const char *dir, struct mgw_cfg_err *err);
/* One private key from PEM text (tests, tools). name is used in messages. */
int mgw_jose_keyset_add_pem(struct mgw_jose_keyset *ks, const char *kid, enum mgw_jose_use use,
			    enum mgw_jose_state state, const char *pem, size_t len,
			    const char *name, struct mgw_cfg_err *err);
/* An application and its profile; its public keys from a JWKS (RFC 7517 {"keys":[..]}):
 * EC P-256 keys only, each with a unique kid and "use" (sig|enc) or "alg" (ES256 |
 * ECDH-ES), no private members. jwks may be NULL (no keys). The file must not be group or
 * other writable (it is a trust anchor). Adding an application twice is an error. */
int mgw_jose_keyset_add_app(struct mgw_jose_keyset *ks, const char *as,
			    enum mgw_jose_protection prot, const char *jwks_file,
			    struct mgw_cfg_err *err);
int mgw_jose_keyset_add_app_jwks(struct mgw_jose_keyset *ks, const char *as,
				 enum mgw_jose_protection prot, const char *json, size_t len,
				 const char *name, struct mgw_cfg_err *err);
/* The profile for messages to this AS (TRANSPORT if unknown). */
enum mgw_jose_protection mgw_jose_keyset_protection(const struct mgw_jose_keyset *ks,
						    const char *as);

/* Listing (no key material): own keys first (peer NULL), then each application's. */
struct mgw_jose_key_info {
	const char *peer; /* NULL: the gateway's own key */
	const char *kid;
	enum mgw_jose_use use;
	enum mgw_jose_state state;
	unsigned algs;    /* MGW_JOSE_ALG_* */
	bool has_private;
	const char *file; /* where it came from */
};
size_t mgw_jose_keyset_count(const struct mgw_jose_keyset *ks);
int mgw_jose_keyset_key(const struct mgw_jose_keyset *ks, size_t i, struct mgw_jose_key_info *out);
/* The gateway's public JWKS (RFC 7517) as compact JSON under ctx: the active and retired
 * signing keys (verifiers keep checking older signatures) and the active encryption key,
 * each with kty, crv, x, y, kid, use, alg. */
int mgw_jose_keyset_export(void *ctx, const struct mgw_jose_keyset *ks, char **json);

/* ---- key files (msgin5g-gwctl keys) ---- */
/* Create a new P-256 key in dir (made 0700 if missing) as <kid>.<use>.pem, mode 0600,
 * O_EXCL. kid = "gw-<use>-<YYYYMMDD>-<8 hex>"; copied to kid_out. */
int mgw_jose_key_generate(const char *dir, enum mgw_jose_use use, int64_t now, char *kid_out,
			  size_t kid_cap, struct mgw_cfg_err *err);
/* Rename <kid>.<use>.pem to <kid>.<use>.retired.pem. MGW_E_NOT_FOUND if no active key
 * file has that kid. */
int mgw_jose_key_retire(const char *dir, const char *kid, struct mgw_cfg_err *err);
/* Rotation: generate a new signing and a new encryption key, then retire the previously
 * active ones. The new kids are copied out. */
int mgw_jose_key_rotate(const char *dir, int64_t now, char *sig_kid, char *enc_kid,
			size_t kid_cap, struct mgw_cfg_err *err);

/* ---- JWS / JWE ---- */
/* The claims the gateway binds (see the top of this file). On output (verify) payload
 * points into a buffer under the caller's ctx. */
struct mgw_jose_claims {
	struct mgw_addr ori;
	struct mgw_addr dest;
	char msg_id[MGW_ID_MAX + 1];
	bool has_app_id;
	char app_id[MGW_ID_MAX + 1];
	bool has_payload;
	const uint8_t *payload; /* UTF-8 text (a JSON string cannot carry other bytes) */
	size_t payload_len;
	int64_t iat;            /* seconds */
	bool has_exp, has_nbf;  /* verify only: optional exp/nbf (honoured) */
	int64_t exp, nbf;
	char jti[MGW_JOSE_JTI_MAX + 1]; /* sign: "" -> 128 random bits, base64url */
};

/* Sign c with the gateway's active signing key: a JWS compact string under ctx. */
int mgw_jose_sign(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_jose_claims *c,
		  char **jws, struct mgw_jose_err *err);

/* What a verification or opening found. */
struct mgw_jose_result {
	enum mgw_prot prot;   /* NONE (plain), JWS, JWE */
	bool is_signed;       /* a signature of the peer verified */
	char kid[MGW_JOSE_KID_MAX + 1];     /* signer's kid */
	char enc_kid[MGW_JOSE_KID_MAX + 1]; /* the gateway key that decrypted */
	int64_t iat;
	uint8_t replay_id[32]; /* SHA-256 over peer, kid and the claims bytes */
};

/* Verify a JWS compact of len bytes with the signing keys of peer (an application's AS
 * name; NULL: the gateway's own keys), iat within now +- skew, exp/nbf if present. The
 * claims' envelope members are *not* compared here (mgw_jose_open does). */
int mgw_jose_verify(void *ctx, const struct mgw_jose_keyset *ks, const char *peer,
		    const char *jws, size_t len, int64_t now, struct mgw_jose_claims *out,
		    struct mgw_jose_result *res, struct mgw_jose_err *err);

/* Encrypt pt to the first encryption key in peer's JWKS: a JWE compact under ctx with
 * cty (may be NULL; "JWT" for a nested JWS). */
int mgw_jose_encrypt(void *ctx, const struct mgw_jose_keyset *ks, const char *peer,
		     const uint8_t *pt, size_t n, const char *cty, char **jwe,
		     struct mgw_jose_err *err);
/* Decrypt a JWE compact with the gateway's encryption key named by its kid (active or
 * retired). *pt (under ctx, NUL-terminated) and *n; *cty (under ctx) or NULL. */
int mgw_jose_decrypt(void *ctx, const struct mgw_jose_keyset *ks, const char *jwe, size_t len,
		     uint8_t **pt, size_t *n, char **cty, struct mgw_jose_result *res,
		     struct mgw_jose_err *err);

/* Parse claims JSON (what a JWS carries) strictly: an object without duplicate members;
 * oriAddr, destAddr, msgId, iat required; appId, payload, exp, nbf, jti optional and typed;
 * other members ignored. payload points into a copy under ctx. Exposed for the fuzzer. */
int mgw_jose_claims_decode(void *ctx, const uint8_t *buf, size_t len,
			   struct mgw_jose_claims *out, struct mgw_jose_err *err);

/* ---- replay cache (downlink) ---- */
struct mgw_jose_replay;
/* Remember up to max ids (each until its expiry). */
int mgw_jose_replay_alloc(void *ctx, size_t max, struct mgw_jose_replay **out);
void mgw_jose_replay_free(struct mgw_jose_replay *r);
/* MGW_OK and remembered until expires (unix s); MGW_E_REPLAY if seen and not expired;
 * MGW_E_FULL if max live ids are remembered (refuse: fail closed). */
int mgw_jose_replay_check(struct mgw_jose_replay *r, const uint8_t id[32], int64_t expires,
			  int64_t now);

/* ---- the profiles on a message ---- */
/* Uplink: if m->dest is an AS whose profile is sign or encrypt, build the protected payload
 * for m (claims from m: ori, dest, msgId, appId, payload; iat = now) under ctx: *out and
 * *prot (MGW_PROT_JWS / MGW_PROT_JWE). Profile transport or not an AS: MGW_OK, *out NULL,
 * *prot MGW_PROT_NONE (the payload goes as it is). */
int mgw_jose_protect(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_msg *m,
		     int64_t now, char **out, size_t *out_len, enum mgw_prot *prot,
		     struct mgw_jose_err *err);
/* The same with a floor: the stronger of the AS's profile and min (a device whose registry
 * entry says protection: sign|encrypt). Encrypting needs the destination to be an
 * application with keys (else NO_KEY). */
int mgw_jose_protect_min(void *ctx, const struct mgw_jose_keyset *ks, const struct mgw_msg *m,
			 enum mgw_jose_protection min, int64_t now, char **out, size_t *out_len,
			 enum mgw_prot *prot, struct mgw_jose_err *e);
/* Downlink: m is the delivery from an AS (m->ori AS:<name>) whose payload may be a JWS,
 * a JWE of a JWS, or a JWE of plain content (all compact), or plain. Decrypts with the
 * gateway's key, verifies with the AS's keys, checks iat, that the claims' oriAddr,
 * destAddr, msgId and appId equal m's, and (if rp) that the object is not a replay. Plain
 * or encrypted-only content is refused (UNSIGNED) when require_signed_downlink is set.
 * On success *out and *out_len (under ctx, NUL-terminated) is the payload to deliver and *res
 * says what protected it; plain content from an AS or content from a non-AS originator:
 * MGW_OK with *out NULL (deliver m's payload as it is) and res->prot MGW_PROT_NONE. */
int mgw_jose_open(void *ctx, const struct mgw_jose_keyset *ks, struct mgw_jose_replay *rp,
		  const struct mgw_msg *m, int64_t now, uint8_t **out, size_t *out_len,
		  struct mgw_jose_result *res, struct mgw_jose_err *err);

#endif
