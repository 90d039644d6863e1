/* Unit tests of the rate-limited log lines (mgw_log_rl_pass/flush in src/core/log.c). */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include <mgw/log.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

START_TEST(test_burst_then_held)
{
	struct mgw_log_rl rl = MGW_LOG_RL_INIT(3, 60000);
	uint64_t held = 99;
	int passed = 0;

	for (int i = 0; i < 100; i++)
		passed += mgw_log_rl_pass(&rl, &held);
	ck_assert_int_eq(passed, 3);
	ck_assert_uint_eq(held, 0);            /* nothing was held before the three */
	ck_assert_uint_eq(rl.held, 97);
	ck_assert_uint_eq(mgw_log_rl_flush(&rl, false), 0); /* interval not over */
	ck_assert_uint_eq(mgw_log_rl_flush(&rl, true), 97); /* at stop: always */
	ck_assert_uint_eq(mgw_log_rl_flush(&rl, true), 0);
}
END_TEST

START_TEST(test_next_interval_reports_count)
{
	struct mgw_log_rl rl = MGW_LOG_RL_INIT(1, 50);
	uint64_t held = 0;

	ck_assert(mgw_log_rl_pass(&rl, &held));
	ck_assert(!mgw_log_rl_pass(&rl, &held));
	ck_assert(!mgw_log_rl_pass(&rl, NULL));
	sleep_ms(80);
	ck_assert(mgw_log_rl_pass(&rl, &held)); /* a new interval: the count comes along */
	ck_assert_uint_eq(held, 2);
	ck_assert(!mgw_log_rl_pass(&rl, &held));
	sleep_ms(80);
	ck_assert_uint_eq(mgw_log_rl_flush(&rl, false), 1); /* the timer's summary */
	ck_assert_uint_eq(rl.held, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log_rl");
	TCase *tc = tcase_create("rl");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_burst_then_held);
	tcase_add_test(tc, test_next_interval_reports_count);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
