# tests/unit/security/cose_registry.mk: device object security as wired (issue 7): the
# registry's cose: section, uplink open/replay/kid/audit, downlink protect and its counter
check_PROGRAMS += tests/unit/security/test_cose_registry
TESTS += tests/unit/security/test_cose_registry
tests_unit_security_test_cose_registry_SOURCES = tests/unit/security/test_cose_registry.c
tests_unit_security_test_cose_registry_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_security_test_cose_registry_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
