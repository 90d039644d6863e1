/* msgin5g-gw security: COSE_Encrypt0 / COSE_Mac0 with a per-device key and a replay window
 * (include/mgw/cose.h, doc/internals/cose.md).
 *
 * Decoding reads the untrusted bytes one item head at a time with libcbor's streaming
 * decoder (cbor_stream_decode; tag heads are read here, see tag_head()), never building a
 * tree: a COSE message is a short, fixed
 * shape, so a recursive-descent reader over item heads checks each position for exactly
 * the type it allows and keeps borrowed pointers into the input. Encoding writes item
 * heads with libcbor's cbor_encode_* into a buffer sized up front.
 *
 * Crypto is OpenSSL 3: EVP_aes_128_ccm (whose decrypt compares the tag with CRYPTO_memcmp
 * and wipes the output when it does not match), AES-128-CBC for AES-CBC-MAC, HMAC() with
 * SHA-256; MAC tags are compared with CRYPTO_memcmp. Key bytes live only in struct
 * mgw_cose_key, wiped by its talloc destructor, and never reach a diagnostic.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cbor.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <talloc.h>

#include <mgw/cose.h>
#include <mgw/err.h>

#define CCM_TAG_LEN 8
#define AES_KEY_LEN 16
#define AES_BLOCK 16
#define ID_PIV_MAX (MGW_COSE_NONCE_LEN - 6) /* RFC 8613 5.2 */
#define IV_HDR_MAX 16                       /* header 5: longest IV of any algorithm */
#define SKIP_DEPTH 8                        /* an unknown header's value nests this deep */
#define MAC_MAX 32                          /* longest MAC output (SHA-256) */

/* COSE header labels (RFC 9052 section 3.1) */
enum {
	HDR_ALG = 1,
	HDR_CRIT = 2,
	HDR_CTYP = 3,
	HDR_KID = 4,
	HDR_IV = 5,
	HDR_PIV = 6,
};

/* ==================================================================================== */
/* algorithms and keys                                                                  */
/* ==================================================================================== */

static const struct alg_info {
	int alg;
	const char *name;
	bool aead;
	size_t key_min, key_max;
	size_t tag_len;
} algs[] = {
	{ MGW_COSE_ALG_HMAC_256_64, "HMAC 256/64", false, 32, 64, 8 },
	{ MGW_COSE_ALG_HMAC_256_256, "HMAC 256/256", false, 32, 64, 32 },
	{ MGW_COSE_ALG_AES_CCM_16_64_128, "AES-CCM-16-64-128", true, 16, 16, CCM_TAG_LEN },
	{ MGW_COSE_ALG_AES_MAC_128_64, "AES-MAC 128/64", false, 16, 16, 8 },
};

static const struct alg_info *alg_find(int alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

int mgw_cose_alg_by_name(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return algs[i].alg;
	return 0;
}

const char *mgw_cose_alg_name(int alg)
{
	const struct alg_info *a = alg_find(alg);

	return a ? a->name : "?";
}

struct mgw_cose_key {
	const struct alg_info *alg;
	size_t key_len, kid_len;
	bool has_civ;
	uint8_t key[64];
	uint8_t kid[MGW_COSE_KID_MAX];
	uint8_t civ[MGW_COSE_NONCE_LEN];
};

static int key_destructor(struct mgw_cose_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
	return 0;
}

int mgw_cose_key_alloc(void *ctx, const struct mgw_cose_key_spec *spec,
		       struct mgw_cose_key **out, struct mgw_diag *diag)
{
	const struct alg_info *a;
	struct mgw_cose_key *k;

	mgw_diag_clear(diag);
	if (!spec || !out)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (!(a = alg_find(spec->alg)))
		return mgw_diag_set(diag, MGW_E_INVAL, "alg", "COSE algorithm %d not supported",
				    spec->alg);
	if (!spec->key || spec->key_len < a->key_min || spec->key_len > a->key_max)
		return mgw_diag_set(diag, MGW_E_INVAL, "key", "%s takes a key of %zu..%zu bytes",
				    a->name, a->key_min, a->key_max);
	if (spec->kid_len > MGW_COSE_KID_MAX || (spec->kid_len && !spec->kid))
		return mgw_diag_set(diag, MGW_E_INVAL, "kid", "kid longer than %d bytes",
				    MGW_COSE_KID_MAX);
	if (spec->common_iv && !a->aead)
		return mgw_diag_set(diag, MGW_E_INVAL, "common_iv", "%s takes no Common IV",
				    a->name);
	if (spec->common_iv && spec->common_iv_len != MGW_COSE_NONCE_LEN)
		return mgw_diag_set(diag, MGW_E_INVAL, "common_iv", "Common IV is not %d bytes",
				    MGW_COSE_NONCE_LEN);
	if (!(k = talloc_zero(ctx, struct mgw_cose_key)))
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	talloc_set_destructor(k, key_destructor);
	k->alg = a;
	k->key_len = spec->key_len;
	memcpy(k->key, spec->key, spec->key_len);
	k->kid_len = spec->kid_len;
	if (spec->kid_len)
		memcpy(k->kid, spec->kid, spec->kid_len);
	if (spec->common_iv) {
		k->has_civ = true;
		memcpy(k->civ, spec->common_iv, MGW_COSE_NONCE_LEN);
	}
	*out = k;
	return MGW_OK;
}

void mgw_cose_key_free(struct mgw_cose_key *key)
{
	talloc_free(key);
}

int mgw_cose_key_alg(const struct mgw_cose_key *key)
{
	return key ? key->alg->alg : 0;
}

size_t mgw_cose_key_kid(const struct mgw_cose_key *key, const uint8_t **kid)
{
	if (!key)
		return 0;
	if (kid)
		*kid = key->kid;
	return key->kid_len;
}

/* ==================================================================================== */
/* reading CBOR item heads                                                              */
/* ==================================================================================== */

enum ik {
	IK_NONE,   /* the decoder reported nothing (a CBOR form libcbor does not hand out) */
	IK_UINT,
	IK_NEG,    /* -1 - v */
	IK_BYTES,
	IK_TEXT,
	IK_ARRAY,
	IK_MAP,
	IK_TAG,
	IK_NULL,
	IK_SIMPLE, /* false, true, undefined */
	IK_FLOAT,
	IK_INDEF,  /* any indefinite-length start, or a break */
};

struct item {
	enum ik k;
	uint64_t v;       /* integer, array/map count, tag number */
	const uint8_t *s; /* byte / text string */
	size_t n;
};

static void set_int(void *c, enum ik k, uint64_t v)
{
	struct item *it = c;

	it->k = k;
	it->v = v;
}

static void cb_u8(void *c, uint8_t v) { set_int(c, IK_UINT, v); }
static void cb_u16(void *c, uint16_t v) { set_int(c, IK_UINT, v); }
static void cb_u32(void *c, uint32_t v) { set_int(c, IK_UINT, v); }
static void cb_u64(void *c, uint64_t v) { set_int(c, IK_UINT, v); }
static void cb_n8(void *c, uint8_t v) { set_int(c, IK_NEG, v); }
static void cb_n16(void *c, uint16_t v) { set_int(c, IK_NEG, v); }
static void cb_n32(void *c, uint32_t v) { set_int(c, IK_NEG, v); }
static void cb_n64(void *c, uint64_t v) { set_int(c, IK_NEG, v); }
static void cb_array(void *c, size_t n) { set_int(c, IK_ARRAY, n); }
static void cb_map(void *c, size_t n) { set_int(c, IK_MAP, n); }
static void cb_tag(void *c, uint64_t v) { set_int(c, IK_TAG, v); }
static void cb_indef(void *c) { set_int(c, IK_INDEF, 0); }
static void cb_null(void *c) { set_int(c, IK_NULL, 0); }
static void cb_simple(void *c) { set_int(c, IK_SIMPLE, 0); }
static void cb_bool(void *c, bool v) { set_int(c, IK_SIMPLE, v); }
static void cb_float(void *c, float v) { set_int(c, IK_FLOAT, 0); }
static void cb_double(void *c, double v) { set_int(c, IK_FLOAT, 0); }

static void set_str(void *c, enum ik k, cbor_data s, size_t n)
{
	struct item *it = c;

	it->k = k;
	it->s = s;
	it->n = n;
}

static void cb_bytes(void *c, cbor_data s, size_t n) { set_str(c, IK_BYTES, s, n); }
static void cb_text(void *c, cbor_data s, size_t n) { set_str(c, IK_TEXT, s, n); }

static const struct cbor_callbacks callbacks = {
	.uint8 = cb_u8,
	.uint16 = cb_u16,
	.uint32 = cb_u32,
	.uint64 = cb_u64,
	.negint8 = cb_n8,
	.negint16 = cb_n16,
	.negint32 = cb_n32,
	.negint64 = cb_n64,
	/* libcbor 0.8: *_start is the indefinite-length start; the other slot gets the bytes
	 * of a definite string (or of one chunk) */
	.byte_string_start = cb_indef,
	.byte_string = cb_bytes,
	.string = cb_text,
	.string_start = cb_indef,
	.indef_array_start = cb_indef,
	.array_start = cb_array,
	.indef_map_start = cb_indef,
	.map_start = cb_map,
	.tag = cb_tag,
	.float2 = cb_float,
	.float4 = cb_float,
	.float8 = cb_double,
	.undefined = cb_simple,
	.null = cb_null,
	.boolean = cb_bool,
	.indef_break = cb_indef,
};

struct rd {
	const uint8_t *p;
	size_t len, pos;
	struct mgw_diag *diag;
};

/* A tag head (major type 6), read here: libcbor 0.8's cbor_stream_decode() refuses the
 * one-byte heads of tags 6 to 20 (0xC6 - 0xD4) as "unassigned", and COSE_Encrypt0 (16) and
 * COSE_Mac0 (17) are among them. */
static int tag_head(struct rd *r, struct item *it, const char *where)
{
	uint8_t ai = r->p[r->pos] & 0x1F;
	size_t n = 0;

	if (ai >= 28)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "invalid CBOR at byte %zu",
				    r->pos);
	if (ai >= 24)
		n = (size_t)1 << (ai - 24);
	if (n >= r->len - r->pos)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "truncated CBOR");
	it->k = IK_TAG;
	it->v = n ? 0 : ai;
	for (size_t i = 1; i <= n; i++)
		it->v = it->v << 8 | r->p[r->pos + i];
	r->pos += 1 + n;
	return MGW_OK;
}

/* Read the next item head (a definite string comes whole). */
static int next(struct rd *r, struct item *it, const char *where)
{
	struct cbor_decoder_result res;

	*it = (struct item){ .k = IK_NONE };
	if (r->pos >= r->len)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "truncated CBOR");
	if (r->p[r->pos] >> 5 == 6)
		return tag_head(r, it, where);
	res = cbor_stream_decode(r->p + r->pos, r->len - r->pos, &callbacks, it);
	if (res.status == CBOR_DECODER_NEDATA)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "truncated CBOR");
	if (res.status != CBOR_DECODER_FINISHED || res.read == 0 || it->k == IK_NONE)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "invalid CBOR at byte %zu",
				    r->pos);
	if (it->k == IK_INDEF)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where,
				    "indefinite-length CBOR item at byte %zu", r->pos);
	r->pos += res.read;
	return MGW_OK;
}

/* Skip one data item (a header value nobody reads), depth levels down at most. */
static int skip(struct rd *r, int depth, const char *where)
{
	struct item it;
	uint64_t n;
	int rc;

	if (depth > SKIP_DEPTH)
		return mgw_diag_set(r->diag, MGW_E_MALFORMED, where,
				    "header value nested deeper than %d", SKIP_DEPTH);
	if ((rc = next(r, &it, where)) != MGW_OK)
		return rc;
	switch (it.k) {
	case IK_TAG:
		return skip(r, depth + 1, where);
	case IK_ARRAY:
	case IK_MAP:
		/* every item takes a byte at least: a count beyond the input is truncated */
		if (it.v > r->len - r->pos || (it.k == IK_MAP && it.v > (r->len - r->pos) / 2))
			return mgw_diag_set(r->diag, MGW_E_MALFORMED, where, "truncated CBOR");
		n = it.k == IK_MAP ? it.v * 2 : it.v;
		for (uint64_t i = 0; i < n; i++)
			if ((rc = skip(r, depth + 1, where)) != MGW_OK)
				return rc;
		return MGW_OK;
	default:
		return MGW_OK;
	}
}

/* ==================================================================================== */
/* decoding                                                                             */
/* ==================================================================================== */

/* A header label: an integer (neg: -1 - v) or a text string. */
struct label {
	enum ik k; /* IK_UINT, IK_NEG or IK_TEXT */
	uint64_t v;
	const uint8_t *s;
	size_t n;
	bool prot;
};

struct hdrs {
	struct mgw_cose_msg *m;
	struct label seen[2 * MGW_COSE_HDR_MAX];
	size_t n_seen;
	bool has_crit;
	bool crit_text;
	uint64_t crit[MGW_COSE_HDR_MAX]; /* the integer labels of crit, as read (k in crit_k) */
	enum ik crit_k[MGW_COSE_HDR_MAX];
	size_t n_crit;
};

static bool label_same(const struct label *a, const struct label *b)
{
	if (a->k != b->k)
		return false;
	if (a->k == IK_TEXT)
		return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
	return a->v == b->v;
}

/* A text label fit for a diagnostic: printable ASCII only, cut to fit. */
static const char *printable(const uint8_t *s, size_t n, char *buf, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < cap; i++)
		buf[j++] = s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' ? (char)s[i] : '?';
	buf[j] = '\0';
	return buf;
}

static void where_label(char *w, size_t cap, const char *base, const struct label *l)
{
	char t[24];

	if (l->k == IK_UINT)
		snprintf(w, cap, "%s/%" PRIu64, base, l->v);
	else if (l->k == IK_NEG)
		snprintf(w, cap, "%s/-%" PRIu64, base, l->v == UINT64_MAX ? l->v : l->v + 1);
	else
		snprintf(w, cap, "%s/\"%s\"", base, printable(l->s, l->n, t, sizeof(t)));
}

/* An integer item's value when it fits int64. */
static bool item_int64(const struct item *it, int64_t *v)
{
	if ((it->k != IK_UINT && it->k != IK_NEG) || it->v > INT64_MAX)
		return false;
	*v = it->k == IK_UINT ? (int64_t)it->v : -1 - (int64_t)it->v;
	return true;
}

/* The value of one known header (the label l was just read). */
static int known_value(struct rd *r, struct hdrs *h, const struct label *l, const char *w)
{
	struct mgw_cose_msg *m = h->m;
	struct item it;
	int rc;

	if ((rc = next(r, &it, w)) != MGW_OK)
		return rc;
	switch (l->v) {
	case HDR_ALG:
		if (it.k == IK_TEXT) {
			m->alg_other = true;
		} else if (it.k == IK_UINT || it.k == IK_NEG) {
			if (!item_int64(&it, &m->alg))
				m->alg_other = true;
		} else {
			return mgw_diag_set(r->diag, MGW_E_TYPE, w,
					    "alg is not an integer or text");
		}
		m->has_alg = true;
		return MGW_OK;
	case HDR_CRIT:
		if (!l->prot)
			return mgw_diag_set(r->diag, MGW_E_MALFORMED, w,
					    "crit stands only in the protected header");
		if (it.k != IK_ARRAY)
			return mgw_diag_set(r->diag, MGW_E_TYPE, w, "crit is not an array");
		if (it.v == 0)
			return mgw_diag_set(r->diag, MGW_E_MALFORMED, w, "crit is empty");
		if (it.v > MGW_COSE_HDR_MAX)
			return mgw_diag_set(r->diag, MGW_E_TOO_BIG, w,
					    "crit lists more than %d labels", MGW_COSE_HDR_MAX);
		h->has_crit = true;
		for (uint64_t i = 0; i < it.v; i++) {
			struct item c;

			if ((rc = next(r, &c, w)) != MGW_OK)
				return rc;
			if (c.k == IK_TEXT) {
				h->crit_text = true;
			} else if (c.k == IK_UINT || c.k == IK_NEG) {
				h->crit_k[h->n_crit] = c.k;
				h->crit[h->n_crit++] = c.v;
			} else {
				return mgw_diag_set(r->diag, MGW_E_TYPE, w,
						    "crit label is not an integer or text");
			}
		}
		return MGW_OK;
	case HDR_CTYP:
		if (it.k == IK_TEXT || (it.k == IK_UINT && it.v <= UINT16_MAX))
			return MGW_OK;
		return mgw_diag_set(r->diag, MGW_E_TYPE, w, "content type is not a uint16 or text");
	case HDR_KID:
		if (it.k != IK_BYTES)
			return mgw_diag_set(r->diag, MGW_E_TYPE, w, "kid is not a byte string");
		if (it.n > MGW_COSE_KID_MAX)
			return mgw_diag_set(r->diag, MGW_E_TOO_BIG, w, "kid longer than %d bytes",
					    MGW_COSE_KID_MAX);
		m->has_kid = true;
		m->kid = it.s;
		m->kid_len = it.n;
		return MGW_OK;
	case HDR_IV:
		if (it.k != IK_BYTES)
			return mgw_diag_set(r->diag, MGW_E_TYPE, w, "IV is not a byte string");
		if (it.n == 0 || it.n > IV_HDR_MAX)
			return mgw_diag_set(r->diag, MGW_E_TYPE, w, "IV of %zu bytes", it.n);
		m->has_iv = true;
		m->iv = it.s;
		m->iv_len = it.n;
		return MGW_OK;
	case HDR_PIV:
		if (it.k != IK_BYTES)
			return mgw_diag_set(r->diag, MGW_E_TYPE, w,
					    "Partial IV is not a byte string");
		if (it.n > MGW_COSE_PIV_MAX)
			return mgw_diag_set(r->diag, MGW_E_TOO_BIG, w,
					    "Partial IV longer than %d bytes", MGW_COSE_PIV_MAX);
		if (it.n == 0 || (it.n > 1 && it.s[0] == 0))
			return mgw_diag_set(r->diag, MGW_E_MALFORMED, w,
					    "Partial IV is empty or not minimally encoded");
		m->has_piv = true;
		m->piv_protected = l->prot;
		m->piv = it.s;
		m->piv_len = it.n;
		m->seq = 0;
		for (size_t i = 0; i < it.n; i++)
			m->seq = m->seq << 8 | it.s[i];
		return MGW_OK;
	}
	return mgw_diag_set(r->diag, MGW_E_INTERNAL, w, "unhandled header");
}

/* One header map (the protected one read from inside its bstr); *count its entries. */
static int header_map(struct rd *r, struct hdrs *h, bool prot, const char *base,
		      uint64_t *count)
{
	struct item it;
	int rc;

	if ((rc = next(r, &it, base)) != MGW_OK)
		return rc;
	if (it.k != IK_MAP)
		return mgw_diag_set(r->diag, MGW_E_TYPE, base, "header is not a map");
	if (it.v > MGW_COSE_HDR_MAX)
		return mgw_diag_set(r->diag, MGW_E_TOO_BIG, base, "more than %d headers",
				    MGW_COSE_HDR_MAX);
	*count = it.v;
	for (uint64_t i = 0; i < it.v; i++) {
		struct label l = { .prot = prot };
		struct item li;
		char w[64];

		if ((rc = next(r, &li, base)) != MGW_OK)
			return rc;
		if (li.k != IK_UINT && li.k != IK_NEG && li.k != IK_TEXT)
			return mgw_diag_set(r->diag, MGW_E_MALFORMED, base,
					    "header label is not an integer or text");
		l.k = li.k;
		l.v = li.v;
		l.s = li.s;
		l.n = li.n;
		where_label(w, sizeof(w), base, &l);
		for (size_t j = 0; j < h->n_seen; j++)
			if (label_same(&h->seen[j], &l))
				return mgw_diag_set(r->diag, MGW_E_MALFORMED, w,
						    h->seen[j].prot == prot ?
							    "header appears twice" :
							    "header in both the protected and the "
							    "unprotected map");
		h->seen[h->n_seen++] = l;
		if (l.k == IK_UINT && l.v >= HDR_ALG && l.v <= HDR_PIV)
			rc = known_value(r, h, &l, w);
		else
			rc = skip(r, 1, w);
		if (rc != MGW_OK)
			return rc;
	}
	return MGW_OK;
}

/* Every critical header must stand in the protected map, and be one this code acts on. */
static int check_crit(const struct hdrs *h, struct mgw_diag *diag)
{
	if (!h->has_crit)
		return MGW_OK;
	if (h->crit_text)
		return mgw_diag_set(diag, MGW_E_UNSUPPORTED, "/0/2",
				    "critical header with a text label not understood");
	for (size_t i = 0; i < h->n_crit; i++) {
		struct label want = { .k = h->crit_k[i], .v = h->crit[i] };
		bool found = false;

		if (want.k != IK_UINT ||
		    (want.v != HDR_ALG && want.v != HDR_CTYP && want.v != HDR_KID &&
		     want.v != HDR_IV && want.v != HDR_PIV))
		{
			char w[32];

			where_label(w, sizeof(w), "", &want);
			return mgw_diag_set(diag, MGW_E_UNSUPPORTED, "/0/2",
					    "critical header %s not understood", w + 1);
		}
		for (size_t j = 0; j < h->n_seen; j++)
			if (h->seen[j].prot && label_same(&h->seen[j], &want))
				found = true;
		if (!found)
			return mgw_diag_set(diag, MGW_E_MALFORMED, "/0/2",
					    "critical header %" PRIu64 " not in the protected map",
					    want.v);
	}
	return MGW_OK;
}

static const char *type_name(enum mgw_cose_type t)
{
	return t == MGW_COSE_ENCRYPT0 ? "COSE_Encrypt0" : "COSE_Mac0";
}

int mgw_cose_decode(const uint8_t *buf, size_t len, enum mgw_cose_type type, unsigned flags,
		    size_t max_len, struct mgw_cose_msg *out, struct mgw_diag *diag)
{
	struct mgw_cose_msg m = { 0 };
	struct hdrs hs = { .m = &m }, *h = &hs;
	struct rd r = { .p = buf, .len = len, .diag = diag };
	struct item it;
	uint64_t want, count;
	int rc;

	mgw_diag_clear(diag);
	if (!out || (!buf && len) ||
	    (type != MGW_COSE_ANY && type != MGW_COSE_ENCRYPT0 && type != MGW_COSE_MAC0))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (!max_len)
		max_len = MGW_COSE_MAX_DEFAULT;
	if (len > max_len)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, "",
				    "COSE message of %zu bytes exceeds %zu", len, max_len);
	if (len == 0)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "empty COSE message");
	if ((rc = next(&r, &it, "")) != MGW_OK)
		goto out;
	if (it.k == IK_TAG) {
		if (it.v != MGW_COSE_ENCRYPT0 && it.v != MGW_COSE_MAC0) {
			rc = mgw_diag_set(diag, MGW_E_UNSUPPORTED, "",
					  "CBOR tag %" PRIu64 " is not COSE_Encrypt0 or COSE_Mac0",
					  it.v);
			goto out;
		}
		if (type != MGW_COSE_ANY && it.v != (uint64_t)type) {
			rc = mgw_diag_set(diag, MGW_E_TYPE, "", "%s where %s was expected",
					  type_name((enum mgw_cose_type)it.v), type_name(type));
			goto out;
		}
		m.type = (enum mgw_cose_type)it.v;
		m.tagged = true;
		if ((rc = next(&r, &it, "")) != MGW_OK)
			goto out;
	} else if (type == MGW_COSE_ANY || (flags & MGW_COSE_TAG_REQUIRED)) {
		rc = mgw_diag_set(diag, MGW_E_MISSING, "", "COSE message without its CBOR tag");
		goto out;
	} else {
		m.type = type;
	}
	want = m.type == MGW_COSE_ENCRYPT0 ? 3 : 4;
	if (it.k != IK_ARRAY || it.v != want) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "", "%s is not an array of %" PRIu64,
				  type_name(m.type), want);
		goto out;
	}
	/* [0] protected: h'' or a bstr holding one map */
	if ((rc = next(&r, &it, "/0")) != MGW_OK)
		goto out;
	if (it.k != IK_BYTES) {
		rc = mgw_diag_set(diag, MGW_E_TYPE, "/0", "protected header is not a byte string");
		goto out;
	}
	m.protected_raw = it.s;
	m.protected_len = it.n;
	if (it.n) {
		struct rd pr = { .p = it.s, .len = it.n, .diag = diag };

		if ((rc = header_map(&pr, h, true, "/0", &count)) != MGW_OK)
			goto out;
		if (pr.pos != pr.len) {
			rc = mgw_diag_set(diag, MGW_E_MALFORMED, "/0",
					  "trailing bytes in the protected header");
			goto out;
		}
		/* RFC 9052 4.4, 5.3, 6.3: "If there are no protected attributes, a zero-length
		 * byte string is used" in the structure, whatever spelling of the empty map
		 * (h'a0') the sender chose (section 3 makes recipients accept both) */
		if (count == 0)
			m.protected_len = 0;
	}
	/* [1] unprotected */
	if ((rc = header_map(&r, h, false, "/1", &count)) != MGW_OK)
		goto out;
	if ((rc = check_crit(h, diag)) != MGW_OK)
		goto out;
	if (m.has_iv && m.has_piv) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "/1",
				  "both an IV and a Partial IV (RFC 9052 3.1)");
		goto out;
	}
	/* [2] ciphertext / payload */
	if ((rc = next(&r, &it, "/2")) != MGW_OK)
		goto out;
	if (it.k == IK_NULL) {
		rc = mgw_diag_set(diag, MGW_E_UNSUPPORTED, "/2", "detached content");
		goto out;
	}
	if (it.k != IK_BYTES) {
		rc = mgw_diag_set(diag, MGW_E_TYPE, "/2", "%s is not a byte string",
				  m.type == MGW_COSE_ENCRYPT0 ? "ciphertext" : "payload");
		goto out;
	}
	m.content = it.s;
	m.content_len = it.n;
	/* [3] Mac0 tag */
	if (m.type == MGW_COSE_MAC0) {
		if ((rc = next(&r, &it, "/3")) != MGW_OK)
			goto out;
		if (it.k != IK_BYTES) {
			rc = mgw_diag_set(diag, MGW_E_TYPE, "/3", "tag is not a byte string");
			goto out;
		}
		m.tag = it.s;
		m.tag_len = it.n;
	}
	if (r.pos != r.len) {
		rc = mgw_diag_set(diag, MGW_E_MALFORMED, "",
				  "trailing data after the COSE message (%zu bytes)",
				  r.len - r.pos);
		goto out;
	}
	*out = m;
	rc = MGW_OK;
out:
	return rc;
}

/* ==================================================================================== */
/* writing CBOR                                                                         */
/* ==================================================================================== */

#define HEAD_MAX 9 /* the longest CBOR item head */

struct wb {
	uint8_t *p;
	size_t len, cap;
	bool bad; /* ran out of room: a sizing bug */
};

static void w_head(struct wb *w, size_t n)
{
	if (!n)
		w->bad = true;
	w->len += n;
}

static void w_uint(struct wb *w, uint64_t v)
{
	w_head(w, cbor_encode_uint(v, w->p + w->len, w->cap - w->len));
}

static void w_int(struct wb *w, int64_t v)
{
	if (v >= 0)
		w_uint(w, (uint64_t)v);
	else
		w_head(w, cbor_encode_negint((uint64_t)(-1 - v), w->p + w->len, w->cap - w->len));
}

static void w_array(struct wb *w, size_t n)
{
	w_head(w, cbor_encode_array_start(n, w->p + w->len, w->cap - w->len));
}

static void w_map(struct wb *w, size_t n)
{
	w_head(w, cbor_encode_map_start(n, w->p + w->len, w->cap - w->len));
}

static void w_tag(struct wb *w, uint64_t v)
{
	w_head(w, cbor_encode_tag(v, w->p + w->len, w->cap - w->len));
}

static void w_raw(struct wb *w, const uint8_t *s, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = true;
		return;
	}
	if (n)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void w_bytes(struct wb *w, const uint8_t *s, size_t n)
{
	if (w->bad)
		return;
	w_head(w, cbor_encode_bytestring_start(n, w->p + w->len, w->cap - w->len));
	w_raw(w, s, n);
}

static void w_text(struct wb *w, const char *s)
{
	size_t n = strlen(s);

	if (w->bad)
		return;
	w_head(w, cbor_encode_string_start(n, w->p + w->len, w->cap - w->len));
	w_raw(w, (const uint8_t *)s, n);
}

/* A talloc buffer of cap bytes under ctx to write into. */
static int w_open(void *ctx, struct wb *w, size_t cap)
{
	*w = (struct wb){ .cap = cap };
	return (w->p = talloc_size(ctx, cap ? cap : 1)) ? MGW_OK : MGW_E_NOMEM;
}

/* The Enc_structure (RFC 9052 5.3) or MAC_structure (6.3) to authenticate: under ctx. */
static int to_be_authed(void *ctx, const char *context, const uint8_t *prot, size_t prot_len,
			const uint8_t *aad, size_t aad_len, const uint8_t *payload,
			size_t payload_len, bool mac, struct wb *w)
{
	size_t cap = 4 * HEAD_MAX + strlen(context) + prot_len + aad_len + payload_len;

	if (w_open(ctx, w, cap) != MGW_OK)
		return MGW_E_NOMEM;
	w_array(w, mac ? 4 : 3);
	w_text(w, context);
	w_bytes(w, prot, prot_len);
	w_bytes(w, aad, aad_len);
	if (mac)
		w_bytes(w, payload, payload_len);
	return w->bad ? MGW_E_INTERNAL : MGW_OK;
}

/* ==================================================================================== */
/* crypto                                                                               */
/* ==================================================================================== */

/* AES-CCM-16-64-128 seal: ct_tag gets n + 8 bytes. OpenSSL's CCM wants, in this order:
 * IV length and tag length, key and nonce, the total plaintext length (an update with no
 * input and no output), the AAD, then the data in one update. */
static int ccm_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *pt, size_t n, uint8_t *ct_tag)
{
	static const uint8_t none[1];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, l2 = 0, rc = MGW_E_CRYPTO;

	if (!c)
		return MGW_E_NOMEM;
	/* an empty plaintext still needs a non-NULL input, or no tag is computed */
	if (!pt)
		pt = none;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, MGW_COSE_NONCE_LEN, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, CCM_TAG_LEN, NULL) == 1 &&
	    EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &l, NULL, (int)n) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &l, aad, (int)aad_len) == 1 &&
	    EVP_EncryptUpdate(c, ct_tag, &l, pt, (int)n) == 1 && (size_t)l == n &&
	    EVP_EncryptFinal_ex(c, ct_tag + l, &l2) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, CCM_TAG_LEN, ct_tag + n) == 1)
		rc = MGW_OK;
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* AES-CCM-16-64-128 open: ct is n bytes of ciphertext followed by the 8-byte tag; pt gets n
 * bytes only if the tag verifies (OpenSSL wipes them otherwise; so do we). */
static int ccm_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const uint8_t *ct, size_t n, uint8_t *pt)
{
	static const uint8_t none[1];
	uint8_t tag[CCM_TAG_LEN];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, rc = MGW_E_CRYPTO;

	if (!c)
		return MGW_E_NOMEM;
	memcpy(tag, ct + n, CCM_TAG_LEN);
	if (EVP_DecryptInit_ex(c, EVP_aes_128_ccm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, MGW_COSE_NONCE_LEN, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, CCM_TAG_LEN, tag) == 1 &&
	    EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &l, NULL, (int)n) == 1 &&
	    EVP_DecryptUpdate(c, NULL, &l, aad, (int)aad_len) == 1 &&
	    EVP_DecryptUpdate(c, pt, &l, n ? ct : none, (int)n) == 1 && (size_t)l == n)
		rc = MGW_OK;
	if (rc != MGW_OK)
		OPENSSL_cleanse(pt, n);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* AES-CBC-MAC (RFC 9053 3.2): CBC with a zero IV over the data padded with zeros to whole
 * blocks; the MAC is the last block. */
static int cbc_mac(const uint8_t *key, const uint8_t *data, size_t n, uint8_t out[AES_BLOCK])
{
	static const uint8_t zero[AES_BLOCK];
	uint8_t buf[1024 + AES_BLOCK];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t off = 0, pad = (AES_BLOCK - n % AES_BLOCK) % AES_BLOCK;
	int l, rc = MGW_E_CRYPTO;
	bool ok;

	if (!c)
		return MGW_E_NOMEM;
	ok = EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, key, zero) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1;
	while (ok && off < n) {
		size_t chunk = n - off > 1024 ? 1024 : n - off;

		ok = EVP_EncryptUpdate(c, buf, &l, data + off, (int)chunk) == 1;
		if (ok && l >= AES_BLOCK)
			memcpy(out, buf + l - AES_BLOCK, AES_BLOCK);
		off += chunk;
	}
	if (ok && (pad || n == 0)) {
		ok = EVP_EncryptUpdate(c, buf, &l, zero, (int)(n == 0 ? AES_BLOCK : pad)) == 1 &&
		     l >= AES_BLOCK;
		if (ok)
			memcpy(out, buf + l - AES_BLOCK, AES_BLOCK);
	}
	if (ok && EVP_EncryptFinal_ex(c, buf, &l) == 1 && l == 0)
		rc = MGW_OK;
	OPENSSL_cleanse(buf, sizeof(buf));
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* The full MAC of data under key (cut to the algorithm's tag length by the caller). */
static int mac_compute(const struct mgw_cose_key *k, const uint8_t *data, size_t n,
		       uint8_t out[MAC_MAX])
{
	unsigned int l = 0;

	if (k->alg->alg == MGW_COSE_ALG_AES_MAC_128_64)
		return cbc_mac(k->key, data, n, out);
	if (!HMAC(EVP_sha256(), k->key, (int)k->key_len, data, n, out, &l) || l != MAC_MAX)
		return MGW_E_CRYPTO;
	return MGW_OK;
}

/* The AES-CCM nonce of RFC 8613 5.2 from the key's Common IV, ID_PIV and a Partial IV. */
static int make_nonce(const struct mgw_cose_key *k, const uint8_t *id, size_t id_len,
		      const uint8_t *piv, size_t piv_len, uint8_t nonce[MGW_COSE_NONCE_LEN],
		      struct mgw_diag *diag)
{
	if (!k->has_civ)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "the key has no Common IV");
	if (id_len > ID_PIV_MAX || (id_len && !id))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "ID_PIV longer than %d bytes",
				    ID_PIV_MAX);
	if (!piv || piv_len == 0 || piv_len > MGW_COSE_PIV_MAX)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "Partial IV of %zu bytes", piv_len);
	memset(nonce, 0, MGW_COSE_NONCE_LEN);
	nonce[0] = (uint8_t)id_len;
	if (id_len)
		memcpy(nonce + 1 + ID_PIV_MAX - id_len, id, id_len);
	memcpy(nonce + MGW_COSE_NONCE_LEN - piv_len, piv, piv_len);
	for (size_t i = 0; i < MGW_COSE_NONCE_LEN; i++)
		nonce[i] ^= k->civ[i];
	return MGW_OK;
}

size_t mgw_cose_piv_from_seq(uint64_t seq, uint8_t piv[MGW_COSE_PIV_MAX])
{
	size_t n = 1;

	if (seq > MGW_COSE_SEQ_MAX)
		return 0;
	while (n < MGW_COSE_PIV_MAX && seq >> (8 * n))
		n++;
	for (size_t i = 0; i < n; i++)
		piv[i] = (uint8_t)(seq >> (8 * (n - 1 - i)));
	return n;
}

/* ==================================================================================== */
/* protecting                                                                           */
/* ==================================================================================== */

/* Common checks of an emit request; the Partial IV must be as mgw_cose_decode() takes it. */
static int emit_check(const struct mgw_cose_key *key, const struct mgw_cose_emit *e, size_t n,
		      uint8_t **out, size_t *out_len, struct mgw_diag *diag)
{
	if (!key || !e || !out || !out_len)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (n > MGW_COSE_PAYLOAD_MAX)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, "", "content of %zu bytes exceeds %d", n,
				    MGW_COSE_PAYLOAD_MAX);
	if (e->external_aad_len > MGW_COSE_AAD_MAX || (e->external_aad_len && !e->external_aad))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "external_aad longer than %d bytes",
				    MGW_COSE_AAD_MAX);
	if ((e->flags & MGW_COSE_EMIT_PIV) &&
	    (!e->iv.piv || e->iv.piv_len == 0 || e->iv.piv_len > MGW_COSE_PIV_MAX ||
	     (e->iv.piv_len > 1 && e->iv.piv[0] == 0)))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "Partial IV of 1..%d bytes, minimal",
				    MGW_COSE_PIV_MAX);
	return MGW_OK;
}

/* The protected header: {1: alg} and/or {6: piv} (a Mac0's), or nothing. */
static size_t protected_hdr(const struct mgw_cose_key *key, bool alg, const uint8_t *piv,
			    size_t piv_len, uint8_t buf[32])
{
	struct wb w = { .p = buf, .cap = 32 };

	if (!alg && !piv)
		return 0;
	w_map(&w, (alg ? 1 : 0) + (piv ? 1 : 0));
	if (alg) {
		w_uint(&w, HDR_ALG);
		w_int(&w, key->alg->alg);
	}
	if (piv) {
		w_uint(&w, HDR_PIV);
		w_bytes(&w, piv, piv_len);
	}
	return w.bad ? 0 : w.len;
}

/* Write a whole message: [protected, {kid?, iv?, piv?}, content (, tag)]. */
static int write_msg(void *ctx, enum mgw_cose_type type, bool tag, const uint8_t *prot,
		     size_t prot_len, const uint8_t *kid, size_t kid_len, bool has_kid,
		     const uint8_t *iv, size_t iv_len, const uint8_t *piv, size_t piv_len,
		     const uint8_t *content, size_t content_len, const uint8_t *mac,
		     size_t mac_len, uint8_t **out, size_t *out_len, struct mgw_diag *diag)
{
	struct wb w;
	size_t cap = 12 * HEAD_MAX + prot_len + kid_len + iv_len + piv_len + content_len + mac_len;

	if (w_open(ctx, &w, cap) != MGW_OK)
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	if (tag)
		w_tag(&w, type);
	w_array(&w, type == MGW_COSE_ENCRYPT0 ? 3 : 4);
	w_bytes(&w, prot, prot_len);
	w_map(&w, (has_kid ? 1 : 0) + (iv ? 1 : 0) + (piv ? 1 : 0));
	if (has_kid) {
		w_uint(&w, HDR_KID);
		w_bytes(&w, kid, kid_len);
	}
	if (iv) {
		w_uint(&w, HDR_IV);
		w_bytes(&w, iv, iv_len);
	}
	if (piv) {
		w_uint(&w, HDR_PIV);
		w_bytes(&w, piv, piv_len);
	}
	w_bytes(&w, content, content_len);
	if (type == MGW_COSE_MAC0)
		w_bytes(&w, mac, mac_len);
	if (w.bad) {
		talloc_free(w.p);
		return mgw_diag_set(diag, MGW_E_INTERNAL, "", "COSE output buffer too small");
	}
	*out = w.p;
	*out_len = w.len;
	return MGW_OK;
}

int mgw_cose_encrypt0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_emit *e,
		      const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len,
		      struct mgw_diag *diag)
{
	uint8_t nonce[MGW_COSE_NONCE_LEN], prot[32];
	void *tmp = NULL;
	struct wb aad;
	uint8_t *ct;
	size_t prot_len;
	bool emit_iv, emit_piv;
	int rc;

	mgw_diag_clear(diag);
	if ((rc = emit_check(key, e, pt_len, out, out_len, diag)) != MGW_OK)
		return rc;
	if (pt_len && !pt)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (!key->alg->aead)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "a %s key cannot make a COSE_Encrypt0",
				    key->alg->name);
	emit_iv = e->flags & MGW_COSE_EMIT_IV;
	emit_piv = e->flags & MGW_COSE_EMIT_PIV;
	if (emit_iv && emit_piv)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "both an IV and a Partial IV");
	if (e->iv.iv) {
		if (e->iv.iv_len != MGW_COSE_NONCE_LEN)
			return mgw_diag_set(diag, MGW_E_INVAL, "", "IV is not %d bytes",
					    MGW_COSE_NONCE_LEN);
		memcpy(nonce, e->iv.iv, MGW_COSE_NONCE_LEN);
	} else if (emit_iv) {
		return mgw_diag_set(diag, MGW_E_INVAL, "", "no IV to write");
	} else if ((rc = make_nonce(key, e->iv.id, e->iv.id_len, e->iv.piv, e->iv.piv_len, nonce,
				    diag)) != MGW_OK) {
		return rc;
	}
	prot_len = protected_hdr(key, e->flags & MGW_COSE_EMIT_ALG, NULL, 0, prot);
	if (!(tmp = talloc_new(NULL)))
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	if ((rc = to_be_authed(tmp, "Encrypt0", prot, prot_len, e->external_aad,
			       e->external_aad_len, NULL, 0, false, &aad)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "Enc_structure: %s", mgw_strerror(rc));
		goto out;
	}
	if (!(ct = talloc_size(tmp, pt_len + CCM_TAG_LEN))) {
		rc = mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
		goto out;
	}
	if ((rc = ccm_seal(key->key, nonce, aad.p, aad.len, pt, pt_len, ct)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "AES-CCM encryption failed");
		goto out;
	}
	rc = write_msg(ctx, MGW_COSE_ENCRYPT0, e->flags & MGW_COSE_EMIT_TAG, prot, prot_len,
		       key->kid, key->kid_len, e->flags & MGW_COSE_EMIT_KID,
		       emit_iv ? e->iv.iv : NULL, e->iv.iv_len, emit_piv ? e->iv.piv : NULL,
		       e->iv.piv_len, ct, pt_len + CCM_TAG_LEN, NULL, 0, out, out_len, diag);
out:
	talloc_free(tmp);
	return rc;
}

int mgw_cose_mac0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_emit *e,
		  const uint8_t *payload, size_t payload_len, uint8_t **out, size_t *out_len,
		  struct mgw_diag *diag)
{
	uint8_t prot[32], mac[MAC_MAX];
	void *tmp = NULL;
	struct wb tbm;
	size_t prot_len;
	bool emit_piv;
	int rc;

	mgw_diag_clear(diag);
	if ((rc = emit_check(key, e, payload_len, out, out_len, diag)) != MGW_OK)
		return rc;
	if (payload_len && !payload)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (key->alg->aead)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "a %s key cannot make a COSE_Mac0",
				    key->alg->name);
	if (e->flags & MGW_COSE_EMIT_IV)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "a COSE_Mac0 carries no IV");
	emit_piv = e->flags & MGW_COSE_EMIT_PIV;
	prot_len = protected_hdr(key, e->flags & MGW_COSE_EMIT_ALG, emit_piv ? e->iv.piv : NULL,
				 e->iv.piv_len, prot);
	if (!(tmp = talloc_new(NULL)))
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	if ((rc = to_be_authed(tmp, "MAC0", prot, prot_len, e->external_aad, e->external_aad_len,
			       payload, payload_len, true, &tbm)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "MAC_structure: %s", mgw_strerror(rc));
		goto out;
	}
	if ((rc = mac_compute(key, tbm.p, tbm.len, mac)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "%s failed", key->alg->name);
		goto out;
	}
	rc = write_msg(ctx, MGW_COSE_MAC0, e->flags & MGW_COSE_EMIT_TAG, prot, prot_len, key->kid,
		       key->kid_len, e->flags & MGW_COSE_EMIT_KID, NULL, 0, NULL, 0, payload,
		       payload_len, mac, key->alg->tag_len, out, out_len, diag);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	talloc_free(tmp);
	return rc;
}

/* ==================================================================================== */
/* opening                                                                              */
/* ==================================================================================== */

/* The message's alg (if any) and kid (if any) must be the key's: no algorithm confusion,
 * no key picked for another sender. */
static int match_key(const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		     struct mgw_diag *diag)
{
	if (key->alg->aead != (m->type == MGW_COSE_ENCRYPT0))
		return mgw_diag_set(diag, MGW_E_CRYPTO, "", "a %s key cannot open a %s",
				    key->alg->name, type_name(m->type));
	if (m->has_alg && (m->alg_other || m->alg != key->alg->alg)) {
		if (m->alg_other)
			return mgw_diag_set(diag, MGW_E_CRYPTO, "",
					    "alg is not the key's (%s)", key->alg->name);
		return mgw_diag_set(diag, MGW_E_CRYPTO, "",
				    "alg %" PRId64 " is not the key's (%s)", m->alg,
				    key->alg->name);
	}
	if (m->has_kid && (m->kid_len != key->kid_len ||
			   (m->kid_len && memcmp(m->kid, key->kid, m->kid_len) != 0)))
		return mgw_diag_set(diag, MGW_E_CRYPTO, "/1/4", "kid is not the key's");
	return MGW_OK;
}

int mgw_cose_decrypt0(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		      const uint8_t *external_aad, size_t external_aad_len,
		      const struct mgw_cose_iv *iv, uint8_t **pt, size_t *pt_len,
		      struct mgw_diag *diag)
{
	uint8_t nonce[MGW_COSE_NONCE_LEN];
	void *tmp = NULL;
	struct wb aad;
	uint8_t *buf;
	size_t n;
	int rc;

	mgw_diag_clear(diag);
	if (!key || !m || !pt || !pt_len || m->type != MGW_COSE_ENCRYPT0 ||
	    external_aad_len > MGW_COSE_AAD_MAX || (external_aad_len && !external_aad))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if ((rc = match_key(key, m, diag)) != MGW_OK)
		return rc;
	if ((m->has_iv || m->has_piv) && iv)
		return mgw_diag_set(diag, MGW_E_INVAL, "",
				    "nonce inputs given for a message that carries its own");
	if (m->has_iv) {
		if (m->iv_len != MGW_COSE_NONCE_LEN)
			return mgw_diag_set(diag, MGW_E_MALFORMED, "/1/5",
					    "IV of %zu bytes: AES-CCM-16-64-128 takes %d",
					    m->iv_len, MGW_COSE_NONCE_LEN);
		memcpy(nonce, m->iv, MGW_COSE_NONCE_LEN);
	} else if (m->has_piv) {
		if ((rc = make_nonce(key, key->kid, key->kid_len, m->piv, m->piv_len, nonce,
				     diag)) != MGW_OK)
			return rc;
	} else if (iv && iv->iv) {
		if (iv->iv_len != MGW_COSE_NONCE_LEN)
			return mgw_diag_set(diag, MGW_E_INVAL, "", "IV is not %d bytes",
					    MGW_COSE_NONCE_LEN);
		memcpy(nonce, iv->iv, MGW_COSE_NONCE_LEN);
	} else if (iv) {
		if ((rc = make_nonce(key, iv->id, iv->id_len, iv->piv, iv->piv_len, nonce, diag)) !=
		    MGW_OK)
			return rc;
	} else {
		return mgw_diag_set(diag, MGW_E_MISSING, "/1", "neither an IV nor a Partial IV");
	}
	if (m->content_len < CCM_TAG_LEN)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "/2", "ciphertext shorter than its tag");
	n = m->content_len - CCM_TAG_LEN;
	if (n > MGW_COSE_PAYLOAD_MAX)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, "/2", "ciphertext of %zu bytes exceeds %d",
				    n, MGW_COSE_PAYLOAD_MAX);
	if (!(tmp = talloc_new(NULL)))
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	if ((rc = to_be_authed(tmp, "Encrypt0", m->protected_raw, m->protected_len, external_aad,
			       external_aad_len, NULL, 0, false, &aad)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "Enc_structure: %s", mgw_strerror(rc));
		goto out;
	}
	if (!(buf = talloc_size(tmp, n ? n : 1))) {
		rc = mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
		goto out;
	}
	if ((rc = ccm_open(key->key, nonce, aad.p, aad.len, m->content, n, buf)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "/2", "%s",
				  rc == MGW_E_CRYPTO ? "authentication tag does not verify" :
						       "out of memory");
		goto out;
	}
	*pt = talloc_steal(ctx, buf);
	*pt_len = n;
	rc = MGW_OK;
out:
	talloc_free(tmp);
	return rc;
}

int mgw_cose_verify0(const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		     const uint8_t *external_aad, size_t external_aad_len, struct mgw_diag *diag)
{
	uint8_t mac[MAC_MAX];
	void *tmp = NULL;
	struct wb tbm;
	int rc;

	mgw_diag_clear(diag);
	if (!key || !m || m->type != MGW_COSE_MAC0 || external_aad_len > MGW_COSE_AAD_MAX ||
	    (external_aad_len && !external_aad))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if ((rc = match_key(key, m, diag)) != MGW_OK)
		return rc;
	if (m->content_len > MGW_COSE_PAYLOAD_MAX)
		return mgw_diag_set(diag, MGW_E_TOO_BIG, "/2", "payload of %zu bytes exceeds %d",
				    m->content_len, MGW_COSE_PAYLOAD_MAX);
	if (m->tag_len != key->alg->tag_len)
		return mgw_diag_set(diag, MGW_E_CRYPTO, "/3", "tag of %zu bytes: %s makes %zu",
				    m->tag_len, key->alg->name, key->alg->tag_len);
	if (!(tmp = talloc_new(NULL)))
		return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	if ((rc = to_be_authed(tmp, "MAC0", m->protected_raw, m->protected_len, external_aad,
			       external_aad_len, m->content, m->content_len, true, &tbm)) !=
	    MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "MAC_structure: %s", mgw_strerror(rc));
		goto out;
	}
	if ((rc = mac_compute(key, tbm.p, tbm.len, mac)) != MGW_OK) {
		rc = mgw_diag_set(diag, rc, "", "%s failed", key->alg->name);
		goto out;
	}
	if (CRYPTO_memcmp(mac, m->tag, m->tag_len) != 0) {
		rc = mgw_diag_set(diag, MGW_E_CRYPTO, "/3", "MAC does not verify");
		goto out;
	}
	rc = MGW_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	talloc_free(tmp);
	return rc;
}

/* ==================================================================================== */
/* the gateway profile                                                                  */
/* ==================================================================================== */

int mgw_cose_unprotect(void *ctx, const struct mgw_cose_key *key, const struct mgw_cose_msg *m,
		       const uint8_t *external_aad, size_t external_aad_len, uint8_t **out,
		       size_t *out_len, uint64_t *seq, struct mgw_diag *diag)
{
	uint8_t *p;
	size_t n;
	int rc;

	mgw_diag_clear(diag);
	if (!key || !m || !out || !out_len || !seq)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (key->kid_len == 0)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "a device key needs a kid");
	if (!m->has_kid)
		return mgw_diag_set(diag, MGW_E_MISSING, "/1/4", "no kid");
	if (m->has_iv)
		return mgw_diag_set(diag, MGW_E_UNSUPPORTED, "/1/5",
				    "an IV instead of a Partial IV (no sequence number)");
	if (!m->has_piv)
		return mgw_diag_set(diag, MGW_E_MISSING, "/1/6", "no Partial IV (sequence number)");
	if (m->type == MGW_COSE_MAC0 && !m->piv_protected)
		return mgw_diag_set(diag, MGW_E_UNSUPPORTED, "/1/6",
				    "the Partial IV of a COSE_Mac0 must be protected");
	if ((rc = match_key(key, m, diag)) != MGW_OK)
		return rc;
	if (m->type == MGW_COSE_ENCRYPT0) {
		if ((rc = mgw_cose_decrypt0(ctx, key, m, external_aad, external_aad_len, NULL, &p,
					    &n, diag)) != MGW_OK)
			return rc;
	} else {
		if ((rc = mgw_cose_verify0(key, m, external_aad, external_aad_len, diag)) != MGW_OK)
			return rc;
		n = m->content_len;
		if (!(p = talloc_memdup(ctx, n ? m->content : (const uint8_t *)"", n ? n : 1)))
			return mgw_diag_set(diag, MGW_E_NOMEM, "", "out of memory");
	}
	*out = p;
	*out_len = n;
	*seq = m->seq;
	return MGW_OK;
}

int mgw_cose_protect(void *ctx, const struct mgw_cose_key *key, uint64_t seq,
		     const uint8_t *external_aad, size_t external_aad_len, const uint8_t *in,
		     size_t in_len, uint8_t **out, size_t *out_len, struct mgw_diag *diag)
{
	uint8_t piv[MGW_COSE_PIV_MAX];
	struct mgw_cose_emit e = {
		.flags = MGW_COSE_EMIT_TAG | MGW_COSE_EMIT_ALG | MGW_COSE_EMIT_PIV,
		.iv = { .id = NULL, .id_len = MGW_COSE_GW_ID_LEN, .piv = piv },
		.external_aad = external_aad,
		.external_aad_len = external_aad_len,
	};

	mgw_diag_clear(diag);
	if (!key)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (key->kid_len == 0)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "a device key needs a kid");
	if (!(e.iv.piv_len = mgw_cose_piv_from_seq(seq, piv)))
		return mgw_diag_set(diag, MGW_E_INVAL, "",
				    "sequence number beyond the Partial IV range: new key needed");
	if (key->alg->aead)
		return mgw_cose_encrypt0(ctx, key, &e, in, in_len, out, out_len, diag);
	return mgw_cose_mac0(ctx, key, &e, in, in_len, out, out_len, diag);
}

/* ==================================================================================== */
/* replay window                                                                        */
/* ==================================================================================== */

void mgw_cose_replay_init(struct mgw_cose_replay *w)
{
	*w = (struct mgw_cose_replay){ 0 };
}

int mgw_cose_replay_check(const struct mgw_cose_replay *w, uint64_t seq, struct mgw_diag *diag)
{
	uint64_t d;

	mgw_diag_clear(diag);
	if (!w || seq > MGW_COSE_SEQ_MAX)
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (!w->used || seq > w->top)
		return MGW_OK;
	d = w->top - seq;
	if (d >= MGW_COSE_REPLAY_WINDOW)
		return mgw_diag_set(diag, MGW_E_REPLAY, "/1/6",
				    "sequence number %" PRIu64 " too old (highest %" PRIu64
				    ", window %d)",
				    seq, w->top, MGW_COSE_REPLAY_WINDOW);
	if ((w->bits >> d) & 1)
		return mgw_diag_set(diag, MGW_E_REPLAY, "/1/6",
				    "sequence number %" PRIu64 " duplicate", seq);
	return MGW_OK;
}

int mgw_cose_replay_commit(struct mgw_cose_replay *w, uint64_t seq, struct mgw_diag *diag)
{
	int rc;

	if ((rc = mgw_cose_replay_check(w, seq, diag)) != MGW_OK)
		return rc;
	if (!w->used) {
		w->used = true;
		w->top = seq;
		w->bits = 1;
	} else if (seq > w->top) {
		uint64_t shift = seq - w->top;

		w->bits = shift >= MGW_COSE_REPLAY_WINDOW ? 0 : w->bits << shift;
		w->bits |= 1;
		w->top = seq;
	} else {
		w->bits |= (uint64_t)1 << (w->top - seq);
	}
	return MGW_OK;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void mgw_cose_replay_save(const struct mgw_cose_replay *w,
			  uint8_t blob[MGW_COSE_REPLAY_BLOB_LEN])
{
	blob[0] = 1;
	blob[1] = w->used ? 1 : 0;
	put_be64(blob + 2, w->used ? w->top : 0);
	put_be64(blob + 10, w->used ? w->bits : 0);
}

int mgw_cose_replay_load(struct mgw_cose_replay *w, const uint8_t *blob, size_t len,
			 struct mgw_diag *diag)
{
	struct mgw_cose_replay v;

	mgw_diag_clear(diag);
	if (!w || (!blob && len))
		return mgw_diag_set(diag, MGW_E_INVAL, "", "invalid arguments");
	if (len != MGW_COSE_REPLAY_BLOB_LEN || blob[0] != 1 || blob[1] > 1)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "not a version 1 replay window");
	v.used = blob[1];
	v.top = get_be64(blob + 2);
	v.bits = get_be64(blob + 10);
	if (v.used ? !(v.bits & 1) || v.top > MGW_COSE_SEQ_MAX ||
			     (v.top < MGW_COSE_REPLAY_WINDOW - 1 && v.bits >> (v.top + 1)) :
		     v.top || v.bits)
		return mgw_diag_set(diag, MGW_E_MALFORMED, "", "inconsistent replay window");
	*w = v;
	return MGW_OK;
}
