#!/bin/sh
# 05 north, the gateway as client of the M5S (msgs-msgdelivery), with m5s-sim as the M5S
# and the testdev lab adapter as the device: messages arrive as schema-valid
# UEMessageDelivery from the bound UE over mutual TLS (h2, then HTTP/1.1); DELY_FAILED
# produces a report to the device; 503 + Retry-After is retried; 400 is final; downlink
# deliveries reach a subscribed device and report back, or expire into REPT_DELY_FAILED;
# an M5S certificate with the wrong name is refused and audited.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
cat >script.txt <<'S'
msgId=fail-* failed:no such application
msgId=retry-* status=503:1 times=2
msgId=bad-* status=400
* ok
S
start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem --script script.txt
sim=$SIM_PID
lport=$(free_port)
tport=$(free_port)
gwconf() { # http2
	make_gw_config "$T_DIR" "queue: { downlink_validity: 3s }
north:
  m5s:
    api_root: https://127.0.0.1:$SIM_PORT
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    http2: $1
    retry_min: 200ms
  listen: { port: $lport, insecure: true }
testdev: { port: $tport, insecure: true }"
}
gwconf true
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log

dev() { $TESTDEV send --port "$tport" --kind psk --value sensor-1 "$@"; }
j() { # msgId [extra members]
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"hi %s"%s}' "$1" "$1" "${2:-}"
}

# 1. a message, with a spoofed originator, arrives from the bound UE over h2 + mTLS
dev "$(j up-1 ',"oriAddr":{"addrType":"UE","addr":"ue-sms-1"}')" >out.txt || fail "device refused: $(cat out.txt)"
grep -q '^OK up-1 stored' out.txt || fail "not stored: $(cat out.txt)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="up-1"' || fail "up-1 never reached the M5S"
body_of sim.jsonl 0 'r["body"].get("msgId")=="up-1"' >up-1.json
[ "$(json_get up-1.json 'd["oriAddr"]["addr"]')" = ue-coap-1 ] || fail "oriAddr is not the bound UE: $(cat up-1.json)"
[ "$(json_get up-1.json 'd["payload"]')" = "hi up-1" ] || fail "payload changed"
[ "$(records sim.jsonl 'r["body"].get("msgId")=="up-1" and r["proto"]=="h2" and r["client_cn"]=="msgin5g-gw" and r["valid"]')" = 1 ] ||
	fail "not h2 + mTLS + valid: $(grep up-1 sim.jsonl)"
validate 'TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery' up-1.json
echo "ok 1 uplink over h2 + mTLS from the bound UE, schema-valid"

# 2. DELY_FAILED with a report requested: the device gets REPT_DELY_FAILED
$TESTDEV sub --port "$tport" --kind psk --value sensor-1 --expect 1 --timeout 20 >sub.txt &
subpid=$!
sleep 0.5
dev "$(j fail-1 ',"delivStReqInd":true')" >out.txt
wait $subpid || fail "no report reached the device: $(cat sub.txt)"
grep -q '"delivSt":"REPT_DELY_FAILED"' sub.txt || fail "report: $(cat sub.txt)"
grep -q '"msgId":"fail-1"' sub.txt || fail "report msgId: $(cat sub.txt)"
echo "ok 2 DELY_FAILED -> REPT_DELY_FAILED to the device"

# 3. 503 + Retry-After: 1 twice, then delivered; 4. 400 is final
dev "$(j retry-1)" "$(j bad-1)" >out.txt
wait_records sim.jsonl 3 'r["body"].get("msgId")=="retry-1"' 20 || fail "retry-1 not retried to success"
python3 - sim.jsonl <<'PY' || fail "retry timing/status wrong"
import json, sys, datetime
rs = [r for r in map(json.loads, open(sys.argv[1])) if r["body"].get("msgId") == "retry-1"]
assert [r["status"] for r in rs] == [503, 503, 200], [r["status"] for r in rs]
t = [datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in rs]
assert (t[1] - t[0]).total_seconds() >= 0.95 and (t[2] - t[1]).total_seconds() >= 0.95, t
PY
sleep 1.5
[ "$(records sim.jsonl 'r["body"].get("msgId")=="bad-1"')" = 1 ] || fail "a 400 was retried"
echo "ok 3 503 + Retry-After honoured; ok 4 400 is final"

# 5. downlink: a subscribed device gets it, ACKs, and the M5S gets REPT_DELY_SUCCESS
$TESTDEV sub --port "$tport" --kind psk --value sensor-1 --expect 1 --timeout 20 >sub2.txt &
subpid=$!
sleep 0.5
"$SIM" push --url "http://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" --insecure --http2 \
	--n3g --from AS:as-1 --to UE:ue-coap-1 --msg-id dl-1 --payload "to the sensor" --report-required >push.txt ||
	fail "push: $(cat push.txt)"
wait $subpid || fail "downlink never reached the device"
grep -q '"payload":"to the sensor"' sub2.txt || fail "downlink body: $(cat sub2.txt)"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"].get("msgId")=="dl-1" and r["body"].get("delivSt")=="REPT_DELY_SUCCESS"' ||
	fail "no REPT_DELY_SUCCESS at the M5S"
body_of sim.jsonl 0 'r["path"].endswith("deliver-report") and r["body"].get("msgId")=="dl-1"' >rep-1.json
validate 'TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport' rep-1.json
echo "ok 5 downlink delivered, REPT_DELY_SUCCESS to the M5S"

# 6. downlink to a device that is away: expires (3 s) into REPT_DELY_FAILED
"$SIM" push --url "http://127.0.0.1:$lport/msgg-l3gdelivery/v1/deliver-message" --insecure --http1 \
	--l3g --from AS:as-1 --to UE:ue-sms-1 --msg-id dl-2 --payload "never read" --report-required >push.txt ||
	fail "push: $(cat push.txt)"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"].get("msgId")=="dl-2" and r["body"].get("delivSt")=="REPT_DELY_FAILED"' 20 ||
	fail "no REPT_DELY_FAILED after expiry"
echo "ok 6 undelivered downlink expired into REPT_DELY_FAILED"

# 7. the same over HTTP/1.1
kill -TERM $gw; wait $gw; T_PIDS="$sim"
gwconf false
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
gw=$BG_PID
wait_gw_ready gw2.log
dev "$(j up-h1)" >out.txt
wait_records sim.jsonl 1 'r["body"].get("msgId")=="up-h1" and r["proto"]=="http/1.1"' || fail "not over HTTP/1.1"
echo "ok 7 uplink over HTTP/1.1"
kill -TERM $gw; wait $gw

# 8. an M5S whose certificate has the wrong name: refused, audited, nothing delivered
start_sim wrong --cert pki/m5s-wrongname.pem --key pki/m5s-wrongname.key --client-ca pki/ca.pem
SIM_PORT_WRONG=$SIM_PORT
sed -i "s#api_root: https://127.0.0.1:[0-9]*#api_root: https://127.0.0.1:$SIM_PORT_WRONG#" gw.yaml
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw3.log
gw=$BG_PID
wait_gw_ready gw3.log
dev "$(j up-wrong)" >out.txt
grep -q '^OK up-wrong stored' out.txt || fail "not stored"
wait_for_line audit.jsonl 'TLS_PEER' 20 || fail "no audit record of the refused M5S certificate"
sleep 1
[ "$(records wrong.jsonl)" = 0 ] || fail "a message reached an M5S with the wrong name"
echo "ok 8 wrong M5S name refused and audited; the message stays queued"
kill -TERM $gw; wait $gw; T_PIDS="$sim $SIM_PID"
