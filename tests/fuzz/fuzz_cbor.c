/* Fuzz target: the CBOR device bodies (whole input, no selector byte), decoded as
 * MGW_BODY_DEVICE and as MGW_BODY_REPORT; what decodes is encoded back to CBOR and must
 * decode again to the same msgId. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/codec_cbor.h>

#include "fuzz.h"

/* Decode as b; when that works, the re-encoded CBOR must read back to the same msgId. */
static void one(void *ctx, enum mgw_body b, const uint8_t *data, size_t size)
{
	struct mgw_msg *m = NULL, *back = NULL;
	struct mgw_diag d;
	uint8_t *out = NULL;
	size_t len = 0;

	if (mgw_cbor_decode_msg(ctx, b, data, size, NULL, &m, &d) != MGW_OK)
		return;
	if (mgw_cbor_encode_msg(ctx, b, m, &out, &len, &d) != MGW_OK)
		abort(); /* a decoded message is always encodable */
	if (mgw_cbor_decode_msg(ctx, b, out, len, NULL, &back, &d) != MGW_OK ||
	    strcmp(m->msg_id, back->msg_id) != 0)
		abort(); /* what we send reads back as the same message */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);

	if (!ctx)
		return 0;
	one(ctx, MGW_BODY_DEVICE, data, size);
	one(ctx, MGW_BODY_REPORT, data, size);
	talloc_free(ctx);
	return 0;
}
