/* Unit tests of COSE object security (src/security/cose.c, include/mgw/cose.h).
 *
 * Known-answer vectors, as hex, each named by where it comes from:
 *  - RFC 8613 Appendix C.1.1, C.2.1, C.3.1 (security contexts) and C.4 - C.8 (OSCORE
 *    request and responses): sender key, Common IV, kid, Partial IV and the OSCORE
 *    external_aad give the published ciphertext byte for byte. The COSE layer is driven
 *    with the external_aad the RFC prints; the OSCORE option compression is not ours.
 *  - cose-wg/Examples (the RFC 9052/9053 example set): aes-ccm-examples/aes-ccm-enc-01.json
 *    (Encrypt0, AES-CCM-16-64-128, plain IV), cbc-mac-examples/cbc-mac-enc-01.json (Mac0,
 *    AES-MAC 128/64), hmac-examples/HMac-enc-05.json (Mac0, HMAC 256/64),
 *    mac0-tests/HMac-01.json, mac-pass-01..03.json (HMAC 256/256) and the failure files
 *    mac0-tests/mac-fail-*.json, encrypted-tests/enc-fail-01.json, aes-gcm-01.json,
 *    aes-ccm-examples/aes-ccm-enc-02.json (other algorithms: refused for our keys).
 * Then round trips, tampering, algorithm confusion, the replay window and malformed CBOR.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/cose.h>
#include <mgw/err.h>

static void *ctx;

static void setup(void)
{
	ctx = talloc_named_const(NULL, 0, "test");
}

static void teardown(void)
{
	ck_assert_int_eq(talloc_total_blocks(ctx), 1);
	talloc_free(ctx);
	ctx = NULL;
}

/* ---- helpers ---- */

struct buf {
	uint8_t *p;
	size_t n;
};

static int nib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Bytes from hex (spaces ignored), under ctx. */
static struct buf H(const char *hex)
{
	struct buf b = { .p = talloc_size(ctx, strlen(hex) / 2 + 1) };

	ck_assert_ptr_nonnull(b.p);
	for (const char *q = hex; *q;) {
		if (*q == ' ') {
			q++;
			continue;
		}
		ck_assert_msg(nib(q[0]) >= 0 && nib(q[1]) >= 0, "bad hex in test: %s", hex);
		b.p[b.n++] = (uint8_t)(nib(q[0]) << 4 | nib(q[1]));
		q += 2;
	}
	return b;
}

static struct buf T(const char *text)
{
	struct buf b = { .p = (uint8_t *)talloc_strdup(ctx, text), .n = strlen(text) };

	return b;
}

static bool same(const uint8_t *a, size_t an, struct buf b)
{
	return an == b.n && (an == 0 || memcmp(a, b.p, an) == 0);
}

/* A key; kid "" is the empty kid, civ NULL none. */
static struct mgw_cose_key *key_new(int alg, const char *k, const char *kid, const char *civ)
{
	struct buf kb = H(k), kidb = H(kid), cb = { 0 };
	struct mgw_cose_key_spec spec = { .alg = alg, .key = kb.p, .key_len = kb.n,
					  .kid = kidb.p, .kid_len = kidb.n };
	struct mgw_cose_key *key = NULL;
	struct mgw_diag d;

	if (civ) {
		cb = H(civ);
		spec.common_iv = cb.p;
		spec.common_iv_len = cb.n;
	}
	ck_assert_msg(mgw_cose_key_alloc(ctx, &spec, &key, &d) == MGW_OK, "key: %s", d.text);
	talloc_free(kb.p);
	talloc_free(kidb.p);
	talloc_free(cb.p);
	return key;
}

static void expect_rc(int rc, int want, const struct mgw_diag *d, const char *what)
{
	ck_assert_msg(rc == want, "%s: got %s (%s at '%s'), want %s", what, mgw_errname(rc),
		      d ? d->text : "", d ? d->where : "", mgw_errname(want));
	if (d && want != MGW_OK)
		ck_assert_int_eq(d->rc, want);
}

/* ==================================================================================== */
/* RFC 8613 Appendix C                                                                  */
/* ==================================================================================== */

/* C.1.1 (Master Secret 0x0102..10, Master Salt 0x9e7ca92223786340, client Sender ID h'',
 * Recipient ID h'01'), C.2.1 (no salt, Sender ID h'00'), C.3.1 (salt, ID Context
 * 0x37cbf3210017a2d3, Sender ID h''): the derived keys and Common IVs. */
#define C1_CLIENT_SENDER_KEY "f0910ed7295e6ad4b54fc793154302ff"
#define C1_CLIENT_RECIPIENT_KEY "ffb14e093c94c9cac9471648b4f98710"
#define C1_COMMON_IV "4622d4dd6d944168eefb54987c"
#define C2_CLIENT_SENDER_KEY "321b26943253c7ffb6003b0b64d74041"
#define C2_COMMON_IV "be35ae297d2dace910c52e99f9"
#define C3_CLIENT_SENDER_KEY "af2a1300a5e95788b356336eeecd2b92"
#define C3_COMMON_IV "2ca58fb85ff1b81c0b7181b85e"

/* C.4 - C.6: a client's GET /tv1, Sender Sequence Number 20. */
static const struct oscore_req {
	const char *name, *key, *civ, *kid, *piv, *ext_aad, *pt, *nonce, *ct;
} oscore_reqs[] = {
	{ "C.4", C1_CLIENT_SENDER_KEY, C1_COMMON_IV, "", "14", "8501810a40411440", "01b3747631",
	  "4622d4dd6d944168eefb549868", "612f1092f1776f1c1668b3825e" },
	{ "C.5", C2_CLIENT_SENDER_KEY, C2_COMMON_IV, "00", "14", "8501810a4100411440",
	  "01b3747631", "bf35ae297d2dace910c52e99ed", "4ed339a5a379b0b8bc731fffb0" },
	/* the ID Context (kid context) enters key derivation, not the nonce or the AAD */
	{ "C.6", C3_CLIENT_SENDER_KEY, C3_COMMON_IV, "", "14", "8501810a40411440", "01b3747631",
	  "2ca58fb85ff1b81c0b7181b84a", "72cd7273fd331ac45cffbe55c3" },
};

START_TEST(rfc8613_request)
{
	const struct oscore_req *v = &oscore_reqs[_i];
	struct mgw_cose_key *key = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, v->key, v->kid, v->civ);
	struct buf kid = H(v->kid), piv = H(v->piv), aad = H(v->ext_aad), pt = H(v->pt),
		   nonce = H(v->nonce), ct = H(v->ct);
	struct mgw_cose_emit e = {
		.flags = MGW_COSE_EMIT_KID | MGW_COSE_EMIT_PIV,
		.iv = { .id = kid.p, .id_len = kid.n, .piv = piv.p, .piv_len = piv.n },
		.external_aad = aad.p,
		.external_aad_len = aad.n,
	};
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *out = NULL, *out2 = NULL, *back = NULL;
	size_t out_len = 0, out2_len = 0, back_len = 0;

	/* partial-IV mode: [h'', {4: kid, 6: piv}, ciphertext] */
	expect_rc(mgw_cose_encrypt0(ctx, key, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  v->name);
	expect_rc(mgw_cose_decode(out, out_len, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  v->name);
	ck_assert_msg(same(m.content, m.content_len, ct), "%s: ciphertext differs from the RFC",
		      v->name);
	ck_assert(m.has_kid && same(m.kid, m.kid_len, kid));
	ck_assert(m.has_piv && m.seq == 20 && !m.piv_protected);
	ck_assert(!m.tagged && !m.has_alg && m.protected_len == 0);
	/* the RFC's nonce, given whole (plain-IV mode, not sent), gives the same bytes */
	e.flags = 0;
	e.iv = (struct mgw_cose_iv){ .iv = nonce.p, .iv_len = nonce.n };
	expect_rc(mgw_cose_encrypt0(ctx, key, &e, pt.p, pt.n, &out2, &out2_len, &d), MGW_OK, &d,
		  v->name);
	ck_assert(out2_len > ct.n && memcmp(out2 + out2_len - ct.n, ct.p, ct.n) == 0);
	/* and the server opens it: nonce from the key's kid and the message's Partial IV */
	expect_rc(mgw_cose_decrypt0(ctx, key, &m, aad.p, aad.n, NULL, &back, &back_len, &d),
		  MGW_OK, &d, v->name);
	ck_assert(same(back, back_len, pt));
	talloc_free(back);
	/* without the OSCORE external_aad it does not */
	expect_rc(mgw_cose_decrypt0(ctx, key, &m, NULL, 0, NULL, &back, &back_len, &d),
		  MGW_E_CRYPTO, &d, v->name);
	talloc_free(out);
	talloc_free(out2);
	talloc_free(kid.p);
	talloc_free(piv.p);
	talloc_free(aad.p);
	talloc_free(pt.p);
	talloc_free(nonce.p);
	talloc_free(ct.p);
	mgw_cose_key_free(key);
}
END_TEST

/* C.7: the server's 2.05 "Hello World!" to C.4, without a Partial IV: the nonce is the
 * request's (client ID h'', Partial IV 0x14). C.8: the same with the server's own Partial IV
 * 0x00 and its Sender ID h'01' (nonce 0x4722d4dd6d944169eefb54987c). */
START_TEST(rfc8613_response)
{
	/* the server's sender key is the client's recipient key; its kid is its Sender ID */
	struct mgw_cose_key *srv = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, C1_CLIENT_RECIPIENT_KEY,
					   "01", C1_COMMON_IV);
	struct buf aad = H("8501810a40411440"), pt = H("45ff48656c6c6f20576f726c6421"),
		   req_piv = H("14"), piv0 = H("00"),
		   ct7 = H("dbaad1e9a7e7b2a813d3c31524378303cdafae119106"),
		   ct8 = H("4d4c13669384b67354b2b6175ff4b8658c666a6cf88e"),
		   nonce8 = H("4722d4dd6d944169eefb54987c");
	struct mgw_cose_iv req = { .id = NULL, .id_len = 0, .piv = req_piv.p, .piv_len = 1 };
	struct mgw_cose_emit e = { .iv = req, .external_aad = aad.p, .external_aad_len = aad.n };
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;

	/* C.7 */
	expect_rc(mgw_cose_encrypt0(ctx, srv, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  "C.7");
	expect_rc(mgw_cose_decode(out, out_len, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "C.7");
	ck_assert_msg(same(m.content, m.content_len, ct7), "C.7 ciphertext differs");
	ck_assert(!m.has_kid && !m.has_piv && !m.has_iv);
	/* the client opens it with the request's nonce inputs */
	expect_rc(mgw_cose_decrypt0(ctx, srv, &m, aad.p, aad.n, NULL, &back, &back_len, &d),
		  MGW_E_MISSING, &d, "C.7 without nonce inputs");
	expect_rc(mgw_cose_decrypt0(ctx, srv, &m, aad.p, aad.n, &req, &back, &back_len, &d),
		  MGW_OK, &d, "C.7 open");
	ck_assert(same(back, back_len, pt));
	talloc_free(back);
	talloc_free(out);

	/* C.8 */
	e.flags = MGW_COSE_EMIT_PIV;
	e.iv = (struct mgw_cose_iv){ .id = (const uint8_t *)"\x01", .id_len = 1, .piv = piv0.p,
				     .piv_len = 1 };
	expect_rc(mgw_cose_encrypt0(ctx, srv, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  "C.8");
	expect_rc(mgw_cose_decode(out, out_len, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "C.8");
	ck_assert_msg(same(m.content, m.content_len, ct8), "C.8 ciphertext differs");
	ck_assert(m.has_piv && m.seq == 0);
	/* the nonce is the one the RFC prints */
	{
		uint8_t *o2 = NULL;
		size_t o2n = 0;
		struct mgw_cose_emit e2 = { .iv = { .iv = nonce8.p, .iv_len = nonce8.n },
					    .external_aad = aad.p,
					    .external_aad_len = aad.n };

		expect_rc(mgw_cose_encrypt0(ctx, srv, &e2, pt.p, pt.n, &o2, &o2n, &d), MGW_OK, &d,
			  "C.8 nonce");
		ck_assert(o2n > ct8.n && memcmp(o2 + o2n - ct8.n, ct8.p, ct8.n) == 0);
		talloc_free(o2);
	}
	/* the client opens it: ID_PIV = the key's kid (the server's Sender ID) */
	expect_rc(mgw_cose_decrypt0(ctx, srv, &m, aad.p, aad.n, NULL, &back, &back_len, &d),
		  MGW_OK, &d, "C.8 open");
	ck_assert(same(back, back_len, pt));
	/* nonce inputs for a message that carries its own are a caller error */
	expect_rc(mgw_cose_decrypt0(ctx, srv, &m, aad.p, aad.n, &req, &back, &back_len, &d),
		  MGW_E_INVAL, &d, "C.8 with nonce inputs");
	talloc_free(back);
	talloc_free(out);
	talloc_free(aad.p);
	talloc_free(pt.p);
	talloc_free(req_piv.p);
	talloc_free(piv0.p);
	talloc_free(ct7.p);
	talloc_free(ct8.p);
	talloc_free(nonce8.p);
	mgw_cose_key_free(srv);
}
END_TEST

/* ==================================================================================== */
/* cose-wg/Examples                                                                     */
/* ==================================================================================== */

/* the CEK of the examples: "hJtXIZ2uSN5kbQfbtTNWbg" and its 256-bit sibling */
#define EX_KEY_128 "849B57219DAE48DE646D07DBB533566E"
#define EX_KEY_256 "849B57219DAE48DE646D07DBB533566E976686457C1491BE3A76DCEA6C427188"
#define EX_CONTENT "This is the content."

/* aes-ccm-examples/aes-ccm-enc-01.json: AES-CCM-16-128/64 (alg 10), IV from rng_stream */
#define AES_CCM_ENC_01                                                                         \
	"D08343A1010AA1054D89F52F65A1C580933B5261A72F581C6899DA0A132BD2D2B9B10915743EE1F7B92A" \
	"4680E7C51BDBC1B320EA"

START_TEST(examples_aes_ccm_enc_01)
{
	struct mgw_cose_key *key = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, EX_KEY_128, "", NULL);
	struct buf iv = H("89F52F65A1C580933B5261A72F"), want = H(AES_CCM_ENC_01),
		   pt = T(EX_CONTENT);
	struct mgw_cose_emit e = {
		.flags = MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG | MGW_COSE_EMIT_IV,
		.iv = { .iv = iv.p, .iv_len = iv.n },
	};
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;

	expect_rc(mgw_cose_encrypt0(ctx, key, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  "encrypt");
	ck_assert_msg(same(out, out_len, want), "aes-ccm-enc-01 output differs");
	expect_rc(mgw_cose_decode(want.p, want.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d,
		  "decode");
	ck_assert(m.type == MGW_COSE_ENCRYPT0 && m.tagged && m.has_alg && m.alg == 10 &&
		  m.has_iv && m.iv_len == 13);
	expect_rc(mgw_cose_decrypt0(ctx, key, &m, NULL, 0, NULL, &back, &back_len, &d), MGW_OK, &d,
		  "decrypt");
	ck_assert(same(back, back_len, pt));
	/* one bit of the tag */
	want.p[want.n - 1] ^= 1;
	expect_rc(mgw_cose_decode(want.p, want.n, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "decode");
	talloc_free(back);
	back = NULL;
	expect_rc(mgw_cose_decrypt0(ctx, key, &m, NULL, 0, NULL, &back, &back_len, &d),
		  MGW_E_CRYPTO, &d, "tampered tag");
	ck_assert_ptr_null(back);
	talloc_free(out);
	talloc_free(iv.p);
	talloc_free(want.p);
	talloc_free(pt.p);
	mgw_cose_key_free(key);
}
END_TEST

/* Mac0 vectors that we can make (protected {1: alg}, empty unprotected, tagged). */
static const struct mac_vec {
	const char *file;
	int alg;
	const char *key;
	const char *cbor;
} mac_vecs[] = {
	{ "cbc-mac-examples/cbc-mac-enc-01.json", MGW_COSE_ALG_AES_MAC_128_64, EX_KEY_128,
	  "D18443A1010EA054546869732069732074686520636F6E74656E742E488584DBF007FDC69F" },
	{ "hmac-examples/HMac-enc-05.json", MGW_COSE_ALG_HMAC_256_64, EX_KEY_256,
	  "D18443A10104A054546869732069732074686520636F6E74656E742E4811F9E357975FB849" },
	{ "mac0-tests/HMac-01.json", MGW_COSE_ALG_HMAC_256_256, EX_KEY_256,
	  "D18443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49018D"
	  "244C824772F223AD4F935293F1789FC3A08D8C58" },
};

START_TEST(examples_mac0)
{
	const struct mac_vec *v = &mac_vecs[_i];
	struct mgw_cose_key *key = key_new(v->alg, v->key, "", NULL);
	struct buf want = H(v->cbor), pt = T(EX_CONTENT);
	struct mgw_cose_emit e = { .flags = MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG };
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *out = NULL;
	size_t out_len = 0;

	expect_rc(mgw_cose_mac0(ctx, key, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  v->file);
	ck_assert_msg(same(out, out_len, want), "%s: output differs", v->file);
	expect_rc(mgw_cose_decode(want.p, want.n, MGW_COSE_MAC0, MGW_COSE_TAG_REQUIRED, 0, &m, &d),
		  MGW_OK, &d, v->file);
	ck_assert(same(m.content, m.content_len, pt));
	expect_rc(mgw_cose_verify0(key, &m, NULL, 0, &d), MGW_OK, &d, v->file);
	/* the same with external data is another MAC */
	expect_rc(mgw_cose_verify0(key, &m, (const uint8_t *)"x", 1, &d), MGW_E_CRYPTO, &d,
		  v->file);
	talloc_free(out);
	talloc_free(want.p);
	talloc_free(pt.p);
	mgw_cose_key_free(key);
}
END_TEST

/* Verification-only vectors of mac0-tests/ (HMAC 256/256, EX_KEY_256). */
static const struct mac_check {
	const char *file;
	const char *cbor;
	const char *ext; /* external_aad, or NULL */
	enum mgw_cose_type type; /* decode as */
	int decode_rc, verify_rc;
} mac_checks[] = {
	/* alg in the unprotected map, protected h'a0': the MAC_structure uses h'' */
	{ "mac0-tests/mac-pass-01.json",
	  "D18441A0A1010554546869732069732074686520636F6E74656E742E5820176DCE14C1E57430C136582"
	  "33F41DC89AA4FA0FF9B8783F23B0EF51CA6B026BC",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_OK },
	{ "mac0-tests/mac-pass-02.json",
	  "D18440A1010554546869732069732074686520636F6E74656E742E58200FECAEC59BB46CC8A488AACA4"
	  "B205E322DD52696B75A45768D3C302DD4BAE2F7",
	  "ff00ee11dd22cc33bb44aa559966", MGW_COSE_MAC0, MGW_OK, MGW_OK },
	/* untagged */
	{ "mac0-tests/mac-pass-03.json",
	  "8440A1010554546869732069732074686520636F6E74656E742E5820176DCE14C1E57430C13658233F41"
	  "DC89AA4FA0FF9B8783F23B0EF51CA6B026BC",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_OK },
	/* ChangeCBORTag 992 */
	{ "mac0-tests/mac-fail-01.json",
	  "D903E08443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49"
	  "018D244C824772F223AD4F935293F1789FC3A08D8C58",
	  NULL, MGW_COSE_MAC0, MGW_E_UNSUPPORTED, 0 },
	/* ChangeTag */
	{ "mac0-tests/mac-fail-02.json",
	  "D18443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49018D"
	  "244C824772F223AD4F935293F1789FC3A08D8C59",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_E_CRYPTO },
	/* alg -999 */
	{ "mac0-tests/mac-fail-03.json",
	  "D18445A1013903E6A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49"
	  "018D244C824772F223AD4F935293F1789FC3A08D8C58",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_E_CRYPTO },
	/* alg "Unknown" */
	{ "mac0-tests/mac-fail-04.json",
	  "D1844AA10167556E6B6E6F776EA054546869732069732074686520636F6E74656E742E5820A1A848D347"
	  "1F9D61EE49018D244C824772F223AD4F935293F1789FC3A08D8C58",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_E_CRYPTO },
	/* AddProtected ctyp 0 */
	{ "mac0-tests/mac-fail-06.json",
	  "D18445A201050300A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49"
	  "018D244C824772F223AD4F935293F1789FC3A08D8C58",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_E_CRYPTO },
	/* RemoveProtected ctyp */
	{ "mac0-tests/mac-fail-07.json",
	  "D18443A10105A054546869732069732074686520636F6E74656E742E5820BB9E11EF2BD673F766A398D4"
	  "E3FAD78E0F0BE2806BF73FB647471E40B3D98734",
	  NULL, MGW_COSE_MAC0, MGW_OK, MGW_E_CRYPTO },
	/* a COSE_Mac0 where an Encrypt0 is expected */
	{ "mac0-tests/HMac-01.json as Encrypt0",
	  "D18443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49018D"
	  "244C824772F223AD4F935293F1789FC3A08D8C58",
	  NULL, MGW_COSE_ENCRYPT0, MGW_E_TYPE, 0 },
	/* untagged, and the tag required */
	{ "mac0-tests/mac-pass-03.json as ANY",
	  "8440A1010554546869732069732074686520636F6E74656E742E5820176DCE14C1E57430C13658233F41"
	  "DC89AA4FA0FF9B8783F23B0EF51CA6B026BC",
	  NULL, MGW_COSE_ANY, MGW_E_MISSING, 0 },
};

START_TEST(examples_mac0_checks)
{
	const struct mac_check *v = &mac_checks[_i];
	struct mgw_cose_key *key = key_new(MGW_COSE_ALG_HMAC_256_256, EX_KEY_256, "", NULL);
	struct buf b = H(v->cbor), ext = { 0 };
	struct mgw_cose_msg m;
	struct mgw_diag d;

	if (v->ext)
		ext = H(v->ext);
	expect_rc(mgw_cose_decode(b.p, b.n, v->type, 0, 0, &m, &d), v->decode_rc, &d, v->file);
	if (v->decode_rc == MGW_OK)
		expect_rc(mgw_cose_verify0(key, &m, ext.p, ext.n, &d), v->verify_rc, &d, v->file);
	talloc_free(b.p);
	talloc_free(ext.p);
	mgw_cose_key_free(key);
}
END_TEST

/* Another algorithm than the key's is refused however valid the message: no confusion. */
START_TEST(alg_confusion)
{
	struct mgw_cose_key *ccm = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, EX_KEY_128, "", NULL);
	struct mgw_cose_key *h64 = key_new(MGW_COSE_ALG_HMAC_256_64, EX_KEY_256, "", NULL);
	struct mgw_cose_key *h256 = key_new(MGW_COSE_ALG_HMAC_256_256, EX_KEY_256, "", NULL);
	struct mgw_cose_key *aesmac = key_new(MGW_COSE_ALG_AES_MAC_128_64, EX_KEY_128, "", NULL);
	/* encrypted-tests/aes-gcm-01.json: A128GCM (alg 1) under the same CEK */
	struct buf gcm = H("D08343A10101A1054C02D1F7E6F26C43D4868D87CE582460973A94BB2898009EE52ECF"
			   "D9AB1DD25867374B162E2C03568B41F57C3CC16F9166250A");
	/* aes-ccm-examples/aes-ccm-enc-02.json: AES-CCM-16-128/128 (alg 30) */
	struct buf ccm128 = H("D08344A101181EA1054D89F52F65A1C580933B5261A72F58246899DA0A132BD2D2"
			      "B9B10915743EE1F7B92A4680903F2C00D37E14D4EBDC7EF2C03CF5A9");
	/* encrypted-tests/enc-fail-01.json: ChangeCBORTag 995 */
	struct buf tag995 = H("D903E38343A10101A1054C02D1F7E6F26C43D4868D87CE582460973A94BB289800"
			      "9EE52ECFD9AB1DD25867374B162E2C03568B41F57C3CC16F9166250A");
	struct buf hmac01 = H(mac_vecs[2].cbor), ccm01 = H(AES_CCM_ENC_01), pt = T(EX_CONTENT);
	struct mgw_cose_emit e = { .flags = MGW_COSE_EMIT_TAG };
	struct mgw_cose_msg m;
	struct mgw_diag d;
	uint8_t *back = NULL, *out = NULL;
	size_t back_len, out_len;
	uint64_t seq;

	expect_rc(mgw_cose_decode(gcm.p, gcm.n, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "gcm");
	expect_rc(mgw_cose_decrypt0(ctx, ccm, &m, NULL, 0, NULL, &back, &back_len, &d),
		  MGW_E_CRYPTO, &d, "A128GCM with an AES-CCM key");
	ck_assert_ptr_nonnull(strstr(d.text, "not the key's"));
	expect_rc(mgw_cose_decode(ccm128.p, ccm128.n, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "ccm128");
	expect_rc(mgw_cose_decrypt0(ctx, ccm, &m, NULL, 0, NULL, &back, &back_len, &d),
		  MGW_E_CRYPTO, &d, "AES-CCM-16-128/128 with an AES-CCM-16-64-128 key");
	expect_rc(mgw_cose_decode(tag995.p, tag995.n, MGW_COSE_ENCRYPT0, 0, 0, &m, &d),
		  MGW_E_UNSUPPORTED, &d, "tag 995");
	/* HMAC 256/256 message, HMAC 256/64 key of the same bytes */
	expect_rc(mgw_cose_decode(hmac01.p, hmac01.n, MGW_COSE_MAC0, 0, 0, &m, &d), MGW_OK, &d,
		  "hmac");
	expect_rc(mgw_cose_verify0(h64, &m, NULL, 0, &d), MGW_E_CRYPTO, &d, "alg 5 with a 4 key");
	expect_rc(mgw_cose_verify0(h256, &m, NULL, 0, &d), MGW_OK, &d, "alg 5 with its key");
	/* a Mac0 under an Encrypt0 key and the other way round */
	expect_rc(mgw_cose_decrypt0(ctx, ccm, &m, NULL, 0, NULL, &back, &back_len, &d),
		  MGW_E_INVAL, &d, "decrypt0 of a Mac0");
	expect_rc(mgw_cose_unprotect(ctx, ccm, &m, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_INVAL, &d, "unprotect with a kid-less key");
	expect_rc(mgw_cose_decode(ccm01.p, ccm01.n, MGW_COSE_ENCRYPT0, 0, 0, &m, &d), MGW_OK, &d,
		  "ccm01");
	expect_rc(mgw_cose_verify0(aesmac, &m, NULL, 0, &d), MGW_E_INVAL, &d,
		  "verify0 of an Encrypt0");
	/* implicit alg (OSCORE style): a HMAC 256/256 tag checked by HMAC 256/64 is refused */
	expect_rc(mgw_cose_mac0(ctx, h256, &e, pt.p, pt.n, &out, &out_len, &d), MGW_OK, &d,
		  "implicit");
	expect_rc(mgw_cose_decode(out, out_len, MGW_COSE_MAC0, 0, 0, &m, &d), MGW_OK, &d, "dec");
	ck_assert(!m.has_alg);
	expect_rc(mgw_cose_verify0(h64, &m, NULL, 0, &d), MGW_E_CRYPTO, &d, "implicit alg 5 as 4");
	expect_rc(mgw_cose_verify0(h256, &m, NULL, 0, &d), MGW_OK, &d, "implicit alg 5");
	/* an AES-MAC key cannot make an Encrypt0, an AES-CCM key no Mac0 */
	expect_rc(mgw_cose_encrypt0(ctx, aesmac, &e, pt.p, pt.n, &back, &back_len, &d),
		  MGW_E_INVAL, &d, "encrypt0 with a MAC key");
	expect_rc(mgw_cose_mac0(ctx, ccm, &e, pt.p, pt.n, &back, &back_len, &d), MGW_E_INVAL, &d,
		  "mac0 with a CCM key");
	talloc_free(out);
	talloc_free(gcm.p);
	talloc_free(ccm128.p);
	talloc_free(tag995.p);
	talloc_free(hmac01.p);
	talloc_free(ccm01.p);
	talloc_free(pt.p);
	mgw_cose_key_free(ccm);
	mgw_cose_key_free(h64);
	mgw_cose_key_free(h256);
	mgw_cose_key_free(aesmac);
}
END_TEST

/* ==================================================================================== */
/* keys                                                                                 */
/* ==================================================================================== */

START_TEST(key_specs)
{
	static const uint8_t k16[16], k32[32], k65[65], civ13[13], civ12[12], kid8[8];
	static const struct {
		struct mgw_cose_key_spec spec;
		int rc;
	} cases[] = {
		{ { .alg = 10, .key = k16, .key_len = 16, .kid = kid8, .kid_len = 1,
		    .common_iv = civ13, .common_iv_len = 13 }, MGW_OK },
		{ { .alg = 10, .key = k16, .key_len = 16 }, MGW_OK },
		{ { .alg = 14, .key = k16, .key_len = 16, .kid = kid8, .kid_len = 7 }, MGW_OK },
		{ { .alg = 4, .key = k32, .key_len = 32 }, MGW_OK },
		{ { .alg = 5, .key = k65, .key_len = 64 }, MGW_OK },
		{ { .alg = 1, .key = k16, .key_len = 16 }, MGW_E_INVAL },   /* A128GCM */
		{ { .alg = 30, .key = k16, .key_len = 16 }, MGW_E_INVAL },  /* CCM-16-128/128 */
		{ { .alg = 0, .key = k16, .key_len = 16 }, MGW_E_INVAL },
		{ { .alg = 10, .key = k32, .key_len = 32 }, MGW_E_INVAL },  /* AES-256 key */
		{ { .alg = 10, .key = k16, .key_len = 15 }, MGW_E_INVAL },
		{ { .alg = 10, .key = NULL, .key_len = 16 }, MGW_E_INVAL },
		{ { .alg = 14, .key = k32, .key_len = 32 }, MGW_E_INVAL },
		{ { .alg = 5, .key = k16, .key_len = 16 }, MGW_E_INVAL },   /* HMAC key too short */
		{ { .alg = 5, .key = k65, .key_len = 65 }, MGW_E_INVAL },
		{ { .alg = 10, .key = k16, .key_len = 16, .kid = kid8, .kid_len = 8 },
		  MGW_E_INVAL },
		{ { .alg = 10, .key = k16, .key_len = 16, .kid = NULL, .kid_len = 1 },
		  MGW_E_INVAL },
		{ { .alg = 10, .key = k16, .key_len = 16, .common_iv = civ12, .common_iv_len = 12 },
		  MGW_E_INVAL },
		{ { .alg = 14, .key = k16, .key_len = 16, .common_iv = civ13, .common_iv_len = 13 },
		  MGW_E_INVAL },
	};
	struct mgw_diag d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mgw_cose_key *k = NULL;
		char what[32];

		snprintf(what, sizeof(what), "key case %zu", i);
		expect_rc(mgw_cose_key_alloc(ctx, &cases[i].spec, &k, &d), cases[i].rc, &d, what);
		if (cases[i].rc == MGW_OK) {
			const uint8_t *kid;

			ck_assert_int_eq(mgw_cose_key_alg(k), cases[i].spec.alg);
			ck_assert_uint_eq(mgw_cose_key_kid(k, &kid), cases[i].spec.kid_len);
		} else {
			ck_assert_ptr_null(k);
		}
		mgw_cose_key_free(k);
	}
	mgw_cose_key_free(NULL);
	ck_assert_int_eq(mgw_cose_alg_by_name("AES-CCM-16-64-128"), 10);
	ck_assert_int_eq(mgw_cose_alg_by_name("AES-MAC 128/64"), 14);
	ck_assert_int_eq(mgw_cose_alg_by_name("HMAC 256/64"), 4);
	ck_assert_int_eq(mgw_cose_alg_by_name("HMAC 256/256"), 5);
	ck_assert_int_eq(mgw_cose_alg_by_name("A128GCM"), 0);
	ck_assert_int_eq(mgw_cose_alg_by_name(NULL), 0);
	ck_assert_str_eq(mgw_cose_alg_name(10), "AES-CCM-16-64-128");
	ck_assert_str_eq(mgw_cose_alg_name(1), "?");
}
END_TEST

START_TEST(piv_from_seq)
{
	uint8_t p[MGW_COSE_PIV_MAX];

	ck_assert_uint_eq(mgw_cose_piv_from_seq(0, p), 1);
	ck_assert_uint_eq(p[0], 0);
	ck_assert_uint_eq(mgw_cose_piv_from_seq(20, p), 1);
	ck_assert_uint_eq(p[0], 0x14);
	ck_assert_uint_eq(mgw_cose_piv_from_seq(0xFF, p), 1);
	ck_assert_uint_eq(mgw_cose_piv_from_seq(0x100, p), 2);
	ck_assert(p[0] == 1 && p[1] == 0);
	ck_assert_uint_eq(mgw_cose_piv_from_seq(MGW_COSE_SEQ_MAX, p), 5);
	ck_assert(p[0] == 0xFF && p[4] == 0xFF);
	ck_assert_uint_eq(mgw_cose_piv_from_seq(MGW_COSE_SEQ_MAX + 1, p), 0);
}
END_TEST

/* ==================================================================================== */
/* the gateway profile                                                                  */
/* ==================================================================================== */

#define DEV_KEY "000102030405060708090a0b0c0d0e0f"
#define DEV_KID "a1b2"
#define DEV_CIV "f0e1d2c3b4a5968778695a4b3c"
#define DEV_HMAC_KEY "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define UE1 ((const uint8_t *)"ue-1")

/* What a device sends: Encrypt0 (tag, {1: alg}, {4: kid, 6: piv}) or Mac0 (tag,
 * {1: alg, 6: piv}, {4: kid}); nonce ID = its kid. */
static struct buf device_msg(const struct mgw_cose_key *dev, uint64_t seq, const char *aad,
			     struct buf pt)
{
	uint8_t piv[MGW_COSE_PIV_MAX];
	const uint8_t *kid;
	size_t kid_len = mgw_cose_key_kid(dev, &kid);
	struct mgw_cose_emit e = {
		.flags = MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG | MGW_COSE_EMIT_KID |
			 MGW_COSE_EMIT_PIV,
		.iv = { .id = kid, .id_len = kid_len, .piv = piv,
			.piv_len = mgw_cose_piv_from_seq(seq, piv) },
		.external_aad = (const uint8_t *)aad,
		.external_aad_len = aad ? strlen(aad) : 0,
	};
	struct buf out = { 0 };
	struct mgw_diag d;
	int rc;

	if (mgw_cose_key_alg(dev) == MGW_COSE_ALG_AES_CCM_16_64_128)
		rc = mgw_cose_encrypt0(ctx, dev, &e, pt.p, pt.n, &out.p, &out.n, &d);
	else
		rc = mgw_cose_mac0(ctx, dev, &e, pt.p, pt.n, &out.p, &out.n, &d);
	expect_rc(rc, MGW_OK, &d, "device message");
	return out;
}

/* a decode limit above the largest payload */
#define BIG (MGW_COSE_PAYLOAD_MAX + 256)

/* The gateway's uplink path: decode, then unprotect. */
static int uplink(const struct mgw_cose_key *key, struct buf msg, const char *aad,
		  uint8_t **out, size_t *out_len, uint64_t *seq, struct mgw_diag *d)
{
	struct mgw_cose_msg m;
	int rc;

	if ((rc = mgw_cose_decode(msg.p, msg.n, MGW_COSE_ANY, 0, BIG, &m, d)) != MGW_OK)
		return rc;
	return mgw_cose_unprotect(ctx, key, &m, (const uint8_t *)aad, aad ? strlen(aad) : 0, out,
				  out_len, seq, d);
}

START_TEST(profile_round_trip)
{
	struct mgw_cose_key *keys[] = {
		key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, DEV_KID, DEV_CIV),
		key_new(MGW_COSE_ALG_AES_MAC_128_64, DEV_KEY, DEV_KID, NULL),
		key_new(MGW_COSE_ALG_HMAC_256_64, DEV_HMAC_KEY, DEV_KID, NULL),
		key_new(MGW_COSE_ALG_HMAC_256_256, DEV_HMAC_KEY, DEV_KID, NULL),
	};
	/* the device's view of the gateway's downlink: same key, the gateway's ID (h'') */
	struct mgw_cose_key *gw_view =
		key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, "", DEV_CIV);
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 200, MGW_COSE_PAYLOAD_MAX };
	struct mgw_diag d;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct buf pt = { .p = talloc_size(ctx, sizes[s] + 1), .n = sizes[s] };
			struct buf up, down;
			struct mgw_cose_msg m;
			uint8_t *back = NULL;
			size_t back_len = 0;
			uint64_t seq = 0;

			for (size_t i = 0; i < pt.n; i++)
				pt.p[i] = (uint8_t)(i * 7 + k);
			/* uplink */
			up = device_msg(keys[k], 1000 + s, "ue-1", pt);
			expect_rc(uplink(keys[k], up, "ue-1", &back, &back_len, &seq, &d), MGW_OK,
				  &d, "uplink");
			ck_assert(same(back, back_len, pt));
			ck_assert_uint_eq(seq, 1000 + s);
			talloc_free(back);
			/* another external_aad */
			expect_rc(uplink(keys[k], up, "ue-2", &back, &back_len, &seq, &d),
				  MGW_E_CRYPTO, &d, "uplink, other aad");
			/* downlink */
			expect_rc(mgw_cose_protect(ctx, keys[k], s, UE1, 4,
						   pt.p, pt.n, &down.p, &down.n, &d),
				  MGW_OK, &d, "downlink");
			expect_rc(mgw_cose_decode(down.p, down.n, MGW_COSE_ANY, 0, BIG, &m, &d),
				  MGW_OK, &d, "downlink decode");
			ck_assert(m.tagged && m.has_alg && m.alg == mgw_cose_key_alg(keys[k]));
			ck_assert(m.has_piv && m.seq == s && !m.has_kid);
			if (k == 0) {
				ck_assert(!m.piv_protected);
				expect_rc(mgw_cose_decrypt0(ctx, gw_view, &m, UE1, 4, NULL, &back,
							    &back_len, &d),
					  MGW_OK, &d, "device opens downlink");
				ck_assert(same(back, back_len, pt));
				talloc_free(back);
				/* the device's own key object (its kid as nonce ID) does not */
				expect_rc(mgw_cose_decrypt0(ctx, keys[k], &m, UE1, 4, NULL, &back,
							    &back_len, &d),
					  MGW_E_CRYPTO, &d, "downlink nonce is not uplink's");
			} else {
				ck_assert(m.piv_protected);
				ck_assert(same(m.content, m.content_len, pt));
				expect_rc(mgw_cose_verify0(keys[k], &m, UE1, 4, &d),
					  MGW_OK, &d, "device verifies downlink");
			}
			/* reflected back to the gateway as uplink: refused */
			expect_rc(uplink(keys[k], down, "ue-1", &back, &back_len, &seq, &d),
				  MGW_E_MISSING, &d, "reflected downlink");
			if (k == 0) {
				/* even with the device's kid added: the nonce differs */
				m.has_kid = true;
				m.kid = (const uint8_t *)"\xa1\xb2";
				m.kid_len = 2;
				expect_rc(mgw_cose_unprotect(ctx, keys[k], &m, UE1, 4, &back,
							     &back_len, &seq, &d),
					  MGW_E_CRYPTO, &d, "reflected downlink with a kid");
			}
			talloc_free(up.p);
			talloc_free(down.p);
			talloc_free(pt.p);
		}
	}
	/* limits */
	{
		struct buf big = { .p = talloc_zero_size(ctx, MGW_COSE_PAYLOAD_MAX + 1),
				   .n = MGW_COSE_PAYLOAD_MAX + 1 };
		uint8_t *out = NULL;
		size_t out_len = 0;

		expect_rc(mgw_cose_protect(ctx, keys[0], 1, NULL, 0, big.p, big.n, &out, &out_len,
					   &d),
			  MGW_E_TOO_BIG, &d, "payload too big");
		expect_rc(mgw_cose_protect(ctx, keys[0], MGW_COSE_SEQ_MAX + 1, NULL, 0, big.p, 1,
					   &out, &out_len, &d),
			  MGW_E_INVAL, &d, "sequence exhausted");
		expect_rc(mgw_cose_protect(ctx, keys[0], MGW_COSE_SEQ_MAX, NULL, 0, big.p, 1, &out,
					   &out_len, &d),
			  MGW_OK, &d, "last sequence number");
		talloc_free(out);
		expect_rc(mgw_cose_protect(ctx, gw_view, 1, NULL, 0, big.p, 1, &out, &out_len, &d),
			  MGW_E_INVAL, &d, "a kid-less key in the gateway profile");
		expect_rc(mgw_cose_protect(ctx, keys[0], 1, big.p, MGW_COSE_AAD_MAX + 1, big.p, 1,
					   &out, &out_len, &d),
			  MGW_E_INVAL, &d, "external_aad too long");
		talloc_free(big.p);
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		mgw_cose_key_free(keys[k]);
	mgw_cose_key_free(gw_view);
}
END_TEST

/* Every single-byte change of a genuine uplink message is refused, never accepted, and
 * the diagnostic never carries the key. */
START_TEST(profile_tamper_every_byte)
{
	struct mgw_cose_key *keys[] = {
		key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, DEV_KID, DEV_CIV),
		key_new(MGW_COSE_ALG_AES_MAC_128_64, DEV_KEY, DEV_KID, NULL),
		key_new(MGW_COSE_ALG_HMAC_256_64, DEV_HMAC_KEY, DEV_KID, NULL),
	};
	static const uint8_t flips[] = { 0x01, 0x02, 0x10, 0x80, 0xFF };
	struct buf pt = T("{\"msgId\":\"m1\",\"payload\":\"hi\"}");
	struct mgw_diag d;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		struct buf up = device_msg(keys[k], 77, NULL, pt);
		uint8_t *back = NULL;
		size_t back_len;
		uint64_t seq;

		for (size_t i = 0; i < up.n; i++) {
			for (size_t f = 0; f < sizeof(flips); f++) {
				int rc;

				up.p[i] ^= flips[f];
				rc = uplink(keys[k], up, NULL, &back, &back_len, &seq, &d);
				ck_assert_msg(rc != MGW_OK, "key %zu: byte %zu ^ %02x accepted", k,
					      i, flips[f]);
				ck_assert_ptr_null(strstr(d.text, "0102030405"));
				up.p[i] ^= flips[f];
			}
		}
		/* every proper prefix is refused as well */
		for (size_t n = 0; n < up.n; n++) {
			struct buf cut = { .p = up.p, .n = n };

			ck_assert(uplink(keys[k], cut, NULL, &back, &back_len, &seq, &d) != MGW_OK);
		}
		expect_rc(uplink(keys[k], up, NULL, &back, &back_len, &seq, &d), MGW_OK, &d,
			  "untouched");
		talloc_free(back);
		talloc_free(up.p);
	}
	talloc_free(pt.p);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		mgw_cose_key_free(keys[k]);
}
END_TEST

/* Tampering with named parts: ciphertext, tag, protected header, kid, Partial IV. */
START_TEST(profile_tamper_named)
{
	struct mgw_cose_key *dev = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, DEV_KID,
					   DEV_CIV);
	/* another device, whose kid an attacker could write */
	struct mgw_cose_key *other = key_new(MGW_COSE_ALG_AES_CCM_16_64_128,
					     "ffeeddccbbaa99887766554433221100", "c3", DEV_CIV);
	struct mgw_cose_key *mac = key_new(MGW_COSE_ALG_AES_MAC_128_64, DEV_KEY, DEV_KID, NULL);
	struct buf pt = T("hello"), up = device_msg(dev, 5, NULL, pt);
	struct mgw_cose_msg m, m2;
	struct mgw_diag d;
	uint8_t *back = NULL, *copy;
	size_t back_len;
	uint64_t seq;

	/* D0 83 43 A1010A A2 04 42 A1B2 06 41 05 4D <5 ct + 8 tag> */
	expect_rc(mgw_cose_decode(up.p, up.n, MGW_COSE_ENCRYPT0, MGW_COSE_TAG_REQUIRED, 0, &m, &d),
		  MGW_OK, &d, "genuine");
	ck_assert_uint_eq(m.content_len, 13);
	copy = talloc_memdup(ctx, m.content, m.content_len);
	/* ciphertext */
	m2 = m;
	m2.content = copy;
	copy[0] ^= 1;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "ciphertext");
	copy[0] ^= 1;
	/* tag */
	copy[12] ^= 0x80;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "tag");
	copy[12] ^= 0x80;
	/* truncated tag */
	m2.content_len = 7;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_MALFORMED, &d, "short ciphertext");
	/* protected header: {1: 10} -> {3: 10} (a content type, alg implicit): the AAD differs */
	m2 = m;
	m2.protected_raw = (const uint8_t *)"\xa1\x03\x0a";
	m2.has_alg = false;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "protected header");
	/* protected header dropped (alg implicit) */
	m2.protected_len = 0;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "protected header dropped");
	/* kid rewritten to another device's: its key does not open it */
	m2 = m;
	m2.kid = (const uint8_t *)"\xc3";
	m2.kid_len = 1;
	expect_rc(mgw_cose_unprotect(ctx, other, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "kid of another device");
	/* a kid that is not the key's is refused before any crypto */
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "kid not the key's");
	ck_assert_str_eq(d.where, "/1/4");
	/* Partial IV rewritten (a replay under a fresh number): the nonce differs */
	m2 = m;
	m2.piv = (const uint8_t *)"\x06";
	m2.seq = 6;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "Partial IV");
	/* missing parts */
	m2 = m;
	m2.has_kid = false;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_MISSING, &d, "no kid");
	m2 = m;
	m2.has_piv = false;
	expect_rc(mgw_cose_unprotect(ctx, dev, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_MISSING, &d, "no Partial IV");
	talloc_free(up.p);
	talloc_free(copy);

	/* Mac0: payload, tag, the protected Partial IV */
	up = device_msg(mac, 9, NULL, pt);
	expect_rc(mgw_cose_decode(up.p, up.n, MGW_COSE_MAC0, 0, 0, &m, &d), MGW_OK, &d, "mac");
	ck_assert(m.piv_protected && m.seq == 9);
	m2 = m;
	m2.content = (const uint8_t *)"hellp";
	expect_rc(mgw_cose_unprotect(ctx, mac, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "mac payload");
	m2 = m;
	m2.tag_len = 7;
	expect_rc(mgw_cose_unprotect(ctx, mac, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_CRYPTO, &d, "mac tag length");
	/* an unprotected Partial IV in a Mac0 gives no replay protection: refused */
	m2 = m;
	m2.piv_protected = false;
	expect_rc(mgw_cose_unprotect(ctx, mac, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_UNSUPPORTED, &d, "mac unprotected piv");
	/* an IV instead of a Partial IV */
	m2 = m;
	m2.has_piv = false;
	m2.has_iv = true;
	expect_rc(mgw_cose_unprotect(ctx, mac, &m2, NULL, 0, &back, &back_len, &seq, &d),
		  MGW_E_UNSUPPORTED, &d, "IV header");
	talloc_free(up.p);
	talloc_free(pt.p);
	mgw_cose_key_free(dev);
	mgw_cose_key_free(other);
	mgw_cose_key_free(mac);
}
END_TEST

/* ==================================================================================== */
/* replay window                                                                        */
/* ==================================================================================== */

START_TEST(replay_window)
{
	struct mgw_cose_replay w, w2;
	uint8_t blob[MGW_COSE_REPLAY_BLOB_LEN];
	struct mgw_diag d;

	mgw_cose_replay_init(&w);
	/* a fresh window takes any number, 0 too */
	expect_rc(mgw_cose_replay_check(&w, 0, &d), MGW_OK, &d, "0 fresh");
	expect_rc(mgw_cose_replay_commit(&w, 5, &d), MGW_OK, &d, "5");
	expect_rc(mgw_cose_replay_check(&w, 5, &d), MGW_E_REPLAY, &d, "5 again");
	ck_assert_ptr_nonnull(strstr(d.text, "duplicate"));
	expect_rc(mgw_cose_replay_commit(&w, 5, &d), MGW_E_REPLAY, &d, "commit 5 again");
	/* out of order inside the window */
	expect_rc(mgw_cose_replay_commit(&w, 3, &d), MGW_OK, &d, "3");
	expect_rc(mgw_cose_replay_commit(&w, 0, &d), MGW_OK, &d, "0");
	expect_rc(mgw_cose_replay_check(&w, 3, &d), MGW_E_REPLAY, &d, "3 again");
	expect_rc(mgw_cose_replay_check(&w, 0, &d), MGW_E_REPLAY, &d, "0 again");
	expect_rc(mgw_cose_replay_check(&w, 4, &d), MGW_OK, &d, "4");
	/* advance: 100; the window is 37..100 */
	expect_rc(mgw_cose_replay_commit(&w, 100, &d), MGW_OK, &d, "100");
	expect_rc(mgw_cose_replay_check(&w, 36, &d), MGW_E_REPLAY, &d, "36");
	ck_assert_ptr_nonnull(strstr(d.text, "too old"));
	expect_rc(mgw_cose_replay_check(&w, 4, &d), MGW_E_REPLAY, &d, "4 now too old");
	expect_rc(mgw_cose_replay_check(&w, 37, &d), MGW_OK, &d, "37");
	expect_rc(mgw_cose_replay_commit(&w, 37, &d), MGW_OK, &d, "37");
	expect_rc(mgw_cose_replay_commit(&w, 37, &d), MGW_E_REPLAY, &d, "37 again");
	expect_rc(mgw_cose_replay_commit(&w, 99, &d), MGW_OK, &d, "99");
	/* a shift by 1 keeps the history */
	expect_rc(mgw_cose_replay_commit(&w, 101, &d), MGW_OK, &d, "101");
	expect_rc(mgw_cose_replay_check(&w, 100, &d), MGW_E_REPLAY, &d, "100 after 101");
	expect_rc(mgw_cose_replay_check(&w, 99, &d), MGW_E_REPLAY, &d, "99 after 101");
	expect_rc(mgw_cose_replay_check(&w, 98, &d), MGW_OK, &d, "98 after 101");
	/* a jump past the window forgets it */
	expect_rc(mgw_cose_replay_commit(&w, 1000, &d), MGW_OK, &d, "1000");
	expect_rc(mgw_cose_replay_check(&w, 999, &d), MGW_OK, &d, "999");
	expect_rc(mgw_cose_replay_check(&w, 937, &d), MGW_OK, &d, "937");
	expect_rc(mgw_cose_replay_check(&w, 936, &d), MGW_E_REPLAY, &d, "936");
	/* limits */
	expect_rc(mgw_cose_replay_commit(&w, MGW_COSE_SEQ_MAX, &d), MGW_OK, &d, "max");
	expect_rc(mgw_cose_replay_check(&w, MGW_COSE_SEQ_MAX + 1, &d), MGW_E_INVAL, &d, "max+1");
	expect_rc(mgw_cose_replay_check(&w, MGW_COSE_SEQ_MAX, &d), MGW_E_REPLAY, &d, "max again");

	/* the blob */
	mgw_cose_replay_init(&w);
	mgw_cose_replay_save(&w, blob);
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_OK, &d, "load empty");
	ck_assert(!w2.used);
	ck_assert(mgw_cose_replay_commit(&w, 70, &d) == MGW_OK &&
		  mgw_cose_replay_commit(&w, 68, &d) == MGW_OK &&
		  mgw_cose_replay_commit(&w, 10, &d) == MGW_OK);
	mgw_cose_replay_save(&w, blob);
	ck_assert(blob[0] == 1 && blob[1] == 1 && blob[9] == 70);
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_OK, &d, "load");
	ck_assert(w2.used && w2.top == 70 && w2.bits == w.bits);
	expect_rc(mgw_cose_replay_check(&w2, 68, &d), MGW_E_REPLAY, &d, "68 after load");
	expect_rc(mgw_cose_replay_check(&w2, 69, &d), MGW_OK, &d, "69 after load");
	expect_rc(mgw_cose_replay_check(&w2, 6, &d), MGW_E_REPLAY, &d, "6 after load");
	/* refused blobs leave the window alone */
	w2 = w;
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob) - 1, &d), MGW_E_MALFORMED, &d,
		  "short");
	expect_rc(mgw_cose_replay_load(&w2, NULL, 0, &d), MGW_E_MALFORMED, &d, "empty");
	blob[0] = 2;
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d,
		  "version");
	blob[0] = 1;
	blob[17] &= 0xFE; /* bit 0 (top) clear */
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d, "bit 0");
	blob[17] |= 1;
	blob[1] = 0; /* unused, yet numbers */
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d, "unused");
	blob[1] = 2;
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d, "flag");
	blob[1] = 1;
	blob[4] = 1; /* top beyond 2^40 - 1 */
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d, "top");
	blob[4] = 0;
	blob[9] = 3; /* top 3, bit 4 (number -1) set */
	expect_rc(mgw_cose_replay_load(&w2, blob, sizeof(blob), &d), MGW_E_MALFORMED, &d,
		  "below zero");
	ck_assert(w2.top == w.top && w2.bits == w.bits && w2.used);
}
END_TEST

/* The gateway's full uplink sequence: check, unprotect, commit only on success. A forged
 * message does not move the window, even with a number far ahead. */
START_TEST(replay_with_auth)
{
	struct mgw_cose_key *dev = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, DEV_KID,
					   DEV_CIV);
	struct mgw_cose_key *forger = key_new(MGW_COSE_ALG_AES_CCM_16_64_128,
					      "00000000000000000000000000000000", DEV_KID, DEV_CIV);
	struct buf pt = T("x");
	struct mgw_cose_replay w;
	struct mgw_diag d;
	uint8_t *back = NULL;
	size_t back_len;
	struct {
		const struct mgw_cose_key *by;
		uint64_t seq;
		int rc;
	} steps[] = {
		{ dev, 1, MGW_OK },
		{ dev, 1, MGW_E_REPLAY },              /* duplicate */
		{ forger, 7, MGW_E_CRYPTO },           /* fails auth: 7 stays free */
		{ forger, MGW_COSE_SEQ_MAX, MGW_E_CRYPTO }, /* fails auth: top stays */
		{ dev, 7, MGW_OK },
		{ dev, 3, MGW_OK },                    /* out of order, inside */
		{ dev, 3, MGW_E_REPLAY },
		{ dev, 2, MGW_OK },
		{ dev, 200, MGW_OK },
		{ dev, 136, MGW_E_REPLAY },            /* too old */
		{ dev, 137, MGW_OK },
		{ forger, 150, MGW_E_CRYPTO },
		{ dev, 150, MGW_OK },
	};

	mgw_cose_replay_init(&w);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct buf msg = device_msg(steps[i].by, steps[i].seq, NULL, pt);
		struct mgw_cose_msg m;
		uint64_t seq = 0;
		int rc;
		char what[32];

		snprintf(what, sizeof(what), "step %zu", i);
		expect_rc(mgw_cose_decode(msg.p, msg.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d,
			  what);
		if ((rc = mgw_cose_replay_check(&w, m.seq, &d)) == MGW_OK &&
		    (rc = mgw_cose_unprotect(ctx, dev, &m, NULL, 0, &back, &back_len, &seq, &d)) ==
			    MGW_OK) {
			talloc_free(back);
			rc = mgw_cose_replay_commit(&w, seq, &d);
		}
		expect_rc(rc, steps[i].rc, &d, what);
		talloc_free(msg.p);
	}
	ck_assert_uint_eq(w.top, 200);
	talloc_free(pt.p);
	mgw_cose_key_free(dev);
	mgw_cose_key_free(forger);
}
END_TEST

/* ==================================================================================== */
/* malformed input                                                                      */
/* ==================================================================================== */

static const struct bad {
	const char *name;
	const char *hex;
	enum mgw_cose_type type;
	int rc;
	const char *where;
} bads[] = {
	{ "empty", "", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "tag only", "D0", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "COSE_Sign1 tag", "D2 83 40 A0 40", MGW_COSE_ANY, MGW_E_UNSUPPORTED, "" },
	{ "self-describe tag", "D9D9F7 D0 83 40 A0 40", MGW_COSE_ANY, MGW_E_UNSUPPORTED, "" },
	{ "two tags", "D0 D0 83 40 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "Encrypt0 as Mac0", "D0 83 40 A0 40", MGW_COSE_MAC0, MGW_E_TYPE, "" },
	{ "untagged, any", "83 40 A0 40", MGW_COSE_ANY, MGW_E_MISSING, "" },
	{ "not an array", "D0 A0", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "4 items", "D0 84 40 A0 40 40", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "Mac0 of 3", "D1 83 40 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "indefinite array", "D0 9F 40 A0 40 FF", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "protected a map", "D0 83 A0 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0" },
	{ "protected text", "D0 83 60 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0" },
	{ "protected array", "D0 83 41 80 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0" },
	{ "protected trailing", "D0 83 42 A0 00 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/0" },
	{ "protected truncated", "D0 83 42 A1 01 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/0/1" },
	{ "indefinite protected", "D0 83 5F 41 A0 FF A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/0" },
	{ "unprotected array", "D0 83 40 80 40", MGW_COSE_ANY, MGW_E_TYPE, "/1" },
	{ "indefinite map", "D0 83 40 BF FF 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1" },
	{ "kid not bytes", "D0 83 40 A1 04 01 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/4" },
	{ "kid 8 bytes", "D0 83 40 A1 04 48 0102030405060708 40", MGW_COSE_ANY, MGW_E_TOO_BIG,
	  "/1/4" },
	{ "piv empty", "D0 83 40 A1 06 40 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1/6" },
	{ "piv not minimal", "D0 83 40 A1 06 42 0001 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1/6" },
	{ "piv 6 bytes", "D0 83 40 A1 06 46 010203040506 40", MGW_COSE_ANY, MGW_E_TOO_BIG, "/1/6" },
	{ "piv integer", "D0 83 40 A1 06 01 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/6" },
	{ "iv empty", "D0 83 40 A1 05 40 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/5" },
	{ "iv and piv", "D0 83 40 A2 05 4D 00000000000000000000000000 06 41 01 40", MGW_COSE_ANY,
	  MGW_E_MALFORMED, "/1" },
	{ "label twice", "D0 83 40 A2 04 41 01 04 41 02 40", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/1/4" },
	{ "label in both maps", "D0 83 43 A1 04 40 A1 04 40 40", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/1/4" },
	{ "text label twice", "D0 83 40 A2 61 78 01 61 78 02 40", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/1/\"x\"" },
	{ "label a float", "D0 83 40 A1 F9 3C00 01 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1" },
	{ "label bytes", "D0 83 40 A1 41 01 01 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1" },
	{ "alg bytes", "D0 83 43 A1 01 40 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0/1" },
	{ "alg a map", "D0 83 40 A1 01 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/1" },
	{ "ctyp negative", "D0 83 40 A1 03 20 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/3" },
	{ "ctyp > uint16", "D0 83 40 A1 03 1A 00010000 40", MGW_COSE_ANY, MGW_E_TYPE, "/1/3" },
	{ "crit unprotected", "D0 83 40 A1 02 81 01 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1/2" },
	{ "crit empty", "D0 83 43 A1 02 80 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/0/2" },
	{ "crit not array", "D0 83 43 A1 02 01 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0/2" },
	{ "crit unknown", "D0 83 48 A2 02 81 18 63 18 63 00 A0 40", MGW_COSE_ANY,
	  MGW_E_UNSUPPORTED, "/0/2" },
	{ "crit negative", "D0 83 46 A2 02 81 25 25 00 A0 40", MGW_COSE_ANY, MGW_E_UNSUPPORTED,
	  "/0/2" },
	{ "crit text", "D0 83 48 A2 02 81 61 78 61 78 00 A0 40", MGW_COSE_ANY, MGW_E_UNSUPPORTED,
	  "/0/2" },
	{ "crit absent", "D0 83 44 A1 02 81 04 A1 04 40 40", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/0/2" },
	{ "crit a float", "D0 83 46 A1 02 81 F9 3C00 A0 40", MGW_COSE_ANY, MGW_E_TYPE, "/0/2" },
	{ "17 headers",
	  "D0 83 40 B1 1864 00 1865 00 1866 00 1867 00 1868 00 1869 00 186A 00 186B 00 186C 00"
	  " 186D 00 186E 00 186F 00 1870 00 1871 00 1872 00 1873 00 1874 00 40",
	  MGW_COSE_ANY, MGW_E_TOO_BIG, "/1" },
	{ "deep unknown value", "D0 83 40 A1 1863 81818181818181818101 40", MGW_COSE_ANY,
	  MGW_E_MALFORMED, "/1/99" },
	{ "deep tags", "D0 83 40 A1 1863 C6C6C6C6C6C6C6C6C601 40", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/1/99" },
	{ "huge array value", "D0 83 40 A1 1863 9B FFFFFFFFFFFFFFFF 40", MGW_COSE_ANY,
	  MGW_E_MALFORMED, "/1/99" },
	{ "huge map value", "D0 83 40 A1 1863 BB 7FFFFFFFFFFFFFFF 40", MGW_COSE_ANY,
	  MGW_E_MALFORMED, "/1/99" },
	{ "indefinite value", "D0 83 40 A1 1863 5F FF 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1/99" },
	{ "stray break", "D0 83 40 A1 1863 FF 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/1/99" },
	{ "reserved byte", "D0 83 40 A0 FC", MGW_COSE_ANY, MGW_E_MALFORMED, "/2" },
	{ "reserved length", "D0 83 40 A0 5C", MGW_COSE_ANY, MGW_E_MALFORMED, "/2" },
	{ "ciphertext nil", "D0 83 40 A0 F6", MGW_COSE_ANY, MGW_E_UNSUPPORTED, "/2" },
	{ "ciphertext text", "D0 83 40 A0 60", MGW_COSE_ANY, MGW_E_TYPE, "/2" },
	{ "ciphertext indefinite", "D0 83 40 A0 5F 41 00 FF", MGW_COSE_ANY, MGW_E_MALFORMED, "/2" },
	{ "ciphertext truncated", "D0 83 40 A0 45 01", MGW_COSE_ANY, MGW_E_MALFORMED, "/2" },
	{ "ciphertext 2^64", "D0 83 40 A0 5B FFFFFFFFFFFFFFFF", MGW_COSE_ANY, MGW_E_MALFORMED,
	  "/2" },
	{ "missing ciphertext", "D0 83 40 A0", MGW_COSE_ANY, MGW_E_MALFORMED, "/2" },
	{ "trailing", "D0 83 40 A0 40 00", MGW_COSE_ANY, MGW_E_MALFORMED, "" },
	{ "mac tag nil", "D1 84 40 A0 40 F6", MGW_COSE_ANY, MGW_E_TYPE, "/3" },
	{ "mac payload nil", "D1 84 40 A0 F6 40", MGW_COSE_ANY, MGW_E_UNSUPPORTED, "/2" },
	{ "mac truncated", "D1 84 40 A0 40", MGW_COSE_ANY, MGW_E_MALFORMED, "/3" },
	/* accepted forms, for contrast */
	{ "minimal", "D0 83 40 A0 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "untagged Encrypt0", "83 40 A0 40", MGW_COSE_ENCRYPT0, MGW_OK, "" },
	{ "h'a0' protected", "D0 83 41 A0 A0 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "crit understood", "D0 83 46 A2 01 0A 02 81 01 A0 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "unknown headers skipped", "D0 83 40 A3 1863 82 01 A1 61 61 F6 3863 C1 00 61 7A F5 40",
	  MGW_COSE_ANY, MGW_OK, "" },
	{ "alg text", "D0 83 40 A1 01 63 616263 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "alg beyond int64", "D0 83 40 A1 01 1B FFFFFFFFFFFFFFFF 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "kid empty", "D0 83 40 A1 04 40 40", MGW_COSE_ANY, MGW_OK, "" },
	{ "Mac0", "D1 84 40 A0 40 40", MGW_COSE_ANY, MGW_OK, "" },
};

START_TEST(malformed)
{
	const struct bad *v = &bads[_i];
	struct buf b = H(v->hex);
	struct mgw_cose_msg m;
	struct mgw_diag d;
	int rc;

	/* exact-size heap copy: ASan sees any read past the end */
	rc = mgw_cose_decode(b.p, b.n, v->type, 0, 0, &m, &d);
	expect_rc(rc, v->rc, &d, v->name);
	if (rc != MGW_OK)
		ck_assert_msg(strcmp(d.where, v->where) == 0, "%s: where '%s', want '%s'", v->name,
			      d.where, v->where);
	talloc_free(b.p);
}
END_TEST

/* Accepted oddities decode to what they say. */
START_TEST(decode_details)
{
	struct buf b;
	struct mgw_cose_msg m;
	struct mgw_diag d;

	b = H("D0 83 41 A0 A0 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d, "a0");
	ck_assert_uint_eq(m.protected_len, 0); /* RFC 9052 5.3: h'' in the structure */
	talloc_free(b.p);
	b = H("D0 83 40 A1 01 1B FFFFFFFFFFFFFFFF 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d, "big alg");
	ck_assert(m.has_alg && m.alg_other);
	talloc_free(b.p);
	b = H("D0 83 40 A1 01 3B 7FFFFFFFFFFFFFFF 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d, "min alg");
	ck_assert(m.has_alg && !m.alg_other && m.alg == INT64_MIN);
	talloc_free(b.p);
	b = H("D0 83 40 A1 06 45 FFFFFFFFFF 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 0, &m, &d), MGW_OK, &d, "piv max");
	ck_assert(m.has_piv && m.seq == MGW_COSE_SEQ_MAX && !m.piv_protected);
	talloc_free(b.p);
	/* the size limit comes before anything is read */
	b = H("D0 83 40 A0 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 4, &m, &d), MGW_E_TOO_BIG, &d, "max");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 5, &m, &d), MGW_OK, &d, "max exact");
	expect_rc(mgw_cose_decode(NULL, 1, MGW_COSE_ANY, 0, 0, &m, &d), MGW_E_INVAL, &d, "NULL");
	expect_rc(mgw_cose_decode(b.p, b.n, 18, 0, 0, &m, &d), MGW_E_INVAL, &d, "type 18");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ANY, 0, 0, NULL, &d), MGW_E_INVAL, &d, "out");
	talloc_free(b.p);
	/* the tag may be required */
	b = H("83 40 A0 40");
	expect_rc(mgw_cose_decode(b.p, b.n, MGW_COSE_ENCRYPT0, MGW_COSE_TAG_REQUIRED, 0, &m, &d),
		  MGW_E_MISSING, &d, "tag required");
	talloc_free(b.p);
}
END_TEST

/* A pseudo-random walk over mutated and random inputs: nothing crashes or leaks, and
 * nothing but the genuine message opens. */
START_TEST(mutations)
{
	struct mgw_cose_key *dev = key_new(MGW_COSE_ALG_AES_CCM_16_64_128, DEV_KEY, DEV_KID,
					   DEV_CIV);
	struct buf pt = T("payload"), up = device_msg(dev, 42, NULL, pt);
	uint32_t x = 2463534242u;
	uint8_t buf[96];

	for (int round = 0; round < 20000; round++) {
		size_t n;
		uint8_t *in, *back = NULL;
		size_t back_len;
		uint64_t seq;
		struct mgw_diag d;

		/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (round % 2) {
			n = up.n;
			memcpy(buf, up.p, n);
			for (int k = 0; k < 1 + (int)(x % 3); k++)
				buf[(x >> (8 + 4 * k)) % n] ^=
					(uint8_t)(1u << ((x >> (3 * k)) % 8));
		} else {
			n = x % sizeof(buf);
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				buf[i] = (uint8_t)x;
			}
			if (n)
				buf[0] = (uint8_t)(0xD0 | (x & 1)); /* mostly tagged */
		}
		in = talloc_memdup(ctx, buf, n ? n : 1);
		if (uplink(dev, (struct buf){ .p = in, .n = n }, NULL, &back, &back_len, &seq,
			   &d) == MGW_OK) {
			ck_assert(n == up.n && memcmp(in, up.p, n) == 0);
			talloc_free(back);
		}
		talloc_free(in);
	}
	talloc_free(up.p);
	talloc_free(pt.p);
	mgw_cose_key_free(dev);
}
END_TEST

static Suite *cose_suite(void)
{
	Suite *s = suite_create("cose");
	TCase *tc = tcase_create("cose");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, rfc8613_request, 0,
			    (int)(sizeof(oscore_reqs) / sizeof(oscore_reqs[0])));
	tcase_add_test(tc, rfc8613_response);
	tcase_add_test(tc, examples_aes_ccm_enc_01);
	tcase_add_loop_test(tc, examples_mac0, 0, (int)(sizeof(mac_vecs) / sizeof(mac_vecs[0])));
	tcase_add_loop_test(tc, examples_mac0_checks, 0,
			    (int)(sizeof(mac_checks) / sizeof(mac_checks[0])));
	tcase_add_test(tc, alg_confusion);
	tcase_add_test(tc, key_specs);
	tcase_add_test(tc, piv_from_seq);
	tcase_add_test(tc, profile_round_trip);
	tcase_add_test(tc, profile_tamper_every_byte);
	tcase_add_test(tc, profile_tamper_named);
	tcase_add_test(tc, replay_window);
	tcase_add_test(tc, replay_with_auth);
	tcase_add_loop_test(tc, malformed, 0, (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, decode_details);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cose_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
