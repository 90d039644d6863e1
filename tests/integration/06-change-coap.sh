#!/bin/sh
# 06 live registry changes, CoAP (issue 13 items 2 and 5), through SIGHUP (the live gwctl
# path calls the same mgw_security_device_changed()):
# - a device removed from devices.yaml while its DTLS session is open (observing /inbox):
#   its session is closed (within 1 s; measured, bounded at 5 s), its next message refused
#   and audited; its downlink queued while it had no observer fails with a
#   REPT_DELY_FAILED / UE_REMOVED report at m5s-sim; the change is one audit record
#   (op device-change, who local-operator, no secret);
# - a PSK re-keyed: the session opened with the old key is closed (downlink never goes over
#   it), the old key is refused, the new one accepted, without a restart.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/coap.sh"
coap_init
lport=$(free_port)
make_gw_config "$T_DIR" "$(M5S_YAML)
  listen: { port: $lport, tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem } }
coap:
  listen: [ { addr: 127.0.0.1, port: $cport } ]
  ack_timeout: 500ms
  max_retransmit: 2"
cp devices.yaml devices.orig
cat >>devices.yaml <<'Y'
- ue: ue-coap-2
  coap: { psk_identity: sensor-2, psk: "otherPSK" }
Y
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
URL="coaps://127.0.0.1:$cport"

# observe NAME IDENTITY KEY: a device observing /inbox in the background (PID in $obs)
observe() {
	_before=$(grep -c 'observing /inbox' gw.log)
	timeout 70 $CC -s 60 -B 60 -u "$2" -k "$3" "$URL/inbox" >"$1.out" 2>"$1.err" &
	obs=$!
	T_PIDS="$T_PIDS $obs"
	_end=$(( $(date +%s) + 10 ))
	until [ "$(grep -c 'observing /inbox' gw.log)" -gt "$_before" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "device never observed: $(cat "$1.err")"
		sleep 0.1
	done
}
send() { # NAME IDENTITY KEY: POST a message to /msg (the exchange in NAME.out)
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"hi"}' "$1" >"$1.json"
	timeout 30 $CC -v 6 -B 5 -m post -t json -f "$1.json" -u "$2" -k "$3" "$URL/msg" >"$1.out" 2>&1
}
# hup_wait REGEX: SIGHUP, then wait for REGEX in gw.log; prints the milliseconds it took
hup_wait() {
	_t0=$(date +%s%N)
	kill -HUP $gw
	wait_for_line gw.log "$1" 5 >/dev/null 2>&1 || fail "no /$1/ within 5 s of SIGHUP"
	echo $(( ($(date +%s%N) - _t0) / 1000000 ))
}
audits() { grep -c "$1" audit.jsonl; }

# 0. the devices work
send up-0 sensor-1 secretPSK
[ "$(code up-0)" = 2.04 ] || fail "ue-coap-1 before the change: $(code up-0)"
ok "ue-coap-1 sends (2.04) before the change"

push() { # MSGID [UE]
	"$SIM" push --url "https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message" \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1 \
		--to "UE:${2:-ue-coap-1}" --msg-id "$1" --payload "to the device: $1" --report-required \
		>"push-$1.txt" 2>&1 || fail "push $1: $(cat "push-$1.txt")"
}

# 1. downlink for ue-coap-2 while it has no observer: it waits
push dl-q ue-coap-2
sleep 2
[ "$(records sim.jsonl 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-q"')" = 0 ] ||
	fail "dl-q reported while its device was only away"
ok "downlink for ue-coap-2 (no observer) queued, no report yet"

# 2. ue-coap-1 observing; both removed + SIGHUP
observe obs1 sensor-1 secretPSK
cp devices.orig devices.yaml
sed -i '/ue-coap-1/,/allow:/d' devices.yaml
ms=$(hup_wait 'session of UE ue-coap-1 closed: device removed')
[ -n "$ms" ] || fail "ue-coap-1's session not closed within 5 s of SIGHUP"
note "session closed ${ms} ms after SIGHUP"
ok "removed: ue-coap-1's open DTLS session closed (${ms} ms after SIGHUP)"
wait_records sim.jsonl 1 'r["path"].endswith("deliver-report") and r["body"]["msgId"]=="dl-q" and r["body"]["delivSt"]=="REPT_DELY_FAILED" and "UE_REMOVED" in r["body"].get("failureCause","")' 10 ||
	fail "no REPT_DELY_FAILED/UE_REMOVED report for dl-q at m5s-sim"
ok "removed: ue-coap-2's queued downlink failed, REPT_DELY_FAILED (UE_REMOVED) at m5s-sim"
b=$(audits '"cause":"UNKNOWN_DEVICE"')
send up-1 sensor-1 secretPSK
[ -z "$(code up-1)" ] || fail "removed device answered $(code up-1)"
wait_for_line audit.jsonl '"value":"sensor-1".*"cause":"UNKNOWN_DEVICE"' 10 >/dev/null || fail "refusal not audited"
[ "$(audits '"cause":"UNKNOWN_DEVICE"')" -gt "$b" ] || fail "refusal not audited"
ok "removed: its next message refused at the handshake, audited UNKNOWN_DEVICE"
[ "$(grep -c '"op":"device-change".*"ue":"ue-coap-1".*"cause":"DEVICE_REMOVED"' audit.jsonl)" = 1 ] &&
	[ "$(grep -c '"op":"device-change".*"ue":"ue-coap-2".*"cause":"DEVICE_REMOVED"' audit.jsonl)" = 1 ] ||
	fail "one DEVICE_REMOVED record each: $(grep device-change audit.jsonl)"
grep -q '"who":"local-operator"' audit.jsonl || fail "the change record does not say who"
! grep -q 'secretPSK\|otherPSK' audit.jsonl gw.log || fail "a PSK in the audit log or the log"
ok "each removal is one audit record (op device-change, who local-operator), no secret"
kill $obs 2>/dev/null; wait $obs 2>/dev/null

# 3. back, then re-keyed while a session with the old key is open
cp devices.orig devices.yaml
hup_wait 'device ue-coap-1 added' >/dev/null
observe obs2 sensor-1 secretPSK
sed -i 's/secretPSK/freshPSK/' devices.yaml
ms=$(hup_wait 'session of UE ue-coap-1 closed: device updated')
[ -n "$ms" ] || fail "the old key's session not closed within 5 s of SIGHUP"
ok "re-keyed: the session of the old key closed (${ms} ms after SIGHUP)"
# downlink now never goes over the old key's session, it waits for the new key
push dl-r
sleep 2
! grep -q '"msgId":"dl-r"' obs2.out || fail "dl-r delivered over the session of the old key"
kill $obs 2>/dev/null; wait $obs 2>/dev/null
observe obs3 sensor-1 freshPSK
_end=$(( $(date +%s) + 20 ))
until grep -q '"msgId":"dl-r"' obs3.out; do
	[ "$(date +%s)" -le "$_end" ] || fail "dl-r never reached the device with the new key"
	sleep 0.2
done
kill $obs 2>/dev/null; wait $obs 2>/dev/null
ok "re-keyed: downlink not sent over the old key's session, delivered once the new key observes"
send up-2 sensor-1 secretPSK
[ -z "$(code up-2)" ] || fail "old key answered $(code up-2)"
ok "re-keyed: the old key refused (no answer: its handshake cannot complete)"
send up-3 sensor-1 freshPSK
[ "$(code up-3)" = 2.04 ] || fail "new key: $(code up-3): $(tail -n 5 up-3.out)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="up-3"' 10 || fail "up-3 never reached m5s-sim"
ok "re-keyed: the new key accepted (2.04, at m5s-sim), no restart"
[ "$(records sim.jsonl 'r["body"].get("msgId") in ("up-1","up-2")')" = 0 ] ||
	fail "a message of the removed or old-keyed device reached m5s-sim"
[ "$(grep -c '"ue":"ue-coap-1".*"cause":"DEVICE_UPDATED"' audit.jsonl)" = 1 ] || fail "no DEVICE_UPDATED record"
! grep -q 'freshPSK' audit.jsonl gw.log || fail "the new PSK in a log"

kill -TERM $gw; wait $gw; rc=$?; T_PIDS="$SIM_PID"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
