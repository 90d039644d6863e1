#!/bin/sh
# 03 coap, DTLS handshake flood (issue 12 item 3): thousands of cookie-less ClientHellos
# from as many source ports (tests/lib/dtls-flood.py, a sender that never answers, as a
# spoofer could not) must not lock devices out. During the flood a legitimate device
# (coap-client-openssl, PSK) completes its handshake and gets 2.04, an M5S delivery is
# answered, the gateway's RSS stays within +100 MiB, the flood is audited once per episode
# (not per datagram) and counted. Then: cookie-bearing junk hellos do not make state
# either; malformed CoAP datagrams do not write one log line each.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
FLOOD="python3 $top_srcdir/tests/lib/dtls-flood.py"
lport=$(free_port)
pport=$(free_port udp)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  max_half_open_per_ip: 4
  handshake_timeout: 3s"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
post() { # name msgId -> code in NAME.out, milliseconds in $took
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s"}' "$2" >"$1.json"
	_t0=$(now_ms)
	timeout 15 $CC -v 6 -B 10 -m post -t json -f "$1.json" -u sensor-1 -k secretPSK \
		"coaps://127.0.0.1:$cport/msg" >"$1.out" 2>&1
	took=$(($(now_ms) - _t0))
}
push() { # msgId -> push-ID.txt, milliseconds in $took
	_t0=$(now_ms)
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 \
		--to UE:ue-coap-1 --msg-id "$1" --payload "during the flood: $1" >"push-$1.txt" 2>&1 ||
		fail "push $1: $(cat "push-$1.txt")"
	took=$(($(now_ms) - _t0))
}

post before before-flood
[ "$(code before)" = 2.04 ] || fail "before the flood: $(code before)"
rss0=$(rss $gw)
note "before the flood: 2.04 in ${took} ms, RSS ${rss0} kB"

# 1. 6,000 cookie-less ClientHellos from 6,000 ports at 1,000/s; the device after 2,000
$FLOOD --port "$cport" --count 6000 --rate 1000 --max-time 40 >flood1.txt 2>&1 &
fl=$!
T_PIDS="$T_PIDS $fl"
sleep 2.5
post during during-flood
t_dev=$took
push dl-during
t_m5s=$took
rss1=$(rss $gw)
wait $fl
note "flood: $(cat flood1.txt)"
note "during: device $(code during) in ${t_dev} ms, M5S delivery answered in ${t_m5s} ms, RSS ${rss1} kB"
[ "$(code during)" = 2.04 ] || fail "the device was locked out during the flood: '$(code during)' after ${t_dev} ms"
[ "$t_dev" -lt 5000 ] || fail "the device waited ${t_dev} ms"
ok "a device completes its DTLS handshake and gets 2.04 during a 6,000-hello flood (${t_dev} ms)"
[ "$t_m5s" -lt 5000 ] || fail "the M5S delivery waited ${t_m5s} ms"
ok "an M5S delivery is answered during the flood (${t_m5s} ms)"
[ $((rss1 - rss0)) -lt 102400 ] || fail "RSS grew by $((rss1 - rss0)) kB"
ok "RSS +$((rss1 - rss0)) kB during the flood"
post after after-flood
[ "$(code after)" = 2.04 ] || fail "after the flood: $(code after)"
ok "served after the flood (${took} ms)"
audits() { grep -c "\"cause\":\"$1\"" audit.jsonl; }
na=$(audits HANDSHAKE_FLOOD)
[ "$na" -ge 1 ] && [ "$na" -le 2 ] || fail "$na HANDSHAKE_FLOOD audit records for one flood, want 1"
ok "the flood is audited once ($na record), not per datagram"

# 2. 3,000 ClientHellos with a bogus cookie: answered like cookie-less ones, no state
$FLOOD --port "$cport" --count 3000 --rate 1000 --max-time 20 --first-port 30000 \
	--cookie 00112233445566778899aabbccddeeff >flood2.txt 2>&1 &
fl=$!
T_PIDS="$T_PIDS $fl"
sleep 1.5
post bogus during-bogus
rss2=$(rss $gw)
wait $fl
[ "$(code bogus)" = 2.04 ] || fail "locked out by bogus cookies: '$(code bogus)' after ${took} ms"
[ $((rss2 - rss0)) -lt 102400 ] || fail "RSS grew by $((rss2 - rss0)) kB"
ok "bogus cookies: 2.04 during the flood (${took} ms), RSS +$((rss2 - rss0)) kB"

# 2b. 3,000 ClientHello fragments (fragment_offset 1): libcoap makes a session for those too
$FLOOD --port "$cport" --count 3000 --rate 1000 --max-time 20 --first-port 33000 \
	--frag-offset 1 >flood2b.txt 2>&1 &
fl=$!
T_PIDS="$T_PIDS $fl"
sleep 2
post frag during-fragments
wait $fl
[ "$(code frag)" = 2.04 ] || fail "locked out by ClientHello fragments: '$(code frag)' after ${took} ms"
ok "ClientHello fragments: 2.04 during the flood (${took} ms)"

# 3. a sender that receives (127.0.0.2, 300 ports) answers each cookie, then goes silent:
# at most coap.max_half_open_per_ip (4 here) of its handshakes are let through, the rest are
# refused and audited; the device on 127.0.0.1 is not affected; the 4 stalled handshakes
# are dropped after coap.handshake_timeout (3 s here)
$FLOOD --port "$cport" --count 300 --rate 300 --max-time 20 --src 127.0.0.2 --answer \
	--first-port 40000 >flood3.txt 2>&1 || fail "flooder: $(cat flood3.txt)"
note "half-open flood: $(cat flood3.txt)"
grep -Eq 'answered [1-9]' flood3.txt || fail "no HelloVerifyRequest answered: $(cat flood3.txt)"
post half during-half-open
[ "$(code half)" = 2.04 ] || fail "device locked out by half-open handshakes: '$(code half)'"
[ "$(audits HALF_OPEN)" -ge 1 ] || fail "no HALF_OPEN audit record"
[ "$(grep -c 'handshake refused: HALF_OPEN' gw.log)" -le 10 ] || fail "one log line per refused handshake"
ok "half-open handshakes from one address bounded and audited; the device gets 2.04 (${took} ms)"
sleep 4

kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
counters=$(grep -o 'coap: sessions.*' gw.log | tail -n 1)
note "$counters"
echo "$counters" | grep -Eq 'hellos [1-9][0-9]* verified' || fail "hello counter: $counters"
echo "$counters" | grep -Eq 'half-open refused [1-9][0-9]* expired [1-9]' || fail "half-open counters: $counters"
refused=$(echo "$counters" | sed -n 's/.*half-open refused \([0-9]*\).*/\1/p')
# 300 from one address, 4 let through per address: the per-address limit refused the rest
# (the global one, 256, alone would refuse 44)
[ "$refused" -ge 290 ] || fail "per-address half-open limit: $refused of 300 refused"
grep -q 'DTLS handshake flood started' gw.log || fail "no flood log line"

ok "counters: hellos answered, half-open refused; the flood logged"

# 4. 500 malformed CoAP datagrams (a plain listener, token length 15) and 500 plain CoAP
# datagrams to the coaps port: a handful of log lines with a count, not one line each
make_gw_config "$T_DIR" "coap:
  insecure: true
  listen: [ { addr: 127.0.0.1, port: $cport }, { addr: 127.0.0.1, port: $pport, plain: true } ]"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw4.log
gw=$BG_PID
wait_gw_ready gw4.log
python3 - "$pport" "$cport" <<'PY2' || fail "sending bad datagrams"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(500):
    s.sendto(bytes([0x4f, 0x01, i >> 8, i & 255]) + b"x" * 15, ("127.0.0.1", int(sys.argv[1])))
    s.sendto(bytes([0x40, 0x01, i >> 8, i & 255]), ("127.0.0.1", int(sys.argv[2])))
    if i % 50 == 0:
        time.sleep(0.02)
PY2
sleep 2.5
kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
bad=$(grep -c 'malformed' gw4.log)
plain=$(grep -c 'plain CoAP to a coaps port' gw4.log)
note "log lines for 500 malformed datagrams: $bad; for 500 plain CoAP to the coaps port: $plain"
[ "$bad" -ge 1 ] && [ "$bad" -le 12 ] || fail "$bad log lines for 500 malformed datagrams"
grep -Eq 'malformed.*[0-9]+ more|[0-9]+ more.*malformed|held back [0-9]+' gw4.log || fail "no count of the lines held back"
[ "$plain" -le 12 ] || fail "$plain log lines for 500 plain CoAP datagrams to the coaps port"
ok "500 malformed datagrams: $bad log lines, 500 plain ones to the coaps port: $plain"
echo "# $n checks"
