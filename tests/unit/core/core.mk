# tests/unit/core/core.mk: the submit path and the router
check_PROGRAMS += tests/unit/core/test_core
TESTS += tests/unit/core/test_core
tests_unit_core_test_core_SOURCES = tests/unit/core/test_core.c
tests_unit_core_test_core_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_core_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
