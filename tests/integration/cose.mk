# tests/integration/cose.mk: device object security (COSE, issue 7), both directions per
# adapter, with tests/lib/cose-dev.py (python3-cryptography) as the device's COSE
COSE_TESTS = tests/integration/06-cose-coap.sh tests/integration/06-cose-sms.sh \
	tests/integration/06-cose-mqtt.sh
TESTS += $(COSE_TESTS)
EXTRA_DIST += $(COSE_TESTS) tests/lib/cose-dev.py
