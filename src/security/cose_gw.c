/* msgin5g-gw security: the gateway's COSE profile (issue 7; doc/internals/cose.md
 * "Integration", doc/interfaces.md 8.5). A device with a cose: key in the registry sends its
 * payload as a COSE object; the gateway opens it (kid, replay window, tag) before anything
 * else looks at the message, and protects what goes down to it. The COSE primitives are in
 * cose.c; this file keeps the state around them and says why a message was refused.
 *
 * Uplink payload: the base64url (no padding) or standard base64 (padding optional) of the
 * COSE_Encrypt0 / COSE_Mac0 bytes; or those bytes as they are (a CBOR body's byte string,
 * 8-bit SMS data that happens to be UTF-8): a payload whose first byte is a COSE head (tag
 * 16 or 17, an array of 3 or 4) is taken as is, since base64 never starts with one.
 *
 * State, in the store's key/value table, never expiring:
 *   cose.rw   "<ue>/<kid hex>" -> the device's replay window (mgw_cose_replay_save(), 18
 *             bytes), written in the batch that stores the message (sec_cose_commit). Keyed
 *             by the kid as well: a device given a new kid starts with a fresh window.
 *   cose.seq  "<ue>" -> the first downlink sequence number not reserved (decimal). A number
 *             is used only once a row above it is committed: when fewer than SEQ_LOW
 *             reserved numbers are left, next + SEQ_BLOCK is written and, until its batch is
 *             committed (mgw_store_barrier), numbers of the new block are not handed out.
 *             A crash skips numbers, it never repeats one. Keyed by the UE only: the
 *             downlink nonce holds no kid, so the counter must never restart under a key.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <talloc.h>

#include <mgw/cose.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "security_int.h"

#define NS_RW "cose.rw"
#define NS_SEQ "cose.seq"
#define SEQ_BLOCK 64
#define SEQ_LOW 32
#define SEQ_BUCKETS 256
/* the longest COSE object taken from a payload: the AES-CCM plaintext limit plus headers */
#define COSE_IN_MAX (MGW_COSE_PAYLOAD_MAX + 256)
#define B64_IN_MAX (4 * ((COSE_IN_MAX + 2) / 3))
#define RW_KEY_MAX (MGW_ID_MAX + 2 * MGW_COSE_KID_MAX + 2)

/* ---------------------------------------------------------------- base64 */

static int b64val(char c, int *alphabet)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '/') {
		if (*alphabet == 'u')
			return -1;
		*alphabet = 's';
		return c == '+' ? 62 : 63;
	}
	if (c == '-' || c == '_') {
		if (*alphabet == 's')
			return -1;
		*alphabet = 'u';
		return c == '-' ? 62 : 63;
	}
	return -1;
}

int sec_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = len, o = 0, need;
	uint32_t acc = 0;
	int alphabet = 0, bits = 0;

	while (n > 0 && len - n < 2 && s[n - 1] == '=')
		n--;
	if (n == 0 || n % 4 == 1 || (n != len && len % 4 != 0))
		return MGW_E_MALFORMED;
	need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (need > cap)
		return MGW_E_TOO_BIG;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i], &alphabet);

		if (v < 0)
			return MGW_E_MALFORMED;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return MGW_OK;
}

/* base64url without padding, NUL-terminated, under ctx */
static char *b64url(void *ctx, const uint8_t *in, size_t n, size_t *outlen)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *s = talloc_size(ctx, 4 * ((n + 2) / 3) + 1);
	size_t o = 0, i = 0;

	if (!s)
		return NULL;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		s[o++] = a[v >> 18];
		s[o++] = a[(v >> 12) & 63];
		s[o++] = a[(v >> 6) & 63];
		s[o++] = a[v & 63];
	}
	if (n - i == 1) {
		s[o++] = a[in[i] >> 2];
		s[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		s[o++] = a[in[i] >> 2];
		s[o++] = a[((in[i] & 3) << 4) | in[i + 1] >> 4];
		s[o++] = a[(in[i + 1] & 15) << 2];
	}
	s[o] = '\0';
	*outlen = o;
	return s;
}

/* standard base64 with padding (how binary payloads travel toward the M5S, as in sms) */
static char *b64std(void *ctx, const uint8_t *in, size_t n, size_t *outlen)
{
	size_t m;
	char *s = b64url(ctx, in, n, &m);

	if (!s || !(s = talloc_realloc(ctx, s, char, m + 3)))
		return NULL;
	for (size_t i = 0; i < m; i++)
		s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (m % 4)
		s[m++] = '=';
	s[m] = '\0';
	*outlen = m;
	return s;
}


/* ---------------------------------------------------------------- the instance */

struct seq_token;

/* the downlink sequence numbers of one UE */
struct seq_state {
	struct seq_state *next_in_bucket;
	char *ue;
	uint64_t next;    /* the next number to use */
	uint64_t durable; /* numbers below this are reserved by a committed row */
	uint64_t pending; /* the reservation written and not yet committed (0: none) */
	struct seq_token *token;
};

/* The store calls back through a token it owns (a child of the store): whichever of the
 * two goes first, the store or the security instance, unhooks the other. */
struct seq_token {
	struct seq_state *s;
};

struct sec_cose {
	struct seq_state *bucket[SEQ_BUCKETS];
	struct mgw_cose_stats st;
};

static int token_destructor(struct seq_token *t)
{
	if (t->s)
		t->s->token = NULL;
	return 0;
}

static int state_destructor(struct seq_state *s)
{
	if (s->token)
		s->token->s = NULL;
	return 0;
}

static int cose_destructor(struct sec_cose *cs)
{
	const struct mgw_cose_stats *n = &cs->st;

	if (n->up_ok || n->up_required || n->up_malformed || n->up_kid || n->up_replay ||
	    n->up_auth || n->up_state || n->down_ok || n->down_failed)
		LOGP(DSEC, MGW_LOGL_NOTICE,
		     "cose: uplink %llu opened, refused: required %llu malformed %llu kid %llu "
		     "replay %llu auth %llu state %llu; downlink %llu protected, %llu failed",
		     (unsigned long long)n->up_ok, (unsigned long long)n->up_required,
		     (unsigned long long)n->up_malformed, (unsigned long long)n->up_kid,
		     (unsigned long long)n->up_replay, (unsigned long long)n->up_auth,
		     (unsigned long long)n->up_state, (unsigned long long)n->down_ok,
		     (unsigned long long)n->down_failed);
	return 0;
}

int sec_cose_alloc(void *ctx, struct sec_cose **out)
{
	struct sec_cose *cs = talloc_zero(ctx, struct sec_cose);

	if (!cs)
		return MGW_E_NOMEM;
	talloc_set_name_const(cs, "sec_cose");
	talloc_set_destructor(cs, cose_destructor);
	*out = cs;
	return MGW_OK;
}

void sec_cose_get_stats(const struct sec_cose *cs, struct mgw_cose_stats *st)
{
	if (cs)
		*st = cs->st;
	else
		memset(st, 0, sizeof(*st));
}

static int refuse(struct sec_cose_why *why, int rc, const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct sec_cose_why *why, int rc, const char *cause, const char *fmt, ...)
{
	va_list ap;

	why->rc = rc;
	why->cause = cause;
	va_start(ap, fmt);
	vsnprintf(why->detail, sizeof(why->detail), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---------------------------------------------------------------- uplink */

static bool cose_head(uint8_t b)
{
	return b == 0xd0 || b == 0xd1 || b == 0x83 || b == 0x84;
}

static void rw_key(const struct mgw_device *d, char *key, size_t len)
{
	snprintf(key, len, "%s/%s", d->ue, d->cose_kid);
}

/* the device's window as stored (a fresh one if none) */
static int rw_load(struct mgw_store *st, const struct mgw_device *d, struct mgw_cose_replay *w,
		   struct sec_cose_why *why)
{
	char key[RW_KEY_MAX];
	void *val = NULL;
	size_t len = 0;
	int rc;

	rw_key(d, key, sizeof(key));
	mgw_cose_replay_init(w);
	rc = mgw_store_kv_get(st, NULL, NS_RW, key, mgw_now_ms(), &val, &len);
	if (rc == MGW_E_NOT_FOUND)
		return MGW_OK;
	if (rc != MGW_OK)
		return refuse(why, rc, "COSE_STATE", "replay window not readable: %s",
			      mgw_strerror(rc));
	rc = mgw_cose_replay_load(w, val, len, NULL);
	talloc_free(val);
	if (rc != MGW_OK) {
		/* accepting without it would reopen replays: refuse until an operator acts */
		LOGP(DSEC, MGW_LOGL_ERROR, "cose: the stored replay window of %s is corrupt",
		     d->ue);
		return refuse(why, MGW_E_STORE_CORRUPT, "COSE_STATE",
			      "stored replay window corrupt");
	}
	return MGW_OK;
}

static int open_msg(struct mgw_store *st, const struct mgw_device *d, struct mgw_msg *m,
		    void *tmp, uint64_t *seq, struct mgw_cose_stats *n, struct sec_cose_why *why)
{
	int alg = mgw_cose_key_alg(d->cose);
	enum mgw_cose_type type =
		alg == MGW_COSE_ALG_AES_CCM_16_64_128 ? MGW_COSE_ENCRYPT0 : MGW_COSE_MAC0;
	const uint8_t *in, *kid;
	uint8_t *buf = NULL, *pt = NULL;
	size_t len, kid_len, pt_len = 0;
	struct mgw_cose_msg cm;
	struct mgw_cose_replay w;
	struct mgw_diag diag = { 0 };
	uint64_t s = 0;
	char *text;
	int rc;

	if (!st) {
		n->up_state++;
		return refuse(why, MGW_E_INTERNAL, "COSE_STATE", "no store for the replay window");
	}
	if (!m->has_payload || !m->payload || !m->payload_len) {
		n->up_required++;
		return refuse(why, MGW_E_POLICY, "COSE_REQUIRED",
			      "no payload: the device has a COSE key, its payload must be one");
	}
	in = m->payload;
	len = m->payload_len;
	if (!cose_head(in[0])) {
		if (len > B64_IN_MAX) {
			n->up_malformed++;
			return refuse(why, MGW_E_TOO_BIG, "COSE_MALFORMED",
				      "payload of %zu bytes: over the COSE limit of %d", len,
				      COSE_IN_MAX);
		}
		if (!(buf = talloc_size(tmp, len))) {
			n->up_state++;
			return refuse(why, MGW_E_NOMEM, "COSE_STATE", "out of memory");
		}
		if (sec_b64_decode((const char *)in, len, buf, len, &len) != MGW_OK) {
			n->up_required++;
			return refuse(why, MGW_E_POLICY, "COSE_REQUIRED",
				      "the payload is not base64url of a COSE object");
		}
		in = buf;
		if (!cose_head(in[0])) {
			n->up_required++;
			return refuse(why, MGW_E_POLICY, "COSE_REQUIRED",
				      "the payload is not a COSE object");
		}
	}
	if ((rc = mgw_cose_decode(in, len, type, 0, COSE_IN_MAX, &cm, &diag)) != MGW_OK) {
		n->up_malformed++;
		return refuse(why, rc == MGW_E_TOO_BIG ? rc : MGW_E_MALFORMED, "COSE_MALFORMED",
			      "not a %s%s%s: %s",
			      type == MGW_COSE_ENCRYPT0 ? "COSE_Encrypt0" : "COSE_Mac0",
			      diag.where[0] ? " at " : "", diag.where, diag.text);
	}
	kid_len = mgw_cose_key_kid(d->cose, &kid);
	if (!cm.has_kid || cm.kid_len != kid_len || memcmp(cm.kid, kid, kid_len) != 0) {
		n->up_kid++;
		return refuse(why, MGW_E_BAD_CREDENTIAL, "COSE_KID",
			      cm.has_kid ? "the kid is not the device's" : "no kid (header 4)");
	}
	if (!cm.has_piv) {
		n->up_malformed++;
		return refuse(why, MGW_E_MALFORMED, "COSE_MALFORMED",
			      "no Partial IV (header 6): nothing to check replays with");
	}
	if ((rc = rw_load(st, d, &w, why)) != MGW_OK) {
		n->up_state++;
		return rc;
	}
	if ((rc = mgw_cose_replay_check(&w, cm.seq, &diag)) != MGW_OK) {
		n->up_replay++;
		return refuse(why, MGW_E_REPLAY, "COSE_REPLAY", "%s", diag.text);
	}
	rc = mgw_cose_unprotect(tmp, d->cose, &cm, NULL, 0, &pt, &pt_len, &s, &diag);
	if (rc == MGW_E_CRYPTO) {
		n->up_auth++;
		return refuse(why, rc, "COSE_AUTH", "Partial IV %llu: %s",
			      (unsigned long long)cm.seq, diag.text);
	}
	if (rc == MGW_E_NOMEM) {
		n->up_state++;
		return refuse(why, rc, "COSE_STATE", "out of memory");
	}
	if (rc != MGW_OK) {
		n->up_malformed++;
		return refuse(why, MGW_E_MALFORMED, "COSE_MALFORMED", "%s%s%s", diag.where,
			      diag.where[0] ? ": " : "", diag.text);
	}
	/* the plaintext is the payload now; octets that are not text travel base64 (as sms) */
	if (!mgw_utf8_valid(pt, pt_len)) {
		if (!(text = b64std(tmp, pt, pt_len, &pt_len))) {
			n->up_state++;
			return refuse(why, MGW_E_NOMEM, "COSE_STATE", "out of memory");
		}
		pt = (uint8_t *)text;
	}
	if ((rc = mgw_msg_set_payload(m, pt, pt_len)) != MGW_OK) {
		n->up_state++;
		return refuse(why, rc, "COSE_STATE", "plaintext not kept: %s", mgw_strerror(rc));
	}
	m->has_payload = true;
	n->up_ok++;
	*seq = s;
	return MGW_OK;
}

int sec_cose_open(struct sec_cose *cs, struct mgw_store *st, const struct mgw_device *d,
		  struct mgw_msg *m, uint64_t *seq, struct sec_cose_why *why)
{
	struct mgw_cose_stats dummy = { 0 };
	void *tmp;
	int rc;

	memset(why, 0, sizeof(*why));
	if (!d || !d->cose || !m || !seq)
		return refuse(why, MGW_E_INVAL, "INVAL", "no COSE device or message");
	if (!(tmp = talloc_new(NULL)))
		return refuse(why, MGW_E_NOMEM, "COSE_STATE", "out of memory");
	rc = open_msg(st, d, m, tmp, seq, cs ? &cs->st : &dummy, why);
	talloc_free(tmp);
	return rc;
}

int sec_cose_commit(struct sec_cose *cs, struct mgw_store *st, const struct mgw_device *d,
		    uint64_t seq, struct sec_cose_why *why)
{
	uint8_t blob[MGW_COSE_REPLAY_BLOB_LEN];
	struct mgw_cose_replay w;
	struct mgw_diag diag = { 0 };
	char key[RW_KEY_MAX];
	int rc;

	memset(why, 0, sizeof(*why));
	if (!st || !d || !d->cose)
		return refuse(why, MGW_E_INVAL, "INVAL", "no store or no COSE device");
	if ((rc = rw_load(st, d, &w, why)) != MGW_OK)
		goto fail;
	/* checked again: nothing may have recorded seq since sec_cose_open() */
	if ((rc = mgw_cose_replay_commit(&w, seq, &diag)) != MGW_OK) {
		if (cs)
			cs->st.up_replay++;
		return refuse(why, rc, "COSE_REPLAY", "%s", diag.text);
	}
	mgw_cose_replay_save(&w, blob);
	rw_key(d, key, sizeof(key));
	if ((rc = mgw_store_kv_put(st, NS_RW, key, blob, sizeof(blob), 0)) != MGW_OK) {
		refuse(why, rc, "COSE_STATE", "replay window not written: %s", mgw_strerror(rc));
		goto fail;
	}
	return MGW_OK;
fail:
	if (cs)
		cs->st.up_state++;
	return rc;
}

/* ---------------------------------------------------------------- downlink */

static unsigned ue_bucket(const char *ue)
{
	unsigned h = 2166136261u;

	for (; *ue; ue++)
		h = (h ^ (unsigned char)*ue) * 16777619u;
	return h % SEQ_BUCKETS;
}

/* decimal, no sign, no leading garbage; 0 if it is not one */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int seq_get(struct sec_cose *cs, struct mgw_store *st, const char *ue,
		   struct seq_state **out)
{
	unsigned b = ue_bucket(ue);
	struct seq_state *s;
	void *val = NULL;
	size_t len = 0;
	uint64_t limit = 0;
	int rc;

	for (s = cs->bucket[b]; s; s = s->next_in_bucket)
		if (!strcmp(s->ue, ue)) {
			*out = s;
			return MGW_OK;
		}
	rc = mgw_store_kv_get(st, NULL, NS_SEQ, ue, mgw_now_ms(), &val, &len);
	if (rc == MGW_OK && !parse_u64(val, len, &limit)) {
		LOGP(DSEC, MGW_LOGL_ERROR, "cose: the stored downlink counter of %s is corrupt",
		     ue);
		rc = MGW_E_STORE_CORRUPT;
	}
	talloc_free(val);
	if (rc != MGW_OK && rc != MGW_E_NOT_FOUND)
		return rc;
	if (!(s = talloc_zero(cs, struct seq_state)) || !(s->ue = talloc_strdup(s, ue))) {
		talloc_free(s);
		return MGW_E_NOMEM;
	}
	talloc_set_destructor(s, state_destructor);
	/* everything below the stored limit may have been used before a restart */
	s->next = s->durable = limit;
	s->next_in_bucket = cs->bucket[b];
	cs->bucket[b] = s;
	*out = s;
	return MGW_OK;
}

static void reserved_cb(void *arg, int rc, int64_t id)
{
	struct seq_token *t = arg;
	struct seq_state *s = t->s;

	(void)id;
	if (s) {
		s->token = NULL;
		if (rc == MGW_OK)
			s->durable = s->pending;
		else
			LOGP(DSEC, MGW_LOGL_ERROR, "cose: downlink numbers of %s not reserved: %s",
			     s->ue, mgw_strerror(rc));
		s->pending = 0;
	}
	t->s = NULL;
	talloc_free(t);
}

/* write the next block ahead; it counts once the store committed it */
static int seq_reserve(struct mgw_store *st, struct seq_state *s)
{
	uint64_t limit = (s->next > s->durable ? s->next : s->durable) + SEQ_BLOCK;
	struct seq_token *t;
	char val[24];
	int rc;

	if (limit > MGW_COSE_SEQ_MAX + 1)
		limit = MGW_COSE_SEQ_MAX + 1;
	if (limit <= s->durable)
		return MGW_OK; /* all of them are reserved: the key is used up */
	snprintf(val, sizeof(val), "%llu", (unsigned long long)limit);
	if (!(t = talloc_zero(st, struct seq_token)))
		return MGW_E_NOMEM;
	talloc_set_destructor(t, token_destructor);
	if ((rc = mgw_store_kv_put(st, NS_SEQ, s->ue, val, strlen(val), 0)) != MGW_OK ||
	    (rc = mgw_store_barrier(st, reserved_cb, t)) != MGW_OK) {
		talloc_free(t);
		return rc;
	}
	t->s = s;
	s->token = t;
	s->pending = limit;
	return MGW_OK;
}

int sec_cose_protect(struct sec_cose *cs, struct mgw_store *st, void *ctx,
		     const struct mgw_device *d, const struct mgw_msg *m, struct mgw_msg **out,
		     struct sec_cose_why *why)
{
	struct seq_state *s = NULL;
	struct mgw_diag diag = { 0 };
	struct mgw_msg *c = NULL;
	uint8_t *cose = NULL;
	size_t cose_len = 0, tlen = 0;
	uint64_t seq;
	char *text;
	int rc;

	memset(why, 0, sizeof(*why));
	if (!cs || !d || !m || !out)
		return refuse(why, MGW_E_INVAL, "INVAL", "protect without its arguments");
	if (!d->cose || m->kind == MGW_MSG_REPORT || !m->has_payload) {
		*out = NULL;
		return MGW_OK;
	}
	if (!st) {
		rc = refuse(why, MGW_E_INTERNAL, "COSE_PROTECT", "no store for the counter");
		goto fail;
	}
	if ((rc = seq_get(cs, st, d->ue, &s)) != MGW_OK) {
		refuse(why, rc, "COSE_PROTECT", "downlink counter not readable: %s",
		       mgw_strerror(rc));
		if (rc == MGW_E_STORE || rc == MGW_E_NOMEM)
			return rc; /* may pass: try again later */
		goto fail;
	}
	if (!s->pending && s->durable - s->next < SEQ_LOW &&
	    (rc = seq_reserve(st, s)) != MGW_OK) {
		refuse(why, rc, "COSE_PROTECT", "downlink numbers not reserved: %s",
		       mgw_strerror(rc));
		return rc;
	}
	if (s->next > MGW_COSE_SEQ_MAX) {
		rc = refuse(why, MGW_E_INVAL, "COSE_PROTECT",
			    "every downlink sequence number of the key is used: the device "
			    "needs a new key");
		goto fail;
	}
	if (s->next >= s->durable)
		return refuse(why, MGW_E_FULL, "COSE_PROTECT",
			      "downlink numbers being reserved: wait for the store");
	seq = s->next++; /* used or not, never again */
	rc = mgw_cose_protect(ctx, d->cose, seq, NULL, 0, m->payload, m->payload_len, &cose,
			      &cose_len, &diag);
	if (rc != MGW_OK) {
		refuse(why, rc, "COSE_PROTECT", "%s", diag.text[0] ? diag.text : mgw_strerror(rc));
		goto fail;
	}
	if (!(text = b64url(cose, cose, cose_len, &tlen)) || !(c = mgw_msg_dup(ctx, m))) {
		rc = refuse(why, MGW_E_NOMEM, "COSE_PROTECT", "out of memory");
		talloc_free(cose);
		return rc;
	}
	rc = mgw_msg_set_payload(c, text, tlen);
	talloc_free(cose);
	if (rc != MGW_OK) {
		talloc_free(c);
		refuse(why, rc, "COSE_PROTECT", "protected payload of %zu bytes: %s", tlen,
		       mgw_strerror(rc));
		goto fail;
	}
	c->prot = MGW_PROT_COSE;
	cs->st.down_ok++;
	*out = c;
	return MGW_OK;
fail:
	cs->st.down_failed++;
	return rc;
}
