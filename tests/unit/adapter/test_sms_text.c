/* Unit tests: the SMS text codec (src/adapter/sms/sms_text.c): GSM 7-bit and UCS-2 <-> UTF-8,
 * MT splitting with UDH, MO UDH parsing and 7-bit decoding behind a UDH.
 *
 * The packed byte vectors below were computed with a short independent python3 packer
 * (a little-endian bit accumulator: septet i at bit pad + 7 i), not with this code; the
 * long texts are checked against libosmocore's own gsm_7bit_decode_n_hdr() instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <osmocom/gsm/gsm_utils.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "sms_text.h"

static void *ctx;

static void setup(void)
{
	ctx = talloc_new(NULL);
}

static void teardown(void)
{
	talloc_free(ctx);
}

/* hex string -> bytes; returns the count */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] && hex[1] && n < cap) {
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static void ck_bytes(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[512];
	size_t m = unhex(hex, want, sizeof(want));

	ck_assert_uint_eq(n, m);
	ck_assert_mem_eq(got, want, m);
}

static void ck_udh(const struct sms_part *p, uint8_t ref, uint8_t total, uint8_t seq)
{
	const uint8_t want[6] = { 5, 0, 3, ref, total, seq };

	ck_assert_uint_eq(p->esm_class, SMS_ESM_UDHI);
	ck_assert_mem_eq(p->ud, want, 6);
}

/* a string of n copies of c */
static char *rep(char c, size_t n)
{
	char *s = talloc_size(ctx, n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(gsm7_extension_roundtrip)
{
	const char *t = "€ [ ] { }";
	const char *all = "^{}\\[~]|€\f";
	uint8_t *s;
	size_t n, len;
	char *u;

	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, t, strlen(t), &s, &n), MGW_OK);
	/* each extension character costs two septets: 5 x 2 + 4 spaces */
	ck_bytes(s, n, "1b65201b3c201b3e201b28201b29");
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, s, n, &u, &len), MGW_OK);
	ck_assert_str_eq(u, t);
	ck_assert_uint_eq(len, strlen(t));

	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, all, strlen(all), &s, &n), MGW_OK);
	ck_bytes(s, n, "1b141b281b291b2f1b3c1b3d1b3e1b401b651b0a");
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, s, n, &u, &len), MGW_OK);
	ck_assert_str_eq(u, all);
}
END_TEST

START_TEST(gsm7_basic)
{
	const char *t = "Hello @ world";
	const char *latin = "£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r";
	struct sms_parts *ps;
	uint8_t *s;
	size_t n, len;
	char *u, osmo[64];

	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, t, strlen(t), &s, &n), MGW_OK);
	ck_bytes(s, n, "48656c6c6f200020776f726c64");
	ck_assert_uint_eq(s[6], 0x00); /* '@' is septet 0 */
	ck_assert_int_eq(sms_split(ctx, t, strlen(t), false, 0, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(ps->part[0].data_coding, SMS_DCS_GSM7);
	ck_assert_uint_eq(ps->part[0].esm_class, 0);
	ck_assert_uint_eq(ps->part[0].udl, 13);
	ck_assert_uint_eq(ps->part[0].text_units, 13);
	ck_bytes(ps->part[0].ud, ps->part[0].sm_length, "c8329bfd060140f7b79c4d06");
	/* libosmocore reads it back the same (plain ASCII and '@') */
	gsm_7bit_decode_n(osmo, sizeof(osmo), ps->part[0].ud, 13);
	ck_assert_str_eq(osmo, t);
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, ps->part[0].ud, ps->part[0].sm_length, 13,
					     false, NULL, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, t);

	/* every non-ASCII character of the basic table, there and back */
	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, latin, strlen(latin), &s, &n), MGW_OK);
	ck_assert_uint_eq(n, 43); /* 41 letters + LF + CR */
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, s, n, &u, &len), MGW_OK);
	ck_assert_str_eq(u, latin);
}
END_TEST

START_TEST(gsm7_decode_edges)
{
	const uint8_t unknown_esc[] = { 0x1b, 0x41, 0x1b, 0x1b, 0x62 };
	const uint8_t trailing_esc[] = { 0x61, 0x1b };
	const uint8_t bad[] = { 0x61, 0x80 };
	const uint8_t bad_ext[] = { 0x1b, 0xff };
	size_t len, blocks;
	char *u;

	/* an unknown escape gives the basic character; ESC ESC a space */
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, unknown_esc, sizeof(unknown_esc), &u, &len), MGW_OK);
	ck_assert_str_eq(u, "A b");
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, trailing_esc, 2, &u, &len), MGW_OK);
	ck_assert_str_eq(u, "a ");
	u = NULL;
	blocks = talloc_total_blocks(ctx);
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, bad, 2, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, bad_ext, 2, &u, &len), MGW_E_MALFORMED);
	ck_assert_ptr_null(u);
	ck_assert_uint_eq(talloc_total_blocks(ctx), blocks); /* nothing leaked on error */
	ck_assert_int_eq(sms_gsm7_to_utf8(ctx, NULL, 0, &u, &len), MGW_OK);
	ck_assert_str_eq(u, "");
}
END_TEST

START_TEST(utf8_refused)
{
	static const char *const bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xe0\x80\xaf",     /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate code point */
		"\xf4\x90\x80\x80", /* > U+10FFFF */
		"\xe2\x82",         /* truncated euro */
		"a\x80",            /* stray continuation */
		"\xff",
	};
	uint8_t *s = NULL;
	struct sms_parts *ps = NULL;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(sms_gsm7_from_utf8(ctx, bad[i], strlen(bad[i]), &s, &n),
				 MGW_E_MALFORMED);
		ck_assert_int_eq(sms_ucs2_from_utf8(ctx, bad[i], strlen(bad[i]), &s, &n),
				 MGW_E_MALFORMED);
		ck_assert_int_eq(sms_split(ctx, bad[i], strlen(bad[i]), false, 1, &ps),
				 MGW_E_MALFORMED);
	}
	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, "日本", strlen("日本"), &s, &n), MGW_E_UNSUPPORTED);
	ck_assert_int_eq(sms_gsm7_from_utf8(ctx, "`", 1, &s, &n), MGW_E_UNSUPPORTED);
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(ps);
	ck_assert_int_eq(talloc_total_blocks(ctx), 1); /* nothing leaked on error */
}
END_TEST

START_TEST(ucs2_roundtrip)
{
	const char *t = "A😀€";
	const uint8_t lone_hi[] = { 0xd8, 0x3d, 0x00, 0x41 };
	const uint8_t lone_hi_end[] = { 0x00, 0x41, 0xd8, 0x3d };
	const uint8_t lone_lo[] = { 0xde, 0x00 };
	const uint8_t odd[] = { 0x00, 0x41, 0x00 };
	uint8_t *s;
	size_t n, len;
	char *u;

	ck_assert_int_eq(sms_ucs2_from_utf8(ctx, t, strlen(t), &s, &n), MGW_OK);
	ck_bytes(s, n, "0041d83dde0020ac");
	ck_assert_int_eq(sms_ucs2_to_utf8(ctx, s, n, &u, &len), MGW_OK);
	ck_assert_str_eq(u, t);
	ck_assert_uint_eq(len, strlen(t));
	ck_assert_int_eq(sms_ucs2_to_utf8(ctx, lone_hi, 4, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_ucs2_to_utf8(ctx, lone_hi_end, 4, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_ucs2_to_utf8(ctx, lone_lo, 2, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_ucs2_to_utf8(ctx, odd, 3, &u, &len), MGW_E_MALFORMED);
}
END_TEST

START_TEST(split_160_161)
{
	struct sms_parts *ps;
	const char *t160 = rep('a', 160), *t161 = rep('a', 161);

	ck_assert_int_eq(sms_split(ctx, t160, 160, false, 0x2a, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(ps->part[0].esm_class, 0);
	ck_assert_uint_eq(ps->part[0].udl, 160);
	ck_assert_uint_eq(ps->part[0].sm_length, 140);

	ck_assert_int_eq(sms_split(ctx, t161, 161, false, 0x2a, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 2);
	ck_assert_uint_eq(ps->ref, 0x2a);
	ck_assert_uint_eq(ps->part[0].data_coding, SMS_DCS_GSM7);
	ck_assert_uint_eq(ps->part[0].text_units, 153);
	ck_assert_uint_eq(ps->part[0].udl, 160); /* 7 header septets (6 octets + 1 fill bit) */
	ck_assert_uint_eq(ps->part[1].text_units, 8);
	ck_assert_uint_eq(ps->part[1].udl, 15);
	ck_udh(&ps->part[0], 0x2a, 2, 1);
	ck_udh(&ps->part[1], 0x2a, 2, 2);
	/* python3 packer, 1 fill bit after the UDH */
	ck_bytes(ps->part[0].ud, ps->part[0].sm_length,
		 "0500032a0201c2e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c"
		 "0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e1"
		 "70381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3e170381c0e"
		 "87c3e170381c0e87c3e170381c0e87c3e170381c0e87c3");
	ck_bytes(ps->part[1].ud, ps->part[1].sm_length, "0500032a0202c2e170381c0e8701");
}
END_TEST

/* one septet per octet for SMSCs that want it: the UDH as is, the text unpacked */
START_TEST(part_unpacked)
{
	struct sms_parts *ps;
	char *t = talloc_size(ctx, 201);
	uint8_t out[255];
	size_t i, n;

	for (i = 0; i < 200; i++)
		t[i] = "abc[]xyz"[i % 8];
	t[200] = '\0';
	/* 200 chars, 50 of them two septets: 250 septets -> 2 parts */
	ck_assert_int_eq(sms_split(ctx, t, 200, false, 9, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 2);
	n = sms_part_unpacked(&ps->part[0], out, sizeof(out));
	ck_assert_uint_eq(n, 6 + ps->part[0].text_units);
	ck_assert_mem_eq(out, ps->part[0].ud, 6);
	ck_assert_uint_eq(out[6], 'a');
	ck_assert_uint_eq(out[9], 0x1b); /* '[' is ESC 0x3c */
	ck_assert_uint_eq(out[10], 0x3c);
	ck_assert_uint_eq(out[11], 0x1b); /* ']' is ESC 0x3e */
	ck_assert_uint_eq(out[12], 0x3e);
	for (i = 6; i < n; i++)
		ck_assert_uint_lt(out[i], 0x80);
	/* joined, the unpacked parts decode to the text again */
	{
		char *u, joined[256] = "";
		size_t len;

		for (i = 0; i < ps->n; i++) {
			n = sms_part_unpacked(&ps->part[i], out, sizeof(out));
			ck_assert_uint_gt(n, 6);
			ck_assert_int_eq(sms_gsm7_to_utf8(ctx, out + 6, n - 6, &u, &len), MGW_OK);
			strncat(joined, u, sizeof(joined) - strlen(joined) - 1);
		}
		ck_assert_str_eq(joined, t);
	}
	/* a single part without UDH; too small a buffer; not GSM 7-bit */
	ck_assert_int_eq(sms_split(ctx, "hello", 5, false, 9, &ps), MGW_OK);
	ck_assert_uint_eq(sms_part_unpacked(&ps->part[0], out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "hello", 5);
	ck_assert_uint_eq(sms_part_unpacked(&ps->part[0], out, 4), 0);
	ck_assert_int_eq(sms_split(ctx, "\xd0\x96", 2, false, 9, &ps), MGW_OK);
	ck_assert_uint_eq(ps->part[0].data_coding, SMS_DCS_UCS2);
	ck_assert_uint_eq(sms_part_unpacked(&ps->part[0], out, sizeof(out)), 0);
}
END_TEST

START_TEST(split_400)
{
	struct sms_parts *ps;
	char *t = talloc_size(ctx, 401), joined[401] = "", osmo[200], *u;
	size_t i, len;

	for (i = 0; i < 400; i++)
		t[i] = "The quick brown fox jumps over 13 lazy dogs. "[i % 45];
	t[400] = '\0';
	ck_assert_int_eq(sms_split(ctx, t, 400, false, 7, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 3);
	for (i = 0; i < 3; i++) {
		const struct sms_part *p = &ps->part[i];

		ck_assert_uint_eq(p->data_coding, SMS_DCS_GSM7);
		ck_udh(p, 7, 3, (uint8_t)(i + 1));
		ck_assert_uint_eq(p->text_units, i < 2 ? 153 : 94);
		ck_assert_uint_eq(p->udl, 7 + p->text_units);
		ck_assert_uint_eq(p->sm_length, 6 + (1 + 7 * p->text_units + 7) / 8);
		/* libosmocore's own decoder skips the UDH and its fill bit */
		gsm_7bit_decode_n_hdr(osmo, sizeof(osmo), p->ud, (uint8_t)p->udl, 1);
		ck_assert_uint_eq(strlen(osmo), p->text_units);
		strncat(joined, osmo, sizeof(joined) - strlen(joined) - 1);
		/* and ours */
		ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, p->ud, p->sm_length, p->udl, true, NULL,
						     &u, &len),
				 MGW_OK);
		ck_assert_str_eq(u, osmo);
	}
	ck_assert_str_eq(joined, t);
}
END_TEST

START_TEST(split_escape_at_boundary)
{
	struct sms_parts *ps;
	char *t = talloc_asprintf(ctx, "%s€%s", rep('a', 152), rep('b', 20));
	char *u;
	size_t len;

	/* septet 153 (index 152) is the ESC of the euro: it moves to part 2 with its code */
	ck_assert_int_eq(sms_split(ctx, t, strlen(t), false, 9, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 2);
	ck_assert_uint_eq(ps->part[0].text_units, 152);
	ck_assert_uint_eq(ps->part[0].udl, 159);
	ck_assert_uint_eq(ps->part[1].text_units, 22);
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, ps->part[0].ud, ps->part[0].sm_length,
					     ps->part[0].udl, true, NULL, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, rep('a', 152));
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, ps->part[1].ud, ps->part[1].sm_length,
					     ps->part[1].udl, true, NULL, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, talloc_asprintf(ctx, "€%s", rep('b', 20)));

	/* an euro that ends exactly at septet 153 stays */
	t = talloc_asprintf(ctx, "%s€%s", rep('a', 151), rep('b', 20));
	ck_assert_int_eq(sms_split(ctx, t, strlen(t), false, 9, &ps), MGW_OK);
	ck_assert_uint_eq(ps->part[0].text_units, 153);
	ck_assert_uint_eq(ps->part[1].text_units, 20);
}
END_TEST

START_TEST(split_ucs2_surrogate_at_boundary)
{
	struct sms_parts *ps;
	char *t = talloc_strdup(ctx, ""), *u, *joined = talloc_strdup(ctx, "");
	size_t i, len;

	/* 66 Cyrillic letters, an emoji (units 67-68), 82 more: 150 UCS-2 units */
	for (i = 0; i < 66; i++)
		t = talloc_strdup_append(t, "ж");
	t = talloc_strdup_append(t, "😀");
	for (i = 0; i < 82; i++)
		t = talloc_strdup_append(t, "я");
	ck_assert_int_eq(sms_split(ctx, t, strlen(t), false, 0xff, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 3);
	ck_assert_uint_eq(ps->part[0].text_units, 66); /* the pair does not fit: moved */
	ck_assert_uint_eq(ps->part[1].text_units, 67);
	ck_assert_uint_eq(ps->part[2].text_units, 17);
	for (i = 0; i < 3; i++) {
		const struct sms_part *p = &ps->part[i];

		ck_assert_uint_eq(p->data_coding, SMS_DCS_UCS2);
		ck_udh(p, 0xff, 3, (uint8_t)(i + 1));
		ck_assert_uint_eq(p->sm_length, 6 + 2 * p->text_units);
		ck_assert_uint_eq(p->udl, p->sm_length);
		/* each part decodes on its own: no lone surrogate */
		ck_assert_int_eq(sms_ucs2_to_utf8(ctx, p->ud + 6, p->sm_length - 6, &u, &len),
				 MGW_OK);
		joined = talloc_strdup_append(joined, u);
	}
	ck_assert_uint_eq(ps->part[1].ud[6], 0xd8);
	ck_assert_uint_eq(ps->part[1].ud[7], 0x3d);
	ck_assert_str_eq(joined, t);

	/* one unit: one part, no UDH */
	ck_assert_int_eq(sms_split(ctx, "ж", strlen("ж"), false, 0, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(ps->part[0].data_coding, SMS_DCS_UCS2);
	ck_bytes(ps->part[0].ud, ps->part[0].sm_length, "0436");
}
END_TEST

START_TEST(split_binary)
{
	struct sms_parts *ps;
	uint8_t bin[300];
	size_t i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(sms_split(ctx, (const char *)bin, 300, true, 3, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 3);
	for (i = 0; i < 3; i++) {
		const struct sms_part *p = &ps->part[i];

		ck_assert_uint_eq(p->data_coding, SMS_DCS_8BIT);
		ck_udh(p, 3, 3, (uint8_t)(i + 1));
		ck_assert_uint_eq(p->text_units, i < 2 ? 134 : 32);
		ck_assert_uint_eq(p->sm_length, 6 + p->text_units);
		ck_assert_mem_eq(p->ud + 6, bin + 134 * i, p->text_units);
	}
	ck_assert_int_eq(sms_split(ctx, (const char *)bin, 140, true, 3, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(ps->part[0].esm_class, 0);
	ck_assert_mem_eq(ps->part[0].ud, bin, 140);
}
END_TEST

START_TEST(split_limits)
{
	struct sms_parts *ps = NULL;

	ck_assert_int_eq(sms_split(ctx, rep('x', 255 * 153), 255 * 153, false, 0, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 255);
	ck_udh(&ps->part[254], 0, 255, 255);
	ps = NULL;
	ck_assert_int_eq(sms_split(ctx, rep('x', 255 * 153 + 1), 255 * 153 + 1, false, 0, &ps),
			 MGW_E_TOO_BIG);
	ck_assert_int_eq(sms_split(ctx, rep('x', 255 * 134 + 1), 255 * 134 + 1, true, 0, &ps),
			 MGW_E_TOO_BIG);
	ck_assert_ptr_null(ps);
	ck_assert_int_eq(sms_split(ctx, "", 0, false, 0, &ps), MGW_OK);
	ck_assert_uint_eq(ps->n, 1);
	ck_assert_uint_eq(ps->part[0].sm_length, 0);
	ck_assert_int_eq(sms_split(ctx, "x", 1, false, 0, NULL), MGW_E_INVAL);
}
END_TEST

START_TEST(udh_all_ieis)
{
	struct sms_udh h;
	uint8_t b[64];
	size_t n;

	n = unhex("050003aa0302", b, sizeof(b));
	ck_assert_int_eq(sms_udh_parse(b, n, &h, NULL), MGW_OK);
	ck_assert(h.concat && !h.concat16 && !h.ports);
	ck_assert_uint_eq(h.len, 6);
	ck_assert_uint_eq(h.ref, 0xaa);
	ck_assert_uint_eq(h.total, 3);
	ck_assert_uint_eq(h.seq, 2);

	/* 16-bit ref, an unknown IEI (0x24, skipped), 8-bit ports, then text */
	n = unhex("0d0804beef0504240101040240f14142", b, sizeof(b));
	ck_assert_int_eq(sms_udh_parse(b, n, &h, NULL), MGW_OK);
	ck_assert_uint_eq(h.len, 14);
	ck_assert(h.concat && h.concat16);
	ck_assert_uint_eq(h.ref, 0xbeef);
	ck_assert_uint_eq(h.total, 5);
	ck_assert_uint_eq(h.seq, 4);
	ck_assert(h.ports && !h.ports16);
	ck_assert_uint_eq(h.dst_port, 0x40);
	ck_assert_uint_eq(h.src_port, 0xf1);

	n = unhex("0605043e803e94", b, sizeof(b));
	ck_assert_int_eq(sms_udh_parse(b, n, &h, NULL), MGW_OK);
	ck_assert(h.ports && h.ports16 && !h.concat);
	ck_assert_uint_eq(h.dst_port, 16000);
	ck_assert_uint_eq(h.src_port, 16020);

	/* an empty UDH; a one-part concatenation (1 of 1) */
	ck_assert_int_eq(sms_udh_parse((const uint8_t *)"\0", 1, &h, NULL), MGW_OK);
	ck_assert_uint_eq(h.len, 1);
	ck_assert(!h.concat);
	n = unhex("050003070101", b, sizeof(b));
	ck_assert_int_eq(sms_udh_parse(b, n, &h, NULL), MGW_OK);
	ck_assert(h.concat && h.total == 1 && h.seq == 1);
}
END_TEST

START_TEST(udh_malformed)
{
	static const char *const bad[] = {
		"",               /* no UDHL */
		"05000301",       /* UDHL beyond the data */
		"060004010203",   /* ... by one */
		"03000301",       /* IE length beyond the UDH */
		"0100",           /* IEI without its length */
		"0400020102",     /* 8-bit concat of length 2 */
		"050803010203",   /* 16-bit concat of length 3 */
		"0304010102",     /* 8-bit ports of length 1 */
		"050503010203",   /* 16-bit ports of length 3 */
		"0324050102",     /* unknown IE running past the UDH */
	};
	/* concatenation IEs naming a part that cannot exist, with the cause given */
	static const struct {
		const char *hex, *why;
	} concat[] = {
		{ "050003010001", "concatenation IE with total 0" },
		{ "050003010000", "concatenation IE with total 0" },
		{ "050003010200", "concatenation IE with seq 0" },
		{ "050003010203", "concatenation IE with seq above total" },
		{ "0608040102ff00", "concatenation IE with seq 0" },
		{ "060804010200ff", "concatenation IE with total 0" },
		{ "06080401020305", "concatenation IE with seq above total" },
		/* a valid IE first does not save a bad one after it */
		{ "0b0003010201080401020001", "concatenation IE with total 0" },
	};
	const char *why;
	struct sms_udh h = { .len = 99 };
	uint8_t b[64];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = unhex(bad[i], b, sizeof(b));
		ck_assert_msg(sms_udh_parse(b, n, &h, NULL) == MGW_E_MALFORMED, "case %zu", i);
	}
	for (i = 0; i < sizeof(concat) / sizeof(concat[0]); i++) {
		n = unhex(concat[i].hex, b, sizeof(b));
		why = NULL;
		ck_assert_msg(sms_udh_parse(b, n, &h, &why) == MGW_E_MALFORMED, "concat %zu", i);
		ck_assert_msg(why && !strcmp(why, concat[i].why), "concat %zu: %s", i,
			      why ? why : "(none)");
	}
	ck_assert_uint_eq(h.len, 99); /* untouched on error */
	ck_assert_int_eq(sms_udh_parse(NULL, 0, &h, NULL), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_udh_parse(b, 1, NULL, NULL), MGW_E_INVAL);
}
END_TEST

START_TEST(mo_gsm7_with_udh)
{
	struct sms_udh h;
	uint8_t b[64];
	size_t n, len;
	char *u, osmo[32];

	/* part 1/2 of ref 0x7f: "Hi {x}" behind UDH 05 00 03 7f 02 01 + 1 fill bit (python3) */
	n = unhex("0500037f02019069d00685dfa400", b, sizeof(b));
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, 15, true, &h, &u, &len), MGW_OK);
	ck_assert_str_eq(u, "Hi {x}");
	ck_assert(h.concat && !h.concat16);
	ck_assert_uint_eq(h.ref, 0x7f);
	ck_assert_uint_eq(h.total, 2);
	ck_assert_uint_eq(h.seq, 1);
	/* SMPP gives only octets: 14 octets hold 16 septets, the 16th is padding */
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, SMS_UDL_UNKNOWN, true, &h, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, "Hi {x}");

	/* 16-bit ref 0x1234 (2/3) + 16-bit ports 16020 -> 16000, 13 octets + 1 fill bit, "OK" */
	n = unhex("0c08041234030205043e943e809e4b", b, sizeof(b));
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, 17, true, &h, &u, &len), MGW_OK);
	ck_assert_str_eq(u, "OK");
	ck_assert(h.concat16 && h.ports16);
	ck_assert_uint_eq(h.ref, 0x1234);
	ck_assert_uint_eq(h.seq, 2);
	ck_assert_uint_eq(h.dst_port, 16020);
	ck_assert_uint_eq(h.src_port, 16000);
	gsm_7bit_decode_n_hdr(osmo, sizeof(osmo), b, 17, 1);
	ck_assert_str_eq(osmo, "OK");
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, SMS_UDL_UNKNOWN, true, NULL, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, "OK");

	/* no UDH: 7 septets in 7 octets; the spare 7 bits are not an '@' */
	n = unhex("61f1985c369f01", b, sizeof(b));
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, SMS_UDL_UNKNOWN, false, &h, &u, &len),
			 MGW_OK);
	ck_assert_str_eq(u, "abcdefg");
	ck_assert(!h.concat);

	/* refused: UDL beyond the octets, UDL inside the UDH, a broken UDH */
	n = unhex("0500037f02019069d00685dfa400", b, sizeof(b));
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, 17, true, &h, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, n, 6, true, &h, &u, &len), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, 4, SMS_UDL_UNKNOWN, true, &h, &u, &len),
			 MGW_E_MALFORMED);
	ck_assert_int_eq(sms_gsm7_ud_to_utf8(ctx, b, 0, SMS_UDL_UNKNOWN, true, &h, &u, &len),
			 MGW_E_MALFORMED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sms_text");
	TCase *tc = tcase_create("text");
	SRunner *sr;
	int failed;

	mgw_log_set_all(MGW_LOGL_ERROR);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gsm7_extension_roundtrip);
	tcase_add_test(tc, gsm7_basic);
	tcase_add_test(tc, gsm7_decode_edges);
	tcase_add_test(tc, utf8_refused);
	tcase_add_test(tc, ucs2_roundtrip);
	tcase_add_test(tc, split_160_161);
	tcase_add_test(tc, split_400);
	tcase_add_test(tc, part_unpacked);
	tcase_add_test(tc, split_escape_at_boundary);
	tcase_add_test(tc, split_ucs2_surrogate_at_boundary);
	tcase_add_test(tc, split_binary);
	tcase_add_test(tc, split_limits);
	tcase_add_test(tc, udh_all_ieis);
	tcase_add_test(tc, udh_malformed);
	tcase_add_test(tc, mo_gsm7_with_udh);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
