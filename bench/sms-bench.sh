#!/bin/sh
# Benchmark of the SMS side through one SMPP bind. Not a test: it prints figures, each beside
# a peer measured in the same run on the same machine, so the ratio is the figure to quote.
# The SMSC is contrib/smsc-sim (npm smpp); the peer is an ESME on the same npm smpp stack
# (bench/sms-esme.js), so the simulator's own cost is in both figures.
#   MT: N L3G deliveries to K SMS devices (the gateway keeps each device's messages in
#       order: one in flight per device) pushed into the gateway (m5s-sim push, HTTP/1.1, K
#       pushes of N/K at once; each durable before its 204) while the SMSC is away, then
#       drained as submit_sm through one bind of window W once it is back: submit_sm/s from
#       the bind to the Nth accepted submit_sm (the simulator's clock); the peer submits N
#       with window W itself.
#   MO: the simulator delivers N deliver_sm with W awaiting their resp; the gateway answers
#       each once the message is durable (then forwards it to m5s-sim); the peer answers at
#       once.
# Usage: bench/sms-bench.sh [BUILDDIR] (default _build); N=3000 K=50 WINDOWS="1 50" to change.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
N=${N:-3000}
K=${K:-50}
N=$(( N / K * K ))
WINDOWS=${WINDOWS:-1 50}
export top_srcdir=$top top_builddir=$b
. "$top/tests/lib/common.sh"
. "$top/tests/lib/north.sh"
. "$top/tests/lib/sms.sh"
GW="$b/msgin5g-gw"
[ -x "$GW" ] || { echo "$GW missing: make -C $b"; exit 2; }
sms_init
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) * 1000.0 / max(1.0, float(sys.argv[2]))))" "$@"; }
now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
stats_ok() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["submit_ok"])' "$(ctl '{"cmd":"stats"}')"; }
echo "sms-bench: N=$N, K=$K devices, one bind, windows: $WINDOWS ($(nproc) cores)"
for W in $WINDOWS; do
	# the peer first, on a quiet simulator
	"$NODE" "$top/bench/sms-esme.js" mt "$SMSC_PORT" "$N" "$W" >esme-mt.txt 2>&1 || { cat esme-mt.txt; exit 1; }
	pmt_ms=$(sed -n 's/^esme: mt [0-9]* in \([0-9]*\) ms.*/\1/p' esme-mt.txt)
	"$NODE" "$top/bench/sms-esme.js" mo "$SMSC_PORT" >esme-mo.txt 2>&1 &
	ep=$!
	wait_for_line esme-mo.txt 'esme: bound' 10 >/dev/null || { cat esme-mo.txt; exit 1; }
	a=$(ctl "{\"cmd\":\"deliver_bulk\",\"count\":$N,\"window\":$W,\"source_addr\":\"491701234567\",\"destination_addr\":\"12345\",\"short_message_hex\":\"$(gsm7 'bench MO message')\"}")
	pmo_ms=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["resp_ok"]==int(sys.argv[2]), d; print(d["ms"])' "$a" "$N") || { echo "peer MO: $a"; exit 1; }
	kill $ep; wait $ep 2>/dev/null
	# the gateway, window W, fresh store
	rm -f gw.db gw.db-wal gw.db-shm
	make_gw_config "$T_DIR" "$(SMS_YAML | sed "s/window: 10/window: $W/")
queue: { high_water: 1000000 }"
	i=0
	while [ $i -lt "$K" ]; do
		printf -- '- ue: ue-sms-b%s\n  sms: { msisdn: "491710000%03d" }\n' $i $i >>devices.yaml
		i=$((i + 1))
	done
	start_gw "gw-$W.log"
	# the deliveries are stored while the SMSC is away, then drained through the bind
	stop_pid $SMSC_PID
	t0=$(now_ms)
	i=0 pids=
	while [ $i -lt "$K" ]; do
		"$SIM" push --url "https://127.0.0.1:$LPORT/msgg-l3gdelivery/v1/deliver-message" --http1 \
			--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --l3g --from AS:as-1 --to "UE:ue-sms-b$i" --msg-id "b$W-$i" \
			--payload "bench MT message" --count $((N / K)) --concurrency 1 >"push-$W-$i.txt" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do wait $p || { echo "push failed"; exit 1; }; done
	t1=$(now_ms)
	: >smsc.jsonl
	start_smsc
	wait_for_line "gw-$W.log" 'sms: bound to smsc1' 20 >/dev/null || { echo "not bound again"; exit 1; }
	while [ "$(stats_ok)" -lt "$N" ]; do
		[ $(( $(now_ms) - t1 )) -lt 600000 ] || { echo "gateway MT: only $(stats_ok) of $N"; exit 1; }
		sleep 0.05
	done
	# from the bind to the Nth accepted submit_sm, by the simulator's own clock
	gmt_ms=$(python3 - "$N" <<'PY'
import json, sys, datetime
t = lambda r: datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
rs = [json.loads(l) for l in open("smsc.jsonl")]
b = [t(r) for r in rs if r.get("command") == "bind_transceiver" and r.get("status") == 0][-1]
subs = [t(r) for r in rs if r.get("command") == "submit_sm" and r.get("status") == 0]
print(int(max(1, (subs[int(sys.argv[1]) - 1] - b) * 1000)))
PY
)
	a=$(ctl "{\"cmd\":\"deliver_bulk\",\"count\":$N,\"window\":$W,\"source_addr\":\"491701234567\",\"destination_addr\":\"12345\",\"short_message_hex\":\"$(gsm7 'bench MO message')\"}")
	gmo_ms=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["resp_ok"]==int(sys.argv[2]), d; print(d["ms"])' "$a" "$N") || { echo "gateway MO: $a"; exit 1; }
	stop_pid $gw
	gmt=$(rate "$N" "$gmt_ms") pmt=$(rate "$N" "$pmt_ms") gmo=$(rate "$N" "$gmo_ms") pmo=$(rate "$N" "$pmo_ms")
	echo "window $W: MT gateway $gmt submit_sm/s (stored first: $N deliveries taken in $(( t1 - t0 )) ms) vs ESME peer $pmt/s: ratio $(ratio "$gmt" "$pmt")"
	echo "window $W: MO gateway $gmo msgs/s (each durable before deliver_sm_resp) vs ESME peer $pmo/s: ratio $(ratio "$gmo" "$pmo")"
	echo "BENCH path=sms-mt-window$W gw=$gmt peer=$pmt cpu_us=- p50=- p99=-"
	echo "BENCH path=sms-mo-window$W gw=$gmo peer=$pmo cpu_us=- p50=- p99=-"
done
