# tests/unit/north/north.mk: the HTTPS server (h2, h2c, HTTP/1.1, TLS policy, client
# certificates) against real peers: curl, h2load, raw sockets
check_PROGRAMS += tests/unit/north/test_http_server
TESTS += tests/unit/north/test_http_server
tests_unit_north_test_http_server_SOURCES = tests/unit/north/test_http_server.c
tests_unit_north_test_http_server_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/north
tests_unit_north_test_http_server_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
# the listener's slot bookkeeping (conn_limit.c): pure, no sockets
check_PROGRAMS += tests/unit/north/test_conn_limit
TESTS += tests/unit/north/test_conn_limit
tests_unit_north_test_conn_limit_SOURCES = tests/unit/north/test_conn_limit.c
tests_unit_north_test_conn_limit_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/north
tests_unit_north_test_conn_limit_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
