/* msgin5g-gw: JSON codec of the TS 29.538 bodies (include/mgw/codec.h), with jansson.
 *
 * One member table drives both directions: each row names a member, the bodies that know
 * it, the bodies that require it, and its decode/encode functions. Rows are in schema
 * order (TS 29.538 UEMessageDelivery, then the DeliveryStatusReport members, then the
 * store envelope's metadata), so encoding in table order is encoding in schema order.
 *
 * Payload: on the wire `payload` is a bare JSON string. How binary content is carried in
 * it is not standardised (standards brief 7.6): the codec keeps the string's bytes exactly
 * as decoded (json_string_length(), so an escaped U+0000 survives) and emits only payloads
 * that are valid UTF-8. The store envelope (MGW_BODY_STORED) carries the payload as base64
 * so that arbitrary bytes round-trip.
 *
 * Never log or echo payload bytes: diagnostics name the member and the rule, not content.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

/* 2048 bytes of content per segment (TS 23.554 8.5.1) plus room for JWS/JWE protection
 * (two base64 expansions plus headers): 8 KiB. */
const struct mgw_codec_limits mgw_codec_default_limits = {
	.max_body = 64 * 1024,
	.max_payload = 8 * 1024,
};

/* The store writes what the gateway accepted under any configured limit: read it back
 * under the hard ceilings when the caller gives no limits. */
static const struct mgw_codec_limits stored_limits = {
	.max_body = 2 * MGW_PAYLOAD_HARD_MAX + 64 * 1024,
	.max_payload = MGW_PAYLOAD_HARD_MAX,
};

/* No TS 29.538 body nests deeper than 3; unknown members may, but not without bound. */
#define JSON_DEPTH_MAX 32
#define STORED_VERSION 1

#define B(x) (1u << (x))
#define B_UE B(MGW_BODY_UE_MESSAGE)
#define B_L3G B(MGW_BODY_L3G_MESSAGE)
#define B_N3G B(MGW_BODY_N3G_MESSAGE)
#define B_REP B(MGW_BODY_REPORT)
#define B_DEV B(MGW_BODY_DEVICE)
#define B_STO B(MGW_BODY_STORED)
#define B_WIREMSG (B_UE | B_L3G | B_N3G)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const body_names[] = {
	[MGW_BODY_UE_MESSAGE] = "UEMessageDelivery",
	[MGW_BODY_L3G_MESSAGE] = "L3gMessageDelivery",
	[MGW_BODY_N3G_MESSAGE] = "N3gMessageDelivery",
	[MGW_BODY_REPORT] = "DeliveryStatusReport",
	[MGW_BODY_DEVICE] = "DeviceMessage",
	[MGW_BODY_STORED] = "StoredMessage",
};

const char *mgw_body_name(enum mgw_body b)
{
	return (size_t)b < ARRAY_LEN(body_names) ? body_names[b] : "unknown";
}

/* ==================================================================================== */
/* small helpers                                                                        */
/* ==================================================================================== */

/* Join a JSON pointer: parent + "/" + name (member names here need no ~ escaping). */
static const char *ptr_join(char *buf, size_t n, const char *parent, const char *name)
{
	/* pointers here are far shorter than MGW_DIAG_WHERE_MAX; a longer one is cut */
	if (snprintf(buf, n, "%s/%s", parent, name) >= (int)n)
		buf[n - 1] = '\0';
	return buf;
}

static int load_error(struct mgw_diag *diag, const json_error_t *e)
{
	/* jansson's own text may quote input bytes; report position and class only */
	switch (json_error_code(e)) {
	case json_error_duplicate_key:
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "duplicate member at line %d column %d",
				    e->line, e->column);
	case json_error_stack_overflow:
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "JSON nested too deeply");
	case json_error_premature_end_of_input:
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "truncated JSON");
	case json_error_numeric_overflow:
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "number out of range at line %d column %d",
				    e->line, e->column);
	default:
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "invalid JSON at line %d column %d",
				    e->line, e->column);
	}
}

static bool depth_ok(const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > JSON_DEPTH_MAX)
		return false;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c)
			if (!depth_ok(c, depth + 1))
				return false;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if (!depth_ok(c, depth + 1))
				return false;
	}
	return true;
}

/* Escape a member name as one JSON pointer token ("~" -> "~0", "/" -> "~1"), cut to fit. */
static void ptr_token(char *buf, size_t n, const char *name)
{
	size_t j = 0;

	buf[j++] = '/';
	for (; *name && j + 3 < n; name++) {
		if (*name == '~' || *name == '/') {
			buf[j++] = '~';
			buf[j++] = *name == '~' ? '0' : '1';
		} else {
			buf[j++] = *name;
		}
	}
	if (*name) { /* cut: do not leave half a UTF-8 character */
		while (j > 1 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80)
			j--;
		if (j > 1 && (unsigned char)buf[j - 1] >= 0xC0)
			j--;
	}
	buf[j] = '\0';
}

/* The root is depth 1; a value nested too deeply is named by its top-level member. */
static int check_depth(const json_t *root, struct mgw_diag *diag)
{
	char p[MGW_DIAG_WHERE_MAX];
	const char *k;
	json_t *c;

	json_object_foreach((json_t *)root, k, c) {
		if (!depth_ok(c, 2)) {
			ptr_token(p, sizeof(p), k);
			return mgw_diag_set(diag, MGW_E_MALFORMED, p, "JSON nested deeper than %d",
					    JSON_DEPTH_MAX);
		}
	}
	return MGW_OK;
}

/* Parse buf as one JSON object within max_body bytes. */
static int load_object(const char *buf, size_t len, size_t max_body, json_t **out,
		       struct mgw_diag *diag)
{
	json_error_t err;
	json_t *root = NULL;
	int rc;

	if (!buf && len) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "no buffer");
		goto out;
	}
	if (len > max_body) {
		rc = mgw_diag_set(diag, MGW_E_TOO_BIG, "", "body of %zu bytes exceeds %zu", len,
				  max_body);
		goto out;
	}
	if (!(root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
				&err))) {
		rc = load_error(diag, &err);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "body is not a JSON object");
		goto out;
	}
	if ((rc = check_depth(root, diag)) != MGW_OK)
		goto out;
	*out = root;
	root = NULL;
	rc = MGW_OK;
out:
	json_decref(root);
	return rc;
}

/* A string member: exact type, no embedded NUL, at most max bytes, non-empty if asked. */
static int get_str(const json_t *v, const char *ptr, size_t max, bool nonempty,
		   struct mgw_diag *diag, const char **s, size_t *n)
{
	size_t len;

	if (!json_is_string(v))
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must be a string");
	len = json_string_length(v);
	if (strlen(json_string_value(v)) != len)
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must not contain U+0000");
	if (len > max)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, ptr, "longer than %zu bytes", max);
	if (nonempty && len == 0)
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must not be empty");
	*s = json_string_value(v);
	if (n)
		*n = len;
	return MGW_OK;
}

/* Copy a string member into a fixed buffer dst[cap]. */
static int get_str_into(const json_t *v, const char *ptr, char *dst, size_t cap, bool nonempty,
			struct mgw_diag *diag)
{
	const char *s;
	size_t n;
	int rc;

	if ((rc = get_str(v, ptr, cap - 1, nonempty, diag, &s, &n)) != MGW_OK)
		return rc;
	memcpy(dst, s, n + 1);
	return MGW_OK;
}

static int get_bool(const json_t *v, const char *ptr, struct mgw_diag *diag, bool *b)
{
	if (!json_is_boolean(v))
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must be a boolean");
	*b = json_is_true(v);
	return MGW_OK;
}

/* An integer member: a JSON integer (not a real such as 3.0) within [min, max]. */
static int get_int(const json_t *v, const char *ptr, int64_t min, int64_t max,
		   struct mgw_diag *diag, int64_t *i)
{
	json_int_t x;

	if (!json_is_integer(v))
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must be an integer");
	x = json_integer_value(v);
	if (x < min || x > max)
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "out of range");
	*i = (int64_t)x;
	return MGW_OK;
}

/* Fetch a required member of an object (MGW_E_MISSING if absent). */
static int need(const json_t *obj, const char *parent, const char *name, struct mgw_diag *diag,
		json_t **v)
{
	char p[MGW_DIAG_WHERE_MAX];

	if (!(*v = json_object_get(obj, name)))
		return mgw_diag_set(diag, MGW_E_MISSING, ptr_join(p, sizeof(p), parent, name),
				    "mandatory member missing");
	return MGW_OK;
}

/* Set obj[name] = v (taking v); NULL v means invalid UTF-8 (jansson checks) or no memory. */
static int put(json_t *obj, const char *name, json_t *v, const char *ptr, struct mgw_diag *diag)
{
	if (!v)
		return mgw_diag_set(diag, MGW_E_INVAL, ptr, "not valid UTF-8");
	if (json_object_set_new(obj, name, v) != 0)
		return mgw_diag_set(diag, MGW_E_NOMEM, ptr, "out of memory");
	return MGW_OK;
}

/* ==================================================================================== */
/* RFC 3339 date-time (TS 29.571 DateTime)                                              */
/* ==================================================================================== */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly n decimal digits at *p. */
static bool digits(const char **p, const char *end, int n, unsigned *v)
{
	unsigned x = 0;

	if (end - *p < n)
		return false;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		x = x * 10 + (unsigned)(c - '0');
	}
	*p += n;
	*v = x;
	return true;
}

static bool expect(const char **p, const char *end, char c1, char c2)
{
	if (*p >= end || (**p != c1 && **p != c2))
		return false;
	(*p)++;
	return true;
}

/* "YYYY-MM-DD(T|t)hh:mm:ss[.f+](Z|z|(+|-)hh:mm)" -> unix ms (fraction truncated to ms). */
static bool rfc3339_parse(const char *s, size_t n, int64_t *ms)
{
	const char *p = s, *end = s + n;
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0;
	int sign = 0, fd = 0;

	if (!digits(&p, end, 4, &y) || !expect(&p, end, '-', '-') || !digits(&p, end, 2, &mo) ||
	    !expect(&p, end, '-', '-') || !digits(&p, end, 2, &d) || !expect(&p, end, 'T', 't') ||
	    !digits(&p, end, 2, &h) || !expect(&p, end, ':', ':') || !digits(&p, end, 2, &mi) ||
	    !expect(&p, end, ':', ':') || !digits(&p, end, 2, &sec))
		return false;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, fd++)
			if (fd < 3)
				frac = frac * 10 + (unsigned)(*p - '0');
		if (fd == 0)
			return false;
		for (int i = fd; i < 3; i++)
			frac *= 10;
	}
	if (p < end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, end, 2, &oh) || !expect(&p, end, ':', ':') || !digits(&p, end, 2, &om))
			return false;
	} else {
		return false;
	}
	if (p != end || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return false;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	       sign * (int64_t)(oh * 3600 + om * 60)) * 1000 + frac;
	return true;
}

/* unix ms -> "YYYY-MM-DDThh:mm:ss.mmmZ"; false outside years 1970..9999. */
static bool rfc3339_fmt(int64_t ms, char *buf, size_t n)
{
	int64_t days, y, s;
	unsigned m, d;

	if (ms < 0)
		return false;
	days = ms / 86400000;
	s = (ms % 86400000) / 1000;
	civil_from_days(days, &y, &m, &d);
	if (y > 9999)
		return false;
	snprintf(buf, n, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
		 (unsigned)(s / 3600), (unsigned)(s / 60 % 60), (unsigned)(s % 60),
		 (unsigned)(ms % 1000));
	return true;
}

/* ==================================================================================== */
/* base64 (store envelope payload)                                                      */
/* ==================================================================================== */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(void *ctx, const uint8_t *p, size_t n)
{
	char *o = talloc_size(ctx, (n + 2) / 3 * 4 + 1);
	size_t j = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		o[j++] = b64chars[v >> 18 & 63];
		o[j++] = b64chars[v >> 12 & 63];
		o[j++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		o[j++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	o[j] = '\0';
	return o;
}

static int b64_val(char c)
{
	const char *q = c ? strchr(b64chars, c) : NULL;
	return q ? (int)(q - b64chars) : -1;
}

/* Strict: length a multiple of 4, padding only at the end. Writes at most n/4*3 bytes. */
static bool b64_decode(const char *s, size_t n, uint8_t *o, size_t *olen)
{
	size_t j = 0;

	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]), c = b64_val(s[i + 2]),
		    d = b64_val(s[i + 3]);
		bool last = i + 4 == n;
		bool pad2 = last && s[i + 2] == '=' && s[i + 3] == '=';
		bool pad1 = last && !pad2 && s[i + 3] == '=';

		if (a < 0 || b < 0 || (c < 0 && !pad2) || (d < 0 && !pad1 && !pad2))
			return false;
		o[j++] = (uint8_t)(a << 2 | b >> 4);
		if (!pad2)
			o[j++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (!pad1 && !pad2)
			o[j++] = (uint8_t)((c & 3) << 6 | d);
	}
	*olen = j;
	return true;
}

/* ==================================================================================== */
/* member decoders                                                                      */
/* ==================================================================================== */

struct dec {
	enum mgw_body body;
	const struct mgw_codec_limits *lim;
	struct mgw_msg *m;
	struct mgw_diag *diag;
};

static int dec_addr_into(const json_t *v, const char *ptr, struct mgw_addr *a,
			 struct mgw_diag *diag)
{
	char p[MGW_DIAG_WHERE_MAX];
	const char *type, *addr;
	json_t *t, *x;
	int rc;

	if (!json_is_object(v))
		return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must be an object");
	if ((rc = need(v, ptr, "addrType", diag, &t)) != MGW_OK ||
	    (rc = get_str(t, ptr_join(p, sizeof(p), ptr, "addrType"), MGW_ADDR_TYPE_NAME_MAX - 1,
			  true, diag, &type, NULL)) != MGW_OK)
		return rc;
	if ((rc = need(v, ptr, "addr", diag, &x)) != MGW_OK ||
	    (rc = get_str(x, ptr_join(p, sizeof(p), ptr, "addr"), MGW_ID_MAX, true, diag, &addr,
			  NULL)) != MGW_OK)
		return rc;
	if ((rc = mgw_addr_set_wire(a, type, addr)) != MGW_OK)
		return mgw_diag_set(diag, rc, ptr, "invalid address");
	return MGW_OK;
}

static int dec_ori(struct dec *d, const json_t *v, const char *ptr)
{
	return dec_addr_into(v, ptr, &d->m->ori, d->diag);
}

static int dec_dest(struct dec *d, const json_t *v, const char *ptr)
{
	return dec_addr_into(v, ptr, &d->m->dest, d->diag);
}

static int dec_app_id(struct dec *d, const json_t *v, const char *ptr)
{
	int rc = get_str_into(v, ptr, d->m->app_id, sizeof(d->m->app_id), false, d->diag);

	d->m->has_app_id = rc == MGW_OK;
	return rc;
}

/* An empty msgId is refused: the store keys messages by (origin, msgId). */
static int dec_msg_id(struct dec *d, const json_t *v, const char *ptr)
{
	return get_str_into(v, ptr, d->m->msg_id, sizeof(d->m->msg_id), true, d->diag);
}

static int dec_deliv_req(struct dec *d, const json_t *v, const char *ptr)
{
	int rc = get_bool(v, ptr, d->diag, &d->m->deliv_st_req);

	d->m->has_deliv_st_req = rc == MGW_OK;
	return rc;
}

static int dec_payload(struct dec *d, const json_t *v, const char *ptr)
{
	size_t max = d->lim->max_payload < MGW_PAYLOAD_HARD_MAX ? d->lim->max_payload
								  : MGW_PAYLOAD_HARD_MAX;
	uint8_t *tmp = NULL;
	const char *s;
	size_t n, blen;
	int rc;

	if (!json_is_string(v))
		return mgw_diag_set(d->diag, MGW_E_TYPE, ptr, "must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (d->body != MGW_BODY_STORED) {
		if (n > max)
			return mgw_diag_set(d->diag, MGW_E_TOO_BIG, ptr,
					    "payload of %zu bytes exceeds %zu", n, max);
		rc = mgw_msg_set_payload(d->m, s, n);
		goto out;
	}
	if (n / 4 * 3 > max + 2) {
		rc = mgw_diag_set(d->diag, MGW_E_TOO_BIG, ptr, "payload exceeds %zu bytes", max);
		goto out;
	}
	if (!(tmp = talloc_size(NULL, n / 4 * 3 + 1))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if (!b64_decode(s, n, tmp, &blen)) {
		rc = mgw_diag_set(d->diag, MGW_E_TYPE, ptr, "must be base64");
		goto out;
	}
	if (blen > max) {
		rc = mgw_diag_set(d->diag, MGW_E_TOO_BIG, ptr, "payload exceeds %zu bytes", max);
		goto out;
	}
	rc = mgw_msg_set_payload(d->m, tmp, blen);
out:
	talloc_free(tmp);
	if (rc != MGW_OK && d->diag && d->diag->rc == MGW_OK)
		mgw_diag_set(d->diag, rc, ptr, "%s", mgw_strerror(rc));
	return rc;
}

/* Priority is an extensible enumeration; an unknown value is kept as "none" (the model has
 * no slot for extension priorities, and priority only orders delivery). */
static int dec_priority(struct dec *d, const json_t *v, const char *ptr)
{
	const char *s;
	int rc;

	if ((rc = get_str(v, ptr, 31, false, d->diag, &s, NULL)) != MGW_OK)
		return rc;
	d->m->priority = mgw_priority_parse(s);
	return MGW_OK;
}

static int dec_seg_ind(struct dec *d, const json_t *v, const char *ptr)
{
	int rc = get_bool(v, ptr, d->diag, &d->m->seg_ind);

	d->m->has_seg_ind = rc == MGW_OK;
	return rc;
}

static int dec_seg(struct dec *d, const json_t *v, const char *ptr)
{
	struct mgw_seg seg;
	char p[MGW_DIAG_WHERE_MAX];
	json_t *x;
	int rc = MGW_OK;

	if (!json_is_object(v))
		return mgw_diag_set(d->diag, MGW_E_TYPE, ptr, "must be an object");
	memset(&seg, 0, sizeof(seg));
	if ((x = json_object_get(v, "segId")) &&
	    (rc = get_str_into(x, ptr_join(p, sizeof(p), ptr, "segId"), seg.seg_id,
			       sizeof(seg.seg_id), false, d->diag)) != MGW_OK)
		return rc;
	seg.has_seg_id = x != NULL;
	/* counts and numbers of segments are never negative */
	if ((x = json_object_get(v, "totalSegCount")) &&
	    (rc = get_int(x, ptr_join(p, sizeof(p), ptr, "totalSegCount"), 0, INT32_MAX, d->diag,
			  &seg.total)) != MGW_OK)
		return rc;
	seg.has_total = x != NULL;
	if ((x = json_object_get(v, "segNumb")) &&
	    (rc = get_int(x, ptr_join(p, sizeof(p), ptr, "segNumb"), 0, INT32_MAX, d->diag,
			  &seg.numb)) != MGW_OK)
		return rc;
	seg.has_numb = x != NULL;
	if ((x = json_object_get(v, "lastSegFlag")) &&
	    (rc = get_bool(x, ptr_join(p, sizeof(p), ptr, "lastSegFlag"), d->diag, &seg.last)) !=
		    MGW_OK)
		return rc;
	seg.has_last = x != NULL;
	d->m->seg = seg;
	d->m->has_seg = true;
	return MGW_OK;
}

static int dec_sto_ind(struct dec *d, const json_t *v, const char *ptr)
{
	return get_bool(v, ptr, d->diag, &d->m->sto_fw_ind);
}

static int dec_sto_params(struct dec *d, const json_t *v, const char *ptr)
{
	char p[MGW_DIAG_WHERE_MAX];
	const char *s;
	json_t *x;
	size_t n;
	int64_t ms;
	int rc;

	if (!json_is_object(v))
		return mgw_diag_set(d->diag, MGW_E_TYPE, ptr, "must be an object");
	if (!(x = json_object_get(v, "exprTime")))
		return MGW_OK;
	ptr_join(p, sizeof(p), ptr, "exprTime");
	if ((rc = get_str(x, p, 64, true, d->diag, &s, &n)) != MGW_OK)
		return rc == MGW_E_TOO_BIG ? mgw_diag_set(d->diag, MGW_E_TYPE, p, "not a date-time")
					   : rc;
	if (!rfc3339_parse(s, n, &ms))
		return mgw_diag_set(d->diag, MGW_E_TYPE, p, "not an RFC 3339 date-time");
	/* expiry_ms == 0 means "none": a time at or before 1970 cannot be represented */
	if (ms <= 0)
		return mgw_diag_set(d->diag, MGW_E_TYPE, p, "date-time before 1970");
	d->m->expiry_ms = ms;
	return MGW_OK;
}

static int dec_failure_cause(struct dec *d, const json_t *v, const char *ptr)
{
	int rc = get_str_into(v, ptr, d->m->failure_cause, sizeof(d->m->failure_cause), false,
			      d->diag);

	d->m->has_failure_cause = rc == MGW_OK;
	return rc;
}

static int dec_deliv_st(struct dec *d, const json_t *v, const char *ptr)
{
	int rc = get_str_into(v, ptr, d->m->deliv_st_name, sizeof(d->m->deliv_st_name), true,
			      d->diag);

	if (rc == MGW_OK)
		d->m->deliv_st = mgw_deliv_st_parse(d->m->deliv_st_name);
	return rc;
}

/* ---- store envelope metadata ---- */

static int dec_version(struct dec *d, const json_t *v, const char *ptr)
{
	if (!json_is_integer(v) || json_integer_value(v) != STORED_VERSION)
		return mgw_diag_set(d->diag, MGW_E_UNSUPPORTED, ptr, "unknown envelope version");
	return MGW_OK;
}

/* Look s up among the names fn(0..n-1); MGW_E_TYPE if absent. */
static int dec_name(const json_t *v, const char *ptr, const char *(*fn)(int), int n,
		    struct mgw_diag *diag, int *out)
{
	const char *s;
	int rc;

	if ((rc = get_str(v, ptr, 31, true, diag, &s, NULL)) != MGW_OK)
		return rc;
	for (int i = 0; i < n; i++)
		if (strcmp(fn(i), s) == 0) {
			*out = i;
			return MGW_OK;
		}
	return mgw_diag_set(diag, MGW_E_TYPE, ptr, "unknown value");
}

static const char *kind_name(int k)
{
	return k == MGW_MSG_REPORT ? "report" : "message";
}

static const char *dir_name(int v)
{
	return mgw_dir_name((enum mgw_dir)v);
}

static const char *ingress_name(int v)
{
	return mgw_ingress_name((enum mgw_ingress)v);
}

static const char *prot_name(int v)
{
	return mgw_prot_name((enum mgw_prot)v);
}

static int dec_kind(struct dec *d, const json_t *v, const char *ptr)
{
	int x = 0, rc = dec_name(v, ptr, kind_name, 2, d->diag, &x);

	if (rc == MGW_OK)
		d->m->kind = (enum mgw_msg_kind)x;
	return rc;
}

static int dec_dir(struct dec *d, const json_t *v, const char *ptr)
{
	int x = 0, rc = dec_name(v, ptr, dir_name, MGW_DIR_DOWNLINK + 1, d->diag, &x);

	if (rc == MGW_OK)
		d->m->dir = (enum mgw_dir)x;
	return rc;
}

static int dec_ingress(struct dec *d, const json_t *v, const char *ptr)
{
	int x = 0, rc = dec_name(v, ptr, ingress_name, MGW_IN_TEST + 1, d->diag, &x);

	if (rc == MGW_OK)
		d->m->ingress = (enum mgw_ingress)x;
	return rc;
}

static int dec_prot(struct dec *d, const json_t *v, const char *ptr)
{
	int x = 0, rc = dec_name(v, ptr, prot_name, MGW_PROT_COSE + 1, d->diag, &x);

	if (rc == MGW_OK)
		d->m->prot = (enum mgw_prot)x;
	return rc;
}

static int dec_created(struct dec *d, const json_t *v, const char *ptr)
{
	return get_int(v, ptr, INT64_MIN, INT64_MAX, d->diag, &d->m->created_ms);
}

static int dec_attempts(struct dec *d, const json_t *v, const char *ptr)
{
	int64_t x = 0;
	int rc = get_int(v, ptr, 0, UINT32_MAX, d->diag, &x);

	if (rc == MGW_OK)
		d->m->attempts = (uint32_t)x;
	return rc;
}

static int dec_expiry(struct dec *d, const json_t *v, const char *ptr)
{
	return get_int(v, ptr, INT64_MIN, INT64_MAX, d->diag, &d->m->expiry_ms);
}

/* ==================================================================================== */
/* member encoders: each adds its member if the message has it                          */
/* ==================================================================================== */

struct enc {
	enum mgw_body body;
	const struct mgw_msg *m;
	struct mgw_diag *diag;
};

static const char *addr_type_str(const struct mgw_addr *a)
{
	return a->type == MGW_ADDR_OTHER ? a->type_name : mgw_addr_type_name(a->type);
}

static int enc_addr(struct enc *e, json_t *obj, const char *name, const char *ptr,
		    const struct mgw_addr *a)
{
	char p[MGW_DIAG_WHERE_MAX];
	json_t *o;
	int rc;

	if (!*addr_type_str(a))
		return mgw_diag_set(e->diag, MGW_E_INVAL, ptr_join(p, sizeof(p), ptr, "addrType"),
				    "no address type");
	if (!a->addr[0])
		return mgw_diag_set(e->diag, MGW_E_INVAL, ptr_join(p, sizeof(p), ptr, "addr"),
				    "empty address");
	if (!(o = json_object()))
		return MGW_E_NOMEM;
	if ((rc = put(o, "addrType", json_string(addr_type_str(a)),
		      ptr_join(p, sizeof(p), ptr, "addrType"), e->diag)) != MGW_OK ||
	    (rc = put(o, "addr", json_string(a->addr), ptr_join(p, sizeof(p), ptr, "addr"),
		      e->diag)) != MGW_OK) {
		json_decref(o);
		return rc;
	}
	return put(obj, name, o, ptr, e->diag);
}

static bool has_ori(const struct enc *e)
{
	return e->m->ori.type != MGW_ADDR_NONE;
}

static int enc_ori(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return enc_addr(e, obj, name, ptr, &e->m->ori);
}

static bool has_dest(const struct enc *e)
{
	return e->m->dest.type != MGW_ADDR_NONE;
}

static int enc_dest(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return enc_addr(e, obj, name, ptr, &e->m->dest);
}

static bool has_app_id(const struct enc *e)
{
	return e->m->has_app_id;
}

static int enc_app_id(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(e->m->app_id), ptr, e->diag);
}

static bool has_msg_id(const struct enc *e)
{
	return e->m->msg_id[0] != '\0';
}

static int enc_msg_id(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(e->m->msg_id), ptr, e->diag);
}

static bool has_deliv_req(const struct enc *e)
{
	return e->m->has_deliv_st_req;
}

static int enc_deliv_req(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_boolean(e->m->deliv_st_req), ptr, e->diag);
}

static bool has_payload(const struct enc *e)
{
	return e->m->has_payload;
}

static int enc_payload(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	const char *p = e->m->payload ? (const char *)e->m->payload : "";
	size_t n = e->m->payload ? e->m->payload_len : 0;
	char *b64;
	int rc;

	if (e->body != MGW_BODY_STORED)
		return put(obj, name, json_stringn(p, n), ptr, e->diag);
	if (!(b64 = b64_encode(NULL, (const uint8_t *)p, n)))
		return MGW_E_NOMEM;
	rc = put(obj, name, json_string(b64), ptr, e->diag);
	talloc_free(b64);
	return rc;
}

static bool has_priority(const struct enc *e)
{
	return mgw_priority_name(e->m->priority) != NULL;
}

static int enc_priority(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(mgw_priority_name(e->m->priority)), ptr, e->diag);
}

static bool has_seg_ind(const struct enc *e)
{
	return e->m->has_seg_ind;
}

static int enc_seg_ind(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_boolean(e->m->seg_ind), ptr, e->diag);
}

static bool has_seg(const struct enc *e)
{
	return e->m->has_seg;
}

static int enc_seg(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	const struct mgw_seg *s = &e->m->seg;
	json_t *o = json_object();
	int rc = MGW_OK;

	if (!o)
		return MGW_E_NOMEM;
	if (s->has_seg_id)
		rc = put(o, "segId", json_string(s->seg_id), ptr, e->diag);
	if (rc == MGW_OK && s->has_total)
		rc = put(o, "totalSegCount", json_integer(s->total), ptr, e->diag);
	if (rc == MGW_OK && s->has_numb)
		rc = put(o, "segNumb", json_integer(s->numb), ptr, e->diag);
	if (rc == MGW_OK && s->has_last)
		rc = put(o, "lastSegFlag", json_boolean(s->last), ptr, e->diag);
	if (rc != MGW_OK) {
		json_decref(o);
		return rc;
	}
	return put(obj, name, o, ptr, e->diag);
}

/* stoAndFwInd is mandatory in UEMessageDelivery (always written there and in the store);
 * in the device body it is optional and written only when set. */
static bool has_sto_ind(const struct enc *e)
{
	return e->body != MGW_BODY_DEVICE || e->m->sto_fw_ind;
}

static int enc_sto_ind(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_boolean(e->m->sto_fw_ind), ptr, e->diag);
}

/* exprTime on the wire; the store keeps expiry_ms as an integer (see dec_expiry). */
static bool has_sto_params(const struct enc *e)
{
	return e->m->expiry_ms != 0 && e->body != MGW_BODY_STORED;
}

static int enc_sto_params(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	char p[MGW_DIAG_WHERE_MAX], t[40];
	json_t *o;

	ptr_join(p, sizeof(p), ptr, "exprTime");
	if (!rfc3339_fmt(e->m->expiry_ms, t, sizeof(t)))
		return mgw_diag_set(e->diag, MGW_E_INVAL, p, "expiry out of range");
	if (!(o = json_object()))
		return MGW_E_NOMEM;
	if (json_object_set_new(o, "exprTime", json_string(t)) != 0) {
		json_decref(o);
		return MGW_E_NOMEM;
	}
	return put(obj, name, o, ptr, e->diag);
}

static bool has_failure_cause(const struct enc *e)
{
	return e->m->has_failure_cause;
}

static int enc_failure_cause(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(e->m->failure_cause), ptr, e->diag);
}

static const char *deliv_st_str(const struct mgw_msg *m)
{
	const char *s = mgw_deliv_st_name(m->deliv_st);

	if (s)
		return s;
	return m->deliv_st == MGW_DELIV_OTHER && m->deliv_st_name[0] ? m->deliv_st_name : NULL;
}

static bool has_deliv_st(const struct enc *e)
{
	return e->m->deliv_st != MGW_DELIV_NONE;
}

static int enc_deliv_st(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	const char *s = deliv_st_str(e->m);

	if (!s)
		return mgw_diag_set(e->diag, MGW_E_INVAL, ptr, "extension status without a name");
	return put(obj, name, json_string(s), ptr, e->diag);
}

static bool always(const struct enc *e)
{
	return true;
}

static bool has_expiry(const struct enc *e)
{
	return e->m->expiry_ms != 0;
}

static int enc_version(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_integer(STORED_VERSION), ptr, e->diag);
}

static int enc_kind(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(kind_name(e->m->kind)), ptr, e->diag);
}

static int enc_dir(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(mgw_dir_name(e->m->dir)), ptr, e->diag);
}

static int enc_ingress(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(mgw_ingress_name(e->m->ingress)), ptr, e->diag);
}

static int enc_prot(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_string(mgw_prot_name(e->m->prot)), ptr, e->diag);
}

static int enc_created(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_integer(e->m->created_ms), ptr, e->diag);
}

static int enc_attempts(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_integer(e->m->attempts), ptr, e->diag);
}

static int enc_expiry(struct enc *e, json_t *obj, const char *name, const char *ptr)
{
	return put(obj, name, json_integer(e->m->expiry_ms), ptr, e->diag);
}

/* ==================================================================================== */
/* the member table                                                                     */
/* ==================================================================================== */

struct member {
	const char *name;
	unsigned dec;  /* bodies whose decoder reads it */
	unsigned enc;  /* bodies whose encoder writes it */
	unsigned req;  /* bodies that require it (both directions) */
	int (*decode)(struct dec *d, const json_t *v, const char *ptr);
	bool (*present)(const struct enc *e);
	int (*encode)(struct enc *e, json_t *obj, const char *name, const char *ptr);
};

/* oriAddr from a device is only a claim: the security layer compares it with the UE bound
 * to the authenticated credential and rewrites it or refuses the message (policy
 * spoofed_origin); it is optional there and written towards the device on downlink. */
static const struct member members[] = {
	{ "v", B_STO, B_STO, B_STO, dec_version, always, enc_version },
	{ "oriAddr", B_WIREMSG | B_REP | B_DEV | B_STO, B_WIREMSG | B_REP | B_DEV | B_STO,
	  B_WIREMSG | B_REP, dec_ori, has_ori, enc_ori },
	{ "destAddr", ~0u, ~0u, B_WIREMSG | B_REP | B_DEV, dec_dest, has_dest, enc_dest },
	{ "appId", B_WIREMSG | B_DEV | B_STO, B_WIREMSG | B_DEV | B_STO, 0, dec_app_id,
	  has_app_id, enc_app_id },
	{ "msgId", ~0u, ~0u, ~0u, dec_msg_id, has_msg_id, enc_msg_id },
	{ "delivStReqInd", B_WIREMSG | B_DEV | B_STO, B_WIREMSG | B_DEV | B_STO, 0, dec_deliv_req,
	  has_deliv_req, enc_deliv_req },
	{ "payload", B_WIREMSG | B_DEV | B_STO, B_WIREMSG | B_DEV | B_STO, 0, dec_payload,
	  has_payload, enc_payload },
	{ "priority", B_DEV | B_STO, B_DEV | B_STO, 0, dec_priority, has_priority, enc_priority },
	{ "segInd", B_WIREMSG | B_DEV | B_STO, B_WIREMSG | B_DEV | B_STO, 0, dec_seg_ind,
	  has_seg_ind, enc_seg_ind },
	{ "segParams", B_WIREMSG | B_DEV | B_STO, B_WIREMSG | B_DEV | B_STO, 0, dec_seg, has_seg,
	  enc_seg },
	{ "stoAndFwInd", B_UE | B_DEV | B_STO, B_UE | B_DEV | B_STO, B_UE, dec_sto_ind,
	  has_sto_ind, enc_sto_ind },
	{ "stoAndFwParams", B_UE | B_DEV, B_UE | B_DEV, 0, dec_sto_params, has_sto_params,
	  enc_sto_params },
	{ "failureCause", B_REP | B_STO, B_REP | B_STO, 0, dec_failure_cause, has_failure_cause,
	  enc_failure_cause },
	{ "delivSt", B_REP | B_STO, B_REP | B_STO, B_REP, dec_deliv_st, has_deliv_st,
	  enc_deliv_st },
	/* store envelope: gateway metadata (store_id is the store's row id: not in the blob) */
	{ "expiry", B_STO, B_STO, 0, dec_expiry, has_expiry, enc_expiry },
	{ "kind", B_STO, B_STO, B_STO, dec_kind, always, enc_kind },
	{ "dir", B_STO, B_STO, B_STO, dec_dir, always, enc_dir },
	{ "ingress", B_STO, B_STO, B_STO, dec_ingress, always, enc_ingress },
	{ "prot", B_STO, B_STO, B_STO, dec_prot, always, enc_prot },
	{ "created", B_STO, B_STO, B_STO, dec_created, always, enc_created },
	{ "attempts", B_STO, B_STO, B_STO, dec_attempts, always, enc_attempts },
};

static bool body_valid(enum mgw_body b)
{
	return (unsigned)b <= MGW_BODY_STORED;
}

static int decode_members(struct dec *d, const json_t *root)
{
	char p[MGW_DIAG_WHERE_MAX];
	unsigned bit = B(d->body);
	json_t *v;
	int rc;

	for (size_t i = 0; i < ARRAY_LEN(members); i++) {
		const struct member *mb = &members[i];

		if (!(mb->dec & bit))
			continue;
		ptr_join(p, sizeof(p), "", mb->name);
		if (!(v = json_object_get(root, mb->name))) {
			if (mb->req & bit)
				return mgw_diag_set(d->diag, MGW_E_MISSING, p,
						    "mandatory member missing");
			continue;
		}
		if ((rc = mb->decode(d, v, p)) != MGW_OK)
			return rc;
	}
	return MGW_OK;
}

int mgw_json_decode_msg(void *ctx, enum mgw_body b, const char *buf, size_t len,
			const struct mgw_codec_limits *lim, struct mgw_msg **out,
			struct mgw_diag *diag)
{
	struct dec d = { .body = b, .diag = diag };
	json_t *root = NULL;
	int rc;

	mgw_diag_clear(diag);
	if (!out || !body_valid(b)) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
		goto out;
	}
	d.lim = lim ? lim : b == MGW_BODY_STORED ? &stored_limits : &mgw_codec_default_limits;
	if ((rc = load_object(buf, len, d.lim->max_body, &root, diag)) != MGW_OK)
		goto out;
	if (!(d.m = mgw_msg_alloc(ctx, b == MGW_BODY_REPORT ? MGW_MSG_REPORT : MGW_MSG_MESSAGE))) {
		rc = mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
		goto out;
	}
	if ((rc = decode_members(&d, root)) != MGW_OK)
		goto out;
	*out = d.m;
	d.m = NULL;
	rc = MGW_OK;
out:
	mgw_msg_free(d.m);
	json_decref(root);
	return rc;
}

/* Dump root compactly into a talloc string under ctx. */
static int dump(void *ctx, const json_t *root, char **out, size_t *len)
{
	char *s = json_dumps(root, JSON_COMPACT);
	char *t;

	if (!s)
		return MGW_E_NOMEM;
	t = talloc_strdup(ctx, s);
	free(s);
	if (!t)
		return MGW_E_NOMEM;
	*out = t;
	if (len)
		*len = strlen(t);
	return MGW_OK;
}

static int encode_members(struct enc *e, json_t *root)
{
	char p[MGW_DIAG_WHERE_MAX];
	unsigned bit = B(e->body);
	int rc;

	for (size_t i = 0; i < ARRAY_LEN(members); i++) {
		const struct member *mb = &members[i];

		if (!(mb->enc & bit))
			continue;
		ptr_join(p, sizeof(p), "", mb->name);
		if (!mb->present(e)) {
			if (mb->req & bit)
				return mgw_diag_set(e->diag, MGW_E_MISSING, p, "mandatory member unset");
			continue;
		}
		if ((rc = mb->encode(e, root, mb->name, p)) != MGW_OK)
			return rc;
	}
	return MGW_OK;
}

int mgw_json_encode_msg(void *ctx, enum mgw_body b, const struct mgw_msg *m, char **out,
			size_t *len, struct mgw_diag *diag)
{
	struct enc e = { .body = b, .m = m, .diag = diag };
	json_t *root = NULL;
	int rc;

	mgw_diag_clear(diag);
	if (!m || !out || !body_valid(b)) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
		goto out;
	}
	if (b != MGW_BODY_STORED && (m->kind == MGW_MSG_REPORT) != (b == MGW_BODY_REPORT)) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "message kind does not fit %s",
				  mgw_body_name(b));
		goto out;
	}
	if (!(root = json_object())) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = encode_members(&e, root)) != MGW_OK)
		goto out;
	rc = dump(ctx, root, out, len);
out:
	if (rc != MGW_OK && diag && diag->rc == MGW_OK)
		mgw_diag_set(diag, rc, "", "%s", mgw_strerror(rc));
	json_decref(root);
	return rc;
}

/* ==================================================================================== */
/* MessageDeliveryAck                                                                   */
/* ==================================================================================== */

static int decode_ack_members(const json_t *root, struct mgw_ack *a, struct mgw_diag *diag)
{
	json_t *v;
	int rc;

	if ((rc = need(root, "", "oriAddr", diag, &v)) != MGW_OK ||
	    (rc = dec_addr_into(v, "/oriAddr", &a->ori, diag)) != MGW_OK)
		return rc;
	if ((rc = need(root, "", "msgId", diag, &v)) != MGW_OK ||
	    (rc = get_str_into(v, "/msgId", a->msg_id, sizeof(a->msg_id), true, diag)) != MGW_OK)
		return rc;
	/* DeliveryStatus is extensible: any non-empty string is kept */
	if ((v = json_object_get(root, "status")) &&
	    (rc = get_str_into(v, "/status", a->status, sizeof(a->status), true, diag)) != MGW_OK)
		return rc;
	if ((v = json_object_get(root, "failureCause"))) {
		if ((rc = get_str_into(v, "/failureCause", a->failure_cause,
				       sizeof(a->failure_cause), false, diag)) != MGW_OK)
			return rc;
		a->has_failure_cause = true;
	}
	return MGW_OK;
}

int mgw_json_decode_ack(const char *buf, size_t len, struct mgw_ack *out, struct mgw_diag *diag)
{
	struct mgw_ack a;
	json_t *root = NULL;
	int rc;

	mgw_diag_clear(diag);
	memset(&a, 0, sizeof(a));
	if (!out) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
		goto out;
	}
	if ((rc = load_object(buf, len, mgw_codec_default_limits.max_body, &root, diag)) !=
	    MGW_OK)
		goto out;
	if ((rc = decode_ack_members(root, &a, diag)) != MGW_OK)
		goto out;
	*out = a;
	rc = MGW_OK;
out:
	json_decref(root);
	return rc;
}

int mgw_json_encode_ack(void *ctx, const struct mgw_ack *a, char **out, size_t *len)
{
	struct enc e = { .body = MGW_BODY_UE_MESSAGE }; /* for the address encoder only */
	json_t *root = NULL;
	int rc;

	if (!a || !out || a->ori.type == MGW_ADDR_NONE || !a->msg_id[0]) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(root = json_object())) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if ((rc = enc_addr(&e, root, "oriAddr", "/oriAddr", &a->ori)) != MGW_OK ||
	    (rc = put(root, "msgId", json_string(a->msg_id), "/msgId", NULL)) != MGW_OK)
		goto out;
	if (a->status[0] && (rc = put(root, "status", json_string(a->status), "/status", NULL)) !=
				    MGW_OK)
		goto out;
	if (a->has_failure_cause && (rc = put(root, "failureCause", json_string(a->failure_cause),
					      "/failureCause", NULL)) != MGW_OK)
		goto out;
	rc = dump(ctx, root, out, len);
out:
	json_decref(root);
	return rc;
}

/* ==================================================================================== */
/* ProblemDetails                                                                       */
/* ==================================================================================== */

/* Copy s into dst[cap], cut at a UTF-8 character boundary when it does not fit: the free
 * text of a peer's ProblemDetails is informational, so it is truncated, not refused. */
static void copy_trunc(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int opt_text(const json_t *root, const char *name, char *dst, size_t cap,
		    struct mgw_diag *diag)
{
	char p[MGW_DIAG_WHERE_MAX];
	const char *s;
	json_t *v;
	int rc;

	if (!(v = json_object_get(root, name)))
		return MGW_OK;
	if ((rc = get_str(v, ptr_join(p, sizeof(p), "", name), SIZE_MAX, false, diag, &s, NULL)) !=
	    MGW_OK)
		return rc;
	copy_trunc(dst, cap, s);
	return MGW_OK;
}

static int decode_invalid_params(const json_t *arr, struct mgw_problem *p,
				 struct mgw_diag *diag)
{
	char ptr[MGW_DIAG_WHERE_MAX];
	const char *s;
	json_t *it, *v;
	size_t i;
	int rc;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return mgw_diag_set(diag, MGW_E_TYPE, "/invalidParams", "must be a non-empty array");
	json_array_foreach(arr, i, it) {
		snprintf(ptr, sizeof(ptr), "/invalidParams/%zu", i);
		if (!json_is_object(it))
			return mgw_diag_set(diag, MGW_E_TYPE, ptr, "must be an object");
		if ((rc = need(it, ptr, "param", diag, &v)) != MGW_OK)
			return rc;
		snprintf(ptr, sizeof(ptr), "/invalidParams/%zu/param", i);
		if ((rc = get_str(v, ptr, SIZE_MAX, false, diag, &s, NULL)) != MGW_OK)
			return rc;
		if (i < MGW_PROBLEM_PARAMS_MAX)
			copy_trunc(p->params[i].param, sizeof(p->params[i].param), s);
		if (!(v = json_object_get(it, "reason")))
			continue;
		snprintf(ptr, sizeof(ptr), "/invalidParams/%zu/reason", i);
		if ((rc = get_str(v, ptr, SIZE_MAX, false, diag, &s, NULL)) != MGW_OK)
			return rc;
		if (i < MGW_PROBLEM_PARAMS_MAX)
			copy_trunc(p->params[i].reason, sizeof(p->params[i].reason), s);
	}
	p->n_params = i < MGW_PROBLEM_PARAMS_MAX ? i : MGW_PROBLEM_PARAMS_MAX;
	return MGW_OK;
}

static int decode_problem_members(const json_t *root, struct mgw_problem *p,
				  struct mgw_diag *diag)
{
	json_t *v;
	int64_t st;
	int rc;

	if ((v = json_object_get(root, "status"))) {
		if ((rc = get_int(v, "/status", 100, 599, diag, &st)) != MGW_OK)
			return rc;
		p->status = (int)st;
	}
	if ((rc = opt_text(root, "title", p->title, sizeof(p->title), diag)) != MGW_OK ||
	    (rc = opt_text(root, "detail", p->detail, sizeof(p->detail), diag)) != MGW_OK)
		return rc;
	/* the cause drives decisions: a cause that does not fit is refused, not cut */
	if ((v = json_object_get(root, "cause")) &&
	    (rc = get_str_into(v, "/cause", p->cause, sizeof(p->cause), false, diag)) != MGW_OK)
		return rc;
	if ((v = json_object_get(root, "invalidParams")) &&
	    (rc = decode_invalid_params(v, p, diag)) != MGW_OK)
		return rc;
	return MGW_OK;
}

int mgw_json_decode_problem(const char *buf, size_t len, struct mgw_problem *out,
			    struct mgw_diag *diag)
{
	struct mgw_problem p;
	json_t *root = NULL;
	int rc;

	mgw_diag_clear(diag);
	memset(&p, 0, sizeof(p));
	if (!out) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
		goto out;
	}
	if ((rc = load_object(buf, len, mgw_codec_default_limits.max_body, &root, diag)) !=
	    MGW_OK)
		goto out;
	if ((rc = decode_problem_members(root, &p, diag)) != MGW_OK)
		goto out;
	*out = p;
	rc = MGW_OK;
out:
	json_decref(root);
	return rc;
}

static int encode_invalid_params(json_t *root, const struct mgw_problem *p)
{
	json_t *arr = json_array(), *o;
	size_t n = p->n_params < MGW_PROBLEM_PARAMS_MAX ? p->n_params : MGW_PROBLEM_PARAMS_MAX;
	int rc = MGW_OK;

	if (!arr)
		return MGW_E_NOMEM;
	for (size_t i = 0; i < n && rc == MGW_OK; i++) {
		if (!(o = json_object())) {
			rc = MGW_E_NOMEM;
			break;
		}
		rc = put(o, "param", json_string(p->params[i].param), "/invalidParams", NULL);
		if (rc == MGW_OK && p->params[i].reason[0])
			rc = put(o, "reason", json_string(p->params[i].reason), "/invalidParams",
				 NULL);
		if (json_array_append_new(arr, o) != 0 && rc == MGW_OK)
			rc = MGW_E_NOMEM;
	}
	if (rc != MGW_OK) {
		json_decref(arr);
		return rc;
	}
	return put(root, "invalidParams", arr, "/invalidParams", NULL);
}

int mgw_json_encode_problem(void *ctx, const struct mgw_problem *p, char **out, size_t *len)
{
	json_t *root = NULL;
	int rc = MGW_OK;

	if (!p || !out) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(root = json_object())) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	/* TS 29.571 order: type, title, status, detail, instance, cause, invalidParams */
	if (p->title[0])
		rc = put(root, "title", json_string(p->title), "/title", NULL);
	if (rc == MGW_OK && p->status)
		rc = put(root, "status", json_integer(p->status), "/status", NULL);
	if (rc == MGW_OK && p->detail[0])
		rc = put(root, "detail", json_string(p->detail), "/detail", NULL);
	if (rc == MGW_OK && p->cause[0])
		rc = put(root, "cause", json_string(p->cause), "/cause", NULL);
	if (rc == MGW_OK && p->n_params)
		rc = encode_invalid_params(root, p);
	if (rc != MGW_OK)
		goto out;
	rc = dump(ctx, root, out, len);
out:
	json_decref(root);
	return rc;
}

/* ---- decode failure -> ProblemDetails (TS 29.500 Table 5.2.7.2-1 causes) ---- */

static const struct {
	int status;
	const char *title;
} titles[] = {
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 411, "Length Required" },
	{ 413, "Payload Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

/* Top-level members that are optional in every body that knows them: a wrong value there
 * is OPTIONAL_IE_INCORRECT. Everything else (oriAddr, destAddr, msgId, stoAndFwInd,
 * delivSt and their children) is MANDATORY_IE_INCORRECT. */
static const char *const optional_members[] = {
	"appId", "delivStReqInd", "payload", "priority", "segInd", "segParams",
	"stoAndFwParams", "failureCause", "status",
};

static bool where_is_optional(const char *where)
{
	size_t n;

	if (where[0] != '/')
		return false;
	for (size_t i = 0; i < ARRAY_LEN(optional_members); i++) {
		n = strlen(optional_members[i]);
		if (strncmp(where + 1, optional_members[i], n) == 0 &&
		    (where[1 + n] == '\0' || where[1 + n] == '/'))
			return true;
	}
	return false;
}

/* MISSING -> MANDATORY_IE_MISSING; TYPE -> MANDATORY_/OPTIONAL_IE_INCORRECT by member;
 * MALFORMED -> INVALID_MSG_FORMAT; TOO_BIG -> INCORRECT_LENGTH, whether the caller answers
 * 400 (a member over its limit) or 413 (body or payload over its limit): TS 29.500 has no
 * cause of its own for 413. */
static const char *cause_of(int rc, const char *where)
{
	switch (rc) {
	case MGW_E_MISSING:
		return "MANDATORY_IE_MISSING";
	case MGW_E_TYPE:
		return where_is_optional(where) ? "OPTIONAL_IE_INCORRECT" : "MANDATORY_IE_INCORRECT";
	case MGW_E_MALFORMED:
	case MGW_E_UNSUPPORTED:
		return "INVALID_MSG_FORMAT";
	case MGW_E_TOO_BIG:
		return "INCORRECT_LENGTH";
	case MGW_E_NOMEM:
		return "INSUFFICIENT_RESOURCES";
	default:
		return "SYSTEM_FAILURE";
	}
}

void mgw_problem_from_diag(struct mgw_problem *p, int status, const struct mgw_diag *diag)
{
	static const struct mgw_diag none = { .rc = MGW_E_INTERNAL };
	const char *title = "Error";

	if (!p)
		return;
	if (!diag)
		diag = &none;
	memset(p, 0, sizeof(*p));
	p->status = status;
	for (size_t i = 0; i < ARRAY_LEN(titles); i++)
		if (titles[i].status == status)
			title = titles[i].title;
	copy_trunc(p->title, sizeof(p->title), title);
	copy_trunc(p->detail, sizeof(p->detail),
		   diag->text[0] ? diag->text : mgw_strerror(diag->rc));
	copy_trunc(p->cause, sizeof(p->cause), cause_of(diag->rc, diag->where));
	copy_trunc(p->params[0].param, sizeof(p->params[0].param), diag->where);
	copy_trunc(p->params[0].reason, sizeof(p->params[0].reason),
		   diag->text[0] ? diag->text : mgw_strerror(diag->rc));
	p->n_params = 1;
}
