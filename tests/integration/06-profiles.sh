#!/bin/sh
# 06 security, the protection profiles end to end (issue 7), with a CoAP device and an SMS
# phone, m5s-sim as the M5S and an AS on another JOSE library (npm jose,
# contrib/node/jose-as.js) checking and producing what crosses:
# - uplink to as-1 (profile sign): m5s-sim receives a JWS the AS verifies with the gateway's
#   exported JWKS, its claims naming the bound UE, the AS, the msgId and the original text;
# - uplink to as-2 (profile encrypt): a JWE of that JWS; the bytes m5s-sim recorded contain
#   no plaintext; the AS decrypts and verifies;
# - downlink signed by as-1 and signed+encrypted to the gateway by as-2: the CoAP device
#   and the phone get the plain text;
# - refused (403 with the cause, one audit record, nothing delivered): a tampered payload,
#   alg none, HS256 keyed with the public key, an expired iat, a JWS under another
#   msgId, and an unsigned payload for a device whose registry entry says protection: sign
#   (a transport device takes it); the same signed delivery
#   again is the idempotent retry: 204, delivered once;
# - keys rotated by msgin5g-gwctl and SIGHUP while messages flow: nothing lost, old
#   signatures still verify with the JWKS exported after rotation.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
command -v coap-client-openssl >/dev/null || skip "coap-client-openssl (libcoap3-bin) missing"
[ -d "$top_srcdir/contrib/node/node_modules/jose" ] || skip "npm jose missing (npm ci in contrib/node)"
CTL="$top_builddir/msgin5g-gwctl"
AS="$NODE $top_srcdir/contrib/node/jose-as.js"
cport=$(free_port udp)
"$CTL" keys gen --dir keys >gen.log 2>&1 || fail "keys gen: $(cat gen.log)"
"$CTL" keys export --dir keys >gw.jwks.json || fail "keys export"
$AS keygen asdir --name as-1 >/dev/null || fail "jose-as keygen as-1"
$AS keygen asdir --name as-2 >/dev/null || fail "jose-as keygen as-2"
make_gw_config "$T_DIR" "$(SMS_YAML '    - { number: "12346", dest: { addrType: AS, addr: as-2 } }
    - { number: "12347", dest: { addrType: AS, addr: as-3 } }
  reply_window: 0')
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
security:
  keys: keys
  applications:
    - { as: as-1, jwks: asdir/as-1.jwks.json, protection: sign }
    - { as: as-2, jwks: asdir/as-2.jwks.json, protection: encrypt }
  require_signed_downlink: false"
sed -i 's/allow: \[ "AS:as-1", "GROUP:g1" \]/allow: [ "AS:as-1", "AS:as-2" ]/' devices.yaml
# the phone needs more than its channel gives: signed both ways, whatever the AS's profile
sed -i 's/  sms: { msisdn: "491701234567" }/  sms: { msisdn: "491701234567" }\n  protection: sign/' devices.yaml
"$GW" -c "$T_DIR/gw.yaml" -t >check.out 2>&1 || fail "config: $(cat check.out)"
start_gw gw.log
grep -q 'security: [0-9]* keys' gw.log || fail "the key set was not loaded"
UP='r["path"].endswith("deliver-ue-message")'
upbody() { # MSGID -> the recorded payload in up-MSGID.txt
	wait_records sim.jsonl 1 "$UP and r[\"body\"][\"msgId\"]==\"$1\"" 20 || fail "$1 never reached m5s-sim"
	body_of sim.jsonl 0 "$UP and r[\"body\"][\"msgId\"]==\"$1\"" >"up-$1.json"
	json_get "up-$1.json" 'd["payload"]' >"up-$1.txt"
}
coap_up() { # MSGID AS TEXT
	printf '{"destAddr":{"addrType":"AS","addr":"%s"},"msgId":"%s","payload":"%s"}' "$2" "$1" "$3" >"$1.json"
	timeout 30 coap-client-openssl -B 20 -m post -t json -f "$1.json" -u sensor-1 -k secretPSK \
		"coaps://127.0.0.1:$cport/msg" >"$1.out" 2>&1
}

# 1. uplink, profile sign (CoAP) and encrypt (CoAP, SMS)
coap_up p-1 as-1 "signed by the gateway"
upbody p-1
[ "$(tr -cd . <up-p-1.txt | wc -c)" = 2 ] || fail "p-1 is not a JWS compact: $(cut -c1-80 up-p-1.txt)"
$AS verify --gw-jwks gw.jwks.json --ori UE:ue-coap-1 --dest AS:as-1 --msg-id p-1 up-p-1.txt >v1.json 2>v1.err ||
	fail "the AS could not verify p-1: $(cat v1.err)"
[ "$(json_get v1.json 'd["claims"]["payload"]')" = "signed by the gateway" ] || fail "p-1 claims: $(cat v1.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery' up-p-1.json
ok "uplink sign: a JWS at m5s-sim that npm jose verifies (bound UE, AS, msgId, exact text)"
coap_up p-2 as-2 "secret for as-2 only"
upbody p-2
[ "$(tr -cd . <up-p-2.txt | wc -c)" = 4 ] || fail "p-2 is not a JWE compact"
! grep -q 'secret for as-2 only' sim.jsonl || fail "the plaintext reached m5s-sim"
$AS verify --gw-jwks gw.jwks.json --as-keys asdir/as-2.private.jwks.json --ori UE:ue-coap-1 \
	--dest AS:as-2 --msg-id p-2 up-p-2.txt >v2.json 2>v2.err || fail "the AS could not open p-2: $(cat v2.err)"
[ "$(json_get v2.json 'd["claims"]["payload"]')" = "secret for as-2 only" ] || fail "p-2 claims: $(cat v2.json)"
[ "$(json_get v2.json 'd["encrypted"]')" = True ] || fail "p-2 not reported encrypted: $(cat v2.json)"
MO_DEST=12346 mo 491701234567 0 0 "$(gsm7 'SMS for as-2')" >/dev/null
wait_records sim.jsonl 1 "$UP and r[\"body\"][\"oriAddr\"][\"addr\"]==\"ue-sms-1\"" 20 || fail "the SMS never reached m5s-sim"
body_of sim.jsonl 0 "$UP and r[\"body\"][\"oriAddr\"][\"addr\"]==\"ue-sms-1\"" >up-sms.json
json_get up-sms.json 'd["payload"]' >up-sms.txt
mid=$(json_get up-sms.json 'd["msgId"]')
! grep -q 'SMS for as-2' sim.jsonl || fail "the SMS plaintext reached m5s-sim"
$AS verify --gw-jwks gw.jwks.json --as-keys asdir/as-2.private.jwks.json --ori UE:ue-sms-1 \
	--dest AS:as-2 --msg-id "$mid" up-sms.txt >v3.json 2>v3.err || fail "the AS could not open the SMS: $(cat v3.err)"
[ "$(json_get v3.json 'd["claims"]["payload"]')" = "SMS for as-2" ] || fail "SMS claims: $(cat v3.json)"
ok "uplink encrypt: CoAP and SMS arrive as JWE; no plaintext at m5s-sim; npm jose opens them"
MO_DEST=12347 mo 491701234567 0 0 "$(gsm7 'to a transport AS')" >/dev/null
wait_records sim.jsonl 1 "$UP and r[\"body\"][\"destAddr\"][\"addr\"]==\"as-3\"" 20 || fail "the SMS to as-3 never arrived"
body_of sim.jsonl 0 "$UP and r[\"body\"][\"destAddr\"][\"addr\"]==\"as-3\"" >up-as3.json
json_get up-as3.json 'd["payload"]' >up-as3.txt
$AS verify --gw-jwks gw.jwks.json --ori UE:ue-sms-1 --dest AS:as-3 --msg-id "$(json_get up-as3.json 'd["msgId"]')" \
	up-as3.txt >v4.json 2>v4.err || fail "the device floor (protection: sign) did not sign: $(cat v4.err)"
ok "a device with protection: sign is signed toward an AS whose profile is transport"

# 2. downlink signed (as-1 -> CoAP device), signed + encrypted (as-2 -> phone)
push() { # KIND(l3g|n3g) FROM TO MSGID PAYLOAD-FILE -> HTTP status in push-MSGID.txt
	"$SIM" push --url "https://127.0.0.1:$LPORT/msgg-$1delivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --"$1" --from "$2" --to "$3" --msg-id "$4" \
		--payload "$(cat "$5")" >"push-$4.txt" 2>&1
	sed -n 's/^HTTP \([0-9]*\).*/\1/p' "push-$4.txt" | head -n 1
}
$AS make --as-keys asdir/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-coap-1 --msg-id d-1 \
	--payload "signed by as-1" >d-1.jws || fail "make d-1"
[ "$(push n3g AS:as-1 UE:ue-coap-1 d-1 d-1.jws)" = 204 ] || fail "d-1 refused: $(cat push-d-1.txt)"
timeout 20 coap-client-openssl -s 4 -B 6 -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/inbox" >obs.out 2>&1
grep -q '"payload":"signed by as-1"' obs.out || fail "the CoAP device did not get the plain text: $(cat obs.out)"
$AS make --as-keys asdir/as-2.private.jwks.json --ori AS:as-2 --dest UE:ue-sms-1 --msg-id d-2 \
	--payload "encrypted by as-2" --encrypt --gw-jwks gw.jwks.json >d-2.jwe || fail "make d-2"
[ "$(push l3g AS:as-2 UE:ue-sms-1 d-2 d-2.jwe)" = 204 ] || fail "d-2 refused: $(cat push-d-2.txt)"
wait_count smsc.jsonl 1 'r.get("command")=="submit_sm" and r.get("status")==0 and bytes.fromhex(r["short_message_hex"])==b"encrypted by as-2"' 20 ||
	fail "the phone did not get the plain text"
grep '"decision":"accept"' audit.jsonl | grep '"msgId":"d-2"' | grep -q '"protection":"encrypt"' || fail "d-2 audit record has no protection encrypt"
# and the other way round: encrypted to the CoAP device, signed only to the phone
$AS make --as-keys asdir/as-2.private.jwks.json --ori AS:as-2 --dest UE:ue-coap-1 --msg-id d-4 \
	--payload "encrypted to the sensor" --encrypt --gw-jwks gw.jwks.json >d-4.jwe || fail "make d-4"
[ "$(push n3g AS:as-2 UE:ue-coap-1 d-4 d-4.jwe)" = 204 ] || fail "d-4 refused: $(cat push-d-4.txt)"
timeout 20 coap-client-openssl -s 4 -B 6 -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/inbox" >obs2.out 2>&1
grep -q '"payload":"encrypted to the sensor"' obs2.out || fail "the CoAP device did not get d-4: $(cat obs2.out)"
$AS make --as-keys asdir/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-sms-1 --msg-id d-5 \
	--payload "signed for the phone" >d-5.jws || fail "make d-5"
[ "$(push l3g AS:as-1 UE:ue-sms-1 d-5 d-5.jws)" = 204 ] || fail "d-5 refused: $(cat push-d-5.txt)"
wait_count smsc.jsonl 1 'r.get("command")=="submit_sm" and r.get("status")==0 and bytes.fromhex(r["short_message_hex"])==b"signed for the phone"' 20 ||
	fail "the phone did not get d-5"
ok "downlink: signed and signed+encrypted, to the CoAP device and to the phone, arrive as plain text, audited"

# 3. refusals: 403 with the cause, audited, nothing delivered
subs=$(count smsc.jsonl 'r.get("command")=="submit_sm"')
refused() { # MSGID FILE CAUSE
	st=$(push l3g AS:as-1 UE:ue-sms-1 "$1" "$2")
	[ "$st" = 403 ] || fail "$1: answered $st, not 403: $(cat "push-$1.txt")"
	grep -q "$3" "push-$1.txt" || fail "$1: the answer does not name $3: $(cat "push-$1.txt")"
	grep '"decision":"reject"' audit.jsonl | grep "\"msgId\":\"$1\"" | grep -q "\"cause\":\"$3\"" ||
		fail "$1: no audit record with cause $3"
}
M="$AS make --as-keys asdir/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-sms-1"
$M --msg-id r-1 --payload "tampered" >r-1.jws
python3 - <<'PY'
h, p, s = open("r-1.jws").read().strip().split(".")
import base64, json
pad = lambda x: x + "=" * (-len(x) % 4)
c = json.loads(base64.urlsafe_b64decode(pad(p)))
c["payload"] = "tampered!"
p2 = base64.urlsafe_b64encode(json.dumps(c, separators=(",", ":")).encode()).decode().rstrip("=")
open("r-1.jws", "w").write(".".join([h, p2, s]))
PY
refused r-1 r-1.jws BAD_SIGNATURE
$M --msg-id r-2 --payload x --attack none >r-2.jws 2>/dev/null
refused r-2 r-2.jws ALG_NOT_ALLOWED
$M --msg-id r-3 --payload x --attack hs256-pubkey --gw-jwks gw.jwks.json >r-3.jws 2>/dev/null || $M --msg-id r-3 --payload x --attack hs256-pubkey >r-3.jws
refused r-3 r-3.jws ALG_NOT_ALLOWED
$M --msg-id r-4 --payload x --iat $(( $(date +%s) - 3600 )) >r-4.jws
refused r-4 r-4.jws EXPIRED
$M --msg-id other-id --payload x >r-5.jws
refused r-5 r-5.jws CLAIM_MISMATCH
# signed with as-2's key but sent as from as-1 (the wrong key for that AS)
$AS make --as-keys asdir/as-2.private.jwks.json --ori AS:as-1 --dest UE:ue-sms-1 --msg-id r-8 --payload x >r-8.jws
refused r-8 r-8.jws UNKNOWN_KID
printf 'plain text' >r-6.txt
refused r-6 r-6.txt UNSIGNED
grep '"msgId":"r-6"' audit.jsonl | grep -q 'requires payloads signed' || fail "r-6: the refusal does not name the device floor"
# the same plain payload to the CoAP device (transport floor, require_signed_downlink off): taken
[ "$(push n3g AS:as-1 UE:ue-coap-1 r-7 r-6.txt)" = 204 ] || fail "plain downlink to a transport device refused: $(cat push-r-7.txt)"
# the same signed delivery again: the idempotent retry
$AS make --as-keys asdir/as-2.private.jwks.json --ori AS:as-2 --dest UE:ue-sms-1 --msg-id d-3 \
	--payload "once only" --encrypt --gw-jwks gw.jwks.json >d-3.jwe
[ "$(push l3g AS:as-2 UE:ue-sms-1 d-3 d-3.jwe)" = 204 ] || fail "d-3 refused"
[ "$(push l3g AS:as-2 UE:ue-sms-1 d-3 d-3.jwe)" = 204 ] || fail "d-3 again: $(cat push-d-3.txt)"
wait_count smsc.jsonl 1 'r.get("command")=="submit_sm" and bytes.fromhex(r["short_message_hex"])==b"once only"' 20 || fail "d-3 not delivered"
sleep 1
[ "$(count smsc.jsonl 'r.get("command")=="submit_sm" and bytes.fromhex(r["short_message_hex"])==b"once only"')" = 1 ] || fail "d-3 delivered twice"
[ "$(count smsc.jsonl 'r.get("command")=="submit_sm"')" = $((subs + 1)) ] || fail "a refused delivery reached the phone"
ok "tampered, alg none, HS256 confusion, expired, another msgId, unsigned: 403 + audit, not delivered; a retried delivery 204, delivered once"

# 4. rotation under load: SIGHUP after gwctl keys gen while messages flow (20 checked one
# by one, and a bulk of 300 counted per destination)
ctl "{\"cmd\":\"deliver_bulk\",\"count\":300,\"window\":10,\"source_addr\":\"491701234567\",\"destination_addr\":\"12346\",\"short_message_hex\":\"$(gsm7 'bulk')\"}" >bulk.json &
bulk=$!
for i in $(seq 1 20); do MO_DEST=12345 mo 491701234567 0 0 "$(gsm7 "rot $i")" >/dev/null; done &
mos=$!
"$CTL" keys gen --dir keys >gen2.log 2>&1 || fail "rotation: $(cat gen2.log)"
kill -HUP $gw
wait $mos
wait $bulk
is "$(cat bulk.json)" 'd["resp_ok"]==300' || fail "bulk MO: $(cat bulk.json)"
wait_for_line gw.log 'keys reloaded' 10 || fail "keys not reloaded on SIGHUP"
wait_records sim.jsonl 300 "$UP and r[\"body\"][\"oriAddr\"][\"addr\"]==\"ue-sms-1\" and r[\"body\"][\"destAddr\"][\"addr\"]==\"as-2\" and r[\"status\"]==200 and r[\"body\"][\"msgId\"].startswith(\"sms-\")" 60 ||
	fail "bulk messages lost across the rotation"
python3 - <<'PY' || fail "the bulk across the rotation: lost, duplicated or misrouted"
import json, collections
ids = collections.Counter()
for l in open("sim.jsonl"):
    r = json.loads(l)
    b = r["body"]
    if r["path"].endswith("deliver-ue-message") and b["oriAddr"]["addr"] == "ue-sms-1" and b["payload"].count(".") == 4:
        ids[(b["msgId"], b["destAddr"]["addr"])] += 1
as2 = [k for k in ids if k[1] == "as-2"]
assert len(as2) >= 301, len(as2)            # 300 bulk + the one of section 1
assert all(v == 1 for v in ids.values()), [k for k, v in ids.items() if v > 1][:3]
PY
"$CTL" keys export --dir keys >gw2.jwks.json || fail "export after rotation"
wait_records sim.jsonl 20 "$UP and r[\"body\"][\"oriAddr\"][\"addr\"]==\"ue-sms-1\" and r[\"body\"][\"destAddr\"][\"addr\"]==\"as-1\"" 30 ||
	fail "messages lost across the rotation"
python3 - <<'PY' >rot-ids.txt
import json
for l in open("sim.jsonl"):
    r = json.loads(l)
    b = r["body"]
    if r["path"].endswith("deliver-ue-message") and b["oriAddr"]["addr"] == "ue-sms-1" and b["destAddr"]["addr"] == "as-1":
        print(b["msgId"], b["payload"])
PY
[ "$(wc -l <rot-ids.txt)" = 20 ] || fail "$(wc -l <rot-ids.txt) messages, not 20, across the rotation"
texts=$(while read -r id jws; do printf '%s' "$jws" >r.jws
	$AS verify --gw-jwks gw2.jwks.json --ori UE:ue-sms-1 --dest AS:as-1 --msg-id "$id" r.jws | json_get /dev/stdin 'd["claims"]["payload"]' ||
	echo "UNVERIFIED $id"; done <rot-ids.txt | sort)
echo "$texts" | grep -q UNVERIFIED && fail "after rotation a signature did not verify: $texts"
[ "$(echo "$texts" | sort -u | wc -l)" = 20 ] || fail "texts across the rotation: $texts"
ok "rotation (gwctl keys gen + SIGHUP) under 320 messages: all arrive once at their AS; the 20 checked verify with the new JWKS"
stop_gw
echo "1..$n"
