# tests/unit/adapter/mqtt_topic.mk: MQTT topic names and the mqtt: config checks
# (src/adapter/mqtt/mqtt_topic.c, mqtt_cfg.c)
check_PROGRAMS += tests/unit/adapter/test_mqtt_topic
TESTS += tests/unit/adapter/test_mqtt_topic
tests_unit_adapter_test_mqtt_topic_SOURCES = tests/unit/adapter/test_mqtt_topic.c
tests_unit_adapter_test_mqtt_topic_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_adapter_test_mqtt_topic_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/src/adapter/mqtt
