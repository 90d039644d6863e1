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
/* MGW_BODY_DEVICE: decoding reads an optional oriAddr only as a claim (the security layer
 * binds the originator and rewrites or refuses a different one, policy spoofed_origin)
 * and also reads priority; encoding (downlink) writes oriAddr and priority when set, and
 * stoAndFwInd only when true.
 * MGW_BODY_STORED: {"v":1, the message members, "expiry" (ms), "kind", "dir", "ingress",
 * "prot", "created", "attempts"} with the payload in base64, so that decode(encode(m)) == m
 * for every member but store_id (the store's row id). With lim NULL it is read under the
 * hard ceilings (MGW_PAYLOAD_HARD_MAX). Another envelope version: MGW_E_UNSUPPORTED at "/v".
 * Wire payload: a JSON string whose bytes are kept as decoded (an escaped U+0000 too); binary
 * encoding is not standardised (standards brief 7.6), so a payload that is not valid UTF-8
 * cannot be encoded for the wire (MGW_E_INVAL at "/payload").
 * A value nested deeper than 32 levels is MGW_E_MALFORMED naming its top-level member. */

struct mgw_codec_limits {
	size_t max_body;    /* whole JSON text, bytes */
	size_t max_payload; /* decoded payload, bytes */
};
/* The defaults when limits is NULL: 64 KiB body, 8 KiB payload (2048 bytes of content,
 * TS 23.554 8.5.1, plus room for JWS/JWE protection). */
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
/* A peer's ProblemDetails: title, detail and invalidParams text are cut (at a UTF-8
 * boundary) to fit, and invalidParams beyond MGW_PROBLEM_PARAMS_MAX are dropped; types,
 * status (100..599) and the length of cause are strict. */
int mgw_json_decode_problem(const char *buf, size_t len, struct mgw_problem *out,
			    struct mgw_diag *diag);
int mgw_json_encode_problem(void *ctx, const struct mgw_problem *p, char **out, size_t *len);

/* Build the ProblemDetails for a decode failure: status 400, cause from the TS 29.500
 * table (MANDATORY_IE_MISSING, MANDATORY_IE_INCORRECT, INVALID_MSG_FORMAT, ...),
 * invalidParams[0] = { diag->where, diag->text }.
 * Causes: MISSING -> MANDATORY_IE_MISSING; TYPE -> OPTIONAL_IE_INCORRECT under a member that
 * is optional in every body (appId, delivStReqInd, payload, priority, segInd, segParams,
 * stoAndFwParams, failureCause, status), else MANDATORY_IE_INCORRECT; MALFORMED and
 * UNSUPPORTED -> INVALID_MSG_FORMAT; TOO_BIG -> INCORRECT_LENGTH (also when the caller
 * answers 413: TS 29.500 has no cause of its own for it); NOMEM -> INSUFFICIENT_RESOURCES;
 * anything else -> SYSTEM_FAILURE. The title follows status ("Bad Request", ...). */
void mgw_problem_from_diag(struct mgw_problem *p, int status, const struct mgw_diag *diag);

#endif
