#!/bin/sh
# 07 the registry in the store (issue 13), with msgin5g-gwctl devices on the store file of a
# configuration (no daemon running):
# - import YAML (today's devices.yaml format) and JSON Lines; a bad row names FILE:LINE and
#   nothing of the file is imported (exit 1);
# - show/list/export mask secrets unless --show-secrets; export (yaml, jsonl) round-trips
#   through import into another store;
# - mosquitto-passwd lines verify with the device's password (PBKDF2-SHA512, $7$), and
#   mosquitto-acl lines give each MQTT device its own topics;
# - kill -9 during an import of 200,000 rows leaves the old registry or the new one;
# - the seed (devices:) is imported at start only when it changed, gwctl devices stay;
# - the registry file is created 0600; one audit record per change.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
command -v sqlite3 >/dev/null || skip "sqlite3 missing"
make_gw_config "$T_DIR"
CTL="$top_builddir/msgin5g-gwctl -c $T_DIR/gw.yaml"
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
count() { $CTL devices count; }

# 1. import YAML (the devices.yaml format) into an empty registry
cat >fleet.yaml <<'YAML'
- ue: ue-y1
  coap: { psk_identity: y1, psk: "yamlPSK-1" }
  allow: [ "AS:as-1" ]
- ue: ue-y2
  sms: { msisdn: "+491700000002" }
  cose: { kid: "b2", key: "000102030405060708090a0b0c0d0e0f", common_iv: "f0e1d2c3b4a5968778695a4b3c" }
- ue: ue-y3
  mqtt: { username: dev-y3, password: "mqttPW-3" }
YAML
$CTL devices import fleet.yaml >imp1.out 2>&1 || fail "import yaml: $(cat imp1.out)"
[ "$(count)" = 3 ] || fail "after the YAML import: $(count) devices"
[ "$(stat -c %a gw.db.devices)" = 600 ] || fail "gw.db.devices mode $(stat -c %a gw.db.devices)"
ok "YAML import: 3 devices, the registry file is 0600"

# 2. JSON Lines
cat >more.jsonl <<'J'
{"ue":"ue-j1","coap":{"psk_identity":"j1","psk":"jsonPSK-1"}}

{"ue":"ue-j2","mqtt":{"username":"dev-j2"}}
J
$CTL devices import more.jsonl >imp2.out 2>&1 || fail "import jsonl: $(cat imp2.out)"
[ "$(count)" = 5 ] || fail "after the JSONL import: $(count) devices"
grep -q '2 added' imp2.out || fail "import summary: $(cat imp2.out)"
ok "JSONL import: 5 devices"

# 3. a bad row: its line named, nothing imported
$CTL devices export --show-secrets >before.yaml || fail "export"
cat >bad.jsonl <<'J'
{"ue":"ue-b1","mqtt":{"username":"dev-b1"}}
{"ue":"ue-b2","mqtt":{"username":"dev-b2"}}
{"ue":"ue-b3","sms":{"msisdn":"49-abc"}}
{"ue":"ue-b4","mqtt":{"username":"dev-b4"}}
J
$CTL devices import bad.jsonl >bad.out 2>&1
rc=$?
[ $rc = 1 ] || fail "bad row: exit $rc: $(cat bad.out)"
grep -q 'bad.jsonl:3:[0-9]*: sms.msisdn' bad.out || fail "bad row message: $(cat bad.out)"
grep -q 'nothing imported' bad.out || fail "bad row message: $(cat bad.out)"
$CTL devices export --show-secrets >after.yaml || fail "export"
cmp -s before.yaml after.yaml || fail "a refused import changed the registry"
printf -- '- ue: ue-d\n  mqtt: { username: dev-y3 }\n' >dup.yaml
$CTL devices import dup.yaml >dup.out 2>&1 && fail "a duplicate credential was imported"
grep -q 'dup.yaml:1:[0-9]*: mqtt.username: duplicate credential: mqtt dev-y3 is also used by ue ue-y3' dup.out ||
	fail "duplicate message: $(cat dup.out)"
ok "a bad row: exit 1, FILE:LINE and the key named, nothing imported (also a duplicate credential)"

# 4. secrets masked unless asked
$CTL devices show ue-y1 >show.out || fail "show"
grep -q '"psk":"<secret>"' show.out || fail "show: $(cat show.out)"
$CTL devices show ue-y1 --show-secrets | grep -q 'yamlPSK-1' || fail "show --show-secrets"
$CTL devices list >list.out || fail "list"
$CTL devices export >masked.yaml || fail "export"
$CTL devices export --format jsonl >masked.jsonl || fail "export jsonl"
for f in show.out list.out masked.yaml masked.jsonl imp1.out imp2.out audit.jsonl; do
	grep -q -e yamlPSK -e jsonPSK -e mqttPW -e 000102030405060708090a0b0c0d0e0f "$f" &&
		fail "a secret is in $f"
done
[ "$(wc -l <list.out)" = 5 ] || fail "list: $(cat list.out)"
ok "show, list and export mask every secret (psk, cose key, mqtt password) unless --show-secrets"

# 5. export round-trips through import into another store
mkdir other && cd other || fail "mkdir"
printf 'store: gw.db\ndevices: devices.yaml\naudit: audit.jsonl\n' >gw.yaml
: >devices.yaml
CTL2="$top_builddir/msgin5g-gwctl -c $T_DIR/other/gw.yaml"
$CTL2 devices import ../before.yaml >imp3.out 2>&1 || fail "re-import yaml: $(cat imp3.out)"
$CTL2 devices export --show-secrets >again.yaml || fail "export 2"
cmp -s ../before.yaml again.yaml || fail "YAML export did not round-trip: $(diff ../before.yaml again.yaml | head -5)"
$CTL devices export --show-secrets --format jsonl >../all.jsonl
rm -f gw.db.devices*
$CTL2 devices import ../all.jsonl >imp4.out 2>&1 || fail "re-import jsonl: $(cat imp4.out)"
$CTL2 devices export --show-secrets --format jsonl | cmp -s - ../all.jsonl || fail "JSONL export did not round-trip"
cd .. || fail "cd"
ok "export (yaml, jsonl) round-trips through import into another store"

# 6. the broker's files
$CTL devices export --format mosquitto-passwd >passwd || fail "export passwd"
python3 - <<'PY' || fail "mosquitto_passwd line does not verify: $(cat passwd)"
import base64, hashlib
lines = [l.strip() for l in open("passwd") if l.strip() and not l.startswith("#")]
assert len(lines) == 1, lines
user, h = lines[0].split(":", 1)
_, seven, it, salt, dk = h.split("$")
assert user == "dev-y3" and seven == "7"
calc = hashlib.pbkdf2_hmac("sha512", b"mqttPW-3", base64.b64decode(salt), int(it))
assert calc == base64.b64decode(dk)
PY
grep -q '^# dev-j2: no mqtt.password' passwd || fail "no note for the device without a password"
$CTL devices export --format mosquitto-acl >acl || fail "export acl"
grep -A3 '^user dev-j2$' acl | grep -q '^topic write msgin5g/up/dev-j2$' || fail "acl: $(cat acl)"
grep -A3 '^user dev-y3$' acl | grep -q '^topic read msgin5g/down/dev-y3$' || fail "acl: $(cat acl)"
ok "mosquitto-passwd (\$7\$ PBKDF2-SHA512, verified) and mosquitto-acl lines for the MQTT devices"

# 7. kill -9 in the middle of an import of 200,000 rows: old or new, never a mix
python3 -c '
for i in range(200000):
    print("{\"ue\":\"ue-k%d\",\"mqtt\":{\"username\":\"k%d\"}}" % (i, i))' >big.jsonl
old=$(count)
$CTL devices import big.jsonl >big.out 2>&1 &
imp=$!
# wait until the import is writing (its WAL grows), then kill it
_end=$(( $(date +%s) + 30 ))
until [ "$(stat -c %s gw.db.devices-wal 2>/dev/null || echo 0)" -gt 4000000 ]; do
	[ "$(date +%s)" -le "$_end" ] || break
	kill -0 $imp 2>/dev/null || break
	sleep 0.05
done
kill -9 $imp 2>/dev/null && killed=yes || killed=no
wait $imp 2>/dev/null
got=$(count)
[ "$got" = "$old" ] || [ "$got" = $((old + 200000)) ] || fail "after kill -9: $got devices (old $old)"
[ "$(sqlite3 gw.db.devices 'pragma integrity_check')" = ok ] || fail "integrity_check"
[ $killed = yes ] || note "the import ended before the kill ($got devices)"
[ $killed = no ] || [ "$got" = "$old" ] || fail "killed mid-import yet $got devices"
$CTL devices import big.jsonl >big2.out 2>&1 || fail "import after the kill: $(cat big2.out)"
[ "$(count)" = $((old + 200000)) ] || fail "the full import: $(count)"
ok "kill -9 during an import of 200000 rows (killed: $killed) left the old registry ($got); the re-run imports all"

# 8. the seed: imported at start when it changed; gwctl devices stay
"$GW" -c gw.yaml >gw1.log 2>&1 &
gw=$!
wait_for_line gw1.log 'ready: ' 60 || fail "daemon not ready: $(tail -n 3 gw1.log)"
kill -TERM $gw; wait $gw
grep -q 'registry seed .* imported: 3 entries' gw1.log || fail "seed not imported: $(grep -i registry gw1.log)"
"$GW" -c gw.yaml >gw2.log 2>&1 &
gw=$!
wait_for_line gw2.log 'ready: ' 60 || fail "daemon not ready"
kill -TERM $gw; wait $gw
grep -q 'registry seed' gw2.log && fail "an unchanged seed was imported again"
[ "$(count)" = $((old + 200000 + 3)) ] || fail "seed + gwctl devices: $(count)"
ok "the seed is imported once (idempotent, by its hash), gwctl's devices kept beside it"

# 9. audit: one record per gwctl change, no secret
[ "$(grep -c '"op":"device-import"' audit.jsonl)" = 3 ] || fail "import audit records: $(grep -c device-import audit.jsonl)"
grep '"op":"device-import"' audit.jsonl | grep -q 'uid' || fail "the import record names no operator"
$CTL devices remove ue-j1 >/dev/null || fail "remove"
grep -q '"op":"device-remove".*"ue":"ue-j1"' audit.jsonl || fail "no remove record"
$CTL devices remove ue-j1 >rm2.out 2>&1 && fail "removing an absent UE succeeded"
ok "one audit record per change (imports, remove), an absent UE refused"
echo "# $n checks"
