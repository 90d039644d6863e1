# tests/fuzz/http1.mk: the HTTP/1.1 request parser of the north server (src/north/http1.c)
FUZZ_PROGS += tests/fuzz/fuzz_http1
tests_fuzz_fuzz_http1_SOURCES = tests/fuzz/fuzz_http1.c $(FUZZ_MAIN)
tests_fuzz_fuzz_http1_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/src/north
tests_fuzz_fuzz_http1_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_http1_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
