# tests/integration/lab.mk: lab switches (issue 7): the TLS/DTLS key log
LAB_TESTS = tests/integration/06-lab-keylog.sh
TESTS += $(LAB_TESTS)
EXTRA_DIST += $(LAB_TESTS) tests/integration/lab.mk
