#!/bin/sh
# 03 coap + the registry in the store (issue 13): msgin5g-gwctl changes the registry of a
# running gateway, without SIGHUP and without a restart, with coap-client-openssl as the
# device and m5s-sim as the M5S:
# - a CoAP device added with gwctl sends within 1 s of the add (registry.poll 200 ms);
# - its PSK re-keyed: the old key is refused (audited), the new one accepted;
# - removed: its next message is refused and audited (UNKNOWN_DEVICE);
# - every change is one gwctl audit record naming the operator, never the PSK.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
make_gw_config "$T_DIR" "$(M5S_YAML)
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
URL="coaps://127.0.0.1:$cport"
CTL="$top_builddir/msgin5g-gwctl -c $T_DIR/gw.yaml"

send() { # NAME PSK-ID PSK
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"hi"}' "$1" >"$1.json"
	timeout 30 $CC -v 6 -B 12 -m post -t json -f "$1.json" -u "$2" -k "$3" "$URL/msg" >"$1.out" 2>&1
}
# refused NAME CAUSE PSK-ID PSK: no answer, and one more audit record with CAUSE (a wrong
# key is audited when the handshake times out, after 10 s)
refused() {
	_before=$(grep -c "\"cause\":\"$2\"" audit.jsonl)
	send "$1" "$3" "$4"
	[ -z "$(code "$1")" ] || fail "$1: answered $(code "$1")"
	_end=$(( $(date +%s) + 25 ))
	until [ "$(grep -c "\"cause\":\"$2\"" audit.jsonl)" -gt "$_before" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "$1: no audit record with cause $2"
		sleep 0.2
	done
}

# 0. not registered yet: refused
refused before UNKNOWN_DEVICE live-1 livePSK1
ok "an unregistered identity is refused (UNKNOWN_DEVICE)"

# 1. add with gwctl; it sends 1 s later, no SIGHUP
$CTL devices add '{ue: ue-live-1, coap: {psk_identity: live-1, psk: livePSK1}, allow: ["AS:as-1"]}' >add.out 2>&1 ||
	fail "gwctl add: $(cat add.out)"
sleep 1
send add-1 live-1 livePSK1
[ "$(code add-1)" = 2.04 ] || fail "added device: $(code add-1): $(tail -n 5 add-1.out)"
wait_records sim.jsonl 1 'r["body"]["msgId"]=="add-1" and r["body"]["oriAddr"]["addr"]=="ue-live-1"' ||
	fail "add-1 never reached m5s-sim from ue-live-1"
grep -q 'reloaded\|SIGHUP' gw.log && fail "the gateway reloaded"
ok "device added with gwctl to the running gateway sends within 1 s (2.04, at m5s-sim)"

# 2. re-key: the old key refused, the new one accepted
$CTL devices update '{ue: ue-live-1, coap: {psk_identity: live-1, psk: livePSK2}, allow: ["AS:as-1"]}' >upd.out 2>&1 ||
	fail "gwctl update: $(cat upd.out)"
sleep 1
send rekey-new live-1 livePSK2
[ "$(code rekey-new)" = 2.04 ] || fail "new key: $(code rekey-new): $(tail -n 5 rekey-new.out)"
refused rekey-old BAD_CREDENTIAL live-1 livePSK1
ok "re-keyed PSK: the new key accepted, the old one refused and audited, no restart"

# 3. remove: the next message is refused and audited
$CTL devices remove ue-live-1 >rm.out 2>&1 || fail "gwctl remove: $(cat rm.out)"
sleep 1
refused removed UNKNOWN_DEVICE live-1 livePSK2
! grep -q '"msgId":"removed"' sim.jsonl || fail "a removed device's message reached m5s-sim"
ok "removed device: next message refused, audited UNKNOWN_DEVICE, nothing forwarded"

# 4. audit: one record per gwctl change, the operator named, no PSK anywhere
for op in device-add device-update device-remove; do
	grep "\"op\":\"$op\"" audit.jsonl | grep -q '"ue":"ue-live-1".*' || fail "no $op audit record"
done
grep '"op":"device-add"' audit.jsonl | grep -q 'uid' || fail "the add record names no operator"
for f in gw.log audit.jsonl add.out upd.out rm.out; do
	grep -q 'livePSK' "$f" && fail "a PSK is in $f"
done
ok "one audit record per change naming the local operator; no PSK in logs or audit"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
! grep -q 'Sanitizer\|runtime error:' gw.log || fail "sanitizer report in gw.log"
echo "# $n checks"
