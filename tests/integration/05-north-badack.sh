#!/bin/sh
# 05 north, a 200 with an unreadable body (issue 12 item 6): the M5S answers the first 10
# requests 200 without a MessageDeliveryAck (m5s-sim "status=200": no body), then normally.
# A 200 we cannot read proves nothing: every one of the 20 messages must be sent again and
# end with a real ack (the old code took the bare 200 as delivered: 20 of 20 lost).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
tport=$(free_port)
printf '* status=200 times=10\n* ok\n' >sim.script
start_sim sim --script sim.script --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem
psk_devices 2
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
north:
  m5s:
    api_root: https://127.0.0.1:$SIM_PORT
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    retry_min: 100ms
    retry_max: 500ms
Y
echo "testdev: { port: $tport, insecure: true }" >>gw.yaml
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
$TESTDEV inject --port "$tport" --devices psk:s-1,psk:s-2 --count 10 --prefix b >inj.txt || fail "inject: $(cat inj.txt)"
grep -q 'acked 20 of 20' inj.txt || fail "inject: $(cat inj.txt)"
# a real ack: 200 answered by the default (no script line named in cause)
wait_records sim.jsonl 20 'r["status"]==200 and r["cause"] is None' 40 ||
	fail "$(records sim.jsonl 'r["status"]==200 and r["cause"] is None') of 20 messages got a real ack: a bare 200 was taken as delivered"
res=$(python3 - sim.jsonl <<'PY'
import json, sys, collections
bare, ok = collections.Counter(), collections.Counter()
for r in map(json.loads, open(sys.argv[1])):
    (ok if r["cause"] is None else bare)[r["body"]["msgId"]] += 1
print(len(bare), sum(bare.values()), len(ok), max(ok.values()))
PY
)
set -- $res
note "$1 messages got a bare 200 ($2 in all), $3 then a real ack (at most $4 each)"
[ "$3" -eq 20 ] && [ "$4" -eq 1 ] || fail "want 20 messages acked once each, have $3 (max $4)"
grep -q 'HTTP 200 with an unreadable ack' gw.log || fail "the unreadable 200 was not logged"
kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "PASS"
