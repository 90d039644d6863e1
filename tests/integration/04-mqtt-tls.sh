#!/bin/sh
# 04 mqtt, the one TLS policy on the broker link (mgw/tls_policy.h, doc/security.md):
# - a broker whose gateway listener offers only CBC suites (TLS 1.2, mosquitto "ciphers"
#   and "tls_version tlsv1.2"): the gateway never connects, it names the TLS failure once
#   (one notice line with OpenSSL's reason; the next attempts at info), and the broker sees
#   no CONNECT from it;
# - the same broker with its shipped settings (AEAD suites, TLS 1.3): the gateway connects;
# - an openssl s_server that speaks only TLS 1.2 with a CBC suite sees the gateway's
#   handshake fail ("no shared cipher"); with an AEAD suite the handshake completes.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
MQTT_NO_SIM=1
. "$top_srcdir/tests/lib/mqtt.sh"
. "$top_srcdir/tests/lib/tls.sh"
mqtt_init
BROKER_EXTRA="tls_version tlsv1.2
ciphers $TLS_CBC"
# mosquitto's "tls_version tlsv1.2" is a floor (TLS 1.3, all AEAD, stays on): the broker's
# OpenSSL gets MaxProtocol TLSv1.2 from an OpenSSL config of its own
cat >broker-openssl.cnf <<'CNF'
openssl_conf = mgw_test
[mgw_test]
ssl_conf = mgw_ssl
[mgw_ssl]
system_default = mgw_tls12
[mgw_tls12]
MaxProtocol = TLSv1.2
CNF
OPENSSL_CONF=$T_DIR/broker-openssl.cnf
export OPENSSL_CONF
start_broker
unset OPENSSL_CONF
make_gw_config "$T_DIR" "$(MQTT_YAML)"

# 1. CBC only at the broker: refused
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw-cbc.log
GW_PID=$BG_PID
wait_gw_ready gw-cbc.log
wait_for_line gw-cbc.log 'notice mqtt mqtt\(broker:[0-9.:]+\): cannot connect: TLS: .*handshake failure' 20 ||
	fail "no TLS failure logged against a CBC-only broker: $(tail -n 5 gw-cbc.log)"
sleep 3 # a few more attempts (reconnect_max 1s)
# the cause once: one notice line; the next attempts' same failure at info, no error lines
[ "$(grep -c 'notice mqtt .*cannot connect: TLS: ' gw-cbc.log)" = 1 ] ||
	fail "the TLS failure not logged once at notice: $(grep mqtt gw-cbc.log | tail -n 5)"
grep -q 'info mqtt .*cannot connect: TLS: .*(again)' gw-cbc.log || fail "no further attempt: $(tail -n 3 gw-cbc.log)"
grep -q 'error mqtt' gw-cbc.log && fail "error lines besides the cause: $(grep 'error mqtt' gw-cbc.log | head -n 2)"
grep -q 'connected as' gw-cbc.log && fail "connected to a CBC-only broker: $(grep 'connected as' gw-cbc.log)"
grep -Eq 'New client connected .* as msgin5g-gw' broker.log && fail "the broker saw a CONNECT from the gateway"
grep -Eq 'no shared cipher|OpenSSL Error' broker.log || fail "the broker saw no failed handshake: $(tail -n 5 broker.log)"
stop_gw
ok "a broker offering only CBC suites (TLS 1.2): refused, the TLS failure logged, no CONNECT"

# 2. the shipped broker settings: connected (the refusal above was the suites)
stop_broker
rm -f broker.conf
BROKER_EXTRA=
start_broker
start_gw gw-aead.log
stop_gw
ok "the same broker with its AEAD suites: connected"
stop_broker

# 3. openssl s_server as the broker: TLS 1.2 with a CBC suite fails, an AEAD suite completes
for kind in cbc aead; do
	GPORT=$(free_port)
	if [ $kind = cbc ]; then c=$TLS_CBC; else c=$TLS_AEAD; fi
	tls_server "$GPORT" "s-$kind.log" "$c" pki/broker.pem pki/broker.key
	make_gw_config "$T_DIR" "$(MQTT_YAML)"
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"gw-s-$kind.log"
	GW_PID=$BG_PID
	wait_gw_ready "gw-s-$kind.log"
	r=$(tls_server_result "s-$kind.log")
	if [ $kind = cbc ]; then want=refused; else want=finished; fi
	[ "$r" = $want ] || fail "s_server ($kind): handshake $r, want $want: $(cat "s-$kind.log")"
	stop_gw
done
ok "s_server, TLS 1.2 only: a CBC suite fails the handshake, an AEAD suite completes it"
echo "1..$n"
