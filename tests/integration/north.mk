# tests/integration/north.mk: the MSGin5G side (issue 3)
NORTH_TESTS = tests/integration/05-north-token.sh tests/integration/05-north-client.sh \
	tests/integration/05-north-restart.sh tests/integration/05-north-server.sh \
	tests/integration/05-north-load.sh tests/integration/05-north-testssl.sh \
	tests/integration/05-north-badack.sh tests/integration/05-north-oauth2.sh \
	tests/integration/05-north-abuse.sh tests/integration/05-north-registration.sh
TESTS += $(NORTH_TESTS)
EXTRA_DIST += $(NORTH_TESTS) tests/lib/north.sh contrib/node/nrf-token.js \
	tests/lib/north-abuse.py
