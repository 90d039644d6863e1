#!/bin/sh
# 01 daemon: starts on a good config, says ready, SIGHUP reloads the registry (a bad registry
# is refused and the old one kept), SIGTERM stops it with exit 0 -- with no leak: under
# valgrind in a plain build, under LeakSanitizer in a --enable-sanitize build.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
make_gw_config "$T_DIR"

run=""
if [ "${SANITIZE:-no}" = yes ]; then
	note "sanitizer build: LeakSanitizer checks leaks at exit"
elif [ -n "${VALGRIND:-}" ] && [ -x "$VALGRIND" ]; then
	run="$VALGRIND -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99 --log-file=$T_DIR/vg.log"
	note "valgrind: $VALGRIND"
else
	note "neither sanitizers nor valgrind: leaks are not checked"
fi

bg $run "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_for_line gw.log 'ready: 3 devices' 60 || fail "daemon not ready"
[ -f gw.db ] || fail "no store created"
[ -f audit.jsonl ] || fail "no audit log created"

# SIGHUP with one more device
cat >>devices.yaml <<'YAML'
- ue: ue-coap-2
  coap: { psk_identity: sensor-2, psk: "otherPSK" }
YAML
kill -HUP $gw
wait_for_line gw.log 'reloaded: 4 devices' 30 || fail "SIGHUP did not reload"
# SIGHUP with a broken registry: refused, old one kept, daemon alive
echo "- ue: [ broken" >>devices.yaml
kill -HUP $gw
wait_for_line gw.log 'reload refused' 30 || fail "broken registry not refused"
kill -0 $gw 2>/dev/null || fail "daemon died on a bad reload"
# the registry in the store (gw.db.devices) has the 4 devices of the last good seed
n=$(sqlite3 gw.db.devices "select count(*) from reg_device" 2>/dev/null || echo "?")
[ "$n" = 4 ] || fail "store registry has $n devices, expected 4"
grep -q otherPSK gw.log && fail "a PSK reached the log"

kill -TERM $gw
wait $gw
rc=$?
T_PIDS=""
[ $rc -eq 0 ] || { cat gw.log; [ -f vg.log ] && cat vg.log; fail "exit status $rc after SIGTERM"; }
grep -q 'stopped' gw.log || fail "no 'stopped' line"
if [ -f vg.log ] && [ -s vg.log ]; then cat vg.log; fail "valgrind reported errors"; fi
echo "ok"
