/* Unit tests of the device registry tables (src/store/store_regdb.c) and of the registry
 * cache over them (src/security/registry_cache.c, registry_import.c), on real files. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>
#include <mgw/store.h>

static char tmpdir[256], dbpath[300];
static void *ctx;
static struct mgw_regdb *db;

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	char why[256];

	snprintf(tmpdir, sizeof(tmpdir), "%s/mgw-regdb-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/gw.db.devices", tmpdir);
	ctx = talloc_new(NULL);
	umask(022);
	ck_assert_int_eq(mgw_regdb_open(ctx, dbpath, 1000, &db, why, sizeof(why)), MGW_OK);
}

static void teardown(void)
{
	char cmd[400];

	talloc_free(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static int put_text(const char *text, int *what)
{
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_regdb_dev *d = NULL;
	char owner[64] = "";
	size_t bad = 0;
	int rc;

	ck_assert_int_eq(mgw_registry_entry(ctx, "t", text, "gwctl", &d, &err), MGW_OK);
	rc = mgw_regdb_put(db, d, 0, what, &bad, owner, sizeof(owner));
	talloc_free(d);
	return rc;
}

static int64_t seq(void)
{
	int64_t s = -1;

	ck_assert_int_eq(mgw_regdb_seq(db, &s), MGW_OK);
	return s;
}

START_TEST(created_private)
{
	struct stat sb;

	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
}
END_TEST

START_TEST(put_get_remove)
{
	char *row = NULL;
	size_t n = 9;
	int what = -1;

	ck_assert_int_eq(seq(), 0);
	ck_assert_int_eq(put_text("{ue: u1, coap: {psk_identity: id1, psk: k1}}", &what), MGW_OK);
	ck_assert_int_eq(what, MGW_REGDB_ADDED);
	ck_assert_int_eq(seq(), 1);
	/* the same entry again: nothing changes, no change record */
	ck_assert_int_eq(put_text("{ue: u1, coap: {psk_identity: id1, psk: k1}}", &what), MGW_OK);
	ck_assert_int_eq(what, 0);
	ck_assert_int_eq(seq(), 1);
	ck_assert_int_eq(mgw_regdb_by_cred(db, ctx, MGW_CRED_PSK_ID, "id1", &row), MGW_OK);
	ck_assert_ptr_nonnull(strstr(row, "\"ue\":\"u1\""));
	/* re-key under a new identity: the old one no longer answers */
	ck_assert_int_eq(put_text("{ue: u1, coap: {psk_identity: id2, psk: k2}}", &what), MGW_OK);
	ck_assert_int_eq(what, MGW_REGDB_UPDATED);
	ck_assert_int_eq(mgw_regdb_by_cred(db, ctx, MGW_CRED_PSK_ID, "id1", &row), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_regdb_by_cred(db, ctx, MGW_CRED_PSK_ID, "id2", &row), MGW_OK);
	/* a credential of another UE is refused, nothing written */
	ck_assert_int_eq(put_text("{ue: u2, coap: {psk_identity: id2, psk: x}}", &what),
			 MGW_E_DUPLICATE);
	ck_assert_int_eq(mgw_regdb_get(db, ctx, "u2", &row), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_regdb_count(db, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mgw_regdb_remove(db, "u1"), MGW_OK);
	ck_assert_int_eq(mgw_regdb_remove(db, "u1"), MGW_E_NOT_FOUND);
	ck_assert_int_eq(mgw_regdb_by_cred(db, ctx, MGW_CRED_PSK_ID, "id2", &row), MGW_E_NOT_FOUND);
	ck_assert_int_eq(seq(), 3);
}
END_TEST

static int nchg, last_what;
static char last_ue[64];

static void on_chg(void *arg, int64_t s, const char *ue, int what)
{
	(void)arg;
	(void)s;
	nchg++;
	last_what = what;
	snprintf(last_ue, sizeof(last_ue), "%s", ue);
}

START_TEST(transaction_and_changes)
{
	size_t n = 0;
	int what;

	ck_assert_int_eq(mgw_regdb_begin(db), MGW_OK);
	ck_assert_int_eq(put_text("{ue: a, sms: {msisdn: '+491'}}", &what), MGW_OK);
	ck_assert_int_eq(put_text("{ue: b, mqtt: {username: b}}", &what), MGW_OK);
	mgw_regdb_rollback(db);
	ck_assert_int_eq(mgw_regdb_count(db, &n), MGW_OK);
	ck_assert_uint_eq(n, 0); /* all or nothing */
	ck_assert_int_eq(mgw_regdb_begin(db), MGW_OK);
	ck_assert_int_eq(put_text("{ue: a, sms: {msisdn: '+491'}}", &what), MGW_OK);
	ck_assert_int_eq(put_text("{ue: b, mqtt: {username: b}}", &what), MGW_OK);
	ck_assert_int_eq(mgw_regdb_commit(db), MGW_OK);
	ck_assert_int_eq(mgw_regdb_remove(db, "a"), MGW_OK);
	nchg = 0;
	ck_assert_int_eq(mgw_regdb_changes(db, 0, 100, on_chg, NULL, &n), MGW_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(last_what, MGW_REGDB_REMOVED);
	ck_assert_str_eq(last_ue, "a");
	ck_assert_int_eq(mgw_regdb_by_cred(db, ctx, MGW_CRED_MQTT_USER, "b", &(char *){ NULL }),
			 MGW_OK);
}
END_TEST

static int nrow;
static int count_row(void *arg, const char *ue, const char *src, const char *row)
{
	(void)arg;
	(void)ue;
	(void)src;
	(void)row;
	return ++nrow >= 1000 ? 1 : 0;
}

START_TEST(prune_and_page)
{
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_regdb_dev *d = NULL;
	size_t n = 0;
	int what;

	ck_assert_int_eq(put_text("{ue: mine, mqtt: {username: m}}", &what), MGW_OK);
	ck_assert_int_eq(mgw_registry_entry(ctx, "t", "{ue: s1, mqtt: {username: s1}}", "seed", &d,
					    &err),
			 MGW_OK);
	ck_assert_int_eq(mgw_regdb_put(db, d, 1, &what, NULL, NULL, 0), MGW_OK);
	ck_assert_int_eq(mgw_regdb_prune(db, "seed", 2, &n), MGW_OK);
	ck_assert_uint_eq(n, 1); /* s1 was not in seed 2; the gwctl device stays */
	nrow = 0;
	ck_assert_int_eq(mgw_regdb_page(db, "", 10, count_row, NULL, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mgw_regdb_meta_put(db, "k", "v"), MGW_OK);
}
END_TEST

static int ncb;
static void on_dev(void *arg, const char *ue, int what)
{
	(void)arg;
	(void)ue;
	(void)what;
	ncb++;
}

START_TEST(cache_over_store)
{
	struct mgw_registry *r = NULL;
	struct mgw_registry_cache_stats st;
	const struct mgw_device *d, *d2;
	const uint8_t *k;
	size_t klen, n;
	char text[128];
	int what;

	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "{ue: u%d, coap: {psk_identity: p%d, psk: key%d}}", i, i,
			 i);
		ck_assert_int_eq(put_text(text, &what), MGW_OK);
	}
	ck_assert_int_eq(mgw_registry_open_db(ctx, db, 16, &r), MGW_OK);
	ck_assert_uint_eq(mgw_registry_count(r), 40);
	d = mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "p7");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(mgw_device_ue(d), "u7");
	ck_assert_int_eq(mgw_device_psk(d, &k, &klen), MGW_OK);
	ck_assert_uint_eq(klen, 4);
	ck_assert_int_eq(memcmp(k, "key7", 4), 0);
	ck_assert_ptr_eq(mgw_registry_by_ue(r, "u7"), d); /* the same cached entry */
	ck_assert_ptr_null(mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "nope"));
	/* a walk fills beyond the cap; the poll evicts down to it */
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "u%d", i);
		ck_assert_ptr_nonnull(mgw_registry_by_ue(r, text));
	}
	ck_assert_int_eq(mgw_registry_poll(r, 0, on_dev, NULL, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
	mgw_registry_cache_stats(r, &st);
	ck_assert_uint_le(st.cached, 16);
	ck_assert_uint_ge(st.evicted, 24);
	/* re-key: the poll drops the cached copy and announces the change */
	d = mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "p39");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(put_text("{ue: u39, coap: {psk_identity: p39, psk: NEWKEY}}", &what), MGW_OK);
	ck_assert_int_eq(mgw_regdb_remove(db, "u38"), MGW_OK);
	ncb = 0;
	ck_assert_int_eq(mgw_registry_poll(r, 0, on_dev, NULL, &n), MGW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ncb, 2);
	ck_assert_str_eq(mgw_device_ue(d), "u39"); /* the old pointer still lives this turn */
	d2 = mgw_registry_by_cred(r, MGW_CRED_PSK_ID, "p39");
	ck_assert_ptr_nonnull(d2);
	ck_assert_int_eq(mgw_device_psk(d2, &k, &klen), MGW_OK);
	ck_assert_int_eq(memcmp(k, "NEWKEY", 6), 0);
	ck_assert_ptr_null(mgw_registry_by_ue(r, "u38"));
	mgw_registry_free(r);
}
END_TEST

/* The importer: a bad row names its line and the caller's rollback leaves nothing. */
START_TEST(import_bad_row)
{
	struct mgw_registry_import_stats st;
	struct mgw_cfg_err err = { { 0 } };
	char file[400];
	size_t n = 9;
	FILE *f;

	snprintf(file, sizeof(file), "%s/d.jsonl", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs("{\"ue\":\"a\",\"mqtt\":{\"username\":\"a\"}}\n\n"
	      "{\"ue\":\"b\",\"sms\":{\"msisdn\":\"12x\"}}\n",
	      f);
	fclose(f);
	ck_assert_int_eq(mgw_regdb_begin(db), MGW_OK);
	ck_assert_int_eq(mgw_registry_import(db, file, MGW_REGFMT_AUTO, "gwctl", 5, &st, &err),
			 MGW_E_CONFIG);
	mgw_regdb_rollback(db);
	ck_assert_ptr_nonnull(strstr(err.msg, "d.jsonl:3:1: sms.msisdn"));
	ck_assert_int_eq(mgw_regdb_count(db, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *regdb_suite(void)
{
	Suite *s = suite_create("regdb");
	TCase *tc = tcase_create("regdb");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, created_private);
	tcase_add_test(tc, put_get_remove);
	tcase_add_test(tc, transaction_and_changes);
	tcase_add_test(tc, prune_and_page);
	tcase_add_test(tc, cache_over_store);
	tcase_add_test(tc, import_bad_row);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(regdb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
