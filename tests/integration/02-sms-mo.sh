#!/bin/sh
# 02 sms, MO: the SMSC simulator delivers deliver_sm from a registered MSISDN; each
# arrives at m5s-sim as one schema-valid UEMessageDelivery from the bound UE (ue-sms-1) to
# the route of its destination number, with the exact text:
# - GSM 7-bit (one septet per octet) with € [ ] (extension table), UCS-2 with an emoji
#   (surrogate pair), 8-bit data that is UTF-8 text, Latin-1 (data_coding 3);
# - concatenated: 3 parts with an 8-bit UDH reference (delivered out of order, one part
#   twice), 2 UCS-2 parts with a 16-bit reference, 2 parts by SAR TLVs; every part is
#   answered ESME_ROK only once it is stored;
# - a set missing parts at sms.concat_timeout is dropped, audited SEGMENTS_MISSING;
# - refused with an error status and one audit record each: an unknown MSISDN (0x65 and
#   UNKNOWN_DEVICE), a destination number without a route (0x0B, NO_ROUTE), odd-length
#   UCS-2 (0x65, MALFORMED); nothing of them reaches m5s-sim.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
make_gw_config "$T_DIR" "$(SMS_YAML '  concat_timeout: 2s')"
start_gw gw.log
DEV=491701234567
UP='r["path"].endswith("deliver-ue-message")'

# expect_text NAME TEXT: exactly one UEMessageDelivery with payload TEXT, from ue-sms-1 to
# AS:as-1, schema-valid
expect_text() {
	_f="r[\"path\"].endswith(\"deliver-ue-message\") and r[\"body\"].get(\"payload\")==$(python3 -c 'import json,sys; print(repr(sys.argv[1]))' "$2")"
	wait_records sim.jsonl 1 "$_f" 20 || fail "$1: never reached m5s-sim with the exact text"
	[ "$(records sim.jsonl "$_f")" = 1 ] || fail "$1: arrived $(records sim.jsonl "$_f") times"
	body_of sim.jsonl 0 "$_f" >"$1.json"
	[ "$(json_get "$1.json" 'd["oriAddr"]["addrType"]+":"+d["oriAddr"]["addr"]')" = UE:ue-sms-1 ] ||
		fail "$1: originator is not the bound UE: $(cat "$1.json")"
	[ "$(json_get "$1.json" 'd["destAddr"]["addrType"]+":"+d["destAddr"]["addr"]')" = AS:as-1 ] ||
		fail "$1: destination is not the route's: $(cat "$1.json")"
	validate 'TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery' "$1.json"
}

# 1. GSM 7-bit with the extension table
T1='Price: 5€ [ok] {x} ~ ^ | \ end'
[ "$(mo $DEV 0 0 "$(gsm7 "$T1")")" = 0 ] || fail "GSM-7 MO not answered ESME_ROK"
expect_text gsm7 "$T1"
ok "GSM 7-bit with € [ ] { } ~ ^ | \\ arrives exactly, from ue-sms-1 to AS:as-1"

# 2. UCS-2 with an emoji (a surrogate pair)
T2='Grüße 😀 — ok'
[ "$(mo $DEV 8 0 "$(hex "$T2" utf-16-be)")" = 0 ] || fail "UCS-2 MO not answered ESME_ROK"
expect_text ucs2 "$T2"
ok "UCS-2 with an emoji arrives exactly"

# 3. 8-bit data that is UTF-8 text; Latin-1
T3='8-bit: naïve café'
[ "$(mo $DEV 4 0 "$(hex "$T3" utf-8)")" = 0 ] || fail "8-bit MO not answered ESME_ROK"
expect_text eightbit "$T3"
T3b='Latin-1: déjà vu'
[ "$(mo $DEV 3 0 "$(hex "$T3b" latin-1)")" = 0 ] || fail "Latin-1 MO not answered ESME_ROK"
expect_text latin1 "$T3b"
ok "8-bit UTF-8 text and Latin-1 arrive exactly"

# 4. three parts, 8-bit UDH reference 0xA7, out of order and one part twice
P1='This is the first part of a long message, '
P2='the second part with € and [brackets], '
P3='and the third part ends it.'
udh() { printf '050003a703%02x' "$1"; }
[ "$(mo $DEV 0 64 "$(udh 2)$(gsm7 "$P2")")" = 0 ] || fail "part 2 not answered ESME_ROK"
[ "$(mo $DEV 0 64 "$(udh 1)$(gsm7 "$P1")")" = 0 ] || fail "part 1 not answered ESME_ROK"
[ "$(mo $DEV 0 64 "$(udh 1)$(gsm7 "$P1")")" = 0 ] || fail "part 1 again not answered ESME_ROK"
sleep 0.5
[ "$(records sim.jsonl "$UP and r[\"body\"].get(\"payload\",\"\").startswith(\"This is\")")" = 0 ] ||
	fail "an incomplete message was forwarded"
[ "$(sqlite3 gw.db "select count(*) from kv where ns='sms.mo'")" = 1 ] || fail "the waiting parts are not in the store"
[ "$(mo $DEV 0 64 "$(udh 3)$(gsm7 "$P3")")" = 0 ] || fail "part 3 not answered ESME_ROK"
expect_text concat3 "$P1$P2$P3"
wait_for_sql() { _e=$(( $(date +%s) + 10 )); until [ "$(sqlite3 gw.db "$1")" = "$2" ]; do [ "$(date +%s)" -le "$_e" ] || return 1; sleep 0.2; done; }
wait_for_sql "select count(*) from kv where ns='sms.mo'" 0 || fail "the joined set was not removed from the store"
ok "3-part concatenated MO (8-bit ref, out of order, a part twice) arrives once, exactly"

# 5. UCS-2 in two parts with a 16-bit reference; two parts by SAR TLVs
Q1='Zwei Teile 😀 mit '
Q2='16-Bit-Referenz ✓'
[ "$(mo $DEV 8 64 "060804beef0201$(hex "$Q1" utf-16-be)")" = 0 ] || fail "UCS-2 part 1"
[ "$(mo $DEV 8 64 "060804beef0202$(hex "$Q2" utf-16-be)")" = 0 ] || fail "UCS-2 part 2"
expect_text concat16 "$Q1$Q2"
S1='SAR part one, '
S2='SAR part two.'
[ "$(mo $DEV 0 0 "$(gsm7 "$S1")" '"tlvs":{"sar_msg_ref_num":513,"sar_total_segments":2,"sar_segment_seqnum":1}')" = 0 ] || fail "SAR part 1"
[ "$(mo $DEV 0 0 "$(gsm7 "$S2")" '"tlvs":{"sar_msg_ref_num":513,"sar_total_segments":2,"sar_segment_seqnum":2}')" = 0 ] || fail "SAR part 2"
expect_text sar "$S1$S2"
ok "UCS-2 parts with a 16-bit reference and parts by SAR TLVs are joined exactly"

# 5b. a phone that split a surrogate pair, and an escape, across parts: joined, then decoded
E=$(hex 'split 😀 pair' utf-16-be)
[ "$(mo $DEV 8 64 "0500036102$(printf %s "$E" | cut -c1-28 | sed 's/^/01/')")" = 0 ] || fail "surrogate part 1"
[ "$(mo $DEV 8 64 "0500036102$(printf %s "$E" | cut -c29- | sed 's/^/02/')")" = 0 ] || fail "surrogate part 2"
expect_text splitpair 'split 😀 pair'
[ "$(mo $DEV 0 64 "05000362020161201b")" = 0 ] || fail "escape part 1"
[ "$(mo $DEV 0 64 "050003620202656220")" = 0 ] || fail "escape part 2"
expect_text splitesc 'a €b '
ok "a surrogate pair and an escape split across parts still decode once joined"

# 6. refused: unknown MSISDN, no route, malformed UCS-2
before=$(records sim.jsonl "$UP")
st=$(mo 499999999999 0 0 "$(gsm7 'who am I')")
[ "$st" = 101 ] || fail "unknown MSISDN answered $st, not ESME_RX_P_APPN (0x65)"
grep '"decision":"reject"' audit.jsonl | grep '"cause":"UNKNOWN_DEVICE"' | grep -q '499999999999' ||
	fail "no UNKNOWN_DEVICE audit record for the unknown MSISDN: $(tail -n 3 audit.jsonl)"
st=$(MO_DEST=999 mo $DEV 0 0 "$(gsm7 'to nowhere')")
[ "$st" = 11 ] || fail "no route answered $st, not ESME_RINVDSTADR (0x0B)"
grep '"decision":"reject"' audit.jsonl | grep -q '"cause":"NO_ROUTE"' || fail "no NO_ROUTE audit record"
st=$(mo $DEV 8 0 "00410042ff")
[ "$st" = 101 ] || fail "odd-length UCS-2 answered $st"
grep '"decision":"reject"' audit.jsonl | grep '"cause":"MALFORMED"' | grep -q 'UCS-2' || fail "no MALFORMED audit record naming UCS-2"
# concatenation IEs naming a part that cannot exist (total 0, seq 0, seq > total; 8-bit and
# 16-bit references, GSM 7-bit and UCS-2): refused, audited with the cause, nothing kept
kept=$(sqlite3 gw.db "select count(*) from kv where ns='sms.mo'")
for c in "0 0500037100016869:total 0" "0 0500037102006869:seq 0" "0 0500037102036869:seq above total" \
	"8 06080471710300006100:seq 0" "0 06080471720001006869:total 0"; do
	dcs=${c%% *} ud=${c#* } ud=${ud%%:*} why=${c#*:}
	st=$(mo $DEV "$dcs" 64 "$ud")
	[ "$st" = 101 ] || fail "UDH $ud answered $st, not ESME_RX_P_APPN (0x65)"
	grep '"decision":"reject"' audit.jsonl | grep '"cause":"MALFORMED"' |
		grep -q "concatenation IE with $why" || fail "no MALFORMED audit record naming '$why' for $ud"
done
[ "$(sqlite3 gw.db "select count(*) from kv where ns='sms.mo'")" = "$kept" ] || fail "a part that cannot complete was kept"
ok "UDH concatenation with total 0, seq 0 or seq > total: 0x65, audited MALFORMED with the cause, not kept"
sleep 0.5
[ "$(records sim.jsonl "$UP")" = "$before" ] || fail "a refused MO reached m5s-sim"
ok "unknown MSISDN 0x65, no route 0x0B, bad UCS-2 0x65: each audited, none forwarded"

# S14: the MSISDN never leaves toward the M5S (only the UE Service ID does), and the audit
# log carries no payload
! grep -q 491701234567 sim.jsonl || fail "an MSISDN reached m5s-sim"
! grep -q 'Grüße\|first part of a long' audit.jsonl || fail "a payload reached the audit log"
ok "no MSISDN in anything m5s-sim received, no payload in the audit log"

# 7. a set whose other parts never come: dropped at concat_timeout, audited
[ "$(mo $DEV 0 64 "0500035502017061727469616c")" = 0 ] || fail "lonely part not answered ESME_ROK"
[ "$(sqlite3 gw.db "select count(*) from kv where ns='sms.mo'")" = 1 ] || fail "the lonely part is not kept"
wait_for_line audit.jsonl '"cause":"SEGMENTS_MISSING"' 15 || fail "no SEGMENTS_MISSING audit record"
wait_for_sql "select count(*) from kv where ns='sms.mo'" 0 || fail "the incomplete set stayed in the store"
[ "$(records sim.jsonl "$UP and r[\"body\"].get(\"payload\")==\"partial\"")" = 0 ] || fail "an incomplete set was forwarded"
ok "a set missing parts at concat_timeout is dropped and audited SEGMENTS_MISSING"

stop_gw
echo "1..$n"
