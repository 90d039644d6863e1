# tests/integration/store.mk: 07 store/restart
# store_stress drives a stream of enqueues through a real event loop; the script kills it
# with SIGKILL mid-stream and checks that every acknowledged message is stored once.
check_PROGRAMS += tests/integration/store_stress
tests_integration_store_stress_SOURCES = tests/integration/store_stress.c
tests_integration_store_stress_LDADD = $(MGW_LIBS) $(DEP_LIBS)
TESTS += tests/integration/07-store-kill9.sh
EXTRA_DIST += tests/integration/07-store-kill9.sh
# failed store writes (issue 12 item 1): disk full (lab.store_fault), store locked by another
# process (sqlite3) while a delivery is in flight
STORE_FAULT_TESTS = tests/integration/07-store-full.sh tests/integration/07-store-full-tmpfs.sh \
	tests/integration/07-store-locked.sh
TESTS += $(STORE_FAULT_TESTS)
EXTRA_DIST += $(STORE_FAULT_TESTS)
# the device registry in the store, managed with msgin5g-gwctl devices (issue 13)
TESTS += tests/integration/07-registry-gwctl.sh tests/integration/07-registry-live-mqtt-sms.sh
EXTRA_DIST += tests/integration/07-registry-gwctl.sh tests/integration/07-registry-live-mqtt-sms.sh
