/* store_stress: a stream of enqueues through a real event loop, for the kill -9 test
 * (tests/integration/07-store-kill9.sh).
 *
 *   store_stress DB N [PER_TURN [TURN_DELAY_US]]
 *	enqueue msg-0 .. msg-(N-1) (origin "UE:stress", north queue), PER_TURN per loop turn
 *	(default 50), the store attached to the loop; print "ACK <msgId>" on stdout only from
 *	the enqueue callback with MGW_OK or MGW_E_DUPLICATE, flushed at once. Prints the
 *	counts and the rate on stderr at the end.
 *   store_stress DB --dump	every stored msg_id of the origin in the north queue, one per
 *				line, read with plain SQL (independent of the store code)
 *   store_stress DB --count	the number of rows the store holds for the origin, by state
 *
 * Exit: 0 on success, 1 when an enqueue failed, 2 on usage or open errors.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/store.h>

#define ORIGIN "UE:stress"

struct stress {
	struct event_base *base;
	struct event *tick;
	struct mgw_store *store;
	struct timeval delay;
	long n, per_turn, next;
	long acked, dups, failed, outstanding;
};

/* decimal digits only (checksrc bans strtol/atoi) */
static int parse_long(const char *s, long min, long max, long *out)
{
	long v = 0;

	if (!*s)
		return MGW_E_INVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return MGW_E_INVAL;
		v = v * 10 + (*s - '0');
	}
	if (v < min)
		return MGW_E_INVAL;
	*out = v;
	return MGW_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stored_cb(void *arg, int rc, int64_t id)
{
	struct stress *st = talloc_get_type_abort(talloc_parent(arg), struct stress);
	const char *msg_id = arg;

	st->outstanding--;
	if (rc == MGW_OK || rc == MGW_E_DUPLICATE) {
		/* one write(2) per line: a kill -9 never leaves half an ACK */
		printf("ACK %s\n", msg_id);
		fflush(stdout);
		if (rc == MGW_OK)
			st->acked++;
		else
			st->dups++;
	} else {
		fprintf(stderr, "store_stress: %s not stored: %s\n", msg_id, mgw_errname(rc));
		st->failed++;
	}
	talloc_free(arg);
	if (st->next >= st->n && st->outstanding == 0)
		event_base_loopbreak(st->base);
}

/* one loop turn's worth of messages; the store commits them at the end of the turn */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stress *st = arg;
	struct mgw_store_entry_in in = { .q = MGW_Q_NORTH, .origin = ORIGIN,
					  .order_key = ORIGIN, .dest_key = "AS:sink" };
	char *msg_id;
	long i;
	int rc;

	for (i = 0; i < st->per_turn && st->next < st->n; i++, st->next++) {
		if (!(msg_id = talloc_asprintf(st, "msg-%ld", st->next))) {
			st->failed++;
			continue;
		}
		in.msg_id = msg_id;
		in.blob = msg_id;
		in.blob_len = strlen(msg_id);
		if ((rc = mgw_store_enqueue(st->store, &in, stored_cb, msg_id)) != MGW_OK) {
			fprintf(stderr, "store_stress: enqueue %s: %s\n", msg_id, mgw_errname(rc));
			talloc_free(msg_id);
			st->failed++;
			continue;
		}
		st->outstanding++;
	}
	/* a timer, not event_active(): the next batch of messages comes in the next turn */
	if (st->next < st->n)
		evtimer_add(st->tick, &st->delay);
	else if (st->outstanding == 0)
		event_base_loopbreak(st->base);
}

static int run(const char *path, long n, long per_turn, long delay_us)
{
	struct stress *st = talloc_zero(NULL, struct stress);
	struct mgw_store_opts opts = { .sync_full = true, .done_keep_ms = 24LL * 3600 * 1000 };
	char err[512];
	double t0, dt;
	int rc, ret = 2;

	if (!st)
		goto out;
	st->n = n;
	st->per_turn = per_turn;
	st->delay.tv_sec = delay_us / 1000000;
	st->delay.tv_usec = delay_us % 1000000;
	if (!(st->base = event_base_new()) ||
	    !(st->tick = evtimer_new(st->base, tick_cb, st)))
		goto out;
	if ((rc = mgw_store_open(st, path, &opts, &st->store, err, sizeof(err))) != MGW_OK) {
		fprintf(stderr, "store_stress: %s (%s)\n", err, mgw_errname(rc));
		goto out;
	}
	if (mgw_store_attach(st->store, st->base) != MGW_OK)
		goto out;
	t0 = now_s();
	event_active(st->tick, EV_TIMEOUT, 1);
	event_base_dispatch(st->base);
	dt = now_s() - t0;
	fprintf(stderr,
		"store_stress: %ld messages, %ld per turn: %ld stored, %ld duplicates, %ld failed"
		" in %.3f s = %.0f msgs/s\n",
		n, per_turn, st->acked, st->dups, st->failed, dt, dt > 0 ? (double)n / dt : 0.0);
	ret = st->failed ? 1 : 0;
out:
	if (st) {
		mgw_store_close(st->store);
		st->store = NULL;
		if (st->tick)
			event_free(st->tick);
		if (st->base)
			event_base_free(st->base);
	}
	talloc_free(st);
	return ret;
}

/* Plain SQL, read only: the verifier does not trust the code it verifies. */
static int dump(const char *path, bool count_only)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	const char *sql = count_only
				  ? "SELECT state, count(*) FROM queue WHERE q = 0 AND origin = ?1"
				    " GROUP BY state ORDER BY state"
				  : "SELECT msg_id FROM queue WHERE q = 0 AND origin = ?1 ORDER BY id";
	long total = 0;
	int src, ret = 2;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
		fprintf(stderr, "store_stress: %s: %s\n", path, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(q, 1, ORIGIN, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (count_only) {
			printf("state %d: %lld\n", sqlite3_column_int(q, 0),
			       (long long)sqlite3_column_int64(q, 1));
			total += (long)sqlite3_column_int64(q, 1);
		} else {
			printf("%s\n", (const char *)sqlite3_column_text(q, 0));
		}
	}
	if (src != SQLITE_DONE) {
		fprintf(stderr, "store_stress: %s: %s\n", path, sqlite3_errmsg(db));
		goto out;
	}
	if (count_only)
		printf("total: %ld\n", total);
	ret = 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: store_stress DB N [PER_TURN [TURN_DELAY_US]]\n"
			"       store_stress DB --dump | --count\n");
}

int main(int argc, char **argv)
{
	long n, per_turn = 50, delay_us = 0;

	mgw_log_set_all(MGW_LOGL_NOTICE);
	if (argc == 3 && strcmp(argv[2], "--dump") == 0)
		return dump(argv[1], false);
	if (argc == 3 && strcmp(argv[2], "--count") == 0)
		return dump(argv[1], true);
	if (argc < 3 || argc > 5 || parse_long(argv[2], 0, 100000000, &n) != MGW_OK ||
	    (argc > 3 && parse_long(argv[3], 1, 100000, &per_turn) != MGW_OK) ||
	    (argc > 4 && parse_long(argv[4], 0, 10000000, &delay_us) != MGW_OK)) {
		usage();
		return 2;
	}
	return run(argv[1], n, per_turn, delay_us);
}
