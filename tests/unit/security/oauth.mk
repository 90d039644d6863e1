# tests/unit/security/oauth.mk: caller authentication and OAuth2 access tokens
# (src/security/caller.c, oauth_token.c, oauth_keys.c): alg allow-list, forged headers,
# serialization, claims, the time window, scope, NRF key files, the caller decision
check_PROGRAMS += tests/unit/security/test_oauth
TESTS += tests/unit/security/test_oauth
tests_unit_security_test_oauth_SOURCES = tests/unit/security/test_oauth.c
tests_unit_security_test_oauth_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/security
tests_unit_security_test_oauth_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_security_test_oauth_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
