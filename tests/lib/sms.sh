# tests/lib/sms.sh: shared by the 06 SMS adapter tests (after common.sh and north.sh).
# The gateway, m5s-sim as its M5S and contrib/smsc-sim as its SMSC, all real processes.

# sms_init [m5s-sim serve options]: a test directory with a PKI, m5s-sim (SIM_PORT), the
# SMSC simulator (SMSC_PORT, its control port CTL_PORT, records in smsc.jsonl) and a free
# port for the gateway's north server (LPORT); skips without node or the npm smpp package
sms_init() {
	t_init
	cd "$T_DIR" || fail "cd"
	NODE=${NODE:-node}
	command -v "$NODE" >/dev/null || skip "node missing"
	[ -d "$top_srcdir/contrib/node/node_modules/smpp" ] || skip "npm smpp missing (npm ci in contrib/node)"
	pki "$T_DIR/pki"
	start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem "$@"
	start_smsc
	LPORT=$(free_port)
	n=0
}

# start_smsc [simulator options]: (re)start the SMSC simulator, on SMSC_PORT if set
start_smsc() {
	rm -f smsc.port ctl.port
	bg "$NODE" "$top_srcdir/contrib/smsc-sim/smsc-sim.js" --listen "127.0.0.1:${SMSC_PORT:-0}" \
		--port-file smsc.port --record smsc.jsonl --control 127.0.0.1:0 \
		--control-port-file ctl.port --system-id gw --password secret --resp-timeout 5000 "$@" \
		>>smsc.log 2>&1
	SMSC_PID=$BG_PID
	wait_for_line smsc.port '^[0-9]+$' 20 || fail "SMSC simulator did not start: $(cat smsc.log)"
	wait_for_line ctl.port '^[0-9]+$' 20 || fail "SMSC simulator control port missing"
	SMSC_PORT=$(cat smsc.port)
	CTL_PORT=$(cat ctl.port)
}

# the gateway's config: north toward m5s-sim (mutual TLS) with its own server on LPORT, and
# the sms section toward the simulator; extra YAML lines of the sms section in $1
SMS_YAML() {
	printf 'north:\n  m5s: { api_root: https://127.0.0.1:%s, tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key } }\n' "$SIM_PORT"
	printf '  listen: { port: %s, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }\n' "$LPORT"
	printf 'sms:\n  insecure: true\n  smsc:\n    - { name: smsc1, host: 127.0.0.1, port: %s, system_id: gw, password: secret, window: 10, reconnect_min: 100ms, reconnect_max: 500ms }\n' "$SMSC_PORT"
	printf '  source_addr: "12345"\n  routes:\n    - { number: "12345", dest: { addrType: AS, addr: as-1 } }\n'
	[ -z "${1:-}" ] || printf '%s\n' "$1"
}

# start_gw LOG: the gateway on gw.yaml, bound to the SMSC
start_gw() {
	GW_LOG=$1
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"$GW_LOG"
	gw=$BG_PID
	wait_gw_ready "$GW_LOG"
	wait_for_line "$GW_LOG" 'sms: bound to smsc1' 20 || fail "never bound to the SMSC: $(tail -n 5 "$GW_LOG")"
}

# ctl JSON: one control command to the simulator, prints its answer line
ctl() {
	python3 - "$CTL_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
PY
}
# is JSON EXPR: EXPR (Python, on d) is true for the JSON text
is() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
# count FILE FILTER: JSON lines of FILE for which FILTER (Python, on r) is true
count() {
	python3 - "$1" "$2" <<'PY'
import json, sys
try:
    print(sum(1 for l in open(sys.argv[1]) if eval(sys.argv[2], {}, {"r": json.loads(l)})))
except FileNotFoundError:
    print(0)
PY
}
# wait_count FILE N FILTER [seconds]
wait_count() {
	_end=$(( $(date +%s) + ${4:-30} ))
	while [ "$(date +%s)" -le "$_end" ]; do
		[ "$(count "$1" "$3")" -ge "$2" ] && return 0
		sleep 0.2
	done
	echo "have $(count "$1" "$3") of $2 lines matching $3" >&2
	return 1
}
# mo MSISDN DCS ESM HEX [extra JSON members]: the simulator delivers an MO deliver_sm;
# prints the deliver_sm_resp status (or "error: ...")
mo() {
	_a=$(ctl "{\"cmd\":\"deliver\",\"source_addr\":\"$1\",\"source_addr_ton\":1,\"destination_addr\":\"${MO_DEST:-12345}\",\"data_coding\":$2,\"esm_class\":$3,\"short_message_hex\":\"$4\"${5:+,$5}}")
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["status"] if d.get("ok") else "error: " + d.get("error", "?"))' "$_a"
}
# l3g MSGID PAYLOAD [from] [extra push options]: an L3G delivery to ue-sms-1 through the
# gateway's north server
l3g() {
	_id=$1 _p=$2 _from=${3:-AS:as-1}
	shift 2
	[ $# -gt 0 ] && shift
	"$SIM" push --url "https://127.0.0.1:$LPORT/msgg-l3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --l3g --from "$_from" --to UE:ue-sms-1 --msg-id "$_id" \
		--payload "$_p" "$@" >"push-$_id.txt" 2>&1 || fail "push $_id: $(cat "push-$_id.txt")"
}
# hex TEXT ENCODING: the octets of TEXT in a Python codec ("utf-16-be", "latin-1", ...)
hex() { python3 -c 'import sys; print(sys.argv[1].encode(sys.argv[2]).hex())' "$1" "$2"; }
# gsm7 TEXT: unpacked GSM 03.38 septets (one per octet) of TEXT, extension chars as ESC+code
gsm7() {
	python3 - "$1" <<'PY'
import sys
basic = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
ext = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
out = bytearray()
for c in sys.argv[1]:
    if c in ext:
        out += bytes([0x1b, ext[c]])
    else:
        out.append(basic.index(c))
print(out.hex())
PY
}
ok() { n=$((n + 1)); echo "ok $n $*"; }
# stop_gw: SIGTERM the gateway; it must exit 0 with no sanitizer report in its log
stop_gw() {
	stop_pid $gw
	_st=$?
	! grep -q 'Sanitizer\|runtime error:' "$GW_LOG" || fail "sanitizer report in $GW_LOG: $(grep -m1 -A8 'Sanitizer\|runtime error:' "$GW_LOG")"
	[ "$_st" = 0 ] || fail "gateway exited $_st at stop: $(tail -n 5 "$GW_LOG")"
}
