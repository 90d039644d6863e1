#!/bin/sh
# 05 north under load, server-auth TLS and the static bearer token (h2load cannot present a
# client certificate):
# - h2load: 10,000 POSTs over 100 concurrent h2 streams, all answered 204; h2load sends one
#   body for every request, so this also shows idempotence under load: stored exactly once;
# - m5s-sim push: 10,000 distinct deliveries over 100 concurrent h2 streams: every one
#   answered 204 and stored exactly once.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
command -v h2load >/dev/null || skip "h2load (nghttp2-client) missing"
pki "$T_DIR/pki"
port=$(free_port)
make_gw_config "$T_DIR" "queue: { high_water: 1000000 }
north:
  listen: { port: $port, tls: { cert: pki/gw.pem, key: pki/gw.key }, bearer_token: load-token }"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
url="https://127.0.0.1:$port/msgg-n3gdelivery/v1/deliver-message"

printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-mqtt-1"},"msgId":"h2load-1","payload":"same body"}' >same.json
h2load -n 10000 -c 1 -m 100 -d same.json -H 'Content-Type: application/json' -H 'Authorization: Bearer load-token' "$url" >h2load.txt 2>&1 ||
	fail "h2load: $(tail -n 5 h2load.txt)"
grep -E '^requests:|^status codes:|^finished' h2load.txt
grep -Eq '^requests: 10000 total, 10000 started, 10000 done, 10000 succeeded, 0 failed, 0 errored' h2load.txt ||
	fail "not all 10000 succeeded"
grep -Eq '^status codes: 10000 2xx' h2load.txt || fail "not all 2xx"
[ "$(sqlite3 gw.db "select count(*) from queue where msg_id='h2load-1'")" = 1 ] || fail "h2load body not stored exactly once"

"$SIM" push --url "$url" --cacert pki/ca.pem --token load-token --http2 --n3g --from AS:as-1 --to UE:ue-mqtt-1 \
	--msg-id load --payload "load test" --count 10000 --concurrency 100 >push.txt 2>&1 ||
	fail "push: $(cat push.txt)"
cat push.txt
grep -q 'pushed 10000: 10000 ok, 0 failed' push.txt || fail "not all 10000 accepted"
n=$(sqlite3 gw.db "select count(*), count(distinct msg_id) from queue where q=1 and msg_id like 'load-%'")
[ "$n" = "10000|10000" ] || fail "stored $n (count|distinct), expected 10000|10000"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS=""
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo ok
