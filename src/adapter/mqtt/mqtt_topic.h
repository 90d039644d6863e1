/* MQTT adapter: topic names (interfaces.md 5). Pure functions over bounded input: no I/O,
 * no libmosquitto; fuzz target tests/fuzz/fuzz_mqtt_topic.c, unit test
 * tests/unit/adapter/test_mqtt_topic.c.
 *
 *   {prefix}/up/{username}      uplink message of the device the broker authenticated as
 *   {prefix}/report/{username}  its delivery status report
 *   {prefix}/down/{username}    downlink toward it (published by the gateway)
 *
 * {username} is exactly one topic level: not empty, no '/', no '+' or '#', valid UTF-8
 * without control characters (U+0000-U+001F, U+007F-U+009F), at most MGW_ID_MAX bytes.
 */
#ifndef MGW_MQTT_TOPIC_H
#define MGW_MQTT_TOPIC_H

#include <stddef.h>

#include <mgw/addr.h>
#include <mgw/err.h>

#define MQTT_PREFIX_MAX 200

enum mqtt_topic_kind {
	MQTT_TOPIC_UP = 1,     /* {prefix}/up/{username} */
	MQTT_TOPIC_REPORT = 2, /* {prefix}/report/{username} */
};

/* One topic level (bytes s[0..n)): MGW_OK, or MGW_E_MALFORMED / MGW_E_TOO_BIG with *why
 * (a static string) set. */
int mqtt_level_check(const char *s, size_t n, const char **why);

/* A configured topic prefix: one or more levels separated by '/', each non-empty and free of
 * wildcards; not starting with '$' (the broker's own topics); at most MQTT_PREFIX_MAX bytes. */
int mqtt_prefix_check(const char *prefix, const char **why);

/* A topic received on the gateway's subscriptions (topic[0..len), not NUL-terminated).
 * MGW_OK: *kind set and the username copied into user (usize >= MGW_ID_MAX + 1, NUL-terminated).
 * MGW_E_NOT_FOUND: not an up or report topic under prefix. MGW_E_MALFORMED / MGW_E_TOO_BIG:
 * an up or report topic whose username level is not one valid level (*kind set, *why says
 * what is wrong; user holds a printable excerpt for the audit record). */
int mqtt_topic_parse(const char *prefix, const char *topic, size_t len, enum mqtt_topic_kind *kind,
		     char *user, size_t usize, const char **why);

/* {prefix}/down/{user} into out: MGW_E_INVAL if user is not one valid level, MGW_E_TOO_BIG
 * if it does not fit. */
int mqtt_topic_down(const char *prefix, const char *user, char *out, size_t outsize);

#endif
