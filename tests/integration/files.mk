# tests/integration/files.mk: the files the gateway trusts and writes (modes of secret-bearing
# configs and registries, the store's mode, the audit log's failure policy)
TESTS += tests/integration/01-config-modes.sh tests/integration/07-store-mode.sh \
	tests/integration/06-audit-full.sh
EXTRA_DIST += tests/integration/01-config-modes.sh tests/integration/07-store-mode.sh \
	tests/integration/06-audit-full.sh
