# tests/integration/sms.mk: SMS devices through an SMSC (issue 5): the SMPP session on its
# own, then the gateway with contrib/smsc-sim as its SMSC and m5s-sim as its M5S
SMS_TESTS = tests/integration/02-smpp-conn.sh tests/integration/02-sms-mo.sh \
	tests/integration/02-sms-mt.sh tests/integration/02-sms-throttle.sh \
	tests/integration/02-sms-tls.sh tests/integration/02-sms-packed.sh \
	tests/integration/02-smpp-cmdlen.sh tests/integration/02-sms-tls-policy.sh
TESTS += $(SMS_TESTS)
EXTRA_DIST += $(SMS_TESTS) tests/lib/smsc-mini.js tests/lib/sms.sh
