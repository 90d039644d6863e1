#!/bin/sh
# 06 cose, CoAP: device object security (doc/interfaces.md 8.5) with coap-client-openssl as
# the device's transport and tests/lib/cose-dev.py (Python cryptography, written from the
# RFCs) as the device's COSE; m5s-sim as the M5S:
# - an AES-CCM-16-64-128 COSE_Encrypt0 uplink (base64url in the JSON payload) arrives at
#   m5s-sim as the plaintext, from the bound UE; audited accept, protection "cose";
# - the same message again (same Partial IV; also under another msgId, also after a
#   restart) is refused 4.01, audited COSE_REPLAY, and nothing new reaches m5s-sim;
# - a flipped ciphertext bit: 4.00 COSE_AUTH; a plain payload from the COSE device: 4.03
#   COSE_REQUIRED; each audited, none forwarded; the next genuine number still passes;
# - a downlink to the device arrives protected (base64url of a COSE_Encrypt0) and the device
#   decrypts it to the text m5s-sim sent; audited "cose";
# - the key is in no log, no audit record, not in -T, not in the store's registry copy.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
COSE="python3 $top_srcdir/tests/lib/cose-dev.py"
$COSE hex AA >/dev/null 2>&1
[ $? -eq 77 ] && skip "python3-cryptography missing"
KEY=c0ffee0123456789abcdef0011223344
IV=0102030405060708090a0b0c0d
KID=c1
lport=$(free_port)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  ack_timeout: 500ms"
cat >>devices.yaml <<Y
- ue: ue-cose-1
  coap: { psk_identity: sensor-cose, psk: "cosePSK" }
  cose: { kid: "$KID", key: "$KEY", common_iv: "$IV" }
Y
"$GW" -c gw.yaml -t >check.out 2>&1 || fail "-t refused the COSE registry: $(cat check.out)"
"$GW" -c gw.yaml -T >dump.yaml 2>&1 || fail "-T failed"
start_gw() {
	log=$1
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"$log"
	gw=$BG_PID
	wait_gw_ready "$log"
}
start_gw gw.log
URL="coaps://127.0.0.1:$cport"
PSK="-u sensor-cose -k cosePSK"
send() { # NAME msgId payload
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"%s"}' "$2" "$3" >"$1.json"
	timeout 30 $CC -v 6 -B 20 -m post -t json -f "$1.json" $PSK "$URL/msg" >"$1.out" 2>&1
}
audited() { # CAUSE: the number of audit records with that cause and protection cose
	grep "\"cause\":\"$1\"" audit.jsonl | grep -c '"protection":"cose"'
}
at_sim() { records sim.jsonl "r[\"path\"].endswith(\"deliver-ue-message\") and $1"; }

# 1. a protected uplink arrives as its plaintext
U1=$($COSE seal --key $KEY --iv $IV --kid $KID --seq 1 "hello via cose")
send up1 c-1 "$U1"
[ "$(code up1)" = 2.04 ] || fail "COSE uplink: $(code up1): $(tail -n 3 up1.out)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="c-1"' || fail "c-1 never reached m5s-sim"
[ "$(at_sim 'r["body"]["msgId"]=="c-1" and r["body"]["payload"]=="hello via cose" and r["body"]["oriAddr"]["addr"]=="ue-cose-1"')" = 1 ] ||
	fail "c-1 did not arrive as the plaintext from ue-cose-1: $(grep c-1 sim.jsonl)"
grep '"msgId":"c-1"' audit.jsonl | grep '"decision":"accept"' | grep -q '"protection":"cose"' ||
	fail "no accept record with protection cose: $(grep c-1 audit.jsonl)"
ok "COSE_Encrypt0 uplink (seq 1): 2.04, at m5s-sim as the plaintext from ue-cose-1, audited cose"

# 2. replayed: the same message, then the same COSE object under another msgId
send rep1 c-1 "$U1"
[ "$(code rep1)" = 4.01 ] && grep -q COSE_REPLAY rep1.out || fail "replay: $(code rep1): $(tail -n 3 rep1.out)"
send rep2 c-1-again "$U1"
[ "$(code rep2)" = 4.01 ] && grep -q COSE_REPLAY rep2.out || fail "replay under a new msgId: $(code rep2)"
[ "$(audited COSE_REPLAY)" = 2 ] || fail "replays not audited COSE_REPLAY twice: $(grep REPLAY audit.jsonl)"
grep '"cause":"COSE_REPLAY"' audit.jsonl | grep -q '"ue":"ue-cose-1"' || fail "the COSE_REPLAY record names no UE"
sleep 1
[ "$(at_sim 'r["body"]["msgId"] in ("c-1","c-1-again")')" = 1 ] || fail "a replayed message reached m5s-sim"
ok "the same Partial IV again (same msgId, another msgId): 4.01 COSE_REPLAY, audited, nothing forwarded"

# 3. tampered ciphertext; a plain payload from the COSE device
send tam c-2 "$($COSE tamper "$($COSE seal --key $KEY --iv $IV --kid $KID --seq 2 "tampered")")"
[ "$(code tam)" = 4.00 ] && grep -q COSE_AUTH tam.out || fail "tampered: $(code tam): $(tail -n 3 tam.out)"
[ "$(audited COSE_AUTH)" = 1 ] || fail "tampering not audited COSE_AUTH"
send plain c-3 "hello in the clear"
[ "$(code plain)" = 4.03 ] && grep -q COSE_REQUIRED plain.out || fail "plain payload: $(code plain)"
[ "$(audited COSE_REQUIRED)" = 1 ] || fail "plain payload not audited COSE_REQUIRED"
sleep 1
[ "$(at_sim 'r["body"]["msgId"] in ("c-2","c-3")')" = 0 ] || fail "a refused message reached m5s-sim"
# the failed check did not burn number 2
send up2 c-2b "$($COSE seal --key $KEY --iv $IV --kid $KID --seq 2 "second")"
[ "$(code up2)" = 2.04 ] || fail "seq 2 after a forged seq 2: $(code up2)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="c-2b" and r["body"]["payload"]=="second"' ||
	fail "c-2b never reached m5s-sim"
ok "tampered: 4.00 COSE_AUTH; plain: 4.03 COSE_REQUIRED; audited, not forwarded; seq 2 still passes"

# 4. downlink: protected toward the device, which opens it
_before=$(grep -c 'observing /inbox' gw.log)
timeout 40 $CC -s 30 -B 30 $PSK "$URL/inbox" >obs.out 2>obs.err &
obs=$!
T_PIDS="$T_PIDS $obs"
_end=$(( $(date +%s) + 10 ))
until [ "$(grep -c 'observing /inbox' gw.log)" -gt "$_before" ]; do
	[ "$(date +%s)" -le "$_end" ] || fail "the device never observed: $(cat obs.err)"
	sleep 0.1
done
"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
	--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 --to UE:ue-cose-1 --msg-id dl-c1 \
	--payload "to the cose device" --report-required >push.txt 2>&1 || fail "push: $(cat push.txt)"
_end=$(( $(date +%s) + 20 ))
until grep -q '"msgId":"dl-c1"' obs.out; do
	[ "$(date +%s)" -le "$_end" ] || fail "dl-c1 never reached the device: $(cat obs.out)"
	sleep 0.1
done
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-c1" and r["body"]["delivSt"]=="REPT_DELY_SUCCESS"' 20 ||
	fail "no REPT_DELY_SUCCESS for dl-c1"
p=$(python3 - <<'PY'
import json
text = open("obs.out").read()
dec = json.JSONDecoder()
bodies, i = [], 0
while i < len(text):
    if text[i] == "{":
        try:
            o, i = dec.raw_decode(text, i)
            bodies.append(o)
            continue
        except ValueError:
            pass
    i += 1
print([o for o in bodies if o.get("msgId") == "dl-c1"][0]["payload"])
PY
) || fail "no notification body for dl-c1: $(cat obs.out)"
case "$p" in *"to the cose device"*) fail "the downlink payload went in the clear: $p" ;; esac
got=$($COSE open --key $KEY --iv $IV "$p" 2>open.err) || fail "the device cannot open the downlink: $(cat open.err)"
[ "$got" = "to the cose device" ] || fail "the device decrypted '$got'"
grep -q '^seq 0$' open.err || fail "the first downlink is not sequence number 0: $(cat open.err)"
grep '"msgId":"dl-c1"' audit.jsonl | grep '"dir":"downlink"' | grep -q '"protection":"cose"' ||
	fail "the downlink record does not say cose: $(grep dl-c1 audit.jsonl)"
ok "downlink: base64url COSE_Encrypt0 at the device, decrypted by cose-dev.py to the pushed text; audited cose"
kill $obs 2>/dev/null; wait $obs 2>/dev/null

# 5. the window survives a restart
kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
grep -q 'cose: uplink 2 opened, refused: required 1 malformed 0 kid 0 replay 2 auth 1 state 0; downlink 1 protected, 0 failed' gw.log ||
	fail "COSE counters at stop: $(grep 'cose:' gw.log)"
start_gw gw2.log
send rep3 c-1-restart "$U1"
[ "$(code rep3)" = 4.01 ] && grep -q COSE_REPLAY rep3.out || fail "replay after a restart: $(code rep3)"
[ "$(at_sim 'r["body"]["msgId"]=="c-1-restart"')" = 0 ] || fail "a replay after the restart reached m5s-sim"
ok "the replay window is in the store: seq 1 refused after a restart too"

# 6. no key anywhere
for f in gw.log gw2.log audit.jsonl dump.yaml check.out sim.jsonl; do
	grep -qi "$KEY" "$f" && fail "the COSE key is in $f"
done
# the registry lives in gw.db.devices (0600): its row holds the key; the message store and
# everything printed or logged do not
python3 -c 'import sqlite3; print(sqlite3.connect("gw.db.devices").execute("select row from reg_device where ue=?", ("ue-cose-1",)).fetchone()[0])' >row.txt
grep -q "\"kid\":\"$KID\"" row.txt || fail "the registry row: $(cut -c1-60 row.txt)"
[ "$(stat -c %a gw.db.devices)" = 600 ] || fail "gw.db.devices is mode $(stat -c %a gw.db.devices)"
python3 - "$KEY" <<'PY' || fail "the COSE key bytes are in the store"
import sqlite3, sys
key = bytes.fromhex(sys.argv[1])
db = sqlite3.connect("gw.db")
for (v,) in db.execute("select val from kv"):
    v = v if isinstance(v, bytes) else str(v).encode()
    assert key not in v and sys.argv[1].encode() not in v
PY
ok "the key is in no log, audit record, -t/-T output or message-store row (only in the 0600 registry gw.db.devices)"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
