#!/bin/sh
# 06 live registry changes, MQTT and SMS (issue 13 item 2), through SIGHUP:
# - an MQTT device removed from devices.yaml: its next publish (the broker still lets it
#   in) is refused and audited UNKNOWN_DEVICE, never forwarded; a username changed: the old
#   one refused, the new one accepted;
# - an SMS MSISDN removed: its next deliver_sm answered 0x65 (ESME_RX_P_APPN) and audited;
# - each change is one audit record (op device-change, who local-operator).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
# sms_init makes the test dir and m5s-sim; mqtt_init would make another: its steps here
sms_init
for _p in mosquitto mosquitto_pub mosquitto_passwd; do
	command -v $_p >/dev/null || [ -x "/usr/sbin/$_p" ] || skip "$_p (mosquitto, mosquitto-clients) missing"
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
mqtt_broker_cert
DPORT=$(free_port)
GPORT=$(free_port)
: >passwd
mqtt_acl
device dev-1 pw-one
device dev-2 pw-two
device dev-3 pw-three
start_broker
make_gw_config "$T_DIR" "$(SMS_YAML)
$(MQTT_YAML)"
cp devices.yaml devices.orig
cat >>devices.yaml <<'Y'
- ue: ue-mqtt-2
  mqtt: { username: dev-2 }
Y
bg "$GW" -c "$T_DIR/gw.yaml" 2>>gw.log
gw=$BG_PID
wait_gw_ready gw.log
wait_for_line gw.log 'connected as' 30 >/dev/null || fail "gateway never connected to the broker"
wait_for_line gw.log 'sms: bound to' 30 >/dev/null || fail "gateway never bound to the SMSC"
DEV=491701234567
hup() { # REGEX: SIGHUP, wait for REGEX in gw.log
	kill -HUP $gw
	wait_for_line gw.log "$1" 10 >/dev/null || fail "no /$1/ after SIGHUP"
}
fwd() { records sim.jsonl "r[\"body\"].get(\"msgId\")==\"$1\""; }

# 0. all three work
pub dev-1 pw-one up/dev-1 "$(body m-0)"
pub dev-2 pw-two up/dev-2 "$(body m2-0)"
[ "$(mo $DEV 0 0 "$(gsm7 'before')")" = 0 ] || fail "MO before the change not ESME_ROK"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="m-0"' 20 || fail "m-0 never reached m5s-sim"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="m2-0"' 20 || fail "m2-0 never reached m5s-sim"
wait_records sim.jsonl 1 'r["body"].get("payload")=="before"' 20 || fail "the MO SMS never reached m5s-sim"
ok "before the change: dev-1, dev-2 and the MSISDN are forwarded"

# 1. ue-mqtt-1 and ue-sms-1 removed, ue-mqtt-2's username changed to dev-3
{ sed -n '/ue-coap-1/,/allow:/p' devices.orig; printf -- '- ue: ue-mqtt-2\n  mqtt: { username: dev-3 }\n'; } >devices.yaml
hup 'reloaded: 2 devices'
b=$(count audit.jsonl '"value":"dev-1".*"cause":"UNKNOWN_DEVICE"')
pub dev-1 pw-one up/dev-1 "$(body m-1)"
wait_for_line audit.jsonl '"value":"dev-1".*"cause":"UNKNOWN_DEVICE"' 10 >/dev/null &&
	[ "$(count audit.jsonl '"value":"dev-1".*"cause":"UNKNOWN_DEVICE"')" -gt "$b" ] ||
	fail "dev-1's publish after removal not audited UNKNOWN_DEVICE"
ok "MQTT device removed: its next publish refused, audited UNKNOWN_DEVICE"
pub dev-2 pw-two up/dev-2 "$(body m2-1)"
wait_for_line audit.jsonl '"value":"dev-2".*"cause":"UNKNOWN_DEVICE"' 10 >/dev/null ||
	fail "the old username dev-2 not refused"
pub dev-3 pw-three up/dev-3 "$(body m3-1)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="m3-1" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-2"' 20 ||
	fail "the new username dev-3 not forwarded as ue-mqtt-2"
ok "MQTT username changed: the old one refused, the new one forwarded as ue-mqtt-2"
st=$(mo $DEV 0 0 "$(gsm7 'after')")
[ "$st" = 101 ] || fail "removed MSISDN answered $st, not ESME_RX_P_APPN (0x65)"
grep '"decision":"reject"' audit.jsonl | grep '"cause":"UNKNOWN_DEVICE"' | grep -q "$DEV" ||
	fail "no UNKNOWN_DEVICE audit record for the removed MSISDN"
ok "SMS MSISDN removed: its next deliver_sm answered 0x65, audited UNKNOWN_DEVICE"
sleep 1
[ "$(fwd m-1)" = 0 ] && [ "$(fwd m2-1)" = 0 ] &&
	[ "$(records sim.jsonl 'r["body"].get("payload")=="after"')" = 0 ] ||
	fail "a refused message reached m5s-sim"
for c in 'ue-mqtt-1.*DEVICE_REMOVED' 'ue-sms-1.*DEVICE_REMOVED' 'ue-mqtt-2.*DEVICE_UPDATED'; do
	[ "$(grep '"op":"device-change"' audit.jsonl | grep '"who":"local-operator"' | grep -c "$c")" = 1 ] ||
		fail "not one audit record for $c: $(grep device-change audit.jsonl)"
done
ok "each change is one audit record (op device-change, who local-operator); nothing refused was forwarded"

kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
