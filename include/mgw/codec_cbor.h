/* CBOR form of the device-side bodies (CoAP Content-Format 60, application/cbor), with
 * libcbor. Pure functions over bounded input: no I/O, fuzzable.
 *
 * The CBOR form is the JSON form (include/mgw/codec.h) written in CBOR: a map with text
 * keys holding the same members. Decoding transcodes CBOR to compact JSON text and hands it
 * to mgw_json_decode_msg(), so both forms obey one set of member rules; encoding runs
 * mgw_json_encode_msg() and writes its members, in its order, as CBOR.
 *
 * What the transcoder accepts (anything else is refused, diag.where a JSON pointer):
 *  - exactly one data item, a map (else MGW_E_MALFORMED at ""); trailing bytes are
 *    MGW_E_MALFORMED; an optional self-describe tag 55799 in front of the map is skipped;
 *  - map keys: text strings (else MGW_E_MALFORMED at the map), no duplicates
 *    (MGW_E_MALFORMED at the member);
 *  - text strings: valid UTF-8 (else MGW_E_MALFORMED);
 *  - byte strings: only as the value of the top-level member "payload", and only if the
 *    bytes are valid UTF-8 (else MGW_E_TYPE). The JSON payload is a string and how binary
 *    content is carried in it is not standardised (standards brief 7.6): a byte-string
 *    payload is read as the same text, and the gateway always writes a text string;
 *  - integers in the int64 range (else MGW_E_TYPE); finite floats (NaN and infinities are
 *    MGW_E_TYPE); true, false, null (undefined is MGW_E_TYPE);
 *  - arrays and maps, a value nested at most 32 levels deep counting the root map as 1
 *    (deeper: MGW_E_MALFORMED naming the top-level member, as the JSON codec);
 *  - indefinite-length strings, arrays and maps (under the same limits);
 *  - no other tag (MGW_E_UNSUPPORTED), no other simple value (MGW_E_MALFORMED).
 * Limits: more than lim->max_body input bytes is MGW_E_TOO_BIG before anything is read; the
 * JSON text may grow to lim->max_body * 2 + 64 bytes (escapes), beyond that MGW_E_TOO_BIG.
 * Memory is O(len) and the stack is fixed: the input is read with libcbor's streaming
 * decoder and an explicit 32-level stack, never built into a tree.
 */
#ifndef MGW_CODEC_CBOR_H
#define MGW_CODEC_CBOR_H

#include <stddef.h>
#include <stdint.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

/* Transcode one CBOR map to compact JSON text: a NUL-terminated talloc string under ctx,
 * its length in *json_len (if not NULL). lim NULL = mgw_codec_default_limits. */
int mgw_cbor_to_json(void *ctx, const uint8_t *buf, size_t len,
		     const struct mgw_codec_limits *lim, char **json, size_t *json_len,
		     struct mgw_diag *diag);

/* Decode a CBOR body of type b (MGW_BODY_DEVICE or MGW_BODY_REPORT from a device) into a new
 * message under ctx: mgw_cbor_to_json() then mgw_json_decode_msg() with the JSON body limit
 * widened to the transcoder's output bound. diag comes from whichever step failed. */
int mgw_cbor_decode_msg(void *ctx, enum mgw_body b, const uint8_t *buf, size_t len,
			const struct mgw_codec_limits *lim, struct mgw_msg **out,
			struct mgw_diag *diag);

/* Encode m as body b in CBOR (downlink to a device that asked for Accept: 60): a talloc
 * buffer under ctx, its length in *len. Maps with text keys in the JSON member order,
 * strings as text strings, integers as CBOR integers, booleans as true/false: the same
 * bytes for the same message. Fails as mgw_json_encode_msg() does (diag names the member). */
int mgw_cbor_encode_msg(void *ctx, enum mgw_body b, const struct mgw_msg *m, uint8_t **out,
			size_t *len, struct mgw_diag *diag);

#endif
