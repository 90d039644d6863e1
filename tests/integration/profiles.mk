# tests/integration/profiles.mk: the protection profiles end to end (issue 7)
PROFILE_TESTS = tests/integration/06-profiles.sh tests/integration/06-profiles-mqtt.sh
TESTS += $(PROFILE_TESTS)
EXTRA_DIST += $(PROFILE_TESTS) tests/integration/profiles.mk
