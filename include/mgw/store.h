/* The durable store: queues, a transaction map with TTL, a replay cache, and the registry
 * copy. Narrow and free of SQLite types so another backend (PostgreSQL) can stand behind it.
 *
 * Durability and batching: every write goes into the current batch (one open transaction).
 * mgw_store_flush() commits the batch; only then are the completion callbacks of the
 * enqueues in that batch called, with MGW_OK (durable), MGW_E_DUPLICATE (an entry with the
 * same (queue, origin, msgId) was already stored: durable too) or MGW_E_STORE (the batch was
 * lost: nothing of it is stored, the caller must not acknowledge). A caller acknowledges
 * its peer only from that callback. mgw_store_attach() makes the store flush once per
 * event-loop turn by itself.
 *
 * Failed writes (disk full, I/O error, the file locked by another process): a write that
 * fails loses its batch (its enqueue callbacks get MGW_E_STORE), and the store enters a
 * "degraded" episode. The queue state changes of the message path (claim, complete, fail,
 * retry, expire) and the enqueues made with keep are never lost that way: the store keeps
 * them in memory, in order, answers MGW_OK, and writes them again with back-off (a timer of
 * the attached loop: exponential, capped, jittered) until a commit succeeds. Meanwhile the
 * store behaves as if they were written: a claim never returns an entry whose kept state is
 * INFLIGHT, DONE or FAILED, or ACCEPTED with a retry time still ahead. Other writes fail at
 * once with MGW_E_STORE while the episode lasts, without touching SQLite. One log line when
 * an episode starts, one when it ends (with the number of failed attempts). Kept changes
 * are lost only if the process dies before they are written (then INFLIGHT is recovered on
 * open: at-least-once). SQLite's busy handler waits a few ms, never seconds.
 *
 * Queue entry states: ACCEPTED -> INFLIGHT -> DONE | FAILED, and INFLIGHT -> ACCEPTED
 * (retry with next_try). On open, entries left INFLIGHT by a crash go back to ACCEPTED.
 * Per-order-key FIFO: claim never returns an entry while an older entry with the same
 * order_key in the same queue is ACCEPTED or INFLIGHT.
 */
#ifndef MGW_STORE_H
#define MGW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mgw_store;
struct event_base;

enum mgw_queue {
	MGW_Q_NORTH = 0, /* uplink: to the M5S */
	MGW_Q_SOUTH = 1, /* downlink: to a device via an adapter */
	_MGW_Q_COUNT
};

enum mgw_qstate { MGW_QS_ACCEPTED = 0, MGW_QS_INFLIGHT, MGW_QS_DONE, MGW_QS_FAILED };

struct mgw_store_opts {
	bool sync_full;     /* synchronous=FULL (default) vs NORMAL (WAL: still durable
	                       against process crash, not against power loss) */
	int64_t done_keep_ms; /* how long DONE/FAILED rows stay for idempotence (default 24 h) */
	int64_t group_us;     /* group commit: a batch that starts within this long of the last
			         commit waits out the rest of it (more writes join, fewer fsyncs);
			         0: commit at the end of every loop turn */
	const char *fault_file; /* lab fault injection (lab.store_fault): while this file exists,
	                           every COMMIT fails as SQLite would with the error named in it
	                           ("full", "busy" or "ioerr"; default full). NULL: off */
};

/* Open (create if missing) the store at path. On error returns MGW_E_STORE_CORRUPT (not a
 * database / failed integrity check / wrong schema), MGW_E_IO (cannot open/create/write)
 * with a one-line reason in errbuf. opts may be NULL. */
int mgw_store_open(void *ctx, const char *path, const struct mgw_store_opts *opts,
		   struct mgw_store **out, char *errbuf, size_t errlen);
/* Flush the pending batch and close. NULL is fine. */
void mgw_store_close(struct mgw_store *s);
/* Flush once per loop turn from the given event_base (an event made active on the first
 * write of a batch). */
int mgw_store_attach(struct mgw_store *s, struct event_base *base);
/* Commit the current batch and run its callbacks. Returns MGW_OK or MGW_E_STORE. */
int mgw_store_flush(struct mgw_store *s);

/* ---- queues ---- */
typedef void (*mgw_store_cb)(void *arg, int rc, int64_t id);
/* Call cb(arg, MGW_OK or MGW_E_STORE, 0) once everything written so far is durable: after
 * the commit of the current batch (one is started if none is open). For writes that have
 * no callback of their own (kv). MGW_OK when cb will be called. */
int mgw_store_barrier(struct mgw_store *s, mgw_store_cb cb, void *arg);

struct mgw_store_entry_in {
	enum mgw_queue q;
	const char *origin;    /* originator key for idempotence, e.g. "UE:ue-1" */
	const char *msg_id;
	const char *order_key; /* FIFO group, e.g. the originator or the destination UE */
	const char *dest_key;  /* e.g. "UE:ue-coap-1" for downlink lookup by destination */
	const void *blob;      /* the serialized message (opaque to the store) */
	size_t blob_len;
	int64_t expiry_ms;     /* 0: never */
	int64_t next_try_ms;   /* 0: now */
	bool keep;             /* if its batch is lost, keep it and write it again (entries no
	                          peer will send again: the gateway's own reports); cb still gets
	                          the result of the first commit (MGW_E_STORE: kept, not yet
	                          durable) */
};

/* Add an entry to the batch. cb(arg, rc, id) is called after the batch is committed (or
 * failed), never from inside this call. Returns MGW_OK if the entry was added to the
 * batch (cb will be called), else an error and cb is not called. */
int mgw_store_enqueue(struct mgw_store *s, const struct mgw_store_entry_in *in, mgw_store_cb cb,
		      void *arg);

struct mgw_store_entry {
	int64_t id;
	enum mgw_queue q;
	enum mgw_qstate state;
	char *origin, *msg_id, *order_key, *dest_key; /* talloc children of the entry */
	void *blob;
	size_t blob_len;
	int64_t created_ms, expiry_ms, next_try_ms;
	uint32_t attempts;
};

/* Claim up to max ACCEPTED entries of queue q with next_try <= now and not expired, oldest
 * first, honouring per-order-key FIFO; they become INFLIGHT. If dest_key is not NULL only
 * entries for that destination. The array and entries are talloc'd under ctx. */
int mgw_store_claim(struct mgw_store *s, void *ctx, enum mgw_queue q, const char *dest_key,
		    int64_t now_ms, size_t max, struct mgw_store_entry ***out, size_t *n);
int mgw_store_complete(struct mgw_store *s, int64_t id);                  /* -> DONE */
int mgw_store_fail(struct mgw_store *s, int64_t id, const char *cause);   /* -> FAILED */
int mgw_store_retry(struct mgw_store *s, int64_t id, int64_t next_try_ms); /* -> ACCEPTED, attempts++ */
/* Move expired ACCEPTED entries to FAILED and return them (for delivery reports). */
int mgw_store_expire(struct mgw_store *s, void *ctx, int64_t now_ms, size_t max,
		     struct mgw_store_entry ***out, size_t *n);
/* Look an entry up by (q, origin, msg_id). MGW_E_NOT_FOUND if none. */
int mgw_store_get(struct mgw_store *s, void *ctx, enum mgw_queue q, const char *origin,
		  const char *msg_id, struct mgw_store_entry **out);
/* Count entries of queue q in state st (for high-water marks and tests). */
int mgw_store_count(struct mgw_store *s, enum mgw_queue q, enum mgw_qstate st, size_t *n);
/* ACCEPTED entries of q for dest_key waiting out a retry back-off become due now (a device
 * came back): *n (if not NULL) says how many. Part of the current batch. */
int mgw_store_wake(struct mgw_store *s, enum mgw_queue q, const char *dest_key, int64_t now_ms,
		   size_t *n);
/* The distinct dest_keys of q's ACCEPTED entries waiting out a retry back-off (next_try_ms
 * > now_ms), at most max, by an index (never a walk of every entry): *out is a talloc array
 * of *n strings under ctx. What an adapter that came back wakes (mgw_core_wake_adapter()). */
int mgw_store_waiting_dests(struct mgw_store *s, void *ctx, enum mgw_queue q, int64_t now_ms,
			    size_t max, char ***out, size_t *n);
/* Earliest next_try_ms of ACCEPTED entries in q (0 if none): for the retry timer. */
int mgw_store_next_due(struct mgw_store *s, enum mgw_queue q, int64_t *next_ms);
/* Delete DONE/FAILED rows older than done_keep_ms and expired kv rows. */
int mgw_store_purge(struct mgw_store *s, int64_t now_ms);

/* ---- key/value with TTL: transaction map ("txn"), replay cache ("replay"), registry ---- */
int mgw_store_kv_put(struct mgw_store *s, const char *ns, const char *key, const void *val,
		     size_t len, int64_t expires_ms /* 0: never */);
/* MGW_E_NOT_FOUND when absent or expired at now_ms. *val is talloc'd under ctx, NUL-terminated. */
int mgw_store_kv_get(struct mgw_store *s, void *ctx, const char *ns, const char *key,
		     int64_t now_ms, void **val, size_t *len);
int mgw_store_kv_del(struct mgw_store *s, const char *ns, const char *key);
/* The same, kept through a failed write like the queue changes (the header comment): for
 * state that follows a delivery (an adapter's transaction map), not for writes that must
 * be lost together with a message that was not stored (a replay window). During an episode
 * mgw_store_kv_get() sees them. */
int mgw_store_kv_put_kept(struct mgw_store *s, const char *ns, const char *key, const void *val,
			  size_t len, int64_t expires_ms);
int mgw_store_kv_del_kept(struct mgw_store *s, const char *ns, const char *key);
/* Insert key if absent (or expired): MGW_OK; if present and live: MGW_E_REPLAY. */
int mgw_store_kv_add_unique(struct mgw_store *s, const char *ns, const char *key, int64_t now_ms,
			    int64_t expires_ms);
int mgw_store_kv_clear(struct mgw_store *s, const char *ns);
typedef int (*mgw_store_kv_cb)(void *arg, const char *key, const void *val, size_t len);
int mgw_store_kv_foreach(struct mgw_store *s, const char *ns, mgw_store_kv_cb cb, void *arg);

/* ---- the device registry (issue 13; doc/internals/registry.md) ----
 * Its own SQLite file (WAL) beside the store, "<store>.devices", so that an operator's
 * long import (one transaction) never holds the write lock of the message path. One row
 * per device (UE, adapter, the entry as JSON with its secrets, where it came from), one
 * credential index (kind, value) -> UE, unique, and a change log (seq, UE, what) that
 * every write appends to: a reader learns what changed since seq N. Created 0600. The
 * daemon reads it (point queries, autocommit); msgin5g-gwctl and the seed import write. */
struct mgw_regdb;

enum mgw_regdb_what { MGW_REGDB_ADDED = 1, MGW_REGDB_UPDATED, MGW_REGDB_REMOVED };

struct mgw_regdb_cred {
	int kind; /* enum mgw_cred */
	const char *value; /* normalised */
};

struct mgw_regdb_dev {
	const char *ue;
	const char *adapter; /* "coap", "mqtt", "sms" */
	const char *src;     /* "seed" (devices: of the config) or "gwctl" */
	const char *row;     /* the registry entry as compact JSON, secrets included */
	const struct mgw_regdb_cred *cred;
	size_t ncred;
};

/* Open (create 0600 if missing). busy_ms: how long a locked file is waited for (the daemon
 * a few ms, gwctl seconds). MGW_E_STORE_CORRUPT: not a registry file; MGW_E_IO. */
int mgw_regdb_open(void *ctx, const char *path, int busy_ms, struct mgw_regdb **out,
		   char *errbuf, size_t errlen);
void mgw_regdb_close(struct mgw_regdb *db); /* NULL is fine; rolls back an open transaction */
/* One write transaction around many puts/removes (an import): all or nothing. Without
 * one, each put/remove is its own transaction. */
int mgw_regdb_begin(struct mgw_regdb *db);
int mgw_regdb_commit(struct mgw_regdb *db);
void mgw_regdb_rollback(struct mgw_regdb *db);
/* Add or replace the device d->ue with its credentials. *what: MGW_REGDB_ADDED, _UPDATED,
 * or 0 (the same row was there: nothing changed, no change record; src and gen updated).
 * MGW_E_DUPLICATE: a credential belongs to another UE (*bad its index in d->cred, owner
 * its UE; *bad (size_t)-1: the UE itself was put with this gen > 0 already, i.e. twice in
 * one import); nothing of d written. gen: a generation for mgw_regdb_prune(). */
int mgw_regdb_put(struct mgw_regdb *db, const struct mgw_regdb_dev *d, int64_t gen, int *what,
		  size_t *bad, char *owner, size_t owner_len);
int mgw_regdb_remove(struct mgw_regdb *db, const char *ue); /* MGW_E_NOT_FOUND */
/* Remove the devices from src with a generation below gen (a seed's devices no longer in
 * it); *n how many. */
int mgw_regdb_prune(struct mgw_regdb *db, const char *src, int64_t gen, size_t *n);
/* The row of a UE / of the UE holding a credential; talloc'd under ctx. MGW_E_NOT_FOUND. */
int mgw_regdb_get(struct mgw_regdb *db, void *ctx, const char *ue, char **row);
int mgw_regdb_by_cred(struct mgw_regdb *db, void *ctx, int kind, const char *value, char **row);
/* The i-th row in UE order (a walk: slow for big fleets, kept for old callers). */
int mgw_regdb_at(struct mgw_regdb *db, void *ctx, size_t i, char **row);
/* Rows in UE order after `after` ("" from the start), at most max; cb returning non-zero
 * stops. *n how many were passed (a page shorter than max is the last). */
typedef int (*mgw_regdb_row_cb)(void *arg, const char *ue, const char *src, const char *row);
int mgw_regdb_page(struct mgw_regdb *db, const char *after, size_t max, mgw_regdb_row_cb cb,
		   void *arg, size_t *n);
int mgw_regdb_count(struct mgw_regdb *db, size_t *n);
/* The registry_seq: the last change's seq (0: none yet). One cheap query. */
int mgw_regdb_seq(struct mgw_regdb *db, int64_t *seq);
/* Changes with seq > since, oldest first, at most max. */
typedef void (*mgw_regdb_change_cb)(void *arg, int64_t seq, const char *ue, int what);
int mgw_regdb_changes(struct mgw_regdb *db, int64_t since, size_t max, mgw_regdb_change_cb cb,
		      void *arg, size_t *n);
/* Small named values (the seed's content hash, its generation). */
int mgw_regdb_meta_get(struct mgw_regdb *db, void *ctx, const char *key, char **val);
int mgw_regdb_meta_put(struct mgw_regdb *db, const char *key, const char *val);

/* Wall clock in unix milliseconds (overridable in tests). */
int64_t mgw_now_ms(void);

#endif
