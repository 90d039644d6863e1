/* Unit tests: addresses, the message model and the TS 29.538 JSON codec. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

#include "codec_cases.h"

/* ---- helpers ---- */

#define DIFF(cond, ...)                                                                       \
	do {                                                                                  \
		if (cond) {                                                                   \
			snprintf(why, n, __VA_ARGS__);                                        \
			return false;                                                         \
		}                                                                             \
	} while (0)

static bool addr_same(const struct mgw_addr *a, const struct mgw_addr *b)
{
	return a->type == b->type && strcmp(a->type_name, b->type_name) == 0 &&
	       strcmp(a->addr, b->addr) == 0;
}

static bool seg_same(const struct mgw_seg *a, const struct mgw_seg *b)
{
	return a->has_seg_id == b->has_seg_id && a->has_total == b->has_total &&
	       a->has_numb == b->has_numb && a->has_last == b->has_last &&
	       (!a->has_seg_id || strcmp(a->seg_id, b->seg_id) == 0) &&
	       (!a->has_total || a->total == b->total) && (!a->has_numb || a->numb == b->numb) &&
	       (!a->has_last || a->last == b->last);
}

/* Field-by-field equality of everything a body can carry (store_id excepted: it is the
 * store's row id, never in a blob). */
static bool msg_same(const struct mgw_msg *a, const struct mgw_msg *b, char *why, size_t n)
{
	DIFF(a->kind != b->kind, "kind");
	DIFF(!addr_same(&a->ori, &b->ori), "oriAddr");
	DIFF(!addr_same(&a->dest, &b->dest), "destAddr");
	DIFF(strcmp(a->msg_id, b->msg_id) != 0, "msgId");
	DIFF(a->has_app_id != b->has_app_id || (a->has_app_id && strcmp(a->app_id, b->app_id)),
	     "appId");
	DIFF(a->has_deliv_st_req != b->has_deliv_st_req || a->deliv_st_req != b->deliv_st_req,
	     "delivStReqInd");
	DIFF(a->has_payload != b->has_payload || a->payload_len != b->payload_len ||
		     (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0),
	     "payload");
	DIFF(a->priority != b->priority, "priority");
	DIFF(a->has_seg_ind != b->has_seg_ind || a->seg_ind != b->seg_ind, "segInd");
	DIFF(a->has_seg != b->has_seg || (a->has_seg && !seg_same(&a->seg, &b->seg)), "segParams");
	DIFF(a->sto_fw_ind != b->sto_fw_ind, "stoAndFwInd");
	DIFF(a->expiry_ms != b->expiry_ms, "expiry %lld != %lld", (long long)a->expiry_ms,
	     (long long)b->expiry_ms);
	DIFF(a->deliv_st != b->deliv_st || strcmp(a->deliv_st_name, b->deliv_st_name), "delivSt");
	DIFF(a->has_failure_cause != b->has_failure_cause ||
		     (a->has_failure_cause && strcmp(a->failure_cause, b->failure_cause)),
	     "failureCause");
	DIFF(a->dir != b->dir || a->ingress != b->ingress || a->prot != b->prot, "dir/ingress/prot");
	DIFF(a->created_ms != b->created_ms || a->attempts != b->attempts, "created/attempts");
	return true;
}

static int decode_str(void *ctx, enum mgw_body b, const char *s, struct mgw_msg **m,
		      struct mgw_diag *d)
{
	return mgw_json_decode_msg(ctx, b, s, strlen(s), NULL, m, d);
}

/* ---- addresses ---- */

START_TEST(addr_types)
{
	static const struct {
		const char *s;
		enum mgw_addr_type t;
	} tab[] = {
		{ "UE", MGW_ADDR_UE },	     { "AS", MGW_ADDR_AS },	{ "GROUP", MGW_ADDR_GROUP },
		{ "BC", MGW_ADDR_BC },	     { "TOPIC", MGW_ADDR_TOPIC }, { "ue", MGW_ADDR_OTHER },
		{ "MSISDN", MGW_ADDR_OTHER }, { "", MGW_ADDR_NONE },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		ck_assert_int_eq(mgw_addr_type_parse(tab[i].s), tab[i].t);
		if (tab[i].t != MGW_ADDR_OTHER && tab[i].t != MGW_ADDR_NONE)
			ck_assert_str_eq(mgw_addr_type_name(tab[i].t), tab[i].s);
	}
	ck_assert_int_eq(mgw_addr_type_parse(NULL), MGW_ADDR_NONE);
	ck_assert_str_eq(mgw_addr_type_name(MGW_ADDR_NONE), "");
	ck_assert_str_eq(mgw_addr_type_name(MGW_ADDR_OTHER), "");
}
END_TEST

START_TEST(addr_set_parse_fmt)
{
	struct mgw_addr a, b;
	char buf[300], longaddr[MGW_ID_MAX + 2];

	ck_assert_int_eq(mgw_addr_set(&a, MGW_ADDR_UE, "ue-1"), MGW_OK);
	ck_assert_str_eq(a.type_name, "UE");
	ck_assert_str_eq(mgw_addr_fmt(&a, buf, sizeof(buf)), "UE:ue-1");
	ck_assert_int_eq(mgw_addr_parse(&b, "UE:ue-1"), MGW_OK);
	ck_assert(mgw_addr_eq(&a, &b));

	ck_assert_int_eq(mgw_addr_parse(&b, "AS:urn:as:1"), MGW_OK);
	ck_assert_int_eq(b.type, MGW_ADDR_AS);
	ck_assert_str_eq(b.addr, "urn:as:1");
	ck_assert(!mgw_addr_eq(&a, &b));

	ck_assert_int_eq(mgw_addr_parse(&b, "MSISDN:49170"), MGW_OK);
	ck_assert_int_eq(b.type, MGW_ADDR_OTHER);
	ck_assert_str_eq(mgw_addr_fmt(&b, buf, sizeof(buf)), "MSISDN:49170");
	ck_assert_int_eq(mgw_addr_set_wire(&a, "IMSI", "49170"), MGW_OK);
	ck_assert(!mgw_addr_eq(&a, &b)); /* same addr, other extension type */

	/* failures leave the output untouched */
	ck_assert_int_eq(mgw_addr_parse(&b, "no-colon"), MGW_E_MALFORMED);
	ck_assert_int_eq(mgw_addr_parse(&b, ":x"), MGW_E_INVAL);
	ck_assert_int_eq(mgw_addr_parse(&b, "UE:"), MGW_E_INVAL);
	ck_assert_int_eq(mgw_addr_set(&b, MGW_ADDR_UE, ""), MGW_E_INVAL);
	ck_assert_int_eq(mgw_addr_set(&b, MGW_ADDR_NONE, "x"), MGW_E_INVAL);
	ck_assert_int_eq(mgw_addr_set(&b, MGW_ADDR_OTHER, "x"), MGW_E_INVAL);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	ck_assert_int_eq(mgw_addr_set(&b, MGW_ADDR_UE, longaddr), MGW_E_TOO_BIG);
	longaddr[MGW_ID_MAX] = '\0';
	ck_assert_int_eq(mgw_addr_set(&b, MGW_ADDR_UE, longaddr), MGW_OK);
	ck_assert_int_eq(mgw_addr_set_wire(&b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "x"),
			 MGW_E_TOO_BIG);
	ck_assert_str_eq(mgw_addr_fmt(&a, buf, sizeof(buf)), "IMSI:49170");
	ck_assert_str_eq(mgw_addr_fmt(&a, buf, 5), "IMSI");
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(mgw_addr_fmt(&a, buf, sizeof(buf)), "");
}
END_TEST

/* ---- message model ---- */

START_TEST(msg_model)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE), *d;
	char s[4];

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mgw_msg_set_payload(m, "abc", 3), MGW_OK);
	ck_assert_int_eq(mgw_msg_set_payload(m, "hello", 5), MGW_OK);
	ck_assert_uint_eq(m->payload_len, 5);
	ck_assert_int_eq(m->payload[5], 0);
	ck_assert_ptr_eq(talloc_parent(m->payload), m);
	ck_assert_int_eq(mgw_msg_set_payload(m, "x", MGW_PAYLOAD_HARD_MAX + 1), MGW_E_TOO_BIG);
	ck_assert_uint_eq(m->payload_len, 5);
	ck_assert_int_eq(mgw_msg_set_payload(m, NULL, 0), MGW_OK);
	ck_assert_uint_eq(m->payload_len, 0);
	ck_assert(m->has_payload);
	ck_assert_int_eq(mgw_msg_set_payload(m, "hello", 5), MGW_OK);

	d = mgw_msg_dup(ctx, m);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_ne(d->payload, m->payload);
	ck_assert_ptr_eq(talloc_parent(d->payload), d);
	ck_assert_mem_eq(d->payload, "hello", 5);
	mgw_msg_free(m);
	mgw_msg_free(NULL);
	ck_assert_mem_eq(d->payload, "hello", 5);

	ck_assert_int_eq(mgw_str_set(s, sizeof(s), "abc"), MGW_OK);
	ck_assert_int_eq(mgw_str_set(s, sizeof(s), "abcd"), MGW_E_TOO_BIG);
	ck_assert_str_eq(s, "abc");

	ck_assert_int_eq(mgw_priority_parse("MIDDLE"), MGW_PRIO_MIDDLE);
	ck_assert_int_eq(mgw_priority_parse("URGENT"), MGW_PRIO_NONE);
	ck_assert_ptr_null(mgw_priority_name(MGW_PRIO_NONE));
	ck_assert_str_eq(mgw_priority_name(MGW_PRIO_LOW), "LOW");
	ck_assert_int_eq(mgw_deliv_st_parse("REPT_DELY_FAILED"), MGW_DELIV_FAILED);
	ck_assert_int_eq(mgw_deliv_st_parse("REPT_X"), MGW_DELIV_OTHER);
	ck_assert_int_eq(mgw_deliv_st_parse(""), MGW_DELIV_NONE);
	ck_assert_ptr_null(mgw_deliv_st_name(MGW_DELIV_OTHER));
	ck_assert_str_eq(mgw_ingress_name(MGW_IN_COAP), "coap");
	ck_assert_str_eq(mgw_dir_name(MGW_DIR_DOWNLINK), "downlink");
	ck_assert_str_eq(mgw_prot_name(MGW_PROT_JWE), "jwe");
	talloc_free(ctx);
}
END_TEST

/* ---- round trips ---- */

/* encode(fixture) == canonical JSON */
START_TEST(encode_canonical)
{
	void *ctx = talloc_new(NULL);
	enum fixture f = (enum fixture)_i;
	struct mgw_msg *m = fixture_msg(ctx, f);
	struct mgw_diag d;
	char *out = NULL;
	size_t len = 0;

	ck_assert_int_eq(mgw_json_encode_msg(ctx, fixture_body(f), m, &out, &len, &d), MGW_OK);
	ck_assert_str_eq(out, fixture_json(f));
	ck_assert_uint_eq(len, strlen(out));
	talloc_free(ctx);
}
END_TEST

/* decode(canonical) == fixture, and encode(decode(canonical)) == canonical */
START_TEST(decode_canonical)
{
	void *ctx = talloc_new(NULL);
	enum fixture f = (enum fixture)_i;
	struct mgw_msg *want = fixture_msg(ctx, f), *got = NULL;
	struct mgw_diag d;
	char why[64] = "", *out = NULL;

	ck_assert_int_eq(decode_str(ctx, fixture_body(f), fixture_json(f), &got, &d), MGW_OK);
	ck_assert_msg(msg_same(want, got, why, sizeof(why)), "fixture %d differs in %s", f, why);
	ck_assert_int_eq(mgw_json_encode_msg(ctx, fixture_body(f), got, &out, NULL, &d), MGW_OK);
	ck_assert_str_eq(out, fixture_json(f));
	talloc_free(ctx);
}
END_TEST

/* decode(encode(m)) == m exactly through the store envelope, for every fixture */
START_TEST(stored_round_trip)
{
	void *ctx = talloc_new(NULL);
	enum fixture f = (enum fixture)_i;
	struct mgw_msg *m = fixture_msg(ctx, f), *back = NULL;
	struct mgw_diag d;
	char why[64] = "", *blob = NULL;
	size_t len;

	m->dir = MGW_DIR_UPLINK + (f & 1);
	m->attempts = 4000000000u;
	m->created_ms = 1700000000000 + f;
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_STORED, m, &blob, &len, &d), MGW_OK);
	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_STORED, blob, len, NULL, &back, &d),
			 MGW_OK);
	ck_assert_msg(msg_same(m, back, why, sizeof(why)), "fixture %d differs in %s", f, why);
	talloc_free(ctx);
}
END_TEST

/* binary payloads of every length 0..7 round-trip through base64 */
START_TEST(stored_payload_lengths)
{
	void *ctx = talloc_new(NULL);
	static const uint8_t bin[] = { 0x00, 0xff, 0xfe, 0x80, 0x0a, 0x22, 0x5c, 0x7f };
	struct mgw_msg *m = fixture_msg(ctx, FX_UE_MIN), *back;
	struct mgw_diag d;
	char why[64], *blob;
	size_t len;

	for (size_t n = 0; n <= sizeof(bin); n++) {
		ck_assert_int_eq(mgw_msg_set_payload(m, bin, n), MGW_OK);
		ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_STORED, m, &blob, &len, &d),
				 MGW_OK);
		back = NULL;
		ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_STORED, blob, len, NULL, &back,
						     &d), MGW_OK);
		ck_assert_msg(msg_same(m, back, why, sizeof(why)), "len %zu: %s", n, why);
	}
	talloc_free(ctx);
}
END_TEST

START_TEST(device_body)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	char *out;

	/* oriAddr from a device is read as a claim (security compares it with the bound UE);
	 * stoAndFwInd defaults to false */
	ck_assert_int_eq(decode_str(ctx, MGW_BODY_DEVICE,
				    "{\"oriAddr\":{\"addrType\":\"AS\",\"addr\":\"spoof\"},"
				    "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
				    "\"msgId\":\"x\",\"priority\":\"URGENT\"}",
				    &m, &d),
			 MGW_OK);
	ck_assert_int_eq(m->ori.type, MGW_ADDR_AS);
	ck_assert_str_eq(m->ori.addr, "spoof");
	ck_assert(!m->sto_fw_ind);
	ck_assert_int_eq(m->priority, MGW_PRIO_NONE);
	/* downlink towards the device carries the originator */
	mgw_addr_set(&m->ori, MGW_ADDR_AS, "as-2");
	m->sto_fw_ind = true;
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_DEVICE, m, &out, NULL, &d), MGW_OK);
	ck_assert_str_eq(out, "{\"oriAddr\":{\"addrType\":\"AS\",\"addr\":\"as-2\"},"
			      "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
			      "\"msgId\":\"x\",\"stoAndFwInd\":true}");
	talloc_free(ctx);
}
END_TEST

/* ---- the decode case table (shared with the OpenAPI test) ---- */

static int decode_case(void *ctx, const struct codec_case *c, struct mgw_diag *d,
		       struct mgw_msg **m)
{
	struct mgw_ack ack;
	struct mgw_problem prob;
	size_t len = 0;
	char *body = codec_case_body(ctx, c, &len);

	ck_assert_ptr_nonnull(body);
	switch (c->api) {
	case API_ACK:
		return mgw_json_decode_ack(body, len, &ack, d);
	case API_PROBLEM:
		return mgw_json_decode_problem(body, len, &prob, d);
	default:
		return mgw_json_decode_msg(ctx, c->body, body, len, NULL, m, d);
	}
}

START_TEST(decode_cases)
{
	void *ctx = talloc_new(NULL);
	const struct codec_case *c = &codec_cases[_i];
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	int rc;

	memset(&d, 0x55, sizeof(d));
	rc = decode_case(ctx, c, &d, &m);
	ck_assert_msg(rc == c->rc, "%s: rc %s, want %s (%s: %s)", c->name, mgw_errname(rc),
		      mgw_errname(c->rc), d.where, d.text);
	if (rc == MGW_OK) {
		ck_assert_int_eq(d.rc, MGW_OK);
		ck_assert(c->api != API_MSG || m != NULL);
	} else {
		ck_assert_int_eq(d.rc, rc);
		ck_assert_msg(strcmp(d.where, c->where) == 0, "%s: where \"%s\", want \"%s\"",
			      c->name, d.where, c->where);
		ck_assert_ptr_null(m);
		ck_assert(d.text[0] != '\0');
	}
	talloc_free(ctx);
}
END_TEST

START_TEST(decode_extensions_kept)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	char *out;

	ck_assert_int_eq(decode_str(ctx, MGW_BODY_UE_MESSAGE, codec_cases[0].json, &m, &d),
			 MGW_E_MISSING);
	for (size_t i = 0; i < codec_cases_n; i++) {
		const struct codec_case *c = &codec_cases[i];

		if (strcmp(c->name, "unknown addrType accepted") == 0) {
			ck_assert_int_eq(decode_str(ctx, c->body, c->json, &m, &d), MGW_OK);
			ck_assert_int_eq(m->ori.type, MGW_ADDR_OTHER);
			ck_assert_str_eq(m->ori.type_name, "MSISDN");
			ck_assert_int_eq(mgw_json_encode_msg(ctx, c->body, m, &out, NULL, &d), MGW_OK);
			ck_assert_str_eq(out, c->json);
		} else if (strcmp(c->name, "unknown delivSt accepted") == 0) {
			ck_assert_int_eq(decode_str(ctx, c->body, c->json, &m, &d), MGW_OK);
			ck_assert_int_eq(m->deliv_st, MGW_DELIV_OTHER);
			ck_assert_str_eq(m->deliv_st_name, "REPT_DELY_PENDING");
			ck_assert_int_eq(mgw_json_encode_msg(ctx, c->body, m, &out, NULL, &d), MGW_OK);
			ck_assert_str_eq(out, c->json);
		}
	}
	talloc_free(ctx);
}
END_TEST

/* ---- exprTime (RFC 3339) ---- */

static const struct {
	const char *t;
	long long ms; /* 0: refused */
} times[] = {
	{ "2030-01-02T03:04:05.678Z", 1893553445678LL },
	{ "2030-01-02t03:04:05.678z", 1893553445678LL },
	{ "2030-01-02T03:04:05.6789999Z", 1893553445678LL },
	{ "2030-01-02T03:04:05.6Z", 1893553445600LL },
	{ "2024-02-29T23:59:59+05:30", 1709231399000LL },
	{ "2024-02-29T18:29:59-00:00", 1709231399000LL },
	{ "1970-01-01T00:00:00.001Z", 1 },
	{ "2016-12-31T23:59:60Z", 1483228800000LL },
	{ "9999-12-31T23:59:59.999Z", 253402300799999LL },
	{ "2023-02-29T00:00:00Z", 0 },
	{ "2024-13-01T00:00:00Z", 0 },
	{ "2024-00-01T00:00:00Z", 0 },
	{ "2024-01-01T24:00:00Z", 0 },
	{ "2024-01-01T00:60:00Z", 0 },
	{ "2024-01-01T00:00:61Z", 0 },
	{ "2024-01-01 00:00:00Z", 0 },
	{ "2024-01-01T00:00:00.Z", 0 },
	{ "2024-01-01T00:00:00+0100", 0 },
	{ "2024-01-01T00:00:00+24:00", 0 },
	{ "2024-01-01T00:00:00Zjunk", 0 },
	{ "2024-1-01T00:00:00Z", 0 },
	{ "+2024-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "", 0 },
};

START_TEST(expr_time)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL;
	struct mgw_diag d;
	char *body = talloc_asprintf(ctx,
		"{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},"
		"\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":\"m\","
		"\"stoAndFwInd\":true,\"stoAndFwParams\":{\"exprTime\":\"%s\"}}", times[_i].t);
	int rc = decode_str(ctx, MGW_BODY_UE_MESSAGE, body, &m, &d);

	if (times[_i].ms) {
		ck_assert_msg(rc == MGW_OK, "%s: %s", times[_i].t, d.text);
		ck_assert_int_eq(m->expiry_ms, times[_i].ms);
	} else {
		ck_assert_msg(rc == MGW_E_TYPE, "%s accepted", times[_i].t);
		ck_assert_str_eq(d.where, "/stoAndFwParams/exprTime");
	}
	talloc_free(ctx);
}
END_TEST

/* ---- encoder refusals ---- */

START_TEST(encode_errors)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = fixture_msg(ctx, FX_UE_MIN);
	struct mgw_diag d;
	char *out = NULL;

	memset(&m->dest, 0, sizeof(m->dest));
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_UE_MESSAGE, m, &out, NULL, &d),
			 MGW_E_MISSING);
	ck_assert_str_eq(d.where, "/destAddr");
	ck_assert_ptr_null(out);

	m = fixture_msg(ctx, FX_UE_MIN);
	m->msg_id[0] = '\0';
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_UE_MESSAGE, m, &out, NULL, &d),
			 MGW_E_MISSING);
	ck_assert_str_eq(d.where, "/msgId");

	m = fixture_msg(ctx, FX_UE_MIN);
	mgw_msg_set_payload(m, "\xff\xfe", 2);
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_UE_MESSAGE, m, &out, NULL, &d),
			 MGW_E_INVAL);
	ck_assert_str_eq(d.where, "/payload");

	m = fixture_msg(ctx, FX_UE_MIN);
	m->expiry_ms = 253402300800000LL; /* year 10000 */
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_UE_MESSAGE, m, &out, NULL, &d),
			 MGW_E_INVAL);
	ck_assert_str_eq(d.where, "/stoAndFwParams/exprTime");

	m = fixture_msg(ctx, FX_UE_MIN);
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_REPORT, m, &out, NULL, &d), MGW_E_INVAL);
	m = fixture_msg(ctx, FX_REPORT_OK);
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_L3G_MESSAGE, m, &out, NULL, &d),
			 MGW_E_INVAL);
	m->deliv_st = MGW_DELIV_OTHER;
	m->deliv_st_name[0] = '\0';
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_REPORT, m, &out, NULL, &d), MGW_E_INVAL);
	ck_assert_str_eq(d.where, "/delivSt");
	m->deliv_st = MGW_DELIV_NONE;
	ck_assert_int_eq(mgw_json_encode_msg(ctx, MGW_BODY_REPORT, m, &out, NULL, &d),
			 MGW_E_MISSING);
	ck_assert_str_eq(d.where, "/delivSt");
	ck_assert_ptr_null(out);
	talloc_free(ctx);
}
END_TEST

START_TEST(limits)
{
	void *ctx = talloc_new(NULL);
	const struct mgw_codec_limits small = { .max_body = 4096, .max_payload = 4 };
	const struct mgw_codec_limits tiny = { .max_body = 10, .max_payload = 4 };
#define LIMITS_BODY(pl)                                                                       \
	"{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"u\"},"                                 \
	"\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":\"m\","                \
	"\"stoAndFwInd\":true,\"payload\":\"" pl "\"}"
	const char *ok = LIMITS_BODY("\\u00e9\\u00e9"); /* 4 bytes of UTF-8 */
	const char *big = LIMITS_BODY("abcde");
	struct mgw_msg *m = NULL;
	struct mgw_diag d;

	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_UE_MESSAGE, ok, strlen(ok), &small, &m,
					     &d), MGW_OK);
	ck_assert_uint_eq(m->payload_len, 4);
	m = NULL;
	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_UE_MESSAGE, big, strlen(big), &small,
					     &m, &d), MGW_E_TOO_BIG);
	ck_assert_str_eq(d.where, "/payload");
	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_UE_MESSAGE, ok, strlen(ok), &tiny, &m,
					     &d), MGW_E_TOO_BIG);
	ck_assert_str_eq(d.where, "");
	ck_assert_ptr_null(m);
	ck_assert_int_eq(mgw_json_decode_msg(ctx, MGW_BODY_UE_MESSAGE, NULL, 0, NULL, &m, &d),
			 MGW_E_MALFORMED);
	talloc_free(ctx);
}
END_TEST

/* ---- MessageDeliveryAck ---- */

START_TEST(ack_round_trip)
{
	static const char *const bodies[] = {
		"{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},\"msgId\":\"m-1\"}",
		"{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},\"msgId\":\"m-1\","
		"\"status\":\"DELY_STORED\"}",
		"{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},\"msgId\":\"m-1\","
		"\"status\":\"DELY_FAILED\",\"failureCause\":\"UE not reachable\"}",
	};
	void *ctx = talloc_new(NULL);
	struct mgw_ack a, b;
	struct mgw_diag d;
	char *out;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		memset(&a, 0, sizeof(a));
		ck_assert_int_eq(mgw_json_decode_ack(bodies[i], strlen(bodies[i]), &a, &d), MGW_OK);
		ck_assert_int_eq(mgw_json_encode_ack(ctx, &a, &out, NULL), MGW_OK);
		ck_assert_str_eq(out, bodies[i]);
		ck_assert_int_eq(mgw_json_decode_ack(out, strlen(out), &b, &d), MGW_OK);
		ck_assert(mgw_addr_eq(&a.ori, &b.ori));
		ck_assert_str_eq(a.status, b.status);
	}
	ck_assert_str_eq(a.failure_cause, "UE not reachable");
	ck_assert(a.has_failure_cause);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(mgw_json_encode_ack(ctx, &a, &out, NULL), MGW_E_INVAL);
	talloc_free(ctx);
}
END_TEST

/* ---- ProblemDetails ---- */

START_TEST(problem_from_diag_table)
{
	static const struct {
		int rc;
		const char *where;
		int status;
		const char *cause, *title;
	} tab[] = {
		{ MGW_E_MISSING, "/oriAddr", 400, "MANDATORY_IE_MISSING", "Bad Request" },
		{ MGW_E_TYPE, "/oriAddr/addrType", 400, "MANDATORY_IE_INCORRECT", "Bad Request" },
		{ MGW_E_TYPE, "/msgId", 400, "MANDATORY_IE_INCORRECT", "Bad Request" },
		{ MGW_E_TYPE, "/segParams/totalSegCount", 400, "OPTIONAL_IE_INCORRECT", "Bad Request" },
		{ MGW_E_TYPE, "/payload", 400, "OPTIONAL_IE_INCORRECT", "Bad Request" },
		{ MGW_E_TYPE, "/payloadX", 400, "MANDATORY_IE_INCORRECT", "Bad Request" },
		{ MGW_E_MALFORMED, "", 400, "INVALID_MSG_FORMAT", "Bad Request" },
		{ MGW_E_TOO_BIG, "/msgId", 400, "INCORRECT_LENGTH", "Bad Request" },
		{ MGW_E_TOO_BIG, "/payload", 413, "INCORRECT_LENGTH", "Payload Too Large" },
		{ MGW_E_NOMEM, "", 500, "INSUFFICIENT_RESOURCES", "Internal Server Error" },
		{ MGW_E_INTERNAL, "", 500, "SYSTEM_FAILURE", "Internal Server Error" },
	};
	void *ctx = talloc_new(NULL);
	struct mgw_problem p, q;
	struct mgw_diag d, d2;
	char *out;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		mgw_diag_set(&d, tab[i].rc, tab[i].where, "reason %zu", i);
		mgw_problem_from_diag(&p, tab[i].status, &d);
		ck_assert_int_eq(p.status, tab[i].status);
		ck_assert_str_eq(p.cause, tab[i].cause);
		ck_assert_str_eq(p.title, tab[i].title);
		ck_assert_uint_eq(p.n_params, 1);
		ck_assert_str_eq(p.params[0].param, tab[i].where);
		ck_assert_str_eq(p.params[0].reason, d.text);
		ck_assert_int_eq(mgw_json_encode_problem(ctx, &p, &out, NULL), MGW_OK);
		ck_assert_int_eq(mgw_json_decode_problem(out, strlen(out), &q, &d2), MGW_OK);
		ck_assert_int_eq(q.status, p.status);
		ck_assert_str_eq(q.cause, p.cause);
		ck_assert_str_eq(q.params[0].param, p.params[0].param);
		ck_assert_str_eq(q.params[0].reason, p.params[0].reason);
	}
	mgw_diag_set(&d, MGW_E_MISSING, "/oriAddr", "mandatory member missing");
	mgw_problem_from_diag(&p, 400, &d);
	ck_assert_int_eq(mgw_json_encode_problem(ctx, &p, &out, NULL), MGW_OK);
	ck_assert_str_eq(out, "{\"title\":\"Bad Request\",\"status\":400,"
			      "\"detail\":\"mandatory member missing\","
			      "\"cause\":\"MANDATORY_IE_MISSING\",\"invalidParams\":[{\"param\":"
			      "\"/oriAddr\",\"reason\":\"mandatory member missing\"}]}");
	talloc_free(ctx);
}
END_TEST

START_TEST(problem_decode)
{
	struct mgw_problem p;
	struct mgw_diag d;
	char body[1200];
	char longtitle[300];
	const char *many = "{\"status\":400,\"invalidParams\":[{\"param\":\"/a\"},{\"param\":\"/b\"},"
			   "{\"param\":\"/c\"},{\"param\":\"/d\"},{\"param\":\"/e\"},{\"param\":"
			   "\"/f\"},{\"param\":\"/g\"},{\"param\":\"/h\"},{\"param\":\"/i\"}]}";

	/* free text is cut at a character boundary, never refused */
	memset(longtitle, 0, sizeof(longtitle));
	for (size_t i = 0; i + 2 < 260; i += 2)
		memcpy(longtitle + i, "\xc3\xa9", 2);
	snprintf(body, sizeof(body), "{\"type\":\"x\",\"title\":\"%s\",\"status\":503,\"cause\":"
		 "\"NF_CONGESTION\",\"instance\":\"/i\",\"unknown\":[1]}", longtitle);
	ck_assert_int_eq(mgw_json_decode_problem(body, strlen(body), &p, &d), MGW_OK);
	ck_assert_int_eq(p.status, 503);
	ck_assert_str_eq(p.cause, "NF_CONGESTION");
	ck_assert_uint_eq(strlen(p.title), 126);
	ck_assert_uint_eq(p.n_params, 0);
	ck_assert_int_eq(mgw_json_decode_problem(many, strlen(many), &p, &d), MGW_OK);
	ck_assert_uint_eq(p.n_params, MGW_PROBLEM_PARAMS_MAX);
	ck_assert_str_eq(p.params[7].param, "/h");
	ck_assert_int_eq(mgw_json_decode_problem("{\"status\":1000}", 15, &p, &d), MGW_E_TYPE);
	ck_assert_str_eq(d.where, "/status");
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, addr_types);
	tcase_add_test(tc, addr_set_parse_fmt);
	tcase_add_test(tc, msg_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_loop_test(tc, encode_canonical, 0, FX_STORED);
	tcase_add_loop_test(tc, decode_canonical, 0, FX_STORED);
	tcase_add_loop_test(tc, stored_round_trip, 0, FX_COUNT);
	tcase_add_test(tc, stored_payload_lengths);
	tcase_add_test(tc, device_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode_cases");
	tcase_add_loop_test(tc, decode_cases, 0, (int)codec_cases_n);
	tcase_add_test(tc, decode_extensions_kept);
	tcase_add_loop_test(tc, expr_time, 0, (int)(sizeof(times) / sizeof(times[0])));
	tcase_add_test(tc, encode_errors);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("ack_problem");
	tcase_add_test(tc, ack_round_trip);
	tcase_add_test(tc, problem_from_diag_table);
	tcase_add_test(tc, problem_decode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
