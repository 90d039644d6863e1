# Shared helpers for the integration tests (sourced by tests/integration/*.sh).
# Each test: makes its own temp dir, starts the daemon and real peers on free 127.0.0.1
# ports, and stops them by PID on exit. Exit 0 pass, 1 fail, 77 skip.

: "${top_srcdir:?}" "${top_builddir:?}"
# every file a test writes is private: the daemon refuses configs and registries holding
# secrets that others may read (a test that wants another mode chmods or sets umask itself)
umask 077
GW="$top_builddir/msgin5g-gw"
T_PIDS=""
T_NAME=$(basename "$0" .sh)

fail() { echo "FAIL: $T_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP: $T_NAME: $*" >&2; exit 77; }
note() { echo "# $*"; }

t_cleanup() {
	_rc=$?
	for p in $T_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	# every process a test started logs into T_DIR: a sanitizer report in any of those logs
	# (ASan, LSan at exit, UBSan) fails the test, whatever it asserted
	_san=
	[ -n "${T_DIR:-}" ] && [ -d "$T_DIR" ] &&
		_san=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$T_DIR"/*.log \
			"$T_DIR"/*.err 2>/dev/null)
	if [ -n "$_san" ]; then
		for _f in $_san; do
			echo "FAIL: $T_NAME: sanitizer report in $(basename "$_f"):" >&2
			grep -m1 -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$_f" >&2
		done
		_rc=1
	fi
	[ -n "${T_DIR:-}" ] && [ -z "${KEEP_TMP:-}" ] && rm -rf "$T_DIR"
	return $_rc
}

t_init() {
	T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mgw-$T_NAME.XXXXXX") || fail "mktemp"
	trap 't_cleanup; exit $?' EXIT
	trap 'exit 1' INT TERM
}

# free_port: print a TCP (or UDP with "udp") port that is free on 127.0.0.1 now
free_port() {
	python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_for_line FILE REGEX [SECONDS]: wait until FILE has a line matching REGEX
wait_for_line() {
	_f=$1 _re=$2 _t=${3:-20}
	_end=$(( $(date +%s) + _t ))
	while [ "$(date +%s)" -le "$_end" ]; do
		grep -Eq "$_re" "$_f" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timeout waiting for /$_re/ in $_f; it has:" >&2
	tail -n 20 "$_f" >&2 2>/dev/null
	return 1
}

# bg CMD...: start in the background, remember the PID (in $BG_PID and for cleanup)
bg() {
	"$@" &
	BG_PID=$!
	T_PIDS="$T_PIDS $BG_PID"
}

# stop_pid PID [SIGNAL]: signal and wait; prints the exit status
stop_pid() {
	kill "-${2:-TERM}" "$1" 2>/dev/null
	wait "$1"
}

# make_gw_config DIR [extra yaml]: a minimal valid configuration in DIR (gw.yaml + devices)
make_gw_config() {
	_d=$1
	cat >"$_d/devices.yaml" <<'YAML'
- ue: ue-coap-1
  coap: { psk_identity: sensor-1, psk: "secretPSK" }
  allow: [ "AS:as-1", "GROUP:g1" ]
- ue: ue-sms-1
  sms: { msisdn: "491701234567" }
- ue: ue-mqtt-1
  mqtt: { username: dev-1 }
YAML
	cat >"$_d/gw.yaml" <<YAML
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: info }
${2:-}
YAML
}
