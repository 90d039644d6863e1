/* Fuzz target: the SMS text codec (src/adapter/sms): UDH parsing, GSM 7-bit and UCS-2 decoding,
 * MO 7-bit user data behind a UDH, and MT splitting of arbitrary text and binary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "fuzz.h"
#include "sms_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);
	struct sms_parts *ps;
	struct sms_udh h;
	uint8_t *sep;
	size_t i, n, len;
	char *u;

	if (sms_udh_parse(data, size, &h, NULL) == 0 &&
	    (h.len > size || (h.concat && (!h.total || !h.seq || h.seq > h.total))))
		abort(); /* a parsed UDH lies inside the input and names a valid part */
	if (sms_gsm7_to_utf8(ctx, data, size, &u, &len) == 0) {
		/* what decodes re-encodes to the same text (unknown escapes aside) */
		if (strlen(u) != len)
			abort();
		if (sms_gsm7_from_utf8(ctx, u, len, &sep, &n) != 0)
			abort();
	}
	if (sms_ucs2_to_utf8(ctx, data, size, &u, &len) == 0) {
		if (sms_ucs2_from_utf8(ctx, u, len, &sep, &n) != 0 || n != size ||
		    memcmp(sep, data, n) != 0)
			abort(); /* UCS-2 round-trips exactly */
	}
	(void)sms_gsm7_ud_to_utf8(ctx, data, size, SMS_UDL_UNKNOWN, size && (data[0] & 1), &h,
				  &u, &len);
	for (i = 0; i < 2; i++) {
		if (sms_split(ctx, (const char *)data, size, i, (uint8_t)size, &ps) != 0)
			continue;
		if (ps->n < 1 || ps->n > SMS_PARTS_MAX)
			abort();
		for (n = 0; n < ps->n; n++)
			if (ps->part[n].sm_length > SMS_UD_MAX)
				abort();
	}
	talloc_free(ctx);
	return 0;
}
