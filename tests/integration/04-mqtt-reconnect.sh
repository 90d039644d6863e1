#!/bin/sh
# 04 mqtt, the broker connection over restarts (persistent session, clean start off):
# - the broker restarts under a running gateway: the gateway sees the loss, reconnects with
#   back-off once the broker is back, its session resumed (broker persistence), and serves;
# - the gateway is stopped while devices publish 50 QoS 1 messages, and the broker restarts
#   meanwhile: when the gateway starts again, all 50 arrive at m5s-sim, each once;
# - the same with the gateway speaking MQTT 3.1.1;
# - a broker that refuses MQTT 5: the gateway falls back to MQTT 3.1.1;
# - lab.keylog holds the TLS secrets of each broker connection.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
mqtt_init
device dev-1 pw-one
start_broker
make_gw_config "$T_DIR" "lab: { enable: true, keylog: keys.log }
$(M5S_YAML)
$(MQTT_YAML)"
start_gw gw.log

pub dev-1 pw-one up/dev-1 "$(body before-1)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="before-1"' || fail "before-1 never reached m5s-sim"

# 1. the broker restarts under the gateway
stop_broker
wait_for_line gw.log 'connection lost' 10 || fail "the gateway did not notice the broker going"
sleep 2 # a few refused attempts
[ "$(count gw.log 'cannot connect')" -ge 1 ] || fail "no failed reconnect attempt logged"
start_broker
wait_for_line gw.log "connected as 'msgin5g-gw' \(MQTT 5, TLS, session resumed\)" 20 ||
	fail "no reconnect with the session resumed: $(tail -n 5 gw.log)"
pub dev-1 pw-one up/dev-1 "$(body after-restart)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="after-restart"' || fail "nothing arrives after the broker restart"
ok "broker restart: loss seen, reconnected with back-off, session resumed, serving again"
# lab.keylog covers the broker connection: TLS 1.3 secrets of the connections so far. Not
# always both: libmosquitto makes the TLS context inside its connect call and starts the
# handshake there, so on a loaded machine the broker's whole flight can be read before the
# gateway can hang the key log on it (doc/internals/mqtt.md); one connection at least.
[ "$(count keys.log '^CLIENT_TRAFFIC_SECRET_0 ')" -ge 1 ] ||
	fail "lab.keylog has no TLS secrets of the broker connections: $(cut -c1-40 keys.log 2>/dev/null)"
ok "lab.keylog: TLS 1.3 secrets of the broker connections ($(count keys.log '^CLIENT_TRAFFIC_SECRET_0 ') of 2)"

# burst N PREFIX: N QoS 1 messages from dev-1 on one connection (mosquitto_pub -l)
burst() {
	python3 -c '
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"destAddr": {"addrType": "AS", "addr": "as-1"}, "msgId": "%s-%d" % (sys.argv[2], i), "payload": "queued %d" % i}))
' "$1" "$2" >"$2.lines"
	timeout 60 mosquitto_pub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u dev-1 -P pw-one \
		-i "burst-$2" -V 5 -q 1 -t "$PREFIX/up/dev-1" -l <"$2.lines" >"$2.out" 2>&1 ||
		fail "burst $2: $(cat "$2.out")"
}
# once PREFIX N: each of PREFIX-0..N-1 at m5s-sim exactly once
once() {
	wait_records sim.jsonl "$2" "r[\"body\"][\"msgId\"].startswith(\"$1-\")" 30 || fail "$1: not all $2 arrived"
	python3 - "$1" "$2" <<'PY' || fail "$1: duplicates or strangers"
import collections, json, sys
ids = [json.loads(l)["body"]["msgId"] for l in open("sim.jsonl")]
mine = collections.Counter(i for i in ids if i.startswith(sys.argv[1] + "-"))
want = {"%s-%d" % (sys.argv[1], i) for i in range(int(sys.argv[2]))}
assert set(mine) == want, "missing %s" % sorted(want - set(mine))[:5]
dups = [k for k, c in mine.items() if c > 1]
assert not dups, "duplicates %s" % dups[:5]
PY
}

# 2. the gateway away while devices publish; the broker restarts meanwhile
stop_gw
burst 50 away
stop_broker
start_broker
start_gw gw.log
grep -q "session resumed" gw.log || fail "session not resumed"
once away 50
ok "gateway away (and broker restarted) while 50 QoS 1 messages were published: all 50 arrived once"

# 3. the same over MQTT 3.1.1 (its own client id: a session of its own)
stop_gw
printf '  protocol: "3.1.1"\n  client_id: msgin5g-gw-311\n' >>gw.yaml
start_gw gw.log
stop_gw
burst 30 v311
start_gw gw.log
wait_for_line gw.log "connected as 'msgin5g-gw-311' \(MQTT 3.1.1, TLS, session resumed\)" 5 ||
	fail "3.1.1 session not resumed"
once v311 30
ok "MQTT 3.1.1 gateway away while 30 messages were published: all 30 arrived once"
stop_gw
echo "# $(grep -o 'mqtt: connects.*' gw.log | tail -n 1)"

# 4. a broker that speaks only MQTT 3.1.1 (a minimal one here: it refuses a level 5 CONNECT
# with the 3.1.1 CONNACK "unacceptable protocol version"): the gateway falls back to 3.1.1
cat >v311-broker.py <<'PY'
import os, socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
open("v311.port.tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename("v311.port.tmp", "v311.port")
def packet(c):
    h = c.recv(1)
    if not h:
        return None, b""
    mult, rl = 1, 0
    while True:
        b = c.recv(1)[0]
        rl += (b & 127) * mult
        mult *= 128
        if b < 128:
            break
    body = b""
    while len(body) < rl:
        more = c.recv(rl - len(body))
        if not more:
            return None, b""
        body += more
    return h[0] >> 4, body
while True:
    c, _ = s.accept()
    t, body = packet(c)
    if t != 1:
        c.close()
        continue
    print("CONNECT level %d" % body[6], flush=True)
    if body[6] != 4:
        c.sendall(b"\x20\x02\x00\x01")
        c.close()
        continue
    c.sendall(b"\x20\x02\x00\x00")
    while True:
        t, body = packet(c)
        if t is None or t == 14:
            break
        if t == 8:
            i, n = 2, 0
            while i < len(body):
                i += 2 + struct.unpack(">H", body[i:i + 2])[0] + 1
                n += 1
            c.sendall(bytes([0x90, 2 + n]) + body[:2] + bytes([1] * n))
            print("SUBSCRIBE %d topics" % n, flush=True)
        elif t == 12:
            c.sendall(b"\xd0\x00")
    c.close()
PY
bg python3 v311-broker.py >v311.log 2>&1
for _ in $(seq 1 50); do [ -f v311.port ] && break; sleep 0.1; done
[ -f v311.port ] || fail "the 3.1.1 broker did not start"
sed -e "s|^  broker: .*|  broker: { host: 127.0.0.1, port: $(cat v311.port) }\n  insecure: true\n  client_id: gw-fallback|" \
	-e '/^  protocol: /d' -e '/^  client_id: msgin5g-gw-311/d' gw.yaml >gw-fb.yaml
grep -q 'protocol' gw-fb.yaml && fail "gw-fb.yaml still names a protocol"
bg "$GW" -c "$T_DIR/gw-fb.yaml" 2>gw-fb.log
fb=$BG_PID
wait_for_line gw-fb.log 'falling back to MQTT 3.1.1' 20 || fail "no fallback to 3.1.1"
wait_for_line gw-fb.log "connected as 'gw-fallback' \(MQTT 3.1.1, NO TLS" 20 || fail "not connected over 3.1.1"
wait_for_line v311.log 'SUBSCRIBE 2 topics' 10 || fail "no subscription over 3.1.1"
grep -q 'CONNECT level 5' v311.log && grep -q 'CONNECT level 4' v311.log || fail "CONNECTs: $(cat v311.log)"
kill -TERM $fb; wait $fb || fail "gateway (fallback) exit $?"
T_PIDS=$(echo "$T_PIDS" | sed "s/ $fb\b//")
ok "a broker without MQTT 5 (CONNACK 'unacceptable protocol version'): fell back to 3.1.1, subscribed"
echo "# $n checks"
