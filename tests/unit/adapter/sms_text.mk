# tests/unit/adapter/sms_text.mk: the SMS text codec (src/adapter/sms/sms_text.c)
check_PROGRAMS += tests/unit/adapter/test_sms_text
TESTS += tests/unit/adapter/test_sms_text
tests_unit_adapter_test_sms_text_SOURCES = tests/unit/adapter/test_sms_text.c
tests_unit_adapter_test_sms_text_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_adapter_test_sms_text_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/adapter/sms
