#!/bin/sh
# 01 config: every bad configuration exits 1 with ONE line naming FILE:LINE:COL and the key.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"

make_gw_config "$T_DIR"
good=$(cat gw.yaml)
n=0
bad=0

# case NAME EXPECTED-REGEX YAML: write YAML as c.yaml, run -t and a real start; both must
# exit 1 with exactly one stderr line matching "msgin5g-gw: <path>:LINE:COL: <regex>"
case_() {
	name=$1 re=$2
	n=$((n + 1))
	printf '%s\n' "$3" >c.yaml
	for mode in -t run; do
		if [ "$mode" = run ]; then
			"$GW" -c "$T_DIR/c.yaml" >out.txt 2>err.txt </dev/null
		else
			"$GW" -c "$T_DIR/c.yaml" -t >out.txt 2>err.txt </dev/null
		fi
		rc=$?
		lines=$(wc -l <err.txt)
		if [ $rc -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -Eq "^msgin5g-gw: $re" err.txt; then
			echo "not ok $n $name ($mode): rc=$rc lines=$lines, expected /$re/, got:"
			sed 's/^/#   /' err.txt
			bad=$((bad + 1))
			return
		fi
	done
	echo "ok $n $name: $(cat err.txt)"
}

P='[^ ]*c\.yaml:[0-9]+:[0-9]+: '
case_ "missing required key" "${P}store: .*missing" "devices: devices.yaml
audit: audit.jsonl"
case_ "wrong type (mapping for a path)" "${P}store: .*expected" "store: { a: 1 }
devices: devices.yaml
audit: audit.jsonl"
case_ "unknown section" "${P}smsc: .*unknown" "$good
smsc: { host: x }"
case_ "unreadable certificate" "${P}north\.listen\.tls\.cert: .*(cannot read|No such file)" "$good
north:
  listen: { port: 7443, tls: { cert: missing.pem, key: devices.yaml } }"
case_ "port out of range" "${P}north\.listen\.port: .*range" "$good
north:
  listen: { port: 70000, insecure: true }"
case_ "enum value unknown" "${P}log\.level: .*loud" "store: gw.db
devices: devices.yaml
audit: audit.jsonl
log: { level: loud }"
case_ "YAML syntax error" "${P}" "store: gw.db
devices: [ devices.yaml
audit: audit.jsonl"
case_ "devices file missing" "${P}devices: .*(cannot read|No such file)" "store: gw.db
devices: nowhere.yaml
audit: audit.jsonl"
case_ "boolean malformed" "${P}north\.m5s\.insecure: " "$good
north:
  m5s: { api_root: 'http://127.0.0.1:1', insecure: maybe }"
case_ "plain http without insecure" "${P}north\.m5s\.api_root: .*insecure" "$good
north:
  m5s: { api_root: 'http://127.0.0.1:9443' }"
case_ "duplicate key" "${P}store: .*duplicate" "$good
store: other.db"
case_ "listener without TLS" "${P}north\.listen(\.tls)?: .*TLS" "$good
north:
  listen: { port: 7443 }"
case_ "cert without key" "${P}north\.listen\.tls: .*together" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml } }"
# issue 12 item 2: the M5S side authenticates its caller by default
case_ "listener without caller authentication" "${P}north\.listen\.tls\.client_ca: the listener does not authenticate its caller.*insecure: true" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml, key: devices.yaml } }"
printf '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}\n' >oct.jwks.json
case_ "oauth2: a symmetric key as NRF key" "${P}north\.listen\.oauth2\.nrf_keys: .*oct\.jwks\.json: keys\[0\]: holds private or symmetric key material" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml, key: devices.yaml }, oauth2: { nrf_keys: oct.jwks.json, audience: [ MSGG ] } }"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out nrf-private.pem 2>/dev/null
case_ "oauth2: a private key as NRF key" "${P}north\.listen\.oauth2\.nrf_keys: .*only PUBLIC KEY and CERTIFICATE" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml, key: devices.yaml }, oauth2: { nrf_keys: nrf-private.pem, audience: [ MSGG ] } }"
case_ "oauth2: not a key file" "${P}north\.listen\.oauth2\.nrf_keys: .*no public key" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml, key: devices.yaml }, oauth2: { nrf_keys: devices.yaml, audience: [ MSGG ] } }"
case_ "oauth2: no audience" "${P}north\.listen\.oauth2(\.audience)?: .*(missing|required)" "$good
north:
  listen: { port: 7443, tls: { cert: devices.yaml, key: devices.yaml }, oauth2: { nrf_keys: oct.jwks.json } }"
case_ "size out of range" "${P}policy\.max_payload: " "$good
policy: { max_payload: 10m }"
case_ "duration malformed" "${P}queue\.downlink_validity: " "$good
queue: { downlink_validity: 5 parsecs }"
case_ "store directory missing" "${P}store: .*" "store: no/such/dir/gw.db
devices: devices.yaml
audit: audit.jsonl"
case_ "top level not a mapping" "${P}" "- store: gw.db"

# the sms section (interfaces.md 8.4)
SMSC='    - { name: s1, host: 127.0.0.1, port: 2775, system_id: gw, password: secret }'
case_ "sms: plain SMSC without insecure" "${P}sms\.smsc\[0\]\.tls: SMSC 's1' has no tls" "$good
sms:
  smsc:
$SMSC
  source_addr: \"12345\""
case_ "sms: password over 8 characters" "${P}sms\.smsc\[0\]\.password: " "$good
sms:
  insecure: true
  smsc: [ { name: s1, host: 127.0.0.1, system_id: gw, password: much-too-long } ]
  source_addr: \"12345\""
case_ "sms: source_addr not a number" "${P}sms\.source_addr: 'short-code' is not a number" "$good
sms:
  insecure: true
  smsc:
$SMSC
  source_addr: short-code"
case_ "sms: route to a UE" "${P}sms\.routes\[0\]\.dest: 'UE:ue-x' is not an AS, GROUP, BC or TOPIC address" "$good
sms:
  insecure: true
  smsc:
$SMSC
  source_addr: \"12345\"
  routes: [ { number: \"12345\", dest: { addrType: UE, addr: ue-x } } ]"
case_ "sms: the same SMSC name twice" "${P}sms\.smsc\[1\]\.name: 's1' is used twice" "$good
sms:
  insecure: true
  smsc:
$SMSC
$SMSC
  source_addr: \"12345\""
case_ "sms: tls without ca" "${P}sms\.smsc\[0\]\.tls: ca is required" "$good
sms:
  smsc: [ { name: s1, host: 127.0.0.1, system_id: gw, tls: { cert: devices.yaml, key: devices.yaml } } ]
  source_addr: \"12345\""

# the mqtt section (interfaces.md 8.3)
case_ "mqtt: broker without tls or insecure" "${P}mqtt\.broker\.tls: the broker connection would not be encrypted" "$good
mqtt:
  broker: { host: 127.0.0.1, port: 8883 }"
case_ "mqtt: tls without ca" "${P}mqtt\.broker\.tls: ca is required" "$good
mqtt:
  broker: { host: 127.0.0.1, tls: { cert: devices.yaml, key: devices.yaml } }"
case_ "mqtt: wildcard in topic_prefix" "${P}mqtt\.topic_prefix: 'site/#': wildcard in a topic level" "$good
mqtt:
  broker: { host: 127.0.0.1 }
  insecure: true
  topic_prefix: site/#"
case_ "mqtt: password without username" "${P}mqtt\.password: needs username" "$good
mqtt:
  broker: { host: 127.0.0.1 }
  insecure: true
  password: s3cret"
case_ "mqtt: protocol unknown" "${P}mqtt\.protocol: .*3\.1" "$good
mqtt:
  broker: { host: 127.0.0.1 }
  insecure: true
  protocol: \"3.1\""

# the registry is configuration too: its errors name devices.yaml:LINE:COL and the key
cat >dup.yaml <<'YAML'
- ue: ue-a
  coap: { psk_identity: same, psk: "k1" }
- ue: ue-b
  coap: { psk_identity: same, psk: "k2" }
YAML
case_ "registry: duplicate credential" "[^ ]*dup\.yaml:[0-9]+:[0-9]+: .*psk_identity" "store: gw.db
devices: dup.yaml
audit: audit.jsonl"

# usage errors exit 1 too
n=$((n + 1))
"$GW" -x >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && echo "ok $n unknown option exits 1" || { echo "not ok $n unknown option: rc=$rc"; bad=$((bad + 1)); }
n=$((n + 1))
"$GW" -t >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && echo "ok $n missing -c exits 1" || { echo "not ok $n missing -c: rc=$rc"; bad=$((bad + 1)); }

echo "# $n cases, $bad failed"
[ $bad -eq 0 ]
