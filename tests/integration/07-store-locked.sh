#!/bin/sh
# 07 store, locked by another process while deliveries are in flight (issue 12 item 1b, 1c):
# 300 messages from 10 devices; the M5S holds the first message of each device 2.5 s before
# its 200; meanwhile another process takes the store's write lock (BEGIN IMMEDIATE) for 8 s,
# so the DONE of those 10 cannot be written when the 200s come. Checked:
# - every acknowledged message is delivered, each POSTed exactly once, without a restart
#   (the old code forgot the entries left INFLIGHT: their devices' queues stuck until a
#   restart, which then sent them again);
# - the loop does not sit in SQLite's busy handler: messages sent during the lock are
#   answered (refused: not stored) within 1.5 s for all five (the old code waited 2 s in the
#   busy handler for each write), and each refusal after an "accept" has a second audit
#   record naming the store error;
# - the store logged the episode once at its start and once at its end.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
simport=$(free_port)
tport=$(free_port)
psk_devices 11 10
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: info }
north:
  m5s:
    api_root: https://127.0.0.1:$simport
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    retry_min: 100ms
    retry_max: 1s
    max_inflight: 64
testdev: { port: $tport, insecure: true }
Y
printf 'msgId=*-0 delay=2500\n* ok\n' >sim.script
bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --script sim.script \
	--cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem 2>sim.log
sim=$BG_PID
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log


$TESTDEV inject --port "$tport" --devices "$devs" --count 30 --prefix k >inj.txt || fail "inject: $(cat inj.txt)"
grep -q 'acked 300 of 300' inj.txt || fail "inject: $(cat inj.txt)"

# the write lock, from another process, for 8 s (before the held 200s come back)
python3 - <<'PY' &
import sqlite3, time
db = sqlite3.connect("gw.db", isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
time.sleep(8)
db.execute("ROLLBACK")
open("unlocked", "w").close()
PY
locker=$!
T_PIDS="$T_PIDS $locker"
for _ in $(seq 1 100); do [ -f locked ] && break; sleep 0.05; done
[ -f locked ] || fail "no store lock"
held=$(records sim.jsonl 'r["status"]==200')
note "store locked with $held of 300 answered 200"
# the 10 held deliveries are answered 200 while the store is locked
wait_records sim.jsonl 10 'r["status"]==200' 10 || fail "the held deliveries were not answered"
[ -f unlocked ] && fail "the lock ended before the 200s came: the test proves nothing"
note "$(records sim.jsonl 'r["status"]==200') answered 200 during the lock"

# a device sends during the lock: answered at once (refused, not stored), not after seconds
sleep 0.5
t0=$(date +%s.%N)
$TESTDEV inject --port "$tport" --devices psk:s-11 --count 5 --prefix lk --timeout 30 >lk.txt
t1=$(date +%s.%N)
lk_s=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')
note "5 messages sent during the lock: answered in $lk_s s: $(head -n 1 lk.txt)"
wait "$locker"

wait_records sim.jsonl 300 'r["status"]==200 and r["body"]["msgId"].startswith("k-")' 40 ||
	note "not all 300 answered 200 within 40 s of the lock"
sleep 1
res=$(python3 - sim.jsonl <<'PY'
import json, sys, collections
ok, post = collections.Counter(), collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if not isinstance(r.get("body"), dict) or not r["body"]["msgId"].startswith("k-"):
        continue
    post[r["body"]["msgId"]] += 1
    if r["status"] == 200:
        ok[r["body"]["msgId"]] += 1
want = {"k-s-%d-%d" % (d, i) for d in range(1, 11) for i in range(30)}
missing = sorted(want - set(ok))
dup = sorted(k for k, v in post.items() if v > 1)
print("%d %d %d %s" % (len(want & set(ok)), len(missing), len(dup), ",".join((missing + dup)[:3]) or "-"))
PY
)
set -- $res
delivered=$1 missing=$2 dup=$3 example=$4
note "after the lock: $delivered of 300 delivered, $missing missing, $dup POSTed more than once ($example)"
refused=$(grep -c 'refused' lk.txt)
store_audit=$(grep '"lk-s-11-' audit.jsonl | grep -c '"STORE"')
starts=$(grep -c 'writes failing' gw.log)
ends=$(grep -c 'writes succeed again' gw.log)
note "$refused refused during the lock, $store_audit audit records naming the store; episode lines: $starts start, $ends end"

[ "$missing" -eq 0 ] || fail "$missing acknowledged messages not delivered without a restart (e.g. $example)"
[ "$dup" -eq 0 ] || fail "$dup messages POSTed more than once (e.g. $example)"
awk -v s="$lk_s" 'BEGIN { exit !(s < 1.5) }' || fail "answers during the lock took $lk_s s: the loop blocked"
if [ "$refused" -gt 0 ]; then
	[ "$store_audit" -ge "$refused" ] || fail "$refused refused after accept, $store_audit audit records name the store error"
fi
[ "$starts" -ge 1 ] && [ "$starts" -eq "$ends" ] || fail "episode logged $starts start / $ends end lines"
[ "$starts" -le 2 ] || fail "$starts episodes logged for one lock: not once per episode"
[ "$(grep -c 'ready: ' gw.log)" -eq 1 ] || fail "the gateway restarted"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$sim"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "PASS"
