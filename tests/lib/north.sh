# Helpers for the north integration tests (sourced after common.sh).

# pki DIR: the test PKI (contrib/make-certs.sh)
pki() { sh "$top_srcdir/contrib/make-certs.sh" "$1" >/dev/null || fail "make-certs"; }

# validate SPEC#Schema FILE...: validate JSON files with the external OpenAPI validator.
# A schema check that cannot run is not a pass: without the spec files, node or its
# node_modules the whole test exits 77 (SKIP), naming what is missing.
validate() {
	_ref=$1
	shift
	[ -d "${OPENAPI_DIR:-/nonexistent}" ] || skip "OpenAPI validation: no spec files in '${OPENAPI_DIR:-}'"
	[ -n "${NODE:-}" ] && command -v "$NODE" >/dev/null || skip "OpenAPI validation: node missing"
	[ -d "$top_srcdir/contrib/node/node_modules" ] ||
		skip "OpenAPI validation: no contrib/node/node_modules (run contrib/install-deps.sh)"
	for _f in "$@"; do
		"$NODE" "$top_srcdir/contrib/node/oas-validate.js" "$OPENAPI_DIR" "$_ref" "$_f" ||
			fail "$_f does not validate against $_ref: $(cat "$_f")"
	done
}

# json_get FILE EXPR: print a member of a JSON file (python3 expression on d)
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# wait_gw_ready LOG: the daemon said ready
wait_gw_ready() { wait_for_line "$1" 'ready: ' 60 || fail "gateway not ready"; }

SIM="$top_builddir/m5s-sim"
TESTDEV="python3 $top_srcdir/tests/lib/testdev.py"

# start_sim NAME ARGS...: m5s-sim serve on a free port; sets SIM_PORT, SIM_PID
start_sim() {
	_n=$1
	shift
	rm -f "$T_DIR/$_n.port"
	bg "$SIM" serve --listen 127.0.0.1:0 --port-file "$T_DIR/$_n.port" --record "$T_DIR/$_n.jsonl" "$@" 2>"$T_DIR/$_n.log"
	SIM_PID=$BG_PID
	wait_for_line "$T_DIR/$_n.port" '^[0-9]+' 20 || fail "m5s-sim $_n did not start: $(cat "$T_DIR/$_n.log")"
	SIM_PORT=$(cat "$T_DIR/$_n.port")
}

# records FILE [python filter on r]: count recorded requests matching
records() {
	python3 - "$1" "${2:-True}" <<'PY'
import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        r = json.loads(l)
        if eval(sys.argv[2]): n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# wait_records FILE N [filter] [seconds]
wait_records() {
	_end=$(( $(date +%s) + ${4:-30} ))
	while [ "$(date +%s)" -le "$_end" ]; do
		[ "$(records "$1" "${3:-True}")" -ge "$2" ] && return 0
		sleep 0.2
	done
	echo "have $(records "$1" "${3:-True}") of $2 records matching ${3:-all}" >&2
	return 1
}

# body_of FILE INDEX FILTER > out.json : the body of the INDEXth matching record
body_of() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
rs = [r for r in map(json.loads, open(sys.argv[1])) if eval(sys.argv[3])]
print(json.dumps(rs[int(sys.argv[2])]["body"]))
PY
}

# psk_devices N [K]: devices.yaml with N CoAP PSK devices ue-I / s-I / kI; sets devs to the
# testdev identities of the first K of them (default: all), "psk:s-1,psk:s-2,..."
psk_devices() {
	: >devices.yaml
	devs=
	for _i in $(seq 1 "$1"); do
		printf -- '- ue: ue-%d\n  coap: { psk_identity: s-%d, psk: "k%d" }\n' $_i $_i $_i >>devices.yaml
		[ "$_i" -le "${2:-$1}" ] && devs="$devs${devs:+,}psk:s-$_i"
	done
	return 0
}
