/* Shared by test_codec and codec_emit: the fixture messages and the table of bodies the
 * decoder must refuse (or accept), each with the rc and JSON pointer it must report and
 * what the OpenAPI validator says about the same body. */
#ifndef MGW_TEST_CODEC_CASES_H
#define MGW_TEST_CODEC_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <mgw/codec.h>

enum fixture {
	FX_UE_FULL,     /* UEMessageDelivery, every optional member */
	FX_UE_MIN,      /* UEMessageDelivery, mandatory members only */
	FX_L3G,         /* L3gMessageDelivery */
	FX_N3G,         /* N3gMessageDelivery */
	FX_REPORT_OK,   /* DeliveryStatusReport, REPT_DELY_SUCCESS */
	FX_REPORT_FAIL, /* DeliveryStatusReport, REPT_DELY_FAILED + failureCause */
	FX_DEVICE,      /* the device body (priority, no oriAddr) */
	FX_STORED,      /* a stored message: binary payload + metadata */
	FX_COUNT
};

/* The message of fixture f, its body type, and its canonical encoding ("" for STORED). */
struct mgw_msg *fixture_msg(void *ctx, enum fixture f);
enum mgw_body fixture_body(enum fixture f);
const char *fixture_json(enum fixture f);

enum case_api { API_MSG, API_ACK, API_PROBLEM };
enum case_schema {
	SCHEMA_REJECTS, /* the OpenAPI validator refuses it too */
	SCHEMA_ACCEPTS, /* the validator accepts it: our own rule or limit (or we accept too) */
	SCHEMA_NONE,    /* not an OpenAPI body (device, store envelope) */
};
enum case_gen { GEN_NONE, GEN_BIG_PAYLOAD, GEN_DEEP, GEN_BIG_BODY, GEN_LONG_MSGID };

struct codec_case {
	const char *name;
	enum case_api api;
	enum mgw_body body; /* API_MSG only */
	const char *json;   /* the body, or the template a generator extends */
	enum case_gen gen;
	int rc;             /* expected decode result */
	const char *where;  /* expected diag.where */
	enum case_schema schema;
};

extern const struct codec_case codec_cases[];
extern const size_t codec_cases_n;

/* The body text of a case (talloc string under ctx; generated ones can be large). */
char *codec_case_body(void *ctx, const struct codec_case *c, size_t *len);
/* "SPEC.yaml#Schema" for the validator, NULL if the case has no OpenAPI schema. */
const char *codec_case_ref(const struct codec_case *c);
const char *codec_body_ref(enum mgw_body b);

#endif
