#!/bin/sh
# 02 sms, the one TLS policy on SMPP over TLS (mgw/tls_policy.h): an openssl s_server as the
# SMSC that speaks only TLS 1.2 with CBC suites sees the gateway's handshake fail (no shared
# cipher) and the gateway names the TLS failure; one with an AEAD suite completes it; one
# that speaks only TLS 1.1 is refused by the protocol floor.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/tls.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }

# run KIND CIPHERS [s_server protocol option]: the gateway toward a one-shot s_server
run() {
	port=$(free_port)
	tls_server "$port" "s-$1.log" "$2" pki/m5s.pem pki/m5s.key ${3:-}
	make_gw_config "$T_DIR" "sms:
  smsc:
    - { name: smsc1, host: 127.0.0.1, port: $port, system_id: gw, password: secret, reconnect_min: 5s, tls: { ca: pki/ca.pem } }
  source_addr: \"12345\""
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"gw-$1.log"
	gw=$BG_PID
	wait_gw_ready "gw-$1.log"
}
stop_gw() {
	stop_pid "$gw"
	[ $? = 0 ] || fail "gateway exit status"
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $gw\b//")
}

run cbc "$TLS_CBC"
[ "$(tls_server_result s-cbc.log)" = refused ] || fail "CBC-only SMSC: handshake not refused: $(cat s-cbc.log)"
wait_for_line gw-cbc.log 'smpp\(smsc1\): link down: TLS: ' 10 || fail "no TLS failure logged: $(tail -n 3 gw-cbc.log)"
stop_gw
ok "an SMSC with only CBC suites (TLS 1.2): no shared cipher, the gateway logs the TLS failure"

run aead "$TLS_AEAD"
[ "$(tls_server_result s-aead.log)" = finished ] || fail "AEAD SMSC: handshake not finished: $(cat s-aead.log)"
stop_gw
ok "an SMSC with an AEAD suite (TLS 1.2): the handshake completes"

# TLS 1.1 needs OpenSSL security level 0 at the server
port=$(free_port)
bg openssl s_server -www -accept "127.0.0.1:$port" -naccept 1 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
	-keylogfile s-tls11.log.keys -cert pki/m5s.pem -key pki/m5s.key >s-tls11.log 2>&1
wait_for_line s-tls11.log '^ACCEPT' 10 || fail "s_server -tls1_1 did not start: $(cat s-tls11.log)"
make_gw_config "$T_DIR" "sms:
  smsc:
    - { name: smsc1, host: 127.0.0.1, port: $port, system_id: gw, password: secret, reconnect_min: 5s, tls: { ca: pki/ca.pem } }
  source_addr: \"12345\""
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw-tls11.log
gw=$BG_PID
wait_gw_ready gw-tls11.log
wait_for_line gw-tls11.log 'smpp\(smsc1\): link down: TLS: ' 10 || fail "TLS 1.1 SMSC: no TLS failure logged: $(tail -n 3 gw-tls11.log)"
grep -q '^CLIENT_RANDOM ' s-tls11.log.keys 2>/dev/null && fail "a TLS 1.1 handshake completed"
stop_gw
ok "an SMSC speaking only TLS 1.1: refused by the floor"
echo "1..$n"
