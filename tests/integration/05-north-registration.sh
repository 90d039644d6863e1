#!/bin/sh
# 05 north, registration at the M5S on the devices' behalf (doc/interfaces.md
# "Registration at the M5S", a project extension): the M5S is down when the gateway starts
# with 3 devices (CoAP, SMS, MQTT); once it is back they arrive registered in one batched
# request whose body has exactly the documented structure; a restart registers nothing
# again; a SIGHUP that removes one device and adds five de-registers the one and registers
# the five in requests of at most `batch` (4) UEs; the removed UE is then refused by the
# gateway (404 UE_NOT_FOUND) and m5s-sim no longer routes to it, and the same for a UE
# removed live with `msgin5g-gwctl devices remove`; a live import of 9 goes out in
# requests of 4, 4 and 1; a registration the M5S
# refuses (403) is audited and tried again at the next start.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
simport=$(free_port)
gwport=$(free_port)
cat >devices.yaml <<'Y'
- ue: ue-coap-1
  coap: { psk_identity: sensor-1, psk: "secretPSK" }
- ue: ue-sms-1
  sms: { msisdn: "491701234567" }
- ue: ue-mqtt-1
  mqtt: { username: dev-1 }
Y
cat >gw.yaml <<Y
store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: info }
north:
  m5s:
    api_root: https://127.0.0.1:$simport
    tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }
    retry_min: 100ms
    retry_max: 1s
    registration: { gw_id: gw-1, api_root: "https://127.0.0.1:$gwport", batch: 4 }
  listen:
    port: $gwport
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }
Y
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
REG='r["path"]=="/msgs-gwregistration/v1/registrations" and r["status"]==200'
DEREG='r["path"]=="/msgs-gwregistration/v1/deregistrations" and r["status"]==200'

"$GW" -T -c gw.yaml >dump.txt 2>&1 || fail "-T: $(cat dump.txt)"
grep -q 'batch: 4' dump.txt && grep -q 'gw_id: "gw-1"' dump.txt || fail "-T does not show registration: $(cat dump.txt)"
ok "-T prints north.m5s.registration"

# 1. the M5S is down at start: the registration waits in the queue, retried with back-off
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
wait_for_line gw.log 'registration of 3 UEs #[0-9]+: .*retry in .*attempt 3' 20 || fail "no retried registration"
grep -q 'registration sync: 3 UEs to register, 0 to de-register' gw.log || fail "sync line: $(grep sync gw.log)"
ok "M5S down: registration of 3 UEs queued and retried"

bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --reg-state "$T_DIR/reg.json" \
	--cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem 2>sim.log
sim=$BG_PID
wait_records sim.jsonl 1 "$REG" 30 || fail "no registration reached m5s-sim: $(tail -n 5 gw.log)"
sleep 1
[ "$(records sim.jsonl "$REG")" = 1 ] || fail "$(records sim.jsonl "$REG") registration requests, expected 1"
body_of sim.jsonl 0 "$REG" >reg1.json
python3 - reg1.json "https://127.0.0.1:$gwport" <<'PY' || fail "registration body: $(cat reg1.json)"
import json, sys
b = json.load(open(sys.argv[1]))
assert sorted(b) == ["gwApiRoot", "gwId", "ues"], sorted(b)
assert b["gwId"] == "gw-1" and b["gwApiRoot"] == sys.argv[2], b
want = {"ue-coap-1": "COAP", "ue-sms-1": "SMS", "ue-mqtt-1": "MQTT"}
assert len(b["ues"]) == 3, b["ues"]
for u in b["ues"]:
    assert sorted(u) == ["commAvail", "maxSegSize", "mechanism", "ueServiceId"], u
    assert want.pop(u["ueServiceId"]) == u["mechanism"], u
    assert u["maxSegSize"] == 2048 and u["commAvail"] is True, u
assert not want, want
PY
[ "$(records sim.jsonl "$REG and r['valid']")" = 1 ] || fail "m5s-sim found the body invalid"
wait_for_line gw.log 'registration of 3 UEs at the M5S: 3 done, 0 refused' 10 || fail "result not logged"
ok "M5S back: one batched registration of the 3 UEs, body as documented"

# 2. a restart registers nothing again
kill -TERM $gw; wait $gw; rc=$?; [ $rc -eq 0 ] || fail "gateway exit $rc"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw2.log
gw=$BG_PID
wait_gw_ready gw2.log
grep -q 'registration sync: 0 UEs to register, 0 to de-register' gw2.log || fail "restart sync: $(grep sync gw2.log)"
sleep 1.5
[ "$(records sim.jsonl 'r["path"].startswith("/msgs-gwregistration")')" = 1 ] || fail "the restart re-registered"
ok "restart: nothing registered again"

PUSH="$SIM push --url https://127.0.0.1:$gwport/msgg-n3gdelivery/v1/deliver-message --cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --n3g --from AS:as-1"
$PUSH --to UE:ue-mqtt-1 --msg-id dl-1 --registered reg.json >push1.txt 2>&1 || fail "push to a registered UE: $(cat push1.txt)"
grep -q 'HTTP 204' push1.txt || fail "push 1: $(cat push1.txt)"
ok "push to registered ue-mqtt-1: routed, 204"

# 3. SIGHUP: ue-mqtt-1 removed, five added: one de-registration, registrations of 4 + 1
cat >devices.yaml <<'Y'
- ue: ue-coap-1
  coap: { psk_identity: sensor-1, psk: "secretPSK" }
- ue: ue-sms-1
  sms: { msisdn: "491701234567" }
Y
for i in 1 2 3 4 5; do
	printf -- '- ue: ue-new-%d\n  coap: { psk_identity: new-%d, psk: "k%d" }\n' $i $i $i >>devices.yaml
done
kill -HUP $gw
wait_records sim.jsonl 1 "$DEREG" 20 || fail "no de-registration reached m5s-sim: $(tail -n 5 gw2.log)"
wait_records sim.jsonl 3 "$REG" 20 || fail "the five new UEs were not registered"
sleep 1
[ "$(records sim.jsonl "$DEREG")" = 1 ] || fail "more than one de-registration"
body_of sim.jsonl 0 "$DEREG" >dereg.json
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b == {"gwId": "gw-1", "ues": ["ue-mqtt-1"]}, b' dereg.json ||
	fail "de-registration body: $(cat dereg.json)"
python3 - sim.jsonl <<'PY' || fail "batches of the five"
import json, sys
rs = [r["body"] for r in map(json.loads, open(sys.argv[1]))
      if r["path"].endswith("/registrations") and r["status"] == 200][1:]
sizes = sorted(len(b["ues"]) for b in rs)
assert sizes == [1, 4], sizes
got = sorted(u["ueServiceId"] for b in rs for u in b["ues"])
assert got == ["ue-new-%d" % i for i in range(1, 6)], got
PY
ok "SIGHUP: ue-mqtt-1 de-registered, five new UEs in requests of 4 and 1"
python3 -c '
import json, sys
ues = json.load(open(sys.argv[1]))["gateways"]["gw-1"]["ues"]
assert "ue-mqtt-1" not in ues and len(ues) == 7, sorted(ues)' reg.json || fail "m5s-sim state: $(cat reg.json)"
ok "m5s-sim keeps 7 registered UEs for gw-1, without ue-mqtt-1"

# 4. the removed UE: m5s-sim does not route to it, the gateway answers 404 UE_NOT_FOUND
$PUSH --to UE:ue-mqtt-1 --msg-id dl-2 --registered reg.json >push2.txt 2>&1
rc=$?
[ $rc -eq 4 ] || fail "m5s-sim routed to a de-registered UE (exit $rc): $(cat push2.txt)"
grep -q 'not registered' push2.txt || fail "push 2: $(cat push2.txt)"
ok "m5s-sim push --registered: ue-mqtt-1 not routed (exit 4)"
$PUSH --to UE:ue-mqtt-1 --msg-id dl-3 >push3.txt 2>&1
grep -q 'HTTP 404' push3.txt && grep -q 'UE_NOT_FOUND' push3.txt || fail "push to the removed UE: $(cat push3.txt)"
ok "gateway: push to removed ue-mqtt-1 answered 404 UE_NOT_FOUND"
$PUSH --to UE:ue-new-5 --msg-id dl-4 --registered reg.json >push4.txt 2>&1 || fail "push to a new UE: $(cat push4.txt)"
ok "push to newly registered ue-new-5: 204"

[ "$(sqlite3 gw.db "select count(*) from queue where origin='GW:registration' and state<>2")" = 0 ] ||
	fail "registration entries not done: $(sqlite3 gw.db "select id,state,attempts from queue where origin='GW:registration'")"
ok "every registration entry DONE in the store"

# 4b. live (issue 13 acceptance): gwctl removes ue-sms-1 from the running gateway's registry,
# no SIGHUP: m5s-sim is told (de-registration), a push to it is answered 404 UE_NOT_FOUND
"$top_builddir/msgin5g-gwctl" -c "$T_DIR/gw.yaml" devices remove ue-sms-1 >rm.out 2>&1 || fail "gwctl remove: $(cat rm.out)"
sed -i '/ue-sms-1/,+1d' devices.yaml # the operator drops it from the seed too
wait_records sim.jsonl 2 "$DEREG" 15 || fail "gwctl remove: no de-registration: $(tail -n 5 gw2.log)"
body_of sim.jsonl 1 "$DEREG" >dereg2.json
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); assert b == {"gwId": "gw-1", "ues": ["ue-sms-1"]}, b' dereg2.json ||
	fail "de-registration body: $(cat dereg2.json)"
PUSHL="$SIM push --url https://127.0.0.1:$gwport/msgg-l3gdelivery/v1/deliver-message --cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key --l3g --from AS:as-1"
$PUSHL --to UE:ue-sms-1 --msg-id dl-5 >push5.txt 2>&1
grep -q 'HTTP 404' push5.txt && grep -q 'UE_NOT_FOUND' push5.txt || fail "push to the removed SMS UE: $(cat push5.txt)"
$PUSHL --to UE:ue-sms-1 --msg-id dl-6 --registered reg.json >push6.txt 2>&1
[ $? -eq 4 ] || fail "m5s-sim routed to ue-sms-1: $(cat push6.txt)"
ok "gwctl devices remove (live): de-registered at m5s-sim, not routed, gateway 404 UE_NOT_FOUND"

# 4c. bulk: a live import of 9 devices is registered in requests of at most batch (4) UEs
before=$(records sim.jsonl "$REG")
for i in 1 2 3 4 5 6 7 8 9; do
	printf '{"ue":"ue-imp-%d","mqtt":{"username":"imp-%d"}}\n' $i $i
done >imp.jsonl
"$top_builddir/msgin5g-gwctl" -c "$T_DIR/gw.yaml" devices import imp.jsonl >imp.out 2>&1 || fail "gwctl import: $(cat imp.out)"
wait_records sim.jsonl $((before + 3)) "$REG" 15 || fail "the import was not registered: $(tail -n 5 gw2.log)"
sleep 1
python3 - sim.jsonl "$before" <<'PY' || fail "import batches"
import json, sys
rs = [r["body"] for r in map(json.loads, open(sys.argv[1]))
      if r["path"].endswith("/registrations") and r["status"] == 200][int(sys.argv[2]):]
assert sorted(len(b["ues"]) for b in rs) == [1, 4, 4], [len(b["ues"]) for b in rs]
got = sorted(u["ueServiceId"] for b in rs for u in b["ues"])
assert got == ["ue-imp-%d" % i for i in range(1, 10)], got
assert all(u["mechanism"] == "MQTT" for b in rs for u in b["ues"])
PY
ok "gwctl devices import of 9 (live): registered in 3 requests of 4, 4 and 1"

# 5. the M5S refuses a registration (403, final): logged, audited, not marked registered,
# registered at the next start
echo 'path=*/registrations status=403' >script.txt
stop_pid $sim; T_PIDS=" $gw"
bg "$SIM" serve --listen 127.0.0.1:$simport --record "$T_DIR/sim.jsonl" --reg-state "$T_DIR/reg.json" \
	--cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem --script script.txt 2>sim2.log
sim=$BG_PID
wait_for_line sim2.log 'listening on' 20 || fail "m5s-sim did not restart"
printf -- '- ue: ue-refused\n  sms: { msisdn: "491700000009" }\n' >>devices.yaml
kill -HUP $gw
wait_for_line gw2.log 'registration of UE ue-refused refused by the M5S: HTTP 403' 20 || fail "refusal not logged"
wait_for_line audit.jsonl '"cause":"REGISTRATION_REFUSED"' 5 || fail "refusal not audited"
grep '"cause":"REGISTRATION_REFUSED"' audit.jsonl | grep -q 'ue-refused' || fail "audit record does not name the UE"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS=" $sim"
[ $rc -eq 0 ] || fail "gateway exit $rc"
[ "$(sqlite3 gw.db "select count(*) from kv where ns='m5s.reg' and key='ue-refused'")" = 0 ] ||
	fail "a refused UE is marked registered"
ok "M5S refuses (403): logged, audited REGISTRATION_REFUSED, not marked registered"
: >script.txt
kill -HUP $sim
sleep 0.5
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw3.log
gw=$BG_PID
wait_gw_ready gw3.log
grep -q 'registration sync: 1 UE to register, 0 to de-register' gw3.log || fail "restart after refusal: $(grep sync gw3.log)"
wait_for_line gw3.log 'registration of 1 UE at the M5S: 1 done' 20 || fail "ue-refused not registered after restart"
python3 -c 'import json,sys; assert "ue-refused" in json.load(open(sys.argv[1]))["gateways"]["gw-1"]["ues"]' reg.json ||
	fail "m5s-sim does not have ue-refused"
ok "restart: the refused UE registered again"

# 6. m5s-sim holds bodies to the documented schema (what makes checks 3 and 6 a schema check)
simpost() { # path body -> prints status and ProblemDetails detail
	curl -s -o simresp.json -w '%{http_code}' --cacert pki/ca.pem --cert pki/gw.pem --key pki/gw.key \
		-H 'Content-Type: application/json' --data-binary "$2" "https://127.0.0.1:$simport/msgs-gwregistration/v1/$1"
}
R=registrations
for bad in \
	'{"gwApiRoot":"https://x","ues":[{"ueServiceId":"u","mechanism":"COAP","maxSegSize":2048}]}|/gwId' \
	'{"gwId":"g","ues":[{"ueServiceId":"u","mechanism":"COAP","maxSegSize":2048}]}|/gwApiRoot' \
	'{"gwId":"g","gwApiRoot":"https://x","ues":[]}|/ues' \
	'{"gwId":"g","gwApiRoot":"https://x","ues":[{"ueServiceId":"u","mechanism":"NIDD","maxSegSize":2048}]}|/ues/0' \
	'{"gwId":"g","gwApiRoot":"https://x","ues":[{"ueServiceId":"u","mechanism":"SMS","maxSegSize":0}]}|/ues/0' \
	'{"gwId":"g","gwApiRoot":"https://x","ues":[{"ueServiceId":"u","mechanism":"SMS","maxSegSize":9,"x":1}]}|/ues/0' \
	'{"gwId":"g","ues":[7]}|/ues/0|deregistrations'; do
	body=${bad%%|*} rest=${bad#*|} member=${rest%%|*} path=$R
	[ "$rest" != "$member" ] && path=${rest#*|}
	got=$(simpost "$path" "$body")
	[ "$got" = 400 ] || fail "m5s-sim accepted $body on $path ($got)"
	[ "$(json_get simresp.json 'd["invalidParams"][0]["param"]')" = "$member" ] ||
		fail "m5s-sim: $body: $(cat simresp.json), expected $member"
done
ok "m5s-sim: 7 bodies off the schema refused 400, each naming the member"
[ "$(simpost deregistrations '{"gwId":"gw-1","ues":["ue-nobody"]}')" = 200 ] || fail "deregistration of an unknown UE"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert r==[{"ueServiceId":"ue-nobody","result":"FAILURE","cause":"UE_NOT_REGISTERED"}], r' simresp.json ||
	fail "per-UE result: $(cat simresp.json)"
ok "m5s-sim: per-UE FAILURE UE_NOT_REGISTERED for a UE it does not have"

kill -TERM $gw; wait $gw; rc=$?; T_PIDS=" $sim"
[ $rc -eq 0 ] || fail "gateway exit $rc"
echo "# $n checks"
