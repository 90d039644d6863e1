/* Unit tests of the testdev line protocol (src/adapter/test/test_codec.c) and its config
 * section (test_cfg.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include <mgw/adapter_testdev.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/log.h>

#include "test_int.h"

static const struct {
	const char *line;
	int rc;
	enum td_verb verb;
	enum mgw_cred kind;
	const char *arg; /* expected argument, or NULL when rc != MGW_OK */
	const char *text; /* expected diag text (prefix) when rc != MGW_OK */
} parse_cases[] = {
	{ "HELLO psk sensor-1", MGW_OK, TD_HELLO, MGW_CRED_PSK_ID, "sensor-1" },
	{ "HELLO cert sha256:ab01", MGW_OK, TD_HELLO, MGW_CRED_CERT_FP, "sha256:ab01" },
	{ "HELLO msisdn 491701234567\r", MGW_OK, TD_HELLO, MGW_CRED_MSISDN, "491701234567" },
	{ "HELLO mqtt dev-7", MGW_OK, TD_HELLO, MGW_CRED_MQTT_USER, "dev-7" },
	{ "HELLO m5s x", MGW_E_MALFORMED, 0, 0, NULL, "hello: kind" },
	{ "HELLO psk", MGW_E_MALFORMED, 0, 0, NULL, "usage: HELLO" },
	{ "HELLO psk ", MGW_E_MALFORMED, 0, 0, NULL, "usage: HELLO" },
	{ "HELLO", MGW_E_MALFORMED, 0, 0, NULL, "HELLO needs" },
	{ "HELLO psk a b", MGW_E_MALFORMED, 0, 0, NULL, "hello: value holds" },
	{ "HELLO psk a\tb", MGW_E_MALFORMED, 0, 0, NULL, "hello: value holds" },
	{ "MSG {\"a\":1}", MGW_OK, TD_MSG, 0, "{\"a\":1}" },
	{ "MSG {\"a\":1}\r", MGW_OK, TD_MSG, 0, "{\"a\":1}" },
	{ "MSG", MGW_E_MALFORMED, 0, 0, NULL, "MSG needs" },
	{ "MSG ", MGW_E_MALFORMED, 0, 0, NULL, "MSG needs" },
	{ "REPORT {}", MGW_OK, TD_REPORT, 0, "{}" },
	{ "SUB", MGW_OK, TD_SUB, 0, "" },
	{ "SUB x", MGW_E_MALFORMED, 0, 0, NULL, "SUB takes no" },
	{ "SUBX", MGW_E_MALFORMED, 0, 0, NULL, "unknown command" },
	{ "ACK m-1", MGW_OK, TD_ACK, 0, "m-1" },
	{ "ACK", MGW_E_MALFORMED, 0, 0, NULL, "ACK needs" },
	{ "NACK m-1 busy now", MGW_OK, TD_NACK, 0, "m-1 busy now" },
	{ "QUIT", MGW_OK, TD_QUIT, 0, "" },
	{ "QUIT\r", MGW_OK, TD_QUIT, 0, "" },
	{ "quit", MGW_E_MALFORMED, 0, 0, NULL, "unknown command" },
	{ "", MGW_E_MALFORMED, 0, 0, NULL, "unknown command" },
	{ "\r", MGW_E_MALFORMED, 0, 0, NULL, "unknown command" },
	{ "GET / HTTP/1.1", MGW_E_MALFORMED, 0, 0, NULL, "unknown command" },
};

START_TEST(parse_table)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct mgw_diag diag = { 0 };
		struct td_cmd c = { 0 };
		const char *l = parse_cases[i].line;
		int rc = td_parse(l, strlen(l), &c, &diag);

		ck_assert_msg(rc == parse_cases[i].rc, "case %zu '%s': rc %s", i, l, mgw_errname(rc));
		if (rc != MGW_OK) {
			ck_assert_msg(strncmp(diag.text, parse_cases[i].text,
					      strlen(parse_cases[i].text)) == 0,
				      "case %zu '%s': text '%s'", i, l, diag.text);
			continue;
		}
		ck_assert_int_eq(c.verb, parse_cases[i].verb);
		if (c.verb == TD_HELLO)
			ck_assert_int_eq(c.kind, parse_cases[i].kind);
		ck_assert_uint_eq(c.arg_len, strlen(parse_cases[i].arg));
		ck_assert(memcmp(c.arg, parse_cases[i].arg, c.arg_len) == 0);
	}
}
END_TEST

START_TEST(parse_bounds)
{
	struct mgw_diag diag = { 0 };
	struct td_cmd c;
	char line[16 + MGW_ID_MAX + 2];
	int n;

	/* a credential value of exactly MGW_ID_MAX bytes, then one more */
	n = snprintf(line, sizeof(line), "HELLO psk ");
	memset(line + n, 'v', MGW_ID_MAX);
	ck_assert_int_eq(td_parse(line, (size_t)n + MGW_ID_MAX, &c, &diag), MGW_OK);
	ck_assert_uint_eq(c.arg_len, MGW_ID_MAX);
	line[n + MGW_ID_MAX] = 'v';
	ck_assert_int_eq(td_parse(line, (size_t)n + MGW_ID_MAX + 1, &c, &diag), MGW_E_TOO_BIG);
	/* an embedded NUL is a control character, not the end of the value */
	ck_assert_int_eq(td_parse("HELLO psk a\0b", 13, &c, &diag), MGW_E_MALFORMED);
	ck_assert_int_eq(td_parse("ACK a\0b", 7, &c, &diag), MGW_E_MALFORMED);
	/* truncations of a valid line parse or fail cleanly, never read past len */
	for (size_t k = 0; k <= strlen("NACK m-1 busy"); k++) {
		char *dup = malloc(k ? k : 1);

		memcpy(dup, "NACK m-1 busy", k);
		(void)td_parse(dup, k, &c, &diag);
		free(dup);
	}
}
END_TEST

START_TEST(nack_match)
{
	const char *cause = NULL;
	size_t clen = 99;

	ck_assert(td_nack_match("m-1 busy now", 12, "m-1", &cause, &clen));
	ck_assert_uint_eq(clen, 8);
	ck_assert(memcmp(cause, "busy now", 8) == 0);
	ck_assert(td_nack_match("m-1", 3, "m-1", &cause, &clen));
	ck_assert_uint_eq(clen, 0);
	ck_assert(!td_nack_match("m-10 busy", 9, "m-1", &cause, &clen));
	ck_assert(!td_nack_match("m", 1, "m-1", &cause, &clen));
	/* msgIds with spaces match as a whole */
	ck_assert(td_nack_match("a b c", 5, "a b", &cause, &clen));
	ck_assert_uint_eq(clen, 1);
	ck_assert_int_eq(cause[0], 'c');
}
END_TEST

START_TEST(format)
{
	void *ctx = talloc_new(NULL);
	char *s = NULL;

	ck_assert_str_eq(td_fmt_ok(ctx, "hello", "ue-coap-1"), "OK hello ue-coap-1");
	ck_assert_str_eq(td_fmt_ok(ctx, "sub", "ue 1"), "OK sub ue_1");
	ck_assert_str_eq(td_fmt_submit(ctx, MGW_OK, "m-1", NULL, NULL), "OK m-1 stored");
	ck_assert_str_eq(td_fmt_submit(ctx, MGW_E_DUPLICATE, "m-1", "X", "y"),
			 "OK m-1 duplicate");
	ck_assert_str_eq(td_fmt_submit(ctx, MGW_E_POLICY, "m-2", "POLICY_DEST",
				       "AS:as-9 not allowed"),
			 "ERR POLICY m-2 POLICY_DEST AS:as-9 not allowed");
	ck_assert_str_eq(td_fmt_submit(ctx, MGW_E_FULL, "m 3\n", "", NULL),
			 "ERR FULL m_3_ FULL queue full");
	ck_assert_str_eq(td_fmt_submit(ctx, MGW_E_STORE, "", "STORE", "a\nb"),
			 "ERR STORE - STORE a b");
	ck_assert_str_eq(td_fmt_err(ctx, MGW_E_MALFORMED, "", "unknown command"),
			 "ERR MALFORMED - unknown command");
	ck_assert_str_eq(td_fmt_err(ctx, MGW_E_MISSING, "/msgId", "missing"),
			 "ERR MISSING - /msgId missing");
	ck_assert_str_eq(td_fmt_err(ctx, MGW_E_AUTH, NULL, "hello first"), "ERR AUTH - hello first");
	ck_assert_int_eq(td_fmt_deliver(ctx, "{\"a\":1}", 7, &s), MGW_OK);
	ck_assert_str_eq(s, "DELIVER {\"a\":1}");
	s = NULL;
	ck_assert_int_eq(td_fmt_deliver(ctx, "{\n}", 3, &s), MGW_E_INVAL);
	ck_assert_ptr_null(s);
	talloc_free(ctx);
}
END_TEST

static int load(void *ctx, const char *yaml, struct mgw_testdev_cfg **out, struct mgw_cfg_err *err)
{
	struct mgw_testdev_cfg *c = talloc_zero(ctx, struct mgw_testdev_cfg);

	*out = c;
	return mgw_cfg_load_buf(ctx, "/tmp/gw.yaml", yaml, strlen(yaml), &mgw_testdev_schema, c,
				err);
}

START_TEST(config)
{
	void *ctx = talloc_new(NULL);
	struct mgw_testdev_cfg *c;
	struct mgw_cfg_err err;

	ck_assert_int_eq(load(ctx, "{ port: 7700, insecure: true }", &c, &err), 0);
	ck_assert_str_eq(c->addr, "127.0.0.1");
	ck_assert_int_eq(c->port, 7700);
	ck_assert(c->insecure);
	ck_assert_ptr_null(c->port_file);
	ck_assert_int_eq(c->ack_timeout_ms, 30000);
	ck_assert_int_eq(c->window, 8);

	ck_assert_int_eq(load(ctx, "port: 0\ninsecure: true\naddr: \"::1\"\nport_file: tport\n"
				   "ack_timeout: 250ms\nwindow: 2\n", &c, &err), 0);
	ck_assert_str_eq(c->addr, "::1");
	ck_assert_str_eq(c->port_file, "/tmp/tport");
	ck_assert_int_eq(c->ack_timeout_ms, 250);
	ck_assert_int_eq(c->window, 2);

	ck_assert_int_eq(load(ctx, "{ port: 7700 }", &c, &err), -1);
	ck_assert_msg(strstr(err.msg, "insecure: true"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "{ port: 7700, insecure: false }", &c, &err), -1);
	ck_assert_msg(strstr(err.msg, "insecure"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "{ insecure: true }", &c, &err), -1);
	ck_assert_msg(strstr(err.msg, "port"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "{ port: 70000, insecure: true }", &c, &err), -1);
	ck_assert_int_eq(load(ctx, "{ port: 1, insecure: true, addr: localhost }", &c, &err), -1);
	ck_assert_msg(strstr(err.msg, "addr"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "{ port: 1, insecure: true, window: 0 }", &c, &err), -1);
	ck_assert_int_eq(load(ctx, "{ port: 1, insecure: true, colour: red }", &c, &err), -1);
	talloc_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("testdev");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	mgw_log_set_all(MGW_LOGL_ERROR);
	tcase_add_test(tc, parse_table);
	tcase_add_test(tc, parse_bounds);
	tcase_add_test(tc, nack_match);
	tcase_add_test(tc, format);
	tcase_add_test(tc, config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
