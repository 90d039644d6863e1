# tests/unit/store/store.mk: the durable store against real SQLite files
check_PROGRAMS += tests/unit/store/test_store
TESTS += tests/unit/store/test_store
tests_unit_store_test_store_SOURCES = tests/unit/store/test_store.c
tests_unit_store_test_store_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/store
tests_unit_store_test_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_store_test_store_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
# the device registry tables and the registry cache over them (issue 13)
check_PROGRAMS += tests/unit/store/test_regdb
TESTS += tests/unit/store/test_regdb
tests_unit_store_test_regdb_SOURCES = tests/unit/store/test_regdb.c
tests_unit_store_test_regdb_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_store_test_regdb_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
