# tests/unit/core/codec_cbor.mk: the CBOR form of the device bodies (src/core/codec_cbor.c)
check_PROGRAMS += tests/unit/core/test_codec_cbor
TESTS += tests/unit/core/test_codec_cbor

tests_unit_core_test_codec_cbor_SOURCES = tests/unit/core/test_codec_cbor.c
tests_unit_core_test_codec_cbor_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_codec_cbor_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
