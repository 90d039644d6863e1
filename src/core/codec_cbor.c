/* msgin5g-gw: CBOR form of the device-side bodies (include/mgw/codec_cbor.h), with libcbor.
 *
 * Decoding transcodes CBOR into compact JSON text and lets the JSON codec apply the member
 * rules, so the two content formats cannot drift apart. The transcoder reads the input with
 * cbor_stream_decode(), one item head per call, and keeps its own fixed stack of open
 * containers (at most JSON_DEPTH_MAX, where the JSON codec stops too). cbor_load() is not
 * used: it builds a tree of one allocation per item, and libcbor 0.8 refuses more than
 * CBOR_MAX_STACK_SIZE (2048) open levels only as a "memory error".
 *
 * Memory is O(len): the JSON text (capped at 2 * max_body + 64), the raw bytes of the keys of
 * the open maps (for duplicate checks and diagnostics) and a byte-string payload read in
 * chunks. Never log or echo payload bytes: diagnostics name the member and the rule.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/codec_cbor.h>
#include <mgw/err.h>
#include <mgw/msg.h>

/* As the JSON codec: the root map is depth 1, a value deeper than this is refused. */
#define JSON_DEPTH_MAX 32
#define TAG_SELF_DESCRIBE 55799
/* The JSON pointer of the whole body (RFC 6901), as the JSON codec reports it. */
#define ROOT_PTR ""

/* One open array or map. */
struct level {
	bool map;
	bool indef;
	uint64_t left;   /* definite: data items still to come (a map counts keys and values) */
	uint64_t n;      /* data items read so far (a map: even = next is a key) */
	size_t keys0;    /* a map: its first key span */
	size_t keys_off; /* a map: where its key bytes start */
	size_t cur_key;  /* a map, at a value: the span of that value's key */
};

/* A map key: raw bytes in tx.keys. */
struct span {
	size_t off, len;
};

enum str_kind { STR_NONE, STR_TEXT, STR_BYTES };

/* The transcoder's state, the context of libcbor's callbacks. */
struct tx {
	void *tmp;
	size_t in_len; /* no key, key list or byte string can outgrow the input */
	struct mgw_diag *diag;
	int rc;
	bool started, tagged, done;
	/* JSON text */
	char *out;
	size_t out_len, out_cap, out_max;
	/* open containers */
	struct level lv[JSON_DEPTH_MAX];
	int depth;
	/* keys of the open maps */
	uint8_t *keys;
	size_t keys_len, keys_cap;
	struct span *spans;
	size_t n_spans, spans_cap;
	/* an indefinite-length string being read */
	enum str_kind str;
	bool str_key;     /* it is a map key (its bytes go to keys from str_off) */
	size_t str_off;
	uint8_t *bytes;   /* a byte-string payload's chunks */
	size_t bytes_len, bytes_cap;
};

/* ==================================================================================== */
/* small helpers                                                                        */
/* ==================================================================================== */


/* The talloc buffer p of *cap elements of sz bytes, grown (doubling, but never past
 * max >= need) to hold need elements: the buffer to use from now on, or NULL (p untouched)
 * when out of memory. */
static void *grow(void *ctx, void *p, size_t *cap, size_t need, size_t max, size_t sz)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (p && need <= *cap)
		return p;
	while (c < need)
		c = c > SIZE_MAX / 2 ? need : c * 2;
	if (c > max)
		c = max > need ? max : need;
	if (c > SIZE_MAX / sz || !(q = talloc_realloc_size(ctx, p, c * sz)))
		return NULL;
	*cap = c;
	return q;
}

/* Set the transcoder's error once (the first cause wins) and return false. */
static bool fail(struct tx *t, int rc, const char *where, const char *text)
{
	if (t->rc == MGW_OK)
		t->rc = mgw_diag_set(t->diag, rc, where, "%s", text);
	return false;
}

/* Append one JSON pointer token ("/" + name with "~" -> "~0", "/" -> "~1"), cut to fit. */
static void ptr_add(char *buf, size_t cap, const uint8_t *name, size_t n)
{
	size_t j = strlen(buf);
	size_t i;

	if (j + 1 >= cap)
		return;
	buf[j++] = '/';
	for (i = 0; i < n && name[i] && j + 3 < cap; i++) {
		if (name[i] == '~' || name[i] == '/') {
			buf[j++] = '~';
			buf[j++] = name[i] == '~' ? '0' : '1';
		} else {
			buf[j++] = (char)name[i];
		}
	}
	if (i < n && name[i]) { /* cut: do not leave half a UTF-8 character */
		while (j > 1 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80)
			j--;
		if (j > 1 && (unsigned char)buf[j - 1] >= 0xC0)
			j--;
	}
	buf[j] = '\0';
}

/* The pointer of the item being read: every open level's current member or index; with
 * leaf false the innermost level is left out (the item is a key, or the map itself). */
static const char *ptr(const struct tx *t, char *buf, size_t cap, bool leaf)
{
	buf[0] = '\0';
	for (int i = 0; i < t->depth; i++) {
		const struct level *l = &t->lv[i];
		char idx[24];

		if (i == t->depth - 1 && !leaf)
			break;
		if (l->map) {
			const struct span *s = &t->spans[l->cur_key];
			ptr_add(buf, cap, t->keys + s->off, s->len);
		} else {
			snprintf(idx, sizeof(idx), "%" PRIu64, l->n);
			ptr_add(buf, cap, (const uint8_t *)idx, strlen(idx));
		}
	}
	return buf;
}

/* The next item of the innermost open map is a key. */
static bool at_key(const struct tx *t)
{
	return t->depth > 0 && t->lv[t->depth - 1].map && t->lv[t->depth - 1].n % 2 == 0;
}

/* Refuse with the pointer of the current item (or of its map when the item is a key). */
static bool fail_here(struct tx *t, int rc, const char *text)
{
	char p[MGW_DIAG_WHERE_MAX];

	return fail(t, rc, ptr(t, p, sizeof(p), !at_key(t)), text);
}

/* ==================================================================================== */
/* JSON output                                                                          */
/* ==================================================================================== */

static bool put(struct tx *t, const char *s, size_t n)
{
	char msg[64];
	char *q;

	if (n > t->out_max - t->out_len) {
		snprintf(msg, sizeof(msg), "JSON form longer than %zu bytes", t->out_max);
		return fail(t, MGW_E_TOO_BIG, ROOT_PTR, msg);
	}
	if (!(q = grow(t->tmp, t->out, &t->out_cap, t->out_len + n + 1, t->out_max + 1, 1)))
		return fail(t, MGW_E_NOMEM, ROOT_PTR, "out of memory");
	t->out = q;
	memcpy(t->out + t->out_len, s, n);
	t->out_len += n;
	return true;
}

/* Append s[n] as the inside of a JSON string (the bytes are valid UTF-8). */
static bool put_escaped(struct tx *t, const uint8_t *s, size_t n)
{
	size_t i = 0, run = 0;

	for (i = 0; i < n; i++) {
		char e[8];
		uint8_t c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (i > run && !put(t, (const char *)s + run, i - run))
			return false;
		run = i + 1;
		switch (c) {
		case '"': memcpy(e, "\\\"", 3); break;
		case '\\': memcpy(e, "\\\\", 3); break;
		case '\b': memcpy(e, "\\b", 3); break;
		case '\f': memcpy(e, "\\f", 3); break;
		case '\n': memcpy(e, "\\n", 3); break;
		case '\r': memcpy(e, "\\r", 3); break;
		case '\t': memcpy(e, "\\t", 3); break;
		default: snprintf(e, sizeof(e), "\\u%04X", c); break;
		}
		if (!put(t, e, strlen(e)))
			return false;
	}
	return i == run || put(t, (const char *)s + run, i - run);
}

static bool put_string(struct tx *t, const uint8_t *s, size_t n)
{
	return put(t, "\"", 1) && put_escaped(t, s, n) && put(t, "\"", 1);
}

/* ==================================================================================== */
/* item structure                                                                       */
/* ==================================================================================== */

/* A key of the map being closed, for sorting. */
struct keyref {
	const uint8_t *p;
	size_t n;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* No key twice in the innermost map: sort a copy of its keys, O(n log n). */
static bool check_duplicates(struct tx *t, const struct level *l)
{
	size_t n = t->n_spans - l->keys0;
	struct keyref *r;
	char p[MGW_DIAG_WHERE_MAX];

	if (n < 2)
		return true;
	if (!(r = talloc_array(t->tmp, struct keyref, n)))
		return fail(t, MGW_E_NOMEM, ROOT_PTR, "out of memory");
	for (size_t i = 0; i < n; i++) {
		r[i].p = t->keys + t->spans[l->keys0 + i].off;
		r[i].n = t->spans[l->keys0 + i].len;
	}
	qsort(r, n, sizeof(*r), keyref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (keyref_cmp(&r[i - 1], &r[i]) == 0) {
			ptr(t, p, sizeof(p), false);
			ptr_add(p, sizeof(p), r[i].p, r[i].n);
			talloc_free(r);
			return fail(t, MGW_E_MALFORMED, p, "duplicate member");
		}
	}
	talloc_free(r);
	return true;
}

/* Close the innermost container. */
static bool close_level(struct tx *t)
{
	struct level *l = &t->lv[t->depth - 1];

	if (l->map) {
		if (l->n % 2)
			return fail_here(t, MGW_E_MALFORMED, "map key without a value");
		if (!check_duplicates(t, l))
			return false;
		t->n_spans = l->keys0;
		t->keys_len = l->keys_off;
	}
	if (!put(t, l->map ? "}" : "]", 1))
		return false;
	t->depth--;
	return true;
}

/* A data item ended: count it in its container, closing every container it completes. */
static bool item_end(struct tx *t)
{
	while (t->depth > 0) {
		struct level *l = &t->lv[t->depth - 1];

		l->n++;
		if (l->indef || --l->left > 0)
			return true;
		if (!close_level(t))
			return false;
	}
	t->done = true;
	return true;
}

/* A data item starts: check where it may stand, and write the separator before it. */
static bool item_begin(struct tx *t, bool is_map, bool is_text)
{
	struct level *l;

	if (t->str != STR_NONE)
		return fail(t, MGW_E_MALFORMED, ROOT_PTR,
			    "indefinite-length string chunk of the wrong type");
	if (!t->started) {
		if (!is_map)
			return fail(t, MGW_E_MALFORMED, ROOT_PTR, "body is not a CBOR map");
		t->started = true;
		return true;
	}
	l = &t->lv[t->depth - 1];
	if (at_key(t)) {
		if (!is_text)
			return fail_here(t, MGW_E_MALFORMED, "map key is not a text string");
		return l->n == 0 || put(t, ",", 1);
	}
	if (t->depth + 1 > JSON_DEPTH_MAX) {
		char p[MGW_DIAG_WHERE_MAX] = "";
		const struct span *s = &t->spans[t->lv[0].cur_key];
		char msg[64];

		ptr_add(p, sizeof(p), t->keys + s->off, s->len);
		snprintf(msg, sizeof(msg), "CBOR nested deeper than %d", JSON_DEPTH_MAX);
		return fail(t, MGW_E_MALFORMED, p, msg);
	}
	return l->map || l->n == 0 || put(t, ",", 1);
}

/* Open an array or a map (size items; a map's size counts pairs). */
static void open_level(struct tx *t, bool map, bool indef, uint64_t size)
{
	struct level *l;

	if (!item_begin(t, map, false))
		return;
	if (!put(t, map ? "{" : "[", 1))
		return;
	if (!indef && map && size > UINT64_MAX / 2) {
		fail(t, MGW_E_MALFORMED, ROOT_PTR, "map size out of range");
		return;
	}
	l = &t->lv[t->depth++];
	*l = (struct level){ .map = map, .indef = indef, .left = map ? size * 2 : size,
			     .keys0 = t->n_spans, .keys_off = t->keys_len };
	if (!indef && size == 0) {
		if (close_level(t))
			item_end(t);
	}
}

/* A complete key (bytes in keys from off): record it and write it. */
static bool key_done(struct tx *t, size_t off)
{
	struct level *l = &t->lv[t->depth - 1];
	struct span *q;

	if (!(q = grow(t->tmp, t->spans, &t->spans_cap, t->n_spans + 1, t->in_len, sizeof(*q))))
		return fail(t, MGW_E_NOMEM, ROOT_PTR, "out of memory");
	t->spans = q;
	t->spans[t->n_spans] = (struct span){ .off = off, .len = t->keys_len - off };
	l->cur_key = t->n_spans++;
	return put_string(t, t->keys + off, t->keys_len - off) && put(t, ":", 1) && item_end(t);
}

static bool key_append(struct tx *t, const uint8_t *s, size_t n)
{
	uint8_t *q;

	if (!mgw_utf8_valid(s, n))
		return fail_here(t, MGW_E_MALFORMED, "map key is not valid UTF-8");
	if (!(q = grow(t->tmp, t->keys, &t->keys_cap, t->keys_len + n, t->in_len, 1)))
		return fail(t, MGW_E_NOMEM, ROOT_PTR, "out of memory");
	t->keys = q;
	if (n)
		memcpy(t->keys + t->keys_len, s, n);
	t->keys_len += n;
	return true;
}

/* Byte strings stand only as the top-level "payload". */
static bool payload_here(const struct tx *t)
{
	const struct span *s;

	if (t->depth != 1 || at_key(t))
		return false;
	s = &t->spans[t->lv[0].cur_key];
	return s->len == 7 && memcmp(t->keys + s->off, "payload", 7) == 0;
}

static bool bytes_done(struct tx *t, const uint8_t *s, size_t n)
{
	if (!mgw_utf8_valid(s, n))
		return fail_here(t, MGW_E_TYPE, "byte-string payload is not valid UTF-8");
	return put_string(t, s, n) && item_end(t);
}

/* ==================================================================================== */
/* libcbor callbacks                                                                    */
/* ==================================================================================== */

static void on_int(struct tx *t, uint64_t v, bool neg)
{
	char s[24];

	if (!item_begin(t, false, false))
		return;
	if (v > INT64_MAX) {
		fail_here(t, MGW_E_TYPE, "integer out of the int64 range");
		return;
	}
	if (neg)
		snprintf(s, sizeof(s), "%" PRId64, -1 - (int64_t)v);
	else
		snprintf(s, sizeof(s), "%" PRIu64, v);
	if (put(t, s, strlen(s)))
		item_end(t);
}

static void cb_uint8(void *c, uint8_t v) { on_int(c, v, false); }
static void cb_uint16(void *c, uint16_t v) { on_int(c, v, false); }
static void cb_uint32(void *c, uint32_t v) { on_int(c, v, false); }
static void cb_uint64(void *c, uint64_t v) { on_int(c, v, false); }
static void cb_negint8(void *c, uint8_t v) { on_int(c, v, true); }
static void cb_negint16(void *c, uint16_t v) { on_int(c, v, true); }
static void cb_negint32(void *c, uint32_t v) { on_int(c, v, true); }
static void cb_negint64(void *c, uint64_t v) { on_int(c, v, true); }

/* A definite text string, or one chunk of an indefinite one. */
static void cb_string(void *c, cbor_data s, size_t n)
{
	struct tx *t = c;

	if (t->str == STR_TEXT) {
		if (t->str_key) {
			key_append(t, s, n);
		} else if (!mgw_utf8_valid(s, n)) {
			fail_here(t, MGW_E_MALFORMED, "text string is not valid UTF-8");
		} else {
			put_escaped(t, s, n);
		}
		return;
	}
	if (!item_begin(t, false, true))
		return;
	if (at_key(t)) {
		size_t off = t->keys_len;

		if (key_append(t, s, n))
			key_done(t, off);
		return;
	}
	if (!mgw_utf8_valid(s, n)) {
		fail_here(t, MGW_E_MALFORMED, "text string is not valid UTF-8");
		return;
	}
	if (put_string(t, s, n))
		item_end(t);
}

static void cb_string_start(void *c)
{
	struct tx *t = c;

	if (!item_begin(t, false, true))
		return;
	t->str = STR_TEXT;
	t->str_key = at_key(t);
	t->str_off = t->keys_len;
	if (!t->str_key)
		put(t, "\"", 1);
}

/* A definite byte string, or one chunk of an indefinite one. */
static void cb_bytes(void *c, cbor_data s, size_t n)
{
	struct tx *t = c;

	if (t->str == STR_BYTES) {
		uint8_t *q = grow(t->tmp, t->bytes, &t->bytes_cap, t->bytes_len + n, t->in_len, 1);

		if (!q) {
			fail(t, MGW_E_NOMEM, ROOT_PTR, "out of memory");
			return;
		}
		t->bytes = q;
		if (n)
			memcpy(t->bytes + t->bytes_len, s, n);
		t->bytes_len += n;
		return;
	}
	if (!item_begin(t, false, false))
		return;
	if (!payload_here(t)) {
		fail_here(t, MGW_E_TYPE, "byte string not allowed here");
		return;
	}
	bytes_done(t, s, n);
}

static void cb_bytes_start(void *c)
{
	struct tx *t = c;

	if (!item_begin(t, false, false))
		return;
	if (!payload_here(t)) {
		fail_here(t, MGW_E_TYPE, "byte string not allowed here");
		return;
	}
	t->str = STR_BYTES;
	t->bytes_len = 0;
}

static void cb_array_start(void *c, size_t n) { open_level(c, false, false, n); }
static void cb_indef_array_start(void *c) { open_level(c, false, true, 0); }
static void cb_map_start(void *c, size_t n) { open_level(c, true, false, n); }
static void cb_indef_map_start(void *c) { open_level(c, true, true, 0); }

static void cb_tag(void *c, uint64_t v)
{
	struct tx *t = c;
	char msg[64];

	if (t->str != STR_NONE) {
		item_begin(t, false, false); /* refuses */
		return;
	}
	if (!t->started && !t->tagged && v == TAG_SELF_DESCRIBE) {
		t->tagged = true;
		return;
	}
	snprintf(msg, sizeof(msg), "CBOR tag %" PRIu64 " not supported", v);
	if (!t->started)
		fail(t, MGW_E_UNSUPPORTED, ROOT_PTR, msg);
	else
		fail_here(t, MGW_E_UNSUPPORTED, msg);
}

static void on_float(struct tx *t, double v)
{
	char s[40];

	if (!item_begin(t, false, false))
		return;
	if (!isfinite(v)) {
		fail_here(t, MGW_E_TYPE, "NaN or infinity has no JSON form");
		return;
	}
	snprintf(s, sizeof(s), "%.17g", v);
	/* keep it a JSON real: an integer member must not accept 3.0 */
	if (!strpbrk(s, ".eE"))
		strncat(s, ".0", sizeof(s) - strlen(s) - 1);
	if (put(t, s, strlen(s)))
		item_end(t);
}

static void cb_float2(void *c, float v) { on_float(c, v); }
static void cb_float4(void *c, float v) { on_float(c, v); }
static void cb_float8(void *c, double v) { on_float(c, v); }

static void on_literal(struct tx *t, const char *s)
{
	if (item_begin(t, false, false) && put(t, s, strlen(s)))
		item_end(t);
}

static void cb_null(void *c) { on_literal(c, "null"); }
static void cb_bool(void *c, bool v) { on_literal(c, v ? "true" : "false"); }

static void cb_undefined(void *c)
{
	struct tx *t = c;

	if (item_begin(t, false, false))
		fail_here(t, MGW_E_TYPE, "undefined has no JSON form");
}

static void cb_break(void *c)
{
	struct tx *t = c;
	enum str_kind k = t->str;

	if (k != STR_NONE) {
		t->str = STR_NONE;
		if (k == STR_BYTES) {
			bytes_done(t, t->bytes, t->bytes_len);
		} else if (t->str_key) {
			key_done(t, t->str_off);
		} else if (put(t, "\"", 1)) {
			item_end(t);
		}
		return;
	}
	if (t->depth == 0 || !t->lv[t->depth - 1].indef) {
		fail(t, MGW_E_MALFORMED, ROOT_PTR, "unexpected CBOR break");
		return;
	}
	if (close_level(t))
		item_end(t);
}

static const struct cbor_callbacks callbacks = {
	.uint8 = cb_uint8,
	.uint16 = cb_uint16,
	.uint32 = cb_uint32,
	.uint64 = cb_uint64,
	.negint8 = cb_negint8,
	.negint16 = cb_negint16,
	.negint32 = cb_negint32,
	.negint64 = cb_negint64,
	/* libcbor 0.8 names these two slots the other way round: *_start is the indefinite
	 * start, the other one gets the bytes */
	.byte_string_start = cb_bytes_start,
	.byte_string = cb_bytes,
	.string = cb_string,
	.string_start = cb_string_start,
	.indef_array_start = cb_indef_array_start,
	.array_start = cb_array_start,
	.indef_map_start = cb_indef_map_start,
	.map_start = cb_map_start,
	.tag = cb_tag,
	.float2 = cb_float2,
	.float4 = cb_float4,
	.float8 = cb_float8,
	.undefined = cb_undefined,
	.null = cb_null,
	.boolean = cb_bool,
	.indef_break = cb_break,
};

/* ==================================================================================== */
/* CBOR -> JSON                                                                         */
/* ==================================================================================== */

/* The JSON text may be this long: escapes grow it, but not without bound. */
static size_t json_max(size_t max_body)
{
	return max_body > (SIZE_MAX - 64) / 2 ? SIZE_MAX - 1 : max_body * 2 + 64;
}

int mgw_cbor_to_json(void *ctx, const uint8_t *buf, size_t len,
		     const struct mgw_codec_limits *lim, char **json, size_t *json_len,
		     struct mgw_diag *diag)
{
	struct tx t = { .diag = diag };
	struct cbor_decoder_result r;
	size_t pos = 0;
	int rc;

	mgw_diag_clear(diag);
	if (!json || (!buf && len)) {
		rc = mgw_diag_set(diag, MGW_E_INVAL, ROOT_PTR, "invalid arguments");
		goto out;
	}
	if (!lim)
		lim = &mgw_codec_default_limits;
	if (len > lim->max_body) {
		rc = mgw_diag_set(diag, MGW_E_TOO_BIG, ROOT_PTR, "body of %zu bytes exceeds %zu",
				  len, lim->max_body);
		goto out;
	}
	if (!(t.tmp = talloc_new(NULL))) {
		rc = mgw_diag_set(diag, MGW_E_NOMEM, ROOT_PTR, "out of memory");
		goto out;
	}
	if (len == 0) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, ROOT_PTR, "empty body");
		goto out;
	}
	t.out_max = json_max(lim->max_body);
	t.in_len = len;
	while (!t.done) {
		r = cbor_stream_decode(buf + pos, len - pos, &callbacks, &t);
		if (t.rc != MGW_OK) {
			rc = t.rc;
			goto out;
		}
		if (r.status == CBOR_DECODER_NEDATA) {
			rc = mgw_diag_set(diag, MGW_E_MALFORMED, ROOT_PTR, "truncated CBOR");
			goto out;
		}
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
			rc = mgw_diag_set(diag, MGW_E_MALFORMED, ROOT_PTR,
					  "invalid CBOR at byte %zu", pos);
			goto out;
		}
		pos += r.read;
	}
	if (pos != len) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, ROOT_PTR,
				  "trailing data after the CBOR map (%zu bytes)", len - pos);
		goto out;
	}
	t.out[t.out_len] = '\0'; /* put() always keeps room for it */
	*json = talloc_steal(ctx, t.out);
	if (json_len)
		*json_len = t.out_len;
	rc = MGW_OK;
out:
	talloc_free(t.tmp);
	return rc;
}

int mgw_cbor_decode_msg(void *ctx, enum mgw_body b, const uint8_t *buf, size_t len,
			const struct mgw_codec_limits *lim, struct mgw_msg **out,
			struct mgw_diag *diag)
{
	struct mgw_codec_limits jl;
	char *json = NULL;
	size_t n = 0;
	int rc;

	if (!lim)
		lim = &mgw_codec_default_limits;
	if (!out) {
		mgw_diag_clear(diag);
		return mgw_diag_set(diag, MGW_E_INVAL, ROOT_PTR, "invalid arguments");
	}
	if ((rc = mgw_cbor_to_json(NULL, buf, len, lim, &json, &n, diag)) != MGW_OK)
		goto out;
	/* the input was within max_body; its JSON form may be longer (escapes) */
	jl = (struct mgw_codec_limits){ .max_body = json_max(lim->max_body),
					.max_payload = lim->max_payload };
	rc = mgw_json_decode_msg(ctx, b, json, n, &jl, out, diag);
out:
	talloc_free(json);
	return rc;
}

/* ==================================================================================== */
/* JSON -> CBOR                                                                         */
/* ==================================================================================== */

struct cbuf {
	void *ctx;
	uint8_t *p;
	size_t len, cap;
};

/* Room for n more bytes. */
static int cb_room(struct cbuf *b, size_t n)
{
	uint8_t *q;

	if (n > SIZE_MAX - b->len || !(q = grow(b->ctx, b->p, &b->cap, b->len + n, SIZE_MAX, 1)))
		return MGW_E_NOMEM;
	b->p = q;
	return MGW_OK;
}

/* Write one item head with a libcbor encoder (at most 9 bytes). */
#define HEAD_MAX 9
#define EMIT(b, call)                                                                         \
	do {                                                                                  \
		size_t w_;                                                                    \
		if ((rc = cb_room(b, HEAD_MAX)) != MGW_OK)                                   \
			return rc;                                                            \
		if (!(w_ = (call)))                                                           \
			return MGW_E_INTERNAL;                                                \
		(b)->len += w_;                                                               \
	} while (0)
#define AT(b) ((b)->p + (b)->len), HEAD_MAX

static int cbor_text(struct cbuf *b, const char *s, size_t n)
{
	int rc;

	EMIT(b, cbor_encode_string_start(n, AT(b)));
	if ((rc = cb_room(b, n)) != MGW_OK)
		return rc;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	return MGW_OK;
}

/* Write v (and what it holds, depth levels down at most) in CBOR. */
static int cbor_value(struct cbuf *b, const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;
	json_int_t x;
	int rc;

	if (depth > JSON_DEPTH_MAX)
		return MGW_E_INTERNAL; /* the JSON encoder never nests this deep */
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		EMIT(b, cbor_encode_map_start(json_object_size(v), AT(b)));
		json_object_foreach((json_t *)v, k, c) {
			if ((rc = cbor_text(b, k, strlen(k))) != MGW_OK ||
			    (rc = cbor_value(b, c, depth + 1)) != MGW_OK)
				return rc;
		}
		return MGW_OK;
	case JSON_ARRAY:
		EMIT(b, cbor_encode_array_start(json_array_size(v), AT(b)));
		json_array_foreach(v, i, c)
			if ((rc = cbor_value(b, c, depth + 1)) != MGW_OK)
				return rc;
		return MGW_OK;
	case JSON_STRING:
		return cbor_text(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		x = json_integer_value(v);
		if (x >= 0)
			EMIT(b, cbor_encode_uint((uint64_t)x, AT(b)));
		else
			EMIT(b, cbor_encode_negint((uint64_t)(-1 - x), AT(b)));
		return MGW_OK;
	case JSON_REAL:
		EMIT(b, cbor_encode_double(json_real_value(v), AT(b)));
		return MGW_OK;
	case JSON_TRUE:
	case JSON_FALSE:
		EMIT(b, cbor_encode_bool(json_is_true(v), AT(b)));
		return MGW_OK;
	case JSON_NULL:
		EMIT(b, cbor_encode_null(AT(b)));
		return MGW_OK;
	}
	return MGW_E_INTERNAL;
}

int mgw_cbor_encode_msg(void *ctx, enum mgw_body b, const struct mgw_msg *m, uint8_t **out,
			size_t *len, struct mgw_diag *diag)
{
	struct cbuf cb = { 0 };
	json_error_t err;
	json_t *root = NULL;
	char *json = NULL;
	size_t n = 0;
	int rc;

	if (!out || !len) {
		mgw_diag_clear(diag);
		return mgw_diag_set(diag, MGW_E_INVAL, ROOT_PTR, "invalid arguments");
	}
	if ((rc = mgw_json_encode_msg(NULL, b, m, &json, &n, diag)) != MGW_OK)
		goto out;
	/* the encoder's own text: escaped U+0000 in a payload is kept */
	if (!(root = json_loadb(json, n, JSON_ALLOW_NUL, &err))) {
		rc = mgw_diag_set(diag, MGW_E_INTERNAL, ROOT_PTR, "JSON encoder output unreadable");
		goto out;
	}
	if (!(cb.ctx = talloc_new(NULL))) {
		rc = mgw_diag_set(diag, MGW_E_NOMEM, ROOT_PTR, "out of memory");
		goto out;
	}
	if ((rc = cbor_value(&cb, root, 1)) != MGW_OK) {
		mgw_diag_set(diag, rc, ROOT_PTR, "%s", mgw_strerror(rc));
		goto out;
	}
	*out = talloc_steal(ctx, cb.p);
	*len = cb.len;
	rc = MGW_OK;
out:
	json_decref(root);
	talloc_free(json);
	talloc_free(cb.ctx);
	return rc;
}
