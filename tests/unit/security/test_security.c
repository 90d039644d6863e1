/* Unit tests of the security core (src/security/): registry, binding, policy, audit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>
#include <mgw/store.h>

#define PSK "s3cretPSK-do-not-leak"
#define RPK_B64                                                                            \
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHXg6Jp3tmTKvNW822rMe2JYp/TxSfMLTC+PxSHz7r1Qy2S+" \
	"maZ9W9+Ht/dMD9mg03Q2lkAMLVAQ40TQliMuDsQ=="
#define RPK_FP "sha256:0c795e3c9bd2adf18abb2f77400aa9d20503478539f664dd677fdb82bec78f0d"
#define FP_LOWER "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define FP_MIXED                                                                           \
	"SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:" \
	"aa:bb:cc:dd:ee:ff"

static const char good_yaml[] =
	"- ue: ue-coap-1\n"
	"  coap: { psk_identity: sensor-1, psk: \"" PSK "\" }\n"
	"- ue: ue-coap-2\n"
	"  coap: { cert_fingerprint: \"" FP_MIXED "\" }\n"
	"  allow: [ \"AS:as-1\", \"GROUP:g1\" ]\n"
	"- ue: ue-coap-3\n"
	"  coap: { rpk: \"" RPK_B64 "\" }\n"
	"  allow: [ \"AS:*\", \"BC:*\", \"TOPIC:t1\" ]\n"
	"- ue: ue-sms-1\n"
	"  sms: { msisdn: \"+491701234567\" }\n"
	"- ue: ue-mqtt-1\n"
	"  mqtt: { username: dev-1 }\n";

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

static const char *jget(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static struct mgw_registry *load_good(void)
{
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	int rc = mgw_registry_load_buf(ctx, "devices.yaml", good_yaml, strlen(good_yaml), &r, &err);

	ck_assert_msg(rc == MGW_OK, "load: %s", err.msg);
	return r;
}

static struct mgw_identity ident(enum mgw_ingress in, enum mgw_cred kind, const char *value)
{
	struct mgw_identity id;

	memset(&id, 0, sizeof(id));
	id.ingress = in;
	id.kind = kind;
	snprintf(id.value, sizeof(id.value), "%s", value);
	snprintf(id.peer, sizeof(id.peer), "127.0.0.1:5555");
	return id;
}

static struct mgw_msg *msg(const char *ori, const char *dest, const char *msg_id,
			   size_t payload_len)
{
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);

	ck_assert_ptr_nonnull(m);
	if (ori)
		ck_assert_int_eq(mgw_addr_parse(&m->ori, ori), MGW_OK);
	if (dest)
		ck_assert_int_eq(mgw_addr_parse(&m->dest, dest), MGW_OK);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), msg_id), MGW_OK);
	if (payload_len) {
		char *p = malloc(payload_len);

		ck_assert_ptr_nonnull(p);
		memset(p, 'P', payload_len);
		ck_assert_int_eq(mgw_msg_set_payload(m, p, payload_len), MGW_OK);
		m->has_payload = true;
		free(p);
	}
	return m;
}

static struct mgw_security *sec_new(const struct mgw_policy *pol, struct mgw_audit *audit)
{
	struct mgw_security *sec = NULL;

	ck_assert_int_eq(mgw_security_alloc(ctx, pol, load_good(), audit, NULL, &sec), MGW_OK);
	return sec;
}

/* run one uplink through inbound; return the rc and leave the verdict in *v */
static int up(struct mgw_security *sec, enum mgw_ingress in, enum mgw_cred kind,
	      const char *cred, const char *ori, const char *dest, size_t payload,
	      struct mgw_verdict *v, char *ori_out, size_t ori_len)
{
	struct mgw_identity id = ident(in, kind, cred);
	struct mgw_msg *m = msg(ori, dest, "m1", payload);
	int rc = mgw_security_inbound(sec, m, &id, v);

	if (ori_out)
		mgw_addr_fmt(&m->ori, ori_out, ori_len);
	mgw_msg_free(m);
	return rc;
}

/* ---------------------------------------------------------------- registry */

START_TEST(registry_good)
{
	struct mgw_registry *r = load_good();
	const struct mgw_device *d;
	const uint8_t *key = NULL;
	size_t len = 0;

	ck_assert_uint_eq(mgw_registry_count(r), 5);
	ck_assert_str_eq(mgw_device_ue(mgw_registry_at(r, 0)), "ue-coap-1");
	ck_assert_ptr_null(mgw_registry_at(r, 5));

	d = mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "sensor-1");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-coap-1");
	ck_assert_ptr_eq(mgw_registry_by_ue(r, "ue-coap-1"), d);
	ck_assert_int_eq(mgw_device_adapter(d), MGW_IN_COAP);
	ck_assert_str_eq(mgw_device_cred(d, MGW_CRED_PSK_ID), "sensor-1");
	ck_assert_ptr_null(mgw_device_cred(d, MGW_CRED_MSISDN));
	/* the PSK lookup returns the key bytes */
	ck_assert_int_eq(mgw_device_psk(d, &key, &len), MGW_OK);
	ck_assert_uint_eq(len, strlen(PSK));
	ck_assert(memcmp(key, PSK, len) == 0);

	/* fingerprints are normalised: lookups by any spelling */
	d = mgw_registry_by_cred(r, MGW_CRED_CERT_FP, FP_LOWER);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-coap-2");
	ck_assert_ptr_eq(mgw_registry_by_cred(r, MGW_CRED_CERT_FP, FP_MIXED), d);
	ck_assert_str_eq(mgw_device_cred(d, MGW_CRED_CERT_FP), FP_LOWER);
	ck_assert_int_eq(mgw_device_psk(d, &key, &len), MGW_E_NOT_FOUND);

	/* an RPK is known by the SHA-256 of its SubjectPublicKeyInfo */
	d = mgw_registry_by_cred(r, MGW_CRED_CERT_FP, RPK_FP);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-coap-3");

	/* MSISDN: with or without '+' */
	d = mgw_registry_by_cred(r, MGW_CRED_MSISDN, "491701234567");
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_eq(mgw_registry_by_cred(r, MGW_CRED_MSISDN, "+491701234567"), d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-sms-1");
	ck_assert_str_eq(mgw_device_cred(d, MGW_CRED_MSISDN), "491701234567");
	ck_assert_int_eq(mgw_device_adapter(d), MGW_IN_SMS);

	d = mgw_registry_by_cred(r, MGW_CRED_MQTT_USER, "dev-1");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-mqtt-1");
	ck_assert_int_eq(mgw_device_adapter(d), MGW_IN_MQTT);

	/* misses: wrong kind, unknown value, malformed query */
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_MQTT_USER, "sensor-1"));
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "sensor-2"));
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_MSISDN, "49abc"));
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_M5S, "x"));
	ck_assert_ptr_null(mgw_registry_by_ue(r, "ue-nope"));
	ck_assert_int_eq(mgw_registry_save(r, NULL), MGW_OK);
	mgw_registry_free(r);
}
END_TEST

/* a CA-issued certificate registered by its subject CN: found by that kind only, unique */
START_TEST(registry_subject)
{
	static const char y[] = "- ue: ue-c\n  coap: { cert_subject: sensor-cert-2 }\n"
				"- ue: ue-d\n  coap: { psk_identity: sensor-cert-2, psk: k }\n";
	static const char dup[] = "- ue: ue-c\n  coap: { cert_subject: s }\n"
				  "- ue: ue-d\n  coap: { cert_subject: s }\n";
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err;
	const struct mgw_device *d;

	ck_assert_int_eq(mgw_registry_load_buf(ctx, "devices.yaml", y, strlen(y), &r, &err), 0);
	d = mgw_registry_by_cred(r, MGW_CRED_CERT_SUBJECT, "sensor-cert-2");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "ue-c");
	ck_assert_int_eq(mgw_device_adapter(d), MGW_IN_COAP);
	ck_assert_str_eq(mgw_device_cred(d, MGW_CRED_CERT_SUBJECT), "sensor-cert-2");
	/* the same string as a PSK identity is another device */
	ck_assert_str_eq(mgw_device_ue(mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "sensor-cert-2")),
			 "ue-d");
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_CERT_SUBJECT, "sensor-cert-3"));
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_CERT_SUBJECT), "cert-subject");
	mgw_registry_free(r);
	r = NULL;
	ck_assert_int_ne(mgw_registry_load_buf(ctx, "devices.yaml", dup, strlen(dup), &r, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "cert_subject"));
}
END_TEST

START_TEST(registry_many)
{
	/* the hash tables grow: 1000 devices, every one found by ue and credential */
	size_t n = 1000, cap = n * 80;
	char *y = talloc_size(ctx, cap), key[64];
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(y + o, cap - o, "- { ue: ue-%zu, mqtt: { username: u%zu } }\n",
				      i, i);
	ck_assert_int_eq(mgw_registry_load_buf(ctx, "many.yaml", y, o, &r, &err), MGW_OK);
	ck_assert_uint_eq(mgw_registry_count(r), n);
	for (size_t i = 0; i < n; i++) {
		const struct mgw_device *d;

		snprintf(key, sizeof(key), "u%zu", i);
		d = mgw_registry_by_cred(r, MGW_CRED_MQTT_USER, key);
		ck_assert_ptr_nonnull(d);
		snprintf(key, sizeof(key), "ue-%zu", i);
		ck_assert_str_eq(mgw_device_ue(d), key);
		ck_assert_ptr_eq(mgw_registry_by_ue(r, key), d);
	}
	mgw_registry_free(r);
	talloc_free(y);
}
END_TEST

static const struct {
	const char *yaml;
	const char *msg;
} bad_registries[] = {
	{ "- ue: ue-1\n  mqtt: { username: a }\n- ue: ue-1\n  mqtt: { username: b }\n",
	  "devices.yaml:3:7: [1].ue: duplicate ue 'ue-1' (first in entry [0])" },
	{ "- ue: ue-1\n  coap: { psk_identity: id-1, psk: k1 }\n"
	  "- ue: ue-2\n  coap: { psk_identity: id-1, psk: k2 }\n",
	  "devices.yaml:4:25: [1].coap.psk_identity: duplicate credential: psk 'id-1' is also "
	  "used by ue 'ue-1'" },
	{ "- ue: ue-1\n  sms: { msisdn: \"+4917\" }\n- ue: ue-2\n  sms: { msisdn: \"4917\" }\n",
	  "devices.yaml:4:18: [1].sms.msisdn: duplicate credential: msisdn '4917' is also used "
	  "by ue 'ue-1'" },
	{ "- ue: ue-1\n  mqtt: { username: dev }\n- ue: ue-2\n  mqtt: { username: dev }\n",
	  "devices.yaml:4:21: [1].mqtt.username: duplicate credential: mqtt 'dev' is also used "
	  "by ue 'ue-1'" },
	{ "- ue: ue-1\n  coap: { cert_fingerprint: \"" FP_MIXED "\" }\n"
	  "- ue: ue-2\n  coap: { cert_fingerprint: \"" FP_LOWER "\" }\n",
	  "devices.yaml:4:29: [1].coap.cert_fingerprint: duplicate credential: cert '" FP_LOWER
	  "' is also used by ue 'ue-1'" },
	{ "- ue: ue-1\n  coap: { cert_fingerprint: \"" RPK_FP "\" }\n"
	  "- ue: ue-2\n  coap: { rpk: \"" RPK_B64 "\" }\n",
	  "devices.yaml:4:16: [1].coap.rpk: duplicate credential: cert '" RPK_FP
	  "' is also used by ue 'ue-1'" },
	{ "- ue: ue-1\n  allow: [ \"AS:*\" ]\n",
	  "devices.yaml:1:3: [0]: no credential (give coap, sms or mqtt)" },
	{ "- ue: ue-1\n  coap: { psk: k1 }\n",
	  "devices.yaml:2:16: [0].coap.psk: psk given without psk_identity" },
	{ "- ue: ue-1\n  coap: { psk_identity: id-1 }\n",
	  "devices.yaml:2:25: [0].coap.psk_identity: psk_identity given without psk" },
	{ "- ue: ue-1\n  coap: {}\n",
	  "devices.yaml:2:9: [0].coap: no credential (give psk_identity and psk, cert_fingerprint, "
	  "cert_subject or rpk)" },
	{ "- ue: ue-1\n  mqtt: { username: a }\n  allow: [ \"AS:as-1\", \"as:as-2\" ]\n",
	  "devices.yaml:3:23: [0].allow[1]: bad allow entry: unknown address type (expected UE, "
	  "AS, GROUP, BC or TOPIC)" },
	{ "- ue: ue-1\n  mqtt: { username: a }\n  allow: [ \"AS\" ]\n",
	  "devices.yaml:3:12: [0].allow[0]: bad allow entry: expected \"TYPE:addr\" or "
	  "\"TYPE:*\"" },
	{ "- ue: ue-1\n  mqtt: { username: a }\n  allow: [ \"GROUP:\" ]\n",
	  "devices.yaml:3:12: [0].allow[0]: bad allow entry: empty address (use \"TYPE:*\" for "
	  "any)" },
	{ "- ue: ue-1\n  sms: { msisdn: \"+49-170\" }\n",
	  "devices.yaml:2:18: [0].sms.msisdn: not an MSISDN (1 to 15 digits, optional leading "
	  "'+')" },
	{ "- ue: ue-1\n  sms: { msisdn: \"1234567890123456\" }\n",
	  "devices.yaml:2:18: [0].sms.msisdn: not an MSISDN (1 to 15 digits, optional leading "
	  "'+')" },
	{ "- ue: ue-1\n  coap: { cert_fingerprint: \"sha256:0011\" }\n",
	  "devices.yaml:2:29: [0].coap.cert_fingerprint: not a SHA-256 fingerprint (\"sha256:\" "
	  "and 64 hex digits, colons allowed)" },
	{ "- ue: ue-1\n  coap: { cert_fingerprint: \"md5:00112233\" }\n",
	  "devices.yaml:2:29: [0].coap.cert_fingerprint: not a SHA-256 fingerprint (\"sha256:\" "
	  "and 64 hex digits, colons allowed)" },
	{ "- ue: ue-1\n  coap: { rpk: \"bm90IGEga2V5\" }\n",
	  "devices.yaml:2:16: [0].coap.rpk: not a public key (base64 SubjectPublicKeyInfo DER, "
	  "or \"sha256:\" and 64 hex digits)" },
	{ "- ue: \"\"\n  mqtt: { username: a }\n",
	  "devices.yaml:1:7: [0].ue: must be a non-empty UE Service ID without control "
	  "characters" },
	{ "- ue: ue-1\n  mqtt: { username: \"\" }\n",
	  "devices.yaml:2:21: [0].mqtt.username: must not be empty" },
	/* errors of the engine itself still name the key */
	{ "- ue: ue-1\n  mqtt: { username: a, token: b }\n", /* password: is a key since issue 13 */
	  NULL },
	{ "- mqtt: { username: a }\n", NULL },
	{ "ue: ue-1\n", NULL },
};

START_TEST(registry_bad)
{
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	const char *y = bad_registries[_i].yaml;
	int rc = mgw_registry_load_buf(ctx, "devices.yaml", y, strlen(y), &r, &err);

	ck_assert_int_eq(rc, MGW_E_CONFIG);
	ck_assert_ptr_null(r);
	if (bad_registries[_i].msg)
		ck_assert_str_eq(err.msg, bad_registries[_i].msg);
	else
		ck_assert_msg(strncmp(err.msg, "devices.yaml:", 13) == 0, "%s", err.msg);
	/* secrets never appear in a message */
	ck_assert_ptr_null(strstr(err.msg, "k1"));
}
END_TEST

START_TEST(registry_file)
{
	char dir[] = "/tmp/mgw-sec-XXXXXX", path[64];
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err = { { 0 } };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/devices.yaml", dir);
	ck_assert_int_eq(mgw_registry_load(ctx, path, &r, &err), MGW_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "devices.yaml"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(good_yaml, f);
	fclose(f);
	/* it holds PSKs: readable by others, it is refused, naming the file and its mode */
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(mgw_registry_load(ctx, path, &r, &err), MGW_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "devices.yaml: mode 0644 lets others read its secrets") &&
			      strstr(err.msg, "chmod 640"),
		      "%s", err.msg);
	ck_assert_int_eq(chmod(path, 0660), 0);
	ck_assert_int_eq(mgw_registry_load(ctx, path, &r, &err), MGW_E_CONFIG);
	ck_assert_msg(strstr(err.msg, "mode 0660 lets the group change"), "%s", err.msg);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(mgw_registry_load(ctx, path, &r, &err), MGW_OK);
	mgw_registry_free(r);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(mgw_registry_load(ctx, path, &r, &err), MGW_OK);
	ck_assert_uint_eq(mgw_registry_count(r), 5);
	mgw_registry_free(r);
	unlink(path);
	rmdir(dir);
}
END_TEST


static int count_kv(void *arg, const char *key, const void *val, size_t len)
{
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(registry_save)
{
	static const char y2[] = "- ue: ue-new\n  mqtt: { username: u }\n";
	char dir[] = "/tmp/mgw-store-XXXXXX", path[64], why[128];
	struct mgw_store *st = NULL;
	struct mgw_registry *r = load_good(), *r2 = NULL;
	struct mgw_cfg_err err = { { 0 } };
	void *val = NULL;
	size_t len = 0, n = 0;
	json_t *j;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/gw.db", dir);
	ck_assert_int_eq(mgw_store_open(ctx, path, NULL, &st, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_registry_save(r, st), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(st), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_foreach(st, "registry", count_kv, &n), MGW_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(mgw_store_kv_get(st, ctx, "registry", "ue-coap-1", mgw_now_ms(), &val, &len),
			 MGW_OK);
	/* the row names the credential, never the key */
	ck_assert_ptr_null(strstr(val, PSK));
	j = json_loadb(val, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jget(j, "ue"), "ue-coap-1");
	ck_assert_str_eq(jget(j, "adapter"), "coap");
	ck_assert_str_eq(jget(json_object_get(j, "coap"), "psk_identity"), "sensor-1");
	ck_assert_str_eq(jget(json_object_get(j, "coap"), "psk"), "<secret>");
	json_decref(j);
	talloc_free(val);
	ck_assert_int_eq(mgw_store_kv_get(st, ctx, "registry", "ue-coap-2", mgw_now_ms(), &val, &len),
			 MGW_OK);
	j = json_loadb(val, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "allow"), 1)),
			 "GROUP:g1");
	ck_assert_str_eq(jget(json_object_get(j, "coap"), "cert_fingerprint"), FP_LOWER);
	json_decref(j);
	talloc_free(val);

	/* a save replaces what was there */
	ck_assert_int_eq(mgw_registry_load_buf(ctx, "d2.yaml", y2, strlen(y2), &r2, &err), MGW_OK);
	ck_assert_int_eq(mgw_registry_save(r2, st), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(st), MGW_OK);
	n = 0;
	ck_assert_int_eq(mgw_store_kv_foreach(st, "registry", count_kv, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mgw_store_kv_get(st, ctx, "registry", "ue-coap-1", mgw_now_ms(), &val, &len),
			 MGW_E_NOT_FOUND);
	mgw_store_close(st);
	mgw_registry_free(r);
	mgw_registry_free(r2);
	talloc_free_children(ctx);
	snprintf(why, sizeof(why), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(why), 0);
}
END_TEST

/* ---------------------------------------------------------------- policy schema */

START_TEST(policy_schema)
{
	struct mgw_policy p;
	struct mgw_cfg_err err = { { 0 } };
	const char *y;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, "gw.yaml", "{}", 2, &mgw_policy_schema, &p, &err), 0);
	ck_assert_int_eq(p.max_payload, 2048);
	ck_assert_int_eq(p.spoof, MGW_SPOOF_REWRITE);
	ck_assert_uint_eq(p.default_allow.n, 0);

	y = "max_payload: 4k\nspoofed_origin: reject\ndefault_allow: [ \"AS:*\", \"UE:*\" ]\n";
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, "gw.yaml", y, strlen(y), &mgw_policy_schema, &p, &err),
			 0);
	ck_assert_int_eq(p.max_payload, 4096);
	ck_assert_int_eq(p.spoof, MGW_SPOOF_REJECT);
	ck_assert_uint_eq(p.default_allow.n, 2);

	y = "default_allow: [ \"AS:*\", \"XX:1\" ]\n";
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, "gw.yaml", y, strlen(y), &mgw_policy_schema, &p, &err),
			 -1);
	ck_assert_str_eq(err.msg, "gw.yaml:1:26: default_allow[1]: bad allow entry: unknown address "
				  "type (expected UE, AS, GROUP, BC or TOPIC)");
	y = "max_payload: 300k\n";
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, "gw.yaml", y, strlen(y), &mgw_policy_schema, &p, &err),
			 -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "max_payload"));
	/* every allocation of the loads lives under ctx: free them for teardown's count */
	talloc_free_children(ctx);
}
END_TEST

/* ---------------------------------------------------------------- binding */

START_TEST(bind_sets_origin)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;
	char ori[300];

	/* no oriAddr: the bound UE is filled in */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 10, &v,
			    ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_int_eq(v.rc, MGW_OK);
	ck_assert_str_eq(v.cause, "OK");
	ck_assert_str_eq(v.ue, "ue-coap-1");
	ck_assert_str_eq(v.detail, "");
	ck_assert_str_eq(ori, "UE:ue-coap-1");
	/* its own oriAddr: accepted as is */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "UE:ue-coap-1", "AS:as-1",
			    10, &v, ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(v.detail, "");
	ck_assert_str_eq(ori, "UE:ue-coap-1");
	/* each adapter binds its own kind */
	ck_assert_int_eq(up(sec, MGW_IN_SMS, MGW_CRED_MSISDN, "+491701234567", NULL, "AS:as-1", 0,
			    &v, ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(ori, "UE:ue-sms-1");
	ck_assert_int_eq(up(sec, MGW_IN_MQTT, MGW_CRED_MQTT_USER, "dev-1", NULL, "UE:ue-sms-1", 0,
			    &v, ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(ori, "UE:ue-mqtt-1");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "AS:as-1", 0, &v,
			    ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(ori, "UE:ue-coap-2");
	mgw_security_free(sec);
}
END_TEST

START_TEST(spoof_rewrite)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;
	char ori[300];

	/* device ue-coap-1 claims to be ue-sms-1: it leaves as itself */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "UE:ue-sms-1", "AS:as-1",
			    10, &v, ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(v.cause, "OK");
	ck_assert_str_eq(v.detail, "oriAddr rewritten from UE:ue-sms-1");
	ck_assert_str_eq(ori, "UE:ue-coap-1");
	/* another address type as originator is rewritten too */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "AS:as-1", "AS:as-1", 10,
			    &v, ori, sizeof(ori)),
			 MGW_OK);
	ck_assert_str_eq(v.detail, "oriAddr rewritten from AS:as-1");
	ck_assert_str_eq(ori, "UE:ue-coap-1");
	mgw_security_free(sec);
}
END_TEST

START_TEST(spoof_reject)
{
	struct mgw_policy pol = { .max_payload = 2048, .spoof = MGW_SPOOF_REJECT };
	struct mgw_security *sec = sec_new(&pol, NULL);
	struct mgw_verdict v;
	char ori[300];

	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "UE:ue-sms-1", "AS:as-1",
			    10, &v, ori, sizeof(ori)),
			 MGW_E_SPOOF);
	ck_assert_int_eq(v.rc, MGW_E_SPOOF);
	ck_assert_str_eq(v.cause, "SPOOF");
	ck_assert_str_eq(v.ue, "ue-coap-1");
	ck_assert_str_eq(v.detail, "oriAddr UE:ue-sms-1 is not the bound UE");
	/* the message is left alone on a reject */
	ck_assert_str_eq(ori, "UE:ue-sms-1");
	/* its own address is fine */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "UE:ue-coap-1", "AS:as-1",
			    10, &v, NULL, 0),
			 MGW_OK);
	mgw_security_free(sec);
}
END_TEST

START_TEST(wrong_ingress)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;

	/* a PSK identity handed in by the MQTT adapter */
	ck_assert_int_eq(up(sec, MGW_IN_MQTT, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_E_FORBIDDEN);
	ck_assert_str_eq(v.cause, "WRONG_INGRESS");
	ck_assert_str_eq(v.detail, "a psk credential cannot arrive through mqtt");
	ck_assert_str_eq(v.ue, "");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_MSISDN, "491701234567", NULL, "AS:as-1", 0,
			    &v, NULL, 0),
			 MGW_E_FORBIDDEN);
	ck_assert_int_eq(up(sec, MGW_IN_SMS, MGW_CRED_MQTT_USER, "dev-1", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_E_FORBIDDEN);
	/* the M5S identity never sends uplink */
	ck_assert_int_eq(up(sec, MGW_IN_NORTH, MGW_CRED_M5S, "m5s", NULL, "AS:as-1", 0, &v, NULL, 0),
			 MGW_E_FORBIDDEN);
	/* no identity at all */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_NONE, "", NULL, "AS:as-1", 0, &v, NULL, 0),
			 MGW_E_AUTH);
	ck_assert_str_eq(v.cause, "AUTH");
	/* the test adapter may carry any device kind */
	ck_assert_int_eq(up(sec, MGW_IN_TEST, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	mgw_security_free(sec);
}
END_TEST

START_TEST(unknown_device)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;

	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-9", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_E_UNKNOWN_DEVICE);
	ck_assert_int_eq(v.rc, MGW_E_UNKNOWN_DEVICE);
	ck_assert_str_eq(v.cause, "UNKNOWN_DEVICE");
	ck_assert_str_eq(v.ue, "");
	ck_assert_int_eq(up(sec, MGW_IN_SMS, MGW_CRED_MSISDN, "4999", NULL, "AS:as-1", 0, &v, NULL,
			    0),
			 MGW_E_UNKNOWN_DEVICE);
	mgw_security_free(sec);
}
END_TEST

/* ---------------------------------------------------------------- destinations */

START_TEST(dest_group_denied_unless_allowed)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;

	/* ue-coap-1 has no allow list: UE and AS open, GROUP/BC/TOPIC need an entry */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-7", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "UE:ue-mqtt-1", 0,
			    &v, NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "GROUP:g1", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_DEST");
	ck_assert_str_eq(v.detail, "GROUP:g1 needs an explicit allow entry");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "BC:area-1", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_DEST");
	ck_assert_int_eq(up(sec, MGW_IN_SMS, MGW_CRED_MSISDN, "491701234567", NULL, "TOPIC:t1", 0,
			    &v, NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_DEST");
	/* an address type the table does not know at all */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "FOO:x", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_ADDR_TYPE");
	ck_assert_str_eq(v.detail, "uplink from coap to addrType FOO is not allowed");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, NULL, 0, &v, NULL,
			    0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_ADDR_TYPE");
	mgw_security_free(sec);
}
END_TEST

START_TEST(dest_allow_list)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;

	/* ue-coap-2: allow [ AS:as-1, GROUP:g1 ]: exact entries */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "GROUP:g1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "GROUP:g2", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_DEST");
	ck_assert_str_eq(v.detail, "GROUP:g2 is not in the allow list");
	/* a list restricts UE and AS too */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "AS:as-2", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_str_eq(v.detail, "AS:as-2 is not in the allow list");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "UE:ue-sms-1", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	/* ue-coap-3: allow [ AS:*, BC:*, TOPIC:t1 ]: wildcards */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "AS:anything", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "BC:area-9", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "TOPIC:t1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "TOPIC:t2", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "GROUP:g1", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	/* "AS:*" does not match an address that is literally different in type */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, RPK_FP, NULL, "UE:ue-coap-1", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	mgw_security_free(sec);
}
END_TEST

START_TEST(dest_default_allow)
{
	char *list[] = { "AS:as-1", "GROUP:*" };
	struct mgw_policy pol = { .max_payload = 2048, .spoof = MGW_SPOOF_REWRITE,
				  .default_allow = { 2, list } };
	char *bad[] = { "AS" };
	struct mgw_policy badpol = { .max_payload = 2048, .default_allow = { 1, bad } };
	struct mgw_security *sec = sec_new(&pol, NULL), *sec2 = NULL;
	struct mgw_verdict v;

	/* devices without a list get the policy's */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "GROUP:any", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-2", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	/* a device's own list wins over the default */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_CERT_FP, FP_LOWER, NULL, "GROUP:g2", 0, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	/* a malformed default list is refused */
	ck_assert_int_eq(mgw_security_alloc(ctx, &badpol, load_good(), NULL, NULL, &sec2),
			 MGW_E_CONFIG);
	ck_assert_ptr_null(sec2);
	mgw_security_free(sec);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(payload_limit)
{
	struct mgw_policy pol = { .max_payload = 100, .spoof = MGW_SPOOF_REWRITE };
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_verdict v;

	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 2048, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 2049, &v,
			    NULL, 0),
			 MGW_E_TOO_BIG);
	ck_assert_str_eq(v.cause, "TOO_BIG");
	ck_assert_str_eq(v.detail, "payload of 2049 bytes exceeds max_payload 2048");
	ck_assert_str_eq(v.ue, "ue-coap-1");
	/* reload with a smaller limit */
	ck_assert_int_eq(mgw_security_reload(sec, &pol, load_good()), MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 100, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 101, &v,
			    NULL, 0),
			 MGW_E_TOO_BIG);
	mgw_security_free(sec);
}
END_TEST

/* ---------------------------------------------------------------- downlink */

static int down(struct mgw_security *sec, enum mgw_cred caller_kind, const char *dest,
		size_t payload, const struct mgw_device **dev, struct mgw_verdict *v)
{
	struct mgw_identity caller = ident(MGW_IN_NORTH, caller_kind, "m5s-1");
	struct mgw_msg *m = msg("AS:as-1", dest, "d1", payload);
	int rc = mgw_security_outbound(sec, m, &caller, dev, v);

	mgw_msg_free(m);
	return rc;
}

START_TEST(downlink)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	const struct mgw_device *dev = NULL;
	struct mgw_verdict v;

	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "UE:ue-sms-1", 10, &dev, &v), MGW_OK);
	ck_assert_ptr_nonnull(dev);
	ck_assert_str_eq(mgw_device_ue(dev), "ue-sms-1");
	ck_assert_int_eq(mgw_device_adapter(dev), MGW_IN_SMS);
	ck_assert_str_eq(v.cause, "OK");
	ck_assert_str_eq(v.ue, "ue-sms-1");

	dev = NULL;
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "UE:ue-nope", 10, &dev, &v), MGW_E_UNKNOWN_UE);
	ck_assert_ptr_null(dev);
	ck_assert_str_eq(v.cause, "UE_NOT_FOUND");
	ck_assert_str_eq(v.ue, "ue-nope");

	/* only the M5S may deliver downlink */
	ck_assert_int_eq(down(sec, MGW_CRED_PSK_ID, "UE:ue-sms-1", 10, &dev, &v), MGW_E_FORBIDDEN);
	ck_assert_ptr_null(dev);
	ck_assert_str_eq(v.cause, "FORBIDDEN");
	ck_assert_int_eq(down(sec, MGW_CRED_NONE, "UE:ue-sms-1", 10, &dev, &v), MGW_E_FORBIDDEN);
	ck_assert_int_eq(mgw_security_outbound(sec, msg(NULL, "UE:ue-sms-1", "d2", 0), NULL, &dev,
					       &v),
			 MGW_E_FORBIDDEN);

	/* downlink goes to single UEs only */
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "GROUP:g1", 10, &dev, &v), MGW_E_POLICY);
	ck_assert_str_eq(v.cause, "POLICY_ADDR_TYPE");
	ck_assert_str_eq(v.detail, "downlink from north to addrType GROUP is not allowed");
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "AS:as-1", 10, &dev, &v), MGW_E_POLICY);

	/* and within the payload limit */
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "UE:ue-sms-1", 2049, &dev, &v), MGW_E_TOO_BIG);
	ck_assert_ptr_null(dev);
	mgw_security_free(sec);
	talloc_free_children(ctx);
}
END_TEST

/* ---------------------------------------------------------------- reload */

START_TEST(reload_swaps_registry)
{
	static const char y2[] = "- ue: ue-new\n  coap: { psk_identity: sensor-new, psk: k-new }\n";
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_registry *r2 = NULL;
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_verdict v;
	const uint8_t *key;
	size_t len;

	ck_assert_ptr_nonnull(mgw_registry_by_ue(mgw_security_registry(sec), "ue-coap-1"));
	ck_assert_int_eq(mgw_registry_load_buf(ctx, "d2.yaml", y2, strlen(y2), &r2, &err), MGW_OK);
	ck_assert_int_eq(mgw_security_reload(sec, NULL, r2), MGW_OK);
	ck_assert_ptr_eq(mgw_security_registry(sec), r2);
	ck_assert_uint_eq(mgw_registry_count(mgw_security_registry(sec)), 1);
	ck_assert_ptr_null(mgw_registry_by_ue(mgw_security_registry(sec), "ue-coap-1"));
	ck_assert_int_eq(mgw_device_psk(mgw_registry_by_cred(mgw_security_registry(sec),
							     MGW_CRED_PSK_ID, "sensor-new"),
					&key, &len),
			 MGW_OK);
	ck_assert(len == 5 && memcmp(key, "k-new", 5) == 0);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_E_UNKNOWN_DEVICE);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-new", NULL, "AS:as-1", 0, &v,
			    NULL, 0),
			 MGW_OK);
	ck_assert_str_eq(v.ue, "ue-new");
	ck_assert_int_eq(mgw_security_reload(sec, NULL, NULL), MGW_E_INVAL);
	mgw_security_free(sec);
}
END_TEST

/* ---------------------------------------------------------------- audit */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
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

static json_t *line_at(const char *buf, size_t i)
{
	const char *p = buf, *nl;
	json_error_t jerr;
	json_t *j;

	for (; i; i--) {
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	nl = strchr(p, '\n');
	ck_assert_ptr_nonnull(nl);
	j = json_loadb(p, (size_t)(nl - p), 0, &jerr);
	ck_assert_msg(j != NULL, "line %zu: %s", i, jerr.text);
	return j;
}

START_TEST(lookup_door)
{
	struct mgw_security *sec = sec_new(NULL, NULL);
	struct mgw_ue_ref ref;
	uint8_t key[64], small[4];
	size_t len = 0;

	ck_assert_int_eq(mgw_security_identify(sec, MGW_CRED_MSISDN, "+491701234567", &ref), MGW_OK);
	ck_assert_str_eq(ref.ue, "ue-sms-1");
	ck_assert_int_eq(ref.adapter, MGW_IN_SMS);
	ck_assert_int_eq(mgw_security_identify(sec, MGW_CRED_MQTT_USER, "dev-1", &ref), MGW_OK);
	ck_assert_str_eq(ref.ue, "ue-mqtt-1");
	ck_assert_int_eq(ref.adapter, MGW_IN_MQTT);
	ck_assert_int_eq(mgw_security_identify(sec, MGW_CRED_MQTT_USER, "nobody", &ref),
			 MGW_E_UNKNOWN_DEVICE);
	ck_assert_int_eq(mgw_security_identify(sec, MGW_CRED_MQTT_USER, NULL, &ref), MGW_E_INVAL);
	ck_assert_int_eq(mgw_security_psk(sec, "sensor-1", &ref, key, sizeof(key), &len), MGW_OK);
	ck_assert(len == strlen(PSK) && memcmp(key, PSK, len) == 0);
	ck_assert_str_eq(ref.ue, "ue-coap-1");
	ck_assert_int_eq(ref.adapter, MGW_IN_COAP);
	ck_assert_int_eq(mgw_security_psk(sec, "sensor-1", NULL, small, sizeof(small), &len),
			 MGW_E_TOO_BIG);
	ck_assert_int_eq(mgw_security_psk(sec, "sensor-9", NULL, key, sizeof(key), &len),
			 MGW_E_UNKNOWN_DEVICE);
	/* a certificate device has no PSK */
	ck_assert_int_eq(mgw_security_psk(sec, "ue-coap-2", NULL, key, sizeof(key), &len),
			 MGW_E_UNKNOWN_DEVICE);
	ck_assert_str_eq(mgw_device_ue(mgw_security_device(sec, "ue-coap-3")), "ue-coap-3");
	ck_assert_ptr_null(mgw_security_device(sec, "ue-nope"));
	ck_assert_int_eq(mgw_security_ue_protection(sec, "ue-nope"), 0);
	mgw_security_free(sec);
}
END_TEST

/* ---------------------------------------------------------------- change notification */

struct seen {
	char log[512];
	struct mgw_security *sec;
	bool unwatch_self; /* remove the watcher from inside its first call */
	bool saw_new_state;
};

static void on_change(void *arg, const char *ue, enum mgw_dev_change what)
{
	struct seen *s = arg;
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof(s->log) - n, "%s%s:%s", n ? " " : "", ue,
		 mgw_dev_change_name(what));
	/* the registry already answers with the new state */
	s->saw_new_state = (what == MGW_DEV_REMOVED) ==
			   !mgw_registry_by_ue(mgw_security_registry(s->sec), ue);
	if (s->unwatch_self)
		mgw_security_unwatch(s->sec, on_change, s);
}

START_TEST(reload_notifies_changes)
{
	/* ue-coap-1 re-keyed, ue-coap-2 unchanged (allow list changed: not a credential),
	 * ue-coap-3 / ue-sms-1 removed, ue-mqtt-1 username changed, ue-new added */
	static const char y2[] =
		"- ue: ue-coap-1\n  coap: { psk_identity: sensor-1, psk: \"other-key\" }\n"
		"- ue: ue-coap-2\n  coap: { cert_fingerprint: \"" FP_LOWER "\" }\n"
		"  allow: [ \"AS:as-1\" ]\n"
		"- ue: ue-mqtt-1\n  mqtt: { username: dev-2 }\n"
		"- ue: ue-new\n  sms: { msisdn: \"491700000000\" }\n";
	char dir[] = "/tmp/mgw-watch-XXXXXX", path[64], why[128], *buf;
	struct mgw_registry *r2 = NULL;
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_audit *a = NULL;
	struct mgw_security *sec;
	struct seen s1 = { .log = "" }, s2 = { .log = "", .unwatch_self = true };
	size_t len;
	json_t *j;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	ck_assert_int_eq(mgw_audit_open(ctx, path, &a, why, sizeof(why)), MGW_OK);
	sec = sec_new(NULL, a);
	s1.sec = s2.sec = sec;
	ck_assert_int_eq(mgw_security_watch(sec, NULL, &s1), MGW_E_INVAL);
	ck_assert_int_eq(mgw_security_watch(NULL, on_change, &s1), MGW_E_INVAL);
	ck_assert_int_eq(mgw_security_watch(sec, on_change, &s1), MGW_OK);
	ck_assert_int_eq(mgw_security_watch(sec, on_change, &s2), MGW_OK);
	ck_assert_int_eq(mgw_registry_load_buf(ctx, "d2.yaml", y2, strlen(y2), &r2, &err), MGW_OK);
	ck_assert_int_eq(mgw_security_reload(sec, NULL, r2), MGW_OK);
	ck_assert_str_eq(s1.log, "ue-coap-1:updated ue-mqtt-1:updated ue-new:added "
				 "ue-coap-3:removed ue-sms-1:removed");
	ck_assert(s1.saw_new_state);
	ck_assert_str_eq(s2.log, "ue-coap-1:updated"); /* it removed itself in its first call */

	/* a live change (the store poller's path): one record, the watchers */
	s1.log[0] = '\0';
	mgw_security_device_changed(sec, "ue-new", MGW_DEV_UPDATED);
	mgw_security_device_changed(sec, "ue-x", (enum mgw_dev_change)0); /* ignored */
	ck_assert_str_eq(s1.log, "ue-new:updated");
	mgw_security_unwatch(sec, on_change, &s1);
	mgw_security_device_changed(sec, "ue-new", MGW_DEV_REMOVED);
	ck_assert_str_eq(s1.log, "ue-new:updated");

	/* the same reload again changes nothing */
	ck_assert_int_eq(mgw_security_reload(sec, NULL, r2), MGW_OK);

	/* one audit record per change, never a secret */
	buf = slurp(path, &len);
	ck_assert_ptr_null(strstr(buf, "other-key"));
	ck_assert_ptr_null(strstr(buf, PSK));
	ck_assert_ptr_null(strstr(buf, "\"dir\""));
	j = line_at(buf, 0);
	ck_assert_str_eq(jget(j, "op"), "device-change");
	ck_assert_str_eq(jget(j, "who"), "local-operator");
	ck_assert_str_eq(jget(j, "ue"), "ue-coap-1");
	ck_assert_str_eq(jget(j, "adapter"), "coap");
	ck_assert_str_eq(jget(j, "cause"), "DEVICE_UPDATED");
	ck_assert_str_eq(jget(j, "decision"), "accept");
	json_decref(j);
	j = line_at(buf, 4);
	ck_assert_str_eq(jget(j, "ue"), "ue-sms-1");
	ck_assert_str_eq(jget(j, "adapter"), "sms"); /* the adapter it had */
	ck_assert_str_eq(jget(j, "cause"), "DEVICE_REMOVED");
	json_decref(j);
	j = line_at(buf, 6);
	ck_assert_str_eq(jget(j, "ue"), "ue-new");
	ck_assert_str_eq(jget(j, "cause"), "DEVICE_REMOVED");
	json_decref(j);
	{
		size_t lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		ck_assert_uint_eq(lines, 7); /* 5 from the reload, 2 live */
	}
	free(buf);
	mgw_security_free(sec);
	mgw_audit_close(a);
	unlink(path);
	rmdir(dir);
	ck_assert_str_eq(mgw_dev_change_name(MGW_DEV_ADDED), "added");
	ck_assert_str_eq(mgw_dev_change_name((enum mgw_dev_change)9), "unknown");
}
END_TEST

START_TEST(audit_file)
{
	char dir[] = "/tmp/mgw-audit-XXXXXX", path[64], rotated[64];
	struct mgw_audit *a = NULL;
	struct mgw_security *sec;
	struct mgw_verdict v;
	const struct mgw_device *dev = NULL;
	struct mgw_identity bad = ident(MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1");
	char why[128], *buf, payload_marker[2049];
	size_t len, lines = 0;
	json_t *j, *id;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(rotated, sizeof(rotated), "%s/audit.jsonl.1", dir);
	ck_assert_int_eq(mgw_audit_open(ctx, "/nonexistent-dir/x/audit.jsonl", &a, why, sizeof(why)),
			 MGW_E_IO);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(why, "cannot open"));
	ck_assert_int_eq(mgw_audit_open(ctx, path, &a, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777 & ~0640u, 0); /* 0640, less the umask */
	sec = sec_new(NULL, a);

	/* 1 accept (spoof rewritten), 2 reject SPOOF-free policy, 3 unknown, 4 downlink ok,
	 * 5 downlink unknown UE, 6 boundary reject */
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", "UE:ue-sms-1", "AS:as-1",
			    200, &v, NULL, 0),
			 MGW_OK);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "GROUP:g1", 10, &v,
			    NULL, 0),
			 MGW_E_POLICY);
	ck_assert_int_eq(up(sec, MGW_IN_MQTT, MGW_CRED_MQTT_USER, "who", NULL, "AS:as-1", 10, &v,
			    NULL, 0),
			 MGW_E_UNKNOWN_DEVICE);
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "UE:ue-coap-1", 10, &dev, &v), MGW_OK);
	ck_assert_int_eq(down(sec, MGW_CRED_M5S, "UE:ue-x", 10, &dev, &v), MGW_E_UNKNOWN_UE);
	mgw_security_audit_reject(sec, MGW_DIR_UPLINK, MGW_IN_COAP, &bad, NULL,
				  MGW_E_BAD_CREDENTIAL, NULL, "DTLS handshake failed");

	buf = slurp(path, &len);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_eq(lines, 6);
	ck_assert_int_eq(buf[len - 1], '\n');

	j = line_at(buf, 0);
	ck_assert_str_eq(jget(j, "dir"), "uplink");
	ck_assert_str_eq(jget(j, "adapter"), "coap");
	ck_assert_str_eq(jget(j, "ue"), "ue-coap-1");
	ck_assert_str_eq(jget(j, "msgId"), "m1");
	ck_assert_str_eq(jget(j, "decision"), "accept");
	ck_assert_str_eq(jget(j, "cause"), "OK");
	ck_assert_str_eq(jget(j, "detail"), "oriAddr rewritten from UE:ue-sms-1");
	ck_assert_str_eq(jget(j, "protection"), "transport");
	ck_assert_uint_eq(strlen(jget(j, "time")), strlen("2026-11-28T17:00:00.123Z"));
	ck_assert_int_eq(jget(j, "time")[23], 'Z');
	id = json_object_get(j, "identity");
	ck_assert_str_eq(jget(id, "kind"), "psk");
	ck_assert_str_eq(jget(id, "value"), "sensor-1");
	ck_assert_str_eq(jget(id, "peer"), "127.0.0.1:5555");
	ck_assert_ptr_null(json_object_get(j, "payload"));
	json_decref(j);

	j = line_at(buf, 1);
	ck_assert_str_eq(jget(j, "decision"), "reject");
	ck_assert_str_eq(jget(j, "cause"), "POLICY_DEST");
	json_decref(j);
	j = line_at(buf, 2);
	ck_assert_str_eq(jget(j, "cause"), "UNKNOWN_DEVICE");
	ck_assert_str_eq(jget(j, "adapter"), "mqtt");
	ck_assert_ptr_null(json_object_get(j, "ue"));
	json_decref(j);
	j = line_at(buf, 3);
	ck_assert_str_eq(jget(j, "dir"), "downlink");
	ck_assert_str_eq(jget(j, "adapter"), "north");
	ck_assert_str_eq(jget(j, "decision"), "accept");
	ck_assert_str_eq(jget(j, "ue"), "ue-coap-1");
	ck_assert_str_eq(jget(json_object_get(j, "identity"), "kind"), "m5s");
	json_decref(j);
	j = line_at(buf, 4);
	ck_assert_str_eq(jget(j, "cause"), "UE_NOT_FOUND");
	json_decref(j);
	j = line_at(buf, 5);
	ck_assert_str_eq(jget(j, "cause"), "BAD_CREDENTIAL");
	ck_assert_str_eq(jget(j, "detail"), "DTLS handshake failed");
	ck_assert_str_eq(jget(j, "ue"), "ue-coap-1");
	ck_assert_ptr_null(json_object_get(j, "msgId"));
	json_decref(j);

	/* never key material, never payload bytes */
	ck_assert_ptr_null(strstr(buf, PSK));
	memset(payload_marker, 'P', 16);
	payload_marker[16] = '\0';
	ck_assert_ptr_null(strstr(buf, payload_marker));
	free(buf);

	/* logrotate: rename, reopen, the next record goes to the new file */
	ck_assert_int_eq(rename(path, rotated), 0);
	ck_assert_int_eq(mgw_audit_reopen(a), MGW_OK);
	mgw_security_audit_reject(sec, MGW_DIR_UPLINK, MGW_IN_SMS, NULL, "x", MGW_E_MALFORMED, NULL,
				  "bad TPDU");
	buf = slurp(path, &len);
	j = line_at(buf, 0);
	ck_assert_str_eq(jget(j, "cause"), "MALFORMED");
	ck_assert_str_eq(jget(j, "adapter"), "sms");
	ck_assert_ptr_null(json_object_get(j, "identity"));
	json_decref(j);
	free(buf);

	mgw_security_free(sec);
	mgw_audit_close(a);
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}
END_TEST

START_TEST(audit_write_failure)
{
	char dir[] = "/tmp/mgw-audit-XXXXXX", path[64], why[128];
	struct mgw_audit *a = NULL;
	struct mgw_audit_rec r = { .dir = MGW_DIR_UPLINK, .cause = "OK", .accept = true };
	const char *full = "/dev/full";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	if (access(full, W_OK) == 0) {
		struct mgw_audit_stats st;

		ck_assert_int_eq(mgw_audit_open(ctx, full, &a, why, sizeof(why)), MGW_OK);
		ck_assert(!mgw_audit_required(a));
		mgw_audit_set_required(a, true);
		ck_assert(mgw_audit_required(a));
		ck_assert_int_eq(mgw_audit_write(a, &r), MGW_E_IO);
		ck_assert_int_eq(mgw_audit_write(a, &r), MGW_E_IO);
		mgw_audit_stats(a, &st);
		ck_assert_uint_eq(st.lost, 2);
		ck_assert_uint_eq(st.episodes, 1);
		ck_assert_uint_eq(st.written, 0);
		ck_assert(st.failing);
		mgw_audit_close(a);
	}
	/* reopen failure keeps the old file */
	ck_assert_int_eq(mgw_audit_open(ctx, path, &a, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_int_eq(mgw_audit_reopen(a), MGW_E_IO);
	ck_assert_int_eq(mgw_audit_write(a, &r), MGW_OK);
	ck_assert_int_eq(mgw_audit_write(NULL, &r), MGW_E_INVAL);
	mgw_audit_close(a);
}
END_TEST

/* audit.required: an acceptance whose record cannot be written is refused "try again
 * later"; a refusal stays what it was; without required the verdict is unchanged */
START_TEST(audit_required_refuses)
{
	struct mgw_audit *a = NULL;
	struct mgw_security *sec;
	struct mgw_verdict v;
	char why[128];

	if (access("/dev/full", W_OK) != 0)
		return;
	ck_assert_int_eq(mgw_audit_open(ctx, "/dev/full", &a, why, sizeof(why)), MGW_OK);
	sec = sec_new(NULL, a);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 10, &v,
			    NULL, 0),
			 MGW_OK);
	mgw_audit_set_required(a, true);
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "sensor-1", NULL, "AS:as-1", 10, &v,
			    NULL, 0),
			 MGW_E_FULL);
	ck_assert_int_eq(v.rc, MGW_E_FULL);
	ck_assert_str_eq(v.cause, "AUDIT_UNAVAILABLE");
	ck_assert_int_eq(up(sec, MGW_IN_COAP, MGW_CRED_PSK_ID, "nobody", NULL, "AS:as-1", 10, &v,
			    NULL, 0),
			 MGW_E_UNKNOWN_DEVICE);
	mgw_security_free(sec);
	mgw_audit_close(a);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(cred_names)
{
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_PSK_ID), "psk");
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_CERT_FP), "cert");
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_MSISDN), "msisdn");
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_MQTT_USER), "mqtt");
	ck_assert_str_eq(mgw_cred_name(MGW_CRED_M5S), "m5s");
	ck_assert_str_eq(mgw_cred_name((enum mgw_cred)99), "unknown");
}
END_TEST

static Suite *security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc;

	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registry_good);
	tcase_add_test(tc, registry_subject);
	tcase_add_test(tc, registry_many);
	tcase_add_loop_test(tc, registry_bad, 0,
			    (int)(sizeof(bad_registries) / sizeof(bad_registries[0])));
	tcase_add_test(tc, registry_file);
	tcase_add_test(tc, registry_save);
	tcase_add_test(tc, policy_schema);
	tcase_add_test(tc, cred_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("binding");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bind_sets_origin);
	tcase_add_test(tc, spoof_rewrite);
	tcase_add_test(tc, spoof_reject);
	tcase_add_test(tc, wrong_ingress);
	tcase_add_test(tc, unknown_device);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dest_group_denied_unless_allowed);
	tcase_add_test(tc, dest_allow_list);
	tcase_add_test(tc, dest_default_allow);
	tcase_add_test(tc, payload_limit);
	tcase_add_test(tc, downlink);
	tcase_add_test(tc, reload_swaps_registry);
	tcase_add_test(tc, reload_notifies_changes);
	tcase_add_test(tc, lookup_door);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, audit_file);
	tcase_add_test(tc, audit_write_failure);
	tcase_add_test(tc, audit_required_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(security_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
