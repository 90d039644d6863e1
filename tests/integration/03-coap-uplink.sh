#!/bin/sh
# 03 coap, uplink and the DTLS boundary, with libcoap's own coap-client-openssl as the device
# and m5s-sim as the M5S:
# - a PSK device and certificate devices (by fingerprint, by CA + subject) each send a
#   message that reaches m5s-sim as a
#   schema-valid UEMessageDelivery from the UE bound to the credential; a device writing
#   another UE's oriAddr appears as itself (rewrite), or is refused 4.03 (reject, SIGHUP);
# - wrong PSK, unknown identity, DTLS 1.0 and a certificate from another CA are refused with
#   one audit record each; plain CoAP to the coaps port is never answered; nothing of theirs
#   reaches m5s-sim;
# - a 10 KiB body arrives intact block-wise; a body over coap.max_body gets 4.13 + Size1;
#   bad JSON 4.00, a wrong Content-Format 4.15, an unknown destination 4.04, each with a
#   diagnostic payload; a CON repeated with the same msgId is stored once.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init --max-payload 16384
make_gw_config "$T_DIR" "policy: { max_payload: 12k, spoofed_origin: rewrite }
$(M5S_YAML)
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  tls: { cert: pki/gw.pem, key: pki/gw.key, ca: pki/ca.pem }
  max_body: 12k"
fp=$(openssl x509 -in pki/device-1.pem -outform DER | sha256sum | cut -d' ' -f1)
cat >>devices.yaml <<Y
- ue: ue-cert-1
  coap: { cert_fingerprint: "sha256:$fp" }
- ue: ue-cert-2
  coap: { cert_subject: sensor-cert-2 }
Y
# a second device certificate from the same CA, registered by its subject
openssl ecparam -name prime256v1 -genkey -noout -out pki/device-2.key 2>/dev/null
openssl req -new -key pki/device-2.key -subj "/O=msgin5g-gw test/CN=sensor-cert-2" -out pki/device-2.csr 2>/dev/null
openssl x509 -req -in pki/device-2.csr -CA pki/ca.pem -CAkey pki/ca.key -CAcreateserial -sha256 \
	-days 30 -out pki/device-2.pem 2>/dev/null || fail "device-2 certificate"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
URL="coaps://127.0.0.1:$cport"

# send NAME FILE CLIENT-OPTIONS... : POST FILE to /msg, the exchange in NAME.out (code NAME)
send() {
	_name=$1 _file=$2
	shift 2
	timeout 30 $CC -v 6 -B 20 -m post -t json -f "$_file" "$@" "$URL/msg" >"$_name.out" 2>&1
}
body() { # msgId [extra members] [payload]
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"%s"%s}' "$1" "${3:-hi $1}" "${2:-}"
}
PSK="-u sensor-1 -k secretPSK"

# 1. a PSK device, with a spoofed originator: it arrives as the bound UE, schema-valid
body psk-1 ',"oriAddr":{"addrType":"UE","addr":"ue-sms-1"}' >psk-1.json
send psk-1 psk-1.json $PSK
[ "$(code psk-1)" = 2.04 ] || fail "PSK device: $(code psk-1): $(tail -n 5 psk-1.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="psk-1"' || fail "psk-1 never reached m5s-sim"
body_of sim.jsonl 0 'r["body"]["msgId"]=="psk-1"' >up-psk.json
[ "$(json_get up-psk.json 'd["oriAddr"]["addr"]')" = ue-coap-1 ] || fail "oriAddr is not the bound UE: $(cat up-psk.json)"
ok "PSK device: 2.04, at m5s-sim from ue-coap-1 (a spoofed oriAddr rewritten)"

# 2. a certificate device (fingerprint in the registry, chain to coap.tls.ca)
body cert-1 >cert-1.json
send cert-1 cert-1.json -c pki/device-1.pem -j pki/device-1.key -C pki/ca.pem
[ "$(code cert-1)" = 2.04 ] || fail "certificate device: $(code cert-1): $(tail -n 5 cert-1.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="cert-1"' || fail "cert-1 never reached m5s-sim"
body_of sim.jsonl 0 'r["body"]["msgId"]=="cert-1"' >up-cert.json
[ "$(json_get up-cert.json 'd["oriAddr"]["addr"]')" = ue-cert-1 ] || fail "cert device oriAddr: $(cat up-cert.json)"
ok "certificate device: 2.04, at m5s-sim from ue-cert-1"
body cert-2 >cert-2.json
send cert-2 cert-2.json -c pki/device-2.pem -j pki/device-2.key -C pki/ca.pem
[ "$(code cert-2)" = 2.04 ] || fail "device by subject: $(code cert-2): $(tail -n 5 cert-2.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="cert-2" and r["body"]["oriAddr"]["addr"]=="ue-cert-2"' ||
	fail "cert-2 never reached m5s-sim as ue-cert-2"
grep -q '"kind":"cert-subject","value":"sensor-cert-2"' audit.jsonl || fail "no audit record naming the subject"
ok "certificate device registered by subject (CA-issued): at m5s-sim from ue-cert-2"
validate 'TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery' up-psk.json up-cert.json

# 2b. the same as CBOR (Content-Format 60): arrives as the same JSON body
python3 - <<'PY'
def enc(v):
    def head(major, n):
        if n < 24: return bytes([major << 5 | n])
        if n < 256: return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    if isinstance(v, bool): return b"\xf5" if v else b"\xf4"
    if isinstance(v, str): b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, dict): return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)
open("cbor-1.cbor", "wb").write(enc({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "cbor-1",
    "payload": b"bytes from a CBOR device", "delivStReqInd": False}))
PY
timeout 30 $CC -v 6 -B 20 -m post -t cbor -f cbor-1.cbor $PSK "$URL/msg" >cbor-1.out 2>&1
[ "$(code cbor-1)" = 2.04 ] || fail "CBOR body: $(code cbor-1): $(tail -n 3 cbor-1.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="cbor-1"' || fail "cbor-1 never reached m5s-sim"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="cbor-1" and r["body"]["payload"]=="bytes from a CBOR device" and r["body"]["oriAddr"]["addr"]=="ue-coap-1"')" = 1 ] ||
	fail "cbor-1 arrived changed: $(grep cbor-1 sim.jsonl)"
ok "CBOR body (Content-Format 60, payload as a byte string): 2.04, arrived as JSON from ue-coap-1"

# 3. refused at the handshake, each with one audit record, nothing forwarded
refused() { # name cause-regex client-command...
	_name=$1 _cause=$2
	shift 2
	_before=$(grep -Ec "\"cause\":\"($_cause)\"" audit.jsonl)
	"$@" >"$_name.out" 2>&1
	if [ "$(code "$_name")" ]; then fail "$_name: answered $(code "$_name")"; fi
	# a wrong key shows only as silence (DTLS drops records that fail their MAC): the
	# gateway audits the handshake that never completed after 10 s
	_end=$(( $(date +%s) + 20 ))
	until [ "$(grep -Ec "\"cause\":\"($_cause)\"" audit.jsonl)" -gt "$_before" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "$_name: no audit record with cause $_cause"
		sleep 0.2
	done
	ok "$_name: refused, audited ($(grep -Eo "\"cause\":\"($_cause)\"" audit.jsonl | tail -n 1))"
}
body bad-1 >bad.json
refused "wrong PSK" BAD_CREDENTIAL timeout 30 $CC -v 6 -B 12 -m post -t json -f bad.json -u sensor-1 -k wrongPSK "$URL/msg"
refused "unknown PSK identity" UNKNOWN_DEVICE timeout 30 $CC -v 6 -B 5 -m post -t json -f bad.json -u nobody -k secretPSK "$URL/msg"
refused "certificate from another CA" TLS_HANDSHAKE timeout 30 $CC -v 6 -B 5 -m post -t json -f bad.json -c pki/intruder.pem -j pki/intruder.key -C pki/ca.pem "$URL/msg"
refused "DTLS 1.0 client" TLS_HANDSHAKE sh -c "timeout 10 openssl s_client -dtls1 -connect 127.0.0.1:$cport -psk_identity sensor-1 -psk $(printf secretPSK | od -An -tx1 | tr -d ' \n') </dev/null"
# the one TLS policy on DTLS with certificates (doc/internals/tls.md): a CBC suite is
# refused, an AEAD one (RFC 7252's mandatory CCM_8, and GCM) completes the handshake
S_DEV="-dtls1_2 -connect 127.0.0.1:$cport -cert pki/device-1.pem -key pki/device-1.key -CAfile pki/ca.pem"
refused "certificate session offering only CBC" TLS_HANDSHAKE sh -c "timeout 10 openssl s_client $S_DEV -cipher ECDHE-ECDSA-AES128-SHA256 </dev/null"
grep -q 'Cipher is ECDHE-ECDSA-AES128-SHA256' "certificate session offering only CBC.out" &&
	fail "a CBC suite was negotiated with a certificate device"
for _c in ECDHE-ECDSA-AES128-CCM8 ECDHE-ECDSA-AES128-GCM-SHA256; do
	timeout 10 openssl s_client $S_DEV -cipher "$_c" </dev/null >"aead-$_c.out" 2>&1
	grep -q "Cipher is $_c" "aead-$_c.out" || fail "AEAD suite $_c refused: $(tail -n 5 "aead-$_c.out")"
done
ok "DTLS with certificates: CBC refused, CCM_8 and GCM accepted"
# plain CoAP to the coaps port: libcoap drops it as "not a ClientHello" before any session
# exists; the gateway's raw-socket sentinel (needs CAP_NET_RAW, doc/internals/coap.md)
# audits it with its source
_before=$(grep -c '"cause":"PLAINTEXT"' audit.jsonl)
timeout 30 $CC -v 6 -B 4 -m post -t json -f bad.json "coap://127.0.0.1:$cport/msg" >plain.out 2>&1
[ -z "$(code plain)" ] || fail "plain CoAP answered $(code plain)"
if grep -q 'will not be audited' gw.log; then
	echo "# note: no CAP_NET_RAW here: plain CoAP to the coaps port is dropped but not audited"
	ok "plain CoAP to the coaps port: never answered"
else
	[ "$(grep -c '"cause":"PLAINTEXT"' audit.jsonl)" -gt "$_before" ] || fail "plain CoAP not audited"
	grep '"cause":"PLAINTEXT"' audit.jsonl | tail -n 1 | grep -q '"peer":"127.0.0.1:[0-9]' ||
		fail "the PLAINTEXT record has no source"
	ok "plain CoAP to the coaps port: never answered, audited PLAINTEXT with its source"
fi
[ "$(records sim.jsonl 'r["body"].get("msgId")=="bad-1"')" = 0 ] || fail "a refused device reached m5s-sim"
ok "nothing of the refused devices reached m5s-sim"

# 4. block-wise: 10 KiB arrives intact; over coap.max_body is 4.13 with Size1
python3 - <<'PY'
import json
p = "".join(chr(0x41 + i % 26) for i in range(10200))
open("big.json", "w").write(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "big-1", "payload": p}))
open("huge.json", "w").write(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "huge-1", "payload": "z" * 13000}))
PY
[ "$(wc -c <big.json)" -ge 10240 ] || fail "big.json is not 10 KiB"
send big big.json $PSK -b 1024
[ "$(code big)" = 2.04 ] || fail "10 KiB block-wise: $(code big)"
grep -q 'Block1' big.out || fail "10 KiB went without Block1"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="big-1"' || fail "big-1 never reached m5s-sim"
python3 -c '
import json
r = [json.loads(l) for l in open("sim.jsonl") if "\"big-1\"" in l][0]
want = json.load(open("big.json"))["payload"]
assert r["body"]["payload"] == want, "payload differs"
' || fail "the 10 KiB body did not arrive intact"
ok "10 KiB body block-wise (Block1, 1024-byte blocks): arrived intact"
send huge huge.json $PSK -b 1024
[ "$(code huge)" = 4.13 ] || fail "over max_body: $(code huge), want 4.13"
grep -q 'Size1:12288' huge.out || fail "4.13 without Size1: $(grep 'c:4.13' huge.out)"
grep -q "TOO_LARGE" huge.out || fail "4.13 without a diagnostic payload"
ok "body over coap.max_body: 4.13, Size1 12288, diagnostic payload"

# 5. bad input, each with its code and a diagnostic payload
printf '{"destAddr":' >trunc.json
send trunc trunc.json $PSK
[ "$(code trunc)" = 4.00 ] && grep -q "MALFORMED\|not JSON\|JSON" trunc.out || fail "bad JSON: $(code trunc)"
ok "malformed JSON: 4.00 with a diagnostic"
body ct-1 >ct.json
timeout 30 $CC -v 6 -B 20 -m post -t text -f ct.json $PSK "$URL/msg" >ct.out 2>&1
[ "$(code ct)" = 4.15 ] && grep -q CONTENT_FORMAT ct.out || fail "text/plain body: $(code ct)"
ok "Content-Format text/plain: 4.15"
printf '{"destAddr":{"addrType":"UE","addr":"ue-nobody"},"msgId":"dest-1"}' >dest.json
send dest dest.json $PSK
case "$(code dest)" in 4.03 | 4.04) ;; *) fail "unknown destination: $(code dest)" ;; esac
ok "destination not allowed: $(code dest)"

# 6. the same CON message twice (a retransmission after a lost ACK looks the same): once
send dup1 psk-1.json $PSK
[ "$(code dup1)" = 2.04 ] || fail "repeat: $(code dup1)"
sleep 1
[ "$(records sim.jsonl 'r["body"]["msgId"]=="psk-1"')" = 1 ] || fail "psk-1 forwarded twice"
ok "a repeated msgId: 2.04 again, forwarded once"

# 7. spoofed_origin: reject, on SIGHUP: the spoofer is refused 4.03, audited SPOOF
sed -i 's/spoofed_origin: rewrite/spoofed_origin: reject/' gw.yaml
kill -HUP $gw
wait_for_line gw.log 'gw reloaded' 10 || fail "not reloaded"
sleep 0.5
body psk-2 ',"oriAddr":{"addrType":"UE","addr":"ue-sms-1"}' >psk-2.json
send psk-2 psk-2.json $PSK
[ "$(code psk-2)" = 4.03 ] && grep -q SPOOF psk-2.out || fail "spoof with reject: $(code psk-2)"
grep -q '"cause":"SPOOF"' audit.jsonl || fail "no SPOOF audit record"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="psk-2"')" = 0 ] || fail "the spoofer reached m5s-sim"
ok "spoofed oriAddr with spoofed_origin: reject: 4.03, audited, not forwarded"

# every audit line is JSON, none carries a key or a payload
python3 -c '
import json
for l in open("audit.jsonl"): json.loads(l)
' || fail "audit.jsonl has a line that is not JSON"
grep -q 'secretPSK\|wrongPSK\|hi psk' audit.jsonl && fail "a key or payload reached the audit log"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
grep -q 'coap: sessions' gw.log || fail "no counters at stop"
echo "# $n checks; counters: $(grep -o 'coap: sessions.*' gw.log | tail -n 1)"
