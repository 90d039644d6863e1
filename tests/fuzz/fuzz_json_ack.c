/* Fuzz target: MessageDeliveryAck and ProblemDetails decoders (the first byte picks which),
 * re-encoding what decoded. */
#include <stdint.h>
#include <stdlib.h>
#include <talloc.h>

#include <mgw/codec.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);
	struct mgw_problem p;
	struct mgw_ack a;
	struct mgw_diag d;
	char *out;

	if (size < 1 || !ctx)
		goto out;
	if (data[0] & 1) {
		if (mgw_json_decode_problem((const char *)data + 1, size - 1, &p, &d) == MGW_OK &&
		    mgw_json_encode_problem(ctx, &p, &out, NULL) != MGW_OK)
			abort(); /* a decoded problem is always encodable */
	} else if (mgw_json_decode_ack((const char *)data + 1, size - 1, &a, &d) == MGW_OK &&
		   mgw_json_encode_ack(ctx, &a, &out, NULL) != MGW_OK) {
		abort();
	}
	mgw_problem_from_diag(&p, 400, &d);
out:
	talloc_free(ctx);
	return 0;
}
