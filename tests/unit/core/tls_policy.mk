# tests/unit/core/tls_policy.mk: the one TLS policy and the client-TLS schema
# (src/core/tls_policy.c, src/core/tls_cfg.c)
check_PROGRAMS += tests/unit/core/test_tls_policy
TESTS += tests/unit/core/test_tls_policy
tests_unit_core_test_tls_policy_SOURCES = tests/unit/core/test_tls_policy.c
tests_unit_core_test_tls_policy_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_tls_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
