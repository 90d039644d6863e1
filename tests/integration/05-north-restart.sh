#!/bin/sh
# 05 north: the M5S is down, 5,000 messages from 10 devices are queued (each acknowledged to
# its device only once durable), the gateway is killed (-9) in the middle and restarted,
# then the M5S comes back: all 5,000 arrive exactly once, in per-originator order.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
simport=$(free_port)
tport=$(free_port)
psk_devices 10
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
north:
  m5s:
    api_root: https://127.0.0.1:$simport
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    retry_min: 100ms
    retry_max: 1s
    max_inflight: 64
testdev: { port: $tport, insecure: true }
Y
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log

# M5S down: 250 messages per device, first half
$TESTDEV inject --port "$tport" --devices "$devs" --count 250 --prefix a >inj1.txt || fail "inject 1: $(cat inj1.txt)"
grep -q 'acked 2500 of 2500' inj1.txt || fail "inject 1: $(cat inj1.txt)"
kill -9 $gw
wait $gw 2>/dev/null
T_PIDS=""
note "killed the gateway (-9) with $(sqlite3 gw.db "select count(*) from queue where q=0 and state=0") queued"

bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
gw=$BG_PID
wait_gw_ready gw2.log
$TESTDEV inject --port "$tport" --devices "$devs" --count 250 --prefix b >inj2.txt || fail "inject 2: $(cat inj2.txt)"
grep -q 'acked 2500 of 2500' inj2.txt || fail "inject 2: $(cat inj2.txt)"
sleep 1
[ "$(records sim.jsonl)" = 0 ] || fail "something was delivered while the M5S was down"

# the M5S comes back on the same port
bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem 2>sim.log
wait_records sim.jsonl 5000 'r["status"]==200' 120 || fail "not all 5000 delivered"
sleep 1
python3 - sim.jsonl <<'PY' || fail "duplicates or order broken"
import json, sys, collections
rs = [r for r in map(json.loads, open(sys.argv[1])) if r["status"] == 200]
ids = [(r["body"]["oriAddr"]["addr"], r["body"]["msgId"]) for r in rs]
dups = [k for k, c in collections.Counter(ids).items() if c > 1]
assert not dups, "duplicates: %s" % dups[:5]
assert len(ids) == 5000, len(ids)
seq = collections.defaultdict(list)
for ue, mid in ids:
    p, dev, n = mid.split("-", 2)[0], mid.split("-")[1], int(mid.rsplit("-", 1)[1])
    seq[ue].append((p, n))
for ue, s in seq.items():
    assert s == sorted(s), "order broken for %s" % ue
    assert len(s) == 500, (ue, len(s))
print("5000 delivered once, in per-originator order, over %d originators" % len(seq))
PY
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$BG_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
