# tests/unit/north/client.mk: the client to the M5S against a real HTTP server (evhttp) in
# the test process, and against nghttpd (h2c) when it is installed
check_PROGRAMS += tests/unit/north/test_client
TESTS += tests/unit/north/test_client
tests_unit_north_test_client_SOURCES = tests/unit/north/test_client.c
tests_unit_north_test_client_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_north_test_client_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/north
