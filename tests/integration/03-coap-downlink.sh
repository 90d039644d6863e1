#!/bin/sh
# 03 coap, downlink: N3G deliveries pushed by m5s-sim reach a device that observes /inbox
# (coap-client-openssl -s), as confirmable notifications with a schema-valid
# N3gMessageDelivery body; the device's ACK completes them and a REPT_DELY_SUCCESS report
# reaches m5s-sim. A device that is away keeps its messages, in order, until it observes
# again; also when the gateway is killed (-9) in between.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
lport=$(free_port)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  ack_timeout: 500ms
  max_retransmit: 2"
start_gw() { # LOG
	log=$1
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"$log"
	gw=$BG_PID
	wait_gw_ready "$log"
}
start_gw gw.log

# observe NAME SECONDS: a device observing /inbox in the background (its PID in $obs)
observe() {
	_before=$(grep -c 'observing /inbox' "$log")
	timeout $(($2 + 10)) $CC -s "$2" -B "$2" -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/inbox" \
		>"$1.out" 2>"$1.err" &
	obs=$!
	T_PIDS="$T_PIDS $obs"
	_end=$(( $(date +%s) + 10 ))
	until [ "$(grep -c 'observing /inbox' "$log")" -gt "$_before" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "device never observed: $(cat "$1.err")"
		sleep 0.1
	done
}
push() { # msgId
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 --to UE:ue-coap-1 --msg-id "$1" \
		--payload "to the device: $1" --report-required >"push-$1.txt" 2>&1 ||
		fail "push $1: $(cat "push-$1.txt")"
}
# wait_note FILE MSGID: the observer printed the notification for MSGID
wait_note() {
	_end=$(( $(date +%s) + ${3:-20} ))
	until grep -q "\"msgId\":\"$2\"" "$1"; do
		[ "$(date +%s)" -le "$_end" ] || fail "$2 never reached the device ($1: $(cat "$1"))"
		sleep 0.1
	done
}
reported() { # msgId -> wait for its REPT_DELY_SUCCESS at m5s-sim
	wait_records sim.jsonl 1 "r[\"path\"].endswith(\"deliver-report\") and r[\"body\"][\"msgId\"]==\"$1\" and r[\"body\"][\"delivSt\"]==\"REPT_DELY_SUCCESS\"" 20 ||
		fail "no REPT_DELY_SUCCESS for $1 at m5s-sim"
}

# 1. an observing device gets a delivery; its ACK makes the success report
observe obs1 60
push dl-1
wait_note obs1.out dl-1
reported dl-1
python3 - <<'PY' || fail "notification body"
import json, re
text = open("obs1.out").read()
dec = json.JSONDecoder()
bodies, i = [], 0
while i < len(text):
    if text[i] == "{":
        o, j = dec.raw_decode(text, i); bodies.append(o); i = j
    else:
        i += 1
b = [o for o in bodies if o.get("msgId") == "dl-1"][0]
assert b["oriAddr"] == {"addrType": "AS", "addr": "as-1"}, b
assert b["payload"] == "to the device: dl-1", b
json.dump(b, open("note-1.json", "w"))
PY
validate 'TS29538_MSGG_N3GDelivery.yaml#N3gMessageDelivery' note-1.json
ok "observing device: notified (schema-valid N3gMessageDelivery), ACK -> REPT_DELY_SUCCESS at m5s-sim"

# 1b. a message larger than one datagram goes block-wise (Block2): the device gets it whole
big=$(python3 -c 'print("".join(chr(0x61 + i % 26) for i in range(2000)))')
"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
	--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 --to UE:ue-coap-1 --msg-id dl-big \
	--payload "$big" --report-required >push-dl-big.txt 2>&1 || fail "push dl-big: $(cat push-dl-big.txt)"
wait_note obs1.out dl-big
reported dl-big
python3 - "$big" <<'PY' || fail "dl-big arrived cut: $(tail -c 300 obs1.out)"
import json, sys
text = open("obs1.out").read()
i = text.index('{"oriAddr"', text.index('"dl-1"'))
b = json.JSONDecoder().raw_decode(text, i)[0]
assert b["msgId"] == "dl-big" and b["payload"] == sys.argv[1], (b["msgId"], len(b["payload"]))
PY
ok "2,000-byte payload: notification block-wise (Block2), arrived whole, REPT_DELY_SUCCESS"

# 2. the device goes away: two messages wait, in order, until it observes again
kill $obs 2>/dev/null; wait $obs 2>/dev/null
push dl-2
push dl-3
sleep 3
[ "$(records sim.jsonl 'r["path"].endswith("deliver-report") and r["body"]["msgId"] in ("dl-2","dl-3")')" = 0 ] ||
	fail "a report for a device that is away"
observe obs2 60
wait_note obs2.out dl-2
wait_note obs2.out dl-3
reported dl-2
reported dl-3
python3 -c '
t = open("obs2.out").read()
assert t.index("\"dl-2\"") < t.index("\"dl-3\""), "out of order"
' || fail "dl-2 and dl-3 out of order: $(cat obs2.out)"
[ "$(grep -o '"msgId":"dl-1"' obs2.out | wc -l)" = 0 ] || fail "dl-1 delivered twice"
ok "device away: dl-2 and dl-3 kept, delivered in order when it observed again"

# 3. away, and the gateway killed -9 in between: still delivered once it is back
kill $obs 2>/dev/null; wait $obs 2>/dev/null
push dl-4
sleep 1
kill -9 $gw; wait $gw 2>/dev/null
start_gw gw2.log
observe obs3 60
wait_note obs3.out dl-4 30
reported dl-4
ok "device away across a gateway kill -9: dl-4 delivered when it came back"
[ "$(records sim.jsonl 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-4"')" = 1 ] ||
	fail "dl-4 reported more than once"

# 4. a device that asks for CBOR (Accept: 60) gets the notification as CBOR
kill $obs 2>/dev/null; wait $obs 2>/dev/null
_before=$(grep -c 'observing /inbox' "$log")
timeout 40 $CC -s 30 -B 30 -A cbor -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/inbox" >obs4.out 2>obs4.err &
obs=$!
T_PIDS="$T_PIDS $obs"
_end=$(( $(date +%s) + 10 ))
until [ "$(grep -c 'observing /inbox' "$log")" -gt "$_before" ]; do
	[ "$(date +%s)" -le "$_end" ] || fail "CBOR device never observed: $(cat obs4.err)"
	sleep 0.1
done
push dl-5
_end=$(( $(date +%s) + 20 ))
until grep -aq 'dl-5' obs4.out; do
	[ "$(date +%s)" -le "$_end" ] || fail "dl-5 never reached the CBOR device"
	sleep 0.1
done
reported dl-5
python3 - <<'PY' || fail "the CBOR notification is not CBOR: $(od -c obs4.out | head)"
b = open("obs4.out", "rb").read()
i = b.index(b"dl-5")
# the notification is one CBOR map: find its start after the initial JSON "{}" answer
start = b.index(b"{}") + 2 if b.startswith(b"{}") else 0
assert 0xa0 <= b[start] <= 0xbf, hex(b[start])
assert b"msgId" in b[start:] and b"to the device: dl-5" in b[start:]
PY
ok "Accept: cbor: the notification is a CBOR map, delivered and reported"

kill $obs 2>/dev/null; wait $obs 2>/dev/null
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
