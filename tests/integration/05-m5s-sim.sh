#!/bin/sh
# 05 north, m5s-sim itself (the reference MSGin5G Server the other north tests rely on),
# driven by the real curl CLI over TLS with a client certificate (h2 and HTTP/1.1):
# valid UEMessageDelivery -> 200 MessageDeliveryAck (schema-valid), invalid -> 400
# ProblemDetails naming the member, script rules (stored, failed, status=503:1 with
# Retry-After, delay, times=, drop), SIGHUP reload, no client certificate -> refused,
# bearer token, 404/405, one JSON line per request; m5s-sim push (single and --count),
# exit 3 on a 404 from a second instance; clean exit 0 on SIGTERM/SIGINT (ASan/LSan builds
# make a leak a non-zero exit).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
command -v curl >/dev/null || skip "curl CLI missing"
pki "$T_DIR/pki"
cat >script.txt <<'S'
# rules of the lead's 05-north-client test, plus a few
msgId=stored-* stored
msgId=fail-* failed:no such application
msgId=retry-* status=503:1 times=2
msgId=slow-* delay=700
path=*/deliver-report msgId=late-* status=429:7
* ok
S
start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem --script script.txt
sim=$SIM_PID
grep -qF "m5s-sim: listening on 127.0.0.1:$SIM_PORT (h2, http/1.1)" sim.log || fail "no listening line: $(cat sim.log)"
base="https://127.0.0.1:$SIM_PORT/msgs-msgdelivery/v1"
ue() { # msgId [extra members]
	printf '{"oriAddr":{"addrType":"UE","addr":"ue-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","stoAndFwInd":false,"payload":"hi"%s}' "$1" "${2:-}"
}
# post BODY [path [curl args]]: the answer in resp.json, headers in hdr.txt; prints
# "<status> <http version>"
post() {
	_b=$1 _p=${2:-deliver-ue-message}
	if [ $# -ge 2 ]; then shift 2; else shift $#; fi
	curl -sS --cacert pki/ca.pem --cert pki/gw.pem --key pki/gw.key \
		-H 'Content-Type: application/json' --data-binary "$_b" -o resp.json -D hdr.txt \
		-w '%{http_code} %{http_version}' "$@" "$base/$_p"
}

# 1. valid UEMessageDelivery over h2 + mTLS -> 200 ack, recorded
out=$(post "$(ue up-1)" deliver-ue-message --http2) || fail "curl h2"
[ "$out" = "200 2" ] || fail "h2: $out $(cat resp.json)"
[ "$(json_get resp.json 'd["msgId"]')" = up-1 ] || fail "ack msgId: $(cat resp.json)"
[ "$(json_get resp.json 'd["oriAddr"]["addr"]')" = ue-1 ] || fail "ack oriAddr: $(cat resp.json)"
[ "$(json_get resp.json '"status" in d')" = False ] || fail "ack has a status: $(cat resp.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#MessageDeliveryAck' resp.json
[ "$(records sim.jsonl 'r["body"]["msgId"]=="up-1" and r["proto"]=="h2" and r["client_cn"]=="msgin5g-gw" and r["valid"] and r["status"]==200 and r["auth"] is None and r["cause"] is None and r["path"]=="/msgs-msgdelivery/v1/deliver-ue-message" and r["seq"]==1')" = 1 ] ||
	fail "record of up-1: $(cat sim.jsonl)"
python3 - sim.jsonl <<'PY' || fail "record time is not RFC 3339 UTC with ms"
import json, re, sys
r = json.loads(open(sys.argv[1]).readline())
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]), r["time"]
PY
echo "ok 1 h2 + mTLS: 200 MessageDeliveryAck, schema-valid, recorded"

# 2. the same over HTTP/1.1
out=$(post "$(ue up-h1)" deliver-ue-message --http1.1) || fail "curl h1"
[ "$out" = "200 1.1" ] || fail "h1: $out $(cat resp.json)"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="up-h1" and r["proto"]=="http/1.1" and r["status"]==200')" = 1 ] ||
	fail "record of up-h1: $(tail -n 1 sim.jsonl)"
echo "ok 2 HTTP/1.1"

# 3. invalid: destAddr missing -> 400 ProblemDetails naming /destAddr
out=$(post '{"oriAddr":{"addrType":"UE","addr":"ue-1"},"msgId":"inv-1","stoAndFwInd":false}') || fail "curl"
[ "${out%% *}" = 400 ] || fail "invalid body: $out $(cat resp.json)"
grep -qi '^content-type: application/problem+json' hdr.txt || fail "content type: $(cat hdr.txt)"
[ "$(json_get resp.json 'd["cause"]')" = MANDATORY_IE_MISSING ] || fail "cause: $(cat resp.json)"
[ "$(json_get resp.json 'd["invalidParams"][0]["param"]')" = /destAddr ] || fail "param: $(cat resp.json)"
validate 'TS29571_CommonData.yaml#ProblemDetails' resp.json
[ "$(records sim.jsonl 'r["body"].get("msgId")=="inv-1" and not r["valid"] and r["status"]==400 and "/destAddr" in r["cause"]')" = 1 ] ||
	fail "record of inv-1: $(tail -n 1 sim.jsonl)"
# not JSON at all: recorded as the raw string
out=$(post 'not json') || fail "curl"
[ "${out%% *}" = 400 ] || fail "non-JSON: $out"
[ "$(records sim.jsonl 'r["body"]=="not json" and r["status"]==400')" = 1 ] || fail "raw body: $(tail -n 1 sim.jsonl)"
# a wrong type in a member
out=$(post "$(ue inv-2 ',"delivStReqInd":"yes"')") || fail "curl"
[ "${out%% *}" = 400 ] && [ "$(json_get resp.json 'd["invalidParams"][0]["param"]')" = /delivStReqInd ] ||
	fail "wrong type: $out $(cat resp.json)"
echo "ok 3 invalid bodies: 400 ProblemDetails naming the member"

# 4. script: stored, failed with a cause, 503 + Retry-After twice then 200, delay, 429 on a path
out=$(post "$(ue stored-1)") || fail "curl"
[ "${out%% *}" = 200 ] && [ "$(json_get resp.json 'd["status"]')" = DELY_STORED ] || fail "stored: $out $(cat resp.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#MessageDeliveryAck' resp.json
out=$(post "$(ue fail-1)") || fail "curl"
[ "$(json_get resp.json 'd["status"]')" = DELY_FAILED ] || fail "failed: $out $(cat resp.json)"
[ "$(json_get resp.json 'd["failureCause"]')" = "no such application" ] || fail "failureCause: $(cat resp.json)"
validate 'TS29538_MSGS_MSGDelivery.yaml#MessageDeliveryAck' resp.json
for i in 1 2; do
	out=$(post "$(ue retry-1)") || fail "curl"
	[ "${out%% *}" = 503 ] || fail "retry $i: $out"
	grep -qi '^retry-after: 1' hdr.txt || fail "Retry-After: $(cat hdr.txt)"
	[ "$(json_get resp.json 'd["cause"]')" = NF_CONGESTION ] || fail "503 cause: $(cat resp.json)"
done
validate 'TS29571_CommonData.yaml#ProblemDetails' resp.json
out=$(post "$(ue retry-1)") || fail "curl"
[ "${out%% *}" = 200 ] || fail "times=2 not used up: $out"
t=$(curl -sS --cacert pki/ca.pem --cert pki/gw.pem --key pki/gw.key -H 'Content-Type: application/json' \
	--data-binary "$(ue slow-1)" -o resp.json -w '%{http_code} %{time_total}' "$base/deliver-ue-message")
[ "${t%% *}" = 200 ] || fail "delay: $t"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.65 else 1)" "${t#* }" || fail "not delayed: $t"
rep='{"oriAddr":{"addrType":"UE","addr":"ue-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"late-1","delivSt":"REPT_DELY_SUCCESS"}'
out=$(post "$rep" deliver-report) || fail "curl"
[ "${out%% *}" = 429 ] && grep -qi '^retry-after: 7' hdr.txt || fail "429 on the report path: $out $(cat hdr.txt)"
[ "$(json_get resp.json 'd["cause"]')" = NF_CONGESTION_RISK ] || fail "429 cause: $(cat resp.json)"
out=$(post "$(ue late-2)") || fail "curl"
[ "${out%% *}" = 200 ] || fail "path= matched another path: $out"
python3 - sim.jsonl <<'PY' || fail "script statuses in the record"
import json, sys
rs = list(map(json.loads, open(sys.argv[1])))
st = lambda m: [r["status"] for r in rs if isinstance(r["body"], dict) and r["body"].get("msgId") == m]
assert st("stored-1") == [200] and st("fail-1") == [200], (st("stored-1"), st("fail-1"))
assert st("retry-1") == [503, 503, 200], st("retry-1")
assert st("slow-1") == [200] and st("late-1") == [429], (st("slow-1"), st("late-1"))
assert [r["seq"] for r in rs] == list(range(1, len(rs) + 1)), "seq"
PY
echo "ok 4 script: stored, failed, 503 + Retry-After times=2, delay, 429 on a path"

# 5. a valid report -> 200 ack; unknown path -> 404; GET -> 405
rep='{"oriAddr":{"addrType":"UE","addr":"ue-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"r-1","delivSt":"REPT_DELY_FAILED","failureCause":"gone"}'
out=$(post "$rep" deliver-report) || fail "curl"
[ "${out%% *}" = 200 ] && [ "$(json_get resp.json 'd["msgId"]')" = r-1 ] || fail "report: $out $(cat resp.json)"
out=$(post "$(ue x-1)" nothing-here) || fail "curl"
[ "${out%% *}" = 404 ] || fail "unknown path: $out"
[ "$(json_get resp.json 'd["status"]')" = 404 ] || fail "404 body: $(cat resp.json)"
out=$(curl -sS --cacert pki/ca.pem --cert pki/gw.pem --key pki/gw.key -o resp.json -w '%{http_code}' \
	"$base/deliver-ue-message") || fail "curl GET"
[ "$out" = 405 ] || fail "GET: $out"
echo "ok 5 report acked; 404 and 405 ProblemDetails"

# 6. no client certificate: the handshake is refused, nothing recorded
n=$(records sim.jsonl)
if out=$(curl -sS --http2 --cacert pki/ca.pem -H 'Content-Type: application/json' \
	--data-binary "$(ue nocert-1)" -o resp.json -w '%{http_code}' "$base/deliver-ue-message" 2>curl.err); then
	[ "$out" = 000 ] || fail "served without a client certificate: $out"
fi
# and a certificate from a CA the server does not trust
if out=$(curl -sS --cacert pki/ca.pem --cert pki/intruder.pem --key pki/intruder.key \
	--data-binary "$(ue nocert-2)" -o resp.json -w '%{http_code}' "$base/deliver-ue-message" 2>curl.err); then
	[ "$out" = 000 ] || fail "served an untrusted client certificate: $out"
fi
sleep 0.3
[ "$(records sim.jsonl)" = "$n" ] || fail "a request without a valid client certificate was recorded"
echo "ok 6 missing or untrusted client certificate refused"

# 7. SIGHUP reloads the script (a broken one is refused, the old one stays)
echo '* bogus' >bad.txt
cp script.txt good.txt
cp bad.txt script.txt
kill -HUP "$sim"
sleep 0.3
out=$(post "$(ue stored-2)") || fail "curl"
[ "$(json_get resp.json 'd["status"]')" = DELY_STORED ] || fail "a broken script replaced the rules: $(cat resp.json)"
grep -q 'keeping the previous script' sim.log || fail "no reload error: $(cat sim.log)"
echo '* failed:maintenance' >script.txt
kill -HUP "$sim"
wait_for_line sim.log 'reloaded' 10 || fail "no reload"
out=$(post "$(ue any-1)") || fail "curl"
[ "$(json_get resp.json 'd["status"]')" = DELY_FAILED ] && [ "$(json_get resp.json 'd["failureCause"]')" = maintenance ] ||
	fail "SIGHUP: $(cat resp.json)"
echo "ok 7 SIGHUP reloads the script"

# 8. push --count to this server (h2 multiplexed, mTLS): all recorded with msgIds ID-0..ID-N-1
ue direct >direct.json
"$SIM" push --url "$base/deliver-ue-message" --cacert pki/ca.pem --cert pki/gw.pem --key pki/gw.key \
	--http2 --body-file direct.json --count 40 --concurrency 8 >push.txt 2>push.err ||
	fail "push --count: $(cat push.txt push.err)"
grep -Eq '^pushed 40: 40 ok, 0 failed, [0-9.]+ msgs/s$' push.txt || fail "push summary: $(cat push.txt)"
[ "$(records sim.jsonl 'isinstance(r["body"], dict) and r["body"].get("msgId","").startswith("direct-") and r["proto"]=="h2"')" = 40 ] ||
	fail "not 40 records of push"
python3 - sim.jsonl <<'PY' || fail "push msgIds"
import json, sys
ids = sorted(r["body"]["msgId"] for r in map(json.loads, open(sys.argv[1]))
             if isinstance(r["body"], dict) and r["body"].get("msgId", "").startswith("direct-"))
assert ids == sorted("direct-%d" % i for i in range(40)), ids
PY
# a TLS server push without --cacert does not trust the test CA
if "$SIM" push --url "$base/deliver-ue-message" --cert pki/gw.pem --key pki/gw.key --body-file direct.json >push.txt 2>push.err; then
	fail "push trusted an unknown CA"
fi
echo "ok 8 push --count: 40 h2 deliveries, recorded with ID-0..ID-39"

# 9. a second instance, plain with a bearer token: 401 without it; push to a msgg path -> exit 3 "HTTP 404"
start_sim tok --insecure --token s3cret
plain="http://127.0.0.1:$SIM_PORT"
out=$(curl -sS --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary "$(ue t-1)" \
	-o resp.json -D hdr.txt -w '%{http_code} %{http_version}' "$plain/msgs-msgdelivery/v1/deliver-ue-message") || fail "curl h2c"
[ "$out" = "401 2" ] || fail "no token: $out"
grep -qi '^www-authenticate: Bearer' hdr.txt || fail "WWW-Authenticate: $(cat hdr.txt)"
out=$(curl -sS --http2-prior-knowledge -H 'Authorization: Bearer s3cret' -H 'Content-Type: application/json' \
	--data-binary "$(ue t-2)" -o resp.json -w '%{http_code}' "$plain/msgs-msgdelivery/v1/deliver-ue-message") || fail "curl"
[ "$out" = 200 ] || fail "with token: $out"
out=$(curl -sS --http1.1 -H 'Authorization: Bearer guess' -H 'Content-Type: application/json' \
	--data-binary "$(ue t-3)" -o resp.json -w '%{http_code}' "$plain/msgs-msgdelivery/v1/deliver-ue-message") || fail "curl"
[ "$out" = 401 ] || fail "wrong token: $out"
[ "$(json_get resp.json 'd["status"]')" = 401 ] || fail "401 body: $(cat resp.json)"
[ "$(records tok.jsonl 'r["auth"] is None and r["status"]==401 and r["proto"]=="h2c" and r["client_cn"] is None')" = 1 ] ||
	fail "401 record without a token: $(cat tok.jsonl)"
[ "$(records tok.jsonl 'r["auth"]=="bad" and r["status"]==401 and r["proto"]=="http/1.1" and "guess" not in json.dumps(r)')" = 1 ] ||
	fail "401 record with a wrong token: $(cat tok.jsonl)"
grep -q "m5s-sim: listening on 127.0.0.1:$SIM_PORT (h2c, http/1.1)" tok.log || fail "plain listening line: $(cat tok.log)"
[ "$(records tok.jsonl 'r["auth"]=="ok" and r["status"]==200')" = 1 ] || fail "200 record: $(cat tok.jsonl)"
"$SIM" push --url "$plain/msgs-msgdelivery/v1/deliver-ue-message" --insecure --http1 --token s3cret \
	--body "$(ue p-0)" >push.txt || fail "push with token: $(cat push.txt)"
head -n 1 push.txt | grep -qx 'HTTP 200' || fail "push output: $(cat push.txt)"
rc=0
"$SIM" push --url "$plain/msgg-l3gdelivery/v1/deliver-message" --insecure --http2 --token s3cret \
	--l3g --from AS:as-1 --to UE:ue-1 --msg-id p-1 --payload hi --report-required >push.txt || rc=$?
[ $rc -eq 3 ] || fail "push to a msgg path: exit $rc"
head -n 1 push.txt | grep -qx 'HTTP 404' || fail "push output: $(cat push.txt)"
body_of tok.jsonl 0 'r["path"]=="/msgg-l3gdelivery/v1/deliver-message"' >l3g.json
validate 'TS29538_MSGG_L3GDelivery.yaml#L3gMessageDelivery' l3g.json
[ "$(json_get l3g.json 'd["delivStReqInd"]')" = True ] || fail "L3G body: $(cat l3g.json)"
echo "ok 9 bearer token (h2c); push exit 3 on HTTP 404, L3gMessageDelivery schema-valid"

# 10. usage errors exit 1 with a reason; SIGTERM exits 0
rc=0; "$SIM" serve --listen 127.0.0.1:0 2>err.txt || rc=$?
[ $rc -eq 1 ] && grep -q 'record' err.txt || fail "usage: exit $rc $(cat err.txt)"
rc=0; "$SIM" serve --listen 127.0.0.1:0 --record x.jsonl --insecure --script bad.txt 2>err.txt || rc=$?
[ $rc -eq 1 ] && grep -q 'bad.txt:1:' err.txt || fail "bad script: exit $rc $(cat err.txt)"
rc=0; "$SIM" push --url http://127.0.0.1:1/x --l3g --from AS:a --to UE:b --msg-id m 2>err.txt || rc=$?
[ $rc -eq 1 ] && grep -q 'insecure' err.txt || fail "http without --insecure: exit $rc $(cat err.txt)"
# drop: recorded at once with status 0, no answer; a request in flight under delay= is
# answered before the exit
printf 'msgId=hold-* delay=5000\nmsgId=drop-* drop\n* ok\n' >script.txt
kill -HUP "$sim"
wait_for_line sim.log 'reloaded \(3 rules\)' 10 || fail "no reload"
rc=0; post "$(ue drop-1)" deliver-ue-message --max-time 1 >drop.txt 2>&1 || rc=$?
[ $rc -eq 28 ] || fail "drop: curl exit $rc (not a timeout): $(cat drop.txt)"
[ "$(records sim.jsonl 'isinstance(r["body"], dict) and r["body"].get("msgId")=="drop-1" and r["status"]==0 and r["cause"]=="dropped" and r["valid"]')" = 1 ] ||
	fail "drop record: $(tail -n 1 sim.jsonl)"
post "$(ue hold-1)" >hold.txt 2>&1 &
cpid=$!
sleep 0.5
rc=0; stop_pid "$sim" || rc=$?
T_PIDS=$(echo "$T_PIDS" | sed "s/\b$sim\b//")
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc $(tail -n 5 sim.log)"
wait $cpid
grep -q '^200' hold.txt || fail "held request not answered at exit: $(cat hold.txt)"
[ "$(records sim.jsonl 'isinstance(r["body"], dict) and r["body"].get("msgId")=="hold-1" and r["status"]==200')" = 1 ] ||
	fail "held request not recorded"
rc=0; stop_pid "$SIM_PID" INT || rc=$?
[ "$rc" = 0 ] || fail "SIGINT: exit $rc"
T_PIDS=""
echo "ok 10 usage errors exit 1; SIGTERM/SIGINT exit 0, held requests answered"
