/* Unit tests of the durable store (src/store), against real SQLite files in a temp dir. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <sqlite3.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

#include "store_test.h"

static char tmpdir[256];
static char dbpath[300];
static void *ctx;
static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/mgw-store-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/store.db", tmpdir);
	ctx = talloc_new(NULL);
	fake_now = 1000000;
	mgw_store_set_clock(fake_clock);
	mgw_log_set_timestamps(false);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void teardown(void)
{
	chmod(tmpdir, 0700);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	ck_assert_int_eq(talloc_total_blocks(ctx), 1);
	talloc_free(ctx);
	mgw_store_set_clock(NULL);
}

static struct mgw_store *open_ok(void)
{
	struct mgw_store *s = NULL;
	struct mgw_store_opts o = { .sync_full = true, .done_keep_ms = 60000 };
	char err[512];
	int rc = mgw_store_open(ctx, dbpath, &o, &s, err, sizeof(err));

	ck_assert_msg(rc == MGW_OK, "open: %s (%s)", mgw_errname(rc), err);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- enqueue callbacks ---- */

struct cbrec {
	int calls;
	int rc;
	int64_t id;
};

static void rec_cb(void *arg, int rc, int64_t id)
{
	struct cbrec *r = arg;

	r->calls++;
	r->rc = rc;
	r->id = id;
}

static int enq(struct mgw_store *s, enum mgw_queue q, const char *origin, const char *msg_id,
	       const char *order_key, const char *dest_key, int64_t expiry, struct cbrec *r)
{
	struct mgw_store_entry_in in = {
		.q = q,
		.origin = origin,
		.msg_id = msg_id,
		.order_key = order_key,
		.dest_key = dest_key,
		.blob = msg_id,
		.blob_len = strlen(msg_id),
		.expiry_ms = expiry,
	};

	return mgw_store_enqueue(s, &in, rec_cb, r);
}

static size_t count(struct mgw_store *s, enum mgw_queue q, enum mgw_qstate st)
{
	size_t n = 999;

	ck_assert_int_eq(mgw_store_count(s, q, st, &n), MGW_OK);
	return n;
}

/* claim and return the msg ids joined by ',' (for compact assertions) */
static const char *claim_ids(struct mgw_store *s, enum mgw_queue q, const char *dest,
			     int64_t now, size_t max, struct mgw_store_entry ***out)
{
	struct mgw_store_entry **e = NULL;
	size_t n = 99, i;
	char *str = talloc_strdup(ctx, "");

	ck_assert_int_eq(mgw_store_claim(s, ctx, q, dest, now, max, &e, &n), MGW_OK);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(e[i]->state, MGW_QS_INFLIGHT);
		str = talloc_asprintf_append(str, "%s%s", i ? "," : "", e[i]->msg_id);
	}
	if (out)
		*out = e;
	else
		talloc_free(e);
	return str;
}

START_TEST(test_enqueue_claim_complete)
{
	struct mgw_store *s = open_ok();
	struct cbrec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct mgw_store_entry **e;
	struct mgw_store_entry *g;
	size_t n;

	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", "AS:x", 0, &r1), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:b", "m2", "UE:b", "AS:x", 0, &r2), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "m3", "UE:c", "UE:c", 0, &r3), MGW_OK);
	/* never called before the commit */
	ck_assert_int_eq(r1.calls + r2.calls + r3.calls, 0);
	/* reads see the open batch */
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_ACCEPTED), 2);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(r1.calls, 1);
	ck_assert_int_eq(r1.rc, MGW_OK);
	ck_assert_int_eq(r2.rc, MGW_OK);
	ck_assert_int_eq(r3.rc, MGW_OK);
	ck_assert(r1.id > 0 && r2.id > r1.id && r3.id > r2.id);
	/* a second flush has nothing to do and calls nothing again */
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(r1.calls, 1);

	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, &e), "m1,m2");
	ck_assert_int_eq(e[0]->id, r1.id);
	ck_assert_str_eq(e[0]->origin, "UE:a");
	ck_assert_str_eq(e[0]->order_key, "UE:a");
	ck_assert_str_eq(e[0]->dest_key, "AS:x");
	ck_assert_uint_eq(e[0]->blob_len, 2);
	ck_assert_mem_eq(e[0]->blob, "m1", 2);
	ck_assert_int_eq(e[0]->created_ms, 1000000);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_INFLIGHT), 2);
	/* nothing more to claim */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "");

	ck_assert_int_eq(mgw_store_complete(s, r1.id), MGW_OK);
	ck_assert_int_eq(mgw_store_fail(s, r2.id, "PEER"), MGW_OK);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_DONE), 1);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_FAILED), 1);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_INFLIGHT), 0);
	/* state changes that are not allowed, and unknown ids */
	ck_assert_int_eq(mgw_store_complete(s, r1.id), MGW_E_INVAL);
	ck_assert_int_eq(mgw_store_retry(s, r2.id, 0), MGW_E_INVAL);
	ck_assert_int_eq(mgw_store_complete(s, 424242), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_fail(s, 424242, "x"), MGW_E_NOT_FOUND);

	/* dest_key filter on the south queue */
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, "UE:other", fake_now, 10, NULL), "");
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, "UE:c", fake_now, 10, NULL), "m3");

	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m1", &g), MGW_OK);
	ck_assert_int_eq(g->state, MGW_QS_DONE);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_SOUTH, "UE:a", "m1", &g), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "nope", &g), MGW_E_NOT_FOUND);

	/* bad arguments: error returned and the callback never called */
	r1.calls = 0;
	ck_assert_int_eq(enq(s, (enum mgw_queue)7, "UE:a", "m9", NULL, NULL, 0, &r1), MGW_E_INVAL);
	{
		/* beyond SQLite's length limit (the length is checked before any read) */
		struct mgw_store_entry_in big = { .q = MGW_Q_NORTH, .origin = "UE:a",
						  .msg_id = "big", .blob = "x",
						  .blob_len = (size_t)3 << 30 };

		ck_assert_int_eq(mgw_store_enqueue(s, &big, rec_cb, &r1), MGW_E_TOO_BIG);
		ck_assert_int_eq(mgw_store_kv_put(s, "txn", "big", "x", (size_t)3 << 30, 0),
				 MGW_E_TOO_BIG);
	}
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(r1.calls, 0);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "big", &g), MGW_E_NOT_FOUND);
	n = 5;
	ck_assert_int_eq(mgw_store_claim(s, ctx, MGW_Q_NORTH, NULL, fake_now, 0, &e, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
	talloc_free(e);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_retry_next_try)
{
	struct mgw_store *s = open_ok();
	struct cbrec r = { 0 };
	struct mgw_store_entry **e;
	int64_t due = -1;

	ck_assert_int_eq(mgw_store_next_due(s, MGW_Q_NORTH, &due), MGW_OK);
	ck_assert_int_eq(due, 0);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &r), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	/* next_try 0 means now: next_due reports a non-zero time in the past */
	ck_assert_int_eq(mgw_store_next_due(s, MGW_Q_NORTH, &due), MGW_OK);
	ck_assert_int_eq(due, 1);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 1, NULL), "m1");
	ck_assert_int_eq(mgw_store_next_due(s, MGW_Q_NORTH, &due), MGW_OK);
	ck_assert_int_eq(due, 0);
	ck_assert_int_eq(mgw_store_retry(s, r.id, fake_now + 5000), MGW_OK);
	ck_assert_int_eq(mgw_store_next_due(s, MGW_Q_NORTH, &due), MGW_OK);
	ck_assert_int_eq(due, fake_now + 5000);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now + 4999, 10, NULL), "");
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now + 5000, 10, &e), "m1");
	ck_assert_uint_eq(e[0]->attempts, 1);
	ck_assert_int_eq(e[0]->next_try_ms, fake_now + 5000);
	ck_assert_int_eq(mgw_store_retry(s, r.id, fake_now + 6000), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now + 6000, 10, &e), "m1");
	ck_assert_uint_eq(e[0]->attempts, 2);
	ck_assert_int_eq(mgw_store_complete(s, r.id), MGW_OK);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* a device came back: its entries skip the rest of their back-off, others keep theirs */
START_TEST(test_wake)
{
	struct mgw_store *s = open_ok();
	struct cbrec ra = { 0 }, rb = { 0 };
	size_t n = 99;

	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "a1", "UE:a", "UE:a", 0, &ra), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "b1", "UE:b", "UE:b", 0, &rb), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, fake_now, 10, NULL), "a1,b1");
	ck_assert_int_eq(mgw_store_retry(s, ra.id, fake_now + 60000), MGW_OK);
	ck_assert_int_eq(mgw_store_retry(s, rb.id, fake_now + 60000), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, fake_now, 10, NULL), "");
	{
		/* which destinations have mail waiting out a back-off (mgw_core_wake_adapter) */
		char **keys = NULL;
		size_t k = 0;

		ck_assert_int_eq(mgw_store_waiting_dests(s, ctx, MGW_Q_SOUTH, fake_now, 10, &keys, &k),
				 MGW_OK);
		ck_assert_uint_eq(k, 2);
		ck_assert(!strcmp(keys[0], "UE:a") || !strcmp(keys[1], "UE:a"));
		ck_assert_int_eq(mgw_store_waiting_dests(s, ctx, MGW_Q_SOUTH, fake_now, 1, &keys, &k),
				 MGW_OK);
		ck_assert_uint_eq(k, 1);
		ck_assert_int_eq(mgw_store_waiting_dests(s, ctx, MGW_Q_NORTH, fake_now, 10, &keys, &k),
				 MGW_OK);
		ck_assert_uint_eq(k, 0);
		ck_assert_int_eq(mgw_store_waiting_dests(s, ctx, MGW_Q_SOUTH, fake_now + 60000, 10,
							 &keys, &k),
				 MGW_OK);
		ck_assert_uint_eq(k, 0); /* due by then: nothing is waiting */
		ck_assert_int_eq(mgw_store_waiting_dests(s, ctx, MGW_Q_SOUTH, fake_now, 0, &keys, &k),
				 MGW_E_INVAL);
	}
	ck_assert_int_eq(mgw_store_wake(s, MGW_Q_SOUTH, "UE:a", fake_now, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, fake_now, 10, NULL), "a1");
	/* nothing waiting: nothing changed */
	ck_assert_int_eq(mgw_store_wake(s, MGW_Q_SOUTH, "UE:zz", fake_now, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mgw_store_wake(s, MGW_Q_SOUTH, NULL, fake_now, &n), MGW_E_INVAL);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_expire)
{
	struct mgw_store *s = open_ok();
	struct cbrec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct mgw_store_entry **e;
	struct mgw_store_entry *g;
	size_t n;

	/* m1 expires at 2000, m2 (same order key) never, m3 at 5000 */
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "m1", "UE:a", "UE:a", 2000, &r1), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "m2", "UE:a", "UE:a", 0, &r2), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "m3", "UE:b", "UE:b", 5000, &r3), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	/* before its expiry m1 holds the line of UE:a */
	ck_assert_int_eq(mgw_store_expire(s, ctx, 1999, 10, &e, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
	/* an expired entry is not claimed; it holds its line (it is still ACCEPTED) until
	 * mgw_store_expire() marks it, then the next of its order key goes */
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, 2000, 10, NULL), "m3");
	ck_assert_int_eq(mgw_store_retry(s, r3.id, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_expire(s, ctx, 5000, 10, &e, &n), MGW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(e[0]->msg_id, "m1");
	ck_assert_str_eq(e[1]->msg_id, "m3");
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, 5000, 10, NULL), "m2");
	ck_assert_int_eq(mgw_store_retry(s, r2.id, 0), MGW_OK);
	ck_assert_int_eq(e[0]->state, MGW_QS_FAILED);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_SOUTH, "AS:x", "m3", &g), MGW_OK);
	ck_assert_int_eq(g->state, MGW_QS_FAILED);
	ck_assert_uint_eq(count(s, MGW_Q_SOUTH, MGW_QS_FAILED), 2);
	ck_assert_int_eq(mgw_store_expire(s, ctx, 9000, 10, &e, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
	/* max is honoured */
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_fifo_order_key)
{
	struct mgw_store *s = open_ok();
	struct cbrec r[5] = { { 0 } };

	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "a1", "UE:a", NULL, 0, &r[0]), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "a2", "UE:a", NULL, 0, &r[1]), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:b", "b1", "UE:b", NULL, 0, &r[2]), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "a3", "UE:a", NULL, 0, &r[3]), MGW_OK);
	/* no order key: no FIFO constraint */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:c", "c1", NULL, NULL, 0, &r[4]), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);

	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "a1,b1,c1");
	/* a1 INFLIGHT blocks a2 */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "");
	/* a1 back to ACCEPTED with a later next_try still holds the line */
	ck_assert_int_eq(mgw_store_retry(s, r[0].id, fake_now + 100), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "");
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now + 100, 10, NULL), "a1");
	ck_assert_int_eq(mgw_store_complete(s, r[0].id), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "a2");
	ck_assert_int_eq(mgw_store_fail(s, r[1].id, "PEER"), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "a3");
	/* oldest first and max honoured across keys */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:d", "d1", "UE:d", NULL, 0, &r[0]), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:e", "e1", "UE:e", NULL, 0, &r[1]), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 1, NULL), "d1");
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 1, NULL), "e1");
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_duplicates)
{
	struct mgw_store *s = open_ok();
	struct cbrec a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, o = { 0 };

	/* same batch */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &a), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &b), MGW_OK);
	/* same msgId, other origin or other queue: not a duplicate */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:b", "m1", "UE:b", NULL, 0, &o), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "UE:a", "m1", "UE:a", NULL, 0, &o), MGW_OK);
	ck_assert_int_eq(a.calls + b.calls, 0);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(a.rc, MGW_OK);
	ck_assert_int_eq(b.rc, MGW_E_DUPLICATE);
	ck_assert_int_eq(b.id, a.id);
	/* next batch */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &c), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(c.rc, MGW_E_DUPLICATE);
	ck_assert_int_eq(c.id, a.id);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_ACCEPTED), 2);
	/* a duplicate of a DONE entry is still a duplicate (idempotence window) */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, "nope", fake_now, 10, NULL), "");
	mgw_store_close(s);

	/* after reopen */
	s = open_ok();
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &d), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(d.rc, MGW_E_DUPLICATE);
	ck_assert_int_eq(d.id, a.id);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_ACCEPTED), 2);
	ck_assert_uint_eq(count(s, MGW_Q_SOUTH, MGW_QS_ACCEPTED), 1);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_inflight_recovered)
{
	struct mgw_store *s = open_ok();
	struct cbrec r = { 0 };
	struct mgw_store_entry **e;

	ck_assert_int_eq(enq(s, MGW_Q_SOUTH, "AS:x", "m1", "UE:a", "UE:a", 0, &r), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, NULL, fake_now, 10, NULL), "m1");
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	/* as if the process died: free without close (the destructor commits) */
	talloc_free(s);
	s = open_ok();
	ck_assert_uint_eq(count(s, MGW_Q_SOUTH, MGW_QS_INFLIGHT), 0);
	ck_assert_uint_eq(count(s, MGW_Q_SOUTH, MGW_QS_ACCEPTED), 1);
	ck_assert_str_eq(claim_ids(s, MGW_Q_SOUTH, "UE:a", fake_now, 10, &e), "m1");
	ck_assert_int_eq(e[0]->id, r.id);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* callbacks may write: the write goes into the next batch */
struct chain {
	struct mgw_store *s;
	struct cbrec inner;
	int calls;
};

static void chain_cb(void *arg, int rc, int64_t id)
{
	struct chain *c = arg;

	c->calls++;
	ck_assert_int_eq(rc, MGW_OK);
	ck_assert_int_eq(enq(c->s, MGW_Q_NORTH, "UE:z", "next", NULL, NULL, 0, &c->inner),
			 MGW_OK);
}

START_TEST(test_callback_reentry)
{
	struct chain c = { 0 };
	struct mgw_store_entry_in in = { .q = MGW_Q_NORTH, .origin = "UE:z", .msg_id = "first" };

	c.s = open_ok();
	ck_assert_int_eq(mgw_store_enqueue(c.s, &in, chain_cb, &c), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(c.s), MGW_OK);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.inner.calls, 0);
	ck_assert_int_eq(mgw_store_flush(c.s), MGW_OK);
	ck_assert_int_eq(c.inner.calls, 1);
	ck_assert_int_eq(c.inner.rc, MGW_OK);
	mgw_store_close(c.s);
}
END_TEST

static void close_cb(void *arg, int rc, int64_t id)
{
	struct chain *c = arg;

	c->calls++;
	mgw_store_close(c->s);
	c->s = NULL;
}

/* the owner may close the store from a callback: the rest of the batch is still told */
START_TEST(test_close_in_callback)
{
	struct chain c = { 0 };
	struct cbrec r = { 0 };
	struct mgw_store_entry_in in = { .q = MGW_Q_NORTH, .origin = "UE:z", .msg_id = "m1" };

	c.s = open_ok();
	ck_assert_int_eq(mgw_store_enqueue(c.s, &in, close_cb, &c), MGW_OK);
	ck_assert_int_eq(enq(c.s, MGW_Q_NORTH, "UE:z", "m2", NULL, NULL, 0, &r), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(c.s), MGW_OK);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.rc, MGW_OK);
	ck_assert_ptr_null(c.s);
}
END_TEST

START_TEST(test_commit_failure)
{
	struct mgw_store *s = open_ok();
	struct cbrec a = { 0 }, b = { 0 }, c = { 0 };
	struct mgw_store_entry *g;

	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "keep", NULL, NULL, 0, &c), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &a), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "keep", NULL, NULL, 0, &b), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "k", "v", 1, 0), MGW_OK);
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	/* every callback of the lost batch says so, duplicates included */
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.rc, MGW_E_STORE);
	ck_assert_int_eq(b.rc, MGW_E_STORE);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m1", &g), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "keep", &g), MGW_OK);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_ACCEPTED), 1);
	/* an episode: new messages are refused at once, until its timer's attempt succeeds */
	ck_assert(mgw_store_test_degraded(s));
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &a), MGW_E_STORE);
	ck_assert_int_eq(mgw_store_test_retry(s), MGW_OK);
	ck_assert(!mgw_store_test_degraded(s));
	/* the store carries on: the retry succeeds */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &a), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(a.rc, MGW_OK);
	/* a lost batch without enqueues still reports the failure, and loses the write */
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "k2", "v", 1, 0), MGW_OK);
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	{
		void *v;
		size_t len;

		ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "k2", 0, &v, &len),
				 MGW_E_NOT_FOUND);
		ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "k", 0, &v, &len),
				 MGW_E_NOT_FOUND);
	}
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* A lost batch does not lose the queue changes of the message path (issue 12 item 1): they
 * are kept, the store acts on them (no claim of an entry kept INFLIGHT/DONE, nor of one kept
 * waiting out a back-off), and the episode's attempt writes them; a kept enqueue too. */
START_TEST(test_kept_changes)
{
	struct mgw_store *s = open_ok();
	struct cbrec a = { 0 }, b = { 0 }, r = { 0 };
	struct mgw_store_entry **e = NULL;
	struct mgw_store_entry_in in = { .q = MGW_Q_SOUTH, .origin = "report:UE:x", .msg_id = "r1",
					 .order_key = "UE:x", .dest_key = "UE:x", .blob = "r1",
					 .blob_len = 2, .keep = true };
	size_t n = 0;

	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", "UE:a", NULL, 0, &a), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:b", "m2", "UE:b", NULL, 0, &b), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	/* the claim's commit fails: m1 stays ACCEPTED on disk, INFLIGHT in the store */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 1, NULL), "m1");
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	ck_assert(mgw_store_test_degraded(s));
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_INFLIGHT), 0);
	/* not claimed again (the old code handed it out at once: the hot loop) */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "m2");
	/* the M5S said 200 for m1; m2 must wait 5 s */
	ck_assert_int_eq(mgw_store_complete(s, a.id), MGW_OK);
	ck_assert_int_eq(mgw_store_retry(s, b.id, fake_now + 5000), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "");
	/* the back-off passed: due again, with the kept retry counted */
	ck_assert_int_eq(mgw_store_claim(s, ctx, MGW_Q_NORTH, NULL, fake_now + 6000, 10, &e, &n),
			 MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e[0]->msg_id, "m2");
	ck_assert_uint_eq(e[0]->attempts, 1);
	ck_assert_int_eq(mgw_store_retry(s, b.id, fake_now + 5000), MGW_OK);
	/* other writes are refused meanwhile; a kept enqueue is taken (not durable yet) */
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:c", "m3", NULL, NULL, 0, &a), MGW_E_STORE);
	ck_assert_int_eq(mgw_store_enqueue(s, &in, rec_cb, &r), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.rc, MGW_E_STORE);
	/* a failed attempt keeps everything */
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_test_retry(s), MGW_E_STORE);
	ck_assert(mgw_store_test_degraded(s));
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_DONE), 0);
	/* the next one writes it all, in order */
	ck_assert_int_eq(mgw_store_test_retry(s), MGW_OK);
	ck_assert(!mgw_store_test_degraded(s));
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_DONE), 1);
	ck_assert_uint_eq(count(s, MGW_Q_NORTH, MGW_QS_ACCEPTED), 1);
	ck_assert_uint_eq(count(s, MGW_Q_SOUTH, MGW_QS_ACCEPTED), 1);
	ck_assert_int_eq(mgw_store_claim(s, ctx, MGW_Q_NORTH, NULL, fake_now + 6000, 10, &e, &n),
			 MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(e[0]->msg_id, "m2");
	ck_assert_uint_eq(e[0]->attempts, 2);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* kv writes made with _kept survive a lost batch (seen meanwhile, written by the episode);
 * plain ones are lost with it, as a replay window must be */
START_TEST(test_kept_kv)
{
	struct mgw_store *s = open_ok();
	void *v = NULL;
	size_t len = 0;

	ck_assert_int_eq(mgw_store_kv_put_kept(s, "sms.dlr", "gone", "x", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put_kept(s, "sms.dlr", "id:1", "g:a", 3, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "cose.rw", "k", "1", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_del_kept(s, "sms.dlr", "gone"), MGW_OK);
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	ck_assert(mgw_store_test_degraded(s));
	/* seen during the episode */
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.dlr", "id:1", 0, &v, &len), MGW_OK);
	ck_assert_str_eq(v, "g:a");
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.dlr", "gone", 0, &v, &len), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "cose.rw", "k", 0, &v, &len), MGW_E_NOT_FOUND);
	/* kept while it lasts, plain ones refused */
	ck_assert_int_eq(mgw_store_kv_put_kept(s, "sms.tx", "49170", "t", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "cose.rw", "k", "2", 1, 0), MGW_E_STORE);
	ck_assert_int_eq(mgw_store_test_retry(s), MGW_OK);
	ck_assert(!mgw_store_test_degraded(s));
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.dlr", "id:1", 0, &v, &len), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.tx", "49170", 0, &v, &len), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.dlr", "gone", 0, &v, &len), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "cose.rw", "k", 0, &v, &len), MGW_E_NOT_FOUND);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* a barrier calls back once what was written before it is durable, or lost with it */
START_TEST(test_barrier)
{
	struct mgw_store *s = open_ok();
	struct cbrec a = { 0 }, b = { 0 }, c = { 0 };
	void *v;
	size_t len;

	ck_assert_int_eq(mgw_store_barrier(s, NULL, NULL), MGW_E_INVAL);
	/* with nothing written: still called, after the (empty) commit */
	ck_assert_int_eq(mgw_store_barrier(s, rec_cb, &a), MGW_OK);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(a.rc, MGW_OK);
	/* after a kv write: the write is readable once the barrier fired */
	ck_assert_int_eq(mgw_store_kv_put(s, "sms.mo", "k", "part", 4, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_barrier(s, rec_cb, &b), MGW_OK);
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(b.rc, MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.mo", "k", 0, &v, &len), MGW_OK);
	/* a lost batch: the barrier says so, and the write is gone */
	ck_assert_int_eq(mgw_store_kv_put(s, "sms.mo", "k2", "part", 4, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_barrier(s, rec_cb, &c), MGW_OK);
	mgw_store_test_fail_next_commit(s);
	ck_assert_int_eq(mgw_store_flush(s), MGW_E_STORE);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.rc, MGW_E_STORE);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "sms.mo", "k2", 0, &v, &len), MGW_E_NOT_FOUND);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* ---- key/value ---- */

static int each_cb(void *arg, const char *key, const void *val, size_t len)
{
	char **acc = arg;

	*acc = talloc_asprintf_append(*acc, "%s=%.*s;", key, (int)len, (const char *)val);
	return strcmp(key, "stop") == 0 ? MGW_E_PEER : MGW_OK;
}

START_TEST(test_kv)
{
	struct mgw_store *s = open_ok();
	void *v = NULL;
	size_t len = 0;
	char *acc;

	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", fake_now, &v, &len), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "t1", "hello", 5, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", fake_now, &v, &len), MGW_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(v, "hello"); /* NUL-terminated */
	/* namespaces are separate */
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "other", "t1", fake_now, &v, &len),
			 MGW_E_NOT_FOUND);
	/* overwrite, with TTL */
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "t1", "bye", 3, 5000), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", 4999, &v, &len), MGW_OK);
	ck_assert_str_eq(v, "bye");
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", 5000, &v, &len), MGW_E_NOT_FOUND);
	/* empty value */
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "empty", NULL, 0, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "empty", fake_now, &v, &len), MGW_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(mgw_store_kv_del(s, "txn", "empty"), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "empty", fake_now, &v, &len),
			 MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_kv_del(s, "txn", "empty"), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);

	/* foreach: live rows only, in key order; a non-zero return stops the walk */
	ck_assert_int_eq(mgw_store_kv_put(s, "reg", "b", "2", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "reg", "a", "1", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "reg", "old", "x", 1, 10), MGW_OK);
	acc = talloc_strdup(ctx, "");
	ck_assert_int_eq(mgw_store_kv_foreach(s, "reg", each_cb, &acc), MGW_OK);
	ck_assert_str_eq(acc, "a=1;b=2;");
	ck_assert_int_eq(mgw_store_kv_put(s, "reg", "stop", "s", 1, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "reg", "z", "9", 1, 0), MGW_OK);
	acc = talloc_strdup(ctx, "");
	ck_assert_int_eq(mgw_store_kv_foreach(s, "reg", each_cb, &acc), MGW_E_PEER);
	ck_assert_str_eq(acc, "a=1;b=2;stop=s;");
	ck_assert_int_eq(mgw_store_kv_clear(s, "reg"), MGW_OK);
	acc = talloc_strdup(ctx, "");
	ck_assert_int_eq(mgw_store_kv_foreach(s, "reg", each_cb, &acc), MGW_OK);
	ck_assert_str_eq(acc, "");
	/* the txn namespace was not cleared */
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", 10, &v, &len), MGW_OK);
	mgw_store_close(s);

	/* durable across reopen */
	s = open_ok();
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "t1", 10, &v, &len), MGW_OK);
	ck_assert_str_eq(v, "bye");
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_kv_replay)
{
	struct mgw_store *s = open_ok();

	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 1000, 2000), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 1000, 2000), MGW_E_REPLAY);
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 1999, 9000), MGW_E_REPLAY);
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n2", 1000, 2000), MGW_OK);
	/* expired: accepted again, with the new expiry */
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 2000, 3000), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 2999, 4000), MGW_E_REPLAY);
	/* no expiry: forever */
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n3", 1000, 0), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n3", INT64_MAX, 0), MGW_E_REPLAY);
	mgw_store_close(s);
	/* the replay cache survives a restart */
	s = open_ok();
	ck_assert_int_eq(mgw_store_kv_add_unique(s, "replay", "n1", 2500, 4000), MGW_E_REPLAY);
	mgw_store_close(s);
}
END_TEST

START_TEST(test_purge)
{
	struct mgw_store *s = open_ok(); /* done_keep_ms = 60000 */
	struct cbrec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct mgw_store_entry *g;
	void *v;
	size_t len;

	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &r1), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m2", NULL, NULL, 0, &r2), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m3", NULL, NULL, 0, &r3), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "live", "1", 1, fake_now + 100000), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_put(s, "txn", "dead", "1", 1, fake_now + 10), MGW_OK);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "m1,m2,m3");
	ck_assert_int_eq(mgw_store_complete(s, r1.id), MGW_OK); /* done at 1000000 */
	fake_now += 30000;
	ck_assert_int_eq(mgw_store_fail(s, r2.id, "X"), MGW_OK); /* failed at 1030000 */
	ck_assert_int_eq(mgw_store_retry(s, r3.id, 0), MGW_OK);   /* live: never purged */

	ck_assert_int_eq(mgw_store_purge(s, 1000000 + 59999), MGW_OK);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m1", &g), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "dead", 0, &v, &len), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "live", 0, &v, &len), MGW_OK);
	ck_assert_int_eq(mgw_store_purge(s, 1000000 + 60000), MGW_OK);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m1", &g), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m2", &g), MGW_OK);
	ck_assert_int_eq(mgw_store_purge(s, 1030000 + 60000), MGW_OK);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m2", &g), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m3", &g), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "live", 0, &v, &len), MGW_OK);
	ck_assert_int_eq(mgw_store_purge(s, INT64_MAX / 2), MGW_OK);
	ck_assert_int_eq(mgw_store_get(s, ctx, MGW_Q_NORTH, "UE:a", "m3", &g), MGW_OK);
	ck_assert_int_eq(mgw_store_kv_get(s, ctx, "txn", "live", 0, &v, &len), MGW_E_NOT_FOUND);
	mgw_store_close(s);
	talloc_free_children(ctx);
}
END_TEST

/* ---- open failures ---- */

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static size_t read_file(const char *path, void *buf, size_t max)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, max, f);
	fclose(f);
	return n;
}

static int open_err(const char *path, char *err, size_t errlen)
{
	struct mgw_store *s = NULL;
	int rc = mgw_store_open(ctx, path, NULL, &s, err, errlen);

	ck_assert_ptr_null(s);
	ck_assert_ptr_null(strchr(err, '\n'));
	return rc;
}

static void assert_no_sidecar(const char *path)
{
	char p[400];

	snprintf(p, sizeof(p), "%s-wal", path);
	ck_assert_int_ne(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s-journal", path);
	ck_assert_int_ne(access(p, F_OK), 0);
}

START_TEST(test_open_garbage)
{
	static char garbage[8192], back[16384];
	char err[512] = "";
	size_t i, sizes[] = { 10, 100, 4096, 8192 };

	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file(dbpath, garbage, sizes[i]);
		ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
		ck_assert_msg(strstr(err, dbpath) != NULL, "reason names the path: %s", err);
		ck_assert_uint_eq(read_file(dbpath, back, sizeof(back)), sizes[i]);
		ck_assert_mem_eq(back, garbage, sizes[i]);
		assert_no_sidecar(dbpath);
	}
	/* a text file that starts like a SQLite header but is not one */
	write_file(dbpath, "SQLite format 3\0garbage", 23);
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
	ck_assert_uint_eq(read_file(dbpath, back, sizeof(back)), 23);
	/* a tiny errbuf is fine, NULL errbuf too */
	ck_assert_int_eq(open_err(dbpath, err, 4), MGW_E_STORE_CORRUPT);
	ck_assert_uint_eq(strlen(err), 3);
	{
		struct mgw_store *s = NULL;

		ck_assert_int_eq(mgw_store_open(ctx, dbpath, NULL, &s, NULL, 0),
				 MGW_E_STORE_CORRUPT);
	}
}
END_TEST

static void make_foreign(const char *path, int user_version, int app_id)
{
	sqlite3 *db;
	char sql[200];

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('x');"
		 "PRAGMA user_version = %d; PRAGMA application_id = %d;",
		 user_version, app_id);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

START_TEST(test_open_foreign)
{
	static char before[65536], after[65536];
	char err[512] = "";
	size_t nb, na;

	make_foreign(dbpath, 7, 0);
	nb = read_file(dbpath, before, sizeof(before));
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, dbpath));
	ck_assert_ptr_nonnull(strstr(err, "foreign"));
	na = read_file(dbpath, after, sizeof(after));
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(before, after, nb);
	assert_no_sidecar(dbpath);
	/* tables but user_version 0 (an application that never set it) */
	remove(dbpath);
	make_foreign(dbpath, 0, 0);
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
	/* our user_version but another application_id */
	remove(dbpath);
	make_foreign(dbpath, 1, 42);
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
	/* our ids but the schema is not ours */
	remove(dbpath);
	make_foreign(dbpath, 1, 0x4d475735);
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
}
END_TEST

/* A store written by schema 1 (before heads): opened, migrated in place, FIFO kept. */
START_TEST(test_migrate_v1)
{
	struct mgw_store *s;
	sqlite3 *db;
	int64_t ver = 0;
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "CREATE TABLE queue(id INTEGER PRIMARY KEY,"
			     " q INTEGER NOT NULL CHECK (q IN (0, 1)),"
			     " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),"
			     " origin TEXT NOT NULL, msg_id TEXT NOT NULL, order_key TEXT, dest_key TEXT,"
			     " blob BLOB NOT NULL, created_ms INTEGER NOT NULL,"
			     " expiry_ms INTEGER NOT NULL DEFAULT 0,"
			     " next_try_ms INTEGER NOT NULL DEFAULT 0,"
			     " attempts INTEGER NOT NULL DEFAULT 0, cause TEXT,"
			     " updated_ms INTEGER NOT NULL, UNIQUE (q, origin, msg_id));"
			     "CREATE INDEX queue_claim ON queue(q, state, id);"
			     "CREATE INDEX queue_due ON queue(q, state, next_try_ms);"
			     "CREATE INDEX queue_dest ON queue(dest_key, q, state);"
			     "CREATE INDEX queue_order ON queue(q, order_key, id);"
			     "CREATE INDEX queue_expiry ON queue(expiry_ms) WHERE state = 0 AND expiry_ms != 0;"
			     "CREATE INDEX queue_done ON queue(updated_ms) WHERE state >= 2;"
			     "CREATE TABLE kv(ns TEXT NOT NULL, key TEXT NOT NULL, val BLOB,"
			     " expires_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, key)) WITHOUT ROWID;"
			     "INSERT INTO queue (q, state, origin, msg_id, order_key, blob, created_ms,"
			     " updated_ms) VALUES"
			     " (0, 2, 'UE:a', 'a1', 'UE:a', x'00', 1, 1),"
			     " (0, 0, 'UE:a', 'a2', 'UE:a', x'00', 1, 1),"
			     " (0, 1, 'UE:b', 'b1', 'UE:b', x'00', 1, 1),"
			     " (0, 0, 'UE:a', 'a3', 'UE:a', x'00', 1, 1),"
			     " (0, 0, 'UE:b', 'b2', 'UE:b', x'00', 1, 1);"
			     "PRAGMA application_id = 1296521013; PRAGMA user_version = 1;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	s = open_ok();
	/* b1 was INFLIGHT when schema 1 stopped: back to ACCEPTED, still first of UE:b */
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "a2,b1");
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "");
	ck_assert_int_eq(mgw_store_complete(s, 2), MGW_OK);
	ck_assert_int_eq(mgw_store_fail(s, 3, "PEER"), MGW_OK);
	ck_assert_str_eq(claim_ids(s, MGW_Q_NORTH, NULL, fake_now, 10, NULL), "a3,b2");
	mgw_store_close(s);
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ver = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	ck_assert_int_eq(ver, 2);
	talloc_free_children(ctx);
}
END_TEST

START_TEST(test_open_damaged)
{
	struct mgw_store *s = open_ok();
	struct cbrec r = { 0 };
	char err[512] = "";
	char m[16];
	int i, fd;

	for (i = 0; i < 2000; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", m, "UE:a", NULL, 0, &r), MGW_OK);
	}
	mgw_store_close(s); /* last connection: checkpointed into the main file */
	/* overwrite the middle pages (not the header) with garbage */
	fd = open(dbpath, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 4096 * 4; i += 4)
		ck_assert_int_eq(pwrite(fd, "\xde\xad\xbe\xef", 4, 4096 * 3 + i), 4);
	close(fd);
	ck_assert_int_eq(open_err(dbpath, err, sizeof(err)), MGW_E_STORE_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, dbpath));
}
END_TEST

START_TEST(test_open_io)
{
	char err[512] = "", p[400], q[420];
	struct mgw_store *s = NULL;

	/* a directory that cannot exist: its parent is a regular file */
	snprintf(p, sizeof(p), "%s/file", tmpdir);
	write_file(p, "x", 1);
	snprintf(q, sizeof(q), "%s/store.db", p);
	ck_assert_int_eq(open_err(q, err, sizeof(err)), MGW_E_IO);
	ck_assert_ptr_nonnull(strstr(err, q));
	/* a missing directory */
	snprintf(q, sizeof(q), "%s/missing/store.db", tmpdir);
	ck_assert_int_eq(open_err(q, err, sizeof(err)), MGW_E_IO);
	ck_assert_int_ne(access(q, F_OK), 0);
	/* a directory as the path */
	ck_assert_int_eq(open_err(tmpdir, err, sizeof(err)), MGW_E_IO);
	/* a read-only directory: only meaningful when permissions bind us (not root) */
	snprintf(p, sizeof(p), "%s/ro", tmpdir);
	ck_assert_int_eq(mkdir(p, 0500), 0);
	if (access(p, W_OK) != 0) {
		snprintf(q, sizeof(q), "%s/store.db", p);
		ck_assert_int_eq(open_err(q, err, sizeof(err)), MGW_E_IO);
		ck_assert_ptr_nonnull(strstr(err, q));
		/* an existing store in a directory that became read-only, then a read-only file */
		chmod(p, 0700);
		ck_assert_int_eq(mgw_store_open(ctx, q, NULL, &s, err, sizeof(err)), MGW_OK);
		mgw_store_close(s);
		chmod(p, 0500);
		ck_assert_int_eq(open_err(q, err, sizeof(err)), MGW_E_IO);
		chmod(p, 0700);
		chmod(q, 0400);
		ck_assert_int_eq(open_err(q, err, sizeof(err)), MGW_E_IO);
		chmod(q, 0600);
	} else {
		fprintf(stderr, "test_open_io: running as uid %d, chmod does not bind: "
				"read-only cases skipped\n", (int)geteuid());
	}
	ck_assert_int_eq(mgw_store_open(ctx, NULL, NULL, &s, err, sizeof(err)), MGW_E_INVAL);
}
END_TEST

START_TEST(test_sync_normal)
{
	struct mgw_store *s = NULL;
	struct mgw_store_opts o = { .sync_full = false };
	struct cbrec r = { 0 };
	char err[256];

	ck_assert_int_eq(mgw_store_open(ctx, dbpath, &o, &s, err, sizeof(err)), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &r), MGW_OK);
	mgw_store_close(s); /* close flushes */
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.rc, MGW_OK);
	mgw_store_close(NULL);
}
END_TEST

/* ---- event loop ---- */

struct producer {
	struct mgw_store *s;
	struct cbrec r[3];
	int turn;
};

static void produce(evutil_socket_t fd, short what, void *arg)
{
	struct producer *p = arg;
	char m[16];

	snprintf(m, sizeof(m), "t%d", p->turn);
	ck_assert_int_eq(enq(p->s, MGW_Q_NORTH, "UE:a", m, NULL, NULL, 0, &p->r[p->turn]), MGW_OK);
	p->turn++;
}

START_TEST(test_attach)
{
	struct event_base *base = event_base_new();
	struct mgw_store *s = open_ok();
	struct cbrec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct producer p = { .s = s };
	struct event *hi;
	unsigned long b0;

	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(mgw_store_attach(s, base), MGW_OK);
	b0 = mgw_store_test_batches(s);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &r1), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m2", NULL, NULL, 0, &r2), MGW_OK);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m1", NULL, NULL, 0, &r3), MGW_OK);
	ck_assert_int_eq(r1.calls + r2.calls + r3.calls, 0);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	/* one loop turn: one commit for the three writes, then the callbacks */
	ck_assert_uint_eq(mgw_store_test_batches(s), b0 + 1);
	ck_assert_int_eq(r1.calls, 1);
	ck_assert_int_eq(r1.rc, MGW_OK);
	ck_assert_int_eq(r2.rc, MGW_OK);
	ck_assert_int_eq(r3.rc, MGW_E_DUPLICATE);
	/* nothing written: a turn commits nothing */
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	ck_assert_uint_eq(mgw_store_test_batches(s), b0 + 1);
	mgw_store_close(s);
	event_base_free(base);

	/* with priorities: the store commits after the other work of the turn */
	base = event_base_new();
	ck_assert_int_eq(event_base_priority_init(base, 3), 0);
	s = open_ok();
	p.s = s;
	ck_assert_int_eq(mgw_store_attach(s, base), MGW_OK);
	b0 = mgw_store_test_batches(s);
	hi = event_new(base, -1, 0, produce, &p);
	ck_assert_int_eq(event_priority_set(hi, 0), 0);
	/* a write now, then a high-priority producer active in the same turn */
	produce(-1, 0, &p);
	event_active(hi, EV_TIMEOUT, 1);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(p.turn, 2);
	ck_assert_uint_eq(mgw_store_test_batches(s), b0 + 1);
	ck_assert_int_eq(p.r[0].calls, 1);
	ck_assert_int_eq(p.r[1].calls, 1);
	ck_assert_int_eq(p.r[1].rc, MGW_OK);
	/* detach: writes wait for an explicit flush */
	ck_assert_int_eq(mgw_store_attach(s, NULL), MGW_OK);
	produce(-1, 0, &p);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	ck_assert_int_eq(p.r[2].calls, 0);
	ck_assert_int_eq(mgw_store_flush(s), MGW_OK);
	ck_assert_int_eq(p.r[2].calls, 1);
	event_free(hi);
	mgw_store_close(s);
	event_base_free(base);
}
END_TEST

/* group commit: after a busy batch the next commit waits out the window (more writes join
 * it); after a lone write it does not wait */
START_TEST(test_group_commit)
{
	struct event_base *base = event_base_new();
	struct mgw_store_opts o = { .sync_full = true, .done_keep_ms = 60000, .group_us = 200000 };
	struct mgw_store *s = NULL;
	struct cbrec r[8] = { { 0 } };
	char err[512], id[8];
	struct timespec t0, t1;
	unsigned long b0;
	double ms;

	ck_assert_int_eq(mgw_store_open(ctx, dbpath, &o, &s, err, sizeof(err)), MGW_OK);
	ck_assert_int_eq(mgw_store_attach(s, base), MGW_OK);
	b0 = mgw_store_test_batches(s);
	/* a busy batch (4 writes), committed at the end of its turn: nothing before it */
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", id, NULL, NULL, 0, &r[i]), MGW_OK);
	}
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(r[3].calls, 1);
	/* right after it: the next batch waits for the window, and two writes share it */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m4", NULL, NULL, 0, &r[4]), MGW_OK);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	ck_assert_int_eq(r[4].calls, 0);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m5", NULL, NULL, 0, &r[5]), MGW_OK);
	while (r[4].calls == 0)
		ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms >= 150, "held only %.1f ms", ms);
	ck_assert_int_eq(r[5].calls, 1);
	ck_assert_uint_eq(mgw_store_test_batches(s), b0 + 2);
	/* that batch had two writes: the next one is not held */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(enq(s, MGW_Q_NORTH, "UE:a", "m6", NULL, NULL, 0, &r[6]), MGW_OK);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	ck_assert_int_eq(r[6].calls, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 150, "a lone write was held %.1f ms", ms);
	mgw_store_close(s);
	event_base_free(base);
}
END_TEST

START_TEST(test_now_ms)
{
	int64_t a;

	mgw_store_set_clock(NULL);
	a = mgw_now_ms();
	ck_assert(a > 1600000000000LL); /* after 2020 */
	mgw_store_set_clock(fake_clock);
	ck_assert_int_eq(mgw_now_ms(), fake_now);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_enqueue_claim_complete);
	tcase_add_test(tc, test_retry_next_try);
	tcase_add_test(tc, test_wake);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_fifo_order_key);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_inflight_recovered);
	tcase_add_test(tc, test_callback_reentry);
	tcase_add_test(tc, test_close_in_callback);
	tcase_add_test(tc, test_commit_failure);
	tcase_add_test(tc, test_kept_changes);
	tcase_add_test(tc, test_kept_kv);
	tcase_add_test(tc, test_barrier);
	tcase_add_test(tc, test_kv);
	tcase_add_test(tc, test_kv_replay);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_open_garbage);
	tcase_add_test(tc, test_open_foreign);
	tcase_add_test(tc, test_migrate_v1);
	tcase_add_test(tc, test_open_damaged);
	tcase_add_test(tc, test_open_io);
	tcase_add_test(tc, test_sync_normal);
	tcase_add_test(tc, test_attach);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_now_ms);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	mgw_log_set_all(MGW_LOGL_NOTICE);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
