/* The device registry's SQLite file (include/mgw/store.h "the device registry").
 *
 * A second file beside the store, so that the one write lock of SQLite is not shared with
 * the message path: an import of a million devices is one long transaction, and the
 * daemon's store commits must not wait for it. The daemon only reads here (autocommit
 * point queries: WAL readers never wait for a writer); gwctl and the seed import write.
 * Every statement is prepared once at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

#define REGDB_APP_ID 0x4d475744 /* "MGWD" */
#define REGDB_VERSION 1
#define REGDB_MODE 0600
/* change records kept: a reader further behind than this re-reads everything */
#define REGDB_CHANGES_KEEP 2000000

static const char schema_sql[] =
	"PRAGMA application_id = 1296521028;" /* REGDB_APP_ID */
	"PRAGMA user_version = 1;"
	"CREATE TABLE IF NOT EXISTS reg_device (ue TEXT PRIMARY KEY, adapter TEXT NOT NULL,"
	" src TEXT NOT NULL, gen INTEGER NOT NULL DEFAULT 0, row TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS reg_device_adapter ON reg_device(adapter);"
	"CREATE TABLE IF NOT EXISTS reg_cred (kind INTEGER NOT NULL, value TEXT NOT NULL,"
	" ue TEXT NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS reg_cred_ue ON reg_cred(ue);"
	"CREATE TABLE IF NOT EXISTS reg_change (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" ue TEXT NOT NULL, what INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS reg_meta (key TEXT PRIMARY KEY, val TEXT NOT NULL) WITHOUT ROWID;";

enum {
	Q_GET,
	Q_GET_SRC,
	Q_BY_CRED,
	Q_AT,
	Q_PAGE,
	Q_COUNT,
	Q_SEQ,
	Q_CHANGES,
	Q_META_GET,
	Q_META_PUT,
	Q_DEV_PUT,
	Q_DEV_TOUCH,
	Q_DEV_DEL,
	Q_CRED_DEL,
	Q_CRED_ADD,
	Q_CRED_OWNER,
	Q_CHANGE_ADD,
	Q_PRUNE_LOG,
	Q_PRUNE_CRED,
	Q_PRUNE_DEV,
	Q_TRIM,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	_Q_COUNT
};

static const char *const q_sql[_Q_COUNT] = {
	[Q_GET] = "SELECT row FROM reg_device WHERE ue = ?1",
	[Q_GET_SRC] = "SELECT row, src, gen FROM reg_device WHERE ue = ?1",
	[Q_BY_CRED] = "SELECT d.row FROM reg_cred c JOIN reg_device d ON d.ue = c.ue"
		      " WHERE c.kind = ?1 AND c.value = ?2",
	[Q_AT] = "SELECT row FROM reg_device ORDER BY ue LIMIT 1 OFFSET ?1",
	[Q_PAGE] = "SELECT ue, src, row FROM reg_device WHERE ue > ?1 ORDER BY ue LIMIT ?2",
	[Q_COUNT] = "SELECT count(*) FROM reg_device",
	[Q_SEQ] = "SELECT coalesce(max(seq), 0) FROM reg_change",
	[Q_CHANGES] = "SELECT seq, ue, what FROM reg_change WHERE seq > ?1 ORDER BY seq LIMIT ?2",
	[Q_META_GET] = "SELECT val FROM reg_meta WHERE key = ?1",
	[Q_META_PUT] = "INSERT OR REPLACE INTO reg_meta (key, val) VALUES (?1, ?2)",
	[Q_DEV_PUT] = "INSERT OR REPLACE INTO reg_device (ue, adapter, src, gen, row)"
		      " VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_DEV_TOUCH] = "UPDATE reg_device SET src = ?2, gen = ?3 WHERE ue = ?1",
	[Q_DEV_DEL] = "DELETE FROM reg_device WHERE ue = ?1",
	[Q_CRED_DEL] = "DELETE FROM reg_cred WHERE ue = ?1",
	[Q_CRED_ADD] = "INSERT INTO reg_cred (kind, value, ue) VALUES (?1, ?2, ?3)",
	[Q_CRED_OWNER] = "SELECT ue FROM reg_cred WHERE kind = ?1 AND value = ?2",
	[Q_CHANGE_ADD] = "INSERT INTO reg_change (ue, what) VALUES (?1, ?2)",
	[Q_PRUNE_LOG] = "INSERT INTO reg_change (ue, what) SELECT ue, 3 FROM reg_device"
			" WHERE src = ?1 AND gen < ?2",
	[Q_PRUNE_CRED] = "DELETE FROM reg_cred WHERE ue IN (SELECT ue FROM reg_device"
			 " WHERE src = ?1 AND gen < ?2)",
	[Q_PRUNE_DEV] = "DELETE FROM reg_device WHERE src = ?1 AND gen < ?2",
	[Q_TRIM] = "DELETE FROM reg_change WHERE seq <= (SELECT max(seq) FROM reg_change) - ?1",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
};

struct mgw_regdb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *q[_Q_COUNT];
	bool in_txn; /* mgw_regdb_begin() */
};

static int regdb_destructor(struct mgw_regdb *r)
{
	if (r->in_txn)
		mgw_regdb_rollback(r);
	for (size_t i = 0; i < _Q_COUNT; i++)
		sqlite3_finalize(r->q[i]);
	sqlite3_close(r->db);
	return 0;
}

static int fail(struct mgw_regdb *r, int rc, char *errbuf, size_t errlen, const char *what)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s: %s: %s", r->path, what,
			 r->db ? sqlite3_errmsg(r->db) : "cannot open");
	return rc;
}

/* A new file is created 0600 whatever the umask: it holds PSKs and COSE keys. */
static int create_private(const char *path, char *errbuf, size_t errlen)
{
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0)
		return MGW_OK;
	do
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, REGDB_MODE);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 && errno == EEXIST)
		return MGW_OK;
	if (fd < 0 || fchmod(fd, REGDB_MODE) != 0) {
		snprintf(errbuf, errlen, "%s: cannot create: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return MGW_E_IO;
	}
	close(fd);
	return MGW_OK;
}

static int check_app(struct mgw_regdb *r, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t app = -1;
	int rc = MGW_E_STORE_CORRUPT;

	if (sqlite3_prepare_v2(r->db, "PRAGMA application_id", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = fail(r, MGW_E_STORE_CORRUPT, errbuf, errlen, "not a registry file");
		goto out;
	}
	app = sqlite3_column_int64(st, 0);
	if (app != 0 && app != REGDB_APP_ID) {
		snprintf(errbuf, errlen, "%s: not a device registry file (application_id %" PRId64 ")",
			 r->path, app);
		goto out;
	}
	rc = MGW_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int mgw_regdb_open(void *ctx, const char *path, int busy_ms, struct mgw_regdb **out,
		   char *errbuf, size_t errlen)
{
	struct mgw_regdb *r = NULL;
	char *emsg = NULL;
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!path || !out)
		return MGW_E_INVAL;
	if ((rc = create_private(path, errbuf, errlen)) != MGW_OK)
		goto out;
	if (!(r = talloc_zero(ctx, struct mgw_regdb)) || !(r->path = talloc_strdup(r, path))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	talloc_set_destructor(r, regdb_destructor);
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = fail(r, MGW_E_IO, errbuf, errlen, "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(r->db, busy_ms);
	if ((rc = check_app(r, errbuf, errlen)) != MGW_OK)
		goto out;
	if (sqlite3_exec(r->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", NULL,
			 NULL, &emsg) != SQLITE_OK ||
	    sqlite3_exec(r->db, schema_sql, NULL, NULL, &emsg) != SQLITE_OK) {
		rc = fail(r, MGW_E_IO, errbuf, errlen, "cannot set up");
		goto out;
	}
	for (size_t i = 0; i < _Q_COUNT; i++)
		if (sqlite3_prepare_v3(r->db, q_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->q[i],
				       NULL) != SQLITE_OK) {
			rc = fail(r, MGW_E_STORE, errbuf, errlen, "cannot prepare");
			goto out;
		}
	*out = r;
	r = NULL;
	rc = MGW_OK;
out:
	sqlite3_free(emsg);
	talloc_free(r);
	return rc;
}

void mgw_regdb_close(struct mgw_regdb *db)
{
	talloc_free(db);
}

/* ---------------------------------------------------------------- statements */

static sqlite3_stmt *q(struct mgw_regdb *r, int i)
{
	sqlite3_reset(r->q[i]);
	sqlite3_clear_bindings(r->q[i]);
	return r->q[i];
}

static int step_done(struct mgw_regdb *r, sqlite3_stmt *st)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	if (src == SQLITE_DONE || src == SQLITE_ROW)
		return MGW_OK;
	if ((src & 0xff) == SQLITE_CONSTRAINT)
		return MGW_E_DUPLICATE;
	LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", r->path, sqlite3_errmsg(r->db));
	return MGW_E_STORE;
}

static int exec_q(struct mgw_regdb *r, int i)
{
	return step_done(r, q(r, i));
}

/* Step st expecting one row: its column col copied under ctx. */
static int one_text(struct mgw_regdb *r, sqlite3_stmt *st, void *ctx, int col, char **out)
{
	int src = sqlite3_step(st), rc;

	if (src == SQLITE_DONE) {
		rc = MGW_E_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", r->path, sqlite3_errmsg(r->db));
		rc = MGW_E_STORE;
		goto out;
	}
	const char *t = (const char *)sqlite3_column_text(st, col);

	if (!(*out = talloc_strdup(ctx, t ? t : ""))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	rc = MGW_OK;
out:
	sqlite3_reset(st);
	return rc;
}

static int one_int(struct mgw_regdb *r, sqlite3_stmt *st, int64_t *out)
{
	int src = sqlite3_step(st), rc = MGW_OK;

	if (src == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else {
		LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", r->path, sqlite3_errmsg(r->db));
		rc = MGW_E_STORE;
	}
	sqlite3_reset(st);
	return rc;
}

/* ---------------------------------------------------------------- transactions */

int mgw_regdb_begin(struct mgw_regdb *db)
{
	int rc;

	if (!db || db->in_txn)
		return MGW_E_INVAL;
	if ((rc = exec_q(db, Q_BEGIN)) == MGW_OK)
		db->in_txn = true;
	return rc;
}

int mgw_regdb_commit(struct mgw_regdb *db)
{
	sqlite3_stmt *st;
	int rc;

	if (!db || !db->in_txn)
		return MGW_E_INVAL;
	st = q(db, Q_TRIM);
	sqlite3_bind_int64(st, 1, REGDB_CHANGES_KEEP);
	if ((rc = step_done(db, st)) != MGW_OK || (rc = exec_q(db, Q_COMMIT)) != MGW_OK) {
		mgw_regdb_rollback(db);
		return rc;
	}
	db->in_txn = false;
	return MGW_OK;
}

void mgw_regdb_rollback(struct mgw_regdb *db)
{
	if (!db || !db->in_txn)
		return;
	for (size_t i = 0; i < _Q_COUNT; i++)
		sqlite3_reset(db->q[i]);
	exec_q(db, Q_ROLLBACK);
	db->in_txn = false;
}

/* Run one write: inside the caller's transaction, or in one of its own. */
static int single(struct mgw_regdb *db, bool *own)
{
	*own = !db->in_txn;
	return *own ? mgw_regdb_begin(db) : MGW_OK;
}

static int single_end(struct mgw_regdb *db, bool own, int rc)
{
	if (!own)
		return rc;
	if (rc != MGW_OK) {
		mgw_regdb_rollback(db);
		return rc;
	}
	return mgw_regdb_commit(db);
}

/* ---------------------------------------------------------------- writes */

static int log_change(struct mgw_regdb *db, const char *ue, int what)
{
	sqlite3_stmt *st = q(db, Q_CHANGE_ADD);

	sqlite3_bind_text(st, 1, ue, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, what);
	return step_done(db, st);
}

static int del_creds(struct mgw_regdb *db, const char *ue)
{
	sqlite3_stmt *st = q(db, Q_CRED_DEL);

	sqlite3_bind_text(st, 1, ue, -1, SQLITE_STATIC);
	return step_done(db, st);
}

static int add_creds(struct mgw_regdb *db, const struct mgw_regdb_dev *d, size_t *bad,
		     char *owner, size_t owner_len)
{
	for (size_t i = 0; i < d->ncred; i++) {
		sqlite3_stmt *st = q(db, Q_CRED_ADD);
		int rc;

		sqlite3_bind_int(st, 1, d->cred[i].kind);
		sqlite3_bind_text(st, 2, d->cred[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, d->ue, -1, SQLITE_STATIC);
		if ((rc = step_done(db, st)) == MGW_OK)
			continue;
		if (rc == MGW_E_DUPLICATE) {
			char *who = NULL;

			if (bad)
				*bad = i;
			st = q(db, Q_CRED_OWNER);
			sqlite3_bind_int(st, 1, d->cred[i].kind);
			sqlite3_bind_text(st, 2, d->cred[i].value, -1, SQLITE_STATIC);
			if (owner && owner_len && one_text(db, st, db, 0, &who) == MGW_OK)
				snprintf(owner, owner_len, "%s", who);
			talloc_free(who);
		}
		return rc;
	}
	return MGW_OK;
}

/* The row already there: *what 0 when it is the same. MGW_E_DUPLICATE: it was put with
 * this gen already (twice in one import). */
static int put_old(struct mgw_regdb *db, const struct mgw_regdb_dev *d, int64_t gen, int *what)
{
	sqlite3_stmt *st = q(db, Q_GET_SRC);
	int src, rc = MGW_OK;

	sqlite3_bind_text(st, 1, d->ue, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		*what = MGW_REGDB_ADDED;
	else if (src == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);

		*what = row && strcmp(row, d->row) == 0 ? 0 : MGW_REGDB_UPDATED;
		if (gen > 0 && sqlite3_column_int64(st, 2) == gen)
			rc = MGW_E_DUPLICATE;
	} else {
		LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", db->path, sqlite3_errmsg(db->db));
		rc = MGW_E_STORE;
	}
	sqlite3_reset(st);
	return rc;
}

static int put_in(struct mgw_regdb *db, const struct mgw_regdb_dev *d, int64_t gen, int *what,
		  size_t *bad, char *owner, size_t owner_len)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = put_old(db, d, gen, what)) != MGW_OK) {
		if (rc == MGW_E_DUPLICATE && bad)
			*bad = (size_t)-1;
		return rc;
	}
	if (*what == 0) { /* same entry: only where it came from */
		st = q(db, Q_DEV_TOUCH);
		sqlite3_bind_text(st, 1, d->ue, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, d->src, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, gen);
		return step_done(db, st);
	}
	if (*what == MGW_REGDB_UPDATED && (rc = del_creds(db, d->ue)) != MGW_OK)
		return rc;
	if ((rc = add_creds(db, d, bad, owner, owner_len)) != MGW_OK)
		return rc;
	st = q(db, Q_DEV_PUT);
	sqlite3_bind_text(st, 1, d->ue, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->adapter, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->src, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, gen);
	sqlite3_bind_text(st, 5, d->row, -1, SQLITE_STATIC);
	if ((rc = step_done(db, st)) != MGW_OK)
		return rc;
	return log_change(db, d->ue, *what);
}

int mgw_regdb_put(struct mgw_regdb *db, const struct mgw_regdb_dev *d, int64_t gen, int *what,
		  size_t *bad, char *owner, size_t owner_len)
{
	bool own;
	int rc, w = 0;

	if (!db || !d || !d->ue || !d->row || !d->adapter || !d->src)
		return MGW_E_INVAL;
	if ((rc = single(db, &own)) != MGW_OK)
		return rc;
	rc = put_in(db, d, gen, &w, bad, owner, owner_len);
	if ((rc = single_end(db, own, rc)) == MGW_OK && what)
		*what = w;
	return rc;
}

static int remove_in(struct mgw_regdb *db, const char *ue)
{
	sqlite3_stmt *st = q(db, Q_DEV_DEL);
	int rc;

	sqlite3_bind_text(st, 1, ue, -1, SQLITE_STATIC);
	if ((rc = step_done(db, st)) != MGW_OK)
		return rc;
	if (sqlite3_changes(db->db) == 0)
		return MGW_E_NOT_FOUND;
	if ((rc = del_creds(db, ue)) != MGW_OK)
		return rc;
	return log_change(db, ue, MGW_REGDB_REMOVED);
}

int mgw_regdb_remove(struct mgw_regdb *db, const char *ue)
{
	bool own;
	int rc;

	if (!db || !ue)
		return MGW_E_INVAL;
	if ((rc = single(db, &own)) != MGW_OK)
		return rc;
	return single_end(db, own, remove_in(db, ue));
}

static int prune_step(struct mgw_regdb *db, int i, const char *src, int64_t gen)
{
	sqlite3_stmt *st = q(db, i);

	sqlite3_bind_text(st, 1, src, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, gen);
	return step_done(db, st);
}

int mgw_regdb_prune(struct mgw_regdb *db, const char *src, int64_t gen, size_t *n)
{
	bool own;
	int rc;
	size_t k = 0;

	if (!db || !src)
		return MGW_E_INVAL;
	if ((rc = single(db, &own)) != MGW_OK)
		return rc;
	if ((rc = prune_step(db, Q_PRUNE_LOG, src, gen)) == MGW_OK &&
	    (rc = prune_step(db, Q_PRUNE_CRED, src, gen)) == MGW_OK &&
	    (rc = prune_step(db, Q_PRUNE_DEV, src, gen)) == MGW_OK)
		k = (size_t)sqlite3_changes(db->db);
	if ((rc = single_end(db, own, rc)) == MGW_OK && n)
		*n = k;
	return rc;
}

int mgw_regdb_meta_put(struct mgw_regdb *db, const char *key, const char *val)
{
	sqlite3_stmt *st;
	bool own;
	int rc;

	if (!db || !key || !val)
		return MGW_E_INVAL;
	if ((rc = single(db, &own)) != MGW_OK)
		return rc;
	st = q(db, Q_META_PUT);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	return single_end(db, own, step_done(db, st));
}

/* ---------------------------------------------------------------- reads */

int mgw_regdb_meta_get(struct mgw_regdb *db, void *ctx, const char *key, char **val)
{
	sqlite3_stmt *st;

	if (!db || !key || !val)
		return MGW_E_INVAL;
	st = q(db, Q_META_GET);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return one_text(db, st, ctx, 0, val);
}

int mgw_regdb_get(struct mgw_regdb *db, void *ctx, const char *ue, char **row)
{
	sqlite3_stmt *st;

	if (!db || !ue || !row)
		return MGW_E_INVAL;
	st = q(db, Q_GET);
	sqlite3_bind_text(st, 1, ue, -1, SQLITE_STATIC);
	return one_text(db, st, ctx, 0, row);
}

int mgw_regdb_by_cred(struct mgw_regdb *db, void *ctx, int kind, const char *value, char **row)
{
	sqlite3_stmt *st;

	if (!db || !value || !row)
		return MGW_E_INVAL;
	st = q(db, Q_BY_CRED);
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return one_text(db, st, ctx, 0, row);
}

int mgw_regdb_at(struct mgw_regdb *db, void *ctx, size_t i, char **row)
{
	sqlite3_stmt *st;

	if (!db || !row)
		return MGW_E_INVAL;
	st = q(db, Q_AT);
	sqlite3_bind_int64(st, 1, (int64_t)i);
	return one_text(db, st, ctx, 0, row);
}

int mgw_regdb_page(struct mgw_regdb *db, const char *after, size_t max, mgw_regdb_row_cb cb,
		   void *arg, size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0;
	int src, rc = MGW_OK;

	if (!db || !cb)
		return MGW_E_INVAL;
	st = q(db, Q_PAGE);
	sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		k++;
		if (cb(arg, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       (const char *)sqlite3_column_text(st, 2)) != 0)
			break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", db->path, sqlite3_errmsg(db->db));
		rc = MGW_E_STORE;
	}
	sqlite3_reset(st);
	if (n)
		*n = k;
	return rc;
}

int mgw_regdb_count(struct mgw_regdb *db, size_t *n)
{
	int64_t v = 0;
	int rc;

	if (!db || !n)
		return MGW_E_INVAL;
	if ((rc = one_int(db, q(db, Q_COUNT), &v)) == MGW_OK)
		*n = (size_t)v;
	return rc;
}

int mgw_regdb_seq(struct mgw_regdb *db, int64_t *seq)
{
	if (!db || !seq)
		return MGW_E_INVAL;
	return one_int(db, q(db, Q_SEQ), seq);
}

int mgw_regdb_changes(struct mgw_regdb *db, int64_t since, size_t max, mgw_regdb_change_cb cb,
		      void *arg, size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0;
	int src, rc = MGW_OK;

	if (!db || !cb)
		return MGW_E_INVAL;
	st = q(db, Q_CHANGES);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		k++;
		cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int(st, 2));
	}
	if (src != SQLITE_DONE) {
		LOGP(DSTORE, MGW_LOGL_ERROR, "registry %s: %s", db->path, sqlite3_errmsg(db->db));
		rc = MGW_E_STORE;
	}
	sqlite3_reset(st);
	if (n)
		*n = k;
	return rc;
}
