# tests/unit/security/jose.mk: the JOSE profiles and key set (src/security/jose.c, keys.c):
# round trips, alg none / HS256 confusion / other algs, forged headers, tampering, the time
# window, claims, JWE refusals, downlink opening and replay, key files, JWKS, rotation
check_PROGRAMS += tests/unit/security/test_jose
TESTS += tests/unit/security/test_jose
tests_unit_security_test_jose_SOURCES = tests/unit/security/test_jose.c
tests_unit_security_test_jose_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/security
tests_unit_security_test_jose_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_security_test_jose_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
