# tests/integration/store.mk: 07 store/restart
# store_stress drives a stream of enqueues through a real event loop; the script kills it
# with SIGKILL mid-stream and checks that every acknowledged message is stored once.
check_PROGRAMS += tests/integration/store_stress
tests_integration_store_stress_SOURCES = tests/integration/store_stress.c
tests_integration_store_stress_LDADD = $(MGW_LIBS) $(DEP_LIBS)
TESTS += tests/integration/07-store-kill9.sh
EXTRA_DIST += tests/integration/07-store-kill9.sh
