/* COSE object security for devices on weak or shared channels (issue 7): COSE_Encrypt0 and
 * COSE_Mac0 (RFC 9052) with a per-device symmetric key, a replay window on the Partial IV,
 * built on libcbor and OpenSSL 3. Pure functions over bounded input: no I/O, no logging,
 * fuzzable. doc/internals/cose.md describes the format, the nonce and the window.
 *
 * Algorithms (RFC 9053), one per key; a key never serves another algorithm:
 *   AES-CCM-16-64-128 (10)  Encrypt0: 16-byte key, 13-byte nonce, 8-byte tag
 *   AES-MAC 128/64    (14)  Mac0: AES-CBC-MAC, 16-byte key, 8-byte tag
 *   HMAC 256/64       (4)   Mac0: HMAC-SHA-256 cut to 8 bytes, 32..64-byte key
 *   HMAC 256/256      (5)   Mac0: HMAC-SHA-256, 32..64-byte key
 *
 * Nonce (Encrypt0), RFC 8613 section 5.2 with nonce length 13:
 *   nonce = Common IV XOR ( len(ID) | ID left-padded with zeros to 7 bytes |
 *                           Partial IV left-padded with zeros to 5 bytes )
 * where ID is the Sender ID of the endpoint that chose the Partial IV (ID_PIV). Or, in
 * plain-IV mode, the whole 13-byte IV travels in header 5 (the RFC 9052 examples).
 *
 * The gateway profile (mgw_cose_unprotect / mgw_cose_protect) fixes the choices:
 *  - uplink: the device's kid (1..7 bytes) in header 4, its sequence number as a Partial IV
 *    in header 6; nonce ID = the device's kid. Mac0 must carry the Partial IV in the
 *    *protected* header (an unprotected one is not covered by the MAC and could be
 *    rewritten to slip a replay past the window);
 *  - downlink: tag, protected {1: alg}, Partial IV = the gateway's sequence number for the
 *    device, no kid; nonce ID = the empty string (MGW_COSE_GW_ID). A device kid is never
 *    empty, so uplink and downlink nonces under the one key can never collide (the first
 *    nonce byte, len(ID), differs), and a downlink message reflected back as uplink fails.
 *
 * Errors: MGW_E_MALFORMED / MGW_E_TYPE / MGW_E_TOO_BIG / MGW_E_MISSING / MGW_E_UNSUPPORTED
 * for input that is not an acceptable COSE object (diag.where is a pointer into the COSE
 * array: "/0" protected, "/1/4" the kid in the unprotected map, ...); MGW_E_CRYPTO for every
 * failed protection check (tag, MAC, algorithm or kid not the key's); MGW_E_REPLAY from
 * the window; MGW_E_INVAL for caller errors. Diagnostics never hold key bytes or payload.
 * Output parameters are written only on success.
 */
#ifndef MGW_COSE_H
#define MGW_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mgw/err.h>

/* COSE algorithm identifiers (IANA "COSE Algorithms") this module implements. */
enum mgw_cose_alg {
	MGW_COSE_ALG_HMAC_256_64 = 4,
	MGW_COSE_ALG_HMAC_256_256 = 5,
	MGW_COSE_ALG_AES_CCM_16_64_128 = 10,
	MGW_COSE_ALG_AES_MAC_128_64 = 14,
};

/* The CBOR tags of the two message types (RFC 9052 section 2). */
enum mgw_cose_type {
	MGW_COSE_ANY = 0, /* decode: either, told apart by the tag (which is then required) */
	MGW_COSE_ENCRYPT0 = 16,
	MGW_COSE_MAC0 = 17,
};

#define MGW_COSE_KID_MAX 7          /* a kid is a Sender ID: nonce length - 6 (RFC 8613 3.3) */
#define MGW_COSE_PIV_MAX 5          /* Partial IV bytes (RFC 8613 section 6.1) */
#define MGW_COSE_SEQ_MAX 0xFFFFFFFFFFull /* the largest sequence number a Partial IV holds */
#define MGW_COSE_NONCE_LEN 13       /* AES-CCM-16-64-128 */
#define MGW_COSE_PAYLOAD_MAX 65535  /* longest plaintext / payload (AES-CCM with L = 2) */
#define MGW_COSE_AAD_MAX 4096       /* longest external_aad */
#define MGW_COSE_MAX_DEFAULT 16384  /* longest COSE message decoded when max_len is 0 */
#define MGW_COSE_HDR_MAX 16         /* most entries in one header map */

/* ==================================================================================== */
/* keys                                                                                 */
/* ==================================================================================== */

/* What a key is made of. The bytes are copied; the caller wipes its own copies. */
struct mgw_cose_key_spec {
	int alg;                  /* enum mgw_cose_alg: the only algorithm the key serves */
	const uint8_t *key;       /* 16 bytes (CCM, AES-MAC) or 32..64 (HMAC) */
	size_t key_len;
	const uint8_t *kid;       /* the device's Sender ID, 0..7 bytes (empty: only for the
				   * RFC 8613 vectors; the gateway profile needs 1..7) */
	size_t kid_len;
	const uint8_t *common_iv; /* AES-CCM: 13 bytes, or NULL for plain-IV mode only */
	size_t common_iv_len;
};

struct mgw_cose_key;

/* A key under ctx. The secret is wiped (OPENSSL_cleanse) when the key is freed, with
 * mgw_cose_key_free() or with ctx. MGW_E_INVAL (diag says which field) for an unknown
 * algorithm, a key length the algorithm does not take, a kid over 7 bytes, a Common IV
 * that is not 13 bytes, or a Common IV on a MAC key. */
int mgw_cose_key_alloc(void *ctx, const struct mgw_cose_key_spec *spec,
		       struct mgw_cose_key **out, struct mgw_diag *diag);
void mgw_cose_key_free(struct mgw_cose_key *key); /* NULL is fine */
int mgw_cose_key_alg(const struct mgw_cose_key *key);
/* The key's kid (borrowed, valid as long as the key): its length, *kid set. */
size_t mgw_cose_key_kid(const struct mgw_cose_key *key, const uint8_t **kid);

/* "AES-CCM-16-64-128", "AES-MAC 128/64", "HMAC 256/64", "HMAC 256/256" (the RFC 9053
 * names) <-> the identifier. mgw_cose_alg_by_name() returns 0 for any other name;
 * mgw_cose_alg_name() returns "?" for an identifier not listed above. */
int mgw_cose_alg_by_name(const char *name);
const char *mgw_cose_alg_name(int alg);

/* ==================================================================================== */
/* decoding                                                                             */
/* ==================================================================================== */

/* A decoded message. Every pointer borrows from the input buffer: keep it alive. */
struct mgw_cose_msg {
	enum mgw_cose_type type;
	bool tagged;
	const uint8_t *protected_raw; /* what of the protected header enters the Enc/MAC
				       * structure: the bstr's content as received, or
				       * nothing (length 0) when it holds an empty map */
	size_t protected_len;
	bool has_alg;
	bool alg_other;  /* alg is a text string or beyond int64: never a key's algorithm */
	int64_t alg;
	bool has_kid;
	const uint8_t *kid;
	size_t kid_len;
	bool has_piv;
	bool piv_protected; /* the Partial IV stands in the protected header */
	const uint8_t *piv;
	size_t piv_len;
	uint64_t seq;       /* the Partial IV as a number */
	bool has_iv;
	const uint8_t *iv;
	size_t iv_len;
	const uint8_t *content; /* Encrypt0: ciphertext with its tag; Mac0: the payload */
	size_t content_len;
	const uint8_t *tag;     /* Mac0: the MAC tag */
	size_t tag_len;
};

#define MGW_COSE_TAG_REQUIRED 0x1u /* refuse an untagged message (MGW_E_MISSING) */

/* Decode buf as a COSE message of type (or of either type, MGW_COSE_ANY, which needs the
 * tag). Structure only, no key and no crypto: the caller looks the key up by out->kid,
 * checks the window with out->seq, then calls mgw_cose_unprotect() / mgw_cose_decrypt0() /
 * mgw_cose_verify0(). Strict (doc/internals/cose.md "Accepted input"):
 *  - at most max_len bytes (0: MGW_COSE_MAX_DEFAULT), else MGW_E_TOO_BIG before parsing;
 *  - one definite-length array (3 or 4 items), optionally behind tag 16/17, nothing after;
 *    no indefinite-length item anywhere; any other tag is MGW_E_UNSUPPORTED, the other
 *    COSE tag MGW_E_TYPE;
 *  - header labels are integers or text strings, each at most once over both maps, at most
 *    MGW_COSE_HDR_MAX per map; alg (1) an integer or text; crit (2) only protected, 1..16
 *    labels each present in the protected map and understood (1, 3, 4, 5, 6), else
 *    MGW_E_UNSUPPORTED; content type (3) uint16 or text; kid (4) bstr of 0..7 bytes; IV (5)
 *    bstr of 1..16; Partial IV (6) bstr of 1..5 bytes, minimally encoded; not both 5 and
 *    6; other labels skipped (their values at most 8 levels deep);
 *  - the protected header is h'' or a bstr holding exactly one map; one holding an empty
 *    map (h'a0') counts as h'' in the Enc/MAC structure (RFC 9052 5.3, 6.3);
 *  - the ciphertext / payload / tag are byte strings (nil, a detached payload, is
 *    MGW_E_UNSUPPORTED). */
int mgw_cose_decode(const uint8_t *buf, size_t len, enum mgw_cose_type type, unsigned flags,
		    size_t max_len, struct mgw_cose_msg *out, struct mgw_diag *diag);

/* ==================================================================================== */
/* the generic operations (every RFC vector goes through these)                         */
/* ==================================================================================== */

/* The inputs of a nonce: ID_PIV and a Partial IV (RFC 8613 5.2), or a whole IV. */
struct mgw_cose_iv {
	const uint8_t *id;  /* ID_PIV, 0..7 bytes */
	size_t id_len;
	const uint8_t *piv; /* Partial IV, 1..5 bytes */
	size_t piv_len;
	const uint8_t *iv;  /* plain-IV mode: the 13-byte IV itself (id and piv unused) */
	size_t iv_len;
};

/* What to write (flags) and how to make the nonce. */
#define MGW_COSE_EMIT_TAG 0x1u /* CBOR tag 16 / 17 in front */
#define MGW_COSE_EMIT_ALG 0x2u /* {1: alg} in the protected header (else the protected header
				* is h'' and alg is implicit in the key, as OSCORE does) */
#define MGW_COSE_EMIT_KID 0x4u /* the key's kid in the unprotected header (4) */
#define MGW_COSE_EMIT_PIV 0x8u /* iv.piv as header 6: unprotected in an Encrypt0 (the nonce
				* covers it), protected in a Mac0 (the MAC covers it) */
#define MGW_COSE_EMIT_IV 0x10u /* iv.iv as header 5, unprotected (plain-IV mode) */
struct mgw_cose_emit {
	unsigned flags;
	struct mgw_cose_iv iv;
	const uint8_t *external_aad; /* bound into the Enc/MAC structure, never sent */
	size_t external_aad_len;
};

/* COSE_Encrypt0 of pt (at most MGW_COSE_PAYLOAD_MAX bytes) under an AES-CCM key: a talloc
 * buffer under ctx. Nonce: e->iv.iv when set (13 bytes), else from the key's Common IV,
 * e->iv.id and e->iv.piv. The caller must never reuse a (key, nonce) pair. */
int mgw_cose_encrypt0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_emit *e,
		      const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len,
		      struct mgw_diag *diag);

/* COSE_Mac0 of payload under a MAC key (e->iv only supplies the Partial IV when
 * MGW_COSE_EMIT_PIV is set). */
int mgw_cose_mac0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_emit *e,
		  const uint8_t *payload, size_t payload_len, uint8_t **out, size_t *out_len,
		  struct mgw_diag *diag);

/* Decrypt a decoded Encrypt0 m under key: the plaintext as a talloc buffer under ctx (a
 * 1-byte buffer for an empty plaintext). The alg of m, if any, must be the key's, and a
 * kid in m must be the key's kid (else MGW_E_CRYPTO). Nonce: header 5 if m has it; else the
 * key's Common IV with ID_PIV = the key's kid and m's Partial IV; else (m has neither, an
 * OSCORE response) iv, which must then be given. A tag that does not verify is
 * MGW_E_CRYPTO and no plaintext leaves. */
int mgw_cose_decrypt0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		      const uint8_t *external_aad, size_t external_aad_len,
		      const struct mgw_cose_iv *iv, uint8_t **pt, size_t *pt_len,
		      struct mgw_diag *diag);

/* Verify a decoded Mac0 m under key (same alg and kid rules): MGW_OK or MGW_E_CRYPTO. The
 * tag is compared in constant time. The payload is m->content. */
int mgw_cose_verify0(const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		     const uint8_t *external_aad, size_t external_aad_len, struct mgw_diag *diag);

/* The Partial IV of a sequence number: minimal big-endian, 0 -> h'00' (RFC 8613 6.1). Its
 * length (1..5), or 0 when seq > MGW_COSE_SEQ_MAX. */
size_t mgw_cose_piv_from_seq(uint64_t seq, uint8_t piv[MGW_COSE_PIV_MAX]);

/* ==================================================================================== */
/* the gateway profile                                                                  */
/* ==================================================================================== */

/* The Sender ID the gateway uses in downlink nonces: the empty string. */
#define MGW_COSE_GW_ID_LEN 0

/* Uplink: check and open m, which a device with key sent (the caller found key by m->kid
 * and checked m->seq against the device's window). m must carry the key's kid and a
 * Partial IV (protected, in a Mac0), and no IV header; else MGW_E_MISSING (no kid, no
 * Partial IV), MGW_E_UNSUPPORTED (an IV, an unprotected Partial IV in a Mac0) or
 * MGW_E_CRYPTO (not the key's kid or alg).
 * Then mgw_cose_decrypt0() or mgw_cose_verify0() by the key's algorithm. On MGW_OK: *out
 * is the plaintext (Encrypt0) or a copy of the payload (Mac0), a talloc buffer under ctx,
 * and *seq the authenticated sequence number to commit to the window. */
int mgw_cose_unprotect(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		       const uint8_t *external_aad, size_t external_aad_len, uint8_t **out,
		       size_t *out_len, uint64_t *seq, struct mgw_diag *diag);

/* Downlink: protect in for the device with key, with the gateway's sequence number seq for
 * that device (never reused: the caller persists it before sending). Encrypt0 for an
 * AES-CCM key, Mac0 for a MAC key; tagged, protected {1: alg} (plus {6: piv} in a Mac0),
 * no kid; Encrypt0 nonce ID_PIV = the empty string. seq > MGW_COSE_SEQ_MAX is
 * MGW_E_INVAL (the device needs a new key). */
int mgw_cose_protect(void *ctx, const struct mgw_cose_key *key, uint64_t seq,
		     const uint8_t *external_aad, size_t external_aad_len, const uint8_t *in,
		     size_t in_len, uint8_t **out, size_t *out_len, struct mgw_diag *diag);

/* ==================================================================================== */
/* replay window                                                                        */
/* ==================================================================================== */

/* A sliding window over one sender's sequence numbers (RFC 8613 7.4, RFC 4303 3.4.3
 * style): the highest number accepted and a bitmap of the MGW_COSE_REPLAY_WINDOW numbers
 * at and below it. A plain value: copy it, keep it in the device's state, persist it with
 * mgw_cose_replay_save(). */
#define MGW_COSE_REPLAY_WINDOW 64
struct mgw_cose_replay {
	bool used;     /* something was accepted: top and bits are valid */
	uint64_t top;  /* the highest sequence number accepted */
	uint64_t bits; /* bit i: top - i was accepted (bit 0 is top) */
};

void mgw_cose_replay_init(struct mgw_cose_replay *w); /* empty: accepts any number once */
/* May seq be accepted? MGW_OK, or MGW_E_REPLAY with diag "duplicate" (seen) or "too old"
 * (64 or more below the highest). Changes nothing: call it before the crypto check. */
int mgw_cose_replay_check(const struct mgw_cose_replay *w, uint64_t seq, struct mgw_diag *diag);
/* Record seq as accepted: only after the message authenticated. Checks again (MGW_E_REPLAY
 * and nothing changes, so two messages racing with the same number cannot both pass). */
int mgw_cose_replay_commit(struct mgw_cose_replay *w, uint64_t seq, struct mgw_diag *diag);

/* The window as a fixed 18-byte blob for the store's kv: version 1, used, top (8 bytes
 * big-endian), bits (8 bytes big-endian). load refuses (MGW_E_MALFORMED, w untouched) a blob
 * of another length or version, a used window whose bit 0 is clear or whose top exceeds
 * MGW_COSE_SEQ_MAX, and an unused window with any bit set. */
#define MGW_COSE_REPLAY_BLOB_LEN 18
void mgw_cose_replay_save(const struct mgw_cose_replay *w,
			  uint8_t blob[MGW_COSE_REPLAY_BLOB_LEN]);
int mgw_cose_replay_load(struct mgw_cose_replay *w, const uint8_t *blob, size_t len,
			 struct mgw_diag *diag);

#endif
