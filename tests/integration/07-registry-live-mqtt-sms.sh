#!/bin/sh
# 07 the registry in the store (issue 13): an MQTT device and an SMS device added with
# msgin5g-gwctl devices add to a running gateway (no SIGHUP) send within 1 s; before the
# add the same username / MSISDN is refused UNKNOWN_DEVICE. Broker: mosquitto; SMSC: the
# smsc simulator; M5S: m5s-sim.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
. "$top_srcdir/tests/lib/sms.sh"
. "$top_srcdir/tests/lib/mqtt.sh"
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
device dev-new pw-new
start_broker
make_gw_config "$T_DIR" "$(SMS_YAML)
$(MQTT_YAML)"
bg "$GW" -c "$T_DIR/gw.yaml" 2>>gw.log
gw=$BG_PID
wait_gw_ready gw.log
wait_for_line gw.log 'connected as' 30 >/dev/null || fail "gateway never connected to the broker"
wait_for_line gw.log 'sms: bound to' 30 >/dev/null || fail "gateway never bound to the SMSC"
CTL="$top_builddir/msgin5g-gwctl -c $T_DIR/gw.yaml"
NEW=491709999999

# 0. not registered yet: both refused
pub dev-new pw-new up/dev-new "$(body pre-1)"
wait_for_line audit.jsonl '"value":"dev-new".*"cause":"UNKNOWN_DEVICE"' 10 >/dev/null ||
	fail "an unregistered username was not refused"
st=$(mo $NEW 0 0 "$(gsm7 'pre')")
[ "$st" = 101 ] || fail "an unregistered MSISDN answered $st, not 0x65"
ok "before the add: the username and the MSISDN are refused UNKNOWN_DEVICE"

# 1. add both with gwctl; 1 s later they send
$CTL devices add '{ue: ue-mqtt-new, mqtt: {username: dev-new}}' >add1.out 2>&1 || fail "add mqtt: $(cat add1.out)"
$CTL devices add "{ue: ue-sms-new, sms: {msisdn: \"$NEW\"}}" >add2.out 2>&1 || fail "add sms: $(cat add2.out)"
sleep 1
pub dev-new pw-new up/dev-new "$(body live-1)"
wait_records sim.jsonl 1 'r["body"].get("msgId")=="live-1" and r["body"]["oriAddr"]["addr"]=="ue-mqtt-new"' 20 ||
	fail "the added MQTT device was not forwarded as ue-mqtt-new"
ok "MQTT device added with gwctl: forwarded as ue-mqtt-new"
st=$(mo $NEW 0 0 "$(gsm7 'hello live')")
[ "$st" = 0 ] || fail "the added MSISDN answered $st, not ESME_ROK"
wait_records sim.jsonl 1 'r["body"].get("payload")=="hello live" and r["body"]["oriAddr"]["addr"]=="ue-sms-new"' 20 ||
	fail "the added SMS device's MO never reached m5s-sim as ue-sms-new"
ok "SMS device added with gwctl: its MO answered ESME_ROK, forwarded as ue-sms-new"
grep -q 'SIGHUP' gw.log && fail "the gateway was reloaded"
[ "$(grep -c '"op":"device-add"' audit.jsonl)" = 2 ] || fail "not one device-add record per add"

kill -TERM $gw; wait $gw; rc=$?
[ $rc -eq 0 ] || fail "gateway exit $rc"
! grep -q 'Sanitizer\|runtime error:' gw.log || fail "sanitizer report in gw.log"
echo "# $n checks"
