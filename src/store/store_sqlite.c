/* The SQLite backend of the durable store (include/mgw/store.h).
 *
 * One connection in WAL mode. Every write joins the current batch: one transaction opened
 * with BEGIN IMMEDIATE by the first write and committed by mgw_store_flush(), which only
 * then runs the enqueue callbacks of that batch. Reads use the same connection, so they
 * see the batch's writes. All SQL is prepared once at open and cached on the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <talloc.h>

#include <mgw/backoff.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

#include "store_redo.h"
#include "store_test.h"

/* PRAGMA application_id ("MGW5") and user_version: a file with other values is not ours */
#define STORE_APP_ID 0x4d475735
#define STORE_SCHEMA_VERSION 2
/* busy waits: at open (once, a tool may hold the file a moment), and while running (a
 * lock is then retried by the episode timer instead of blocking the loop) */
#define STORE_BUSY_TIMEOUT_MS 2000
#define STORE_BUSY_RUN_MS 5
/* a degraded episode retries its kept writes after this back-off */
#define STORE_RETRY_MIN_MS 20
#define STORE_RETRY_MAX_MS 2000
#define STORE_FILE_MODE 0600
#define STORE_DONE_KEEP_MS (24LL * 3600 * 1000)
/* group commit holds a batch only after one of at least this many writes: one device's
 * message makes two or three per batch, and a lone writer is never held back */
#define GROUP_MIN_WRITES 4

static const char *const schema_sql =
	"CREATE TABLE queue("
	" id INTEGER PRIMARY KEY,"
	" q INTEGER NOT NULL CHECK (q IN (0, 1)),"
	" state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),"
	" origin TEXT NOT NULL,"
	" msg_id TEXT NOT NULL,"
	" order_key TEXT,"
	" dest_key TEXT,"
	" blob BLOB NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" expiry_ms INTEGER NOT NULL DEFAULT 0,"
	" next_try_ms INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" cause TEXT,"
	" updated_ms INTEGER NOT NULL,"
	" head INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (q, origin, msg_id));"
	"CREATE INDEX queue_claim ON queue(q, state, id);"
	"CREATE INDEX queue_due ON queue(q, state, next_try_ms);"
	"CREATE INDEX queue_dest ON queue(dest_key, q, state);"
	"CREATE INDEX queue_expiry ON queue(expiry_ms) WHERE state = 0 AND expiry_ms != 0;"
	"CREATE INDEX queue_done ON queue(updated_ms) WHERE state >= 2;"
	"CREATE TABLE kv("
	" ns TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" val BLOB,"
	" expires_ms INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (ns, key)) WITHOUT ROWID;"
	"CREATE INDEX kv_expiry ON kv(expires_ms) WHERE expires_ms != 0;";

/* Schema 2: the head of each order key. Per (q, order_key) the live entry (ACCEPTED or
 * INFLIGHT) with the lowest id has head = 1, every other entry head = 0; an entry without an
 * order key is its own head. The triggers keep that true on every insert and state change,
 * so a claim walks only heads (queue_head) instead of every waiting entry: with a backlog
 * for devices that are away, claiming used to cost the whole backlog each time.
 * An expired head that mgw_store_expire() has not marked yet still holds its line (for at
 * most one expiry sweep). The subqueries name queue_live: the planner prefers queue_due
 * (q, state) there, which walks every live entry of the queue and sorts them. */
static const char *const heads_sql =
	"CREATE INDEX queue_live ON queue(q, order_key, id) WHERE state <= 1;"
	"CREATE INDEX queue_head ON queue(q, id) WHERE head = 1 AND state = 0;"
	"CREATE TRIGGER queue_head_ins AFTER INSERT ON queue WHEN NEW.state <= 1 BEGIN"
	" UPDATE queue SET head = 1 WHERE id = NEW.id AND (NEW.order_key IS NULL OR NOT EXISTS"
	" (SELECT 1 FROM queue AS o INDEXED BY queue_live"
	" WHERE o.q = NEW.q AND o.order_key = NEW.order_key"
	" AND o.state <= 1 AND o.id < NEW.id));"
	" END;"
	/* leaving the live set: the next live entry of the key takes the line */
	"CREATE TRIGGER queue_head_end AFTER UPDATE OF state ON queue"
	" WHEN OLD.state <= 1 AND NEW.state >= 2 BEGIN"
	" UPDATE queue SET head = 0 WHERE id = NEW.id AND head = 1;"
	" UPDATE queue SET head = 1 WHERE head = 0 AND NEW.order_key IS NOT NULL AND id ="
	" (SELECT o.id FROM queue AS o INDEXED BY queue_live"
	" WHERE o.q = NEW.q AND o.order_key = NEW.order_key"
	" AND o.state <= 1 ORDER BY o.id LIMIT 1);"
	" END;"
	/* back in the live set (an expiry undone): it may be older than the current head */
	"CREATE TRIGGER queue_head_back AFTER UPDATE OF state ON queue"
	" WHEN OLD.state >= 2 AND NEW.state <= 1 BEGIN"
	" UPDATE queue SET head = (NEW.order_key IS NULL OR NOT EXISTS"
	" (SELECT 1 FROM queue AS o INDEXED BY queue_live"
	" WHERE o.q = NEW.q AND o.order_key = NEW.order_key"
	" AND o.state <= 1 AND o.id < NEW.id)) WHERE id = NEW.id;"
	" UPDATE queue SET head = 0 WHERE head = 1 AND q = NEW.q AND order_key = NEW.order_key"
	" AND state <= 1 AND id > NEW.id"
	" AND (SELECT head FROM queue WHERE id = NEW.id) = 1;"
	" END;";

/* From schema 1 (no heads): add the column, the indexes and triggers, compute the heads. */
static const char *const migrate_1_2_sql =
	"ALTER TABLE queue ADD COLUMN head INTEGER NOT NULL DEFAULT 0;"
	"DROP INDEX IF EXISTS queue_order;";
static const char *const heads_init_sql =
	"UPDATE queue SET head = 1 WHERE state <= 1 AND (order_key IS NULL OR NOT EXISTS"
	" (SELECT 1 FROM queue AS o INDEXED BY queue_live"
	" WHERE o.q = queue.q AND o.order_key = queue.order_key"
	" AND o.state <= 1 AND o.id < queue.id));";

#define ENTRY_COLS                                                                        \
	"id, q, state, origin, msg_id, order_key, dest_key, blob, created_ms, expiry_ms, " \
	"next_try_ms, attempts"

/* Only the head of an order key may go (see heads_sql); the heads are walked in id order
 * through their partial index, which stops after max hits. */
#define CLAIM_SQL(index, extra)                                                           \
	"SELECT " ENTRY_COLS " FROM queue AS e INDEXED BY " index                        \
	" WHERE e.q = ?1 AND e.state = 0 AND e.head = 1"                                  \
	" AND e.next_try_ms <= ?2 AND (e.expiry_ms = 0 OR e.expiry_ms > ?2)" extra        \
	" ORDER BY e.id LIMIT ?3"

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_INSERT,
	ST_ID_OF,
	ST_CLAIM,
	ST_CLAIM_DEST,
	ST_SET_INFLIGHT,
	ST_COMPLETE,
	ST_FAIL,
	ST_RETRY,
	ST_STATE_OF,
	ST_WAKE,
	ST_EXPIRE_SEL,
	ST_EXPIRE_SET,
	ST_GET,
	ST_COUNT,
	ST_NEXT_DUE,
	ST_PURGE_Q,
	ST_PURGE_KV,
	ST_KV_PUT,
	ST_KV_GET,
	ST_KV_DEL,
	ST_KV_ADD,
	ST_KV_CLEAR,
	ST_KV_EACH,
	ST_REDO_STATE,
	ST_REDO_INSERT,
	ST_WAITING,
	_ST_COUNT
};

static const char *const stmt_sql[_ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_INSERT] = "INSERT INTO queue (q, state, origin, msg_id, order_key, dest_key, blob,"
		      " created_ms, expiry_ms, next_try_ms, attempts, updated_ms)"
		      " VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?7)"
		      " ON CONFLICT (q, origin, msg_id) DO NOTHING",
	[ST_ID_OF] = "SELECT id FROM queue WHERE q = ?1 AND origin = ?2 AND msg_id = ?3",
	[ST_CLAIM] = CLAIM_SQL("queue_head", ""),
	/* one destination's entries are few: find them by destination, then sort */
	[ST_CLAIM_DEST] = CLAIM_SQL("queue_dest", " AND e.dest_key = ?4"),
	[ST_SET_INFLIGHT] = "UPDATE queue SET state = 1, updated_ms = ?2 WHERE id = ?1 AND state = 0",
	[ST_COMPLETE] = "UPDATE queue SET state = 2, updated_ms = ?2 WHERE id = ?1 AND state = 1",
	[ST_FAIL] = "UPDATE queue SET state = 3, cause = ?2, updated_ms = ?3"
		    " WHERE id = ?1 AND state IN (0, 1)",
	[ST_RETRY] = "UPDATE queue SET state = 0, next_try_ms = ?2, attempts = attempts + 1,"
		     " updated_ms = ?3 WHERE id = ?1 AND state = 1",
	[ST_STATE_OF] = "SELECT state FROM queue WHERE id = ?1",
	[ST_WAKE] = "UPDATE queue SET next_try_ms = 0 WHERE dest_key = ?1 AND q = ?2 AND state = 0"
		    " AND next_try_ms > ?3",
	/* by the (partial) expiry index: the planner would walk the whole queue in id order */
	[ST_EXPIRE_SEL] = "SELECT " ENTRY_COLS " FROM queue INDEXED BY queue_expiry"
			  " WHERE state = 0 AND expiry_ms != 0"
			  " AND expiry_ms <= ?1 ORDER BY id LIMIT ?2",
	[ST_EXPIRE_SET] = "UPDATE queue SET state = 3, cause = 'EXPIRED', updated_ms = ?2"
			  " WHERE id = ?1 AND state = 0",
	[ST_GET] = "SELECT " ENTRY_COLS " FROM queue WHERE q = ?1 AND origin = ?2 AND msg_id = ?3",
	[ST_COUNT] = "SELECT count(*) FROM queue WHERE q = ?1 AND state = ?2",
	[ST_NEXT_DUE] = "SELECT next_try_ms FROM queue WHERE q = ?1 AND state = 0"
			" ORDER BY next_try_ms LIMIT 1",
	/* by queue_due (q, state, next_try_ms): only the entries waiting out a back-off */
	[ST_WAITING] = "SELECT DISTINCT dest_key FROM queue INDEXED BY queue_due WHERE q = ?1"
		       " AND state = 0 AND next_try_ms > ?2 AND dest_key IS NOT NULL LIMIT ?3",
	[ST_PURGE_Q] = "DELETE FROM queue WHERE state >= 2 AND updated_ms <= ?1",
	[ST_PURGE_KV] = "DELETE FROM kv WHERE expires_ms != 0 AND expires_ms <= ?1",
	[ST_KV_PUT] = "INSERT INTO kv (ns, key, val, expires_ms) VALUES (?1, ?2, ?3, ?4)"
		      " ON CONFLICT (ns, key) DO UPDATE SET val = excluded.val,"
		      " expires_ms = excluded.expires_ms",
	[ST_KV_GET] = "SELECT val FROM kv WHERE ns = ?1 AND key = ?2"
		      " AND (expires_ms = 0 OR expires_ms > ?3)",
	[ST_KV_DEL] = "DELETE FROM kv WHERE ns = ?1 AND key = ?2",
	[ST_KV_ADD] = "INSERT INTO kv (ns, key, val, expires_ms) VALUES (?1, ?2, NULL, ?3)"
		      " ON CONFLICT (ns, key) DO UPDATE SET val = NULL,"
		      " expires_ms = excluded.expires_ms"
		      " WHERE kv.expires_ms != 0 AND kv.expires_ms <= ?4",
	[ST_KV_CLEAR] = "DELETE FROM kv WHERE ns = ?1",
	[ST_KV_EACH] = "SELECT key, val FROM kv WHERE ns = ?1"
		       " AND (expires_ms = 0 OR expires_ms > ?2) ORDER BY key",
	/* replay of kept writes (store_redo.h): the state they had in memory, whatever the row
	 * says (it says what the lost batch did not change) */
	[ST_REDO_STATE] = "UPDATE queue SET state = ?2,"
			  " next_try_ms = CASE WHEN ?3 < 0 THEN next_try_ms ELSE ?3 END,"
			  " attempts = attempts + ?4, cause = coalesce(?5, cause), updated_ms = ?6"
			  " WHERE id = ?1",
	[ST_REDO_INSERT] = "INSERT INTO queue (id, q, state, origin, msg_id, order_key, dest_key,"
			   " blob, created_ms, expiry_ms, next_try_ms, attempts, updated_ms)"
			   " VALUES (?10, ?1, 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?7)"
			   " ON CONFLICT DO NOTHING",
};

/* one enqueue waiting for its batch to commit */
struct pend {
	mgw_store_cb cb;
	void *arg;
	int rc;     /* MGW_OK or MGW_E_DUPLICATE, as seen inside the batch */
	int64_t id;
	bool lost;  /* the batch it was in was rolled back */
};

struct mgw_store {
	sqlite3 *db;
	sqlite3_stmt *st[_ST_COUNT];
	char *path;
	int64_t done_keep_ms;
	struct event *ev;      /* flushes once per loop turn (mgw_store_attach) */
	struct event *retry_ev; /* the next attempt of an episode */
	bool in_batch;         /* a BEGIN IMMEDIATE is open */
	struct pend *pend;     /* callbacks of the current batch (talloc array) */
	size_t npend;
	unsigned long batches; /* committed or lost */
	int64_t group_us;      /* group-commit window (mgw_store_opts) */
	int64_t last_commit_us;
	unsigned batch_writes, last_batch_writes; /* writes in this / the last batch */
	bool fail_next_commit; /* test hook */
	/* failed writes (store.h): the kept writes, and the episode */
	struct store_redo *redo;
	bool degraded;         /* an episode: writes failed, the kept ones wait for the timer */
	unsigned fails;        /* failed attempts in this episode */
	int64_t episode_at;    /* when it started (unix ms) */
	struct mgw_backoff bo;
	char *fault_file;      /* lab.store_fault */
};

#define LOG_STORE(s, level, fmt, ...) \
	LOGP(DSTORE, level, "store(%s): " fmt, (s)->path, ##__VA_ARGS__)

/* ---- statement helpers ---- */

static sqlite3_stmt *stmt(struct mgw_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* NULL binds SQL NULL; text is only read while the statement runs */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* an empty blob, never NULL; SQLITE_TOOBIG beyond SQLite's length limit */
static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t len)
{
	return len ? sqlite3_bind_blob64(st, i, v, len, SQLITE_STATIC)
		   : sqlite3_bind_zeroblob(st, i, 0);
}

static void episode_fail(struct mgw_store *s, const char *what, int src);

/* Called after a statement of a write failed: the batch is lost (SQLite may have rolled it
 * back by itself: I/O error, disk full), and an episode starts or goes on (store.h). */
static int write_failed(struct mgw_store *s, const char *what, int src)
{
	episode_fail(s, what, src);
	return MGW_E_STORE;
}

static int read_failed(struct mgw_store *s, const char *what, int src)
{
	LOG_STORE(s, MGW_LOGL_ERROR, "%s failed: %s (%d)", what, sqlite3_errmsg(s->db), src);
	return MGW_E_STORE;
}

/* Run a statement with no result rows. */
static int exec_done(struct mgw_store *s, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);

	stmt_done(st);
	return src == SQLITE_DONE ? SQLITE_OK : src;
}

/* ---- batches ---- */

static void batch_lost(struct mgw_store *s)
{
	size_t i;

	if (s->npend)
		LOG_STORE(s, MGW_LOGL_DEBUG, "batch of %zu enqueues lost", s->npend);
	for (i = 0; i < s->npend; i++)
		s->pend[i].lost = true;
	if (s->in_batch && !sqlite3_get_autocommit(s->db))
		exec_done(s, stmt(s, ST_ROLLBACK));
	s->in_batch = false;
	s->batches++;
}

/* ---- failed writes: episodes (store.h) ---- */

static void episode_arm(struct mgw_store *s)
{
	int64_t d = mgw_backoff_delay(&s->bo, s->fails ? s->fails - 1 : 0, 0);
	struct timeval tv = { (time_t)(d / 1000), (suseconds_t)((d % 1000) * 1000) };

	if (s->retry_ev)
		evtimer_add(s->retry_ev, &tv);
}

/* A write or commit failed: lose the batch, keep the kept writes, retry after a back-off.
 * Logged once per episode; each further failed attempt only at debug. */
static void episode_fail(struct mgw_store *s, const char *what, int src)
{
	batch_lost(s);
	s->fails++;
	if (!s->degraded) {
		s->degraded = true;
		s->episode_at = mgw_now_ms();
		LOG_STORE(s, MGW_LOGL_ERROR,
			  "writes failing (%s: %s, %d): %zu queue changes kept in memory and "
			  "written again with back-off; new messages refused meanwhile",
			  what, sqlite3_errstr(src), src, store_redo_count(s->redo));
	} else {
		LOG_STORE(s, MGW_LOGL_DEBUG, "retry %u failed (%s: %s, %d)", s->fails, what,
			  sqlite3_errstr(src), src);
	}
	episode_arm(s);
}

static void episode_end(struct mgw_store *s, size_t written)
{
	LOG_STORE(s, MGW_LOGL_NOTICE,
		  "writes succeed again after %u failed attempts in %lld ms; %zu kept queue "
		  "changes written",
		  s->fails, (long long)(mgw_now_ms() - s->episode_at), written);
	s->degraded = false;
	s->fails = 0;
	if (s->retry_ev)
		evtimer_del(s->retry_ev);
}

/* lab.store_fault: while the file exists, a COMMIT fails with the error it names */
static bool fault_now(struct mgw_store *s, int *src)
{
	char buf[16] = "";
	FILE *f;

	if (!s->fault_file || !(f = fopen(s->fault_file, "r")))
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	*src = strncmp(buf, "busy", 4) == 0	 ? SQLITE_BUSY
	       : strncmp(buf, "ioerr", 5) == 0 ? SQLITE_IOERR
					       : SQLITE_FULL;
	return true;
}

/* Open the batch transaction (no flush scheduling). */
static int batch_open(struct mgw_store *s)
{
	int src;

	if ((src = exec_done(s, stmt(s, ST_BEGIN))) != SQLITE_OK) {
		episode_fail(s, "BEGIN", src);
		return MGW_E_STORE;
	}
	s->in_batch = true;
	s->batch_writes = 1;
	return MGW_OK;
}

/* Make sure a batch transaction is open before a write. During an episode: refused at once,
 * without touching SQLite (the kept writes go through the episode timer). */
static int batch_begin(struct mgw_store *s)
{
	if (s->degraded)
		return MGW_E_STORE;
	s->batch_writes++;
	if (s->in_batch) {
		if (!sqlite3_get_autocommit(s->db))
			return MGW_OK;
		/* SQLite ended the transaction by itself after an error */
		episode_fail(s, "transaction rolled back by SQLite", SQLITE_ABORT);
		return MGW_E_STORE;
	}
	if (batch_open(s) != MGW_OK)
		return MGW_E_STORE;
	if (s->ev) {
		struct timespec ts;
		int64_t now_us, wait;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		wait = s->last_commit_us + s->group_us - now_us;
		if (s->group_us > 0 && wait > 0 && s->last_batch_writes >= GROUP_MIN_WRITES) {
			/* busy (the last batch was shared and is recent): let what arrives
			 * meanwhile share this commit */
			struct timeval tv = { 0, (suseconds_t)(wait < s->group_us ? wait : s->group_us) };

			event_add(s->ev, &tv);
		} else {
			event_active(s->ev, EV_TIMEOUT, 1);
		}
	}
	return MGW_OK;
}

static int pend_add(struct mgw_store *s, mgw_store_cb cb, void *arg, int rc, int64_t id)
{
	size_t cap = talloc_array_length(s->pend);

	if (s->npend == cap) {
		struct pend *p = talloc_realloc(s, s->pend, struct pend, cap ? cap * 2 : 64);

		if (!p)
			return MGW_E_NOMEM;
		s->pend = p;
	}
	s->pend[s->npend++] = (struct pend){ .cb = cb, .arg = arg, .rc = rc, .id = id };
	return MGW_OK;
}

int mgw_store_barrier(struct mgw_store *s, mgw_store_cb cb, void *arg)
{
	int rc;

	if (!s || !cb)
		return MGW_E_INVAL;
	/* joins the current batch (starting one if none is open) */
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	s->batch_writes--; /* an empty write: it does not make the batch busier */
	return pend_add(s, cb, arg, MGW_OK, 0);
}

/* Commit the open batch: MGW_OK (and the kept writes are forgotten: they are on disk) or
 * MGW_E_STORE (the batch is lost, an episode goes on). */
static int batch_commit(struct mgw_store *s)
{
	struct timespec ts;
	size_t kept;
	int src = SQLITE_OK;

	if (!s->in_batch)
		return MGW_OK;
	if (sqlite3_get_autocommit(s->db)) {
		episode_fail(s, "transaction rolled back by SQLite", SQLITE_ABORT);
		return MGW_E_STORE;
	}
	if (s->fail_next_commit) {
		s->fail_next_commit = false;
		episode_fail(s, "COMMIT (test)", SQLITE_IOERR);
		return MGW_E_STORE;
	}
	if (fault_now(s, &src) || (src = exec_done(s, stmt(s, ST_COMMIT))) != SQLITE_OK) {
		episode_fail(s, "COMMIT", src);
		return MGW_E_STORE;
	}
	s->in_batch = false;
	s->batches++;
	s->last_batch_writes = s->batch_writes;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->last_commit_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	kept = store_redo_count(s->redo);
	store_redo_clear(s->redo);
	if (s->degraded)
		episode_end(s, kept);
	LOG_STORE(s, MGW_LOGL_DEBUG, "batch committed, %zu enqueues", s->npend);
	return MGW_OK;
}

int mgw_store_flush(struct mgw_store *s)
{
	struct pend *p;
	size_t n, i;
	int rc;

	if (!s)
		return MGW_E_INVAL;
	rc = batch_commit(s);
	/* Detach the callbacks first: they may write (starting the next batch), flush
	 * again, or even close the store. */
	p = s->pend;
	n = s->npend;
	s->pend = NULL;
	s->npend = 0;
	if (p)
		talloc_steal(NULL, p);
	for (i = 0; i < n; i++) {
		if (p[i].lost)
			rc = MGW_E_STORE;
		if (p[i].cb)
			p[i].cb(p[i].arg, p[i].lost ? MGW_E_STORE : p[i].rc,
				p[i].lost ? 0 : p[i].id);
	}
	talloc_free(p);
	return rc;
}

/* Write the kept changes again, in order, in one batch with nothing else. */
static int replay(struct mgw_store *s)
{
	const struct redo_rec *r;
	sqlite3_stmt *st;
	int src = SQLITE_OK;

	for (size_t i = 0; src == SQLITE_OK && (r = store_redo_at(s->redo, i)); i++) {
		if (r->op == REDO_STATE) {
			st = stmt(s, ST_REDO_STATE);
			sqlite3_bind_int64(st, 1, r->id);
			sqlite3_bind_int(st, 2, r->state);
			sqlite3_bind_int64(st, 3, r->next_try_ms);
			sqlite3_bind_int(st, 4, r->attempt ? 1 : 0);
			bind_text(st, 5, r->cause);
			sqlite3_bind_int64(st, 6, r->at_ms);
		} else if (r->op == REDO_KV_PUT) {
			st = stmt(s, ST_KV_PUT);
			bind_text(st, 1, r->ns);
			bind_text(st, 2, r->key);
			bind_blob(st, 3, r->val, r->len);
			sqlite3_bind_int64(st, 4, r->expires_ms);
		} else if (r->op == REDO_KV_DEL) {
			st = stmt(s, ST_KV_DEL);
			bind_text(st, 1, r->ns);
			bind_text(st, 2, r->key);
		} else {
			st = stmt(s, ST_REDO_INSERT);
			sqlite3_bind_int(st, 1, r->in.q);
			bind_text(st, 2, r->in.origin);
			bind_text(st, 3, r->in.msg_id);
			bind_text(st, 4, r->in.order_key);
			bind_text(st, 5, r->in.dest_key);
			bind_blob(st, 6, r->in.blob, r->in.blob_len);
			sqlite3_bind_int64(st, 7, r->at_ms);
			sqlite3_bind_int64(st, 8, r->in.expiry_ms);
			sqlite3_bind_int64(st, 9, r->in.next_try_ms);
			if (r->id)
				sqlite3_bind_int64(st, 10, r->id);
			else
				sqlite3_bind_null(st, 10);
		}
		src = exec_done(s, st);
	}
	return src;
}

/* One attempt of an episode: BEGIN, the kept writes, COMMIT. */
static int episode_retry(struct mgw_store *s)
{
	int src;

	if (!s->degraded || s->in_batch)
		return MGW_OK;
	if (batch_open(s) != MGW_OK)
		return MGW_E_STORE;
	s->batch_writes = (unsigned)store_redo_count(s->redo);
	if ((src = replay(s)) != SQLITE_OK) {
		episode_fail(s, "writing kept changes", src);
		return MGW_E_STORE;
	}
	return mgw_store_flush(s);
}

static void retry_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	episode_retry(arg);
}

static void flush_ev(evutil_socket_t fd, short what, void *arg)
{
	mgw_store_flush(arg);
}

int mgw_store_attach(struct mgw_store *s, struct event_base *base)
{
	struct event *ev = NULL, *rev = NULL;
	int npri;

	if (!s)
		return MGW_E_INVAL;
	if (base) {
		if (!(ev = event_new(base, -1, 0, flush_ev, s)) ||
		    !(rev = evtimer_new(base, retry_ev_cb, s))) {
			if (ev)
				event_free(ev);
			return MGW_E_NOMEM;
		}
		/* lowest priority: commit after this turn's other work, so it joins the batch */
		npri = event_base_get_npriorities(base);
		if (npri > 1)
			event_priority_set(ev, npri - 1);
	}
	if (s->ev)
		event_free(s->ev);
	if (s->retry_ev)
		event_free(s->retry_ev);
	s->ev = ev;
	s->retry_ev = rev;
	if (rev && s->degraded)
		episode_arm(s);
	if (ev && (s->in_batch || s->npend))
		event_active(ev, EV_TIMEOUT, 1);
	return MGW_OK;
}

/* ---- open / close ---- */

static int store_destructor(struct mgw_store *s)
{
	size_t i;

	if (s->ev)
		event_free(s->ev);
	s->ev = NULL;
	if (s->retry_ev)
		event_free(s->retry_ev);
	s->retry_ev = NULL;
	if (s->degraded && store_redo_count(s->redo))
		LOG_STORE(s, MGW_LOGL_ERROR,
			  "closed with %zu queue changes not written (recovered on the next open)",
			  store_redo_count(s->redo));
	if (s->db && s->in_batch) {
		/* freed without mgw_store_close(): keep what was written, but nobody is left
		 * to call back (the callers are being freed with us) */
		if (s->npend)
			LOG_STORE(s, MGW_LOGL_NOTICE, "freed with %zu enqueues unflushed",
				  s->npend);
		if (!sqlite3_get_autocommit(s->db) && exec_done(s, stmt(s, ST_COMMIT)) != SQLITE_OK)
			exec_done(s, stmt(s, ST_ROLLBACK));
		s->in_batch = false;
	}
	for (i = 0; i < _ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		LOG_STORE(s, MGW_LOGL_ERROR, "close failed: %s", sqlite3_errmsg(s->db));
	s->db = NULL;
	return 0;
}

void mgw_store_close(struct mgw_store *s)
{
	if (!s)
		return;
	mgw_store_flush(s);
	episode_retry(s); /* a last attempt for what is kept */
	talloc_free(s);
}

/* Map an SQLite result met while opening to our cause. */
static int open_cause(int src)
{
	switch (src & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return MGW_E_STORE_CORRUPT;
	case SQLITE_NOMEM:
		return MGW_E_NOMEM;
	default: /* CANTOPEN, READONLY, PERM, IOERR, FULL, BUSY, LOCKED, ... */
		return MGW_E_IO;
	}
}

static int open_fail(struct mgw_store *s, int rc, char *errbuf, size_t errlen,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int open_fail(struct mgw_store *s, int rc, char *errbuf, size_t errlen,
		     const char *fmt, ...)
{
	char why[256], *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* one line: quick_check reports one problem per line */
	for (c = why; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s", s->path, why);
	LOG_STORE(s, MGW_LOGL_ERROR, "open: %s", why);
	return rc;
}

/* Run one SQL text (several statements allowed), for open only. */
static int exec_sql(struct mgw_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* A single integer (PRAGMA or SELECT), for open only. */
static int query_int(struct mgw_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int src;

	if ((src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		goto out;
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int64(st, 0);
	src = SQLITE_OK;
out:
	sqlite3_finalize(st);
	return src;
}

/* A single text (PRAGMA), for open only: copied into buf. */
static int query_text(struct mgw_store *s, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int src;

	if ((src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK)
		goto out;
	if ((src = sqlite3_step(st)) != SQLITE_ROW)
		goto out;
	t = sqlite3_column_text(st, 0);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
	src = SQLITE_OK;
out:
	sqlite3_finalize(st);
	return src;
}

/* Decide whether the file is empty (new), ours, or something else, before writing. */
static int check_schema(struct mgw_store *s, bool *is_new, int64_t *version, char *errbuf,
			size_t errlen)
{
	int64_t nobj = 0, uver = 0, appid = 0, ntab = 0;
	char why[160], ok[128];
	int src;

	if ((src = query_int(s, "SELECT count(*) FROM sqlite_schema", &nobj)) != SQLITE_OK ||
	    (src = query_int(s, "PRAGMA user_version", &uver)) != SQLITE_OK ||
	    (src = query_int(s, "PRAGMA application_id", &appid)) != SQLITE_OK)
		return open_fail(s, open_cause(src), errbuf, errlen, "%s", sqlite3_errmsg(s->db));
	if (nobj == 0 && uver == 0 && (appid == 0 || appid == STORE_APP_ID)) {
		*is_new = true;
		return MGW_OK;
	}
	if (appid != STORE_APP_ID || uver < 1 || uver > STORE_SCHEMA_VERSION) {
		snprintf(why, sizeof(why),
			 "foreign SQLite database (application_id 0x%08" PRIx64
			 ", user_version %" PRId64 "; expected 0x%08x, %d)",
			 (uint64_t)appid & 0xffffffffu, uver, STORE_APP_ID, STORE_SCHEMA_VERSION);
		return open_fail(s, MGW_E_STORE_CORRUPT, errbuf, errlen, "%s", why);
	}
	if ((src = query_int(s,
			     "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
			     " AND name IN ('queue', 'kv')",
			     &ntab)) != SQLITE_OK)
		return open_fail(s, open_cause(src), errbuf, errlen, "%s", sqlite3_errmsg(s->db));
	if (ntab != 2)
		return open_fail(s, MGW_E_STORE_CORRUPT, errbuf, errlen, "%s",
				 "schema incomplete (table queue or kv missing)");
	if ((src = query_text(s, "PRAGMA quick_check", ok, sizeof(ok))) != SQLITE_OK)
		return open_fail(s, open_cause(src), errbuf, errlen, "quick_check: %s",
				 sqlite3_errmsg(s->db));
	if (strcmp(ok, "ok") != 0)
		return open_fail(s, MGW_E_STORE_CORRUPT, errbuf, errlen,
				 "integrity check failed: %s", ok);
	*is_new = false;
	*version = uver;
	return MGW_OK;
}

static int create_schema(struct mgw_store *s)
{
	char sql[128];
	int src;

	if ((src = exec_sql(s, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return src;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 STORE_APP_ID, STORE_SCHEMA_VERSION);
	if ((src = exec_sql(s, schema_sql)) != SQLITE_OK || (src = exec_sql(s, heads_sql)) != SQLITE_OK ||
	    (src = exec_sql(s, sql)) != SQLITE_OK || (src = exec_sql(s, "COMMIT")) != SQLITE_OK) {
		exec_sql(s, "ROLLBACK");
		return src;
	}
	return SQLITE_OK;
}

/* An older schema brought up to this one, in one transaction (nothing changes on failure). */
static int migrate_schema(struct mgw_store *s, int64_t from)
{
	char sql[64];
	int src;

	if (from == STORE_SCHEMA_VERSION)
		return SQLITE_OK;
	if ((src = exec_sql(s, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return src;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", STORE_SCHEMA_VERSION);
	/* from == 1: the only older schema */
	if ((src = exec_sql(s, migrate_1_2_sql)) != SQLITE_OK ||
	    (src = exec_sql(s, heads_sql)) != SQLITE_OK ||
	    (src = exec_sql(s, heads_init_sql)) != SQLITE_OK || (src = exec_sql(s, sql)) != SQLITE_OK ||
	    (src = exec_sql(s, "COMMIT")) != SQLITE_OK) {
		exec_sql(s, "ROLLBACK");
		return src;
	}
	LOG_STORE(s, MGW_LOGL_NOTICE, "schema %" PRId64 " migrated to %d", from, STORE_SCHEMA_VERSION);
	return SQLITE_OK;
}

/* Entries a crash left INFLIGHT go back to ACCEPTED. Also proves the file is writable. */
static int recover(struct mgw_store *s, int *nrec)
{
	int src;

	if ((src = exec_sql(s, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return src;
	if ((src = exec_sql(s, "UPDATE queue SET state = 0 WHERE state = 1")) != SQLITE_OK) {
		exec_sql(s, "ROLLBACK");
		return src;
	}
	*nrec = sqlite3_changes(s->db);
	if ((src = exec_sql(s, "COMMIT")) != SQLITE_OK)
		exec_sql(s, "ROLLBACK");
	return src;
}

/* The store holds queued payloads and the registry copy: a new one is created 0600
 * whatever the umask (fchmod: a umask can also take bits from the owner). SQLite gives
 * -wal and -shm the database file's mode, so they are private too. An existing store
 * that others may read is used (refusing it would stop a gateway that ran before), with
 * a warning that names the fix. */
static int create_private(struct mgw_store *s, bool existed, const struct stat *sb,
			  char *errbuf, size_t errlen)
{
	int fd;

	if (existed) {
		if (sb->st_mode & 077)
			LOG_STORE(s, MGW_LOGL_NOTICE,
				  "mode %04o lets others than its owner read the queued messages "
				  "(chmod 600 %s and its -wal, -shm)",
				  (unsigned)(sb->st_mode & 07777), s->path);
		return MGW_OK;
	}
	do
		fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, STORE_FILE_MODE);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return open_fail(s, MGW_E_IO, errbuf, errlen, "cannot create: %s", strerror(errno));
	if (fchmod(fd, STORE_FILE_MODE) != 0) {
		int e = errno;

		close(fd);
		return open_fail(s, MGW_E_IO, errbuf, errlen, "cannot chmod %o: %s",
				 STORE_FILE_MODE, strerror(e));
	}
	close(fd);
	return MGW_OK;
}

int mgw_store_open(void *ctx, const char *path, const struct mgw_store_opts *opts,
		   struct mgw_store **out, char *errbuf, size_t errlen)
{
	struct mgw_store *s = NULL;
	struct stat sb;
	char mode[16];
	bool is_new = false, existed;
	int64_t version = STORE_SCHEMA_VERSION;
	int rc, src, nrec = 0;
	size_t i;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!path || !*path || !out) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "store path missing");
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(s = talloc_zero(ctx, struct mgw_store)) || !(s->path = talloc_strdup(s, path))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	talloc_set_destructor(s, store_destructor);
	s->done_keep_ms = opts && opts->done_keep_ms > 0 ? opts->done_keep_ms : STORE_DONE_KEEP_MS;
	s->group_us = opts && opts->group_us > 0 ? opts->group_us : 0;
	mgw_backoff_init(&s->bo, STORE_RETRY_MIN_MS, STORE_RETRY_MAX_MS, 0);
	if (!(s->redo = store_redo_alloc(s)) ||
	    (opts && opts->fault_file && !(s->fault_file = talloc_strdup(s, opts->fault_file)))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	existed = stat(path, &sb) == 0;
	if (existed && !S_ISREG(sb.st_mode)) {
		rc = open_fail(s, MGW_E_IO, errbuf, errlen, "%s", "not a regular file");
		goto out;
	}
	if ((rc = create_private(s, existed, &sb, errbuf, errlen)) != MGW_OK)
		goto out;
	src = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			      NULL);
	if (src != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "cannot open: %s",
			       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* read first: nothing is written to a file that turns out not to be ours */
	if ((rc = check_schema(s, &is_new, &version, errbuf, errlen)) != MGW_OK)
		goto out;
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		rc = open_fail(s, MGW_E_IO, errbuf, errlen, "%s", "opened read-only (no write permission)");
		goto out;
	}
	if ((src = query_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode))) != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "cannot enable WAL: %s",
			       sqlite3_errmsg(s->db));
		goto out;
	}
	if (strcmp(mode, "wal") != 0) {
		rc = open_fail(s, MGW_E_IO, errbuf, errlen, "cannot enable WAL (journal_mode %s)",
			       mode);
		goto out;
	}
	if ((src = exec_sql(s, opts && !opts->sync_full ? "PRAGMA synchronous = NORMAL"
						       : "PRAGMA synchronous = FULL")) != SQLITE_OK ||
	    (src = exec_sql(s, "PRAGMA foreign_keys = ON")) != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "%s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (is_new && (src = create_schema(s)) != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "cannot create schema: %s",
			       sqlite3_errmsg(s->db));
		goto out;
	}
	if (!is_new && (src = migrate_schema(s, version)) != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "cannot migrate schema %" PRId64 ": %s",
			       version, sqlite3_errmsg(s->db));
		goto out;
	}
	if ((src = recover(s, &nrec)) != SQLITE_OK) {
		rc = open_fail(s, open_cause(src), errbuf, errlen, "cannot write: %s",
			       sqlite3_errmsg(s->db));
		goto out;
	}
	for (i = 0; i < _ST_COUNT; i++) {
		src = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					 &s->st[i], NULL);
		if (src != SQLITE_OK) {
			rc = open_fail(s, MGW_E_STORE, errbuf, errlen, "cannot prepare: %s",
				       sqlite3_errmsg(s->db));
			goto out;
		}
	}
	/* from now on a lock is retried by the episode timer, not waited out in the loop */
	sqlite3_busy_timeout(s->db, STORE_BUSY_RUN_MS);
	if (nrec)
		LOG_STORE(s, MGW_LOGL_NOTICE, "%d in-flight entries returned to the queue", nrec);
	if (s->fault_file)
		LOG_STORE(s, MGW_LOGL_NOTICE, "LAB: commits fail while %s exists (lab.store_fault)",
			  s->fault_file);
	LOG_STORE(s, MGW_LOGL_INFO, "%s (WAL, synchronous=%s)", is_new ? "created" : "opened",
		  opts && !opts->sync_full ? "NORMAL" : "FULL");
	*out = s;
	s = NULL;
	rc = MGW_OK;
out:
	talloc_free(s);
	return rc;
}

/* ---- queues ---- */

static bool q_valid(enum mgw_queue q)
{
	return (int)q >= 0 && q < _MGW_Q_COUNT;
}

/* A kept enqueue while writes fail: written by the episode; its callback says now that it
 * is not durable yet (MGW_E_STORE), as a lost batch would. */
static int enqueue_kept(struct mgw_store *s, const struct mgw_store_entry_in *in, int64_t id,
			mgw_store_cb cb, void *arg)
{
	int rc;

	if ((rc = store_redo_insert(s->redo, in, id, mgw_now_ms())) != MGW_OK ||
	    (rc = pend_add(s, cb, arg, MGW_OK, 0)) != MGW_OK)
		return rc;
	s->pend[s->npend - 1].lost = true;
	if (s->ev)
		event_active(s->ev, EV_TIMEOUT, 1);
	return MGW_OK;
}

int mgw_store_enqueue(struct mgw_store *s, const struct mgw_store_entry_in *in, mgw_store_cb cb,
		      void *arg)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc, src, dup;

	if (!s || !in || !q_valid(in->q) || !in->origin || !in->msg_id ||
	    (!in->blob && in->blob_len)) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (s->degraded) {
		rc = in->keep ? enqueue_kept(s, in, 0, cb, arg) : MGW_E_STORE;
		goto out;
	}
	if ((rc = batch_begin(s)) != MGW_OK) {
		if (in->keep && s->degraded)
			rc = enqueue_kept(s, in, 0, cb, arg);
		goto out;
	}
	st = stmt(s, ST_INSERT);
	sqlite3_bind_int(st, 1, in->q);
	bind_text(st, 2, in->origin);
	bind_text(st, 3, in->msg_id);
	bind_text(st, 4, in->order_key);
	bind_text(st, 5, in->dest_key);
	if ((src = bind_blob(st, 6, in->blob, in->blob_len)) != SQLITE_OK) {
		stmt_done(st);
		rc = src == SQLITE_TOOBIG ? MGW_E_TOO_BIG : MGW_E_STORE;
		goto out;
	}
	sqlite3_bind_int64(st, 7, mgw_now_ms());
	sqlite3_bind_int64(st, 8, in->expiry_ms);
	sqlite3_bind_int64(st, 9, in->next_try_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK) {
		rc = (src & 0xff) == SQLITE_TOOBIG ? MGW_E_TOO_BIG
						   : write_failed(s, "enqueue", src);
		if (rc == MGW_E_STORE && in->keep)
			rc = enqueue_kept(s, in, 0, cb, arg);
		goto out;
	}
	/* the UNIQUE index sees this batch's rows too, so a repeat within it is caught */
	dup = sqlite3_changes(s->db) == 0;
	if (dup && s->batch_writes)
		s->batch_writes--; /* nothing written: a retry does not make a batch busy */
	if (!dup) {
		id = sqlite3_last_insert_rowid(s->db);
		/* if this batch is lost, the insert is written again under the same id */
		if (in->keep && (rc = store_redo_insert(s->redo, in, id, mgw_now_ms())) != MGW_OK)
			goto out;
	} else {
		st = stmt(s, ST_ID_OF);
		sqlite3_bind_int(st, 1, in->q);
		bind_text(st, 2, in->origin);
		bind_text(st, 3, in->msg_id);
		src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		stmt_done(st);
		if (src != SQLITE_ROW) {
			rc = read_failed(s, "duplicate lookup", src);
			goto out;
		}
		LOG_STORE(s, MGW_LOGL_DEBUG, "q%d %s/%s duplicate of #%" PRId64, in->q,
			  in->origin, in->msg_id, id);
	}
	/* If this fails the row stays in the batch without a callback: harmless, since an
	 * unacknowledged peer retries and meets MGW_E_DUPLICATE. */
	if ((rc = pend_add(s, cb, arg, dup ? MGW_E_DUPLICATE : MGW_OK, id)) != MGW_OK)
		goto out;
	rc = MGW_OK;
out:
	return rc;
}

/* Build an entry from a row of ENTRY_COLS, as a talloc child of ctx. */
static int entry_from_row(void *ctx, sqlite3_stmt *st, struct mgw_store_entry **out)
{
	struct mgw_store_entry *e;
	const char *t;
	const void *b;
	int rc = MGW_E_NOMEM;

	if (!(e = talloc_zero(ctx, struct mgw_store_entry)))
		goto out;
	e->id = sqlite3_column_int64(st, 0);
	e->q = (enum mgw_queue)sqlite3_column_int(st, 1);
	e->state = (enum mgw_qstate)sqlite3_column_int(st, 2);
	if (!(e->origin = talloc_strdup(e, (const char *)sqlite3_column_text(st, 3))) ||
	    !(e->msg_id = talloc_strdup(e, (const char *)sqlite3_column_text(st, 4))))
		goto out;
	if ((t = (const char *)sqlite3_column_text(st, 5)) && !(e->order_key = talloc_strdup(e, t)))
		goto out;
	if ((t = (const char *)sqlite3_column_text(st, 6)) && !(e->dest_key = talloc_strdup(e, t)))
		goto out;
	b = sqlite3_column_blob(st, 7);
	e->blob_len = (size_t)sqlite3_column_bytes(st, 7);
	if (e->blob_len && !(e->blob = talloc_memdup(e, b, e->blob_len)))
		goto out;
	e->created_ms = sqlite3_column_int64(st, 8);
	e->expiry_ms = sqlite3_column_int64(st, 9);
	e->next_try_ms = sqlite3_column_int64(st, 10);
	e->attempts = (uint32_t)sqlite3_column_int64(st, 11);
	*out = e;
	e = NULL;
	rc = MGW_OK;
out:
	talloc_free(e);
	return rc;
}

/* Step st (already bound) and collect up to max entries into a talloc array under ctx. */
static int collect(struct mgw_store *s, void *ctx, sqlite3_stmt *st, size_t max,
		   struct mgw_store_entry ***out, size_t *n)
{
	struct mgw_store_entry **arr = NULL, **a;
	size_t cnt = 0;
	int rc, src = SQLITE_DONE;

	if (!(arr = talloc_array(ctx, struct mgw_store_entry *, max < 16 ? max + 1 : 16))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	while (cnt < max && (src = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == talloc_array_length(arr)) {
			if (!(a = talloc_realloc(ctx, arr, struct mgw_store_entry *, cnt * 2))) {
				rc = MGW_E_NOMEM;
				goto out;
			}
			arr = a;
		}
		if ((rc = entry_from_row(arr, st, &arr[cnt])) != MGW_OK)
			goto out;
		cnt++;
	}
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = read_failed(s, "select", src);
		goto out;
	}
	*out = arr;
	*n = cnt;
	arr = NULL;
	rc = MGW_OK;
out:
	stmt_done(st);
	talloc_free(arr);
	return rc;
}

/* Apply a one-row state change to each entry in the batch, and keep each (for a batch that
 * is lost). A failed statement loses the whole batch (write_failed): nothing to undo; the
 * changes are kept all the same, the caller goes on as if they were written. */
static int mark_all(struct mgw_store *s, struct mgw_store_entry **arr, size_t n,
		    enum stmt_id set, enum mgw_qstate to, const char *cause, int64_t now_ms)
{
	sqlite3_stmt *st;
	size_t i;
	int rc, src;

	if (n && !s->degraded && batch_begin(s) == MGW_OK)
		for (i = 0; i < n; i++) {
			st = stmt(s, set);
			sqlite3_bind_int64(st, 1, arr[i]->id);
			sqlite3_bind_int64(st, 2, now_ms);
			if ((src = exec_done(s, st)) != SQLITE_OK) {
				write_failed(s, "state change", src);
				break;
			}
		}
	for (i = 0; i < n; i++) {
		if ((rc = store_redo_state(s->redo, arr[i]->id, to, -1, false, cause, now_ms)) !=
		    MGW_OK)
			return rc;
		arr[i]->state = to;
	}
	return MGW_OK;
}

/* During an episode the rows say what the lost batches did not change: drop the entries
 * whose kept state forbids (claim: now_ms; expire: INT64_MAX, only a kept ACCEPTED passes),
 * keep at most max, and count the kept retries in attempts. */
static void kept_filter(struct mgw_store *s, struct mgw_store_entry **arr, size_t *n,
			size_t max, int64_t now_ms)
{
	size_t i, k = 0;

	for (i = 0; i < *n; i++) {
		if (k < max && !store_redo_blocks(s->redo, arr[i]->id, now_ms)) {
			arr[i]->attempts += store_redo_attempts(s->redo, arr[i]->id);
			arr[k++] = arr[i];
		} else {
			talloc_free(arr[i]);
		}
	}
	*n = k;
}

/* how many rows to read so that max remain after kept_filter */
static size_t kept_limit(struct mgw_store *s, size_t max)
{
	size_t extra = s->degraded ? store_redo_count(s->redo) : 0;

	return extra >= INT_MAX || max > INT_MAX - extra ? INT_MAX : max + extra;
}

int mgw_store_claim(struct mgw_store *s, void *ctx, enum mgw_queue q, const char *dest_key,
		    int64_t now_ms, size_t max, struct mgw_store_entry ***out, size_t *n)
{
	struct mgw_store_entry **arr = NULL;
	sqlite3_stmt *st;
	size_t cnt = 0, lim;
	int rc;

	if (!s || !q_valid(q) || !out || !n) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (max > INT_MAX)
		max = INT_MAX;
	lim = kept_limit(s, max);
	st = stmt(s, dest_key ? ST_CLAIM_DEST : ST_CLAIM);
	sqlite3_bind_int(st, 1, q);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)lim);
	if (dest_key)
		bind_text(st, 4, dest_key);
	if ((rc = collect(s, ctx, st, lim, &arr, &cnt)) != MGW_OK)
		goto out;
	if (s->degraded)
		kept_filter(s, arr, &cnt, max, now_ms);
	if ((rc = mark_all(s, arr, cnt, ST_SET_INFLIGHT, MGW_QS_INFLIGHT, NULL, mgw_now_ms())) !=
	    MGW_OK)
		goto out;
	*out = arr;
	*n = cnt;
	arr = NULL;
	rc = MGW_OK;
out:
	talloc_free(arr);
	return rc;
}

/* One-row update by id; MGW_E_NOT_FOUND if no such entry, MGW_E_INVAL if its state does
 * not allow the change. */
static int update_one(struct mgw_store *s, sqlite3_stmt *st, const char *what, int64_t id)
{
	sqlite3_stmt *q;
	int rc, src;

	if ((src = exec_done(s, st)) != SQLITE_OK) {
		rc = write_failed(s, what, src);
		goto out;
	}
	if (sqlite3_changes(s->db) == 1) {
		rc = MGW_OK;
		goto out;
	}
	q = stmt(s, ST_STATE_OF);
	sqlite3_bind_int64(q, 1, id);
	src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		LOG_STORE(s, MGW_LOGL_ERROR, "%s #%" PRId64 ": not allowed in state %d", what, id,
			  sqlite3_column_int(q, 0));
		rc = MGW_E_INVAL;
	} else {
		rc = src == SQLITE_DONE ? MGW_E_NOT_FOUND : read_failed(s, what, src);
	}
	stmt_done(q);
out:
	return rc;
}

/* The end of a state change of the message path: rc is what the batch said. Written (MGW_OK),
 * or failed while writes fail (MGW_E_STORE in an episode): kept, written with the episode,
 * and the caller is told MGW_OK. Refused (MGW_E_NOT_FOUND, MGW_E_INVAL): rc. */
static int kept_change(struct mgw_store *s, int rc, int64_t id, enum mgw_qstate to,
		       int64_t next_try_ms, bool attempt, const char *cause, int64_t now_ms)
{
	if (rc != MGW_OK && !(rc == MGW_E_STORE && s->degraded))
		return rc;
	return store_redo_state(s->redo, id, to, next_try_ms, attempt, cause, now_ms);
}

int mgw_store_complete(struct mgw_store *s, int64_t id)
{
	sqlite3_stmt *st;
	int64_t now;
	int rc;

	if (!s)
		return MGW_E_INVAL;
	now = mgw_now_ms();
	if ((rc = batch_begin(s)) == MGW_OK) {
		st = stmt(s, ST_COMPLETE);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = update_one(s, st, "complete", id);
	}
	return kept_change(s, rc, id, MGW_QS_DONE, -1, false, NULL, now);
}

int mgw_store_fail(struct mgw_store *s, int64_t id, const char *cause)
{
	sqlite3_stmt *st;
	int64_t now;
	int rc;

	if (!s)
		return MGW_E_INVAL;
	now = mgw_now_ms();
	if ((rc = batch_begin(s)) == MGW_OK) {
		st = stmt(s, ST_FAIL);
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, cause);
		sqlite3_bind_int64(st, 3, now);
		rc = update_one(s, st, "fail", id);
	}
	return kept_change(s, rc, id, MGW_QS_FAILED, -1, false, cause, now);
}

int mgw_store_retry(struct mgw_store *s, int64_t id, int64_t next_try_ms)
{
	sqlite3_stmt *st;
	int64_t now;
	int rc;

	if (!s)
		return MGW_E_INVAL;
	now = mgw_now_ms();
	if ((rc = batch_begin(s)) == MGW_OK) {
		st = stmt(s, ST_RETRY);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, next_try_ms);
		sqlite3_bind_int64(st, 3, now);
		rc = update_one(s, st, "retry", id);
	}
	return kept_change(s, rc, id, MGW_QS_ACCEPTED, next_try_ms < 0 ? 0 : next_try_ms, true,
			   NULL, now);
}

int mgw_store_wake(struct mgw_store *s, enum mgw_queue q, const char *dest_key, int64_t now_ms,
		   size_t *n)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !q_valid(q) || !dest_key)
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_WAKE);
	bind_text(st, 1, dest_key);
	sqlite3_bind_int(st, 2, q);
	sqlite3_bind_int64(st, 3, now_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "wake", src);
	if (n)
		*n = (size_t)sqlite3_changes(s->db);
	return MGW_OK;
}

int mgw_store_waiting_dests(struct mgw_store *s, void *ctx, enum mgw_queue q, int64_t now_ms,
			    size_t max, char ***out, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !q_valid(q) || !out || !n || !max) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (max > INT_MAX)
		max = INT_MAX;
	if (!(v = talloc_array(ctx, char *, max))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	st = stmt(s, ST_WAITING);
	sqlite3_bind_int(st, 1, q);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW && cnt < max)
		if (!(v[cnt++] = talloc_strdup(v, (const char *)sqlite3_column_text(st, 0)))) {
			sqlite3_reset(st);
			rc = MGW_E_NOMEM;
			goto out;
		}
	sqlite3_reset(st);
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		LOG_STORE(s, MGW_LOGL_ERROR, "waiting: %s", sqlite3_errstr(src));
		rc = MGW_E_STORE;
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	rc = MGW_OK;
out:
	talloc_free(v);
	return rc;
}

int mgw_store_expire(struct mgw_store *s, void *ctx, int64_t now_ms, size_t max,
		     struct mgw_store_entry ***out, size_t *n)
{
	struct mgw_store_entry **arr = NULL;
	sqlite3_stmt *st;
	size_t cnt = 0, lim;
	int rc;

	if (!s || !out || !n) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (max > INT_MAX)
		max = INT_MAX;
	lim = kept_limit(s, max);
	st = stmt(s, ST_EXPIRE_SEL);
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)lim);
	if ((rc = collect(s, ctx, st, lim, &arr, &cnt)) != MGW_OK)
		goto out;
	if (s->degraded)
		kept_filter(s, arr, &cnt, max, INT64_MAX);
	if ((rc = mark_all(s, arr, cnt, ST_EXPIRE_SET, MGW_QS_FAILED, "EXPIRED", now_ms)) !=
	    MGW_OK)
		goto out;
	*out = arr;
	*n = cnt;
	arr = NULL;
	rc = MGW_OK;
out:
	talloc_free(arr);
	return rc;
}

int mgw_store_get(struct mgw_store *s, void *ctx, enum mgw_queue q, const char *origin,
		  const char *msg_id, struct mgw_store_entry **out)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !q_valid(q) || !origin || !msg_id || !out)
		return MGW_E_INVAL;
	st = stmt(s, ST_GET);
	sqlite3_bind_int(st, 1, q);
	bind_text(st, 2, origin);
	bind_text(st, 3, msg_id);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = entry_from_row(ctx, st, out);
	else
		rc = src == SQLITE_DONE ? MGW_E_NOT_FOUND : read_failed(s, "get", src);
	stmt_done(st);
	return rc;
}

/* Run a single-integer query; *v untouched unless a row came back (then *found). */
static int one_int(struct mgw_store *s, sqlite3_stmt *st, const char *what, int64_t *v,
		   bool *found)
{
	int rc = MGW_OK, src = sqlite3_step(st);

	*found = src == SQLITE_ROW;
	if (src == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = read_failed(s, what, src);
	stmt_done(st);
	return rc;
}

int mgw_store_count(struct mgw_store *s, enum mgw_queue q, enum mgw_qstate state, size_t *n)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	bool found;
	int rc;

	if (!s || !q_valid(q) || !n)
		return MGW_E_INVAL;
	st = stmt(s, ST_COUNT);
	sqlite3_bind_int(st, 1, q);
	sqlite3_bind_int(st, 2, state);
	if ((rc = one_int(s, st, "count", &v, &found)) == MGW_OK)
		*n = (size_t)v;
	return rc;
}

int mgw_store_next_due(struct mgw_store *s, enum mgw_queue q, int64_t *next_ms)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	bool found;
	int rc;

	if (!s || !q_valid(q) || !next_ms)
		return MGW_E_INVAL;
	st = stmt(s, ST_NEXT_DUE);
	sqlite3_bind_int(st, 1, q);
	if ((rc = one_int(s, st, "next_due", &v, &found)) != MGW_OK)
		return rc;
	/* next_try 0 means "now": report 1 so that 0 keeps meaning "nothing queued" */
	*next_ms = !found ? 0 : v > 0 ? v : 1;
	return MGW_OK;
}

int mgw_store_purge(struct mgw_store *s, int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc, src, nq, nkv;

	if (!s)
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_PURGE_Q);
	sqlite3_bind_int64(st, 1, now_ms - s->done_keep_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "purge", src);
	nq = sqlite3_changes(s->db);
	st = stmt(s, ST_PURGE_KV);
	sqlite3_bind_int64(st, 1, now_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "purge kv", src);
	nkv = sqlite3_changes(s->db);
	if (nq || nkv)
		LOG_STORE(s, MGW_LOGL_DEBUG, "purged %d queue rows, %d kv rows", nq, nkv);
	return MGW_OK;
}

/* ---- key/value ---- */

int mgw_store_kv_put(struct mgw_store *s, const char *ns, const char *key, const void *val,
		     size_t len, int64_t expires_ms)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !ns || !key || (!val && len))
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_KV_PUT);
	bind_text(st, 1, ns);
	bind_text(st, 2, key);
	if ((src = bind_blob(st, 3, val, len)) != SQLITE_OK) {
		stmt_done(st);
		return src == SQLITE_TOOBIG ? MGW_E_TOO_BIG : MGW_E_STORE;
	}
	sqlite3_bind_int64(st, 4, expires_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return (src & 0xff) == SQLITE_TOOBIG ? MGW_E_TOO_BIG
						     : write_failed(s, "kv put", src);
	return MGW_OK;
}

int mgw_store_kv_put_kept(struct mgw_store *s, const char *ns, const char *key, const void *val,
			  size_t len, int64_t expires_ms)
{
	int rc;

	if (!s || !ns || !key || (!val && len))
		return MGW_E_INVAL;
	rc = s->degraded ? MGW_E_STORE : mgw_store_kv_put(s, ns, key, val, len, expires_ms);
	if (rc != MGW_OK && !(rc == MGW_E_STORE && s->degraded))
		return rc;
	return store_redo_kv(s->redo, REDO_KV_PUT, ns, key, val, len, expires_ms);
}

int mgw_store_kv_del_kept(struct mgw_store *s, const char *ns, const char *key)
{
	int rc;

	if (!s || !ns || !key)
		return MGW_E_INVAL;
	rc = s->degraded ? MGW_E_STORE : mgw_store_kv_del(s, ns, key);
	if (rc != MGW_OK && !(rc == MGW_E_STORE && s->degraded))
		return rc;
	return store_redo_kv(s->redo, REDO_KV_DEL, ns, key, NULL, 0, 0);
}

/* During an episode a kept kv write stands for the row: its value (or its absence). */
static int kv_get_kept(const struct redo_rec *r, void *ctx, int64_t now_ms, void **val,
		       size_t *len)
{
	char *v;

	if (r->op == REDO_KV_DEL || (r->expires_ms && r->expires_ms <= now_ms))
		return MGW_E_NOT_FOUND;
	if (!(v = talloc_size(ctx, r->len + 1)))
		return MGW_E_NOMEM;
	if (r->len)
		memcpy(v, r->val, r->len);
	v[r->len] = '\0';
	*val = v;
	*len = r->len;
	return MGW_OK;
}

int mgw_store_kv_get(struct mgw_store *s, void *ctx, const char *ns, const char *key,
		     int64_t now_ms, void **val, size_t *len)
{
	const struct redo_rec *r;
	sqlite3_stmt *st;
	const void *b;
	char *v;
	size_t l;
	int rc, src;

	if (!s || !ns || !key || !val || !len)
		return MGW_E_INVAL;
	if (s->degraded && (r = store_redo_kv_last(s->redo, ns, key)))
		return kv_get_kept(r, ctx, now_ms, val, len);
	st = stmt(s, ST_KV_GET);
	bind_text(st, 1, ns);
	bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, now_ms);
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? MGW_E_NOT_FOUND : read_failed(s, "kv get", src);
		goto out;
	}
	b = sqlite3_column_blob(st, 0);
	l = (size_t)sqlite3_column_bytes(st, 0);
	if (!(v = talloc_size(ctx, l + 1))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if (l)
		memcpy(v, b, l);
	v[l] = '\0';
	*val = v;
	*len = l;
	rc = MGW_OK;
out:
	stmt_done(st);
	return rc;
}

int mgw_store_kv_del(struct mgw_store *s, const char *ns, const char *key)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !ns || !key)
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_KV_DEL);
	bind_text(st, 1, ns);
	bind_text(st, 2, key);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "kv del", src);
	return MGW_OK;
}

int mgw_store_kv_add_unique(struct mgw_store *s, const char *ns, const char *key, int64_t now_ms,
			    int64_t expires_ms)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !ns || !key)
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_KV_ADD);
	bind_text(st, 1, ns);
	bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, expires_ms);
	sqlite3_bind_int64(st, 4, now_ms);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "kv add", src);
	/* the upsert changes nothing when a live row is there */
	return sqlite3_changes(s->db) ? MGW_OK : MGW_E_REPLAY;
}

int mgw_store_kv_clear(struct mgw_store *s, const char *ns)
{
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !ns)
		return MGW_E_INVAL;
	if ((rc = batch_begin(s)) != MGW_OK)
		return rc;
	st = stmt(s, ST_KV_CLEAR);
	bind_text(st, 1, ns);
	if ((src = exec_done(s, st)) != SQLITE_OK)
		return write_failed(s, "kv clear", src);
	return MGW_OK;
}

struct kv_row {
	char *key;
	void *val;
	size_t len;
};

/* Rows are read out first, so cb may use the store (even this namespace). A non-zero
 * return from cb stops the walk and is returned. Live rows only, ordered by key. */
int mgw_store_kv_foreach(struct mgw_store *s, const char *ns, mgw_store_kv_cb cb, void *arg)
{
	struct kv_row *rows = NULL, *r;
	size_t n = 0, i;
	void *tmp = NULL;
	sqlite3_stmt *st;
	int rc, src;

	if (!s || !ns || !cb)
		return MGW_E_INVAL;
	if (!(tmp = talloc_new(NULL)))
		return MGW_E_NOMEM;
	st = stmt(s, ST_KV_EACH);
	bind_text(st, 1, ns);
	sqlite3_bind_int64(st, 2, mgw_now_ms());
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		size_t l = (size_t)sqlite3_column_bytes(st, 1);

		if (n == talloc_array_length(rows) &&
		    !(rows = talloc_realloc(tmp, rows, struct kv_row, n ? n * 2 : 16))) {
			rc = MGW_E_NOMEM;
			goto out;
		}
		r = &rows[n];
		r->len = l;
		if (!(r->key = talloc_strdup(rows, (const char *)sqlite3_column_text(st, 0))) ||
		    !(r->val = talloc_size(rows, l + 1))) {
			rc = MGW_E_NOMEM;
			goto out;
		}
		if (l)
			memcpy(r->val, b, l);
		((char *)r->val)[l] = '\0';
		n++;
	}
	if (src != SQLITE_DONE) {
		rc = read_failed(s, "kv foreach", src);
		goto out;
	}
	stmt_done(st);
	st = NULL;
	for (i = 0; i < n; i++)
		if ((rc = cb(arg, rows[i].key, rows[i].val, rows[i].len)) != MGW_OK)
			goto out;
	rc = MGW_OK;
out:
	if (st)
		stmt_done(st);
	talloc_free(tmp);
	return rc;
}

/* ---- test hooks (store_test.h) ---- */

unsigned long mgw_store_test_batches(const struct mgw_store *s)
{
	return s ? s->batches : 0;
}

void mgw_store_test_fail_next_commit(struct mgw_store *s)
{
	if (s)
		s->fail_next_commit = true;
}

int mgw_store_test_retry(struct mgw_store *s)
{
	return s ? episode_retry(s) : MGW_E_INVAL;
}

bool mgw_store_test_degraded(const struct mgw_store *s)
{
	return s && s->degraded;
}
