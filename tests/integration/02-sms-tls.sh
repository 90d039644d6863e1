#!/bin/sh
# 02 sms, SMPP over TLS: with sms.smsc[].tls the gateway binds to the SMSC simulator over
# TLS (the SMSC's certificate verified against tls.ca and its IP), and MO and MT work
# through it; an SMSC whose certificate names another host, or comes from another CA, is
# never bound (the log names the TLS failure) and nothing is sent to it; an SMSC without
# tls and without sms.insecure is a configuration error.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
sms_init
# sms_init started a plain simulator: this test wants a TLS one
stop_pid $SMSC_PID
SMSC_PORT=$(free_port)
start_smsc --tls-cert pki/m5s.pem --tls-key pki/m5s.key
grep -q 'SMPP over TLS on' smsc.log || fail "simulator not on TLS: $(cat smsc.log)"
TLS_SMS="sms:
  smsc:
    - { name: smsc1, host: 127.0.0.1, port: $SMSC_PORT, system_id: gw, password: secret, reconnect_min: 100ms, reconnect_max: 300ms, tls: { ca: pki/ca.pem } }
  source_addr: \"12345\"
  routes: [ { number: \"12345\", dest: { addrType: AS, addr: as-1 } } ]"
NORTH=$(SMS_YAML | sed -n '1,3p')

# 0. plain SMPP without insecure: refused at start
make_gw_config "$T_DIR" "$NORTH
sms:
  smsc: [ { name: smsc1, host: 127.0.0.1, port: $SMSC_PORT, system_id: gw } ]
  source_addr: \"12345\""
"$GW" -c "$T_DIR/gw.yaml" -t >plain.out 2>&1 && fail "plain SMPP without insecure accepted"
grep -q 'sms.smsc\[0\].tls: SMSC .smsc1. has no tls: plain SMPP needs sms.insecure: true' plain.out ||
	fail "no precise error: $(cat plain.out)"
ok "an SMSC without tls needs sms.insecure: true (config error names sms.smsc[0].tls)"

# 1. over TLS: bound, an MO and an MT go through
make_gw_config "$T_DIR" "$NORTH
$TLS_SMS"
start_gw gw.log
[ "$(mo 491701234567 0 0 "$(gsm7 'over TLS')")" = 0 ] || fail "MO over TLS not answered ESME_ROK"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-ue-message") and r["body"].get("payload")=="over TLS"' 20 ||
	fail "MO over TLS never reached m5s-sim"
l3g tls-mt "down over TLS"
wait_count smsc.jsonl 1 'r.get("command")=="submit_sm" and r.get("status")==0 and bytes.fromhex(r["short_message_hex"])==b"down over TLS"' 20 ||
	fail "MT over TLS never reached the SMSC"
stop_gw
wait_count smsc.jsonl 1 'r.get("command")=="unbind"' 10 || fail "no unbind over TLS at stop"
ok "bound over TLS: MO and MT go through, unbind at stop"

# 2. the SMSC's certificate names another host; 3. it comes from another CA
for bad in m5s-wrongname intruder; do
	stop_pid $SMSC_PID
	start_smsc --tls-cert pki/$bad.pem --tls-key pki/$bad.key
	binds=$(count smsc.jsonl 'r.get("command")=="bind_transceiver"')
	GW_LOG=gw-$bad.log
	bg "$GW" -c "$T_DIR/gw.yaml" 2>"$GW_LOG"
	gw=$BG_PID
	wait_gw_ready "gw-$bad.log"
	wait_for_line "gw-$bad.log" 'link down: TLS: certificate verify failed' 10 ||
		fail "$bad: no TLS failure logged: $(grep -i smsc1 "gw-$bad.log" | tail -n 3)"
	grep -q 'sms: bound to smsc1' "gw-$bad.log" && fail "$bad: bound anyway"
	[ "$(count smsc.jsonl 'r.get("command")=="bind_transceiver"')" = "$binds" ] || fail "$bad: a bind (with the password) reached the SMSC"
	stop_gw
done
ok "an SMSC certificate for another name or from another CA: never bound, no bind PDU sent"
echo "1..$n"
