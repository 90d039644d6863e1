# tests/fuzz/oauth.mk: OAuth2 access tokens, the caller decision and NRF key files
# (src/security/oauth_token.c, caller.c, oauth_keys.c)
FUZZ_PROGS += tests/fuzz/fuzz_oauth
tests_fuzz_fuzz_oauth_SOURCES = tests/fuzz/fuzz_oauth.c $(FUZZ_MAIN)
tests_fuzz_fuzz_oauth_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/security
tests_fuzz_fuzz_oauth_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_oauth_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
