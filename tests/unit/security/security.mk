# tests/unit/security/security.mk: the security core (registry, binding, policy, audit)
check_PROGRAMS += tests/unit/security/test_security
TESTS += tests/unit/security/test_security
tests_unit_security_test_security_SOURCES = tests/unit/security/test_security.c
tests_unit_security_test_security_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_security_test_security_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
