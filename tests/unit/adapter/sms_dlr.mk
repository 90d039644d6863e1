# tests/unit/adapter/sms_dlr.mk: SMPP delivery receipts (src/adapter/sms/sms_dlr.c)
check_PROGRAMS += tests/unit/adapter/test_sms_dlr
TESTS += tests/unit/adapter/test_sms_dlr
tests_unit_adapter_test_sms_dlr_SOURCES = tests/unit/adapter/test_sms_dlr.c
tests_unit_adapter_test_sms_dlr_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_adapter_test_sms_dlr_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/adapter/sms
