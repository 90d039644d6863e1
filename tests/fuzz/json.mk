# tests/fuzz/json.mk: the TS 29.538 JSON codec (src/core/codec_json.c)
FUZZ_PROGS += tests/fuzz/fuzz_json_msg tests/fuzz/fuzz_json_ack
tests_fuzz_fuzz_json_msg_SOURCES = tests/fuzz/fuzz_json_msg.c $(FUZZ_MAIN)
tests_fuzz_fuzz_json_msg_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_json_msg_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_json_ack_SOURCES = tests/fuzz/fuzz_json_ack.c $(FUZZ_MAIN)
tests_fuzz_fuzz_json_ack_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_json_ack_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
