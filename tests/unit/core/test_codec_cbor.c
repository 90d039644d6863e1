/* Unit tests: the CBOR form of the device bodies (src/core/codec_cbor.c). Inputs are byte
 * arrays written by hand (and a few built with libcbor's builder API); each decodes to the
 * same message as its JSON twin, or is refused with a named rc and JSON pointer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <cbor.h>

#include <mgw/codec.h>
#include <mgw/codec_cbor.h>
#include <mgw/err.h>
#include <mgw/msg.h>

/* a string literal of CBOR bytes as (pointer, length) */
#define BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- helpers ---- */

/* ASan's allocation hook (absent without the sanitizer): counts bytes allocated while armed. */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *))
	__attribute__((weak));
static size_t allocated;
static bool counting;

static void count_malloc(const volatile void *p, size_t n)
{
	if (counting)
		allocated += n;
}

static void count_free(const volatile void *p)
{
}

/* Start counting; false when the sanitizer (and so the count) is not there. */
static bool count_start(void)
{
	static bool installed;

	if (!__sanitizer_install_malloc_and_free_hooks)
		return false;
	if (!installed)
		installed = __sanitizer_install_malloc_and_free_hooks(count_malloc, count_free) != 0;
	allocated = 0;
	counting = installed;
	return installed;
}

/* Equal in every member a device body carries but oriAddr (whether MGW_BODY_DEVICE reads
 * it is the JSON codec's business: the tests compare it with the JSON form's). */
static bool msg_same(const struct mgw_msg *a, const struct mgw_msg *b)
{
	return a->kind == b->kind && a->dest.type == b->dest.type &&
	       strcmp(a->dest.addr, b->dest.addr) == 0 && strcmp(a->msg_id, b->msg_id) == 0 &&
	       a->has_app_id == b->has_app_id && strcmp(a->app_id, b->app_id) == 0 &&
	       a->has_deliv_st_req == b->has_deliv_st_req && a->deliv_st_req == b->deliv_st_req &&
	       a->has_payload == b->has_payload && a->payload_len == b->payload_len &&
	       (!a->payload_len || memcmp(a->payload, b->payload, a->payload_len) == 0) &&
	       a->priority == b->priority && a->has_seg_ind == b->has_seg_ind &&
	       a->seg_ind == b->seg_ind && a->has_seg == b->has_seg &&
	       memcmp(&a->seg, &b->seg, sizeof(a->seg)) == 0 && a->sto_fw_ind == b->sto_fw_ind &&
	       a->expiry_ms == b->expiry_ms && a->deliv_st == b->deliv_st &&
	       strcmp(a->deliv_st_name, b->deliv_st_name) == 0 &&
	       a->has_failure_cause == b->has_failure_cause &&
	       strcmp(a->failure_cause, b->failure_cause) == 0;
}

/* Decode CBOR from an exact-size heap copy (ASan sees any read past the end). */
static int cbor_decode(void *ctx, enum mgw_body b, const uint8_t *p, size_t n,
		       const struct mgw_codec_limits *lim, struct mgw_msg **m, struct mgw_diag *d)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, p, n);
	rc = mgw_cbor_decode_msg(ctx, b, copy, n, lim, m, d);
	free(copy);
	return rc;
}

static char *to_json(void *ctx, const uint8_t *p, size_t n, int *rc, struct mgw_diag *d)
{
	char *json = NULL;
	uint8_t *copy = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(copy);
	if (n)
		memcpy(copy, p, n);
	*rc = mgw_cbor_to_json(ctx, copy, n, NULL, &json, NULL, d);
	free(copy);
	return json;
}

/* The device body of the tests, in JSON and in hand-written CBOR. */
static const char dev_json[] = "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
			       "\"msgId\":\"m-1\",\"payload\":\"23.5\",\"delivStReqInd\":true,"
			       "\"appId\":\"app-1\"}";
#define DEV_HEAD                                                                              \
	"\xa5"                                                                                \
	"\x68" "destAddr" "\xa2" "\x68" "addrType" "\x62" "AS" "\x64" "addr" "\x64" "as-1"   \
	"\x65" "msgId" "\x63" "m-1"                                                          \
	"\x67" "payload"
#define DEV_TAIL "\x6d" "delivStReqInd" "\xf5" "\x65" "appId" "\x65" "app-1"
static const char dev_text[] = DEV_HEAD "\x64" "23.5" DEV_TAIL;  /* payload a text string */
static const char dev_bytes[] = DEV_HEAD "\x44" "23.5" DEV_TAIL; /* payload a byte string */
/* every string indefinite-length in chunks, the maps indefinite too */
static const char dev_indef[] =
	"\xbf"
	"\x7f\x64" "dest" "\x64" "Addr" "\xff" "\xbf" "\x68" "addrType" "\x62" "AS"
	"\x64" "addr" "\x7f\x62" "as" "\x62" "-1" "\xff" "\xff"
	"\x65" "msgId" "\x7f\x61" "m" "\x62" "-1" "\xff"
	"\x67" "payload" "\x5f\x42" "23" "\x41" "." "\x41" "5" "\xff"
	"\x6d" "delivStReqInd" "\xf5" "\x65" "appId" "\x65" "app-1"
	"\xff";

/* ---- the valid device body ---- */

START_TEST(device_body_same_as_json)
{
	static const struct {
		const char *name;
		const uint8_t *p;
		size_t n;
	} forms[] = {
		{ "text payload", BYTES(dev_text) },
		{ "byte-string payload", BYTES(dev_bytes) },
		{ "indefinite lengths", BYTES(dev_indef) },
	};
	void *ctx = talloc_new(NULL);
	struct mgw_msg *want = NULL, *got;
	struct mgw_diag d;

	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_DEVICE, dev_json, strlen(dev_json), NULL,
					     &want, &d),
			 MGW_OK);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		int rc;
		char *json = to_json(ctx, forms[i].p, forms[i].n, &rc, &d);

		ck_assert_msg(rc == MGW_OK, "%s: %s at %s", forms[i].name, d.text, d.where);
		ck_assert_str_eq(json, dev_json);
		got = NULL;
		ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, forms[i].p, forms[i].n, NULL, &got,
					     &d),
				 MGW_OK);
		ck_assert_msg(msg_same(want, got), "%s: differs from the JSON body", forms[i].name);
		printf("device body (%s): %zu bytes CBOR, same message as JSON\n", forms[i].name,
		       forms[i].n);
	}
	ck_assert_str_eq(want->app_id, "app-1");
	ck_assert(want->has_deliv_st_req && want->deliv_st_req);
	talloc_free(ctx);
}
END_TEST

/* The same body built with libcbor's builder (definite and indefinite items). */
static cbor_item_t *pair_add(cbor_item_t *map, const char *k, cbor_item_t *v)
{
	ck_assert(cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(cbor_build_string(k)),
							.value = cbor_move(v) }));
	return map;
}

START_TEST(device_body_builder)
{
	void *ctx = talloc_new(NULL);
	cbor_item_t *root = cbor_new_indefinite_map();
	cbor_item_t *dest = cbor_new_definite_map(2);
	cbor_item_t *pl = cbor_new_indefinite_bytestring();
	cbor_item_t *id = cbor_new_indefinite_string();
	unsigned char *buf = NULL;
	size_t cap = 0, n;
	struct mgw_msg *want = NULL, *got = NULL;
	struct mgw_diag d;

	pair_add(dest, "addrType", cbor_build_string("AS"));
	pair_add(dest, "addr", cbor_build_string("as-1"));
	ck_assert(cbor_string_add_chunk(id, cbor_move(cbor_build_string("m-"))));
	ck_assert(cbor_string_add_chunk(id, cbor_move(cbor_build_string("1"))));
	ck_assert(cbor_bytestring_add_chunk(pl, cbor_move(cbor_build_bytestring(
							(cbor_data) "23", 2))));
	ck_assert(cbor_bytestring_add_chunk(pl, cbor_move(cbor_build_bytestring(
							(cbor_data) ".5", 2))));
	pair_add(root, "destAddr", dest);
	pair_add(root, "msgId", id);
	pair_add(root, "payload", pl);
	pair_add(root, "delivStReqInd", cbor_build_bool(true));
	pair_add(root, "appId", cbor_build_string("app-1"));
	n = cbor_serialize_alloc(root, &buf, &cap);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_DEVICE, dev_json, strlen(dev_json), NULL,
					     &want, &d),
			 MGW_OK);
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, buf, n, NULL, &got, &d), MGW_OK);
	ck_assert(msg_same(want, got));
	free(buf);
	cbor_decref(&root);
	talloc_free(ctx);
}
END_TEST

/* Every CBOR type the transcoder knows, and its exact JSON text. */
START_TEST(json_text)
{
	static const struct {
		const char *name;
		const uint8_t *p;
		size_t n;
		const char *json;
	} cases[] = {
		{ "empty map", BYTES("\xa0"), "{}" },
		{ "self-describe tag", BYTES("\xd9\xd9\xf7\xa0"), "{}" },
		{ "integers",
		  BYTES("\xa1\x61" "a" "\x88\x00\x17\x18\x18\x20\x38\x63"
			"\x1b\x7f\xff\xff\xff\xff\xff\xff\xff"
			"\x3b\x7f\xff\xff\xff\xff\xff\xff\xff\x39\x01\x00"),
		  "{\"a\":[0,23,24,-1,-100,9223372036854775807,-9223372036854775808,-257]}" },
		{ "floats",
		  BYTES("\xa1\x61" "a" "\x85\xf9\x3c\x00\xf9\x3e\x00\xfa\xbf\xc0\x00\x00"
			"\xfb\x40\x09\x21\xfb\x54\x44\x2d\x18\xf9\x80\x00"),
		  "{\"a\":[1.0,1.5,-1.5,3.1415926535897931,-0.0]}" },
		{ "literals", BYTES("\xa1\x61" "a" "\x83\xf5\xf4\xf6"), "{\"a\":[true,false,null]}" },
		{ "escapes",
		  BYTES("\xa1\x61" "a" "\x6a" "\"\\\n\t\x01/\xe2\x82\xac\x7f"),
		  "{\"a\":\"\\\"\\\\\\n\\t\\u0001/\xe2\x82\xac\x7f\"}" },
		{ "nested", BYTES("\xa2\x61" "a" "\xa1\x61" "b" "\x80" "\x61" "c" "\x9f\xbf\xff\xff"),
		  "{\"a\":{\"b\":[]},\"c\":[{}]}" },
		{ "escaped U+0000 and empty key", BYTES("\xa1\x60\x61\x00"), "{\"\":\"\\u0000\"}" },
	};
	void *ctx = talloc_new(NULL);
	struct mgw_diag d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		char *json = to_json(ctx, cases[i].p, cases[i].n, &rc, &d);

		ck_assert_msg(rc == MGW_OK, "%s: %s at %s", cases[i].name, d.text, d.where);
		ck_assert_msg(strcmp(json, cases[i].json) == 0, "%s: %s", cases[i].name, json);
	}
	talloc_free(ctx);
}
END_TEST

/* ---- encoding ---- */

START_TEST(encode_exact)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE);
	static const char want[] = "\xa2\x68" "destAddr" "\xa2\x68" "addrType" "\x62" "AS"
				   "\x64" "addr" "\x64" "as-1" "\x65" "msgId" "\x61" "x";
	static const char want_rep[] = "\xa4\x67" "oriAddr" "\xa2\x68" "addrType" "\x62" "UE"
				       "\x64" "addr" "\x64" "ue-1"
				       "\x68" "destAddr" "\xa2\x68" "addrType" "\x62" "AS"
				       "\x64" "addr" "\x64" "as-1" "\x65" "msgId" "\x61" "r"
				       "\x67" "delivSt" "\x71" "REPT_DELY_SUCCESS";
	struct mgw_diag d;
	uint8_t *out = NULL, *again = NULL;
	size_t n = 0, n2 = 0;

	mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1");
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), "x"), MGW_OK);
	ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_DEVICE, m, &out, &n, &d), MGW_OK);
	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert(memcmp(out, want, n) == 0);
	/* deterministic */
	ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_DEVICE, m, &again, &n2, &d), MGW_OK);
	ck_assert(n2 == n && memcmp(out, again, n) == 0);
	/* what the JSON encoder refuses, the CBOR encoder refuses with the same diag */
	m->msg_id[0] = '\0';
	out = NULL;
	ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_DEVICE, m, &out, &n, &d), MGW_E_MISSING);
	ck_assert_str_eq(d.where, "/msgId");
	ck_assert_ptr_null(out);
	/* a report towards a device */
	m = mgw_msg_alloc(ctx, MGW_MSG_REPORT);
	mgw_addr_set(&m->ori, MGW_ADDR_UE, "ue-1");
	mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1");
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), "r"), MGW_OK);
	m->deliv_st = MGW_DELIV_SUCCESS;
	ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_REPORT, m, &out, &n, &d), MGW_OK);
	ck_assert_uint_eq(n, sizeof(want_rep) - 1);
	ck_assert(memcmp(out, want_rep, n) == 0);
	talloc_free(ctx);
}
END_TEST

START_TEST(round_trip_device)
{
	static const char *const bodies[] = {
		dev_json,
		"{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"appId\":\"app-1\","
		"\"msgId\":\"d-1\",\"delivStReqInd\":false,\"payload\":\"t=\\\"21\\u00b0\\\"\\n\\u0000\","
		"\"priority\":\"HIGH\",\"segInd\":true,"
		"\"segParams\":{\"segId\":\"s-9\",\"segNumb\":2,\"lastSegFlag\":true},"
		"\"stoAndFwInd\":true,\"stoAndFwParams\":{\"exprTime\":\"2030-01-02T03:04:05Z\"}}",
		"{\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},\"msgId\":\"x\"}",
	};
	void *ctx = talloc_new(NULL);
	struct mgw_diag d;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct mgw_msg *m = NULL, *back = NULL, *jback = NULL;
		uint8_t *out = NULL;
		char *json = NULL;
		size_t n = 0, jn = 0;

		ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_DEVICE, bodies[i],
						     strlen(bodies[i]), NULL, &m, &d),
				 MGW_OK);
		/* downlink writes oriAddr: it reads back as the JSON form's does */
		mgw_addr_set(&m->ori, MGW_ADDR_UE, "ue-9");
		ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_DEVICE, m, &out, &n, &d), MGW_OK);
		ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, out, n, NULL, &back, &d), MGW_OK);
		ck_assert_msg(msg_same(m, back), "body %zu differs after the round trip", i);
		ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_DEVICE, m, &json, &jn, &d), MGW_OK);
		ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_DEVICE, json, jn, NULL, &jback, &d),
				 MGW_OK);
		ck_assert(msg_same(jback, back));
		ck_assert_int_eq(back->ori.type, jback->ori.type);
		ck_assert_str_eq(back->ori.addr, jback->ori.addr);
		/* the CBOR form is the JSON form's members, in its order */
		{
			int rc;
			char *again = to_json(ctx, out, n, &rc, &d);

			ck_assert_int_eq(rc, MGW_OK);
			ck_assert_str_eq(again, json);
		}
		printf("round trip %zu: %zu bytes CBOR\n", i, n);
	}
	talloc_free(ctx);
}
END_TEST

/* ---- refusals ---- */

#define ID_DEST "\x68" "destAddr" "\xa2\x68" "addrType" "\x62" "AS" "\x64" "addr" "\x64" "as-1" \
	"\x65" "msgId" "\x61" "x"
#define I64_HI "\x80\x00\x00\x00\x00\x00\x00\x00"

static const struct refusal {
	const char *name;
	const uint8_t *p;
	size_t n;
	int rc;
	const char *where;
} refusals[] = {
	{ "empty", BYTES(""), MGW_E_MALFORMED, "" },
	{ "top-level array", BYTES("\x81\x01"), MGW_E_MALFORMED, "" },
	{ "top-level integer", BYTES("\x01"), MGW_E_MALFORMED, "" },
	{ "top-level text", BYTES("\x61" "a"), MGW_E_MALFORMED, "" },
	{ "two maps", BYTES("\xa0\xa0"), MGW_E_MALFORMED, "" },
	{ "trailing byte", BYTES("\xa1\x61" "a" "\x01\x00"), MGW_E_MALFORMED, "" },
	{ "truncated", BYTES("\xa2\x61" "a" "\x01"), MGW_E_MALFORMED, "" },
	{ "reserved head", BYTES("\xa1\x61" "a" "\x1c"), MGW_E_MALFORMED, "" },
	{ "simple value 16", BYTES("\xa1\x61" "a" "\xf0"), MGW_E_MALFORMED, "" },
	{ "simple value 32", BYTES("\xa1\x61" "a" "\xf8\x20"), MGW_E_MALFORMED, "" },
	{ "integer key", BYTES("\xa1\x01\x01"), MGW_E_MALFORMED, "" },
	{ "byte-string key", BYTES("\xa1\x41" "a" "\x01"), MGW_E_MALFORMED, "" },
	{ "array key, nested", BYTES("\xa1\x61" "x" "\xa1\x80\x01"), MGW_E_MALFORMED, "/x" },
	{ "tag on a key", BYTES("\xa1\x61" "x" "\xa1\xc1\x61" "k" "\x01"), MGW_E_UNSUPPORTED, "/x" },
	{ "duplicate key", BYTES("\xa2\x61" "a" "\x01\x61" "a" "\x02"), MGW_E_MALFORMED, "/a" },
	{ "duplicate key, nested",
	  BYTES("\xa1\x61" "x" "\x81\xa3\x61" "a" "\x01\x61" "b" "\x01\x61" "a" "\x02"),
	  MGW_E_MALFORMED, "/x/0/a" },
	{ "duplicate key, chunked",
	  BYTES("\xbf\x7f\x61" "a" "\x61" "b" "\xff\x01\x62" "ab" "\x02\xff"), MGW_E_MALFORMED,
	  "/ab" },
	{ "duplicate msgId", BYTES("\xa3" ID_DEST "\x65" "msgId" "\x61" "y"), MGW_E_MALFORMED,
	  "/msgId" },
	{ "key without value", BYTES("\xbf\x61" "a" "\xff"), MGW_E_MALFORMED, "/a" },
	{ "break in a definite map", BYTES("\xa1\xff"), MGW_E_MALFORMED, "" },
	{ "text not UTF-8", BYTES("\xa1\x61" "a" "\x61\xff"), MGW_E_MALFORMED, "/a" },
	{ "text overlong", BYTES("\xa1\x61" "a" "\x62\xc0\x80"), MGW_E_MALFORMED, "/a" },
	{ "text surrogate", BYTES("\xa1\x61" "a" "\x63\xed\xa0\x80"), MGW_E_MALFORMED, "/a" },
	{ "text cut character", BYTES("\xa1\x61" "a" "\x62\xe2\x82"), MGW_E_MALFORMED, "/a" },
	{ "text chunk splits a character",
	  BYTES("\xa1\x61" "a" "\x7f\x62\xe2\x82\x61\xac\xff"), MGW_E_MALFORMED, "/a" },
	{ "key not UTF-8", BYTES("\xa1\x61" "x" "\xa1\x61\xff\x01"), MGW_E_MALFORMED, "/x" },
	{ "byte string elsewhere", BYTES("\xa1\x61" "a" "\x41" "a"), MGW_E_TYPE, "/a" },
	{ "byte string in an array", BYTES("\xa1\x61" "a" "\x82\x01\x41" "a"), MGW_E_TYPE, "/a/1" },
	{ "byte string, nested payload",
	  BYTES("\xa1\x61" "x" "\xa1\x67" "payload" "\x41" "a"), MGW_E_TYPE, "/x/payload" },
	{ "byte string, indefinite elsewhere", BYTES("\xa1\x61" "a" "\x5f\xff"), MGW_E_TYPE, "/a" },
	{ "byte payload not UTF-8", BYTES("\xa1\x67" "payload" "\x42\xc3\x28"), MGW_E_TYPE,
	  "/payload" },
	{ "byte payload chunks not UTF-8",
	  BYTES("\xa1\x67" "payload" "\x5f\x41\xe2\x41\x82\xff"), MGW_E_TYPE, "/payload" },
	{ "text chunk in a byte string", BYTES("\xa1\x67" "payload" "\x5f\x61" "a" "\xff"),
	  MGW_E_MALFORMED, "" },
	{ "nested indefinite text", BYTES("\xa1\x61" "a" "\x7f\x7f\xff\xff"), MGW_E_MALFORMED, "" },
	{ "integer above int64", BYTES("\xa1\x61" "a" "\x1b" I64_HI), MGW_E_TYPE, "/a" },
	{ "integer below int64", BYTES("\xa1\x61" "a" "\x3b" I64_HI), MGW_E_TYPE, "/a" },
	{ "NaN half", BYTES("\xa1\x61" "a" "\xf9\x7e\x00"), MGW_E_TYPE, "/a" },
	{ "infinity single", BYTES("\xa1\x61" "a" "\xfa\x7f\x80\x00\x00"), MGW_E_TYPE, "/a" },
	{ "-infinity double", BYTES("\xa1\x61" "a" "\x81\xfb\xff\xf0\x00\x00\x00\x00\x00\x00"),
	  MGW_E_TYPE, "/a/0" },
	{ "undefined", BYTES("\xa1\x61" "a" "\xf7"), MGW_E_TYPE, "/a" },
	{ "tag on the map", BYTES("\xc0\xa0"), MGW_E_UNSUPPORTED, "" },
	{ "self-describe twice", BYTES("\xd9\xd9\xf7\xd9\xd9\xf7\xa0"), MGW_E_UNSUPPORTED, "" },
	{ "self-describe inside", BYTES("\xa1\x61" "a" "\xd9\xd9\xf7\x01"), MGW_E_UNSUPPORTED, "/a" },
	{ "bignum", BYTES("\xa1\x61" "a" "\xc2\x41\x01"), MGW_E_UNSUPPORTED, "/a" },
	{ "pointer escaping",
	  BYTES("\xa1\x65" "a/b~c" "\xa1\x61" "~" "\x41" "x"), MGW_E_TYPE, "/a~1b~0c/~0" },
	/* the JSON step: diag from mgw_json_decode_msg */
	{ "msgId missing", BYTES("\xa1" "\x68" "destAddr" "\xa2\x68" "addrType" "\x62" "AS"
				 "\x64" "addr" "\x64" "as-1"),
	  MGW_E_MISSING, "/msgId" },
	{ "msgId an integer", BYTES("\xa2" "\x68" "destAddr" "\xa2\x68" "addrType" "\x62" "AS"
				    "\x64" "addr" "\x64" "as-1" "\x65" "msgId" "\x01"),
	  MGW_E_TYPE, "/msgId" },
	{ "segNumb a float", BYTES("\xa3" ID_DEST "\x69" "segParams" "\xa1\x67" "segNumb"
				   "\xf9\x40\x00"),
	  MGW_E_TYPE, "/segParams/segNumb" },
};

START_TEST(refused)
{
	const struct refusal *c = &refusals[_i];
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	int rc = cbor_decode(ctx, MGW_BODY_DEVICE, c->p, c->n, NULL, &m, &d);

	ck_assert_msg(rc == c->rc && strcmp(d.where, c->where) == 0,
		      "%s: got %s at \"%s\" (%s), want %s at \"%s\"", c->name, mgw_errname(rc),
		      d.where, d.text, mgw_errname(c->rc), c->where);
	ck_assert_int_eq(d.rc, rc);
	ck_assert_ptr_null(m);
	ck_assert(strchr(d.text, '\n') == NULL);
	printf("refused %-36s %-12s \"%s\" %s\n", c->name, mgw_errname(rc), d.where, d.text);
	talloc_free(ctx);
}
END_TEST

/* Every prefix of a valid body is refused cleanly. */
START_TEST(truncated)
{
	static const struct {
		const uint8_t *p;
		size_t n;
	} bodies[] = { { BYTES(dev_text) }, { BYTES(dev_bytes) }, { BYTES(dev_indef) } };
	void *ctx = talloc_new(NULL);
	struct mgw_diag d;

	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		for (size_t n = 0; n < bodies[b].n; n++) {
			struct mgw_msg *m = NULL;
			int rc = cbor_decode(ctx, MGW_BODY_DEVICE, bodies[b].p, n, NULL, &m, &d);

			ck_assert_msg(rc == MGW_E_MALFORMED, "body %zu prefix %zu: %s", b, n,
				      mgw_errname(rc));
			ck_assert_str_eq(d.where, "");
			ck_assert_ptr_null(m);
		}
	}
	talloc_free(ctx);
}
END_TEST

/* {destAddr, msgId, "deep": n nested arrays around 1} */
static uint8_t *deep_body(void *ctx, size_t n, uint8_t head, bool close, size_t *len)
{
	static const char pre[] = "\xa3" ID_DEST "\x64" "deep";
	size_t l = sizeof(pre) - 1 + n + 1 + (close ? n : 0);
	uint8_t *b = talloc_array(ctx, uint8_t, l);

	ck_assert_ptr_nonnull(b);
	memcpy(b, pre, sizeof(pre) - 1);
	memset(b + sizeof(pre) - 1, head, n);
	b[sizeof(pre) - 1 + n] = 0x01;
	if (close)
		memset(b + sizeof(pre) + n, 0xff, n);
	*len = l;
	return b;
}

static char *deep_json(void *ctx, size_t n)
{
	char *s = talloc_strdup(ctx, "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
				     "\"msgId\":\"x\",\"deep\":");

	for (size_t i = 0; i < n; i++)
		s = talloc_strdup_append(s, "[");
	s = talloc_strdup_append(s, "1");
	for (size_t i = 0; i < n; i++)
		s = talloc_strdup_append(s, "]");
	return talloc_strdup_append(s, "}");
}

/* The depth limit is the JSON codec's, to the level. */
START_TEST(depth_as_json)
{
	void *ctx = talloc_new(NULL);
	struct mgw_diag dc, dj;

	for (size_t n = 28; n <= 34; n++) {
		struct mgw_msg *m = NULL;
		size_t lb, li;
		uint8_t *b = deep_body(ctx, n, 0x81, false, &lb);
		uint8_t *bi = deep_body(ctx, n, 0x9f, true, &li);
		char *j = deep_json(ctx, n);
		int rj = mgw_json_decode_msg(ctx, MGW_BODY_DEVICE, j, strlen(j), NULL, &m, &dj);

		ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, b, lb, NULL, &m, &dc), rj);
		ck_assert_str_eq(dc.where, dj.where);
		ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, bi, li, NULL, &m, &dc), rj);
		ck_assert_str_eq(dc.where, dj.where);
		printf("depth: %zu nested arrays in a member: %s \"%s\"\n", n, mgw_errname(rj),
		       dj.where);
	}
	talloc_free(ctx);
}
END_TEST

START_TEST(deep_200k)
{
	const struct mgw_codec_limits big = { .max_body = 1024 * 1024, .max_payload = 8 * 1024 };
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	size_t len;
	uint8_t *b;
	char *json = NULL;
	int rc;

	/* over the default 64 KiB body limit: refused before it is read */
	b = deep_body(ctx, 200000, 0x81, false, &len);
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, b, len, NULL, &m, &d), MGW_E_TOO_BIG);
	/* under a 1 MiB limit it is read, and refused at the 32nd level */
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, b, len, &big, &m, &d), MGW_E_MALFORMED);
	ck_assert_str_eq(d.where, "/deep");
	b = deep_body(ctx, 200000, 0x9f, true, &len);
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, b, len, &big, &m, &d), MGW_E_MALFORMED);
	ck_assert_str_eq(d.where, "/deep");
	/* 200,000 nested maps {"a":{"a":...}} */
	b = talloc_array(ctx, uint8_t, 3 * 200000 + 1);
	for (size_t i = 0; i < 200000; i++)
		memcpy(b + 3 * i, "\xa1\x61" "a", 3);
	b[3 * 200000] = 0x01;
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_DEVICE, b, 3 * 200000 + 1, &big, &m, &d),
			 MGW_E_MALFORMED);
	ck_assert_str_eq(d.where, "/a");
	/* 200,000 nested arrays at the top: not a map */
	b = talloc_array(ctx, uint8_t, 200001);
	memset(b, 0x81, 200000);
	b[200000] = 0x01;
	rc = mgw_cbor_to_json(ctx, b, 200001, &big, &json, NULL, &d);
	ck_assert_int_eq(rc, MGW_E_MALFORMED);
	ck_assert_str_eq(d.where, "");
	ck_assert_ptr_null(json);
	ck_assert_ptr_null(m);
	talloc_free(ctx);
}
END_TEST

/* ---- limits ---- */

START_TEST(limits)
{
	void *ctx = talloc_new(NULL);
	const struct mgw_codec_limits lim = { .max_body = 64 * 1024, .max_payload = 8 * 1024 };
	static const char pre[] = "\xa3" ID_DEST "\x67" "payload" "\x7a\x00\x10\x00\x00";
	size_t big = 1024 * 1024, len = sizeof(pre) - 1 + big;
	uint8_t *b = talloc_array(ctx, uint8_t, len);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	char *json = NULL;
	bool counted;
	int rc;

	ck_assert_ptr_nonnull(b);
	memcpy(b, pre, sizeof(pre) - 1);
	memset(b + sizeof(pre) - 1, 'a', big);
	/* a 1 MiB text string: refused before anything is read or allocated */
	counted = count_start();
	rc = mgw_cbor_decode_msg(ctx, MGW_BODY_DEVICE, b, len, &lim, &m, &d);
	counting = false;
	ck_assert_int_eq(rc, MGW_E_TOO_BIG);
	ck_assert_str_eq(d.where, "");
	if (counted)
		ck_assert_uint_lt(allocated, 4096);
	printf("1 MiB string, 64 KiB limit: %s (%s), %zu bytes allocated%s\n", mgw_errname(rc),
	       d.text, allocated, counted ? "" : " (not counted: no ASan)");
	/* the same header claiming 1 MiB with 64 KiB there: truncated, nothing allocated for it */
	counted = count_start();
	rc = mgw_cbor_to_json(ctx, b, lim.max_body, &lim, &json, NULL, &d);
	counting = false;
	ck_assert_int_eq(rc, MGW_E_MALFORMED);
	if (counted)
		ck_assert_uint_lt(allocated, 16 * 1024);
	/* within max_body but the JSON form grows past 2 * max_body + 64 (6 bytes per \x01) */
	memcpy(b, "\xa1\x61" "a" "\x79\xf0\x00", 6);
	memset(b + 6, 0x01, 0xf000);
	counted = count_start();
	rc = mgw_cbor_to_json(ctx, b, 6 + 0xf000, &lim, &json, NULL, &d);
	counting = false;
	ck_assert_int_eq(rc, MGW_E_TOO_BIG);
	ck_assert_str_eq(d.where, "");
	ck_assert_ptr_null(json);
	if (counted)
		ck_assert_uint_le(allocated, 4 * (2 * lim.max_body + 64));
	/* lim NULL: the defaults (64 KiB) */
	rc = mgw_cbor_to_json(ctx, b, 64 * 1024 + 1, NULL, &json, NULL, &d);
	ck_assert_int_eq(rc, MGW_E_TOO_BIG);
	/* a payload over max_payload: the JSON step refuses it, naming it */
	memcpy(b, pre, sizeof(pre) - 1);
	memcpy(b + sizeof(pre) - 5, "\x00\x00\x20\x01", 4); /* 8193 bytes */
	rc = mgw_cbor_decode_msg(ctx, MGW_BODY_DEVICE, b, sizeof(pre) - 1 + 8193, &lim, &m, &d);
	ck_assert_int_eq(rc, MGW_E_TOO_BIG);
	ck_assert_str_eq(d.where, "/payload");
	/* and at max_payload it is accepted */
	memcpy(b + sizeof(pre) - 5, "\x00\x00\x20\x00", 4);
	rc = mgw_cbor_decode_msg(ctx, MGW_BODY_DEVICE, b, sizeof(pre) - 1 + 8192, &lim, &m, &d);
	ck_assert_int_eq(rc, MGW_OK);
	ck_assert_uint_eq(m->payload_len, 8192);
	talloc_free(ctx);
}
END_TEST

START_TEST(report_body)
{
	void *ctx = talloc_new(NULL);
	static const char json[] = "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},"
				   "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
				   "\"msgId\":\"x\",\"failureCause\":\"busy\","
				   "\"delivSt\":\"REPT_DELY_FAILED\"}";
	static const char cbor[] = "\xa5\x67" "oriAddr" "\xa2\x68" "addrType" "\x62" "UE"
				   "\x64" "addr" "\x64" "ue-1" ID_DEST "\x6c" "failureCause" "\x64" "busy"
				   "\x67" "delivSt" "\x70" "REPT_DELY_FAILED";
	struct mgw_msg *want = NULL, *got = NULL;
	struct mgw_diag d;

	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_REPORT, json, strlen(json), NULL, &want,
					     &d),
			 MGW_OK);
	ck_assert_int_eq(cbor_decode(ctx, MGW_BODY_REPORT, BYTES(cbor), NULL, &got, &d), MGW_OK);
	ck_assert(msg_same(want, got));
	ck_assert_int_eq(got->deliv_st, MGW_DELIV_FAILED);
	talloc_free(ctx);
}
END_TEST

START_TEST(bad_arguments)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	char *json = NULL;
	uint8_t *out = NULL;
	size_t n;

	ck_assert_int_eq(mgw_cbor_to_json(ctx, NULL, 3, NULL, &json, NULL, &d), MGW_E_INVAL);
	ck_assert_int_eq(mgw_cbor_to_json(ctx, BYTES("\xa0"), NULL, NULL, NULL, &d), MGW_E_INVAL);
	ck_assert_int_eq(mgw_cbor_decode_msg(ctx, MGW_BODY_DEVICE, BYTES("\xa0"), NULL, NULL, &d),
			 MGW_E_INVAL);
	ck_assert_int_eq(mgw_cbor_encode_msg(ctx, MGW_BODY_DEVICE, NULL, &out, &n, &d), MGW_E_INVAL);
	ck_assert_int_eq(mgw_cbor_decode_msg(ctx, MGW_BODY_DEVICE, NULL, 0, NULL, &m, NULL),
			 MGW_E_MALFORMED);
	ck_assert_ptr_null(json);
	ck_assert_ptr_null(out);
	talloc_free(ctx);
}
END_TEST

static Suite *codec_cbor_suite(void)
{
	Suite *s = suite_create("codec_cbor");
	TCase *tc = tcase_create("accept");

	tcase_add_test(tc, device_body_same_as_json);
	tcase_add_test(tc, device_body_builder);
	tcase_add_test(tc, json_text);
	tcase_add_test(tc, report_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, encode_exact);
	tcase_add_test(tc, round_trip_device);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_loop_test(tc, refused, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, depth_as_json);
	tcase_add_test(tc, deep_200k);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_cbor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
