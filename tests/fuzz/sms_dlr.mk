# tests/fuzz/sms_dlr.mk: the SMPP delivery receipt text parser (src/adapter/sms/sms_dlr.c)
FUZZ_PROGS += tests/fuzz/fuzz_sms_dlr
tests_fuzz_fuzz_sms_dlr_SOURCES = tests/fuzz/fuzz_sms_dlr.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sms_dlr_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/src/adapter/sms
tests_fuzz_fuzz_sms_dlr_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_sms_dlr_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
