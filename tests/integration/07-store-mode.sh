#!/bin/sh
# 07 store: the store holds queued payloads and the registry copy: it is created 0600, and
# so are its -wal and -shm (SQLite gives them the database's mode), even when the daemon
# runs under umask 022. An existing store that others may read is used, with a notice.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
make_gw_config "$T_DIR"

mode() { stat -c %a "$1" 2>/dev/null || echo missing; }

# start_gw LOG: the daemon under umask 022, as a service manager might start it
start_gw() {
	( umask 022 && exec "$GW" -c "$T_DIR/gw.yaml" ) 2>"$1" &
	gw=$!
	T_PIDS="$T_PIDS $gw"
	wait_for_line "$1" 'ready: 3 devices' 60 || fail "daemon not ready"
}

start_gw gw.log
for f in gw.db gw.db-wal gw.db-shm; do
	[ "$(mode $f)" = 600 ] || fail "$f has mode $(mode $f) under umask 022, expected 600"
done
echo "ok 1 gw.db, gw.db-wal, gw.db-shm created 0600 under umask 022"
[ "$(mode audit.jsonl)" = 640 ] || fail "audit.jsonl has mode $(mode audit.jsonl), expected 640"
echo "ok 2 audit.jsonl created 0640 under umask 022"
stop_pid $gw || fail "exit status $? after SIGTERM"
T_PIDS=""

chmod 644 gw.db
start_gw gw2.log
grep -q 'gw\.db.*mode 0644 lets others than its owner read the queued messages' gw2.log ||
	fail "no notice for a store others may read: $(grep store gw2.log)"
echo "ok 3 an existing 0644 store is used, with a notice: $(grep 'mode 0644' gw2.log)"
stop_pid $gw || fail "exit status $? after SIGTERM"
T_PIDS=""
