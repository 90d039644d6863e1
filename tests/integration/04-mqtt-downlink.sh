#!/bin/sh
# 04 mqtt, downlink through a real mosquitto broker, mosquitto_sub as the devices:
# - an N3G delivery pushed by m5s-sim reaches the device's mosquitto_sub on
#   {prefix}/down/{username} (QoS 1) as a schema-valid N3gMessageDelivery; the broker's
#   PUBACK completes it: REPT_DELY_SUCCESS at m5s-sim;
# - the device's own delivery status report on {prefix}/report/{username} reaches m5s-sim
#   from its bound UE;
# - another device cannot read that down topic (the broker's ACL: nothing delivered to it);
# - nobody subscribed (MQTT 5 PUBACK "no matching subscribers"): the delivery is kept and
#   arrives once the device subscribes; an MQTT 3.1.1 device receives too.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
mqtt_init
device dev-1 pw-one
device dev-2 pw-two
start_broker
lport=$(free_port)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
$(MQTT_YAML)"
cat >>devices.yaml <<Y
- ue: ue-mqtt-2
  mqtt: { username: dev-2 }
Y
start_gw gw.log

# sub NAME USER PASSWORD TOPIC-SUFFIX [options]: a device's mosquitto_sub in the background
# (PID in $sub), printing each message on a line; waits for its SUBACK
sub() {
	_n=$1 _u=$2 _p=$3 _t=$4
	shift 4
	timeout 60 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u "$_u" -P "$_p" \
		-i "sub-$_n" -q 1 -d -t "$PREFIX/$_t" "$@" >"$_n.out" 2>&1 &
	sub=$!
	T_PIDS="$T_PIDS $sub"
	wait_for_line "$_n.out" 'Subscribed \(mid' 10 || fail "$_n never subscribed: $(cat "$_n.out")"
}
push() { # msgId UE
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 --to "UE:$2" --msg-id "$1" \
		--payload "to the device: $1" --report-required >"push-$1.txt" 2>&1 ||
		fail "push $1: $(cat "push-$1.txt")"
}
reported() { # msgId
	wait_records sim.jsonl 1 "r[\"path\"].endswith(\"deliver-report\") and r[\"body\"][\"msgId\"]==\"$1\" and r[\"body\"][\"delivSt\"]==\"REPT_DELY_SUCCESS\"" 20 ||
		fail "no REPT_DELY_SUCCESS for $1 at m5s-sim"
}
# body_in FILE MSGID OUT: the JSON message with that msgId printed by mosquitto_sub
body_in() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        o = json.loads(l)
        if o.get("msgId") == sys.argv[2]:
            json.dump(o, open(sys.argv[3], "w"))
            sys.exit(0)
sys.exit(1)
PY
}

# 1. dev-1 subscribed (MQTT 5), dev-2 tries to read dev-1's down topic
sub d1 dev-1 pw-one down/dev-1 -V 5
d1=$sub
sub d2 dev-2 pw-two down/dev-1 -V 5
d2=$sub
push dl-1 ue-mqtt-1
wait_for_line d1.out '"msgId":"dl-1"' 20 || fail "dl-1 never reached dev-1: $(cat d1.out)"
body_in d1.out dl-1 dl-1.json || fail "no JSON body for dl-1 in: $(cat d1.out)"
[ "$(json_get dl-1.json 'd["oriAddr"]')" = "{'addrType': 'AS', 'addr': 'as-1'}" ] &&
	[ "$(json_get dl-1.json 'd["payload"]')" = "to the device: dl-1" ] || fail "dl-1 body: $(cat dl-1.json)"
grep -q "received PUBLISH (d0, q1, r0, m[0-9]*, '$PREFIX/down/dev-1'" d1.out || fail "dl-1 not at QoS 1: $(cat d1.out)"
validate 'TS29538_MSGG_N3GDelivery.yaml#N3gMessageDelivery' dl-1.json
reported dl-1
ok "N3G delivery: at dev-1's mosquitto_sub (QoS 1, schema-valid N3gMessageDelivery); broker PUBACK -> REPT_DELY_SUCCESS"

# 2. the device's report reaches m5s-sim from its bound UE
pub dev-1 pw-one report/dev-1 '{"oriAddr":{"addrType":"UE","addr":"ue-mqtt-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"dl-1","delivSt":"REPT_DELY_FAILED","failureCause":"display broken"}'
grep -q 'RC:0' pub.out || fail "report refused: $(cat pub.out)"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-1" and r["body"]["delivSt"]=="REPT_DELY_FAILED" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-1"' ||
	fail "the device's report never reached m5s-sim: $(grep dl-1 sim.jsonl)"
body_of sim.jsonl 0 'r["path"].endswith("deliver-report") and r["body"]["delivSt"]=="REPT_DELY_FAILED"' >rep-dev.json
validate 'TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport' rep-dev.json
ok "the device's report on $PREFIX/report/dev-1: at m5s-sim from ue-mqtt-1 (schema-valid)"

# 3. dev-2 got nothing of dev-1's: the broker's read ACL
push dl-2 ue-mqtt-2
sleep 1
grep -q '"msgId":"dl-1"' d2.out && fail "dev-2 read dev-1's down topic: $(cat d2.out)"
echo "# dev-2's SUBACK on $PREFIX/down/dev-1: $(grep 'Subscribed' d2.out)"
ok "dev-2 subscribed to dev-1's down topic: nothing delivered to it (ACL pattern read $PREFIX/down/%u)"

# 4. dl-2 for dev-2, nobody subscribed on down/dev-2: kept (MQTT 5 "no matching
# subscribers"), arrives once dev-2 subscribes -- as an MQTT 3.1.1 device
wait_for_line gw.log 'dl-2: nobody subscribes to' 10 || fail "no 'nobody subscribes' for dl-2"
[ "$(records sim.jsonl 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-2"')" = 0 ] ||
	fail "a report for dl-2 before anyone had it"
kill $d2 2>/dev/null
sub d3 dev-2 pw-two down/dev-2 -V 311
wait_for_line d3.out '"msgId":"dl-2"' 30 || fail "dl-2 never reached dev-2: $(cat d3.out)"
reported dl-2
[ "$(grep -c '"msgId":"dl-2"' d3.out)" = 1 ] || fail "dl-2 delivered more than once: $(cat d3.out)"
ok "nobody subscribed: kept, delivered once dev-2 subscribed (MQTT 3.1.1), then REPT_DELY_SUCCESS"

[ "$(grep -c '"msgId":"dl-1"' d1.out)" = 1 ] || fail "dl-1 delivered more than once"
stop_gw
grep -Eq 'downlink [0-9]+ published 2 delivered [1-9][0-9]* no subscriber' gw.log ||
	fail "counters: $(grep -o 'mqtt: connects.*' gw.log | tail -n 1)"
echo "# $n checks; $(grep -o 'mqtt: connects.*' gw.log | tail -n 1)"
