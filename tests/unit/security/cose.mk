# tests/unit/security/cose.mk: COSE object security (src/security/cose.c): RFC 8613 and
# cose-wg/Examples vectors, tampering, algorithm confusion, the replay window, bad CBOR
check_PROGRAMS += tests/unit/security/test_cose
TESTS += tests/unit/security/test_cose
tests_unit_security_test_cose_SOURCES = tests/unit/security/test_cose.c
tests_unit_security_test_cose_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_security_test_cose_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
