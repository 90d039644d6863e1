#!/bin/sh
# 06 cose, MQTT: device object security (doc/interfaces.md 8.5) through a real mosquitto
# broker, mosquitto_pub / mosquitto_sub as the device's transport and tests/lib/cose-dev.py
# (Python cryptography, written from the RFCs) as the device's COSE; m5s-sim as the M5S:
# - an AES-CCM-16-64-128 COSE_Encrypt0 uplink (base64url in the JSON payload) arrives at
#   m5s-sim as the plaintext from the bound UE; audited accept, protection "cose";
# - the same publication again (same Partial IV: what a broker or anyone with the topic
#   can replay) is audited COSE_REPLAY and never forwarded; a flipped ciphertext bit
#   COSE_AUTH; a plain payload COSE_REQUIRED; the next genuine number still passes;
# - a downlink to the device arrives protected on its down topic and the device decrypts it
#   to the text m5s-sim sent: the broker never sees the plaintext;
# - the key is in no log, audit record or broker log.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
mqtt_init
COSE="python3 $top_srcdir/tests/lib/cose-dev.py"
$COSE hex AA >/dev/null 2>&1
[ $? -eq 77 ] && skip "python3-cryptography missing"
KEY=0b5e55ed0123456789abcdef00112233
IV=a0a1a2a3a4a5a6a7a8a9aaabac
KID=0c05
device dev-c pw-cose
start_broker
lport=$(free_port)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
$(MQTT_YAML)"
cat >>devices.yaml <<Y
- ue: ue-mqtt-cose
  mqtt: { username: dev-c }
  cose: { kid: "$KID", key: "$KEY", common_iv: "$IV" }
Y
start_gw gw.log
UP='r["path"].endswith("deliver-ue-message")'
at_sim() { records sim.jsonl "$UP and $1"; }
audited() { grep "\"cause\":\"$1\"" audit.jsonl | grep '"protection":"cose"' | grep -c '"ue":"ue-mqtt-cose"'; }
seal() { $COSE seal --key $KEY --iv $IV --kid $KID --seq "$1" "$2"; }
up() { # msgId payload
	pub dev-c pw-cose up/dev-c "$(printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"%s"}' "$1" "$2")"
	grep -q 'RC:0' pub.out || fail "the broker did not take $1: $(cat pub.out)"
}
wait_audit() { # CAUSE N
	_end=$(( $(date +%s) + 20 ))
	until [ "$(audited "$1")" -ge "$2" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "no audit record $1 (have $(audited "$1")): $(tail -n 2 audit.jsonl)"
		sleep 0.1
	done
}

# 1. a protected uplink arrives as its plaintext
U1=$(seal 1 "temperature 21.5")
up m-1 "$U1"
wait_records sim.jsonl 1 "$UP and r[\"body\"][\"msgId\"]==\"m-1\"" 20 || fail "m-1 never reached m5s-sim"
[ "$(at_sim 'r["body"]["msgId"]=="m-1" and r["body"]["payload"]=="temperature 21.5" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-cose"')" = 1 ] ||
	fail "m-1 is not the plaintext from ue-mqtt-cose: $(grep m-1 sim.jsonl)"
wait_audit OK 1
ok "COSE_Encrypt0 via the broker: at m5s-sim as the plaintext from ue-mqtt-cose, audited cose"

# 2. replayed (the same publication), tampered, plain
up m-1 "$U1"
wait_audit COSE_REPLAY 1
up m-2 "$($COSE tamper "$(seal 2 "temperature 99")")"
wait_audit COSE_AUTH 1
up m-3 "temperature in the clear"
wait_audit COSE_REQUIRED 1
up m-4 "$(seal 2 "temperature 22.0")"
wait_records sim.jsonl 1 "$UP and r[\"body\"][\"msgId\"]==\"m-4\"" 20 || fail "m-4 never reached m5s-sim"
[ "$(at_sim 'r["body"]["msgId"] in ("m-2","m-3")')" = 0 ] || fail "a refused message reached m5s-sim"
[ "$(at_sim 'r["body"]["msgId"]=="m-1"')" = 1 ] || fail "the replay reached m5s-sim"
[ "$(at_sim 'r["body"]["msgId"]=="m-4" and r["body"]["payload"]=="temperature 22.0"')" = 1 ] || fail "m-4 changed"
ok "replayed: COSE_REPLAY; tampered: COSE_AUTH; plain: COSE_REQUIRED; none forwarded; seq 2 still passes"

# 3. downlink: protected on the device's down topic, opened by the device
timeout 60 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u dev-c -P pw-cose \
	-i sub-dev-c -q 1 -d -V 5 -t "$PREFIX/down/dev-c" >sub.out 2>&1 &
sub=$!
T_PIDS="$T_PIDS $sub"
wait_for_line sub.out 'Subscribed \(mid' 10 || fail "the device never subscribed: $(cat sub.out)"
"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
	--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 --to UE:ue-mqtt-cose --msg-id dl-m1 \
	--payload "set point 19" --report-required >push.txt 2>&1 || fail "push: $(cat push.txt)"
wait_for_line sub.out '"msgId":"dl-m1"' 20 || fail "dl-m1 never reached the device: $(cat sub.out)"
p=$(python3 -c '
import json
for l in open("sub.out"):
    l = l.strip()
    if l.startswith("{") and json.loads(l).get("msgId") == "dl-m1":
        print(json.loads(l)["payload"])
') || fail "no body for dl-m1"
grep -q 'set point 19' sub.out broker.log && fail "the plaintext went through the broker"
got=$($COSE open --key $KEY --iv $IV "$p" 2>open.err) || fail "the device cannot open dl-m1: $(cat open.err)"
[ "$got" = "set point 19" ] || fail "the device decrypted '$got'"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-m1" and r["body"]["delivSt"]=="REPT_DELY_SUCCESS"' 20 ||
	fail "no REPT_DELY_SUCCESS for dl-m1"
ok "downlink: base64url COSE_Encrypt0 on the down topic, decrypted by the device; the broker saw no plaintext"
kill $sub 2>/dev/null; wait $sub 2>/dev/null

# 4. no key anywhere; counters at stop
stop_gw
for f in gw.log audit.jsonl broker.log sim.jsonl; do
	grep -qi "$KEY" "$f" && fail "the COSE key is in $f"
done
grep -q 'cose: uplink 2 opened, refused: required 1 malformed 0 kid 0 replay 1 auth 1 state 0; downlink 1 protected, 0 failed' gw.log ||
	fail "COSE counters at stop: $(grep 'cose:' gw.log)"
ok "the key is in no log, audit record or broker log; counters at stop"
echo "# $n checks"
