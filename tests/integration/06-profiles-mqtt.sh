#!/bin/sh
# 06 security, the protection profiles with an MQTT device (issue 7; 06-profiles does CoAP
# and SMS): through a real mosquitto, an uplink to as-1 (sign) reaches m5s-sim as a JWS and
# one to as-2 (encrypt) as a JWE without plaintext, both opened by npm jose
# (contrib/node/jose-as.js); downlink signed by as-1 and signed+encrypted by as-2 reach the
# device's mosquitto_sub as plain text; a tampered one is refused 403 and never published.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
mqtt_init
NODE=${NODE:-node}
command -v "$NODE" >/dev/null || skip "node missing"
[ -d "$top_srcdir/contrib/node/node_modules/jose" ] || skip "npm jose missing (npm ci in contrib/node)"
CTL="$top_builddir/msgin5g-gwctl"
AS="$NODE $top_srcdir/contrib/node/jose-as.js"
device dev-1 pw-one
start_broker
lport=$(free_port)
"$CTL" keys gen --dir keys >gen.log 2>&1 || fail "keys gen: $(cat gen.log)"
"$CTL" keys export --dir keys >gw.jwks.json || fail "keys export"
$AS keygen asdir --name as-1 >/dev/null && $AS keygen asdir --name as-2 >/dev/null || fail "jose-as keygen"
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
$(MQTT_YAML)
security:
  keys: keys
  applications:
    - { as: as-1, jwks: asdir/as-1.jwks.json, protection: sign }
    - { as: as-2, jwks: asdir/as-2.jwks.json, protection: encrypt }"
start_gw gw.log
UP='r["path"].endswith("deliver-ue-message")'

# 1. uplink: sign and encrypt
for p in "m-1 as-1" "m-2 as-2"; do
	set -- $p
	printf '{"destAddr":{"addrType":"AS","addr":"%s"},"msgId":"%s","payload":"mqtt text %s"}' "$2" "$1" "$1" >"$1.json"
	pub dev-1 pw-one up/dev-1 "@$1.json" || fail "publish $1: $(cat pub.out)"
	wait_records sim.jsonl 1 "$UP and r[\"body\"][\"msgId\"]==\"$1\"" 20 || fail "$1 never reached m5s-sim"
	body_of sim.jsonl 0 "$UP and r[\"body\"][\"msgId\"]==\"$1\"" >"up-$1.json"
	json_get "up-$1.json" 'd["payload"]' >"up-$1.txt"
	$AS verify --gw-jwks gw.jwks.json --as-keys "asdir/$2.private.jwks.json" --ori UE:ue-mqtt-1 \
		--dest "AS:$2" --msg-id "$1" "up-$1.txt" >"v-$1.json" 2>"v-$1.err" || fail "$1: $(cat "v-$1.err")"
	[ "$(json_get "v-$1.json" 'd["claims"]["payload"]')" = "mqtt text $1" ] || fail "$1 claims: $(cat "v-$1.json")"
done
[ "$(tr -cd . <up-m-1.txt | wc -c)" = 2 ] || fail "m-1 is not a JWS"
[ "$(tr -cd . <up-m-2.txt | wc -c)" = 4 ] || fail "m-2 is not a JWE"
! grep -q 'mqtt text m-2' sim.jsonl || fail "the plaintext of m-2 reached m5s-sim"
ok "MQTT uplink: sign (JWS) and encrypt (JWE, no plaintext at m5s-sim), opened by npm jose"

# 2. downlink: signed by as-1, signed+encrypted by as-2; a tampered one refused
timeout 60 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u dev-1 -P pw-one \
	-i sub-prof -q 1 -d -t "$PREFIX/down/dev-1" -V 5 >sub.out 2>&1 &
T_PIDS="$T_PIDS $!"
wait_for_line sub.out 'Subscribed \(mid' 10 || fail "never subscribed: $(cat sub.out)"
dpush() { # FROM MSGID FILE -> HTTP status
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" --cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key \
		--n3g --from "$1" --to UE:ue-mqtt-1 --msg-id "$2" --payload "$(cat "$3")" >"push-$2.txt" 2>&1
	sed -n 's/^HTTP \([0-9]*\).*/\1/p' "push-$2.txt" | head -n 1
}
$AS make --as-keys asdir/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-mqtt-1 --msg-id d-1 --payload "signed to mqtt" >d-1.jws
$AS make --as-keys asdir/as-2.private.jwks.json --ori AS:as-2 --dest UE:ue-mqtt-1 --msg-id d-2 \
	--payload "encrypted to mqtt" --encrypt --gw-jwks gw.jwks.json >d-2.jwe
[ "$(dpush AS:as-1 d-1 d-1.jws)" = 204 ] || fail "d-1: $(cat push-d-1.txt)"
[ "$(dpush AS:as-2 d-2 d-2.jwe)" = 204 ] || fail "d-2: $(cat push-d-2.txt)"
wait_for_line sub.out '"payload":"signed to mqtt"' 20 || fail "d-1 never reached the device: $(cat sub.out)"
wait_for_line sub.out '"payload":"encrypted to mqtt"' 20 || fail "d-2 never reached the device: $(cat sub.out)"
sed 's/\.[A-Za-z0-9_-]\{4\}$/.AAAA/' d-1.jws >d-3.jws
[ "$(dpush AS:as-1 d-3 d-3.jws)" = 403 ] || fail "a tampered JWS was not refused: $(cat push-d-3.txt)"
sleep 1
! grep -q '"msgId":"d-3"' sub.out || fail "the tampered delivery was published"
ok "MQTT downlink: signed and signed+encrypted arrive as plain text; a tampered JWS 403, never published"
stop_gw
echo "1..$n"
