# tests/unit/adapter/testdev.mk: the testdev line protocol and its config section
check_PROGRAMS += tests/unit/adapter/test_testdev_codec
TESTS += tests/unit/adapter/test_testdev_codec
tests_unit_adapter_test_testdev_codec_SOURCES = tests/unit/adapter/test_testdev_codec.c
tests_unit_adapter_test_testdev_codec_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_adapter_test_testdev_codec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/adapter/test
