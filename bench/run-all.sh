#!/bin/sh
# bench/run-all.sh: `make bench`. Runs every benchmark script in a short mode (the whole run
# fits in about 10 minutes on the 2-core machine), each beside its peer in the same
# invocation, collects their `BENCH path=... gw=... peer=... cpu_us=... p50=... p99=...`
# lines and prints one table (also written to BUILDDIR/bench-results.json; the raw output of
# each script is in BUILDDIR/bench-logs/NAME.log).
# Usage: bench/run-all.sh [BUILDDIR] (default _build); BENCHES="coap north ..." to pick some;
# LIMIT=seconds per script (default 240).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
case "$b" in /*) ;; *) b="$(pwd)/$b" ;; esac
BENCHES=${BENCHES:-"coap north mqtt sms profile token registry"}
LIMIT=${LIMIT:-240}
logs="$b/bench-logs"
mkdir -p "$logs"
run() { # NAME ENV... -- CMD...: one script, its own short-mode load, bounded in time
	_n=$1
	shift
	echo "== $_n ($(date -u +%H:%M:%S))"
	env "$@" >"$logs/$_n.log" 2>&1
	echo "   exit $? ($(date -u +%H:%M:%S)): $(grep -c '^BENCH ' "$logs/$_n.log") result lines"
}
for s in $BENCHES; do
	case $s in
	coap) run coap S=50 N=5000 W=1 IDLE=2 timeout "$LIMIT" sh "$top/bench/coap-bench.sh" "$b" ;;
	north) run north N=3000 C=50 timeout "$LIMIT" sh "$top/bench/north-bench.sh" "$b" ;;
	mqtt) run mqtt N=5000 timeout "$LIMIT" sh "$top/bench/mqtt-bench.sh" "$b" ;;
	sms) run sms N=1000 WINDOWS=50 timeout "$LIMIT" sh "$top/bench/sms-bench.sh" "$b" ;;
	profile) run profile N=1000 timeout "$LIMIT" sh "$top/bench/profile-bench.sh" "$b" ;;
	token) run token N=2000 timeout "$LIMIT" sh "$top/bench/token-bench.sh" "$b" ;;
	registry) (cd "$b" && run registry top_builddir="$b" timeout "$LIMIT" sh "$top/bench/registry-bench.sh" 100000) ;;
	*) echo "unknown bench $s" ;;
	esac
done
python3 - "$logs" "$b/bench-results.json" $BENCHES <<'PY'
import json, os, sys
logs, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
# why a path's figure moves between runs on this machine
noise = {
    "coap": "noise-prone: 50 DTLS clients, the gateway and m5s-sim share 2 cores",
    "north": "noise-prone: h2load / m5s-sim push share the 2 cores with the gateway",
    "mqtt": "noise-prone: broker, publishers, gateway and m5s-sim share 2 cores",
    "sms": "noise-prone: the node SMSC simulator and ESME are single-threaded and share the cores",
    "profile": "moderate: same load shape as north client; the ratio to transport is steadier",
    "coap-idle": "stable: resident memory, not a rate",
}
rows = []
for n in names:
    p = os.path.join(logs, n + ".log")
    if not os.path.exists(p):
        continue
    got = False
    for line in open(p, errors="replace"):
        if not line.startswith("BENCH "):
            continue
        r = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        r["script"] = n
        rows.append(r)
        got = True
    if not got:
        rows.append({"path": n + " (no BENCH line: see bench-logs/%s.log)" % n, "script": n})
def ratio(r):
    try:
        return "%.2f" % (float(r["gw"]) / float(r["peer"]))
    except (KeyError, ValueError, ZeroDivisionError):
        return "-"
cols = ("path", "gateway", "peer", "ratio", "gateway CPU us/msg", "p50 ms", "p99 ms")
tab = [(r.get("path", "?"), r.get("gw", "-"), r.get("peer", "-"), ratio(r), r.get("cpu_us", "-"),
        r.get("p50", "-"), r.get("p99", "-")) for r in rows]
w = [max(len(c), *(len(t[i]) for t in tab)) if tab else len(c) for i, c in enumerate(cols)]
fmt = " | ".join("%%-%ds" % x for x in w)
print(fmt % cols)
print("-+-".join("-" * x for x in w))
for t in tab:
    print(fmt % t)
print()
for r in rows:
    k = "coap-idle" if r.get("path", "").startswith("coap-idle") else r["script"]
    r["ratio"] = ratio(r)
    r["noise"] = noise.get(k, "not rated")
    print("%s: %s" % (r.get("path", "?"), r["noise"]))
with open(out, "w") as f:
    json.dump(rows, f, indent=1)
print("\nresults: %s; raw output: %s/" % (out, logs))
PY
