#!/bin/sh
# 03 coap, segmented downlink: an N3G message the M5S sends in three segments (out of order)
# reaches the observing CoAP device as ONE notification, payloads joined in segNumb order,
# with the first segment's msgId; the success report names that msgId. A set that stays
# incomplete past queue.downlink_validity ends with REPT_DELY_FAILED "SEGMENTS_MISSING", and
# its segment never reaches the device.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
lport=$(free_port)
make_gw_config "$T_DIR" "queue: { downlink_validity: 4s }
$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log

timeout 40 $CC -s 30 -B 30 -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/inbox" >obs.out 2>obs.err &
T_PIDS="$T_PIDS $!"
wait_for_line gw.log 'observing /inbox' 10 || fail "device never observed: $(cat obs.err)"

seg() { # msgId segId numb payload extra-segParams [extra members]
	printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-coap-1"},"msgId":"%s","payload":"%s","segInd":true,"segParams":{"segId":"%s","segNumb":%s%s}%s}' \
		"$1" "$4" "$2" "$3" "$5" "${6:-}" >"seg-$1.json"
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --body-file "seg-$1.json" >"push-$1.txt" 2>&1 || fail "push $1: $(cat "push-$1.txt")"
}
# 1. three segments, sent 2, 1, 3
seg m-2 set-1 2 "BBBB-" ''
seg m-1 set-1 1 "AAAA-" ',"totalSegCount":3' ',"delivStReqInd":true'
seg m-3 set-1 3 "CCCC" ',"lastSegFlag":true'
_end=$(( $(date +%s) + 20 ))
until grep -q 'AAAA-BBBB-CCCC' obs.out; do
	[ "$(date +%s)" -le "$_end" ] || fail "the joined message never reached the device: $(cat obs.out)"
	sleep 0.1
done
python3 - <<'PY' || fail "notification: $(cat obs.out)"
import json
text = open("obs.out").read()
dec, bodies, i = json.JSONDecoder(), [], 0
while i < len(text):
    if text[i] == "{":
        o, i = dec.raw_decode(text, i); bodies.append(o)
    else:
        i += 1
notes = [b for b in bodies if b]
assert len(notes) == 1, notes
b = notes[0]
assert b["msgId"] == "m-1" and b["payload"] == "AAAA-BBBB-CCCC", b
assert "segInd" not in b and "segParams" not in b, b
json.dump(b, open("joined.json", "w"))
PY
validate 'TS29538_MSGG_N3GDelivery.yaml#N3gMessageDelivery' joined.json
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="m-1" and r["body"]["delivSt"]=="REPT_DELY_SUCCESS"' 20 ||
	fail "no REPT_DELY_SUCCESS for m-1"
ok "three segments (sent 2, 1, 3) reach the device as one message, payloads in order; report for m-1"

# 2. an incomplete set: REPT_DELY_FAILED SEGMENTS_MISSING after the validity, nothing delivered
seg x-1 set-2 1 "XXXX" ',"totalSegCount":2' ',"delivStReqInd":true'
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="x-1" and r["body"]["delivSt"]=="REPT_DELY_FAILED" and r["body"]["failureCause"].startswith("SEGMENTS_MISSING")' 20 ||
	fail "no SEGMENTS_MISSING report for x-1: $(grep x-1 sim.jsonl)"
grep -q 'XXXX' obs.out && fail "a lone segment reached the device"
ok "incomplete set: REPT_DELY_FAILED SEGMENTS_MISSING, the segment never delivered"

# 3. a segment whose count contradicts its set is refused on its own
seg y-1 set-3 1 "YYYY" ',"totalSegCount":2'
seg y-2 set-3 2 "ZZZZ" ',"totalSegCount":5,"lastSegFlag":true' ',"delivStReqInd":true'
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="y-2" and r["body"]["failureCause"].startswith("SEGMENT_MISMATCH")' 20 ||
	fail "no SEGMENT_MISMATCH report for y-2: $(grep y-2 sim.jsonl)"
grep -q 'ZZZZ' obs.out && fail "a contradicting segment reached the device"
ok "a segment whose totalSegCount contradicts its set: REPT_DELY_FAILED SEGMENT_MISMATCH"

kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
