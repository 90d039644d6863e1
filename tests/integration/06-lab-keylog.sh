#!/bin/sh
# 06 lab: lab.keylog writes the TLS and DTLS secrets of every connection in NSS key log
# format, and only with lab.enable: true (else a configuration error); the lab mode is
# announced at start. The secrets are checked against the peers' own key logs where the
# peer can write one: a Python TLS 1.3 client of the north server and the SMSC simulator
# (node, SMPP over TLS) log exactly the lines the gateway logged; the gateway's own TLS
# connection to m5s-sim and a CoAP device's DTLS 1.2 handshake each add new secrets.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
command -v coap-client-openssl >/dev/null || skip "coap-client-openssl (libcoap3-bin) missing"
stop_pid $SMSC_PID
SMSC_PORT=$(free_port)
start_smsc --tls-cert pki/m5s.pem --tls-key pki/m5s.key --keylog smsc-keys.log
cport=$(free_port udp)
NORTH=$(SMS_YAML | sed -n '1,3p')
SMSC="sms:
  smsc:
    - { name: smsc1, host: 127.0.0.1, port: $SMSC_PORT, system_id: gw, password: secret, tls: { ca: pki/ca.pem } }
  source_addr: \"12345\"
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]"
# distinct client randoms (connections) in a key log
conns() { [ -f "$1" ] && awk '{print $2}' "$1" | sort -u | wc -l || echo 0; }
# every line of $1 is in $2
all_in() { python3 -c 'import sys; a={l for l in open(sys.argv[1]).read().split("\n") if l and not l.startswith("#")}; b=set(open(sys.argv[2]).read().split("\n")); sys.exit(0 if a and a <= b else 1)' "$1" "$2"; }

# 1. a key log without lab.enable is refused
make_gw_config "$T_DIR" "$NORTH
lab: { keylog: keys.log }
$SMSC"
"$GW" -c "$T_DIR/gw.yaml" -t >nolab.out 2>&1 && fail "lab.keylog without lab.enable accepted"
grep -q 'lab\.keylog: writes TLS secrets: only with lab.enable: true' nolab.out || fail "no precise error: $(cat nolab.out)"
[ ! -e keys.log ] || fail "keys.log written anyway"
ok "lab.keylog without lab.enable: true is a configuration error"

# 2. lab mode on: announced; the SMPP over TLS bind's secrets are the SMSC's
make_gw_config "$T_DIR" "$NORTH
lab: { enable: true, keylog: keys.log }
$SMSC"
start_gw gw.log
grep -q 'LAB MODE (lab.enable: true): not for production' gw.log || fail "lab mode not announced"
grep -q "LAB MODE: the TLS/DTLS secrets of every connection are written to .*keys.log" gw.log || fail "key log not announced"
[ "$(stat -c %a keys.log)" = 600 ] || fail "keys.log mode $(stat -c %a keys.log), not 600"
wait_for_line smsc-keys.log 'SECRET|CLIENT_RANDOM' 10 || fail "the SMSC logged no secrets"
all_in smsc-keys.log keys.log || fail "the SMSC's TLS secrets are not in the gateway's key log"
ok "announced at start; keys.log 0600; the SMPP over TLS session's secrets match the SMSC's own"

# 3. a TLS 1.3 client of the north server logs the same secrets as the gateway
python3 - "$LPORT" <<'PY' || fail "python client failed"
import json, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations("pki/ca.pem")
ctx.load_cert_chain("pki/m5s.pem", "pki/m5s.key")
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.keylog_filename = "py-keys.log"
body = json.dumps({"oriAddr": {"addrType": "AS", "addr": "as-1"}, "destAddr": {"addrType": "UE", "addr": "ue-sms-1"},
                   "msgId": "lab-1", "payload": "decrypt me"}).encode()
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
    s.sendall(b"POST /msgg-l3gdelivery/v1/deliver-message HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    r = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        r += d
assert r.startswith(b"HTTP/1.1 204"), r[:100]
PY
all_in py-keys.log keys.log || fail "the north server's TLS 1.3 secrets are not the client's"
ok "north server: a TLS 1.3 client's own key log lines are all in the gateway's"

# 4. the gateway as client of m5s-sim, and a CoAP device's DTLS handshake, add secrets
before=$(conns keys.log)
printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"lab-2","payload":"dtls"}' >up.json
timeout 30 coap-client-openssl -B 20 -m post -t json -f up.json -u sensor-1 -k secretPSK "coaps://127.0.0.1:$cport/msg" >coap.out 2>&1
wait_records sim.jsonl 1 'r["body"].get("msgId")=="lab-2"' 20 || fail "the CoAP message never reached m5s-sim"
after=$(conns keys.log)
[ "$after" -ge $((before + 2)) ] || fail "expected a DTLS and a TLS connection more in keys.log: $before -> $after"
grep -q '^CLIENT_RANDOM ' keys.log || fail "no TLS 1.2/DTLS 1.2 CLIENT_RANDOM line (the CoAP handshake)"
ok "DTLS 1.2 (CoAP) and the client connection to m5s-sim add their secrets ($before -> $after connections)"

stop_gw
! grep -q 'decrypt me' keys.log gw.log audit.jsonl || fail "a payload reached a log"
echo "1..$n"
