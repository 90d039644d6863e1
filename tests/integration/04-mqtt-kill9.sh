#!/bin/sh
# 04 mqtt, nothing lost, nothing twice:
# - 5 devices keep publishing 600 QoS 1 messages each (about 500/s in all) while the gateway
#   is killed (-9) five times and restarted; the M5S is down meanwhile (so what the test
#   sees is the MQTT side, not the north client's own at-least-once). When m5s-sim comes
#   up, every one of the 3,000 messages arrives, each exactly once;
# - a message the store cannot take (its write lock held by another process for 5 s) is not
#   acknowledged to the broker: the connection is dropped, the broker sends the message
#   again, and once the store is free it arrives once. If the PUBACK had gone out before the
#   message was durable (libmosquitto queues it before on_message), the broker would have
#   dropped the message and it would never arrive.
# K=5 N=600 RATE=100 (per device and second) change the load.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
K=${K:-5}
N=${N:-600}
RATE=${RATE:-100}
MQTT_NO_SIM=1
mqtt_init
for i in $(seq 1 "$K"); do
	device "dev-$i" "pw-$i"
done
start_broker
# group_commit 50ms: a commit waits up to 50 ms for more writes, so at any moment of the
# stream some messages are read but not yet durable (their PUBACKs held): the kills land
# in that window, which is what this test is about
make_gw_config "$T_DIR" "queue: { group_commit: 50ms }
$(M5S_YAML)
$(MQTT_YAML)"
: >devices.yaml
for i in $(seq 1 "$K"); do
	printf -- '- ue: ue-%d\n  mqtt: { username: dev-%d }\n' "$i" "$i" >>devices.yaml
done
start_gw gw.log

# device I: N messages k<I>-0..k<I>-(N-1), RATE a second, one QoS 1 connection (-l: a line
# each), in the background
device_pub() {
	python3 -u - "$1" "$N" "$RATE" <<'PY' |
import json, sys, time
i, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
for k in range(n):
    d = t0 + k / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
    print(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "k%s-%d" % (i, k),
                      "payload": "device %s message %d" % (i, k)}), flush=True)
PY
		timeout 120 mosquitto_pub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u "dev-$1" \
			-P "pw-$1" -i "load-$1" -V 5 -q 1 -t "$PREFIX/up/dev-$1" -l >"pub-$1.out" 2>&1
}
pubs=
for i in $(seq 1 "$K"); do
	device_pub "$i" &
	pubs="$pubs $!"
done
T_PIDS="$T_PIDS $pubs"

for round in 1 2 3 4 5; do
	sleep 0.8
	kill -9 "$GW_PID"
	wait "$GW_PID" 2>/dev/null
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $GW_PID\b//")
	note "round $round: gateway killed (-9)"
	sleep 0.4
	start_gw gw.log
done
for p in $pubs; do
	wait "$p" || fail "a device's mosquitto_pub failed: $(cat pub-*.out)"
done
note "devices done: $((K * N)) messages acknowledged by the broker"

# the M5S comes up on the port the gateway has been trying
bg "$SIM" serve --listen "127.0.0.1:$SIM_PORT" --cert pki/m5s.pem --key pki/m5s.key \
	--client-ca pki/ca.pem --record "$T_DIR/sim.jsonl" 2>sim.log
wait_records sim.jsonl $((K * N)) 'r["body"]["msgId"].startswith("k")' 60 ||
	fail "not every message arrived"
python3 - "$K" "$N" <<'PY' || fail "lost or duplicated messages"
import collections, json, sys
k, n = int(sys.argv[1]), int(sys.argv[2])
ids = collections.Counter(json.loads(l)["body"]["msgId"] for l in open("sim.jsonl"))
want = {"k%d-%d" % (i, j) for i in range(1, k + 1) for j in range(n)}
missing = sorted(want - set(ids))
dups = sorted(i for i, c in ids.items() if c > 1)
assert not missing, "%d missing: %s" % (len(missing), missing[:5])
assert not dups, "%d twice: %s" % (len(dups), dups[:5])
assert set(ids) == want, "strangers: %s" % sorted(set(ids) - want)[:5]
PY
resent=$(count broker.log "Sending PUBLISH to msgin5g-gw \(d1,")
note "the broker sent $resent messages again after the kills (unacknowledged when the gateway died)"
# the kills must have landed while messages were held, or this proved nothing
[ "$resent" -gt 0 ] || fail "no kill landed while a message was unacknowledged"
ok "$((K * N)) messages from $K devices, gateway killed -9 five times: every one at m5s-sim exactly once"

# a message the store cannot take is not acknowledged
python3 - <<'PY' &
import sqlite3, time
db = sqlite3.connect("gw.db", isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
time.sleep(5)
db.execute("ROLLBACK")
PY
locker=$!
T_PIDS="$T_PIDS $locker"
for _ in $(seq 1 100); do [ -f locked ] && break; sleep 0.1; done
[ -f locked ] || fail "no store lock"
python3 -c '
import json
for k in range(20):
    print(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "lk-%d" % k, "payload": "while locked"}))
' >lk.lines
timeout 60 mosquitto_pub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u dev-1 -P pw-1 -i lk \
	-V 5 -q 1 -t "$PREFIX/up/dev-1" -l <lk.lines >lk.out 2>&1 || fail "lk publish: $(cat lk.out)"
wait "$locker"
wait_records sim.jsonl 20 'r["body"]["msgId"].startswith("lk-")' 60 || fail "messages lost while the store was locked"
[ "$(records sim.jsonl 'r["body"]["msgId"].startswith("lk-")')" = 20 ] || fail "lk-* arrived more than once"
grep -q 'could not be stored: connection dropped without acknowledging' gw.log ||
	fail "the gateway never refused to acknowledge"
[ "$(count broker.log "Sending PUBLISH to msgin5g-gw \(d1,")" -gt "$resent" ] ||
	fail "the broker never sent a message again"
ok "store locked for 5 s: not acknowledged, sent again by the broker, all 20 arrived once"
stop_gw
echo "# $n checks; $(grep -o 'mqtt: connects.*' gw.log | tail -n 1)"
