/* SMS text codec (TS 23.038 / 23.040, msgin5g-standards.md 5.1): UTF-8 <-> GSM 7-bit default
 * alphabet (basic + extension table, the project's own mapping; libosmocore only packs
 * septets), UTF-8 <-> UCS-2/UTF-16BE with surrogate pairs, MT splitting into concatenated
 * parts with an 8-bit-reference UDH, and MO UDH parsing. Pure functions over bounded input
 * (fuzz target fuzz_sms_text). Internal to src/adapter/sms.
 *
 * Outputs are talloc'd under the ctx passed in and set only on MGW_OK.
 */
#ifndef MGW_SMS_TEXT_H
#define MGW_SMS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMS_UD_MAX 140       /* TP-UD octets */
#define SMS_PARTS_MAX 255    /* concatenation counts parts in one octet */
#define SMS_UDL_UNKNOWN SIZE_MAX

/* SMPP data_coding / TP-DCS values this codec produces */
enum sms_dcs {
	SMS_DCS_GSM7 = 0x00,
	SMS_DCS_8BIT = 0x04,
	SMS_DCS_UCS2 = 0x08,
};

#define SMS_ESM_UDHI 0x40 /* SMPP esm_class bit: short_message starts with a UDH */

/* One part, ready for a submit_sm. */
struct sms_part {
	uint8_t data_coding;   /* enum sms_dcs */
	uint8_t esm_class;     /* SMS_ESM_UDHI when ud starts with a UDH, else 0 */
	uint8_t ud[SMS_UD_MAX]; /* short_message: UDH + packed septets (7-bit) or octets */
	size_t sm_length;      /* octets in ud (SMPP sm_length) */
	size_t udl;            /* TP-UDL: septets incl. UDH and fill for 7-bit, else octets */
	size_t text_units;     /* septets / UCS-2 units / octets of payload in this part */
};

struct sms_parts {
	size_t n;              /* 1 .. SMS_PARTS_MAX */
	uint8_t ref;           /* the concatenation reference used (when n > 1) */
	struct sms_part *part; /* n parts, talloc child of this struct */
};

/* A parsed User Data Header (only the IEs this gateway uses; others are skipped). */
struct sms_udh {
	size_t len;            /* octets of the UDH including the UDHL octet */
	bool concat;           /* a valid concatenation IE (0x00 or 0x08) was present */
	bool concat16;         /* ... with a 16-bit reference (IEI 0x08) */
	uint16_t ref;
	uint8_t total, seq;    /* 1-based seq <= total */
	bool ports;            /* application port addressing (0x04 or 0x05) was present */
	bool ports16;          /* ... 16-bit (IEI 0x05) */
	uint16_t dst_port, src_port;
};

/* UTF-8 -> unpacked GSM 7-bit septets (extension characters as ESC + code, two septets).
 * MGW_E_MALFORMED for invalid UTF-8, MGW_E_UNSUPPORTED if a character has no GSM mapping. */
int sms_gsm7_from_utf8(void *ctx, const char *utf8, size_t len, uint8_t **septets, size_t *n);

/* Unpacked septets -> NUL-terminated UTF-8 (*len excludes the NUL). An unknown escape gives
 * the basic character (23.038 6.2.1.1), a trailing ESC a space; a septet > 0x7f is
 * MGW_E_MALFORMED. */
int sms_gsm7_to_utf8(void *ctx, const uint8_t *septets, size_t n, char **utf8, size_t *len);

/* UTF-8 -> UTF-16BE (non-BMP characters as surrogate pairs). MGW_E_MALFORMED for invalid
 * UTF-8 (overlong, surrogate code point, > U+10FFFF, truncated). */
int sms_ucs2_from_utf8(void *ctx, const char *utf8, size_t len, uint8_t **ucs2, size_t *n);

/* UTF-16BE -> NUL-terminated UTF-8. MGW_E_MALFORMED for an odd length or a lone surrogate. */
int sms_ucs2_to_utf8(void *ctx, const uint8_t *ucs2, size_t n, char **utf8, size_t *len);

/* Split an MT payload into parts: 8-bit data (data_coding 4) when binary, else GSM 7-bit
 * (0) when every character fits, else UCS-2 (8). One part up to 160 septets / 70 units /
 * 140 octets, else parts of at most 153 / 67 / 134 behind a UDH 05 00 03 ref total seq;
 * never an escape sequence or a surrogate pair across parts. MGW_E_MALFORMED for invalid
 * UTF-8 text, MGW_E_TOO_BIG beyond SMS_PARTS_MAX parts. *out is a new talloc child of ctx. */
int sms_split(void *ctx, const char *data, size_t len, bool binary, uint8_t ref,
	      struct sms_parts **out);

/* The same up to the septets: the text of a packed TP-UD as unpacked septets (*out, *out_n),
 * without the UDH and its fill bits. */
int sms_gsm7_ud_unpack(void *ctx, const uint8_t *ud, size_t len, size_t septets, bool udhi,
		       struct sms_udh *udh, uint8_t **out, size_t *out_n);

/* The short_message of a GSM 7-bit part for SMSCs that take one septet per octet (the
 * usual SMPP "SMSC default alphabet"): the UDH octets as they are, then each septet of the
 * text in an octet of its own (no fill bits). Returns the length, 0 if it exceeds cap. */
size_t sms_part_unpacked(const struct sms_part *p, uint8_t *out, size_t cap);

/* Parse the UDH at the start of a TP-UD (ud[0] = UDHL). Unknown IEIs are skipped. A
 * concatenation IE with total 0, seq 0 or seq > total, a known IEI of the wrong length, an
 * IE beyond the UDH or a UDH beyond len is MGW_E_MALFORMED, its cause in *why (why may be
 * NULL). 23.040 9.2.3.24.1 lets a receiver ignore such a concatenation IE, but then a
 * fragment would travel as a whole message: the gateway refuses it instead. */
int sms_udh_parse(const uint8_t *ud, size_t len, struct sms_udh *out, const char **why);

/* Decode a packed GSM 7-bit TP-UD (MO short_message, data_coding 0) to UTF-8. With udhi,
 * the UDH is parsed into *udh (may be NULL) and skipped with its fill bits. septets is
 * TP-UDL (header septets included), or SMS_UDL_UNKNOWN to derive it from len (SMPP carries
 * only octets): then 7 trailing zero bits that fill the last octet are padding, not '@'. */
int sms_gsm7_ud_to_utf8(void *ctx, const uint8_t *ud, size_t len, size_t septets, bool udhi,
			struct sms_udh *udh, char **utf8, size_t *out_len);

#endif
