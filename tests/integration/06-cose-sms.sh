#!/bin/sh
# 06 cose, SMS: device object security (doc/interfaces.md 8.5) through an SMSC, with
# contrib/smsc-sim as the SMSC, m5s-sim as the M5S and tests/lib/cose-dev.py (Python
# cryptography, written from the RFCs) as the device's COSE:
# - MO: a COSE_Encrypt0 as base64url text (GSM 7-bit), and one as 8-bit data (its raw
#   bytes, which the adapter passes on base64-encoded), each ESME_ROK and at m5s-sim as the
#   plaintext from the bound UE;
# - the same deliver_sm again (an SMSC redelivery or a replay: same Partial IV) is refused
#   0x65, audited COSE_REPLAY, nothing new at m5s-sim; a flipped ciphertext bit 0x65
#   COSE_AUTH; plain text from the COSE device 0x65 COSE_REQUIRED;
# - MT: an L3G delivery to the device leaves as GSM 7-bit text (base64url is GSM-safe) that
#   the device decrypts to the pushed text; no plaintext reaches the SMSC;
# - the key is in no log, audit record or SMSC record.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
COSE="python3 $top_srcdir/tests/lib/cose-dev.py"
$COSE hex AA >/dev/null 2>&1
[ $? -eq 77 ] && skip "python3-cryptography missing"
KEY=5ec0de0123456789abcdef0011223344
IV=f0e1d2c3b4a5968778695a4b3c
KID=5a
DEV=491700000777
make_gw_config "$T_DIR" "$(SMS_YAML)"
cat >>devices.yaml <<Y
- ue: ue-sms-cose
  sms: { msisdn: "+$DEV" }
  cose: { kid: "$KID", key: "$KEY", common_iv: "$IV" }
Y
start_gw gw.log
UP='r["path"].endswith("deliver-ue-message")'
at_sim() { records sim.jsonl "$UP and $1"; }
audited() { grep "\"cause\":\"$1\"" audit.jsonl | grep '"protection":"cose"' | grep -c '"ue":"ue-sms-cose"'; }
seal() { $COSE seal --key $KEY --iv $IV --kid $KID --seq "$1" "$2"; }

# 1. base64url text as GSM 7-bit
U1=$(seal 1 "meter 17.5 kWh")
[ ${#U1} -le 160 ] || fail "one SMS cannot hold ${#U1} characters"
st=$(mo $DEV 0 0 "$(gsm7 "$U1")")
[ "$st" = 0 ] || fail "COSE MO (GSM 7-bit) answered $st"
wait_records sim.jsonl 1 "$UP and r[\"body\"].get(\"payload\")==\"meter 17.5 kWh\"" 20 ||
	fail "the plaintext never reached m5s-sim: $(tail -n 2 sim.jsonl)"
[ "$(at_sim 'r["body"]["payload"]=="meter 17.5 kWh" and r["body"]["oriAddr"]["addr"]=="ue-sms-cose"')" = 1 ] ||
	fail "not from ue-sms-cose"
[ "$(audited OK)" = 1 ] || fail "no accept record with protection cose"
ok "COSE MO as base64url GSM 7-bit text: ESME_ROK, at m5s-sim as the plaintext from ue-sms-cose"

# 2. the same deliver_sm again: replayed
st=$(mo $DEV 0 0 "$(gsm7 "$U1")")
[ "$st" = 101 ] || fail "a replayed MO answered $st, not 0x65"
[ "$(audited COSE_REPLAY)" = 1 ] || fail "the replay is not audited COSE_REPLAY: $(tail -n 2 audit.jsonl)"
sleep 1
[ "$(at_sim 'r["body"]["payload"]=="meter 17.5 kWh"')" = 1 ] || fail "the replay reached m5s-sim"
ok "the same Partial IV again: 0x65, audited COSE_REPLAY, nothing new at m5s-sim"

# 3. 8-bit data: the raw COSE bytes (not UTF-8: the adapter hands them on as base64)
RAW=$($COSE hex "$(seal 2 "valve closed")")
st=$(mo $DEV 4 0 "$RAW")
[ "$st" = 0 ] || fail "COSE MO (8-bit) answered $st"
wait_records sim.jsonl 1 "$UP and r[\"body\"].get(\"payload\")==\"valve closed\"" 20 ||
	fail "the 8-bit COSE MO never reached m5s-sim as its plaintext"
ok "COSE MO as 8-bit data (raw COSE bytes): ESME_ROK, at m5s-sim as the plaintext"

# 4. tampered; plain text
st=$(mo $DEV 0 0 "$(gsm7 "$($COSE tamper "$(seal 3 "forged reading")")")")
[ "$st" = 101 ] || fail "a tampered MO answered $st"
[ "$(audited COSE_AUTH)" = 1 ] || fail "tampering not audited COSE_AUTH"
st=$(mo $DEV 0 0 "$(gsm7 "plain text reading")")
[ "$st" = 101 ] || fail "a plain MO from the COSE device answered $st"
[ "$(audited COSE_REQUIRED)" = 1 ] || fail "the plain MO not audited COSE_REQUIRED"
sleep 1
[ "$(at_sim 'r["body"]["payload"] in ("forged reading","plain text reading")')" = 0 ] ||
	fail "a refused MO reached m5s-sim"
ok "tampered: 0x65 COSE_AUTH; plain text: 0x65 COSE_REQUIRED; audited, none forwarded"

# 5. MT: protected, GSM 7-bit text, opened by the device
"$SIM" push --url "https://127.0.0.1:$LPORT/msgg-l3gdelivery/v1/deliver-message" \
	--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --l3g --from AS:as-1 --to UE:ue-sms-cose --msg-id mt-c1 \
	--payload "open the valve at 6" >push.txt 2>&1 || fail "push: $(cat push.txt)"
wait_count smsc.jsonl 1 "r.get(\"command\")==\"submit_sm\" and r[\"destination_addr\"]==\"$DEV\"" 20 ||
	fail "no submit_sm to the COSE device"
python3 - "$DEV" >mt.txt <<'PY' || fail "the submit_sm is not one GSM 7-bit text: $(grep submit_sm smsc.jsonl)"
import json, sys
basic = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
s = [r for r in map(json.loads, open("smsc.jsonl"))
     if r.get("command") == "submit_sm" and r["destination_addr"] == sys.argv[1]]
assert len(s) == 1, len(s)
assert s[0]["data_coding"] == 0, s[0]["data_coding"]
print("".join(basic[b] for b in bytes.fromhex(s[0]["short_message_hex"])))
PY
grep -q 'valve' mt.txt smsc.jsonl && fail "the MT plaintext reached the SMSC"
got=$($COSE open --key $KEY --iv $IV "$(cat mt.txt)" 2>open.err) ||
	fail "the device cannot open the MT: $(cat open.err): $(cat mt.txt)"
[ "$got" = "open the valve at 6" ] || fail "the device decrypted '$got'"
ok "MT: GSM 7-bit base64url of a COSE_Encrypt0, decrypted by the device to the pushed text"

# 6. no key anywhere
stop_gw
for f in gw.log audit.jsonl smsc.jsonl sim.jsonl; do
	grep -qi "$KEY" "$f" && fail "the COSE key is in $f"
done
grep -q 'cose: uplink 2 opened, refused: required 1 malformed 0 kid 0 replay 1 auth 1 state 0; downlink 1 protected, 0 failed' gw.log ||
	fail "COSE counters at stop: $(grep 'cose:' gw.log)"
T_PIDS="$SIM_PID $SMSC_PID"
ok "the key is in no log, audit record or SMSC record; counters at stop"
echo "# $n checks"
