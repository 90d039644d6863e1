# tests/unit/core/backoff.mk: the retry back-off shared by the north client, the core and the store
check_PROGRAMS += tests/unit/core/test_backoff
TESTS += tests/unit/core/test_backoff
tests_unit_core_test_backoff_SOURCES = tests/unit/core/test_backoff.c
tests_unit_core_test_backoff_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_backoff_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
