# tests/fuzz/mqtt_topic.mk: MQTT topic names (src/adapter/mqtt/mqtt_topic.c)
FUZZ_PROGS += tests/fuzz/fuzz_mqtt_topic
tests_fuzz_fuzz_mqtt_topic_SOURCES = tests/fuzz/fuzz_mqtt_topic.c $(FUZZ_MAIN)
tests_fuzz_fuzz_mqtt_topic_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/src/adapter/mqtt
tests_fuzz_fuzz_mqtt_topic_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_mqtt_topic_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
