# tests/fuzz/dtls_hello.mk: DTLS ClientHello / HelloVerifyRequest of the CoAP gate
# (src/adapter/coap/coap_dtls.c)
FUZZ_PROGS += tests/fuzz/fuzz_dtls_hello
tests_fuzz_fuzz_dtls_hello_SOURCES = tests/fuzz/fuzz_dtls_hello.c $(FUZZ_MAIN)
tests_fuzz_fuzz_dtls_hello_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/src/adapter/coap
tests_fuzz_fuzz_dtls_hello_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_dtls_hello_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
