# tests/integration/change.mk: live registry changes reach sessions and queued downlink
# (issue 13 items 2 and 5), through SIGHUP
CHANGE_TESTS = tests/integration/06-change-coap.sh tests/integration/06-change-mqtt-sms.sh
TESTS += $(CHANGE_TESTS)
EXTRA_DIST += $(CHANGE_TESTS)
