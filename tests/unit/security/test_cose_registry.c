/* Unit tests of device object security as the gateway wires it (issue 7): the registry's
 * cose: section, the uplink (mgw_security_inbound: decode, kid, replay window, tag, the
 * audit record; mgw_security_inbound_commit: the window in the store's kv) and the
 * downlink (mgw_security_protect: reserved sequence numbers, the device opens it). The COSE
 * primitives themselves are tested in test_cose.c. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/cose.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>
#include <mgw/store.h>

/* the AES-CCM device (ue-sms-7) */
#define CCM_KEY "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define CCM_IV "4a5b6c7d8e9fa0b1c2d3e4f506"
#define CCM_KID "a1b2"
/* the HMAC 256/64 device (ue-coap-9): bytes 0x10..0x2f, base64 */
#define HMAC_KEY_B64 "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8="
/* the AES-MAC 128/64 device (ue-mqtt-9) */
#define AMAC_KEY "00112233445566778899aabbccddeeff"

/* tests/lib/cose-dev.py seal --key CCM_KEY --iv CCM_IV --kid a1b2 --seq 5 "hello from a
 * device": written by Python's cryptography (AESCCM), not by this gateway */
#define PY_VECTOR "0INDoQEKogRCobIGQQVYGyeRcAZ-N1Q6LzqcBgyHawRY8ByzQBsUbe94Ow"
#define PY_TEXT "hello from a device"

static const char reg_yaml[] =
	"- ue: ue-sms-7\n"
	"  sms: { msisdn: \"+491709999999\" }\n"
	"  cose: { kid: \"A1B2\", key: \"" CCM_KEY "\", common_iv: \"" CCM_IV "\" }\n"
	"- ue: ue-coap-9\n"
	"  coap: { psk_identity: sensor-9, psk: \"psk-9\" }\n"
	"  cose: { kid: \"0c\", key: \"" HMAC_KEY_B64 "\", alg: HMAC 256/64 }\n"
	"- ue: ue-mqtt-9\n"
	"  mqtt: { username: dev-9 }\n"
	"  cose: { kid: \"99\", key: \"" AMAC_KEY "\", alg: \"AES-MAC 128/64\" }\n"
	"- ue: ue-plain\n"
	"  mqtt: { username: plain-1 }\n";

static void *ctx;

static void setup(void)
{
	ctx = talloc_named_const(NULL, 0, "test");
	mgw_log_set_all(MGW_LOGL_ERROR);
	mgw_log_set_timestamps(false);
}

static void teardown(void)
{
	ck_assert_int_eq(talloc_total_blocks(ctx), 1);
	talloc_free(ctx);
	ctx = NULL;
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static char *b64url(void *c, const uint8_t *in, size_t n, bool std)
{
	static const char a[] = B64URL;
	char *s = talloc_size(c, 4 * ((n + 2) / 3) + 1);
	size_t o = 0;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		size_t k = n - i >= 3 ? 4 : n - i + 1;

		for (size_t j = 0; j < 4; j++)
			s[o++] = j < k ? a[(v >> (18 - 6 * j)) & 63] : (std ? '=' : '\0');
	}
	s[o] = '\0';
	if (std)
		for (size_t i = 0; i < o; i++)
			s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	return s;
}

static struct mgw_registry *load(const char *y)
{
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	int rc = mgw_registry_load_buf(ctx, "devices.yaml", y, strlen(y), &r, &err);

	ck_assert_msg(rc == MGW_OK, "load: %s", err.msg);
	return r;
}

/* a device-side key for (kid, alg): what the device holds */
static struct mgw_cose_key *dev_key(int alg, const char *key_hex, const uint8_t *key,
				    size_t key_len, const char *kid_hex, const char *iv_hex)
{
	uint8_t k[64], kid[8], iv[13];
	struct mgw_cose_key_spec spec = { .alg = alg };
	struct mgw_cose_key *out = NULL;

	if (key_hex) {
		spec.key_len = unhex(key_hex, k);
		spec.key = k;
	} else {
		spec.key = key;
		spec.key_len = key_len;
	}
	spec.kid_len = kid_hex ? unhex(kid_hex, kid) : 0;
	spec.kid = kid;
	if (iv_hex) {
		spec.common_iv_len = unhex(iv_hex, iv);
		spec.common_iv = iv;
	}
	ck_assert_int_eq(mgw_cose_key_alloc(ctx, &spec, &out, NULL), MGW_OK);
	return out;
}

static struct mgw_cose_key *ccm_dev(const char *kid)
{
	return dev_key(MGW_COSE_ALG_AES_CCM_16_64_128, CCM_KEY, NULL, 0, kid, CCM_IV);
}

/* the raw COSE bytes a device sends: seq as its Partial IV, its kid (flags) */
static uint8_t *seal_raw(const struct mgw_cose_key *k, uint64_t seq, const void *pt, size_t n,
			 unsigned flags, size_t *len)
{
	uint8_t piv[MGW_COSE_PIV_MAX];
	const uint8_t *kid;
	size_t kid_len = mgw_cose_key_kid(k, &kid);
	struct mgw_cose_emit e = { .flags = flags };
	uint8_t *out = NULL;

	e.iv.id = kid;
	e.iv.id_len = kid_len;
	e.iv.piv = piv;
	e.iv.piv_len = mgw_cose_piv_from_seq(seq, piv);
	if (mgw_cose_key_alg(k) == MGW_COSE_ALG_AES_CCM_16_64_128)
		ck_assert_int_eq(mgw_cose_encrypt0(ctx, k, &e, pt, n, &out, len, NULL), MGW_OK);
	else
		ck_assert_int_eq(mgw_cose_mac0(ctx, k, &e, pt, n, &out, len, NULL), MGW_OK);
	return out;
}

#define UP_FLAGS (MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG | MGW_COSE_EMIT_KID | MGW_COSE_EMIT_PIV)

/* ... as the payload text: base64url */
static char *seal(const struct mgw_cose_key *k, uint64_t seq, const char *text)
{
	size_t n = 0;
	uint8_t *raw = seal_raw(k, seq, text, strlen(text), UP_FLAGS, &n);
	char *s = b64url(ctx, raw, n, false);

	talloc_free(raw);
	return s;
}

/* ---------------------------------------------------------------- a gateway */

struct gw {
	char dir[32], db[64], audit_path[64];
	struct mgw_store *store;
	struct mgw_audit *audit;
	struct mgw_security *sec;
};

static void gw_open_sec(struct gw *g)
{
	char why[128];

	ck_assert_int_eq(mgw_store_open(ctx, g->db, NULL, &g->store, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_audit_open(ctx, g->audit_path, &g->audit, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_security_alloc(ctx, NULL, load(reg_yaml), g->audit, g->store, &g->sec),
			 MGW_OK);
}

static void gw_open(struct gw *g)
{
	snprintf(g->dir, sizeof(g->dir), "/tmp/mgw-cose-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g->dir));
	snprintf(g->db, sizeof(g->db), "%s/gw.db", g->dir);
	snprintf(g->audit_path, sizeof(g->audit_path), "%s/audit.jsonl", g->dir);
	gw_open_sec(g);
}

/* a restart: everything closed, the files stay */
static void gw_close_sec(struct gw *g)
{
	ck_assert_int_eq(mgw_store_flush(g->store), MGW_OK);
	mgw_security_free(g->sec);
	mgw_audit_close(g->audit);
	mgw_store_close(g->store);
	g->sec = NULL;
	g->store = NULL;
	g->audit = NULL;
}

static void gw_close(struct gw *g)
{
	char cmd[64];

	gw_close_sec(g);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct mgw_identity ident(enum mgw_ingress in, enum mgw_cred kind, const char *value)
{
	struct mgw_identity id;

	memset(&id, 0, sizeof(id));
	id.ingress = in;
	id.kind = kind;
	snprintf(id.value, sizeof(id.value), "%s", value);
	return id;
}

static const struct mgw_identity *sms7(void)
{
	static struct mgw_identity id;

	id = ident(MGW_IN_SMS, MGW_CRED_MSISDN, "491709999999");
	return &id;
}

/* one uplink: rc, the verdict, the message after the security layer (freed by caller) */
static int up_msg(struct gw *g, const struct mgw_identity *id, const char *dest,
		  const void *payload, size_t len, bool has_payload, struct mgw_verdict *v,
		  struct mgw_msg **out)
{
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);
	int rc;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, dest ? dest : "AS:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), "m1"), MGW_OK);
	if (has_payload) {
		ck_assert_int_eq(mgw_msg_set_payload(m, payload, len), MGW_OK);
		m->has_payload = true;
	}
	rc = mgw_security_inbound(g->sec, m, id, v);
	if (out)
		*out = m;
	else
		mgw_msg_free(m);
	return rc;
}

static int up(struct gw *g, const struct mgw_identity *id, const char *payload,
	      struct mgw_verdict *v)
{
	return up_msg(g, id, NULL, payload, strlen(payload), true, v, NULL);
}

/* inbound, then commit as the core does */
static int up_commit(struct gw *g, const struct mgw_identity *id, const char *payload,
		     struct mgw_verdict *v)
{
	int rc = up(g, id, payload, v);

	if (rc == MGW_OK)
		rc = mgw_security_inbound_commit(g->sec, v);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* the key material of the registry, in every spelling, is nowhere in buf */
static void no_keys(const char *buf, size_t len)
{
	static const char *const texts[] = { CCM_KEY, HMAC_KEY_B64, AMAC_KEY, "EBESExQVFhcY",
					     "0F1E2D3C4B5A" };
	uint8_t raw[16];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		ck_assert_msg(!memmem(buf, len, texts[i], strlen(texts[i])), "%s leaked", texts[i]);
	unhex(CCM_KEY, raw);
	ck_assert(!memmem(buf, len, raw, 8));
	unhex(AMAC_KEY, raw);
	ck_assert(!memmem(buf, len, raw, 8));
}

/* ---------------------------------------------------------------- registry */

START_TEST(reg_good)
{
	struct mgw_registry *r = load(reg_yaml);
	const struct mgw_device *d;
	const struct mgw_cose_key *k;
	const uint8_t *kid;

	d = mgw_registry_by_cred(r, MGW_CRED_MSISDN, "491709999999");
	ck_assert_ptr_nonnull(d);
	k = mgw_device_cose(d);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(mgw_cose_key_alg(k), MGW_COSE_ALG_AES_CCM_16_64_128); /* the default */
	ck_assert_uint_eq(mgw_cose_key_kid(k, &kid), 2);
	ck_assert(kid[0] == 0xa1 && kid[1] == 0xb2); /* "A1B2" in either case */
	d = mgw_registry_by_ue(r, "ue-coap-9");
	ck_assert_int_eq(mgw_cose_key_alg(mgw_device_cose(d)), MGW_COSE_ALG_HMAC_256_64);
	ck_assert_uint_eq(mgw_cose_key_kid(mgw_device_cose(d), &kid), 1);
	ck_assert_int_eq(kid[0], 0x0c);
	d = mgw_registry_by_ue(r, "ue-mqtt-9");
	ck_assert_int_eq(mgw_cose_key_alg(mgw_device_cose(d)), MGW_COSE_ALG_AES_MAC_128_64);
	ck_assert_ptr_null(mgw_device_cose(mgw_registry_by_ue(r, "ue-plain")));
	ck_assert_ptr_null(mgw_device_cose(NULL));
	mgw_registry_free(r);
}
END_TEST

static const struct {
	const char *yaml;
	const char *msg;
} bad[] = {
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"a1g2\", key: \"" CCM_KEY
	  "\", common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:3:16: [0].cose.kid: not a kid (1 to 7 bytes as hex digits)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"0102030405060708\", key: \"" CCM_KEY
	  "\", common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:3:16: [0].cose.kid: not a kid (1 to 7 bytes as hex digits)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"\", key: \"" CCM_KEY
	  "\", common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:3:16: [0].cose.kid: not a kid (1 to 7 bytes as hex digits)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n"
	  "  cose: { kid: \"01\", key: \"not*a*key\", common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:3:27: [0].cose.key: not a key (hex digits, or base64 of at most 64 "
	  "bytes)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n"
	  "  cose: { kid: \"01\", key: \"0f1e2d3c4b5a69788796a5b4c3d2e1\", common_iv: \"" CCM_IV
	  "\" }\n",
	  "devices.yaml:3:27: [0].cose.key: a key of 15 bytes; AES-CCM-16-64-128 takes 16" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", key: \"" CCM_KEY
	  "\", alg: HMAC 256/256 }\n",
	  "devices.yaml:3:27: [0].cose.key: a key of 16 bytes; HMAC 256/256 takes 32 to 64" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", key: \"" CCM_KEY "\" }\n",
	  "devices.yaml:3:9: [0].cose: AES-CCM-16-64-128 needs common_iv (13 bytes as hex "
	  "digits)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", key: \"" CCM_KEY
	  "\", common_iv: \"4a5b6c7d8e9fa0b1c2d3e4f5\" }\n",
	  "devices.yaml:3:74: [0].cose.common_iv: not a Common IV (13 bytes as hex digits)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", key: \"" CCM_KEY
	  "\", alg: AES-MAC 128/64, common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:3:95: [0].cose.common_iv: AES-MAC 128/64 takes no common_iv (a MAC "
	  "algorithm has no nonce)" },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", key: \"" CCM_KEY
	  "\", alg: AES-CCM-16-64-64, common_iv: \"" CCM_IV "\" }\n",
	  NULL },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"01\", common_iv: \"" CCM_IV "\" }\n",
	  NULL },
	{ "- ue: u\n  sms: { msisdn: \"1\" }\n  cose: { key: \"" CCM_KEY "\", common_iv: \"" CCM_IV
	  "\" }\n",
	  NULL },
	/* the kid is unique over the registry, in any spelling */
	{ "- ue: u1\n  sms: { msisdn: \"1\" }\n  cose: { kid: \"a1b2\", key: \"" CCM_KEY
	  "\", common_iv: \"" CCM_IV "\" }\n"
	  "- ue: u2\n  sms: { msisdn: \"2\" }\n  cose: { kid: \"A1B2\", key: \"" AMAC_KEY
	  "\", alg: AES-MAC 128/64 }\n",
	  "devices.yaml:6:16: [1].cose.kid: duplicate credential: cose kid 'a1b2' is also used "
	  "by ue 'u1'" },
	/* cose: is object security, not a credential of a channel */
	{ "- ue: u\n  cose: { kid: \"01\", key: \"" CCM_KEY "\", common_iv: \"" CCM_IV "\" }\n",
	  "devices.yaml:1:3: [0]: no credential (give coap, sms or mqtt)" },
};

START_TEST(reg_bad)
{
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	const char *y = bad[_i].yaml;
	int rc = mgw_registry_load_buf(ctx, "devices.yaml", y, strlen(y), &r, &err);

	ck_assert_int_eq(rc, MGW_E_CONFIG);
	ck_assert_ptr_null(r);
	if (bad[_i].msg)
		ck_assert_str_eq(err.msg, bad[_i].msg);
	else
		ck_assert_msg(strncmp(err.msg, "devices.yaml:3:", 15) == 0 &&
				      strstr(err.msg, "cose"),
			      "%s", err.msg);
	/* a key is never quoted, right or wrong */
	no_keys(err.msg, strlen(err.msg));
	ck_assert_ptr_null(strstr(err.msg, "0f1e2d3c4b5a69788796a5b4c3d2e1"));
	ck_assert_ptr_null(strstr(err.msg, "not*a*key"));
}
END_TEST

static int row_cb(void *arg, const char *key, const void *val, size_t len)
{
	json_t *rows = arg;

	json_object_set_new(rows, key, json_loadb(val, len, 0, NULL));
	no_keys(val, len);
	ck_assert(!memmem(val, len, CCM_IV, 10)); /* not the Common IV either */
	return 0;
}

/* the registry copy in the store names the kid and the algorithm, never the key */
START_TEST(reg_store_copy)
{
	struct gw g;
	json_t *rows = json_object(), *c;

	gw_open(&g);
	ck_assert_int_eq(mgw_registry_save(mgw_security_registry(g.sec), g.store), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(g.store), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_foreach(g.store, "registry", row_cb, rows), MGW_OK);
	ck_assert_uint_eq(json_object_size(rows), 4);
	c = json_object_get(json_object_get(rows, "ue-sms-7"), "cose");
	ck_assert_str_eq(json_string_value(json_object_get(c, "kid")), "a1b2");
	ck_assert_str_eq(json_string_value(json_object_get(c, "alg")), "AES-CCM-16-64-128");
	ck_assert_str_eq(json_string_value(json_object_get(c, "key")), "<secret>");
	c = json_object_get(json_object_get(rows, "ue-coap-9"), "cose");
	ck_assert_str_eq(json_string_value(json_object_get(c, "alg")), "HMAC 256/64");
	ck_assert_ptr_null(json_object_get(json_object_get(rows, "ue-plain"), "cose"));
	json_decref(rows);
	gw_close(&g);
}
END_TEST

/* ---------------------------------------------------------------- uplink */

/* a message written by an independent implementation (Python cryptography) opens */
START_TEST(up_independent_vector)
{
	struct gw g;
	struct mgw_verdict v;
	struct mgw_msg *m = NULL;

	gw_open(&g);
	ck_assert_int_eq(up_msg(&g, sms7(), NULL, PY_VECTOR, strlen(PY_VECTOR), true, &v, &m),
			 MGW_OK);
	ck_assert_uint_eq(m->payload_len, strlen(PY_TEXT));
	ck_assert(memcmp(m->payload, PY_TEXT, m->payload_len) == 0);
	ck_assert_int_eq(m->prot, MGW_PROT_COSE);
	ck_assert_str_eq(m->ori.addr, "ue-sms-7");
	ck_assert(v.cose_pending);
	ck_assert_uint_eq(v.cose_seq, 5);
	mgw_msg_free(m);
	ck_assert_int_eq(mgw_security_inbound_commit(g.sec, &v), MGW_OK);
	/* the same message again: replayed */
	ck_assert_int_eq(up(&g, sms7(), PY_VECTOR, &v), MGW_E_REPLAY);
	ck_assert_str_eq(v.cause, "COSE_REPLAY");
	ck_assert_str_eq(v.detail, "sequence number 5 duplicate");
	ck_assert(!v.cose_pending);
	gw_close(&g);
}
END_TEST

START_TEST(up_replay_window)
{
	struct gw g;
	struct mgw_verdict v;
	struct mgw_cose_key *k = ccm_dev(CCM_KID);
	char *m1, *m2, *m3, *m10;
	void *val = NULL;
	size_t len = 0;

	gw_open(&g);
	m1 = seal(k, 1, "one");
	m2 = seal(k, 2, "two");
	m3 = seal(k, 3, "three");
	m10 = seal(k, 10, "ten");
	ck_assert_int_eq(up_commit(&g, sms7(), m1, &v), MGW_OK);
	ck_assert_int_eq(up(&g, sms7(), m1, &v), MGW_E_REPLAY);
	/* out of order inside the window */
	ck_assert_int_eq(up_commit(&g, sms7(), m3, &v), MGW_OK);
	ck_assert_int_eq(up_commit(&g, sms7(), m2, &v), MGW_OK);
	ck_assert_int_eq(up(&g, sms7(), m2, &v), MGW_E_REPLAY);
	ck_assert_int_eq(up(&g, sms7(), m3, &v), MGW_E_REPLAY);
	/* the window moves at the commit, not before: a message refused later (a full queue,
	 * a lost batch) can come again */
	ck_assert_int_eq(up(&g, sms7(), m10, &v), MGW_OK);
	ck_assert_int_eq(up(&g, sms7(), m10, &v), MGW_OK);
	ck_assert_int_eq(mgw_security_inbound_commit(g.sec, &v), MGW_OK);
	ck_assert_int_eq(mgw_security_inbound_commit(g.sec, &v), MGW_E_REPLAY);
	ck_assert_int_eq(up(&g, sms7(), m10, &v), MGW_E_REPLAY);
	/* 64 or more below the highest: too old */
	talloc_free(m1);
	m1 = seal(k, 500, "far ahead");
	ck_assert_int_eq(up_commit(&g, sms7(), m1, &v), MGW_OK);
	talloc_free(m1);
	m1 = seal(k, 436, "too old");
	ck_assert_int_eq(up(&g, sms7(), m1, &v), MGW_E_REPLAY);
	ck_assert_str_eq(v.detail, "sequence number 436 too old (highest 500, window 64)");
	talloc_free(m1);
	m1 = seal(k, 437, "just inside");
	ck_assert_int_eq(up_commit(&g, sms7(), m1, &v), MGW_OK);
	/* the window is in the kv, under the UE and the kid */
	ck_assert_int_eq(mgw_store_kv_get(g.store, ctx, "cose.rw", "ue-sms-7/a1b2", mgw_now_ms(),
					  &val, &len),
			 MGW_OK);
	ck_assert_uint_eq(len, MGW_COSE_REPLAY_BLOB_LEN);
	talloc_free(val);
	/* and survives a restart */
	gw_close_sec(&g);
	gw_open_sec(&g);
	ck_assert_int_eq(up(&g, sms7(), m10, &v), MGW_E_REPLAY);
	ck_assert_int_eq(up(&g, sms7(), m1, &v), MGW_E_REPLAY);
	talloc_free(m1);
	m1 = seal(k, 501, "next");
	ck_assert_int_eq(up_commit(&g, sms7(), m1, &v), MGW_OK);
	talloc_free(m1);
	talloc_free(m2);
	talloc_free(m3);
	talloc_free(m10);
	mgw_cose_key_free(k);
	gw_close(&g);
}
END_TEST

START_TEST(up_refusals)
{
	struct gw g;
	struct mgw_verdict v;
	struct mgw_cose_key *k = ccm_dev(CCM_KID), *other = ccm_dev("a1b3"),
			    *nokid = ccm_dev(NULL);
	struct mgw_cose_key *mac = dev_key(MGW_COSE_ALG_AES_MAC_128_64, AMAC_KEY, NULL, 0,
					   CCM_KID, NULL);
	struct mgw_msg *m = NULL;
	struct mgw_cose_stats st;
	uint8_t *raw, bin[3] = { 0xff, 0x00, 0xfe };
	size_t n = 0;
	char *s, *t;

	gw_open(&g);
	/* plain text, nothing, base64 that is not COSE */
	ck_assert_int_eq(up(&g, sms7(), "hello world", &v), MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "COSE_REQUIRED");
	ck_assert_str_eq(v.detail, "the payload is not base64url of a COSE object");
	ck_assert_int_eq(up_msg(&g, sms7(), NULL, NULL, 0, false, &v, NULL), MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "COSE_REQUIRED");
	ck_assert_int_eq(up(&g, sms7(), "dGVzdA", &v), MGW_E_POLICY);
	ck_assert_str_eq(v.detail, "the payload is not a COSE object");

	/* another kid, no kid */
	s = seal(other, 20, "x");
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_BAD_CREDENTIAL);
	ck_assert_str_eq(v.cause, "COSE_KID");
	ck_assert_str_eq(v.detail, "the kid is not the device's");
	talloc_free(s);
	raw = seal_raw(nokid, 20, "x", 1, MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_PIV, &n);
	s = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_BAD_CREDENTIAL);
	ck_assert_str_eq(v.detail, "no kid (header 4)");
	talloc_free(s);
	talloc_free(raw);

	/* a flipped ciphertext bit: refused, and the window did not move */
	raw = seal_raw(k, 21, "genuine", 7, UP_FLAGS, &n);
	raw[n - 9] ^= 0x01;
	s = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_CRYPTO);
	ck_assert_str_eq(v.cause, "COSE_AUTH");
	ck_assert_ptr_nonnull(strstr(v.detail, "Partial IV 21"));
	raw[n - 9] ^= 0x01;
	talloc_free(s);
	/* the genuine one, as standard base64 with padding, then as raw bytes */
	s = b64url(ctx, raw, n, true);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_OK);
	ck_assert_uint_eq(v.cose_seq, 21);
	ck_assert_int_eq(up_msg(&g, sms7(), NULL, raw, n, true, &v, &m), MGW_OK);
	ck_assert_uint_eq(m->payload_len, 7);
	ck_assert(memcmp(m->payload, "genuine", 7) == 0);
	mgw_msg_free(m);
	talloc_free(s);
	/* cut short: malformed */
	s = b64url(ctx, raw, n - 4, false);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_MALFORMED);
	ck_assert_str_eq(v.cause, "COSE_MALFORMED");
	talloc_free(s);
	talloc_free(raw);
	/* a Mac0 to an AES-CCM device: not what its key serves */
	s = seal(mac, 22, "mac");
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_MALFORMED);
	ck_assert_str_eq(v.cause, "COSE_MALFORMED");
	talloc_free(s);
	/* no Partial IV */
	raw = seal_raw(k, 23, "x", 1, MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_KID, &n);
	s = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_MALFORMED);
	ck_assert_str_eq(v.detail, "no Partial IV (header 6): nothing to check replays with");
	talloc_free(s);
	talloc_free(raw);

	/* refused by the policy after opening: the window keeps the number free */
	s = seal(k, 24, "to a group");
	ck_assert_int_eq(up_msg(&g, sms7(), "GROUP:g1", s, strlen(s), true, &v, NULL),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_DEST");
	ck_assert(!v.cose_pending);
	ck_assert_int_eq(mgw_security_inbound_commit(g.sec, &v), MGW_OK);
	ck_assert_int_eq(up_commit(&g, sms7(), s, &v), MGW_OK);
	talloc_free(s);

	/* octets that are not UTF-8 go on as base64 */
	raw = seal_raw(k, 25, bin, sizeof(bin), UP_FLAGS, &n);
	t = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up_msg(&g, sms7(), NULL, t, strlen(t), true, &v, &m), MGW_OK);
	ck_assert_str_eq((const char *)m->payload, "/wD+");
	mgw_msg_free(m);
	talloc_free(t);
	talloc_free(raw);

	/* a report from a COSE device carries no payload: not protected */
	m = mgw_msg_alloc(ctx, MGW_MSG_REPORT);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "AS:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), "r1"), MGW_OK);
	ck_assert_int_eq(mgw_security_inbound(g.sec, m, sms7(), &v), MGW_OK);
	ck_assert_int_eq(m->prot, MGW_PROT_NONE);
	ck_assert(!v.cose_pending);
	mgw_msg_free(m);

	mgw_security_cose_stats(g.sec, &st);
	ck_assert_uint_eq(st.up_required, 3);
	ck_assert_uint_eq(st.up_kid, 2);
	ck_assert_uint_eq(st.up_auth, 1);
	ck_assert_uint_eq(st.up_malformed, 3);
	ck_assert_uint_eq(st.up_ok, 5);
	ck_assert_uint_eq(st.up_replay, 0);
	mgw_cose_key_free(k);
	mgw_cose_key_free(other);
	mgw_cose_key_free(nokid);
	mgw_cose_key_free(mac);
	gw_close(&g);
}
END_TEST

/* Mac0 devices: integrity only, the payload is the one the device MACed */
START_TEST(up_mac)
{
	struct gw g;
	struct mgw_verdict v;
	struct mgw_identity coap9 = ident(MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-9"),
			    mqtt9 = ident(MGW_IN_MQTT, MGW_CRED_MQTT_USER, "dev-9");
	uint8_t hk[32];
	struct mgw_cose_key *hmac, *amac;
	struct mgw_msg *m = NULL;
	uint8_t *raw;
	size_t n = 0;
	char *s;

	for (size_t i = 0; i < sizeof(hk); i++)
		hk[i] = (uint8_t)(0x10 + i);
	hmac = dev_key(MGW_COSE_ALG_HMAC_256_64, NULL, hk, sizeof(hk), "0c", NULL);
	amac = dev_key(MGW_COSE_ALG_AES_MAC_128_64, AMAC_KEY, NULL, 0, "99", NULL);
	gw_open(&g);
	s = seal(hmac, 7, "meter 42");
	ck_assert_int_eq(up_msg(&g, &coap9, NULL, s, strlen(s), true, &v, &m), MGW_OK);
	ck_assert_str_eq((const char *)m->payload, "meter 42");
	ck_assert_int_eq(mgw_security_inbound_commit(g.sec, &v), MGW_OK);
	mgw_msg_free(m);
	ck_assert_int_eq(up(&g, &coap9, s, &v), MGW_E_REPLAY);
	talloc_free(s);
	/* the payload changed in transit */
	raw = seal_raw(hmac, 8, "meter 42", 8, UP_FLAGS, &n);
	for (size_t i = 0; i + 8 <= n; i++)
		if (!memcmp(raw + i, "meter 42", 8))
			raw[i + 6] = '9';
	s = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up(&g, &coap9, s, &v), MGW_E_CRYPTO);
	ck_assert_str_eq(v.cause, "COSE_AUTH");
	talloc_free(s);
	talloc_free(raw);
	/* the HMAC device's message is not the AES-MAC device's */
	s = seal(amac, 1, "via the broker");
	ck_assert_int_eq(up(&g, &coap9, s, &v), MGW_E_BAD_CREDENTIAL);
	ck_assert_int_eq(up_commit(&g, &mqtt9, s, &v), MGW_OK);
	talloc_free(s);
	mgw_cose_key_free(hmac);
	mgw_cose_key_free(amac);
	gw_close(&g);
}
END_TEST

/* one audit record per verdict, "protection":"cose", a precise cause, no key material */
START_TEST(up_audit)
{
	struct gw g;
	struct mgw_verdict v;
	struct mgw_cose_key *k = ccm_dev(CCM_KID);
	struct mgw_identity plain = ident(MGW_IN_MQTT, MGW_CRED_MQTT_USER, "plain-1");
	static const char *const causes[] = { "OK", "COSE_REPLAY", "COSE_AUTH", "COSE_REQUIRED",
					      "OK" };
	char *s, *buf, why[128];
	uint8_t *raw;
	size_t n = 0, len = 0, lines = 0;

	gw_open(&g);
	s = seal(k, 1, "audited");
	ck_assert_int_eq(up_commit(&g, sms7(), s, &v), MGW_OK);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_REPLAY);
	talloc_free(s);
	raw = seal_raw(k, 2, "audited", 7, UP_FLAGS, &n);
	raw[n - 1] ^= 0x80;
	s = b64url(ctx, raw, n, false);
	ck_assert_int_eq(up(&g, sms7(), s, &v), MGW_E_CRYPTO);
	talloc_free(s);
	talloc_free(raw);
	ck_assert_int_eq(up(&g, sms7(), "in the clear", &v), MGW_E_POLICY);
	ck_assert_int_eq(up(&g, &plain, "in the clear", &v), MGW_OK);
	mgw_audit_close(g.audit);
	g.audit = NULL;

	buf = slurp(g.audit_path, &len);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_eq(lines, 5);
	for (size_t i = 0; i < 5; i++) {
		const char *p = buf;
		json_t *j;

		for (size_t l = 0; l < i; l++)
			p = strchr(p, '\n') + 1;
		j = json_loadb(p, (size_t)(strchr(p, '\n') - p), 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(json_string_value(json_object_get(j, "cause")), causes[i]);
		ck_assert_str_eq(json_string_value(json_object_get(j, "protection")),
				 i < 4 ? "cose" : "transport");
		ck_assert_str_eq(json_string_value(json_object_get(j, "decision")),
				 !strcmp(causes[i], "OK") ? "accept" : "reject");
		if (i < 4)
			ck_assert_str_eq(json_string_value(json_object_get(j, "ue")), "ue-sms-7");
		json_decref(j);
	}
	ck_assert_ptr_nonnull(strstr(buf, "sequence number 1 duplicate"));
	no_keys(buf, len);
	ck_assert_ptr_null(strstr(buf, "audited")); /* nor the plaintext */
	ck_assert_ptr_null(strstr(buf, CCM_IV));
	free(buf);
	/* gw_close closes the audit log again: reopen one for it */
	ck_assert_int_eq(mgw_audit_open(ctx, g.audit_path, &g.audit, why, sizeof(why)), MGW_OK);
	mgw_cose_key_free(k);
	gw_close(&g);
}
END_TEST

/* without a store there is no replay window: refused, never passed through */
START_TEST(up_no_store)
{
	struct mgw_security *sec = NULL;
	struct mgw_verdict v;
	struct mgw_cose_key *k = ccm_dev(CCM_KID);
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);
	char *s = seal(k, 1, "x");

	ck_assert_int_eq(mgw_security_alloc(ctx, NULL, load(reg_yaml), NULL, NULL, &sec), MGW_OK);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, "AS:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_msg_set_payload(m, s, strlen(s)), MGW_OK);
	ck_assert_int_eq(mgw_security_inbound(sec, m, sms7(), &v), MGW_E_INTERNAL);
	ck_assert_str_eq(v.cause, "COSE_STATE");
	mgw_msg_free(m);
	talloc_free(s);
	mgw_cose_key_free(k);
	mgw_security_free(sec);
}
END_TEST

/* ---------------------------------------------------------------- downlink */

static struct mgw_msg *down_msg(const char *ue, const char *text)
{
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mgw_addr_parse(&m->ori, "AS:as-1"), MGW_OK);
	ck_assert_int_eq(mgw_addr_parse(&m->dest, ue), MGW_OK);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), "d1"), MGW_OK);
	if (text) {
		ck_assert_int_eq(mgw_msg_set_payload(m, text, strlen(text)), MGW_OK);
		m->has_payload = true;
	}
	return m;
}

/* what the device does with a downlink payload: decode, open with ID_PIV = "" */
static uint64_t device_opens(const struct mgw_msg *out, const char *want)
{
	struct mgw_cose_key *k = ccm_dev(NULL); /* the gateway's Sender ID: empty */
	uint8_t raw[512], *pt = NULL;
	size_t n = 0, pt_len = 0;
	struct mgw_cose_msg cm;
	uint64_t seq;

	ck_assert_int_eq(out->prot, MGW_PROT_COSE);
	ck_assert_msg(strspn((const char *)out->payload, B64URL) == out->payload_len,
		      "not base64url: %s", out->payload);
	/* base64url -> bytes (the test's own decoder: 4 chars -> 3 bytes) */
	for (size_t i = 0; i < out->payload_len; i += 4) {
		uint32_t v = 0;
		size_t k4 = out->payload_len - i < 4 ? out->payload_len - i : 4;

		for (size_t j = 0; j < 4; j++)
			v = v << 6 | (j < k4 ? (uint32_t)(strchr(B64URL, out->payload[i + j]) - B64URL)
					     : 0);
		for (size_t j = 0; j + 1 < k4; j++)
			raw[n++] = (uint8_t)(v >> (16 - 8 * j));
	}
	ck_assert_int_eq(raw[0], 0xd0); /* tagged COSE_Encrypt0 */
	ck_assert_int_eq(mgw_cose_decode(raw, n, MGW_COSE_ENCRYPT0, MGW_COSE_TAG_REQUIRED, 0, &cm,
					 NULL),
			 MGW_OK);
	ck_assert(!cm.has_kid); /* no kid downlink */
	ck_assert(cm.has_piv);
	seq = cm.seq;
	ck_assert_int_eq(mgw_cose_decrypt0(ctx, k, &cm, NULL, 0, NULL, &pt, &pt_len, NULL), MGW_OK);
	ck_assert_uint_eq(pt_len, strlen(want));
	ck_assert(memcmp(pt, want, pt_len) == 0);
	talloc_free(pt);
	mgw_cose_key_free(k);
	return seq;
}

static int protect(struct gw *g, const struct mgw_msg *m, struct mgw_msg **out)
{
	const struct mgw_device *d =
		mgw_registry_by_ue(mgw_security_registry(g->sec), m->dest.addr);

	ck_assert_ptr_nonnull(d);
	return mgw_security_protect(g->sec, ctx, m, d, out);
}

START_TEST(down_protect)
{
	struct gw g;
	struct mgw_msg *m = down_msg("UE:ue-sms-7", "to the device"), *out = NULL;
	struct mgw_cose_stats st;
	void *val = NULL;
	size_t len = 0;

	gw_open(&g);
	/* nothing reserved yet: a block is written, usable once committed */
	ck_assert_int_eq(protect(&g, m, &out), MGW_E_FULL);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(mgw_store_kv_get(g.store, ctx, "cose.seq", "ue-sms-7", mgw_now_ms(), &val,
					  &len),
			 MGW_OK);
	ck_assert_str_eq(val, "64");
	talloc_free(val);
	ck_assert_int_eq(protect(&g, m, &out), MGW_E_FULL); /* still not committed */
	ck_assert_int_eq(mgw_store_flush(g.store), MGW_OK);
	for (uint64_t i = 0; i < 64; i++) {
		ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
		ck_assert_uint_eq(device_opens(out, "to the device"), i);
		talloc_free(out);
		out = NULL;
	}
	/* the next block was written when 32 were left; not committed yet */
	ck_assert_int_eq(protect(&g, m, &out), MGW_E_FULL);
	ck_assert_int_eq(mgw_store_kv_get(g.store, ctx, "cose.seq", "ue-sms-7", mgw_now_ms(), &val,
					  &len),
			 MGW_OK);
	ck_assert_str_eq(val, "128");
	talloc_free(val);
	ck_assert_int_eq(mgw_store_flush(g.store), MGW_OK);
	ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
	ck_assert_uint_eq(device_opens(out, "to the device"), 64);
	talloc_free(out);
	/* a restart never uses a number that may have gone out: it goes on above 128 */
	gw_close_sec(&g);
	gw_open_sec(&g);
	ck_assert_int_eq(protect(&g, m, &out), MGW_E_FULL);
	ck_assert_int_eq(mgw_store_flush(g.store), MGW_OK);
	ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
	ck_assert_uint_eq(device_opens(out, "to the device"), 128);
	/* the copy is what changed: the original keeps its plaintext */
	ck_assert_str_eq((const char *)m->payload, "to the device");
	ck_assert_str_eq(out->msg_id, "d1");
	talloc_free(out);
	mgw_security_cose_stats(g.sec, &st);
	ck_assert_uint_eq(st.down_ok, 1);
	mgw_msg_free(m);
	gw_close(&g);
}
END_TEST

START_TEST(down_not_protected)
{
	struct gw g;
	struct mgw_msg *m, *out = (struct mgw_msg *)&out;

	gw_open(&g);
	/* a device without a key, a report, a message without payload: sent as they are */
	m = down_msg("UE:ue-plain", "plain");
	ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
	ck_assert_ptr_null(out);
	mgw_msg_free(m);
	m = down_msg("UE:ue-sms-7", NULL);
	out = (struct mgw_msg *)&out;
	ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
	ck_assert_ptr_null(out);
	m->kind = MGW_MSG_REPORT;
	out = (struct mgw_msg *)&out;
	ck_assert_int_eq(protect(&g, m, &out), MGW_OK);
	ck_assert_ptr_null(out);
	mgw_msg_free(m);
	gw_close(&g);
}
END_TEST

/* what cannot be protected is never sent plain: an error and a COSE_PROTECT audit record;
 * the accepted downlink is audited "cose" */
START_TEST(down_refused)
{
	struct gw g;
	struct mgw_msg *m, *out = NULL;
	struct mgw_identity m5s = ident(MGW_IN_NORTH, MGW_CRED_M5S, "m5s");
	const struct mgw_device *dev = NULL;
	struct mgw_verdict v;
	char *big, *buf, why[128];
	size_t len = 0;

	gw_open(&g);
	m = down_msg("UE:ue-sms-7", "hi");
	ck_assert_int_eq(mgw_security_outbound(g.sec, m, &m5s, &dev, &v), MGW_OK);
	ck_assert_int_eq(protect(&g, m, &out), MGW_E_FULL);
	ck_assert_int_eq(mgw_store_flush(g.store), MGW_OK);
	big = talloc_zero_size(ctx, 70001);
	memset(big, 'b', 70000);
	ck_assert_int_eq(mgw_msg_set_payload(m, big, 70000), MGW_OK);
	ck_assert_int_ne(protect(&g, m, &out), MGW_OK);
	ck_assert_ptr_null(out);
	mgw_msg_free(m);
	talloc_free(big);
	mgw_audit_close(g.audit);
	g.audit = NULL;
	buf = slurp(g.audit_path, &len);
	ck_assert_ptr_nonnull(strstr(buf, "\"dir\":\"downlink\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"decision\":\"accept\",\"cause\":\"OK\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"cause\":\"COSE_PROTECT\""));
	ck_assert_ptr_null(strstr(buf, "\"protection\":\"transport\""));
	no_keys(buf, len);
	free(buf);
	ck_assert_int_eq(mgw_audit_open(ctx, g.audit_path, &g.audit, why, sizeof(why)), MGW_OK);
	gw_close(&g);
}
END_TEST

static Suite *cose_suite(void)
{
	Suite *s = suite_create("cose-registry");
	TCase *tc;

	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reg_good);
	tcase_add_loop_test(tc, reg_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, reg_store_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("uplink");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, up_independent_vector);
	tcase_add_test(tc, up_replay_window);
	tcase_add_test(tc, up_refusals);
	tcase_add_test(tc, up_mac);
	tcase_add_test(tc, up_audit);
	tcase_add_test(tc, up_no_store);
	suite_add_tcase(s, tc);

	tc = tcase_create("downlink");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, down_protect);
	tcase_add_test(tc, down_not_protected);
	tcase_add_test(tc, down_refused);
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
