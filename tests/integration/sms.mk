# tests/integration/sms.mk: SMS devices through an SMSC (issue 5, in progress)
SMS_TESTS = tests/integration/02-smpp-conn.sh
TESTS += $(SMS_TESTS)
EXTRA_DIST += $(SMS_TESTS) tests/lib/smsc-mini.js
