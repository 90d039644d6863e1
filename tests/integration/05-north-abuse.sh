#!/bin/sh
# 05 north, listener exhaustion (issue 12.4): during each attack on the north listener a
# legitimate M5S delivery (curl with the M5S client certificate, h2) gets 204 and a CoAP
# device's uplink (coap-client-openssl, PSK; skipped without it) its 2.xx, each within
# PROBE_MAX (1 s); the gateway's RSS stays within +100 MiB, its CPU stays below CPU_MAX %
# and its log does not flood. Attacks (tests/lib/north-abuse.py, loopback, bounded):
#   1 1,000 connections sending a ClientHello one byte per second (more than max_connections)
#   2 HTTP/1.1 slowloris headers over TLS (client certificates from client_ca); a body a
#     byte a second; h2 connections that never send a request
#   3 2,000 connections idle after their ClientHello
#   4 an h2 client flooding PING without reading
#   5 an endless chunked body
#   6 the gateway under `ulimit -n 256` with more connections than descriptors
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
command -v curl >/dev/null || skip "curl missing"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
ATT="python3 $top_srcdir/tests/lib/north-abuse.py"
PROBE_MAX=${PROBE_MAX:-1}
CPU_MAX=${CPU_MAX:-60}
LOG_MAX=${LOG_MAX:-60}
CLK=$(getconf CLK_TCK)
RSS_MAX_KB=${RSS_MAX_KB:-102400}
# ASan keeps freed memory in quarantine (256 MiB) and pads every block: RSS says nothing
# about our buffers there, so the bound is the quarantine's on a sanitizer build
if ldd "$GW" 2>/dev/null | grep -q libasan; then
	RSS_MAX_KB=$((RSS_MAX_KB + 262144 + 102400))
	note "ASan build: RSS bound +350 MiB (quarantine, redzones)"
fi
DEV="--ca pki/ca.pem --cert pki/device-1.pem --key pki/device-1.key"

CC=coap-client-openssl
command -v $CC >/dev/null || { CC=; note "$CC missing: no CoAP probes"; }

start_gw() { # [ulimit -n]
	port=$(free_port)
	cport=$(free_port udp)
	make_gw_config "$T_DIR" "coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  tls: { cert: pki/gw.pem, key: pki/gw.key, ca: pki/ca.pem }
north:
  listen:
    port: $port
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }
    allowed_clients: [ m5s-sim ]
    max_connections: 600
    max_per_source: 200
    handshake_timeout: 3s
    header_timeout: 3s
    body_timeout: 3s
    idle_timeout: 3s
    send_timeout: 3s"
	: >gw.log
	if [ -n "${1:-}" ]; then
		bg sh -c "ulimit -n $1 && exec \"$GW\" -c \"$T_DIR/gw.yaml\"" 2>gw.log
	else
		bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
	fi
	gw=$BG_PID
	wait_gw_ready gw.log
	base="https://127.0.0.1:$port"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$gw/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$gw/status"; }
np=0
# probe WHAT: one M5S delivery, 204 within PROBE_MAX seconds
probe() {
	np=$((np + 1))
	printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-sms-1"},"msgId":"probe-%s","payload":"hi"}' $np >probe.json
	_r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 --http2 \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key \
		-H 'Content-Type: application/json' --data-binary @probe.json \
		"$base/msgg-l3gdelivery/v1/deliver-message")
	echo "#   probe $np during $1: $_r"
	[ "${_r%% *}" = 204 ] || fail "$1: M5S delivery got ${_r%% *}, not 204"
	awk -v t="${_r#* }" -v m="$PROBE_MAX" 'BEGIN { exit !(t <= m) }' ||
		fail "$1: M5S delivery took ${_r#* } s (more than $PROBE_MAX s)"
	[ -n "$CC" ] && probe_coap "$1"
	return 0
}
# probe_coap WHAT: one CoAP device uplink over DTLS (PSK), answered 2.xx within PROBE_MAX
probe_coap() {
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"coap-%s","payload":"hi"}' $np >coap.json
	_ct0=$(date +%s.%N)
	timeout 10 $CC -v 6 -B 5 -m post -t json -f coap.json -u sensor-1 -k secretPSK \
		"coaps://127.0.0.1:$cport/msg" >coap.out 2>&1
	_t=$(awk -v a="$_ct0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
	_c=$(sed -n 's/^v:1 t:[A-Z]* c:\([0-9]\.[0-9][0-9]\) .*/\1/p' coap.out | grep -v '^0.00$' | tail -n 1)
	echo "#   coap probe $np during $1: $_c $_t"
	case "$_c" in 2.*) ;; *) fail "$1: CoAP uplink got '$_c', not 2.xx: $(tail -n 3 coap.out)" ;; esac
	awk -v t="$_t" -v m="$PROBE_MAX" 'BEGIN { exit !(t <= m) }' ||
		fail "$1: CoAP uplink took $_t s (more than $PROBE_MAX s)"
}

# attack NAME SECONDS MODE ARGS...: run the attacker, probe at 2 s and every 2 s, then check
# RSS, CPU and log lines over the attack; the attacker's JSON report is in att.json
attack() {
	_name=$1 _secs=$2
	shift 2
	_rss0=$(rss_kb) _cpu0=$(cpu_ticks) _log0=$(wc -l <gw.log) _t0=$(date +%s.%N)
	_rssmax=$_rss0
	$ATT "$@" >att.json 2>att.err &
	_att=$!
	T_PIDS="$T_PIDS $_att"
	_i=0
	while [ $_i -lt $((_secs / 2 - 1)) ]; do
		sleep 2
		_r=$(rss_kb)
		[ "$_r" -gt "$_rssmax" ] && _rssmax=$_r
		probe "$_name"
		_i=$((_i + 1))
	done
	wait $_att || fail "$_name: attacker failed: $(cat att.err)"
	_r=$(rss_kb)
	[ "$_r" -gt "$_rssmax" ] && _rssmax=$_r
	_cpu=$(awk -v a="$_cpu0" -v b="$(cpu_ticks)" -v c="$CLK" -v t0="$_t0" -v t1="$(date +%s.%N)" \
		'BEGIN { printf "%d", (b - a) / c * 100 / (t1 - t0) }')
	_logn=$(($(wc -l <gw.log) - _log0))
	echo "#   $_name: attacker $(cat att.json)"
	echo "#   $_name: RSS ${_rss0} -> max ${_rssmax} kB, CPU ${_cpu} %, ${_logn} log lines"
	[ $((_rssmax - _rss0)) -le "$RSS_MAX_KB" ] || fail "$_name: RSS grew by $((_rssmax - _rss0)) kB"
	[ "$_cpu" -le "$CPU_MAX" ] || fail "$_name: gateway CPU ${_cpu} % (more than $CPU_MAX %)"
	[ "$_logn" -le "$LOG_MAX" ] || fail "$_name: $_logn log lines: $(tail -n 5 gw.log)"
	kill -0 "$gw" 2>/dev/null || fail "$_name: the gateway died: $(tail -n 5 gw.log)"
}
att() { json_get att.json "d$1"; }

start_gw
probe "no attack"

# 1: more drippers than max_connections, from 10 addresses: the oldest handshakes are shed
# for newcomers and the rest pass handshake_timeout (3 s): none lives long
attack "ClientHello drip x1000" 10 drip "$port" 10 1000 --src 127.0.1 --nsrc 10
[ "$(att '["closed_by_server"]')" -ge 1000 ] || fail "drip: only $(att '["closed_by_server"]') connections closed by the gateway"
awk -v m="$(att '["median_lifetime"]')" 'BEGIN { exit !(m <= 5) }' ||
	fail "drip: connections lived $(att '["median_lifetime"]') s (handshake_timeout 3 s)"
wait_for_line gw.log 'connections shed' 15 || fail "no shedding summary in the log"
echo "ok 1 ClientHello drip"

# 2: slowloris with a certificate from client_ca: header_timeout (3 s) from the first byte
attack "HTTP/1.1 slowloris x150" 8 slowloris "$port" 8 150 --src 127.0.2 $DEV
[ "$(att '["opened"]')" -ge 100 ] || fail "slowloris: only $(att '["opened"]') connections opened"
[ "$(att '["held_at_end"]')" = 0 ] || fail "slowloris: $(att '["held_at_end"]') connections still open after 8 s"
echo "ok 2 slowloris"
# 2b: a body a byte a second (body_timeout 3 s), and h2 connections without a request
# (idle_timeout 3 s) that read everything: closed by their deadlines, not by the peer
attack "HTTP/1.1 slow body x20" 6 slowbody "$port" 6 20 --src 127.0.2 $DEV
[ "$(att '["opened"]')" = 20 ] || fail "slow body: only $(att '["opened"]') connections opened"
[ "$(att '["held_at_end"]')" = 0 ] || fail "slow body: $(att '["held_at_end"]') connections still open after 6 s"
attack "h2 idle x20" 6 h2idle "$port" 6 20 --src 127.0.2 $DEV
[ "$(att '["held_at_end"]')" = 0 ] || fail "h2 idle: $(att '["held_at_end"]') connections still open after 6 s"
[ "$(att '["goaway"]')" = 20 ] || fail "h2 idle: only $(att '["goaway"]') of 20 got a GOAWAY before the close"
echo "ok 2b slow body, idle h2"

# 3: 2,000 idle connections (ClientHello sent, then nothing) from 10 addresses
attack "2000 idle" 10 idle "$port" 10 2000 --src 127.0.3 --nsrc 10 --rate 400
[ "$(att '["opened"]')" -ge 2000 ] || fail "idle: only $(att '["opened"]') connections opened"
echo "ok 3 idle connections"

# 4: h2 PING flood, never reading: output bounded (max_output), then send_timeout closes it
attack "h2 PING flood" 8 h2ping "$port" 8 --src 127.0.4 $DEV
[ "$(att '["alpn"]')" = h2 ] || fail "h2ping: no h2"
[ "$(att '["closed_by_server"]')" = 1 ] || fail "h2ping: the connection was not closed"
echo "ok 4 h2 PING flood"
# 4b: not an attack: a client that reads late gets every answer (reading resumes)
# (until the socket blocks: the acks must overflow the kernel buffers and max_output, so
# that the gateway stops reading it; with the resume broken 132,000 of 307,000 came back)
$ATT h2pause "$port" 10 400000 --src 127.0.4 $DEV >att.json 2>att.err || fail "h2pause: $(cat att.err)"
note "h2 client reading late: $(cat att.json)"
[ "$(att '.get("stalled")')" = True ] || fail "h2pause: the gateway never stopped reading the client"
[ "$(att '["acks"]')" -ge "$(att '["sent"]')" ] || fail "h2pause: $(att '["acks"]') acks for $(att '["sent"]') PINGs"
echo "ok 4b a late reader gets every answer"

# 5: an endless chunked body: cut at max_body (64k) with 413 and closed
# (from a client with the M5S certificate: a buggy M5S, so that the answer is the 413)
attack "endless chunked body" 6 chunked "$port" 6 --src 127.0.5 --read-answer \
	--ca pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key
[ "$(att '["closed_by_server"]')" = 1 ] || fail "chunked: the connection was not closed"
[ "$(att '["bytes"]')" -lt 10000000 ] || fail "chunked: the gateway read $(att '["bytes"]') bytes"
[ "$(att '.get("answer")')" = "HTTP/1.1 413 Content Too Large" ] ||
	fail "chunked: answer $(att '.get("answer")'), not 413"
echo "ok 5 endless chunked body"

stop_pid "$gw" >/dev/null

# 6: ulimit -n 256 and 400 connections: the cap follows the descriptors (no EMFILE)
start_gw 256
grep -q 'max_connections 600 lowered to' gw.log || fail "max_connections not lowered under ulimit -n 256"
attack "400 connections, ulimit -n 256" 8 idle "$port" 8 400 --src 127.0.6 --nsrc 4
echo "ok 6 ulimit -n 256"
# 6b: the limit falls under the cap while running (prlimit): accept() fails with EMFILE;
# the gateway pauses accepting (one line per episode), sheds, and does not spin
if command -v prlimit >/dev/null; then
	prlimit --pid "$gw" --nofile=120:256 || fail "prlimit"
	attack "400 connections, RLIMIT_NOFILE 120" 8 idle "$port" 8 400 --src 127.0.6 --nsrc 4
	grep -q 'pausing accepts' gw.log || fail "EMFILE: no accept pause logged"
	[ "$(grep -c 'pausing accepts' gw.log)" -le 2 ] || fail "EMFILE: $(grep -c 'pausing accepts' gw.log) pause lines"
	echo "ok 7 EMFILE back-off"
else
	note "prlimit missing: EMFILE back-off not tested"
fi
stop_pid "$gw" >/dev/null
