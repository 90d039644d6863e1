/* Fuzz target: JOSE profiles (src/security/jose.c, keys.c). The input is tried as a JWS
 * (under the AS's keys and the gateway's), as a JWE to the gateway, as claims JSON, as a
 * downlink payload from an AS, and as an AS's JWKS. Then it is the payload of the gateway's
 * own sign/encrypt, which must open again to the same bytes, and a byte of the JWS picked
 * by the input is changed, which must never verify. The two P-256 keys below exist only
 * for this target (the AS "as-1" publishes the same keys, so everything closes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/jose.h>
#include <mgw/msg.h>

#include "fuzz.h"

#define NOW 1800000000

static const char sig_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZ6PblIQ6SC5gdxmV\n"
	"cAY7rO+49NN8Ts+flkgz42qx5HuhRANCAAQhqCDgq3nioBfcx0EC5S2jYK+jM4Qa\n"
	"Ry4fFl/TniYqd24zqSroLuOLt8fuJiy18r3gnq11MpITEb7k44dRcTQI\n"
	"-----END PRIVATE KEY-----\n";
static const char enc_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6iFbkemKfrAk0qS3\n"
	"sEfqOYRqC57olvYJmzzAZ1+E/xKhRANCAAR26hi8QLNMHVGvjLVCC8Km6osWixhE\n"
	"PydX2FKIjbv/REd1+Y+RlMXa/2ZYTP7M2EiIJjTbbQUapWXcMatTKPuh\n"
	"-----END PRIVATE KEY-----\n";

static struct mgw_jose_keyset *keyset(void)
{
	static struct mgw_jose_keyset *ks;
	struct mgw_cfg_err err;
	char *jwks = NULL;

	if (ks)
		return ks;
	if (mgw_jose_keyset_alloc(NULL, &ks) != MGW_OK ||
	    mgw_jose_keyset_add_pem(ks, "fuzz-sig", MGW_JOSE_USE_SIG, MGW_JOSE_ACTIVE, sig_pem,
				    sizeof(sig_pem) - 1, "sig", &err) != MGW_OK ||
	    mgw_jose_keyset_add_pem(ks, "fuzz-enc", MGW_JOSE_USE_ENC, MGW_JOSE_ACTIVE, enc_pem,
				    sizeof(enc_pem) - 1, "enc", &err) != MGW_OK ||
	    mgw_jose_keyset_export(ks, ks, &jwks) != MGW_OK ||
	    mgw_jose_keyset_add_app_jwks(ks, "as-1", MGW_JOSE_ENCRYPT, jwks, strlen(jwks), "jwks",
					 &err) != MGW_OK)
		abort();
	return ks;
}

/* The gateway's own protection of data must open to the same bytes; a changed byte never
 * verifies. */
static void round_trip(void *ctx, struct mgw_jose_keyset *ks, const uint8_t *data, size_t size)
{
	struct mgw_jose_claims c, out;
	struct mgw_jose_err e;
	char *jws = NULL, *jwe = NULL, *cty = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	if (mgw_addr_parse(&c.ori, "UE:ue-1") != MGW_OK || mgw_addr_parse(&c.dest, "AS:as-1") != MGW_OK)
		abort();
	memcpy(c.msg_id, "m1", 3);
	c.has_payload = true;
	c.payload = data;
	c.payload_len = size;
	c.iat = NOW;
	if (mgw_jose_sign(ctx, ks, &c, &jws, &e) != MGW_OK) {
		if (e.cause != MGW_JOSE_MALFORMED)
			abort(); /* only a payload that is not UTF-8 may fail */
	} else {
		if (mgw_jose_verify(ctx, ks, "as-1", jws, strlen(jws), NOW, &out, NULL, &e) != MGW_OK ||
		    out.payload_len != size || (size && memcmp(out.payload, data, size) != 0))
			abort();
		if (size) {
			size_t i = data[0] * 257u % strlen(jws);

			if (jws[i] != '.') {
				jws[i] = jws[i] == 'A' ? 'B' : 'A';
				if (mgw_jose_verify(ctx, ks, "as-1", jws, strlen(jws), NOW, &out, NULL,
						    &e) == MGW_OK)
					abort(); /* a changed byte verified */
			}
		}
	}
	if (mgw_jose_encrypt(ctx, ks, "as-1", data, size, NULL, &jwe, &e) != MGW_OK ||
	    mgw_jose_decrypt(ctx, ks, jwe, strlen(jwe), &pt, &n, &cty, NULL, &e) != MGW_OK ||
	    n != size || (size && memcmp(pt, data, size) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgw_jose_keyset *ks = keyset(), *tmp = NULL;
	void *ctx = talloc_new(NULL);
	struct mgw_jose_replay *rp = NULL;
	struct mgw_jose_claims c;
	struct mgw_jose_result r;
	struct mgw_jose_err e;
	struct mgw_cfg_err err;
	struct mgw_msg *m;
	uint8_t *out = NULL;
	char *cty = NULL;
	size_t n = 0;

	if (!ctx || !(m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE)) ||
	    mgw_jose_replay_alloc(ctx, 16, &rp) != MGW_OK)
		abort();
	mgw_jose_verify(ctx, ks, "as-1", (const char *)data, size, NOW, &c, &r, &e);
	mgw_jose_verify(ctx, ks, NULL, (const char *)data, size, NOW, &c, &r, &e);
	mgw_jose_decrypt(ctx, ks, (const char *)data, size, &out, &n, &cty, &r, &e);
	mgw_jose_claims_decode(ctx, data, size, &c, &e);
	if (mgw_addr_parse(&m->ori, "AS:as-1") != MGW_OK ||
	    mgw_addr_parse(&m->dest, "UE:ue-1") != MGW_OK ||
	    (size <= MGW_PAYLOAD_HARD_MAX && mgw_msg_set_payload(m, data, size) != MGW_OK))
		abort();
	memcpy(m->msg_id, "m1", 3);
	m->has_payload = size <= MGW_PAYLOAD_HARD_MAX;
	if (mgw_jose_open(ctx, ks, rp, m, NOW, &out, &n, &r, &e) == MGW_OK && r.is_signed &&
	    mgw_jose_open(ctx, ks, rp, m, NOW, &out, &n, &r, &e) != MGW_E_REPLAY)
		abort(); /* what was accepted once is a replay the second time */
	if (mgw_jose_keyset_alloc(ctx, &tmp) != MGW_OK)
		abort();
	mgw_jose_keyset_add_app_jwks(tmp, "as-9", MGW_JOSE_SIGN, (const char *)data, size, "f", &err);
	if (size <= 4096)
		round_trip(ctx, ks, data, size);
	talloc_free(ctx);
	return 0;
}
