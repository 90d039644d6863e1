# tests/integration/m5s-sim.mk: m5s-sim, the reference MSGin5G Server of the north tests
TESTS += tests/integration/05-m5s-sim.sh
EXTRA_DIST += tests/integration/05-m5s-sim.sh
