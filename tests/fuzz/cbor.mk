# tests/fuzz/cbor.mk: the CBOR form of the device bodies (src/core/codec_cbor.c)
FUZZ_PROGS += tests/fuzz/fuzz_cbor
tests_fuzz_fuzz_cbor_SOURCES = tests/fuzz/fuzz_cbor.c $(FUZZ_MAIN)
tests_fuzz_fuzz_cbor_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_cbor_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
