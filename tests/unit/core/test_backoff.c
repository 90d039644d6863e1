/* tests/unit/core/test_backoff.c: the one retry back-off (include/mgw/backoff.h) */
#include <stdint.h>

#include <check.h>

#include <mgw/backoff.h>

/* doubling from min, +-25 % jitter, never above max */
START_TEST(test_growth_and_jitter)
{
	struct mgw_backoff b;
	int64_t base = 100, d;

	mgw_backoff_init(&b, 100, 5000, 42);
	for (uint32_t a = 0; a < 12; a++, base = base * 2 > 5000 ? 5000 : base * 2)
		for (int i = 0; i < 200; i++) {
			d = mgw_backoff_delay(&b, a, 0);
			ck_assert_int_ge(d, base - base / 4);
			ck_assert_int_le(d, base + base / 4 > 5000 ? 5000 : base + base / 4);
		}
	/* a huge attempt count does not overflow */
	d = mgw_backoff_delay(&b, UINT32_MAX, 0);
	ck_assert_int_ge(d, 3750);
	ck_assert_int_le(d, 5000);
}
END_TEST

/* the jitter spreads: two hundred draws are not all the same */
START_TEST(test_jitter_spreads)
{
	struct mgw_backoff b;
	int64_t lo = INT64_MAX, hi = 0, d;

	mgw_backoff_init(&b, 1000, 60000, 0);
	for (int i = 0; i < 200; i++) {
		d = mgw_backoff_delay(&b, 0, 0);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ck_assert_int_gt(hi - lo, 200);
}
END_TEST

/* a floor (Retry-After) raises the delay, capped at max; bad bounds are repaired */
START_TEST(test_floor_and_bounds)
{
	struct mgw_backoff b;

	mgw_backoff_init(&b, 100, 1000, 7);
	ck_assert_int_eq(mgw_backoff_delay(&b, 0, 800), 800);
	ck_assert_int_eq(mgw_backoff_delay(&b, 0, 99999), 1000);
	mgw_backoff_init(&b, 0, -5, 7);
	ck_assert_int_eq(b.min_ms, 1);
	ck_assert_int_eq(b.max_ms, 1);
	ck_assert_int_eq(mgw_backoff_delay(&b, 3, 0), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("backoff");
	TCase *tc = tcase_create("backoff");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_growth_and_jitter);
	tcase_add_test(tc, test_jitter_spreads);
	tcase_add_test(tc, test_floor_and_bounds);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? 1 : 0;
}
