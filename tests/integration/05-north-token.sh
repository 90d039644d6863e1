#!/bin/sh
# 05 north: a plain-HTTP lab listener (insecure: true) with a bearer token: h2c prior
# knowledge and HTTP/1.1 both served; missing or wrong token 401, right token 204.
# Then a TLS listener with insecure: true and no caller authentication (issue 12): it keeps
# TLS (plain HTTP is not served), says INSECURE loudly, and takes an anonymous caller.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
port=$(free_port)
make_gw_config "$T_DIR" "north:
  listen: { port: $port, insecure: true, bearer_token: 'tok-123' }"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
grep -q 'INSECURE' gw.log || fail "an insecure listener is not announced loudly"
url="http://127.0.0.1:$port/msgg-l3gdelivery/v1/deliver-message"
body='{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-sms-1"},"msgId":"t-1"}'
code() { curl -s -o resp.json -w '%{http_code}' -H 'Content-Type: application/json' --data "$body" "$@" "$url"; }
[ "$(code --http2-prior-knowledge)" = 401 ] || fail "no token: not 401"
[ "$(json_get resp.json 'd["cause"]')" = UNAUTHORIZED ] || fail "401 cause"
cp resp.json p401.json
[ "$(code --http1.1 -H 'Authorization: Bearer wrong')" = 401 ] || fail "wrong token: not 401"
[ "$(code --http2-prior-knowledge -H 'Authorization: Bearer tok-123')" = 204 ] || fail "h2c with token: not 204"
body=$(echo "$body" | sed 's/t-1/t-2/')
[ "$(code --http1.1 -H 'Authorization: Bearer tok-123')" = 204 ] || fail "h1 with token: not 204"
validate 'TS29571_CommonData.yaml#ProblemDetails' p401.json
grep -q 'tok-123' gw.log audit.jsonl && fail "the token reached a log"
grep -q '"cause":"TOKEN_INVALID"' audit.jsonl || fail "wrong token: no TOKEN_INVALID audit record"
grep -q '"cause":"TOKEN_MISSING"' audit.jsonl || fail "no token: no TOKEN_MISSING audit record"
kill -TERM $gw; wait $gw; T_PIDS=""

pki "$T_DIR/pki"
port=$(free_port)
make_gw_config "$T_DIR" "north:
  listen: { port: $port, insecure: true, tls: { cert: pki/gw.pem, key: pki/gw.key } }"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
wait_gw_ready gw2.log
grep -q 'INSECURE: any caller is taken for the M5S' gw2.log || fail "anonymous callers not announced loudly"
grep -q 'listening on .*TLS' gw2.log || fail "TLS not kept beside insecure: true"
url="https://127.0.0.1:$port/msgg-l3gdelivery/v1/deliver-message"
body=$(echo "$body" | sed 's/t-2/t-3/')
[ "$(code --cacert pki/ca.pem)" = 204 ] || fail "insecure TLS listener: anonymous caller not taken"
url="http://127.0.0.1:$port/msgg-l3gdelivery/v1/deliver-message"
[ "$(code --http1.1)" = 204 ] && fail "insecure TLS listener served plain HTTP"
echo ok
