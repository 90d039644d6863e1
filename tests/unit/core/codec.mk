# tests/unit/core/codec.mk: the model and the TS 29.538 JSON codec
check_PROGRAMS += tests/unit/core/test_codec tests/unit/core/codec_emit
TESTS += tests/unit/core/test_codec tests/unit/core/test_codec_oas.sh
dist_check_SCRIPTS += tests/unit/core/test_codec_oas.sh

tests_unit_core_test_codec_SOURCES = tests/unit/core/test_codec.c \
	tests/unit/core/codec_cases.c tests/unit/core/codec_cases.h
tests_unit_core_test_codec_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_codec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

# prints the bodies for the OpenAPI validator (test_codec_oas.sh)
tests_unit_core_codec_emit_SOURCES = tests/unit/core/codec_emit.c \
	tests/unit/core/codec_cases.c tests/unit/core/codec_cases.h
tests_unit_core_codec_emit_LDADD = $(MGW_LIBS) $(DEP_LIBS)
