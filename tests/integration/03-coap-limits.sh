#!/bin/sh
# 03 coap, limits, each with its config key, its refusal and its counter:
# coap.rate/burst (4.29 + Max-Age, audited RATE), coap.max_sessions (handshake refused,
# audited MAX_SESSIONS), coap.idle_timeout (idle sessions closed), coap.handshake_rate
# (per source address, audited HANDSHAKE_RATE), queue.high_water (5.03 + Max-Age); the
# counters are logged at stop.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
gwconf() { # extra coap keys
	make_gw_config "$T_DIR" "$(M5S_YAML)
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
$1"
	for i in 2 3; do
		printf -- '- ue: ue-coap-%d\n  coap: { psk_identity: sensor-%d, psk: "secretPSK%d" }\n  allow: [ "AS:as-1" ]\n' $i $i $i >>devices.yaml
	done
}
gwconf "  rate: 1
  burst: 2
  max_sessions: 2
  idle_timeout: 3s
  handshake_rate: 100"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
post() { # name identity key msgId
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s"}' "$4" >"$1.json"
	timeout 20 $CC -v 6 -B 8 -m post -t json -f "$1.json" -u "$2" -k "$3" \
		"coaps://127.0.0.1:$cport/msg" >"$1.out" 2>&1
}
audits() { grep -c "\"cause\":\"$1\"" audit.jsonl; }

# 1. rate 1/s, burst 2: the third message at once is 4.29 with Max-Age, audited
post r1 sensor-1 secretPSK rate-1
post r2 sensor-1 secretPSK rate-2
post r3 sensor-1 secretPSK rate-3
[ "$(code r1) $(code r2)" = "2.04 2.04" ] || fail "within the burst: $(code r1) $(code r2)"
[ "$(code r3)" = 4.29 ] || fail "over the rate: $(code r3), want 4.29"
grep -q 'Max-Age' r3.out || fail "4.29 without Max-Age"
[ "$(audits RATE)" -ge 1 ] || fail "no RATE audit record"
ok "coap.rate: third message at once is 4.29 with Max-Age, audited"
sleep 2
post r4 sensor-1 secretPSK rate-4
[ "$(code r4)" = 2.04 ] || fail "after the bucket refilled: $(code r4)"
ok "coap.rate: accepted again once the bucket refilled"

# 2. max_sessions 2: two observing devices hold their sessions, a third handshake fails
for i in 1 2; do
	k=secretPSK; [ $i = 1 ] || k=secretPSK$i
	timeout 20 $CC -s 10 -B 10 -u sensor-$i -k $k "coaps://127.0.0.1:$cport/inbox" >obs$i.out 2>&1 &
	T_PIDS="$T_PIDS $!"
done
wait_for_line gw.log 'sensor-2 \(UE' 10 || fail "second observer not up"
sleep 0.3
post m3 sensor-3 secretPSK3 max-3
[ -z "$(code m3)" ] || fail "a third session was served: $(code m3)"
[ "$(audits MAX_SESSIONS)" -ge 1 ] || fail "no MAX_SESSIONS audit record"
ok "coap.max_sessions 2: a third handshake refused, audited"

# 3. idle_timeout 3s: the silent observers' sessions are closed
wait_for_line gw.log 'idle: session closed' 10 || fail "no idle session closed"
ok "coap.idle_timeout: idle sessions closed"
[ "$(records sim.jsonl 'r["body"]["msgId"]=="max-3"')" = 0 ] || fail "the refused session's message arrived"

kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
counters=$(grep -o 'coap: sessions.*' gw.log | tail -n 1)
echo "# $counters"
echo "$counters" | grep -Eq 'max_sessions [1-9]' || fail "max_sessions counter"
echo "$counters" | grep -Eq ' rate [1-9]' || fail "rate counter"
echo "$counters" | grep -Eq 'idle closed [1-9]' || fail "idle counter"

# 4. handshake_rate 2/s (burst 4) per source address: a burst of handshakes, some refused
gwconf "  handshake_rate: 2"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
gw=$BG_PID
wait_gw_ready gw2.log
for i in 1 2 3 4 5 6 7 8; do post h$i sensor-1 secretPSK hs-$i; done
served=0
for i in 1 2 3 4 5 6 7 8; do [ "$(code h$i)" = 2.04 ] && served=$((served + 1)); done
[ $served -ge 4 ] && [ $served -lt 8 ] || fail "handshake_rate: $served of 8 served"
[ "$(audits HANDSHAKE_RATE)" -ge 1 ] || fail "no HANDSHAKE_RATE audit record"
kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
grep -o 'coap: sessions.*' gw2.log | tail -n 1 | grep -Eq 'handshake_rate [1-9]' || fail "handshake_rate counter"
ok "coap.handshake_rate: $served of 8 rapid handshakes served, the rest refused and audited"

# 5. the queue at its high-water mark (no M5S configured: messages stay queued): 5.03 + Max-Age
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: info }
queue: { high_water: 2 }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  retry_after: 7s
Y
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw3.log
gw=$BG_PID
wait_gw_ready gw3.log
post q1 sensor-1 secretPSK full-1
post q2 sensor-1 secretPSK full-2
post q3 sensor-1 secretPSK full-3
[ "$(code q1) $(code q2)" = "2.04 2.04" ] || fail "below high_water: $(code q1) $(code q2)"
[ "$(code q3)" = 5.03 ] || fail "at high_water: $(code q3), want 5.03"
grep -q 'Max-Age:7' q3.out || fail "5.03 without Max-Age 7: $(grep 'c:5.03' q3.out)"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
ok "queue.high_water: 5.03 with Max-Age (coap.retry_after)"
echo "# $n checks"
