/* SMS text codec: GSM 7-bit and UCS-2 <-> UTF-8, MT splitting, MO UDH (sms_text.h). */
#include <stdint.h>
#include <string.h>

#include <osmocom/gsm/gsm_utils.h>
#include <talloc.h>

#include <mgw/err.h>

#include "sms_text.h"

#define ESC 0x1b
#define NONE 0xffff

/* TS 23.038 6.2.1: the default alphabet, septet -> Unicode (0x1b is the escape) */
static const uint16_t gsm_basic[128] = {
	0x0040, 0x00a3, 0x0024, 0x00a5, 0x00e8, 0x00e9, 0x00f9, 0x00ec, /* 0x00 */
	0x00f2, 0x00c7, 0x000a, 0x00d8, 0x00f8, 0x000d, 0x00c5, 0x00e5,
	0x0394, 0x005f, 0x03a6, 0x0393, 0x039b, 0x03a9, 0x03a0, 0x03a8, /* 0x10 */
	0x03a3, 0x0398, 0x039e, 0x0020, 0x00c6, 0x00e6, 0x00df, 0x00c9,
	0x0020, 0x0021, 0x0022, 0x0023, 0x00a4, 0x0025, 0x0026, 0x0027, /* 0x20 */
	0x0028, 0x0029, 0x002a, 0x002b, 0x002c, 0x002d, 0x002e, 0x002f,
	0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, /* 0x30 */
	0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f,
	0x00a1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, /* 0x40 */
	0x0048, 0x0049, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f,
	0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, /* 0x50 */
	0x0058, 0x0059, 0x005a, 0x00c4, 0x00d6, 0x00d1, 0x00dc, 0x00a7,
	0x00bf, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, /* 0x60 */
	0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f,
	0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, /* 0x70 */
	0x0078, 0x0079, 0x007a, 0x00e4, 0x00f6, 0x00f1, 0x00fc, 0x00e0,
};

/* TS 23.038 6.2.1.1: the extension table (after ESC) */
static const struct {
	uint8_t code;
	uint16_t uc;
} gsm_ext[] = {
	{ 0x0a, 0x000c }, { 0x14, 0x005e }, { 0x28, 0x007b }, { 0x29, 0x007d }, { 0x2f, 0x005c },
	{ 0x3c, 0x005b }, { 0x3d, 0x007e }, { 0x3e, 0x005d }, { 0x40, 0x007c }, { 0x65, 0x20ac },
};

#define N_EXT (sizeof(gsm_ext) / sizeof(gsm_ext[0]))

/* Unicode -> one septet (basic) or ESC + septet (*ext set); false if there is none */
static bool gsm_of(uint32_t cp, uint8_t *code, bool *ext)
{
	size_t i;

	for (i = 0; i < 128; i++) {
		if (i != ESC && gsm_basic[i] == cp) {
			*code = (uint8_t)i;
			*ext = false;
			return true;
		}
	}
	for (i = 0; i < N_EXT; i++) {
		if (gsm_ext[i].uc == cp) {
			*code = gsm_ext[i].code;
			*ext = true;
			return true;
		}
	}
	return false;
}

/* the Unicode of ESC + code, or NONE */
static uint16_t gsm_ext_uc(uint8_t code)
{
	size_t i;

	for (i = 0; i < N_EXT; i++)
		if (gsm_ext[i].code == code)
			return gsm_ext[i].uc;
	return NONE;
}

/* Read one strict UTF-8 code point at s[*i]; false if malformed (overlong, surrogate,
 * > U+10FFFF, truncated, stray continuation byte). */
static bool utf8_next(const uint8_t *s, size_t len, size_t *i, uint32_t *cp)
{
	uint8_t c = s[*i];
	size_t need, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return true;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, v = c & 0x07, min = 0x10000;
	} else {
		return false;
	}
	if (len - *i <= need)
		return false;
	for (k = 1; k <= need; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return false;
		v = (v << 6) | (s[*i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return false;
	*i += need + 1;
	*cp = v;
	return true;
}

/* Append cp as UTF-8 to d (room for 4 bytes is the caller's); returns bytes written */
static size_t utf8_put(char *d, uint32_t cp)
{
	uint8_t *p = (uint8_t *)d;

	if (cp < 0x80) {
		p[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (uint8_t)(0xc0 | (cp >> 6));
		p[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (uint8_t)(0xe0 | (cp >> 12));
		p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (uint8_t)(0xf0 | (cp >> 18));
	p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

int sms_gsm7_from_utf8(void *ctx, const char *utf8, size_t len, uint8_t **septets, size_t *n)
{
	const uint8_t *s = (const uint8_t *)utf8;
	uint8_t *out = NULL, code;
	size_t i = 0, o = 0;
	uint32_t cp;
	bool ext;
	int rc;

	if ((!utf8 && len) || !septets || !n)
		return MGW_E_INVAL;
	if (len > SIZE_MAX / 2)
		return MGW_E_TOO_BIG;
	/* at most two septets per input byte (ESC + code for a 1-byte character) */
	if (!(out = talloc_size(ctx, len * 2 + 1)))
		return MGW_E_NOMEM;
	while (i < len) {
		if (!utf8_next(s, len, &i, &cp)) {
			rc = MGW_E_MALFORMED;
			goto out;
		}
		if (!gsm_of(cp, &code, &ext)) {
			rc = MGW_E_UNSUPPORTED;
			goto out;
		}
		if (ext)
			out[o++] = ESC;
		out[o++] = code;
	}
	*septets = out;
	*n = o;
	out = NULL;
	rc = MGW_OK;
out:
	talloc_free(out);
	return rc;
}

int sms_gsm7_to_utf8(void *ctx, const uint8_t *septets, size_t n, char **utf8, size_t *len)
{
	char *out = NULL;
	size_t i, o = 0;
	uint32_t cp;
	int rc;

	if ((!septets && n) || !utf8 || !len)
		return MGW_E_INVAL;
	if (n > (SIZE_MAX - 1) / 3)
		return MGW_E_TOO_BIG;
	/* a basic septet is at most 2 UTF-8 bytes (Greek), ESC + code at most 3 (euro) */
	if (!(out = talloc_size(ctx, n * 3 + 1)))
		return MGW_E_NOMEM;
	for (i = 0; i < n; i++) {
		if (septets[i] > 0x7f) {
			rc = MGW_E_MALFORMED;
			goto out;
		}
		if (septets[i] != ESC) {
			cp = gsm_basic[septets[i]];
		} else if (i + 1 == n) {
			cp = ' '; /* ESC with nothing after it */
		} else {
			i++;
			if (septets[i] > 0x7f) {
				rc = MGW_E_MALFORMED;
				goto out;
			}
			cp = gsm_ext_uc(septets[i]);
			/* unknown escape: the basic character (ESC ESC: a space) */
			if (cp == NONE)
				cp = gsm_basic[septets[i]];
		}
		o += utf8_put(out + o, cp);
	}
	out[o] = '\0';
	*utf8 = out;
	*len = o;
	out = NULL;
	rc = MGW_OK;
out:
	talloc_free(out);
	return rc;
}

int sms_ucs2_from_utf8(void *ctx, const char *utf8, size_t len, uint8_t **ucs2, size_t *n)
{
	const uint8_t *s = (const uint8_t *)utf8;
	uint8_t *out = NULL;
	size_t i = 0, o = 0;
	uint32_t cp, hi, lo;
	int rc;

	if ((!utf8 && len) || !ucs2 || !n)
		return MGW_E_INVAL;
	if (len > SIZE_MAX / 2)
		return MGW_E_TOO_BIG;
	/* 1 byte -> 2, 2 -> 2, 3 -> 2, 4 -> 4: at most twice the input */
	if (!(out = talloc_size(ctx, len * 2 + 1)))
		return MGW_E_NOMEM;
	while (i < len) {
		if (!utf8_next(s, len, &i, &cp)) {
			rc = MGW_E_MALFORMED;
			goto out;
		}
		if (cp < 0x10000) {
			out[o++] = (uint8_t)(cp >> 8);
			out[o++] = (uint8_t)cp;
		} else {
			hi = 0xd800 + ((cp - 0x10000) >> 10);
			lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			out[o++] = (uint8_t)(hi >> 8);
			out[o++] = (uint8_t)hi;
			out[o++] = (uint8_t)(lo >> 8);
			out[o++] = (uint8_t)lo;
		}
	}
	*ucs2 = out;
	*n = o;
	out = NULL;
	rc = MGW_OK;
out:
	talloc_free(out);
	return rc;
}

int sms_ucs2_to_utf8(void *ctx, const uint8_t *ucs2, size_t n, char **utf8, size_t *len)
{
	char *out = NULL;
	size_t i, o = 0;
	uint32_t u, lo;
	int rc;

	if ((!ucs2 && n) || !utf8 || !len)
		return MGW_E_INVAL;
	if (n % 2)
		return MGW_E_MALFORMED;
	if (n > (SIZE_MAX - 1) / 2)
		return MGW_E_TOO_BIG;
	/* a unit is at most 3 UTF-8 bytes, a pair (4 bytes in) exactly 4 */
	if (!(out = talloc_size(ctx, n / 2 * 3 + 1)))
		return MGW_E_NOMEM;
	for (i = 0; i < n; i += 2) {
		u = (uint32_t)ucs2[i] << 8 | ucs2[i + 1];
		if (u >= 0xdc00 && u <= 0xdfff) {
			rc = MGW_E_MALFORMED; /* a low surrogate first */
			goto out;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 3 >= n) {
				rc = MGW_E_MALFORMED;
				goto out;
			}
			lo = (uint32_t)ucs2[i + 2] << 8 | ucs2[i + 3];
			if (lo < 0xdc00 || lo > 0xdfff) {
				rc = MGW_E_MALFORMED;
				goto out;
			}
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		}
		o += utf8_put(out + o, u);
	}
	out[o] = '\0';
	*utf8 = out;
	*len = o;
	out = NULL;
	rc = MGW_OK;
out:
	talloc_free(out);
	return rc;
}

/* Write the 8-bit-reference concatenation UDH (6 octets) at d */
static void put_udh(uint8_t *d, uint8_t ref, size_t total, size_t seq)
{
	d[0] = 5;
	d[1] = 0x00;
	d[2] = 3;
	d[3] = ref;
	d[4] = (uint8_t)total;
	d[5] = (uint8_t)seq;
}

/* Where the part that starts at unit `from` ends (exclusive), at most `max` units on, in
 * units of `unit` bytes; the cut moves back one unit when it would split an ESC + code
 * (7-bit) or a surrogate pair (UCS-2). */
static size_t cut(const uint8_t *u, size_t n, size_t from, size_t max, enum sms_dcs dcs)
{
	size_t end = from + max, i;
	uint16_t last;

	if (end >= n)
		return n;
	if (dcs == SMS_DCS_GSM7) {
		/* does unit end-1 start an escape? count the ESCs that pair from `from` */
		for (i = from; i < end; i++) {
			if (u[i] == ESC && i + 1 == end)
				return end - 1;
			if (u[i] == ESC)
				i++;
		}
	} else if (dcs == SMS_DCS_UCS2) {
		last = (uint16_t)(u[2 * (end - 1)] << 8 | u[2 * (end - 1) + 1]);
		if (last >= 0xd800 && last <= 0xdbff)
			return end - 1;
	}
	return end;
}

/* Fill one part with units [from, to) of u; udh when the message is concatenated */
static void fill_part(struct sms_part *p, enum sms_dcs dcs, const uint8_t *u, size_t from,
		      size_t to, bool udh, uint8_t ref, size_t total, size_t seq)
{
	size_t hdr = udh ? 6 : 0, k = to - from;

	memset(p, 0, sizeof(*p));
	p->data_coding = dcs;
	p->esm_class = udh ? SMS_ESM_UDHI : 0;
	p->text_units = k;
	if (udh)
		put_udh(p->ud, ref, total, seq);
	if (dcs == SMS_DCS_GSM7) {
		uint8_t packed[SMS_UD_MAX + 8];
		int o = 0;

		/* 6 UDH octets = 48 bits: 1 fill bit reaches the 7th septet boundary. Packed
		 * into a scratch buffer: cut() keeps k <= 153 (160 alone), so o fits ud. */
		if (k)
			o = gsm_septet_pack(packed, u + from, k, udh ? 1 : 0);
		if (o < 0 || hdr + (size_t)o > SMS_UD_MAX)
			o = 0; /* cannot happen for k within the limits */
		memcpy(p->ud + hdr, packed, (size_t)o);
		p->sm_length = hdr + (size_t)o;
		p->udl = (udh ? 7 : 0) + k;
	} else {
		size_t w = dcs == SMS_DCS_UCS2 ? 2 : 1;

		memcpy(p->ud + hdr, u + from * w, k * w);
		p->sm_length = hdr + k * w;
		p->udl = p->sm_length;
	}
}

int sms_split(void *ctx, const char *data, size_t len, bool binary, uint8_t ref,
	      struct sms_parts **out)
{
	void *tmp = talloc_new(ctx);
	struct sms_parts *ps = NULL;
	uint8_t *u = NULL;
	size_t n = 0, single, multi, total, from, seq;
	enum sms_dcs dcs;
	int rc;

	if (!tmp)
		return MGW_E_NOMEM;
	if ((!data && len) || !out) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (binary) {
		dcs = SMS_DCS_8BIT;
		u = (uint8_t *)(uintptr_t)data;
		n = len, single = 140, multi = 134;
	} else if ((rc = sms_gsm7_from_utf8(tmp, data, len, &u, &n)) == MGW_OK) {
		dcs = SMS_DCS_GSM7;
		single = 160, multi = 153;
	} else if (rc == MGW_E_UNSUPPORTED) {
		if ((rc = sms_ucs2_from_utf8(tmp, data, len, &u, &n)) != MGW_OK)
			goto out;
		dcs = SMS_DCS_UCS2;
		n /= 2, single = 70, multi = 67;
	} else {
		goto out;
	}
	if (!(ps = talloc_zero(tmp, struct sms_parts))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	ps->ref = ref;
	if (n <= single) {
		if (!(ps->part = talloc_array(ps, struct sms_part, 1))) {
			rc = MGW_E_NOMEM;
			goto out;
		}
		fill_part(&ps->part[0], dcs, u, 0, n, false, 0, 1, 1);
		ps->n = 1;
		goto done;
	}
	/* count the parts first: the UDH of each names the total */
	for (total = 0, from = 0; from < n; total++) {
		if (total == SMS_PARTS_MAX) {
			rc = MGW_E_TOO_BIG;
			goto out;
		}
		from = cut(u, n, from, multi, dcs);
	}
	if (!(ps->part = talloc_array(ps, struct sms_part, total))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	for (seq = 0, from = 0; seq < total; seq++) {
		size_t to = cut(u, n, from, multi, dcs);

		fill_part(&ps->part[seq], dcs, u, from, to, true, ref, total, seq + 1);
		from = to;
	}
	ps->n = total;
done:
	*out = talloc_steal(ctx, ps);
	rc = MGW_OK;
out:
	talloc_free(tmp);
	return rc;
}

/* MGW_E_MALFORMED with its cause in *why (why may be NULL) */
static int udh_bad(const char **why, const char *cause)
{
	if (why)
		*why = cause;
	return MGW_E_MALFORMED;
}

/* a concatenation IE names a part that can exist: 1 <= seq <= total (total 0 would be a
 * part that never completes) */
static int concat_check(uint8_t total, uint8_t seq, const char **why)
{
	if (total == 0)
		return udh_bad(why, "concatenation IE with total 0");
	if (seq == 0)
		return udh_bad(why, "concatenation IE with seq 0");
	if (seq > total)
		return udh_bad(why, "concatenation IE with seq above total");
	return MGW_OK;
}

int sms_udh_parse(const uint8_t *ud, size_t len, struct sms_udh *out, const char **why)
{
	struct sms_udh h;
	size_t udhl, i, l;
	const uint8_t *v;
	int rc;

	if (!out || (!ud && len))
		return MGW_E_INVAL;
	memset(&h, 0, sizeof(h));
	if (len < 1)
		return udh_bad(why, "no UDH length octet");
	udhl = ud[0];
	if (udhl + 1 > len)
		return udh_bad(why, "UDH longer than the user data");
	h.len = udhl + 1;
	for (i = 1; i < h.len; i += 2 + l) {
		if (i + 2 > h.len)
			return udh_bad(why, "UDH IEI without its length");
		l = ud[i + 1];
		if (i + 2 + l > h.len)
			return udh_bad(why, "UDH IE beyond the UDH");
		v = ud + i + 2;
		switch (ud[i]) {
		case 0x00: /* concatenation, 8-bit reference */
			if (l != 3)
				return udh_bad(why, "concatenation IE (8-bit) of a wrong length");
			if ((rc = concat_check(v[1], v[2], why)) != MGW_OK)
				return rc;
			h.concat = true;
			h.concat16 = false;
			h.ref = v[0], h.total = v[1], h.seq = v[2];
			break;
		case 0x08: /* concatenation, 16-bit reference */
			if (l != 4)
				return udh_bad(why, "concatenation IE (16-bit) of a wrong length");
			if ((rc = concat_check(v[2], v[3], why)) != MGW_OK)
				return rc;
			h.concat = true;
			h.concat16 = true;
			h.ref = (uint16_t)(v[0] << 8 | v[1]), h.total = v[2], h.seq = v[3];
			break;
		case 0x04: /* application ports, 8-bit */
			if (l != 2)
				return udh_bad(why, "port IE (8-bit) of a wrong length");
			h.ports = true, h.ports16 = false;
			h.dst_port = v[0], h.src_port = v[1];
			break;
		case 0x05: /* application ports, 16-bit */
			if (l != 4)
				return udh_bad(why, "port IE (16-bit) of a wrong length");
			h.ports = true, h.ports16 = true;
			h.dst_port = (uint16_t)(v[0] << 8 | v[1]);
			h.src_port = (uint16_t)(v[2] << 8 | v[3]);
			break;
		default: /* skipped */
			break;
		}
	}
	*out = h;
	return MGW_OK;
}

int sms_gsm7_ud_unpack(void *ctx, const uint8_t *ud, size_t len, size_t septets, bool udhi,
		       struct sms_udh *udh, uint8_t **out, size_t *out_n)
{
	struct sms_udh h;
	uint8_t *sep = NULL;
	size_t avail, skip = 0, i, bit;
	unsigned w;
	int rc;

	if ((!ud && len) || !out || !out_n)
		return MGW_E_INVAL;
	if (len > SIZE_MAX / 8)
		return MGW_E_TOO_BIG;
	memset(&h, 0, sizeof(h));
	if (udhi) {
		if ((rc = sms_udh_parse(ud, len, &h, NULL)) != MGW_OK)
			return rc;
		/* the text starts at the first septet boundary after the UDH (fill bits) */
		skip = (h.len * 8 + 6) / 7;
	}
	avail = len * 8 / 7;
	if (septets == SMS_UDL_UNKNOWN) {
		septets = avail;
		/* 7 spare zero bits at the end are padding, not '@' */
		if (septets > skip && (len * 8) % 7 == 0 &&
		    ((ud[len - 1] >> 1) & 0x7f) == 0)
			septets--;
	}
	if (septets > avail || septets < skip)
		return MGW_E_MALFORMED;
	if (!(sep = talloc_size(ctx, septets - skip + 1)))
		return MGW_E_NOMEM;
	for (i = skip; i < septets; i++) {
		bit = i * 7;
		w = ud[bit / 8];
		if (bit / 8 + 1 < len)
			w |= (unsigned)ud[bit / 8 + 1] << 8;
		sep[i - skip] = (uint8_t)((w >> (bit % 8)) & 0x7f);
	}
	*out = sep;
	*out_n = septets - skip;
	if (udh)
		*udh = h;
	return MGW_OK;
}

int sms_gsm7_ud_to_utf8(void *ctx, const uint8_t *ud, size_t len, size_t septets, bool udhi,
			struct sms_udh *udh, char **utf8, size_t *out_len)
{
	struct sms_udh h;
	uint8_t *sep;
	size_t n;
	int rc;

	if (!utf8 || !out_len)
		return MGW_E_INVAL;
	if ((rc = sms_gsm7_ud_unpack(ctx, ud, len, septets, udhi, &h, &sep, &n)) != MGW_OK)
		return rc;
	rc = sms_gsm7_to_utf8(ctx, sep, n, utf8, out_len);
	talloc_free(sep);
	if (rc == MGW_OK && udh)
		*udh = h;
	return rc;
}

size_t sms_part_unpacked(const struct sms_part *p, uint8_t *out, size_t cap)
{
	size_t udh = 0, hs = 0, n;

	if (!p || !out || p->data_coding != SMS_DCS_GSM7)
		return 0;
	if ((p->esm_class & SMS_ESM_UDHI) && p->sm_length) {
		udh = (size_t)p->ud[0] + 1;
		hs = (udh * 8 + 6) / 7;
	}
	if (p->udl < hs || udh > p->sm_length)
		return 0;
	n = udh + (p->udl - hs);
	if (n > cap)
		return 0;
	memcpy(out, p->ud, udh);
	for (size_t j = 0; j < p->udl - hs; j++) {
		size_t bit = (hs + j) * 7, o = bit / 8;
		unsigned v = p->ud[o];

		if (o + 1 < sizeof(p->ud))
			v |= (unsigned)p->ud[o + 1] << 8;
		out[udh + j] = (uint8_t)((v >> (bit % 8)) & 0x7f);
	}
	return n;
}
