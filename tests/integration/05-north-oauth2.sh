#!/bin/sh
# 05 north, OAuth2 access tokens on the gateway's server (issue 12 item 2; TS 33.501
# 13.4.1.1): tokens minted by npm jose (contrib/node/nrf-token.js), signed by the test NRF's
# keys. Mutual TLS stays on (client_ca); on top, every call needs a valid token: valid ES256
# and RS256 -> 204 and delivered to the device; expired, not yet valid, wrong aud, wrong iss,
# another key, alg none, HS256 keyed with the NRF's public key, garbage, none at all -> 401
# with WWW-Authenticate: Bearer error="invalid_token" (none at all: plain Bearer); a valid
# token whose scope does not cover the service -> 403 insufficient_scope. Every refusal is
# one audit record naming its cause, each ProblemDetails validates, no token reaches a log.
# A second gateway takes the NRF key as PEM and no client_ca: an anonymous TLS client is 401.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
cd "$T_DIR" || fail "cd"
[ -n "${NODE:-}" ] && [ -d "$top_srcdir/contrib/node/node_modules/jose" ] ||
	skip "node or the npm jose package missing (npm ci in contrib/node)"
NRF="$NODE $top_srcdir/contrib/node/nrf-token.js"
NRF_ID=5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a01 # the lab ids of nrf-token.js
GW_ID=5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a03
$NRF keygen nrf || fail "nrf-token keygen"
pki "$T_DIR/pki"
port=$(free_port)
tport=$(free_port)
make_gw_config "$T_DIR" "north:
  listen:
    port: $port
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }
    oauth2:
      nrf_keys: nrf/nrf.jwks.json
      audience: [ $GW_ID, MSGG ]
      issuer: $NRF_ID
      max_skew: 5s
testdev: { port: $tport, insecure: true }"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_gw_ready gw.log
grep -q 'NRF access tokens required' gw.log || fail "the token check is not announced"
base="https://127.0.0.1:$port"
M5S="--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key"
L3G=/msgg-l3gdelivery/v1/deliver-message
N3G=/msgg-n3gdelivery/v1/deliver-message
n=0
msg() { # msgId dest-ue
	printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"%s"},"msgId":"%s","payload":"hello %s"}' "$2" "$1" "$1"
}
mint() { $NRF mint --keys nrf/nrf.private.jwks.json "$@" || fail "mint $*"; }

# call NAME WANT PATH TOKEN [curl options]: POST with "Authorization: Bearer TOKEN" (none
# when TOKEN is -); the answer is in resp.json, its headers in hdr.txt
call() {
	_name=$1 _want=$2 _path=$3 _tok=$4
	shift 4
	n=$((n + 1))
	msg "oa-$n" ue-coap-1 >req.json
	if [ "$_tok" = - ]; then
		_got=$(curl -s -o resp.json -D hdr.txt -w '%{http_code}' -H 'Content-Type: application/json' \
			--data-binary @req.json "$@" "$base$_path")
	else
		_got=$(curl -s -o resp.json -D hdr.txt -w '%{http_code}' -H 'Content-Type: application/json' \
			-H "Authorization: Bearer $_tok" --data-binary @req.json "$@" "$base$_path")
	fi
	[ "$_got" = "$_want" ] || fail "$_name: HTTP $_got, expected $_want: $(cat resp.json)"
}
# refused NAME STATUS CAUSE WWW-AUTH PATH TOKEN [curl options]: refused with that status,
# one more audit record and it has CAUSE, the ProblemDetails names it, the header is right
refused() {
	_name=$1 _st=$2 _cause=$3 _www=$4
	shift 4
	_before=$(wc -l <audit.jsonl)
	call "$_name" "$_st" "$@"
	_after=$(wc -l <audit.jsonl)
	[ $((_after - _before)) -eq 1 ] || fail "$_name: $((_after - _before)) audit records, expected 1"
	tail -n 1 audit.jsonl >last.json
	[ "$(json_get last.json 'd["cause"]')" = "$_cause" ] || fail "$_name: audit cause $(cat last.json)"
	[ "$(json_get last.json 'd["decision"]')" = reject ] || fail "$_name: audit decision $(cat last.json)"
	grep -qi '^content-type: application/problem+json' hdr.txt || fail "$_name: not problem+json"
	case "$(json_get resp.json 'd["detail"]')" in
	"$_cause: "*) ;;
	*) fail "$_name: the ProblemDetails does not name $_cause: $(cat resp.json)" ;;
	esac
	[ "$(json_get resp.json 'd["status"]')" = "$_st" ] || fail "$_name: status member"
	grep -i '^www-authenticate:' hdr.txt | tr -d '\r' >www.txt
	[ "$(cat www.txt)" = "WWW-Authenticate: $_www" ] || [ "$(cat www.txt)" = "www-authenticate: $_www" ] ||
		fail "$_name: WWW-Authenticate is '$(cat www.txt)', expected '$_www'"
	cp resp.json "problem-$n.json"
	echo "ok $n $_name: $_st $_cause"
}
INVALID='Bearer error="invalid_token"'

# valid tokens: 204 and delivered to the device (testdev: ue-coap-1 is psk sensor-1)
$TESTDEV sub --port "$tport" --kind psk --value sensor-1 --expect 2 --timeout 30 >sub.txt &
subpid=$!
sleep 0.5
tok=$(mint --claims-out claims-es.json)
call "valid ES256 token (h2)" 204 $N3G "$tok" $M5S --http2
cp req.json n3g-req.json
echo "ok $n valid ES256 token: 204"
call "valid RS256 token (HTTP/1.1), aud an NF type" 204 $L3G "$(mint --alg RS256 --aud MSGG --claims-out claims-rs.json)" $M5S --http1.1
cp req.json l3g-req.json
echo "ok $n valid RS256 token, aud an NF type: 204"
wait $subpid || fail "the accepted deliveries did not reach the device: $(cat sub.txt)"
grep -q '"msgId":"oa-1"' sub.txt && grep -q '"msgId":"oa-2"' sub.txt || fail "delivered: $(cat sub.txt)"
n=$((n + 1))
echo "ok $n both delivered to the device"
grep -q '"value":"m5s-sim"' audit.jsonl || fail "the caller's certificate is not the audited identity"

refused "no token" 401 TOKEN_MISSING Bearer $L3G - $M5S
refused "expired token" 401 TOKEN_EXPIRED "$INVALID" $L3G "$(mint --exp -60)" $M5S
refused "token not yet valid" 401 TOKEN_NOT_YET_VALID "$INVALID" $L3G "$(mint --nbf 600)" $M5S
refused "wrong audience" 401 TOKEN_AUDIENCE "$INVALID" $L3G "$(mint --aud some-other-nf)" $M5S
refused "wrong issuer" 401 TOKEN_ISSUER "$INVALID" $L3G "$(mint --iss nrf-evil)" $M5S
refused "scope without the called service" 403 TOKEN_SCOPE 'Bearer error="insufficient_scope"' \
	$L3G "$(mint --scope msgg-n3gdelivery)" $M5S
refused "signed by another key (same kid)" 401 TOKEN_SIGNATURE "$INVALID" $L3G \
	"$($NRF mint --keys nrf/rogue.private.jwks.json)" $M5S
refused "RS256 by another key, no kid" 401 TOKEN_SIGNATURE "$INVALID" $L3G \
	"$($NRF mint --keys nrf/rogue.private.jwks.json --alg RS256 --no-kid)" $M5S
refused "alg none" 401 TOKEN_ALG "$INVALID" $L3G "$(mint --attack none)" $M5S
refused "HS256 keyed with the NRF's public key" 401 TOKEN_ALG "$INVALID" $L3G \
	"$(mint --attack hs256-pubkey --pub nrf/nrf.jwks.json)" $M5S
refused "HS256 keyed with the PEM public key" 401 TOKEN_ALG "$INVALID" $L3G \
	"$(mint --attack hs256-pubkey --pub nrf/nrf-es.pem)" $M5S
refused "unknown kid" 401 TOKEN_KID "$INVALID" $L3G "$($NODE -e 'const [h,p,s]=process.argv[1].split(".");const j=JSON.parse(Buffer.from(h,"base64url"));j.kid="nrf-unknown";process.stdout.write(Buffer.from(JSON.stringify(j)).toString("base64url")+"."+p+"."+s)' "$(mint)")" $M5S
refused "not a JWT" 401 TOKEN_MALFORMED "$INVALID" $L3G "not.a-token" $M5S
refused "claims altered after signing" 401 TOKEN_SIGNATURE "$INVALID" $L3G \
	"$($NODE -e 'const [h,p,s]=process.argv[1].split(".");const c=JSON.parse(Buffer.from(p,"base64url"));c.scope+=" msgg-bgdelivery";process.stdout.write(h+"."+Buffer.from(JSON.stringify(c)).toString("base64url")+"."+s)' "$(mint)")" $M5S
# nothing refused was stored
for i in $(seq 4 $n); do
	[ "$(sqlite3 gw.db "select count(*) from queue where msg_id='oa-$i'")" = 0 ] || fail "refused oa-$i was stored"
done
validate 'TS29571_CommonData.yaml#ProblemDetails' problem-*.json
validate 'TS29538_MSGG_N3GDelivery.yaml#N3gMessageDelivery' n3g-req.json
validate 'TS29538_MSGG_L3GDelivery.yaml#L3gMessageDelivery' l3g-req.json
validate 'TS29510_Nnrf_AccessToken.yaml#AccessTokenClaims' claims-es.json claims-rs.json

# no token (nor its signature) reached the log or the audit file
tok_sig=${tok##*.}
grep -q -- "$tok_sig" gw.log audit.jsonl && fail "a token reached a log"
kill -TERM $gw; wait $gw; rc=$?; T_PIDS=""
[ $rc -eq 0 ] || fail "gateway exit $rc"

# the second gateway: oauth2 only (PEM key), no client certificates asked for
port=$(free_port)
mkdir g2 && make_gw_config "$T_DIR/g2" "north:
  listen:
    port: $port
    tls: { cert: pki/gw.pem, key: pki/gw.key }
    oauth2: { nrf_keys: nrf/nrf-es.pem, audience: [ MSGG ] }"
cd "$T_DIR/g2" || fail "cd g2"
cp -r ../nrf ../pki . || fail "cp"
bg "$GW" -c "$T_DIR/g2/gw.yaml" 2>gw.log
wait_gw_ready gw.log
base="https://127.0.0.1:$port"
refused "anonymous TLS client" 401 TOKEN_MISSING Bearer $L3G - --cacert pki/ca.pem
[ "$(sqlite3 gw.db "select count(*) from queue")" = 0 ] || fail "the anonymous delivery was stored"
call "PEM key: valid ES256 token without a client certificate" 204 $N3G "$(mint --aud MSGG)" --cacert pki/ca.pem
echo "ok $n PEM NRF key, token only: 204"
refused "PEM key: an RS256 token (no RSA key configured)" 401 TOKEN_KID "$INVALID" $N3G \
	"$(mint --alg RS256 --aud MSGG)" --cacert pki/ca.pem
validate 'TS29571_CommonData.yaml#ProblemDetails' problem-*.json
echo "# $n checks"
