/* Unit tests: MQTT topic names (src/adapter/mqtt/mqtt_topic.c) and the checks of the mqtt:
 * config section (mqtt_cfg.c). */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include <mgw/adapter_mqtt.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/log.h>

#include "mqtt_topic.h"

static const struct {
	const char *topic;
	int rc;
	int kind;
	const char *user; /* on MGW_OK */
} cases[] = {
	{ "msgin5g/up/dev-1", MGW_OK, MQTT_TOPIC_UP, "dev-1" },
	{ "msgin5g/report/dev-1", MGW_OK, MQTT_TOPIC_REPORT, "dev-1" },
	{ "msgin5g/up/d\xc3\xa9v", MGW_OK, MQTT_TOPIC_UP, "d\xc3\xa9v" }, /* UTF-8 */
	{ "msgin5g/up/a b", MGW_OK, MQTT_TOPIC_UP, "a b" },
	/* not ours */
	{ "msgin5g/down/dev-1", MGW_E_NOT_FOUND, 0, NULL },
	{ "msgin5g/upx/dev-1", MGW_E_NOT_FOUND, 0, NULL },
	{ "msgin5gx/up/dev-1", MGW_E_NOT_FOUND, 0, NULL },
	{ "other/up/dev-1", MGW_E_NOT_FOUND, 0, NULL },
	{ "msgin5g", MGW_E_NOT_FOUND, 0, NULL },
	{ "msgin5g/", MGW_E_NOT_FOUND, 0, NULL },
	{ "msgin5g/up", MGW_E_NOT_FOUND, 0, NULL },
	{ "", MGW_E_NOT_FOUND, 0, NULL },
	/* ours, but the username level is not one valid level */
	{ "msgin5g/up/", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/report/", MGW_E_MALFORMED, MQTT_TOPIC_REPORT, NULL },
	{ "msgin5g/up/+", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/#", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/a+b", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/dev-1/x", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/dev\x01", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/dev\x7f", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },
	{ "msgin5g/up/\xc2\x85", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },   /* U+0085 */
	{ "msgin5g/up/\xc3", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },       /* truncated */
	{ "msgin5g/up/\xc0\xaf", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL },   /* overlong '/' */
	{ "msgin5g/up/\xed\xa0\x80", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL }, /* surrogate */
	{ "msgin5g/up/\xf4\x90\x80\x80", MGW_E_MALFORMED, MQTT_TOPIC_UP, NULL }, /* > U+10FFFF */
};

START_TEST(parse_table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char user[MGW_ID_MAX + 1] = "junk";
		enum mqtt_topic_kind kind = 0;
		const char *why = NULL;
		int rc = mqtt_topic_parse("msgin5g", cases[i].topic, strlen(cases[i].topic), &kind,
					  user, sizeof(user), &why);

		ck_assert_msg(rc == cases[i].rc, "%zu '%s': rc %d, want %d", i, cases[i].topic, rc,
			      cases[i].rc);
		if (rc == MGW_E_NOT_FOUND)
			continue;
		ck_assert_msg((int)kind == cases[i].kind, "%zu: kind %d", i, kind);
		if (rc == MGW_OK) {
			ck_assert_str_eq(user, cases[i].user);
		} else {
			ck_assert_ptr_nonnull(why);
			/* the excerpt for the audit record is printable */
			for (const char *p = user; *p; p++)
				ck_assert(*p > 0x20 && *p < 0x7f);
		}
	}
}
END_TEST

/* the topic is not NUL-terminated: len counts, a NUL inside is refused */
START_TEST(parse_bounds)
{
	char user[MGW_ID_MAX + 1], topic[MGW_ID_MAX + 32];
	enum mqtt_topic_kind kind;
	const char *why;

	ck_assert_int_eq(mqtt_topic_parse("p", "p/up/abcdef", 6, &kind, user, sizeof(user), &why),
			 MGW_OK);
	ck_assert_str_eq(user, "a");
	ck_assert_int_eq(mqtt_topic_parse("p", "p/up/a\0b", 8, &kind, user, sizeof(user), &why),
			 MGW_E_MALFORMED);
	/* 256 bytes is the most */
	memcpy(topic, "p/up/", 5);
	memset(topic + 5, 'u', MGW_ID_MAX);
	ck_assert_int_eq(mqtt_topic_parse("p", topic, 5 + MGW_ID_MAX, &kind, user, sizeof(user),
					  &why),
			 MGW_OK);
	ck_assert_uint_eq(strlen(user), MGW_ID_MAX);
	topic[5 + MGW_ID_MAX] = 'u';
	ck_assert_int_eq(mqtt_topic_parse("p", topic, 6 + MGW_ID_MAX, &kind, user, sizeof(user),
					  &why),
			 MGW_E_TOO_BIG);
	/* a user buffer too small is a caller error */
	ck_assert_int_eq(mqtt_topic_parse("p", "p/up/a", 6, &kind, user, 8, &why), MGW_E_INVAL);
	/* a multi-level prefix */
	ck_assert_int_eq(mqtt_topic_parse("site/a/msg", "site/a/msg/report/x", 19, &kind, user,
					  sizeof(user), &why),
			 MGW_OK);
	ck_assert_int_eq(kind, MQTT_TOPIC_REPORT);
	ck_assert_str_eq(user, "x");
}
END_TEST

START_TEST(prefix_and_down)
{
	char out[64];
	const char *why;

	ck_assert_int_eq(mqtt_prefix_check("msgin5g", &why), MGW_OK);
	ck_assert_int_eq(mqtt_prefix_check("site/a/msgin5g", &why), MGW_OK);
	ck_assert_int_eq(mqtt_prefix_check("", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("/msgin5g", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("msgin5g/", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("a//b", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("a/+/b", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("a/#", &why), MGW_E_MALFORMED);
	ck_assert_int_eq(mqtt_prefix_check("$SYS", &why), MGW_E_MALFORMED);

	ck_assert_int_eq(mqtt_topic_down("msgin5g", "dev-1", out, sizeof(out)), MGW_OK);
	ck_assert_str_eq(out, "msgin5g/down/dev-1");
	ck_assert_int_eq(mqtt_topic_down("msgin5g", "a/b", out, sizeof(out)), MGW_E_INVAL);
	ck_assert_int_eq(mqtt_topic_down("msgin5g", "+", out, sizeof(out)), MGW_E_INVAL);
	ck_assert_int_eq(mqtt_topic_down("msgin5g", "", out, sizeof(out)), MGW_E_INVAL);
	ck_assert_int_eq(mqtt_topic_down("msgin5g", "dev-1", out, 10), MGW_E_TOO_BIG);
}
END_TEST

/* the mqtt: section: defaults, and each cross-field check names its key */
static int load(void *ctx, const char *yaml, struct mgw_mqtt_cfg *c, struct mgw_cfg_err *err)
{
	memset(c, 0, sizeof(*c));
	return mgw_cfg_load_buf(ctx, "t.yaml", yaml, strlen(yaml), &mgw_mqtt_schema, c, err);
}

START_TEST(config)
{
	void *ctx = talloc_new(NULL);
	struct mgw_cfg_err err;
	struct mgw_mqtt_cfg c;

	ck_assert_int_eq(load(ctx, "broker: { host: 127.0.0.1 }\ninsecure: true\n", &c, &err), 0);
	ck_assert_int_eq(c.broker->port, 8883);
	ck_assert_str_eq(c.topic_prefix, "msgin5g");
	ck_assert_str_eq(c.client_id, "msgin5g-gw");
	ck_assert_int_eq(c.protocol, MGW_MQTT_V5);
	ck_assert_int_eq(c.qos, 1);
	ck_assert_int_eq(c.keepalive_ms, 30000);
	ck_assert_int_eq(c.session_expiry_ms, 7LL * 86400 * 1000);
	ck_assert_int_eq(c.max_payload, 16384);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\nprotocol: \"3.1.1\"\n", &c,
			      &err),
			 0);
	ck_assert_int_eq(c.protocol, MGW_MQTT_V311);

	ck_assert_int_eq(load(ctx, "broker: { host: 127.0.0.1 }\n", &c, &err), -1);
	ck_assert_msg(strstr(err.msg, "broker.tls: the broker connection would not be encrypted"),
		      "%s", err.msg);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\ntopic_prefix: a/+\n", &c,
			      &err),
			 -1);
	ck_assert_msg(strstr(err.msg, "topic_prefix: 'a/+': wildcard"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\npassword: x\n", &c, &err),
			 -1);
	ck_assert_msg(strstr(err.msg, "password: needs username"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\nclient_id: a/b\n", &c,
			      &err),
			 -1);
	ck_assert_msg(strstr(err.msg, "client_id:"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\nreconnect_min: 2m\n", &c,
			      &err),
			 -1);
	ck_assert_msg(strstr(err.msg, "reconnect_min: is above reconnect_max"), "%s", err.msg);
	ck_assert_int_eq(load(ctx, "broker: { host: h }\ninsecure: true\nqos: 0\n", &c, &err), -1);
	ck_assert_int_eq(load(ctx, "broker: { host: h, tls: { cert: t.yaml } }\n", &c, &err), -1);
	talloc_free(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mqtt_topic");
	TCase *tc = tcase_create("topic");
	SRunner *sr;
	int failed;

	mgw_log_set_all(MGW_LOGL_ERROR);
	tcase_add_test(tc, parse_table);
	tcase_add_test(tc, parse_bounds);
	tcase_add_test(tc, prefix_and_down);
	tcase_add_test(tc, config);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
