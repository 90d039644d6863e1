/* Prints bodies for the OpenAPI validator (contrib/node/oas-validate.js --lines), one per
 * line as "SPEC.yaml#Schema<TAB>json":
 *   codec_emit              every body type the codec emits, built by the encoder
 *   codec_emit --malformed  the decode cases that both we and the schema must refuse
 *   codec_emit --malformed-where  for each of those: "@<diag.where><TAB><case name>"
 *   codec_emit --schema-ok  the decode cases the schema accepts (our own limits and rules)
 * Exit 1 if a body cannot be built. */
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

#include "codec_cases.h"

static int emit_fixtures(void *ctx)
{
	struct mgw_diag d;
	char *out;

	for (int f = 0; f < FX_COUNT; f++) {
		const char *ref = codec_body_ref(fixture_body((enum fixture)f));
		struct mgw_msg *m = fixture_msg(ctx, (enum fixture)f);

		if (!ref)
			continue;
		if (!m || mgw_json_encode_msg(ctx, fixture_body((enum fixture)f), m, &out, NULL,
					      &d) != MGW_OK) {
			fprintf(stderr, "codec_emit: fixture %d: %s %s\n", f, d.where, d.text);
			return 1;
		}
		printf("%s\t%s\n", ref, out);
	}
	return 0;
}

static int emit_acks(void *ctx)
{
	static const char *const status[] = { "", "DELY_STORED", "DELY_FAILED" };
	struct mgw_ack a;
	char *out;

	for (size_t i = 0; i < sizeof(status) / sizeof(status[0]); i++) {
		memset(&a, 0, sizeof(a));
		mgw_addr_set(&a.ori, MGW_ADDR_UE, "ue-1");
		mgw_str_set(a.msg_id, sizeof(a.msg_id), "m-1");
		mgw_str_set(a.status, sizeof(a.status), status[i]);
		if (i == 2) {
			a.has_failure_cause = true;
			mgw_str_set(a.failure_cause, sizeof(a.failure_cause), "UE not reachable");
		}
		if (mgw_json_encode_ack(ctx, &a, &out, NULL) != MGW_OK)
			return 1;
		printf("TS29538_MSGS_MSGDelivery.yaml#MessageDeliveryAck\t%s\n", out);
	}
	return 0;
}

/* ProblemDetails built from real decode failures (one per rc class). */
static int emit_problems(void *ctx)
{
	static const char *const bad[] = {
		("{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"a\"},\"msgId\":\"m\","
		 "\"stoAndFwInd\":true}"),
		"{\"oriAddr\":{\"addrType\":5,\"addr\":\"u\"}}",
		"{\"oriAddr\":",
	};
	struct mgw_problem p;
	struct mgw_msg *m;
	struct mgw_diag d;
	char *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mgw_json_decode_msg(ctx, MGW_BODY_UE_MESSAGE, bad[i], strlen(bad[i]), NULL, &m,
					&d) == MGW_OK)
			return 1;
		mgw_problem_from_diag(&p, 400, &d);
		if (mgw_json_encode_problem(ctx, &p, &out, NULL) != MGW_OK)
			return 1;
		printf("TS29571_CommonData.yaml#ProblemDetails\t%s\n", out);
	}
	return 0;
}

static int emit_cases(void *ctx, enum case_schema which, bool where)
{
	for (size_t i = 0; i < codec_cases_n; i++) {
		const struct codec_case *c = &codec_cases[i];
		const char *ref = codec_case_ref(c);
		char *body;

		if (c->schema != which || !ref)
			continue;
		if (where) {
			printf("@%s\t%s\n", c->where, c->name);
			continue;
		}
		if (!(body = codec_case_body(ctx, c, NULL)))
			return 1;
		printf("%s\t%s\n", ref, body);
	}
	return 0;
}

int main(int argc, char **argv)
{
	void *ctx = talloc_new(NULL);
	int rc;

	if (argc > 1 && strcmp(argv[1], "--malformed") == 0)
		rc = emit_cases(ctx, SCHEMA_REJECTS, false);
	else if (argc > 1 && strcmp(argv[1], "--malformed-where") == 0)
		rc = emit_cases(ctx, SCHEMA_REJECTS, true);
	else if (argc > 1 && strcmp(argv[1], "--schema-ok") == 0)
		rc = emit_cases(ctx, SCHEMA_ACCEPTS, false);
	else if (argc > 1)
		rc = 2;
	else
		rc = emit_fixtures(ctx) || emit_acks(ctx) || emit_problems(ctx);
	talloc_free(ctx);
	return rc;
}
