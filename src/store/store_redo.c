/* msgin5g-gw store: the kept writes of the message path (store_redo.h). A plain array in
 * order: a failed batch keeps at most a few records per entry (claim, then done or retry),
 * and the lookups run only while writes are failing. */
#include <string.h>
#include <talloc.h>

#include <mgw/err.h>

#include "store_redo.h"

struct store_redo {
	struct redo_rec *rec; /* talloc array; each record's strings are its children */
	size_t n;
};

struct store_redo *store_redo_alloc(void *ctx)
{
	return talloc_zero(ctx, struct store_redo);
}

static struct redo_rec *rec_new(struct store_redo *r)
{
	size_t cap = talloc_array_length(r->rec);
	struct redo_rec *a;

	if (r->n == cap) {
		if (!(a = talloc_realloc(r, r->rec, struct redo_rec, cap ? cap * 2 : 64)))
			return NULL;
		r->rec = a;
	}
	memset(&r->rec[r->n], 0, sizeof(r->rec[r->n]));
	return &r->rec[r->n];
}

int store_redo_state(struct store_redo *r, int64_t id, enum mgw_qstate st, int64_t next_try_ms,
		     bool attempt, const char *cause, int64_t at_ms)
{
	struct redo_rec *x;

	if (!(x = rec_new(r)))
		return MGW_E_NOMEM;
	x->op = REDO_STATE;
	x->id = id;
	x->state = st;
	x->next_try_ms = next_try_ms;
	x->attempt = attempt;
	x->at_ms = at_ms;
	if (cause && !(x->cause = talloc_strdup(r->rec, cause)))
		return MGW_E_NOMEM;
	r->n++;
	return MGW_OK;
}

static bool dup_str(void *ctx, const char *s, const char **out)
{
	*out = NULL;
	return !s || (*out = talloc_strdup(ctx, s));
}

int store_redo_insert(struct store_redo *r, const struct mgw_store_entry_in *in, int64_t id,
		      int64_t at_ms)
{
	struct redo_rec *x;
	void *blob = NULL;

	if (!(x = rec_new(r)))
		return MGW_E_NOMEM;
	x->op = REDO_INSERT;
	x->id = id;
	x->at_ms = at_ms;
	x->in = *in;
	if (in->blob_len && !(blob = talloc_memdup(r->rec, in->blob, in->blob_len)))
		return MGW_E_NOMEM;
	x->in.blob = blob;
	if (!dup_str(r->rec, in->origin, &x->in.origin) || !dup_str(r->rec, in->msg_id, &x->in.msg_id) ||
	    !dup_str(r->rec, in->order_key, &x->in.order_key) ||
	    !dup_str(r->rec, in->dest_key, &x->in.dest_key))
		return MGW_E_NOMEM;
	r->n++;
	return MGW_OK;
}

int store_redo_kv(struct store_redo *r, enum redo_op op, const char *ns, const char *key,
		  const void *val, size_t len, int64_t expires_ms)
{
	struct redo_rec *x;

	if (!(x = rec_new(r)))
		return MGW_E_NOMEM;
	x->op = op;
	x->len = len;
	x->expires_ms = expires_ms;
	if (!(x->ns = talloc_strdup(r->rec, ns)) || !(x->key = talloc_strdup(r->rec, key)) ||
	    (len && !(x->val = talloc_memdup(r->rec, val, len))))
		return MGW_E_NOMEM;
	r->n++;
	return MGW_OK;
}

const struct redo_rec *store_redo_kv_last(const struct store_redo *r, const char *ns,
					  const char *key)
{
	size_t i = r->n;

	while (i-- > 0)
		if ((r->rec[i].op == REDO_KV_PUT || r->rec[i].op == REDO_KV_DEL) &&
		    strcmp(r->rec[i].ns, ns) == 0 && strcmp(r->rec[i].key, key) == 0)
			return &r->rec[i];
	return NULL;
}

size_t store_redo_count(const struct store_redo *r)
{
	return r ? r->n : 0;
}

const struct redo_rec *store_redo_at(const struct store_redo *r, size_t i)
{
	return i < r->n ? &r->rec[i] : NULL;
}

static const struct redo_rec *latest(const struct store_redo *r, int64_t id)
{
	size_t i = r->n;

	while (i-- > 0)
		if (r->rec[i].op == REDO_STATE && r->rec[i].id == id)
			return &r->rec[i];
	return NULL;
}

bool store_redo_blocks(const struct store_redo *r, int64_t id, int64_t now_ms)
{
	const struct redo_rec *x = latest(r, id);

	return x && (x->state != MGW_QS_ACCEPTED || x->next_try_ms > now_ms);
}

uint32_t store_redo_attempts(const struct store_redo *r, int64_t id)
{
	uint32_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->rec[i].op == REDO_STATE && r->rec[i].id == id && r->rec[i].attempt)
			n++;
	return n;
}

void store_redo_clear(struct store_redo *r)
{
	/* the strings are children of the array: one free */
	TALLOC_FREE(r->rec);
	r->n = 0;
}
