#!/bin/sh
# 02 sms, MT and receipts: L3G deliveries pushed by m5s-sim to the gateway's north server
# reach the SMSC simulator as submit_sm from source_addr to the device's MSISDN:
# - 400 GSM-7 characters: 3 parts, data_coding 0, esm_class UDHI, UDH 05 00 03 ref 03 seq,
#   one septet per octet, registered_delivery 1; their text joined is the payload;
# - 150 UCS-2 characters: 3 parts (67 + 67 + 16 units), data_coding 8, same UDH scheme;
# - a binary appId (sms.ports, binary): base64 payload sent as 8-bit data with the port TLVs;
# - receipts for every part make exactly one REPT_DELY_SUCCESS at m5s-sim (none before the
#   last part's receipt), schema-valid; one UNDELIV part makes REPT_DELY_FAILED naming it;
# - a receipt for an id never submitted, and a receipt from another number than the
#   message went to, are dropped with an audit record: no report reaches m5s-sim;
# - no receipt within sms.receipt_wait makes REPT_DELY_FAILED RECEIPT_TIMEOUT;
# - a reply from the device to source_addr within sms.reply_window goes to the AS that wrote
#   to it (not to the route); after the window, to the route again.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
make_gw_config "$T_DIR" "$(SMS_YAML '  reply_window: 4s
  receipt_wait: 8s
  ports: [ { appId: bin-app, port: 16001, binary: true } ]')"
start_gw gw.log
DEV=491701234567
SUB='r.get("command")=="submit_sm"'
REP='r["path"].endswith("deliver-report")'

# parts MSGID-TEXT-PREFIX: check the submit_sm of one message (python, prints a summary)
check_parts() { # DCS TEXT NPARTS NAME
	python3 - "$1" "$2" "$3" "$4" <<'PY' || fail "$4: submit_sm parts are wrong"
import json, sys
dcs, text, nparts, name = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
basic = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
ext = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€"}
subs = [r for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") == 0]
# the parts of this message: the last nparts accepted ones
subs = subs[-nparts:]
refs = set()
out = ""
for i, s in enumerate(subs):
    sm = bytes.fromhex(s["short_message_hex"])
    assert s["destination_addr"] == "491701234567", s
    assert s["source_addr"] == "12345", s
    assert s["data_coding"] == dcs, (name, s["data_coding"])
    assert s["esm_class"] & 0x40, "no UDHI"
    assert s["registered_delivery"] == 1, "registered_delivery"
    assert sm[:3] == bytes([5, 0, 3]), sm[:6].hex()
    assert sm[4] == nparts and sm[5] == i + 1, ("total/seq", sm[:6].hex())
    refs.add(sm[3])
    body = sm[6:]
    if dcs == 8:
        assert len(body) <= 134
        out += body.decode("utf-16-be")
    else:
        assert len(body) <= 153, len(body)
        assert body[-1] != 0x1b, "an escape split across parts"
        j = 0
        while j < len(body):
            if body[j] == 0x1b:
                out += ext[body[j + 1]]; j += 2
            else:
                out += basic[body[j]]; j += 1
assert len(refs) == 1, refs
assert out == text, (out, text)
print("%s: %d parts, ref %d, sizes %s" % (name, len(subs), refs.pop(), [len(bytes.fromhex(s["short_message_hex"])) - 6 for s in subs]))
PY
}
# ids of the last N accepted submit_sm
last_ids() { python3 -c '
import json, sys
subs = [r for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") == 0]
print(" ".join(s["message_id"] for s in subs[-int(sys.argv[1]):]))' "$1"; }

# 1. 400 GSM-7 characters, a '€' (ESC + 0x65) where it would straddle parts 1 and 2
G=$(python3 -c 'b = "Hello world, 0123456789 @$ " * 20; print(b[:152] + "€" + b[152:398] + "[]")')
l3g gsm-400 "$G" AS:as-1 --report-required
wait_count smsc.jsonl 3 "$SUB and r[\"status\"]==0" 20 || fail "gsm-400: 3 parts never submitted"
check_parts 0 "$G" 3 gsm-400
ids=$(last_ids 3)
ok "400 GSM-7 characters: 3 submit_sm, data_coding 0, UDH 05 00 03, text joined exactly"

# receipts: two parts -> nothing yet; the third -> one REPT_DELY_SUCCESS
set -- $ids
for id in "$1" "$2"; do
	a=$(ctl "{\"cmd\":\"receipt\",\"message_id\":\"$id\",\"stat\":\"DELIVRD\"}")
	is "$a" 'd["ok"] and d["status"]==0' || fail "receipt $id: $a"
done
sleep 1
[ "$(records sim.jsonl "$REP")" = 0 ] || fail "a report before every part was delivered"
a=$(ctl "{\"cmd\":\"receipt\",\"message_id\":\"$3\",\"stat\":\"DELIVRD\",\"no_tlvs\":true}")
is "$a" 'd["ok"] and d["status"]==0' || fail "receipt $3: $a"
wait_records sim.jsonl 1 "$REP and r[\"body\"][\"msgId\"]==\"gsm-400\"" 20 || fail "no report for gsm-400"
sleep 0.5
[ "$(records sim.jsonl "$REP and r[\"body\"][\"msgId\"]==\"gsm-400\"")" = 1 ] || fail "more than one report for gsm-400"
body_of sim.jsonl 0 "$REP and r[\"body\"][\"msgId\"]==\"gsm-400\"" >rep-gsm.json
[ "$(json_get rep-gsm.json 'd["delivSt"]')" = REPT_DELY_SUCCESS ] || fail "gsm-400 report: $(cat rep-gsm.json)"
[ "$(json_get rep-gsm.json 'd["destAddr"]["addr"]')" = as-1 ] || fail "report not to the AS: $(cat rep-gsm.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport' rep-gsm.json
ok "receipts of all 3 parts (TLVs, and text only for the last): one REPT_DELY_SUCCESS, none before"

# 2. 150 UCS-2 characters
U=$(python3 -c 'print(("Привет мир ✓ " * 12)[:150])')
l3g ucs-150 "$U" AS:as-1 --report-required
wait_count smsc.jsonl 6 "$SUB and r[\"status\"]==0" 20 || fail "ucs-150: parts never submitted"
check_parts 8 "$U" 3 ucs-150
set -- $(last_ids 3)
for id in "$@"; do ctl "{\"cmd\":\"receipt\",\"message_id\":\"$id\",\"stat\":\"DELIVRD\"}" >/dev/null; done
wait_records sim.jsonl 1 "$REP and r[\"body\"][\"msgId\"]==\"ucs-150\" and r[\"body\"][\"delivSt\"]==\"REPT_DELY_SUCCESS\"" 20 ||
	fail "no REPT_DELY_SUCCESS for ucs-150"
ok "150 UCS-2 characters: 3 submit_sm, data_coding 8 (67+67+16), receipts -> one report"

# 3. one part undeliverable -> REPT_DELY_FAILED naming it
F=$(python3 -c 'print("x" * 200)')
l3g fail-2 "$F" AS:as-1 --report-required
wait_count smsc.jsonl 8 "$SUB and r[\"status\"]==0" 20 || fail "fail-2 never submitted"
set -- $(last_ids 2)
ctl "{\"cmd\":\"receipt\",\"message_id\":\"$1\",\"stat\":\"DELIVRD\"}" >/dev/null
ctl "{\"cmd\":\"receipt\",\"message_id\":\"$2\",\"stat\":\"UNDELIV\",\"err\":\"042\"}" >/dev/null
wait_records sim.jsonl 1 "$REP and r[\"body\"][\"msgId\"]==\"fail-2\"" 20 || fail "no report for fail-2"
body_of sim.jsonl 0 "$REP and r[\"body\"][\"msgId\"]==\"fail-2\"" >rep-fail.json
[ "$(json_get rep-fail.json 'd["delivSt"]')" = REPT_DELY_FAILED ] || fail "fail-2: $(cat rep-fail.json)"
json_get rep-fail.json 'd["failureCause"]' | grep -q 'UNDELIV err:042 (part 2 of 2)' || fail "failureCause: $(cat rep-fail.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport' rep-fail.json
ok "one UNDELIV part: REPT_DELY_FAILED with failureCause naming the part and error"

# 4. forged receipts: an id never submitted; a real id from another number
reps=$(records sim.jsonl "$REP")
txt=$(hex 'id:m999 sub:001 dlvrd:001 submit date:2611280000 done date:2611280001 stat:DELIVRD err:000 text:x' latin-1)
st=$(mo $DEV 0 4 "$txt" '"receipted_message_id":"m999","message_state":2')
[ "$st" = 0 ] || fail "forged receipt answered $st"
grep '"cause":"RECEIPT_UNMATCHED"' audit.jsonl | grep -q m999 || fail "no RECEIPT_UNMATCHED audit record"
l3g forge-1 "short one" AS:as-1 --report-required
wait_count smsc.jsonl 9 "$SUB and r[\"status\"]==0" 20 || fail "forge-1 never submitted"
id=$(last_ids 1)
a=$(ctl "{\"cmd\":\"receipt\",\"message_id\":\"$id\",\"stat\":\"DELIVRD\",\"source_addr\":\"491709999999\"}")
is "$a" 'd["ok"]' || fail "receipt: $a"
grep '"cause":"RECEIPT_MISMATCH"' audit.jsonl | grep -q 491709999999 || fail "no RECEIPT_MISMATCH audit record"
sleep 1
[ "$(records sim.jsonl "$REP")" = "$reps" ] || fail "a forged receipt made a report"
ctl "{\"cmd\":\"receipt\",\"message_id\":\"$id\",\"stat\":\"DELIVRD\"}" >/dev/null
wait_records sim.jsonl 1 "$REP and r[\"body\"][\"msgId\"]==\"forge-1\"" 20 || fail "the genuine receipt made no report"
a=$(ctl "{\"cmd\":\"receipt\",\"message_id\":\"$id\",\"stat\":\"DELIVRD\"}")
is "$a" 'd["ok"] and d["status"]==0' || fail "repeated receipt: $a"
sleep 1
[ "$(records sim.jsonl "$REP and r[\"body\"][\"msgId\"]==\"forge-1\"")" = 1 ] || fail "a repeated receipt made a second report"
[ "$(grep '"cause":"RECEIPT_UNMATCHED"' audit.jsonl | grep -c "id '$id' ")" = 1 ] || fail "the repeated receipt was not audited"
ok "forged receipts (unknown id, wrong number) dropped and audited; the genuine one reports, once"

# 5. binary appId: base64 payload -> 8-bit data with application ports
l3g bin-1 "AAEC/3hZ" AS:as-1 --app-id bin-app ||
	fail "push bin-1"
wait_count smsc.jsonl 10 "$SUB and r[\"status\"]==0" 20 || fail "bin-1 never submitted"
python3 - <<'PY' || fail "binary part is wrong: $(tail -n 1 smsc.jsonl)"
import json
s = [r for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") == 0][-1]
assert s["data_coding"] == 4, s["data_coding"]
assert s["short_message_hex"] == "000102ff7859", s["short_message_hex"]
assert s["destination_port"] == 16001 and s["source_port"] == 16001, s
assert s["registered_delivery"] == 0
PY
ok "binary appId: base64 payload sent as 8-bit data 00 01 02 ff 78 59 with port 16001"

# 6. reply within the window goes to the AS that wrote; after it, to the route
l3g ask-1 "Reply YES or NO" AS:as-2
wait_count smsc.jsonl 11 "$SUB and r[\"status\"]==0" 20 || fail "ask-1 never submitted"
[ "$(mo $DEV 0 0 "$(gsm7 'YES')")" = 0 ] || fail "reply not answered ESME_ROK"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-ue-message") and r["body"].get("payload")=="YES"' 20 ||
	fail "the reply never reached m5s-sim"
body_of sim.jsonl 0 'r["path"].endswith("deliver-ue-message") and r["body"].get("payload")=="YES"' >reply.json
[ "$(json_get reply.json 'd["destAddr"]["addr"]')" = as-2 ] || fail "reply not to as-2: $(cat reply.json)"
sleep 4.2
[ "$(mo $DEV 0 0 "$(gsm7 'LATE')")" = 0 ] || fail "late reply not answered"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-ue-message") and r["body"].get("payload")=="LATE"' 20 ||
	fail "the late message never reached m5s-sim"
body_of sim.jsonl 0 'r["path"].endswith("deliver-ue-message") and r["body"].get("payload")=="LATE"' >late.json
[ "$(json_get late.json 'd["destAddr"]["addr"]')" = as-1 ] || fail "after the window not to the route: $(cat late.json)"
ok "a reply within sms.reply_window reaches as-2 (the MT's originator); after it, the route"

# 7. no receipt at all within sms.receipt_wait: REPT_DELY_FAILED RECEIPT_TIMEOUT
l3g silent-1 "nobody answers" AS:as-1 --report-required
wait_records sim.jsonl 1 "$REP and r[\"body\"][\"msgId\"]==\"silent-1\"" 25 || fail "no report for silent-1"
body_of sim.jsonl 0 "$REP and r[\"body\"][\"msgId\"]==\"silent-1\"" >rep-silent.json
[ "$(json_get rep-silent.json 'd["delivSt"]')" = REPT_DELY_FAILED ] || fail "silent-1: $(cat rep-silent.json)"
json_get rep-silent.json 'd["failureCause"]' | grep -q RECEIPT_TIMEOUT || fail "silent-1 cause: $(cat rep-silent.json)"
ok "no receipt within receipt_wait: REPT_DELY_FAILED RECEIPT_TIMEOUT"

stop_gw
echo "1..$n"
