# tests/integration/gw.mk: the daemon (config, start/stop, reload, store errors at start)
TESTS += tests/integration/01-config-bad.sh tests/integration/01-config-dump.sh \
	tests/integration/01-gw-start-stop.sh tests/integration/07-store-bad-db.sh
EXTRA_DIST += tests/integration/01-config-bad.sh tests/integration/01-config-dump.sh \
	tests/integration/01-gw-start-stop.sh tests/integration/07-store-bad-db.sh
if SANITIZE
AM_TESTS_ENVIRONMENT += SANITIZE=yes; export SANITIZE;
endif
