#!/bin/sh
# Benchmark of the CoAP/DTLS device side. Not a test: it prints figures, each beside a peer
# measured in the same run on the same machine, so the ratio is the figure to quote.
#   load:  S PSK devices (DTLS 1.2 sessions) POST N messages to coaps://.../msg, W
#          outstanding per device (bench/coap-bench): into the gateway (2.04 only once the
#          message is durably stored; m5s-sim is its M5S), then into libcoap's own
#          coap-server-openssl (a dynamic resource /msg that stores the last body in memory)
#   idle:  S idle DTLS sessions (handshake + one request each) against a freshly started
#          gateway, then a fresh coap-server-openssl: resident KiB per session from VmRSS
#          (/proc/PID/status) before and after
# Usage: bench/coap-bench.sh [BUILDDIR] (default _build); S=100 N=20000 W=1 IDLE=5 to change
# the load. The gateway half is skipped (and says so) if `msgin5g-gw -t` rejects the
# coap: section.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
S=${S:-100}
N=${N:-20000}
W=${W:-1}
IDLE=${IDLE:-5}
export top_srcdir=$top top_builddir=$b
. "$top/tests/lib/common.sh"
. "$top/tests/lib/north.sh"
. "$top/bench/bench-lib.sh"
BENCH="$b/bench/coap-bench"
PEER=coap-server-openssl
[ -x "$BENCH" ] || { echo "$BENCH missing: make -C $b bench/coap-bench"; exit 2; }
command -v $PEER >/dev/null || { echo "$PEER missing (libcoap3-bin)"; exit 2; }
t_init
cd "$T_DIR" || exit 2
pki "$T_DIR/pki"
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }
# p50 / p99 (ms) of a coap-bench result line (empty when there is none)
pct() { sed -n "s/^coap-bench: .* $1 \\([0-9.]*\\) ms.*/\\1/p" "$2" | tail -n 1; }
# msgs/s of a coap-bench result line (0 when there is none)
mps() { sed -n 's/^coap-bench: .* \([0-9][0-9]*\) msgs\/s.*/\1/p' "$1" | tail -n 1 | grep . || echo 0; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
load() { # NAME PORT: the load run, result line in NAME.txt
	"$BENCH" --port "$2" --sessions "$S" --messages "$N" --window "$W" --req-timeout 10 --timeout 300 >"$1.txt" 2>"$1.err"
	cat "$1.txt"
}
# idle NAME PORT PID: S idle sessions; prints resident KiB per session of PID
idle() {
	_before=$(rss "$3")
	"$BENCH" --port "$2" --sessions "$S" --idle "$IDLE" --timeout $((IDLE + 120)) >"$1.txt" 2>"$1.err" &
	_bp=$!
	if wait_for_line "$1.txt" 'sessions established' 120 >/dev/null 2>&1; then
		sleep 1
		_after=$(rss "$3")
		_up=$(sed -n 's/^coap-bench: \([0-9]*\) sessions established/\1/p' "$1.txt")
	fi
	wait $_bp
	if [ -z "${_after:-}" ] || [ "${_up:-0}" -eq 0 ]; then
		echo "no sessions came up: $(cat "$1.txt" "$1.err")"
		return 1
	fi
	echo "$_up sessions, VmRSS $_before -> $_after KiB: $(python3 -c "import sys; print('%.1f' % ((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3])))" "$_before" "$_after" "$_up") KiB per idle DTLS session"
	unset _after _up
}
# free_pair: a port P with P and P+1 free for UDP and TCP (coap-server takes both: CoAP on
# P, DTLS/TLS on P+1)
free_pair() {
	python3 <<'PY'
import socket
for _ in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    if p >= 65535:
        continue
    ok = True
    for port in (p, p + 1):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            t = socket.socket(socket.AF_INET, kind)
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            t.close()
    if ok:
        print(p)
        break
PY
}
# wait_udp PORT: something has bound UDP 127.0.0.1:PORT
wait_udp() {
	_hex=$(printf '0100007F:%04X' "$1")
	for _i in $(seq 1 100); do
		grep -q " $_hex " /proc/net/udp && return 0
		sleep 0.1
	done
	return 1
}

echo "coap-bench: S=$S sessions (devices), N=$N messages, W=$W outstanding per session, idle $IDLE s"

# ---- the gateway, with m5s-sim as its M5S ----
: >devices.yaml
for i in $(seq 1 "$S"); do
	printf -- '- ue: ue-%d\n  coap: { psk_identity: bench-%d, psk: "key-%d" }\n' $i $i $i >>devices.yaml
done
start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem
sim=$SIM_PID
cport=$(free_port udp)
# the adapter's per-device and per-address limits (rate 20/s, handshake_rate 10/s from one
# address, ...) are for real fleets: every bench device comes from 127.0.0.1
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: notice }
queue: { high_water: 10000000 }
north:
  m5s:
    api_root: https://127.0.0.1:$SIM_PORT
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    max_inflight: $S
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  max_sessions: $((S * 2 + 100))
  rate: 100000
  burst: 100000
  handshake_rate: 100000
Y
gw_mps=
if ! "$GW" -t -c "$T_DIR/gw.yaml" >gw-check.txt 2>&1; then
	echo "gateway  SKIPPED: gateway has no coap adapter yet (msgin5g-gw -t rejects the coap: section: $(head -n 3 gw-check.txt | tr '\n' ' '))"
else
	bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
	gw=$BG_PID
	wait_gw_ready gw.log
	k0=$(cpu_ticks "$gw")
	echo "gateway  load (2.04 after durable store): $(load gw-load "$cport")"
	gw_mps=$(mps gw-load.txt)
	ok=$(sed -n 's/^coap-bench: [0-9]* sent, \([0-9]*\) ok.*/\1/p' gw-load.txt)
	# CPU per message over the load run (to the last 2.04: the M5S side may still drain)
	gw_cpu=$(cpu_us "$gw" "$k0" "${ok:-0}")
	# every message answered 2.04 must reach the M5S (a timed-out one may too: stored, its
	# 2.04 lost)
	wait_records sim.jsonl "${ok:-0}" 'r["status"]==200' 120 2>/dev/null
	echo "gateway  m5s-sim received $(records sim.jsonl 'r["status"]==200') messages (${ok:-0} answered 2.xx)"
	kill -TERM "$gw"; wait "$gw"
	# a fresh gateway for the memory figure (its store now holds the load run's messages)
	bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
	gw=$BG_PID
	wait_gw_ready gw2.log
	sleep 1
	echo "gateway  idle: $(idle gw-idle "$cport" "$gw" | tee gw-idle.kib)"
	kill -TERM "$gw"; wait "$gw"
fi
kill -TERM "$sim"; wait "$sim" 2>/dev/null

# ---- the peer: libcoap's coap-server-openssl ----
# -i: one "hint,identity,key" line per device (the default hint is CoAP); -k: the key for
# any other identity (none here); -d: dynamic resources, so POST /msg creates /msg (2.01)
# and every later POST replaces its body (2.04)
for i in $(seq 1 "$S"); do echo "CoAP,bench-$i,key-$i"; done >peer-ids.txt
peer_start() { # LOG
	pport=$(free_pair)
	[ -n "$pport" ] || { echo "no free port pair for $PEER"; exit 2; }
	bg $PEER -A 127.0.0.1 -p "$pport" -h CoAP -k not-a-device-key -i peer-ids.txt -d 10 >"$1" 2>&1
	peer=$BG_PID
	wait_udp $((pport + 1)) || { echo "$PEER did not start: $(cat "$1")"; exit 2; }
}
peer_start peer.log
echo "peer     load ($PEER, in memory): $(load peer-load $((pport + 1)))"
peer_mps=$(mps peer-load.txt)
kill -TERM "$peer"; wait "$peer" 2>/dev/null
peer_start peer2.log
sleep 1
echo "peer     idle: $(idle peer-idle $((pport + 1)) "$peer" | tee peer-idle.kib)"
kill -TERM "$peer"; wait "$peer" 2>/dev/null

if [ -n "$gw_mps" ] && [ "$peer_mps" != 0 ]; then
	echo "ratio gateway/$PEER msgs/s = $(ratio "$gw_mps" "$peer_mps")"
else
	echo "ratio gateway/$PEER msgs/s: n/a (no gateway figure)"
fi
kib() { [ -f "$1" ] && sed -n 's/.*: \([0-9.]*\) KiB per idle.*/\1/p' "$1"; }
bench_result coap-uplink-s$S-w$W "$gw_mps" "$peer_mps" "${gw_cpu:-}" "$(pct p50 gw-load.txt 2>/dev/null)" "$(pct p99 gw-load.txt 2>/dev/null)"
bench_result coap-idle-kib-per-session "$(kib gw-idle.kib)" "$(kib peer-idle.kib)"
