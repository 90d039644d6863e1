#!/bin/sh
# registry-bench: the registry in the store at fleet scale (issue 13). Not a test: prints
# figures. Run from the build directory: sh ../bench/registry-bench.sh [N] (default 1000000)
# 1. msgin5g-gwctl devices import of N MQTT devices (JSON Lines, one transaction): time;
# 2. the daemon with N registered vs 10: start time (launch to "ready") and VmRSS;
# 3. credential lookup p50/p99, cold and warm cache, beside a bare SQLite point query.
N=${1:-1000000}
B=$(cd "${top_builddir:-.}" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench.XXXXXX") || exit 2
trap 'kill $gw 2>/dev/null; rm -rf "$T"' EXIT
umask 077
now() { date +%s.%N; }
conf() { # DIR
	mkdir -p "$1"
	printf -- '- ue: ue-seed-1\n  mqtt: { username: seed-1 }\n' >"$1/devices.yaml"
	printf 'store: gw.db\ndevices: devices.yaml\naudit: audit.jsonl\nlog: { level: notice }\n' >"$1/gw.yaml"
}
# start DIR: the daemon until "ready"; prints "seconds rss_kib"
start() {
	( cd "$1" && exec "$B/msgin5g-gw" -c gw.yaml 2>gw.log ) &
	gw=$!
	_t0=$(now)
	until grep -q 'ready: ' "$1/gw.log" 2>/dev/null; do
		kill -0 $gw 2>/dev/null || { echo "daemon died: $(tail -n 2 "$1/gw.log")" >&2; exit 2; }
		sleep 0.01
	done
	_t1=$(now)
	sleep 1
	_rss=$(awk '/VmRSS/ { print $2 }' /proc/$gw/status)
	kill -TERM $gw; wait $gw 2>/dev/null
	echo "$(echo "$_t1 - $_t0" | bc) $_rss"
}
conf "$T/big"
conf "$T/small"
python3 -c "
import sys
for i in range($N):
    sys.stdout.write('{\"ue\":\"ue-k%d\",\"mqtt\":{\"username\":\"k%d\"}}\n' % (i, i))" >"$T/fleet.jsonl"
python3 -c "
for i in range(10):
    print('{\"ue\":\"ue-k%d\",\"mqtt\":{\"username\":\"k%d\"}}' % (i, i))" >"$T/ten.jsonl"
echo "registry-bench: $N devices, $(nproc) cores, $(uname -r)"
t0=$(now)
"$B/msgin5g-gwctl" -c "$T/big/gw.yaml" devices import "$T/fleet.jsonl" || exit 2
t1=$(now)
echo "import of $N devices (one transaction): $(echo "$t1 - $t0" | bc) s"
echo "registry file: $(du -m "$T/big/gw.db.devices" | cut -f1) MiB"
"$B/msgin5g-gwctl" -c "$T/small/gw.yaml" devices import "$T/ten.jsonl" >/dev/null || exit 2
set -- $(start "$T/small")
echo "daemon with 10 devices: start $1 s, VmRSS $2 KiB"
small_rss=$2
set -- $(start "$T/big")
echo "daemon with $N devices: start $1 s, VmRSS $2 KiB (difference $(( $2 - small_rss )) KiB)"
"$B/bench/registry-bench" "$T/big/gw.db.devices" "$N" 20000 >"$T/lookup.txt"
cat "$T/lookup.txt"
# BENCH lines: lookup latency in µs (gw = the registry's p50, peer = the bare SQLite p50:
# lower is better, so the ratio reads "times the floor"); daemon start RSS in KiB
bare=$(sed -n 's/^bare SQLite.* p50 *\([0-9.]*\) us.*/\1/p' "$T/lookup.txt")
for c in cold warm; do
	sed -n "s/^mgw_registry_by_cred $c cache *p50 *\([0-9.]*\) us *p99 *\([0-9.]*\) us.*/BENCH path=registry-lookup-$c-us gw=\1 peer=$bare cpu_us=- p50=- p99=-/p" "$T/lookup.txt"
done
echo "BENCH path=registry-rss-kib-$N-devices gw=$2 peer=$small_rss cpu_us=- p50=- p99=-"
