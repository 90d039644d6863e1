# tests/fuzz/sms.mk: the SMS text codec (src/adapter/sms/sms_text.c)
FUZZ_PROGS += tests/fuzz/fuzz_sms_text
tests_fuzz_fuzz_sms_text_SOURCES = tests/fuzz/fuzz_sms_text.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sms_text_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/src/adapter/sms
tests_fuzz_fuzz_sms_text_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_sms_text_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
