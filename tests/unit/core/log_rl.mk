# tests/unit/core/log_rl.mk: rate-limited log lines (src/core/log.c)
check_PROGRAMS += tests/unit/core/test_log_rl
TESTS += tests/unit/core/test_log_rl
tests_unit_core_test_log_rl_SOURCES = tests/unit/core/test_log_rl.c
tests_unit_core_test_log_rl_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_log_rl_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
