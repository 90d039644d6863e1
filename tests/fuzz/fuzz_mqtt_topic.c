/* Fuzz target: MQTT topic names (src/adapter/mqtt/mqtt_topic.c). Input: PREFIX '\n' TOPIC,
 * or just TOPIC under the prefix "msgin5g". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mgw/err.h>

#include "fuzz.h"
#include "mqtt_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char prefix[MQTT_PREFIX_MAX + 1] = "msgin5g", user[MGW_ID_MAX + 1], back[MGW_ID_MAX + 1];
	char down[MQTT_PREFIX_MAX + MGW_ID_MAX + 8];
	const uint8_t *nl = memchr(data, '\n', size);
	const char *topic = (const char *)data, *why = NULL;
	enum mqtt_topic_kind kind, kind2;
	size_t len = size;
	int rc;

	if (nl && (size_t)(nl - data) <= MQTT_PREFIX_MAX && !memchr(data, '\0', (size_t)(nl - data))) {
		memcpy(prefix, data, (size_t)(nl - data));
		prefix[nl - data] = '\0';
		topic = (const char *)nl + 1;
		len = size - (size_t)(nl - data) - 1;
	}
	if (mqtt_prefix_check(prefix, &why) != MGW_OK) {
		if (!why)
			abort(); /* a refusal always says why */
		return 0;
	}
	rc = mqtt_topic_parse(prefix, topic, len, &kind, user, sizeof(user), &why);
	if (rc == MGW_OK) {
		/* one non-empty level, bounded, and it makes the same topic again */
		if (!*user || strlen(user) > MGW_ID_MAX || strpbrk(user, "/+#"))
			abort();
		if (mqtt_topic_down(prefix, user, down, sizeof(down)) != MGW_OK)
			abort();
		memcpy(down + strlen(prefix) + 1, kind == MQTT_TOPIC_UP ? "up/" : "dn/", 3);
		if (kind == MQTT_TOPIC_UP) {
			/* {prefix}/down/{u} -> {prefix}/up/n/{u}: not one level, refused */
			if (mqtt_topic_parse(prefix, down, strlen(down), &kind2, back, sizeof(back),
					     &why) == MGW_OK)
				abort();
		}
	} else if (rc != MGW_E_NOT_FOUND && !why) {
		abort();
	}
	return 0;
}
