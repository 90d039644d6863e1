/* MQTT adapter: topic names (mqtt_topic.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mgw/err.h>

#include "mqtt_topic.h"

/* Length of the UTF-8 sequence at s[0..n) that encodes one scalar value without overlong
 * forms or surrogates, with the value in *cp; 0 when it is not valid UTF-8. */
static size_t utf8_one(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int mqtt_level_check(const char *s, size_t n, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;

	if (n == 0) {
		*why = "empty topic level";
		return MGW_E_MALFORMED;
	}
	if (n > MGW_ID_MAX) {
		*why = "topic level longer than 256 bytes";
		return MGW_E_TOO_BIG;
	}
	while (i < n) {
		if (!(k = utf8_one(p + i, n - i, &cp))) {
			*why = "topic level is not valid UTF-8";
			return MGW_E_MALFORMED;
		}
		if (cp == '/') {
			*why = "more than one topic level";
			return MGW_E_MALFORMED;
		}
		if (cp == '+' || cp == '#') {
			*why = "wildcard in a topic level";
			return MGW_E_MALFORMED;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			*why = "control character in a topic level";
			return MGW_E_MALFORMED;
		}
		i += k;
	}
	return MGW_OK;
}

int mqtt_prefix_check(const char *prefix, const char **why)
{
	size_t n, start = 0;
	int rc;

	if (!prefix || !*prefix) {
		*why = "empty";
		return MGW_E_MALFORMED;
	}
	n = strlen(prefix);
	if (n > MQTT_PREFIX_MAX) {
		*why = "longer than 200 bytes";
		return MGW_E_TOO_BIG;
	}
	if (prefix[0] == '$') {
		*why = "starts with '$' (topics of the broker itself)";
		return MGW_E_MALFORMED;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && prefix[i] != '/')
			continue;
		if ((rc = mqtt_level_check(prefix + start, i - start, why)) != MGW_OK)
			return rc;
		start = i + 1;
	}
	return MGW_OK;
}

/* a printable excerpt of a bad level for logs and the audit record: bytes outside 0x21-0x7e
 * become '?' */
static void excerpt(char *out, size_t osize, const char *s, size_t n)
{
	size_t i;

	if (osize == 0)
		return;
	if (n > 64)
		n = 64;
	for (i = 0; i < n && i + 1 < osize; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

int mqtt_topic_parse(const char *prefix, const char *topic, size_t len, enum mqtt_topic_kind *kind,
		     char *user, size_t usize, const char **why)
{
	size_t plen = strlen(prefix), rest;
	const char *p;
	enum mqtt_topic_kind k;
	int rc;

	if (usize < MGW_ID_MAX + 1 || !topic)
		return MGW_E_INVAL;
	user[0] = '\0';
	if (len <= plen + 1 || memcmp(topic, prefix, plen) != 0 || topic[plen] != '/')
		return MGW_E_NOT_FOUND;
	p = topic + plen + 1;
	rest = len - plen - 1;
	if (rest >= 3 && memcmp(p, "up/", 3) == 0) {
		k = MQTT_TOPIC_UP;
		p += 3;
		rest -= 3;
	} else if (rest >= 7 && memcmp(p, "report/", 7) == 0) {
		k = MQTT_TOPIC_REPORT;
		p += 7;
		rest -= 7;
	} else {
		return MGW_E_NOT_FOUND;
	}
	*kind = k;
	if ((rc = mqtt_level_check(p, rest, why)) != MGW_OK) {
		excerpt(user, usize, p, rest);
		return rc;
	}
	memcpy(user, p, rest);
	user[rest] = '\0';
	return MGW_OK;
}

int mqtt_topic_down(const char *prefix, const char *user, char *out, size_t outsize)
{
	const char *why;
	int n;

	if (!prefix || !user || mqtt_level_check(user, strlen(user), &why) != MGW_OK)
		return MGW_E_INVAL;
	n = snprintf(out, outsize, "%s/down/%s", prefix, user);
	if (n < 0 || (size_t)n >= outsize)
		return MGW_E_TOO_BIG;
	return MGW_OK;
}
