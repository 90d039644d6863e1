#!/bin/sh
# Benchmark of the protection profiles (issue 7). Not a test: it prints figures measured in
# the same run on the same machine, each profile beside `transport`, so the ratio and the
# extra time per message are the figures to quote.
#   C lab devices (testdev adapter) send N messages to as-1 through the gateway to m5s-sim
#   (h2, mutual TLS), end to end (device -> durable store -> north client -> M5S); the only
#   difference between the runs is as-1's profile: transport, sign (JWS ES256), encrypt
#   (JWE ECDH-ES + A256GCM of the JWS). Keys from msgin5g-gwctl and contrib/node/jose-as.js.
# Usage: bench/profile-bench.sh [BUILDDIR] (default _build); N=5000 C=50 to change.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
N=${N:-5000}
C=${C:-50}
N=$(( N / C * C ))
export top_srcdir=$top top_builddir=$b
. "$top/tests/lib/common.sh"
. "$top/bench/bench-lib.sh"
. "$top/tests/lib/north.sh"
t_init
cd "$T_DIR" || exit 2
pki "$T_DIR/pki"
NODE=${NODE:-node}
[ -d "$top/contrib/node/node_modules/jose" ] || { echo "npm jose missing (npm ci in contrib/node)"; exit 2; }
rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
now() { python3 -c 'import time; print(time.time())'; }
"$b/msgin5g-gwctl" keys gen --dir keys >/dev/null || exit 2
"$NODE" "$top/contrib/node/jose-as.js" keygen asdir --name as-1 >/dev/null || exit 2
: >devices.yaml
devs=
for i in $(seq 1 "$C"); do
	printf -- '- ue: ue-%d\n  coap: { psk_identity: s-%d, psk: "k%d" }\n' $i $i $i >>devices.yaml
	devs="$devs${devs:+,}psk:s-$i"
done
echo "profile-bench: N=$N messages from C=$C devices to as-1, end to end ($(nproc) cores)"
base=
for prof in transport sign encrypt; do
	simport=$(free_port) tport=$(free_port)
	rm -f gw.db gw.db-wal gw.db-shm sim.jsonl
	cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: notice }
queue: { high_water: 10000000 }
north:
  m5s:
    api_root: https://127.0.0.1:$simport
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    max_inflight: $C
testdev: { port: $tport, insecure: true }
security:
  keys: keys
  applications: [ { as: as-1, jwks: asdir/as-1.jwks.json, protection: $prof } ]
Y
	bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --cert pki/m5s.pem \
		--key pki/m5s.key --client-ca pki/ca.pem --max-payload 65536 2>sim-$prof.log
	sim=$BG_PID
	bg "$GW" -c "$T_DIR/gw.yaml" 2>gw-$prof.log
	gw=$BG_PID
	wait_gw_ready gw-$prof.log
	sleep 0.3
	k0=$(cpu_ticks "$gw")
	t0=$(now)
	$TESTDEV inject --port "$tport" --devices "$devs" --count $((N / C)) --prefix "$prof" >inj.txt
	wait_records sim.jsonl "$N" 'r["status"]==200' 600 >/dev/null || echo "$prof: not all delivered"
	t1=$(now)
	cpu=$(cpu_us "$gw" "$k0" "$N")
	stop_pid $gw
	stop_pid $sim
	r=$(rate "$N" "$(python3 -c "print($t1 - $t0)")")
	kind=$(python3 -c '
import json
r = json.loads(open("sim.jsonl").readline())
p = r["body"].get("payload", "")
print({2: "JWS", 4: "JWE"}.get(p.count("."), "plain"), len(p), "bytes")')
	if [ -z "$base" ]; then
		base=$r
		bench_result "profile-$prof" "$r" - "$cpu"
		echo "$prof: $r msgs/s (payload at the M5S: $kind)"
	else
		python3 -c "import sys; r, b = float(sys.argv[1]), float(sys.argv[2]); print('%s: %.0f msgs/s (payload at the M5S: %s): ratio %.2f to transport, +%.0f us per message' % (sys.argv[3], r, sys.argv[4], r / b, 1e6 / r - 1e6 / b))" "$r" "$base" "$prof" "$kind"
		bench_result "profile-$prof" "$r" "$base" "$cpu"
	fi
done
