/* Fuzz target: every TS 29.538 body decoder (the first byte picks the mgw_body), then
 * re-encode what decoded and check the store envelope round-trips it. */
#include <stdint.h>
#include <stdlib.h>
#include <talloc.h>

#include <mgw/codec.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);
	struct mgw_msg *m = NULL, *back = NULL;
	struct mgw_diag d;
	enum mgw_body b;
	char *out = NULL;
	size_t len;

	if (size < 1 || !ctx)
		goto out;
	b = (enum mgw_body)(data[0] % (MGW_BODY_STORED + 1));
	if (mgw_json_decode_msg(ctx, b, (const char *)data + 1, size - 1, NULL, &m, &d) != MGW_OK)
		goto out;
	mgw_json_encode_msg(ctx, b, m, &out, NULL, &d);
	if (mgw_json_encode_msg(ctx, MGW_BODY_STORED, m, &out, &len, &d) == MGW_OK &&
	    mgw_json_decode_msg(ctx, MGW_BODY_STORED, out, len, NULL, &back, &d) != MGW_OK)
		abort(); /* what we stored must always read back */
out:
	talloc_free(ctx);
	return 0;
}
