# tests/integration/mqtt.mk: MQTT devices through a real mosquitto broker (issue 6), with
# mosquitto_pub / mosquitto_sub as the devices (tests/lib/mqtt.sh)
MQTT_TESTS = tests/integration/04-mqtt-uplink.sh tests/integration/04-mqtt-downlink.sh \
	tests/integration/04-mqtt-reconnect.sh tests/integration/04-mqtt-kill9.sh \
	tests/integration/04-mqtt-tls.sh
TESTS += $(MQTT_TESTS)
EXTRA_DIST += $(MQTT_TESTS) tests/lib/mqtt.sh tests/lib/tls.sh
