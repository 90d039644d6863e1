# tests/integration/coap.mk: CoAP/DTLS devices (issue 4), coap-client-openssl as the device
COAP_TESTS = tests/integration/03-coap-uplink.sh tests/integration/03-coap-downlink.sh \
	tests/integration/03-coap-limits.sh tests/integration/03-coap-segments.sh tests/integration/03-coap-flood.sh \
	tests/integration/03-coap-registry-live.sh
TESTS += $(COAP_TESTS)
EXTRA_DIST += $(COAP_TESTS) tests/lib/coap.sh tests/lib/dtls-flood.py
