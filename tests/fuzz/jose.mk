# tests/fuzz/jose.mk: JWS/JWE, claims, downlink opening and JWKS parsing (src/security/jose.c,
# keys.c)
FUZZ_PROGS += tests/fuzz/fuzz_jose
tests_fuzz_fuzz_jose_SOURCES = tests/fuzz/fuzz_jose.c $(FUZZ_MAIN)
tests_fuzz_fuzz_jose_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_jose_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
