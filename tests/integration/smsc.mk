# tests/integration/smsc.mk: the SMSC simulator (contrib/smsc-sim) itself, with the npm smpp
# client as the ESME (skips without node or contrib/node/node_modules/smpp)
TESTS += tests/integration/02-smsc-sim.sh
EXTRA_DIST += tests/integration/02-smsc-sim.sh tests/integration/smsc.mk
