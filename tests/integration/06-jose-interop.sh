#!/bin/sh
# 06 JOSE interop (issue 7): what the gateway signs and encrypts (cjose + OpenSSL, driven by
# jose_probe) is verified by an AS on another JOSE library (npm jose: contrib/node/jose-as.js),
# and what that AS signs and encrypts for downlink is opened by the gateway. Tampered,
# wrong-key, expired, replayed, alg none and HS256-confusion objects are refused with their
# cause on both sides. The keys come from msgin5g-gwctl (gen, export, list, import-as): files
# 0600, a 0644 key refused, no key material printed. Without node or node_modules the npm
# side is skipped (SKIP line) and the gateway-side checks still run.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"

CTL="$top_builddir/msgin5g-gwctl"
PROBE="$top_builddir/tests/integration/jose_probe"
[ -x "$CTL" ] || fail "no $CTL"
[ -x "$PROBE" ] || fail "no $PROBE"

# expect_refused FILE CAUSE [PROBE-OPTIONS]: the gateway refuses the downlink payload FILE
# with CAUSE
expect_refused() {
	_f=$1 _c=$2
	shift 2
	_o=open-${_f%.txt}.log # one per call: the sanitizer check reads every *.log
	$P "$@" open --ori AS:as-1 --dest UE:ue-1 --msg-id d1 "$_f" >"$_o" 2>&1 &&
		fail "$_f accepted, want $_c: $(cat "$_o")"
	grep -q "^REFUSED $_c " "$_o" || fail "$_f: want REFUSED $_c, got: $(cat "$_o")"
}

# ---- keys: gen, modes, export, list, permissions --------------------------------------
"$CTL" keys gen --dir keys >gen.log 2>gen.err || fail "keys gen: $(cat gen.err)"
[ "$(stat -c %a keys)" = 700 ] || fail "keys dir mode $(stat -c %a keys)"
n=0
for f in keys/*.pem; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
	n=$((n + 1))
done
[ $n -eq 2 ] || fail "keys gen made $n files"
"$CTL" keys export --dir keys >gw.jwks.json || fail "keys export"
python3 - gw.jwks.json <<'PY' || fail "exported JWKS: $(cat gw.jwks.json)"
import json, sys
ks = json.load(open(sys.argv[1]))["keys"]
assert [(k["use"], k["alg"]) for k in ks] == [("sig", "ES256"), ("enc", "ECDH-ES")], ks
for k in ks:
    assert k["kty"] == "EC" and k["crv"] == "P-256" and k["kid"] and "d" not in k, k
PY
"$CTL" keys list --dir keys >list.log || fail "keys list"
[ "$(grep -c ' active ' list.log)" -eq 2 ] || fail "keys list: $(cat list.log)"
sigf=$(ls keys/*.sig.pem)
chmod 644 "$sigf"
"$CTL" keys list --dir keys >bad.log 2>bad.err && fail "a 0644 key file was loaded"
grep -q "$sigf: mode 0644" bad.err || fail "0644 refusal does not name file and mode: $(cat bad.err)"
"$PROBE" --keys keys load >bad.log 2>&1 && fail "probe loaded a 0644 key"
grep -q "mode 0644" bad.log || fail "probe: $(cat bad.log)"
chmod 600 "$sigf"
# rotation: the old signing key is still published (verifiers), the old enc key is not
"$CTL" keys gen --dir keys >gen2.log 2>&1 || fail "second keys gen"
"$CTL" keys export --dir keys >gw2.jwks.json || fail "export after rotation"
python3 - gw.jwks.json gw2.jwks.json <<'PY' || fail "rotation: $(cat gw2.jwks.json)"
import json, sys
old = {k["use"]: k["kid"] for k in json.load(open(sys.argv[1]))["keys"]}
new = [(k["use"], k["kid"]) for k in json.load(open(sys.argv[2]))["keys"]]
assert len(new) == 3 and new[2] == ("sig", old["sig"]), new
assert old["enc"] not in [k for _, k in new], new
PY
"$CTL" keys list --dir keys >list2.log || fail "keys list after rotation"
[ "$(grep -c ' retired ' list2.log)" -eq 2 ] || fail "two retired keys expected: $(cat list2.log)"
cp gw2.jwks.json gw.jwks.json

# ---- the config: security section, gwctl -c, import-as --------------------------------
make_gw_config "$T_DIR" "security:
  keys: keys
  applications:
    - { as: as-1, jwks: as-1.jwks.json, protection: encrypt }
  require_signed_downlink: true"
# -t loads the keys too: the AS's JWKS is not installed yet
"$top_builddir/msgin5g-gw" -c gw.yaml -t >t.log 2>&1 && fail "-t accepted a missing JWKS"
grep -q 'as-1.jwks.json: cannot open' t.log || fail "-t does not name the missing JWKS: $(cat t.log)"
"$CTL" -c gw.yaml keys export >cfg.jwks.json || fail "gwctl -c keys export"
cmp -s cfg.jwks.json gw.jwks.json || fail "-c export differs from --dir export"

NODE_OK=
if [ -n "${NODE:-}" ] && [ -d "$top_srcdir/contrib/node/node_modules/jose" ]; then
	NODE_OK=1
else
	echo "SKIP: JOSE interop with npm jose (no node or contrib/node/node_modules: npm ci there)"
fi

if [ -n "$NODE_OK" ]; then
	AS="$NODE $top_srcdir/contrib/node/jose-as.js"
	$AS keygen incoming --name as-1 || fail "jose-as keygen"
	"$CTL" -c gw.yaml keys import-as as-1 incoming/as-1.private.jwks.json >imp.log 2>&1 &&
		fail "a private JWKS was imported"
	grep -q "private key material" imp.log || fail "private JWKS refusal: $(cat imp.log)"
	"$CTL" -c gw.yaml keys import-as as-1 incoming/as-1.jwks.json >imp.log 2>&1 ||
		fail "import-as: $(cat imp.log)"
	grep -q "installed 2 keys of as-1" imp.log || fail "import-as: $(cat imp.log)"
	[ "$(stat -c %a as-1.jwks.json)" = 644 ] || fail "installed JWKS mode $(stat -c %a as-1.jwks.json)"
	"$top_builddir/msgin5g-gw" -c gw.yaml -t >t.log 2>&1 || fail "-t refused the security section: $(cat t.log)"
	chmod 666 as-1.jwks.json
	"$top_builddir/msgin5g-gw" -c gw.yaml -t >t.log 2>&1 && fail "-t accepted a world-writable JWKS"
	chmod 644 as-1.jwks.json
	"$CTL" -c gw.yaml keys list >list.log || fail "keys list -c"
	grep -q '^as-1 .*as-1-enc-1 .*enc ' list.log || fail "keys list -c: $(cat list.log)"
	P="$PROBE --keys keys --as as-1 --jwks as-1.jwks.json"
	# no private key of the gateway or of the AS in anything printed
	SECRETS=$(python3 -c 'import json;print("\n".join(k["d"] for k in json.load(open("incoming/as-1.private.jwks.json"))["keys"]))')

	# ---- uplink: the gateway protects, the AS verifies ----------------------------------
	$P --profile sign protect --ori UE:ue-1 --dest AS:as-1 --msg-id m1 --app-id app-1 \
		--payload 'temp=21.5 € "quoted"' >up.jws 2>>probe.err || fail "probe sign"
	$AS verify --gw-jwks gw.jwks.json --ori UE:ue-1 --dest AS:as-1 --msg-id m1 up.jws >v.json ||
		fail "AS refused the gateway's JWS: $(cat up.jws)"
	python3 - v.json <<'PY' || fail "claims: $(cat v.json)"
import json, sys
v = json.load(open(sys.argv[1]))
h, c = v["header"], v["claims"]
assert h["alg"] == "ES256" and h["typ"] == "msgin5g+jwt" and h["kid"].startswith("gw-sig-"), h
assert c["payload"] == 'temp=21.5 € "quoted"' and c["appId"] == "app-1" and c["msgId"] == "m1", c
assert c["oriAddr"] == {"addrType": "UE", "addr": "ue-1"}, c
assert c["destAddr"] == {"addrType": "AS", "addr": "as-1"}, c
assert isinstance(c["iat"], int) and len(c["jti"]) >= 16 and not v["encrypted"], c
PY
	$P --profile encrypt protect --ori UE:ue-1 --dest AS:as-1 --msg-id m2 --payload secret \
		>up.jwe 2>>probe.err || fail "probe encrypt"
	[ "$(tr -cd . <up.jwe | wc -c)" -eq 4 ] || fail "not a compact JWE: $(cat up.jwe)"
	$AS verify --gw-jwks gw.jwks.json --as-keys incoming/as-1.private.jwks.json --msg-id m2 \
		up.jwe >v.json || fail "AS refused the gateway's JWE"
	python3 -c 'import json,sys;v=json.load(open("v.json"));assert v["encrypted"] and v["claims"]["payload"]=="secret",v' ||
		fail "JWE claims: $(cat v.json)"
	# the AS refuses what is not right
	python3 - up.jws up.jwe <<'PY'
import sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
i = len(p) // 2
open("t-payload.jws", "w").write(".".join([h, p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:], s]))
i = len(s) // 2
open("t-sig.jws", "w").write(".".join([h, p, s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]]))
parts = open(sys.argv[2]).read().strip().split(".")
c = parts[3]
parts[3] = ("A" if c[0] != "A" else "B") + c[1:]
open("t-ct.jwe", "w").write(".".join(parts))
PY
	as_refuses() {
		_f=$1 _code=$2
		shift 2
		$AS verify --gw-jwks gw.jwks.json --as-keys incoming/as-1.private.jwks.json "$@" "$_f" \
			>/dev/null 2>as.err && fail "AS accepted $_f"
		grep -q "^REFUSED $_code" as.err || fail "$_f: AS said $(cat as.err), want $_code"
	}
	as_refuses t-payload.jws ERR_JWS_SIGNATURE_VERIFICATION_FAILED
	as_refuses t-sig.jws ERR_JWS_SIGNATURE_VERIFICATION_FAILED
	as_refuses t-ct.jwe ERR_JWE_DECRYPTION_FAILED
	as_refuses up.jws ERR_CLAIM_MISMATCH --dest AS:as-2
	$P --now $(($(date +%s) - 3600)) --profile sign protect --ori UE:ue-1 --dest AS:as-1 \
		--msg-id m3 --payload old >old.jws 2>>probe.err || fail "probe sign old"
	as_refuses old.jws ERR_JWT_EXPIRED
	printf '{"keys":[]}' >empty.jwks
	$AS verify --gw-jwks empty.jwks up.jws >/dev/null 2>as.err && fail "AS accepted an unknown key"
	grep -q '^REFUSED ERR_JWKS_NO_MATCHING_KEY' as.err || fail "unknown key: $(cat as.err)"

	# ---- downlink: the AS protects, the gateway opens -----------------------------------
	M="$AS make --as-keys incoming/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-1 --msg-id d1"
	$M --payload 'down € 1' >d-sig.txt || fail "AS make"
	$M --payload 'down secret' --encrypt --gw-jwks gw.jwks.json >d-enc.txt || fail "AS make --encrypt"
	$P open --ori AS:as-1 --dest UE:ue-1 --msg-id d1 d-sig.txt d-enc.txt d-sig.txt >open-3.log 2>&1
	[ "$(sed -n 1p open-3.log)" = "OK JWS down € 1" ] || fail "signed downlink: $(cat open-3.log)"
	[ "$(sed -n 2p open-3.log)" = "OK JWE down secret" ] || fail "encrypted downlink: $(cat open-3.log)"
	sed -n 3p open-3.log | grep -q '^REFUSED REPLAY ' || fail "replay accepted: $(cat open-3.log)"
	$M --payload x --attack none >d-none.txt
	$M --payload x --attack hs256-pubkey >d-hs.txt
	$M --payload x --attack wrong-enc-key --gw-jwks gw.jwks.json >d-wrongkey.txt
	$M --payload x --iat $(($(date +%s) - 3600)) >d-old.txt
	$M --payload x --iat $(($(date +%s) + 3600)) >d-future.txt
	$M --payload x --kid as-1-sig-9 >d-kid.txt
	$AS make --as-keys incoming/as-1.private.jwks.json --ori AS:as-1 --dest UE:ue-2 \
		--msg-id d1 --payload x >d-dest.txt
	python3 - d-sig.txt <<'PY'
import sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
i = len(p) // 2
open("d-tamper.txt", "w").write(".".join([h, p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:], s]))
PY
	printf 'plain text' >d-plain.txt
	expect_refused d-none.txt ALG_NOT_ALLOWED
	expect_refused d-hs.txt ALG_NOT_ALLOWED
	expect_refused d-wrongkey.txt DECRYPT_FAILED
	expect_refused d-old.txt EXPIRED
	expect_refused d-future.txt NOT_YET_VALID
	expect_refused d-kid.txt UNKNOWN_KID
	expect_refused d-dest.txt CLAIM_MISMATCH
	expect_refused d-tamper.txt BAD_SIGNATURE
	expect_refused d-plain.txt UNSIGNED --require-signed
	$P open --ori AS:as-1 --dest UE:ue-1 --msg-id d1 d-plain.txt >open-plain.log 2>&1 ||
		fail "plain downlink without require_signed: $(cat open-plain.log)"
	# nothing printed holds a private key
	for s in $SECRETS; do
		grep -l -- "$s" ./*.log ./*.err ./*.json ./*.jws ./*.jwe ./*.txt 2>/dev/null &&
			fail "AS private key material printed"
	done
fi
grep -l 'PRIVATE KEY' ./*.log ./*.err ./*.json 2>/dev/null && fail "key material printed"
echo "ok"
