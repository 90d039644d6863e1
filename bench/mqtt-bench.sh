#!/bin/sh
# Benchmark of the MQTT device side. Not a test: it prints figures, each beside the broker
# alone measured in the same run on the same machine, so the ratio is the figure to quote.
#   The same publishers every time (bench/mqtt-bench pub): K devices, each its own TLS
#   connection to a real mosquitto (password + ACL, tests/lib/mqtt.sh), N QoS 1 messages in
#   all, at most W unacknowledged per device. Rates run from the publishers' start to the
#   Nth message at the measuring point:
#   broker alone  a plain QoS 1 subscriber on the gateway's listener and account (client
#                 certificate, Receive Maximum = mqtt.receive_max), acknowledging at once
#   gateway       msgin5g-gw subscribed the same way; the Nth message durable in its store
#                 (gw.db; its PUBACK goes only after that), the M5S down
#   end to end    msgin5g-gw again (fresh store), the Nth message recorded by m5s-sim
#                 (bound, security, stored, POSTed over HTTP/2 and answered 200)
# A fresh broker for each run. Usage: bench/mqtt-bench.sh [BUILDDIR] (default _build);
# K=10 N=20000 W=20 RMAX=100 change the load.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
K=${K:-10}
N=${N:-20000}
W=${W:-20}
RMAX=${RMAX:-100}
export top_srcdir=$top top_builddir=$b
. "$top/tests/lib/common.sh"
. "$top/tests/lib/north.sh"
. "$top/tests/lib/mqtt.sh"
BENCH="$b/bench/mqtt-bench"
[ -x "$BENCH" ] || { echo "$BENCH missing: make -C $b bench/mqtt-bench"; exit 2; }
N=$((N / K * K))
MQTT_NO_SIM=1
# no line per message in the broker's log (what start_gw waits for is still there)
BROKER_LOG="error warning notice information subscribe"
mqtt_init
for i in $(seq 1 "$K"); do
	device "dev-$i" "pw-$i"
done
: >devices.yaml
for i in $(seq 1 "$K"); do
	printf -- '- ue: ue-%d\n  mqtt: { username: dev-%d }\n' "$i" "$i" >>devices.yaml
done
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
rate() { python3 -c "import sys; print('%.0f' % (int(sys.argv[1]) * 1000.0 / max(1, int(sys.argv[3]) - int(sys.argv[2]))))" "$@"; }
fresh_broker() {
	rm -rf mosq broker.log
	broker_conf
	start_broker
}
# pub TAG: the publishers; prints their line, sets T0 (wall clock ms of their start)
pub_run() {
	"$BENCH" pub --port "$DPORT" --cafile pki/ca.pem --devices "$K" --messages "$N" \
		--window "$W" --tag "$1" >"pub-$1.txt" 2>"pub-$1.err" || {
		echo "publishers failed: $(cat "pub-$1.txt" "pub-$1.err")"
		exit 2
	}
	T0=$(sed -n 's/^mqtt-bench: start \([0-9]*\)$/\1/p' "pub-$1.txt")
	sed -n 's/^mqtt-bench: pub /publishers: /p' "pub-$1.txt"
}
gw_conf() { # TAG [M5S yes]
	rm -f gw.db gw.db-wal gw.db-shm
	cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: notice }
queue: { high_water: 10000000 }
north:
  m5s: { api_root: https://127.0.0.1:$SIM_PORT, tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }, max_inflight: 100 }
$(MQTT_YAML "  client_id: gw-$1
  receive_max: $RMAX")
Y
}

echo "mqtt-bench: K=$K devices, N=$N QoS 1 messages, W=$W in flight per device, receive_max $RMAX, TLS 1.3 everywhere ($(nproc) cores shared)"

# ---- 1. the broker alone ----
fresh_broker
"$BENCH" sub --port "$GPORT" --cafile pki/ca.pem --cert pki/gw.pem --key pki/gw.key \
	--topic "$PREFIX/up/+" --messages "$N" --window "$RMAX" --id bench-sub >sub.txt 2>sub.err &
subpid=$!
wait_for_line sub.txt 'subscribed' 20 >/dev/null || { echo "subscriber: $(cat sub.txt sub.err)"; exit 2; }
pub_run a
wait $subpid || { echo "subscriber: $(cat sub.txt sub.err)"; exit 2; }
last=$(sed -n 's/^mqtt-bench: sub .* last at \([0-9]*\),.*/\1/p' sub.txt)
broker_mps=$(rate "$N" "$T0" "$last")
echo "broker alone: $N messages at the subscriber: $broker_mps msgs/s"
stop_broker

# ---- 2. the gateway: durable in its store (M5S down) ----
fresh_broker
gw_conf b
: >gw.log
start_gw gw.log
pub_run b
last=$(python3 - "$N" <<'PY'
import sqlite3, sys, time
n = int(sys.argv[1])
db = sqlite3.connect("file:gw.db?mode=ro", uri=True, timeout=30)
end = time.time() + 300
while time.time() < end:
    c = db.execute("SELECT count(*) FROM queue").fetchone()[0]
    if c >= n:
        print(int(time.time() * 1000))
        break
    time.sleep(0.01)
PY
)
[ -n "$last" ] || { echo "gateway: not all $N stored"; exit 2; }
gw_mps=$(rate "$N" "$T0" "$last")
echo "gateway: $N messages durable in its store: $gw_mps msgs/s"
stop_gw
echo "gateway: $(grep -o 'uplink [0-9]* ok.*rounds (largest [0-9]*)' gw.log | tail -n 1)"
stop_broker

# ---- 3. the gateway, end to end at m5s-sim ----
fresh_broker
start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem
gw_conf c
: >gw.log
start_gw gw.log
pub_run c
wait_records sim.jsonl "$N" 'r["status"]==200' 300 || { echo "end to end: not all $N at m5s-sim"; exit 2; }
last=$(python3 - <<'PY'
import datetime, json
t = max(json.loads(l)["time"] for l in open("sim.jsonl"))
print(int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))
PY
)
e2e_mps=$(rate "$N" "$T0" "$last")
echo "end to end: $N messages at m5s-sim: $e2e_mps msgs/s"
stop_gw
stop_broker

echo "ratio gateway (durable) / broker alone = $(ratio "$gw_mps" "$broker_mps")"
echo "ratio end to end (m5s-sim) / broker alone = $(ratio "$e2e_mps" "$broker_mps")"
echo "BENCH path=mqtt-uplink-durable gw=$gw_mps peer=$broker_mps cpu_us=- p50=- p99=-"
echo "BENCH path=mqtt-uplink-end-to-end gw=$e2e_mps peer=$broker_mps cpu_us=- p50=- p99=-"
