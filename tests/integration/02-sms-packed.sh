#!/bin/sh
# 02 sms, packed GSM 7-bit (sms.gsm7_packed: true, for SMSCs that want TP-UD as it goes over
# the air): an MO with packed septets (and one with a UDH and its fill bit) arrives with the
# exact text; an MT of 200 characters leaves as 2 parts of packed septets whose UDL/fill
# decode (independently, in Python) to the text.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
make_gw_config "$T_DIR" "$(SMS_YAML '  gsm7_packed: true')"
start_gw gw.log
DEV=491701234567
# pack HEXSEPTETS [UDHHEX]: GSM 03.38 packing (LSB first), after a UDH with fill bits
pack() {
	python3 - "$1" "${2:-}" <<'PY'
import sys
sep = bytes.fromhex(sys.argv[1]); udh = bytes.fromhex(sys.argv[2])
fill = (7 - (len(udh) * 8) % 7) % 7
bits, n, out = 0, 0, bytearray(udh)
acc = 0
pos = 0
for s in sep:
    acc |= s << (fill + pos)
    pos += 7
while fill + pos > 0:
    out.append(acc & 0xff); acc >>= 8; pos -= 8
    if pos + fill <= 0: break
print(out.hex())
PY
}
T1='Packed: 5€ [ok]'
[ "$(mo $DEV 0 0 "$(pack "$(gsm7 "$T1")")")" = 0 ] || fail "packed MO not answered ESME_ROK"
wait_records sim.jsonl 1 "r[\"path\"].endswith(\"deliver-ue-message\") and r[\"body\"].get(\"payload\")==$(python3 -c 'import sys; print(repr(sys.argv[1]))' "$T1")" 20 ||
	fail "the packed MO never arrived with the exact text"
T2='after a header'
[ "$(mo $DEV 0 64 "$(pack "$(gsm7 "$T2")" 050003010101)")" = 0 ] || fail "packed MO with a UDH not answered ESME_ROK"
wait_records sim.jsonl 1 "r[\"path\"].endswith(\"deliver-ue-message\") and r[\"body\"].get(\"payload\")==\"$T2\"" 20 ||
	fail "the packed MO with a UDH (fill bit) never arrived exactly"
ok "packed GSM 7-bit MO, with and without a UDH, arrives exactly"

M=$(python3 -c 'print(("packed part text {} " * 12)[:200])')
l3g packed-mt "$M"
wait_count smsc.jsonl 2 'r.get("command")=="submit_sm" and r.get("status")==0' 20 || fail "packed MT never submitted"
python3 - "$M" <<'PY' || fail "packed MT parts do not decode to the text"
import json, sys
basic = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
ext = {0x28: "{", 0x29: "}"}
subs = [r for r in map(json.loads, open("smsc.jsonl")) if r.get("command") == "submit_sm" and r.get("status") == 0]
assert len(subs) == 2, len(subs)
out = ""
for i, s in enumerate(subs):
    ud = bytes.fromhex(s["short_message_hex"])
    assert s["data_coding"] == 0 and s["esm_class"] & 0x40
    assert ud[:6] == bytes([5, 0, 3, ud[3], 2, i + 1]), ud[:6].hex()
    val = int.from_bytes(ud, "little")
    nsep = len(ud) * 8 // 7
    seps = [(val >> (7 * k)) & 0x7f for k in range(7, nsep)]  # 6 octets + fill = 7 septets
    if len(ud) * 8 % 7 == 0 and seps and seps[-1] == 0:
        seps.pop()
    j = 0
    while j < len(seps):
        if seps[j] == 0x1b:
            out += ext[seps[j + 1]]; j += 2
        else:
            out += basic[seps[j]]; j += 1
assert out == sys.argv[1], (out, sys.argv[1])
PY
ok "a 200-character MT leaves as 2 packed parts (UDH + fill bit) that decode to the text"
stop_gw
echo "1..$n"
