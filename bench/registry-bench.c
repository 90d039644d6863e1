/* registry-bench: credential lookup latency of the registry in the store (issue 13):
 * mgw_registry_by_cred() with a cold cache (every lookup a miss: the store row read and
 * checked) and a warm one (hits), beside a bare SQLite point query on the same tables in
 * the same run (the floor). Usage: registry-bench FILE.devices N_DEVICES [LOOKUPS]
 * (the devices are "k<i>" PSK identities or MQTT usernames, as registry-bench.sh imports
 * them). Prints p50/p99 in microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/security.h>
#include <mgw/store.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n)
{
	qsort(t, n, sizeof(*t), cmp);
	printf("%-34s p50 %7.2f us  p99 %7.2f us  (%zu lookups)\n", what, t[n / 2],
	       t[n * 99 / 100], n);
}

int main(int argc, char **argv)
{
	void *ctx = talloc_new(NULL);
	struct mgw_regdb *db = NULL;
	struct mgw_registry *r = NULL;
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	char why[256], key[32];
	size_t ndev, n, miss = 0;
	double *t;
	unsigned seed = 12345;

	if (argc < 3)
		return fprintf(stderr, "usage: registry-bench FILE N_DEVICES [LOOKUPS]\n"), 1;
	ndev = strtoul(argv[2], NULL, 10);
	n = argc > 3 ? strtoul(argv[3], NULL, 10) : 20000;
	t = calloc(n, sizeof(*t));
	if (!t || mgw_regdb_open(ctx, argv[1], 1000, &db, why, sizeof(why)) != MGW_OK ||
	    mgw_registry_open_db(ctx, db, 10000, &r) != MGW_OK)
		return fprintf(stderr, "registry-bench: %s\n", why), 1;
	if (sqlite3_open_v2(argv[1], &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(raw, "SELECT d.row FROM reg_cred c JOIN reg_device d ON d.ue = c.ue"
				    " WHERE c.kind = ?1 AND c.value = ?2", -1, &st, NULL) != SQLITE_OK)
		return fprintf(stderr, "registry-bench: sqlite: %s\n", sqlite3_errmsg(raw)), 1;
	/* the floor: a prepared point query, the row copied out as the cache would */
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%u", rand_r(&seed) % (unsigned)ndev);
		double t0 = now_us();
		sqlite3_bind_int(st, 1, MGW_CRED_MQTT_USER);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			free(strdup((const char *)sqlite3_column_text(st, 0)));
		else
			miss++;
		sqlite3_reset(st);
		t[i] = now_us() - t0;
	}
	report("bare SQLite point query (floor)", t, n);
	/* cold: distinct keys, each a miss (row read + checked + cached) */
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%zu", (i * 7919) % ndev);
		double t0 = now_us();
		if (!mgw_registry_by_cred(r, MGW_CRED_MQTT_USER, key))
			miss++;
		t[i] = now_us() - t0;
		if (i % 5000 == 4999)
			mgw_registry_poll(r, 0, NULL, NULL, NULL); /* evicts down to the cap */
	}
	report("mgw_registry_by_cred cold cache", t, n);
	mgw_registry_poll(r, 0, NULL, NULL, NULL);
	/* warm: keys of the last 5000 looked up (cached) */
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%zu", (((n - 1 - (i % 5000)) * 7919) % ndev));
		double t0 = now_us();
		if (!mgw_registry_by_cred(r, MGW_CRED_MQTT_USER, key))
			miss++;
		t[i] = now_us() - t0;
	}
	report("mgw_registry_by_cred warm cache", t, n);
	if (miss)
		printf("(%zu lookups found nothing)\n", miss);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	free(t);
	talloc_free(ctx);
	return 0;
}
