/* Fuzz target: COSE object security (src/security/cose.c). The input is decoded as a COSE
 * message of either type and, when it decodes, opened under fixed device keys (it never
 * authenticates: nothing but memory safety is at stake there). Then the same bytes are
 * protected as a payload, uplink-style and downlink-style, and must open again to the same
 * bytes; and the first 18 bytes are loaded as a replay window blob. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/cose.h>

#include "fuzz.h"

static const uint8_t kid[] = { 0xa1, 0xb2 };
static const uint8_t key16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t key32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t civ[13] = { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96,
				 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c };

/* Protect data as a device would (kid, Partial IV from seq) and open it as the gateway. */
static void round_trip(void *ctx, struct mgw_cose_key *k, const uint8_t *data, size_t size)
{
	uint8_t piv[MGW_COSE_PIV_MAX], *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;
	uint64_t seq = 0;
	struct mgw_cose_msg m;
	struct mgw_diag d;
	struct mgw_cose_emit e = {
		.flags = MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG | MGW_COSE_EMIT_KID |
			 MGW_COSE_EMIT_PIV,
		.iv = { .id = kid, .id_len = sizeof(kid), .piv = piv,
			.piv_len = mgw_cose_piv_from_seq(size, piv) },
	};
	int rc = mgw_cose_key_alg(k) == MGW_COSE_ALG_AES_CCM_16_64_128 ?
			 mgw_cose_encrypt0(ctx, k, &e, data, size, &out, &out_len, &d) :
			 mgw_cose_mac0(ctx, k, &e, data, size, &out, &out_len, &d);

	if (rc != MGW_OK ||
	    mgw_cose_decode(out, out_len, MGW_COSE_ANY, 0, out_len, &m, &d) != MGW_OK ||
	    mgw_cose_unprotect(ctx, k, &m, NULL, 0, &back, &back_len, &seq, &d) != MGW_OK ||
	    back_len != size || (size && memcmp(back, data, size) != 0) || seq != size)
		abort(); /* what a device protects, the gateway opens to the same bytes */
	if (mgw_cose_protect(ctx, k, size, data, size > 64 ? 64 : size, data, size, &out,
			     &out_len, &d) != MGW_OK ||
	    mgw_cose_decode(out, out_len, MGW_COSE_ANY, MGW_COSE_TAG_REQUIRED, out_len, &m,
			    &d) != MGW_OK ||
	    !m.has_piv || m.seq != size || m.has_kid)
		abort(); /* what the gateway sends, it reads back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);
	struct mgw_cose_key *ccm = NULL, *mac = NULL, *hmac = NULL;
	struct mgw_cose_key_spec s1 = { .alg = MGW_COSE_ALG_AES_CCM_16_64_128, .key = key16,
					.key_len = 16, .kid = kid, .kid_len = sizeof(kid),
					.common_iv = civ, .common_iv_len = sizeof(civ) };
	struct mgw_cose_key_spec s2 = { .alg = MGW_COSE_ALG_AES_MAC_128_64, .key = key16,
					.key_len = 16, .kid = kid, .kid_len = sizeof(kid) };
	struct mgw_cose_key_spec s3 = { .alg = MGW_COSE_ALG_HMAC_256_256, .key = key32,
					.key_len = 32, .kid = kid, .kid_len = sizeof(kid) };
	struct mgw_cose_replay w;
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint64_t seq = 0;

	if (!ctx || mgw_cose_key_alloc(ctx, &s1, &ccm, &d) != MGW_OK ||
	    mgw_cose_key_alloc(ctx, &s2, &mac, &d) != MGW_OK ||
	    mgw_cose_key_alloc(ctx, &s3, &hmac, &d) != MGW_OK)
		abort();
	if (mgw_cose_decode(data, size, MGW_COSE_ANY, 0, 0, &m, &d) == MGW_OK ||
	    mgw_cose_decode(data, size, MGW_COSE_ENCRYPT0, 0, 0, &m, &d) == MGW_OK ||
	    mgw_cose_decode(data, size, MGW_COSE_MAC0, 0, 0, &m, &d) == MGW_OK) {
		struct mgw_cose_iv iv = { .piv = (const uint8_t *)"\x01", .piv_len = 1 };

		if (mgw_cose_unprotect(ctx, m.type == MGW_COSE_MAC0 ? mac : ccm, &m, NULL, 0, &out,
				       &out_len, &seq, &d) == MGW_OK ||
		    mgw_cose_unprotect(ctx, hmac, &m, NULL, 0, &out, &out_len, &seq, &d) ==
			    MGW_OK)
			abort(); /* nobody here holds these keys: nothing can authenticate */
		if (m.type == MGW_COSE_ENCRYPT0)
			mgw_cose_decrypt0(ctx, ccm, &m, data, size > 32 ? 32 : size,
					  m.has_iv || m.has_piv ? NULL : &iv, &out, &out_len, &d);
		mgw_cose_replay_init(&w);
		if (m.has_piv && mgw_cose_replay_commit(&w, m.seq, &d) != MGW_OK)
			abort();
	}
	if (mgw_cose_replay_load(&w, data, size < MGW_COSE_REPLAY_BLOB_LEN ? size :
					  MGW_COSE_REPLAY_BLOB_LEN, &d) == MGW_OK) {
		uint8_t blob[MGW_COSE_REPLAY_BLOB_LEN];

		mgw_cose_replay_save(&w, blob);
		if (memcmp(blob, data, sizeof(blob)) != 0)
			abort(); /* a blob that loads is the one it saves */
	}
	if (size <= 4096) {
		round_trip(ctx, ccm, data, size);
		round_trip(ctx, mac, data, size);
		round_trip(ctx, hmac, data, size);
	}
	talloc_free(ctx);
	return 0;
}
