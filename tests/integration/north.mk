# tests/integration/north.mk: the MSGin5G side (issue 3). 05-north-server and 05-north-load
# are not in TESTS yet: they still fail (415 answered 204; m5s-sim push msgId length).
NORTH_TESTS = tests/integration/05-north-token.sh tests/integration/05-north-client.sh \
	tests/integration/05-north-restart.sh
TESTS += $(NORTH_TESTS)
EXTRA_DIST += $(NORTH_TESTS) tests/integration/05-north-server.sh tests/integration/05-north-load.sh \
	tests/lib/north.sh
