/* Fuzz target: the SMPP delivery receipt text parser and id matching (src/adapter/sms). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms_dlr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sms_dlr d;
	bool delivered;

	if (sms_dlr_parse((const char *)data, size, &d) == 0) {
		if (!d.has_id || strlen(d.id) > SMS_DLR_ID_MAX)
			abort(); /* a parse that succeeds always has a bounded id */
		(void)sms_dlr_final(d.state, &delivered);
		if (!sms_dlr_id_match(d.id, d.id))
			abort(); /* an id names itself */
	}
	return 0;
}
