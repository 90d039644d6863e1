# tests/integration/jose.mk: the JOSE protection profiles (issue 7) against an AS on an
# independent JOSE library (contrib/node/jose-as.js on npm jose), driven by jose_probe
check_PROGRAMS += tests/integration/jose_probe
tests_integration_jose_probe_SOURCES = tests/integration/jose_probe.c
tests_integration_jose_probe_LDADD = $(MGW_LIBS) $(DEP_LIBS)
JOSE_TESTS = tests/integration/06-jose-interop.sh
TESTS += $(JOSE_TESTS)
EXTRA_DIST += $(JOSE_TESTS) tests/integration/jose.mk contrib/node/jose-as.js
