#!/bin/sh
# 04 mqtt, uplink through a real mosquitto broker (TLS listeners, password file, ACL pattern
# rules on %u), with mosquitto_pub as the devices and m5s-sim as the M5S:
# - a device's message reaches m5s-sim as a schema-valid UEMessageDelivery from the UE bound
#   to the username the broker authenticated (a spoofed oriAddr is rewritten); MQTT 3.1.1
#   and QoS 0 devices too;
# - a device publishing on another device's up topic is refused by the broker's ACL (PUBACK
#   reason 135 Not authorized, "Denied PUBLISH" in the broker's log) and nothing of it
#   reaches the gateway or m5s-sim;
# - an authenticated username that is not in the registry, a malformed body and a payload
#   over mqtt.max_payload are each audited once and never forwarded; the gateway lives on;
# - a delivery status report on {prefix}/report/{username} reaches m5s-sim as a schema-valid
#   DeliveryStatusReport from the bound UE;
# - the same msgId twice is forwarded once; the audit log has no payload and no password;
# - a retained message is forwarded once: the copy the broker sends to a new subscription is
#   ignored;
# - a plain broker connection works only with mqtt.insecure: true and is announced.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
mqtt_init
device dev-1 pw-one
device dev-2 pw-two
device dev-9 pw-nine # authenticated by the broker, unknown to the gateway
# a plain listener for the last check (mqtt.insecure), anonymous, no ACL: labs only
PPORT=$(free_port)
BROKER_EXTRA="listener $PPORT 127.0.0.1
allow_anonymous true"
start_broker
make_gw_config "$T_DIR" "$(M5S_YAML)
$(MQTT_YAML '  max_payload: 4k')"
cat >>devices.yaml <<Y
- ue: ue-mqtt-2
  mqtt: { username: dev-2 }
Y
start_gw gw.log

# 1. a device message, with a spoofed originator: at m5s-sim from the bound UE, schema-valid
pub dev-1 pw-one up/dev-1 "$(body up-1 ',"oriAddr":{"addrType":"UE","addr":"ue-coap-1"}')"
grep -q 'received PUBACK (Mid: 1, RC:0)' pub.out || fail "dev-1 not acknowledged by the broker: $(cat pub.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="up-1"' || fail "up-1 never reached m5s-sim"
body_of sim.jsonl 0 'r["body"]["msgId"]=="up-1"' >up-1.json
[ "$(json_get up-1.json 'd["oriAddr"]')" = "{'addrType': 'UE', 'addr': 'ue-mqtt-1'}" ] ||
	fail "oriAddr is not the bound UE: $(cat up-1.json)"
[ "$(json_get up-1.json 'd["payload"]')" = "hi up-1" ] || fail "payload changed: $(cat up-1.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery' up-1.json
grep '"msgId":"up-1"' audit.jsonl | grep -q '"identity":{"kind":"mqtt","value":"dev-1"' ||
	fail "no audit record with the mqtt identity: $(grep up-1 audit.jsonl)"
ok "device message: at m5s-sim as a schema-valid UEMessageDelivery from ue-mqtt-1 (spoofed oriAddr rewritten)"

# 2. another device's up topic: the broker's ACL refuses it (shown), nothing arrives
pub dev-2 pw-two up/dev-1 "$(body acl-1)"
grep -q 'received PUBACK (Mid: 1, RC:135)' pub.out || fail "dev-2 on dev-1's topic not refused: $(cat pub.out)"
echo "# mosquitto_pub: $(grep 'RC:135' pub.out)"
wait_for_line broker.log "Denied PUBLISH from pub-dev-2-.*'$PREFIX/up/dev-1'" 5 || fail "the broker did not log the denial"
echo "# broker: $(grep 'Denied PUBLISH' broker.log | tail -n 1)"
# and its own topic works (the refusal was the ACL, not the account)
pub dev-2 pw-two up/dev-2 "$(body own-2)"
grep -q 'RC:0' pub.out || fail "dev-2 on its own topic: $(cat pub.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="own-2"' || fail "own-2 never reached m5s-sim"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="own-2" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-2"')" = 1 ] ||
	fail "own-2 not from ue-mqtt-2: $(grep own-2 sim.jsonl)"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="acl-1"')" = 0 ] || fail "the refused message reached m5s-sim"
grep -q '"acl-1"' audit.jsonl gw.log && fail "the refused message reached the gateway"
ok "dev-2 on dev-1's up topic: refused by the broker's ACL (PUBACK 135, Denied PUBLISH), never forwarded"

# 3. MQTT 3.1.1 and QoS 0 devices
pub dev-1 pw-one up/dev-1 "$(body v311-1)" -V 311
grep -q 'received PUBACK' pub.out || fail "3.1.1: $(cat pub.out)"
pub dev-1 pw-one up/dev-1 "$(body qos0-1)" -q 0
wait_records sim.jsonl 1 'r["body"]["msgId"]=="v311-1" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-1"' ||
	fail "v311-1 never reached m5s-sim"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="qos0-1"' || fail "qos0-1 never reached m5s-sim"
ok "an MQTT 3.1.1 device and a QoS 0 message: at m5s-sim"

# 4. refused at the gateway: audited once each, never forwarded
audits() { count audit.jsonl "$1"; }
before=$(audits '"cause":"UNKNOWN_DEVICE"')
pub dev-9 pw-nine up/dev-9 "$(body nine-1)"
grep -q 'RC:0' pub.out || fail "dev-9 (broker account) refused by the broker: $(cat pub.out)"
wait_for_line audit.jsonl '"value":"dev-9".*"UNKNOWN_DEVICE"|"UNKNOWN_DEVICE".*"value":"dev-9"' 10 ||
	fail "unknown username not audited"
[ "$(audits '"cause":"UNKNOWN_DEVICE"')" -eq $((before + 1)) ] || fail "unknown username audited more than once"
ok "username dev-9 (authenticated by the broker, not in the registry): audited UNKNOWN_DEVICE once"
pub dev-1 pw-one up/dev-1 '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"bad-1",'
wait_for_line audit.jsonl '"value":"dev-1".*"MALFORMED"' 10 || fail "malformed JSON not audited"
ok "malformed JSON: audited MALFORMED, dropped"
python3 -c 'import json; print(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "big-1", "payload": "x" * 5000}))' >big.json
pub dev-1 pw-one up/dev-1 @big.json
wait_for_line audit.jsonl '"value":"dev-1".*"TOO_LARGE"' 10 || fail "oversized payload not audited"
grep '"TOO_LARGE"' audit.jsonl | grep -q 'mqtt.max_payload' || fail "TOO_LARGE without its detail"
ok "payload over mqtt.max_payload: audited TOO_LARGE, dropped"
# still alive and serving
pub dev-1 pw-one up/dev-1 "$(body after-1)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="after-1"' || fail "the gateway stopped serving after the refusals"
for id in nine-1 bad-1 big-1; do
	[ "$(records sim.jsonl "isinstance(r[\"body\"], dict) and r[\"body\"].get(\"msgId\")==\"$id\"")" = 0 ] ||
		fail "$id reached m5s-sim"
done
ok "nothing refused reached m5s-sim; the gateway serves on"

# 5. a delivery status report from the device (report topic): at m5s-sim from the bound UE
pub dev-1 pw-one report/dev-1 '{"oriAddr":{"addrType":"UE","addr":"ue-mqtt-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"dl-77","delivSt":"REPT_DELY_SUCCESS"}'
grep -q 'RC:0' pub.out || fail "report refused by the broker: $(cat pub.out)"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-77"' ||
	fail "the report never reached m5s-sim"
body_of sim.jsonl 0 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-77"' >rep-1.json
[ "$(json_get rep-1.json 'd["oriAddr"]["addr"]')" = ue-mqtt-1 ] || fail "report not from ue-mqtt-1: $(cat rep-1.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport' rep-1.json
# dev-2 cannot report for dev-1 either
pub dev-2 pw-two report/dev-1 '{"oriAddr":{"addrType":"UE","addr":"ue-mqtt-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"dl-78","delivSt":"REPT_DELY_SUCCESS"}'
grep -q 'RC:135' pub.out || fail "dev-2 on dev-1's report topic not refused: $(cat pub.out)"
ok "report on $PREFIX/report/dev-1: at m5s-sim as a schema-valid DeliveryStatusReport from ue-mqtt-1; dev-2 refused there"

# 6. the same msgId twice: forwarded once
pub dev-1 pw-one up/dev-1 "$(body up-1)"
pub dev-1 pw-one up/dev-1 "$(body dup-end)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="dup-end"' || fail "dup-end never reached m5s-sim"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="up-1"')" = 1 ] || fail "up-1 forwarded twice"
ok "a repeated msgId: forwarded once"

# 7. a retained message: forwarded when published; the copy the broker sends for a new
# subscription (a new client id here) is ignored
pub dev-1 pw-one up/dev-1 "$(body ret-1)" -r
wait_records sim.jsonl 1 'r["body"]["msgId"]=="ret-1"' || fail "ret-1 never reached m5s-sim"

# 8. a broker without TLS only with mqtt.insecure: true, and loudly
stop_gw
sed -i "s|^  broker: .*|  broker: { host: 127.0.0.1, port: $PPORT }\n  insecure: true\n  client_id: gw-plain|" gw.yaml
start_gw gw.log
grep -q 'INSECURE broker connection to 127.0.0.1:'"$PPORT"' without TLS' gw.log || fail "plain broker connection not announced"
grep -q "connected as 'gw-plain' (MQTT 5, NO TLS" gw.log || fail "not connected without TLS"
pub dev-1 pw-one up/dev-1 "$(body plain-1)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="plain-1" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-1"' ||
	fail "plain-1 never reached m5s-sim"
ok "broker connection without TLS (mqtt.insecure: true): announced at start, serving"
wait_for_line gw.log "retained copy on '$PREFIX/up/dev-1' \(sent for a new subscription\): ignored" 5 ||
	fail "the retained copy was not ignored"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="ret-1"')" = 1 ] || fail "ret-1 forwarded twice"
ok "a retained message: forwarded once; the broker's copy for a new subscription ignored"

python3 -c '
import json
for l in open("audit.jsonl"): json.loads(l)
' || fail "audit.jsonl has a line that is not JSON"
grep -q 'pw-one\|pw-two\|pw-nine\|hi up-1\|xxxxxxxx' audit.jsonl gw.log && fail "a password or payload reached the audit or gateway log"
stop_gw
grep -q 'mqtt: connects 1,' gw.log || fail "no counters at stop"
echo "# $n checks; $(grep -o 'mqtt: connects.*' gw.log | tail -n 1)"
