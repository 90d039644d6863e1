/* Private to the store: the writes of the message path that a failed batch must not lose
 * (queue state changes, enqueues and kv writes the store is asked to keep). Kept in order since the
 * last commit that succeeded; replayed in order by the next attempt (store_sqlite.c). No
 * SQLite in here. */
#ifndef MGW_STORE_REDO_H
#define MGW_STORE_REDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mgw/store.h>

enum redo_op { REDO_STATE, REDO_INSERT, REDO_KV_PUT, REDO_KV_DEL };

struct redo_rec {
	enum redo_op op;
	int64_t id;            /* REDO_INSERT: 0 when no id was given out yet */
	/* REDO_STATE */
	enum mgw_qstate state;
	int64_t next_try_ms;   /* -1: leave as it is */
	bool attempt;          /* attempts + 1 (a retry) */
	char *cause;           /* NULL: leave as it is */
	int64_t at_ms;         /* updated_ms / created_ms */
	/* REDO_INSERT: a copy of the entry */
	struct mgw_store_entry_in in;
	/* REDO_KV_PUT, REDO_KV_DEL */
	char *ns, *key;
	void *val;
	size_t len;
	int64_t expires_ms;
};

struct store_redo;

struct store_redo *store_redo_alloc(void *ctx);
int store_redo_state(struct store_redo *r, int64_t id, enum mgw_qstate st, int64_t next_try_ms,
		     bool attempt, const char *cause, int64_t at_ms);
int store_redo_insert(struct store_redo *r, const struct mgw_store_entry_in *in, int64_t id,
		      int64_t at_ms);
int store_redo_kv(struct store_redo *r, enum redo_op op, const char *ns, const char *key,
		  const void *val, size_t len, int64_t expires_ms);
/* The last kept kv write of (ns, key), or NULL. */
const struct redo_rec *store_redo_kv_last(const struct store_redo *r, const char *ns,
					  const char *key);
size_t store_redo_count(const struct store_redo *r);
const struct redo_rec *store_redo_at(const struct store_redo *r, size_t i);
/* The entry must not be claimed at now_ms: its last kept state is not ACCEPTED, or it is
 * ACCEPTED with a retry time after now_ms. */
bool store_redo_blocks(const struct store_redo *r, int64_t id, int64_t now_ms);
/* retries of id kept (not yet counted in the row's attempts) */
uint32_t store_redo_attempts(const struct store_redo *r, int64_t id);
/* Forget everything (after a commit that wrote it all). */
void store_redo_clear(struct store_redo *r);

#endif
