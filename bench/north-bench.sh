#!/bin/sh
# Benchmark of the MSGin5G side (issue 3). Not a test: it prints figures, each beside a
# peer measured in the same run on the same machine, so the ratio is the figure to quote.
#   server: deliveries/s INTO the gateway (msgg, TLS, h2 and HTTP/1.1, each one durable
#           before its 204) vs. the same load against nghttpd serving a static file
#   client: deliveries/s THROUGH the gateway to m5s-sim (device -> store -> h2 mTLS -> M5S)
#           vs. m5s-sim pushing the same bodies to m5s-sim directly (no gateway); C devices,
#           one line each (per-originator order allows one delivery in flight per device)
# Usage: bench/north-bench.sh [BUILDDIR] (default _build); N=10000 C=100 to change the load,
# PERF=FILE to profile the gateway during the client half.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
# a relative BUILDDIR is relative to the caller's directory, not to $T_DIR (cd below)
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
N=${N:-10000}
C=${C:-100}
export top_srcdir=$top top_builddir=$b
. "$top/tests/lib/common.sh"
. "$top/tests/lib/north.sh"
. "$top/bench/bench-lib.sh"
t_init
cd "$T_DIR" || exit 2
pki "$T_DIR/pki"
command -v h2load >/dev/null || { echo "h2load missing (nghttp2-client)"; exit 2; }
rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
now() { python3 -c 'import time; print(time.time())'; }

# ---- server side ----
lport=$(free_port); tport=$(free_port); simport=$(free_port)
: >devices.yaml
devs=
for i in $(seq 1 "$C"); do
	printf -- '- ue: ue-%d\n  coap: { psk_identity: s-%d, psk: "k%d" }\n' $i $i $i >>devices.yaml
	devs="$devs${devs:+,}psk:s-$i"
done
printf -- '- ue: ue-dl\n  mqtt: { username: dl }\n' >>devices.yaml
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
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key }, bearer_token: load-token }
testdev: { port: $tport, insecure: true }
Y
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
url="https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message"
for proto in http2 http1; do
	"$SIM" push --url "$url" --cacert pki/ca.pem --token load-token --$proto --n3g --from AS:as-1 --to UE:ue-dl \
		--msg-id "bench-$proto" --payload "benchmark payload of some forty bytes...." \
		--count "$N" --concurrency "$C" >push-$proto.txt 2>&1
	echo "server  gateway msgg ($proto, TLS, durable 204): $(cat push-$proto.txt)"
done
printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-dl"},"msgId":"same"}' >same.json
k0=$(cpu_ticks "$gw")
h2load -n "$N" -c 4 -m $((C / 4)) -d same.json -H 'Content-Type: application/json' -H 'Authorization: Bearer load-token' "$url" >h2load-gw.txt 2>&1
gw_rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' h2load-gw.txt)
srv_cpu=$(cpu_us "$gw" "$k0" "$N")
mkdir -p www && head -c 200 /dev/urandom | base64 >www/file
nport=$(free_port)
bg nghttpd -d www "$nport" pki/gw.key pki/gw.pem 2>nghttpd.log
sleep 0.5
h2load -n "$N" -c 4 -m $((C / 4)) "https://127.0.0.1:$nport/file" >h2load-nghttpd.txt 2>&1
ng_rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' h2load-nghttpd.txt)
echo "server  h2load -> gateway (same body, idempotent 204): ${gw_rps:-?} req/s; -> nghttpd static file: ${ng_rps:-?} req/s; ratio gateway/nghttpd = $(ratio "${gw_rps:-0}" "${ng_rps:-1}")"

# ---- client side ----
bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem 2>sim.log
sim=$BG_PID
sleep 0.5
per=$((N / C))
# PERF=FILE: record the gateway's profile of this half with perf (perf report -i FILE)
[ -n "${PERF:-}" ] && { perf record -F 2000 -g -p "$gw" -o "$PERF" >/dev/null 2>&1 & perf_pid=$!; }
k0=$(cpu_ticks "$gw")
t0=$(now)
$TESTDEV inject --port "$tport" --devices "$devs" --count "$per" --prefix c >inj.txt
wait_records sim.jsonl "$N" 'r["status"]==200' 300 || echo "client: not all delivered"
t1=$(now)
cli_cpu=$(cpu_us "$gw" "$k0" "$N")
[ -n "${PERF:-}" ] && { kill -INT $perf_pid; wait $perf_pid; }
thru=$(rate "$N" "$(python3 -c "print($t1 - $t0)")")
printf '{"oriAddr":{"addrType":"UE","addr":"ue-1"},"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"direct","stoAndFwInd":false,"payload":"hello"}' >ue.json
"$SIM" push --url "https://127.0.0.1:$simport/msgs-msgdelivery/v1/deliver-ue-message" --cacert pki/ca.pem \
	--cert pki/gw.pem --key pki/gw.key --http2 --body-file ue.json --count "$N" --concurrency "$C" >direct.txt 2>&1
direct=$(sed -n 's/.* \([0-9.]*\) msgs\/s.*/\1/p' direct.txt)
echo "client  device -> gateway -> m5s-sim (h2, mTLS): $thru msgs/s end to end ($(cat inj.txt))"
echo "client  m5s-sim push -> m5s-sim directly:        ${direct:-?} msgs/s; ratio gateway/direct = $(ratio "$thru" "${direct:-1}")"
# h2load latency percentiles are not printed per request: p50/p99 "-"
bench_result north-server-h2load-same-body "${gw_rps:-}" "${ng_rps:-}" "$srv_cpu"
bench_result north-client-device-to-m5s "$thru" "${direct:-}" "$cli_cpu"
kill -TERM $gw; wait $gw
