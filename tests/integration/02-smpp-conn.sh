#!/bin/sh
# 02 sms, the SMPP session layer of the SMS adapter (src/adapter/sms/smpp_conn.c) against a
# real SMPP stack (npm smpp, tests/lib/smsc-mini.js), driven by tests/integration/smpp_probe:
# bind_transceiver, submit_sm with the window, ESME_RTHROTTLED handed back to the caller,
# an MO deliver_sm answered, orderly unbind; a wrong password is refused and retried later.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
node=${NODE:-node}
command -v "$node" >/dev/null || skip "node missing"
[ -d "$top_srcdir/contrib/node/node_modules/smpp" ] || skip "npm smpp missing (npm ci in contrib/node)"
PROBE="$top_builddir/tests/integration/smpp_probe"
bg "$node" "$top_srcdir/tests/lib/smsc-mini.js" "$T_DIR/smsc.port" "$T_DIR/smsc.jsonl" 1 2>smsc.log
wait_for_line smsc.port '^[0-9]+' 10 || fail "SMSC did not start: $(cat smsc.log)"
port=$(cat smsc.port)
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }

"$PROBE" 127.0.0.1 "$port" gw secret 3 3 >probe.out 2>probe.err || fail "probe: $(cat probe.out probe.err)"
grep -q '^bound$' probe.out || fail "not bound: $(cat probe.out)"
ok "bind_transceiver accepted"
grep -q '^submit 1 0x00000058 -$' probe.out || fail "throttling not handed back: $(cat probe.out)"
grep -q '^submit 2 0x00000000 m1$' probe.out && grep -q '^submit 3 0x00000000 m2$' probe.out ||
	fail "submit_sm_resp message ids: $(cat probe.out)"
ok "submit_sm: ESME_RTHROTTLED handed back, then message ids m1, m2"
grep -q '"text":"probe-2"' smsc.jsonl && grep -q '"registered_delivery":1' smsc.jsonl ||
	fail "submit_sm fields at the SMSC: $(cat smsc.jsonl)"
grep -q '^deliver 1 491701234567 12345 0x04 6d6f2d31$' probe.out || fail "MO deliver_sm: $(cat probe.out)"
wait_for_line smsc.jsonl '"cmd":"deliver_sm_resp","status":0' 5 || fail "no deliver_sm_resp"
ok "MO deliver_sm decoded and answered"
wait_for_line smsc.jsonl '"cmd":"unbind"' 5 || fail "no orderly unbind"
ok "unbind on stop"

# a wrong password: refused, never bound, retried with back-off, nothing answered
"$PROBE" 127.0.0.1 "$port" gw wrong 1 2 >bad.out 2>bad.err && fail "bound with a wrong password"
grep -q '^bound$' bad.out && fail "bound with a wrong password"
grep -q 'bind refused (command_status 0x0000000e)' bad.err || fail "refusal not logged: $(cat bad.err)"
ok "wrong password: bind refused (ESME_RINVPASWD), not bound"
echo "# $n checks"
