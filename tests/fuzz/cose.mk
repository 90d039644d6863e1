# tests/fuzz/cose.mk: COSE_Encrypt0 / COSE_Mac0 decoding and opening (src/security/cose.c)
FUZZ_PROGS += tests/fuzz/fuzz_cose
tests_fuzz_fuzz_cose_SOURCES = tests/fuzz/fuzz_cose.c $(FUZZ_MAIN)
tests_fuzz_fuzz_cose_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_cose_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
