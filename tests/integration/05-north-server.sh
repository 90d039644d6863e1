#!/bin/sh
# 05 north, the gateway as server for the M5S (msgg-l3gdelivery / msgg-n3gdelivery):
# curl over h2 and HTTP/1.1, with and without client certificates, gets every status of
# interfaces.md 4, each with its ProblemDetails checked against the OpenAPI schema; TLS 1.1,
# CBC-only and wrong-CA clients are refused and audited; a retried POST is stored once.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
port=$(free_port)
make_gw_config "$T_DIR" "queue: { high_water: 7 }
north:
  listen:
    port: $port
    max_body: 2k
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }
    allowed_clients: [ m5s-sim ]"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
base="https://127.0.0.1:$port"
M5S="--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key"
n=0

# post NAME EXPECT-STATUS PATH BODY [curl options...]: prints nothing, fails on mismatch;
# the answer body is in resp.json. The request carries Content-Type $CT (application/json
# unless the caller sets CT=...; CT=none sends none of ours)
post() {
	_name=$1 _want=$2 _path=$3 _body=$4
	shift 4
	n=$((n + 1))
	printf '%s' "$_body" >req.json
	_ct=${CT:-application/json}
	[ "$_ct" = none ] && _ct=
	_got=$(curl -s -o resp.json -w '%{http_code}' -D hdr.txt --data-binary @req.json \
		-H "Content-Type: $_ct" "$@" "$base$_path")
	[ "$_got" = "$_want" ] || fail "$_name: HTTP $_got, expected $_want: $(cat resp.json)"
	echo "ok $n $_name: $_got"
}
# problem CAUSE [PARAM]: resp.json is a ProblemDetails with that cause (and param), valid
problem() {
	grep -qi '^content-type: application/problem+json' hdr.txt || fail "not problem+json: $(cat hdr.txt)"
	[ "$(json_get resp.json 'd["cause"]')" = "$1" ] || fail "cause $(json_get resp.json 'd.get("cause")'), expected $1"
	[ "$(json_get resp.json 'd["status"]')" = "$(sed -n 's/^HTTP[^ ]* \([0-9]*\).*/\1/p' hdr.txt | tail -n 1)" ] || fail "status member differs from the HTTP status"
	if [ -n "${2:-}" ]; then
		[ "$(json_get resp.json 'd["invalidParams"][0]["param"]')" = "$2" ] ||
			fail "invalidParams[0].param is $(json_get resp.json 'd.get("invalidParams")'), expected $2"
	fi
	cp resp.json "problem-$n.json"
}

L3G=/msgg-l3gdelivery/v1/deliver-message
N3G=/msgg-n3gdelivery/v1/deliver-message
msg() { # msgId dest-ue
	printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"%s"},"msgId":"%s","delivStReqInd":true,"payload":"hello %s"}' "$2" "$1" "$1"
}

post "L3G over h2" 204 $L3G "$(msg l3g-1 ue-sms-1)" $M5S --http2
grep -q '^HTTP/2 204' hdr.txt || fail "not answered over HTTP/2"
post "L3G over HTTP/1.1" 204 $L3G "$(msg l3g-2 ue-sms-1)" $M5S --http1.1
grep -q '^HTTP/1.1 204' hdr.txt || fail "not answered over HTTP/1.1"
post "N3G over h2" 204 $N3G "$(msg n3g-1 ue-coap-1)" $M5S --http2
post "retried POST (idempotent)" 204 $L3G "$(msg l3g-1 ue-sms-1)" $M5S --http2
post "deliver-report" 204 /msgg-n3gdelivery/v1/deliver-report \
	'{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-coap-1"},"msgId":"up-7","delivSt":"REPT_DELY_SUCCESS"}' $M5S
c=$(sqlite3 gw.db "select count(*) from queue where msg_id='l3g-1'")
[ "$c" = 1 ] || fail "retried POST stored $c times"

post "missing msgId" 400 $L3G '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-sms-1"}}' $M5S
problem MANDATORY_IE_MISSING /msgId
post "addrType of the wrong type" 400 $N3G '{"oriAddr":{"addrType":7,"addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-coap-1"},"msgId":"x"}' $M5S --http1.1
problem MANDATORY_IE_INCORRECT /oriAddr/addrType
post "not JSON" 400 $L3G '{"oriAddr":' $M5S
problem INVALID_MSG_FORMAT
post "unknown UE" 404 $L3G "$(msg l3g-3 ue-nobody)" $M5S
problem UE_NOT_FOUND /destAddr/addr
post "body over max_body" 413 $L3G "$(msg big-1 ue-sms-1 | sed "s/hello big-1/$(head -c 3000 /dev/zero | tr '\0' x)/")" $M5S
problem INCORRECT_LENGTH
CT=text/plain
post "wrong Content-Type" 415 $L3G "$(msg l3g-4 ue-sms-1)" $M5S
problem UNSUPPORTED_MEDIA_TYPE
CT=none
post "no Content-Type" 415 $L3G "$(msg l3g-4 ue-sms-1)" $M5S
problem UNSUPPORTED_MEDIA_TYPE
CT=
post "Content-Type twice" 400 $L3G "$(msg l3g-4 ue-sms-1)" $M5S -H 'Content-Type: text/plain'
problem INVALID_MSG_FORMAT
post "unknown operation" 404 /msgg-l3gdelivery/v1/deliver-everything "$(msg l3g-5 ue-sms-1)" $M5S
problem RESOURCE_URI_STRUCTURE_NOT_FOUND
post "certificate of a device, not the M5S" 403 $L3G "$(msg l3g-6 ue-sms-1)" --cacert pki/ca.pem --cert pki/device-1.pem --key pki/device-1.key
problem CLIENT_NOT_AUTHORIZED
tail -n 1 audit.jsonl | grep -q '"cause":"CLIENT_NOT_ALLOWED"' || fail "device certificate: audit $(tail -n 1 audit.jsonl)"

# the queue's high-water mark (7; 4 entries so far): fill SOUTH (no adapter runs, so deliveries wait)
for i in 1 2 3; do post "fill $i" 204 $N3G "$(msg fill-$i ue-coap-1)" $M5S; done
post "queue full" 503 $N3G "$(msg fill-9 ue-coap-1)" $M5S
problem NF_CONGESTION
grep -qi '^retry-after: [0-9]' hdr.txt || fail "503 without Retry-After"

validate 'TS29571_CommonData.yaml#ProblemDetails' problem-*.json

# refused at the TLS handshake, each with an audit record
tls_refused() { # name curl-options...
	_name=$1
	shift
	n=$((n + 1))
	before=$(grep -c TLS_HANDSHAKE audit.jsonl)
	if curl -s -o /dev/null --data-binary @req.json -H 'Content-Type: application/json' "$@" "$base$L3G"; then
		fail "$_name: accepted"
	fi
	sleep 0.3
	after=$(grep -c TLS_HANDSHAKE audit.jsonl)
	[ "$after" -gt "$before" ] || fail "$_name: no audit record"
	echo "ok $n $_name: refused and audited"
}
msg tls-1 ue-sms-1 >req.json
tls_refused "no client certificate" --cacert pki/ca.pem
[ "$(sqlite3 gw.db "select count(*) from queue where msg_id='tls-1'")" = 0 ] || fail "the anonymous delivery was stored"
tls_refused "client certificate from another CA" --cacert pki/ca.pem --cert pki/intruder.pem --key pki/intruder.key
tls_refused "TLS 1.1 client" $M5S --tlsv1.1 --tls-max 1.1
tls_refused "client offering only CBC suites" $M5S --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA
tls_refused "client offering only NULL suites" $M5S --tls-max 1.2 --ciphers NULL-SHA256:ECDHE-ECDSA-NULL-SHA

# every audit line is JSON; no payload reached it
python3 -c '
import json,sys
for l in open("audit.jsonl"): json.loads(l)
' || fail "audit.jsonl has a line that is not JSON"
grep -q 'hello l3g' audit.jsonl && fail "a payload reached the audit log"

kill -TERM $gw; wait $gw; rc=$?; T_PIDS=""
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
