/* JSON codec of the TS 29.538 bodies (jansson). Pure functions over bounded input: no I/O,
 * fuzzable.
 *
 * Decoding is strict: the body must be a JSON object; required members present; each member
 * of its OpenAPI type; enum values accepted as extensible strings; strings and the payload
 * within their limits. Members the schema does not know are ignored (TS 29.500 style).
 * On failure the diag names the member as a JSON pointer ("/oriAddr/addrType") and
 * the return value says why (MGW_E_MALFORMED, MGW_E_MISSING, MGW_E_TYPE, MGW_E_TOO_BIG).
 *
 * Encoding is exact: members in schema order, optional members only when set.
 */
#ifndef MGW_CODEC_H
#define MGW_CODEC_H

#include <stddef.h>
#include <mgw/err.h>
#include <mgw/msg.h>

enum mgw_body {
	MGW_BODY_UE_MESSAGE,  /* UEMessageDelivery (gateway -> M5S) */
	MGW_BODY_L3G_MESSAGE, /* L3gMessageDelivery (M5S -> L3G) */
	MGW_BODY_N3G_MESSAGE, /* N3gMessageDelivery (M5S -> N3G) */
	MGW_BODY_REPORT,      /* DeliveryStatusReport (both ways) */
	MGW_BODY_DEVICE,      /* the device-side body of CoAP/MQTT (interfaces.md 5): TS 29.538
	                         member names, oriAddr ignored, stoAndFwInd optional */
	MGW_BODY_STORED,      /* internal envelope for the store: every member + metadata */
};

struct mgw_codec_limits {
	size_t max_body;    /* whole JSON text, bytes */
	size_t max_payload; /* decoded payload, bytes */
};
/* 64 KiB body, 2048+overhead payload: the defaults when limits is NULL. */
extern const struct mgw_codec_limits mgw_codec_default_limits;

const char *mgw_body_name(enum mgw_body b); /* "UEMessageDelivery", ... */

/* Decode a body of type b into a new message allocated under ctx. */
int mgw_json_decode_msg(void *ctx, enum mgw_body b, const char *buf, size_t len,
			const struct mgw_codec_limits *lim, struct mgw_msg **out, struct mgw_diag *diag);
/* Encode m as body b: a NUL-terminated talloc string under ctx (length in *len if not NULL).
 * MGW_E_MISSING/MGW_E_INVAL if m lacks what b requires (diag names it). */
int mgw_json_encode_msg(void *ctx, enum mgw_body b, const struct mgw_msg *m, char **out,
			size_t *len, struct mgw_diag *diag);

int mgw_json_decode_ack(const char *buf, size_t len, struct mgw_ack *out, struct mgw_diag *diag);
int mgw_json_encode_ack(void *ctx, const struct mgw_ack *a, char **out, size_t *len);
int mgw_json_decode_problem(const char *buf, size_t len, struct mgw_problem *out,
			    struct mgw_diag *diag);
int mgw_json_encode_problem(void *ctx, const struct mgw_problem *p, char **out, size_t *len);

/* Build the ProblemDetails for a decode failure: status 400, cause from the TS 29.500
 * table (MANDATORY_IE_MISSING, MANDATORY_IE_INCORRECT, INVALID_MSG_FORMAT, ...),
 * invalidParams[0] = { diag->where, diag->text }. */
void mgw_problem_from_diag(struct mgw_problem *p, int status, const struct mgw_diag *diag);

#endif
