#!/bin/sh
# 07-store-kill9: "kill -9 during a stream of 10,000 accepted messages, restart: every
# acknowledged message is present once".
#
# store_stress enqueues msg-0..msg-9999 through the store attached to a real event loop
# and prints "ACK <msgId>" only from the store's callback (after the commit). We SIGKILL
# it at three points of the stream, each time restarting on the same database with the
# same 10,000 messages, then let a last run finish. After every kill: each ACKed msgId
# is stored exactly once and nothing else is stored. At the end: exactly the 10,000.
# The measured enqueue rate is printed (not asserted).
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
STRESS="$top_builddir/tests/integration/store_stress"
N=10000
PER_TURN=50

[ -x "$STRESS" ] || { echo "SKIP: $STRESS not built"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/mgw-07-store-kill9.XXXXXX") || exit 99
DB="$T/store.db"
pid=""

cleanup() {
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# number of complete ACK lines in a file
acks() {
	n=$(grep -c '^ACK ' "$1" 2>/dev/null)
	echo "${n:-0}"
}

i=0
while [ "$i" -lt "$N" ]; do
	echo "msg-$i"
	i=$((i + 1))
done | sort > "$T/all"

# Every msgId ACKed in any run so far is stored exactly once; nothing unknown is stored.
check_store() {
	"$STRESS" "$DB" --dump > "$T/dump" 2> "$T/dump.err" || fail "dump: $(cat "$T/dump.err")"
	dups=$(sort "$T/dump" | uniq -d | head -n 5)
	[ -z "$dups" ] || fail "$1: stored more than once: $dups"
	sort -u "$T/dump" > "$T/stored"
	cat "$T"/ack.* | sed -n 's/^ACK //p' | sort -u > "$T/acked"
	missing=$(comm -23 "$T/acked" "$T/stored" | head -n 5)
	[ -z "$missing" ] || fail "$1: acknowledged but not stored: $missing"
	extra=$(comm -13 "$T/all" "$T/stored" | head -n 5)
	[ -z "$extra" ] || fail "$1: stored but never sent: $extra"
	echo "$1: $(wc -l < "$T/acked") acknowledged so far, $(wc -l < "$T/stored") stored, each once"
}

# run store_stress on $DB and SIGKILL it once its output has $2 ACK lines; $3 is a pause
# between loop turns in us (so that a kill lands mid-stream on a fast disk too; with 0 it
# lands anywhere, also inside a commit)
kill_round() {
	round=$1
	want=$2
	: > "$T/ack.$round"
	"$STRESS" "$DB" "$N" "$PER_TURN" "$3" > "$T/ack.$round" 2> "$T/err.$round" &
	pid=$!
	tries=0
	while [ "$(acks "$T/ack.$round")" -lt "$want" ]; do
		kill -0 "$pid" 2>/dev/null || break
		tries=$((tries + 1))
		[ "$tries" -lt 4000 ] || fail "round $round: no progress: $(cat "$T/err.$round")"
		sleep 0.005
	done
	if kill -9 "$pid" 2>/dev/null; then
		how="killed by SIGKILL"
	else
		how="NOTE: finished before the kill"
	fi
	wait "$pid"
	status=$?
	pid=""
	[ -z "$(sed -n 's/^ACK //p' "$T/ack.$round" | sort | uniq -d | head -n 1)" ] ||
		fail "round $round: a message was acknowledged twice in one run"
	echo "round $round: $how after $(acks "$T/ack.$round") ACKs (exit $status)"
	check_store "round $round"
}

kill_round 1 2000 2000
kill_round 2 5000 500
kill_round 3 7000 0

# restart and run to completion: the rest is stored, the earlier ones come back as
# duplicates, and still every message is there exactly once
"$STRESS" "$DB" "$N" "$PER_TURN" 0 > "$T/ack.final" 2> "$T/err.final" ||
	fail "final run: exit $?: $(cat "$T/err.final")"
cat "$T/err.final"
[ "$(acks "$T/ack.final")" -eq "$N" ] || fail "final run: $(acks "$T/ack.final") ACKs, want $N"
check_store "final"
cmp -s "$T/stored" "$T/all" || fail "final: the store does not hold exactly msg-0..msg-$((N - 1))"
[ "$(wc -l < "$T/dump")" -eq "$N" ] || fail "final: $(wc -l < "$T/dump") rows, want $N"
"$STRESS" "$DB" --count

# benchmark (not asserted): a fresh store, 10,000 enqueues, $PER_TURN per loop turn,
# synchronous=FULL
"$STRESS" "$T/bench.db" "$N" "$PER_TURN" 0 > /dev/null 2> "$T/err.bench" ||
	fail "benchmark run: $(cat "$T/err.bench")"
echo "benchmark ($(df -PT "$T" 2>/dev/null | awk 'NR == 2 { print $2 }') at $T):"
cat "$T/err.bench"
echo "PASS"
exit 0
