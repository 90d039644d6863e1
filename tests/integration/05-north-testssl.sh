#!/bin/sh
# 05 north, the one TLS policy on the north listener (mgw/tls_policy.h), seen by testssl.sh
# (Debian package testssl.sh): no SSLv2/SSLv3/TLS 1.0/TLS 1.1, TLS 1.2 and 1.3 offered, and
# of the cipher categories only the AEAD one: no NULL, aNULL, EXPORT, LOW, 3DES/IDEA or CBC
# suite; every TLS 1.2 suite the server has is ECDHE + AES-GCM or ChaCha20-Poly1305; the
# server picks its own order. Its JSON findings are parsed (testssl.json); the scan is limited to
# protocols, cipher categories and server preferences (well under two minutes).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
TESTSSL=$(command -v testssl || command -v testssl.sh) || skip "testssl.sh missing (apt-get install testssl.sh)"
t_init
cd "$T_DIR" || fail "cd"
pki "$T_DIR/pki"
port=$(free_port)
make_gw_config "$T_DIR" "north:
  listen:
    port: $port
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
wait_gw_ready gw.log
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }

start=$(date +%s)
timeout 300 nice "$TESTSSL" --quiet --color 0 --warnings off --connect-timeout 10 \
	--openssl-timeout 10 -p -s -P --jsonfile testssl.json "127.0.0.1:$port" >testssl.out 2>&1
note "testssl.sh exit $?, $(( $(date +%s) - start )) s"
[ -s testssl.json ] || fail "testssl.sh wrote no JSON: $(tail -n 20 testssl.out)"
# finding ID: the "finding" of the JSON record with that id
finding() {
	python3 - "$1" <<'PY'
import json, sys
for r in json.load(open("testssl.json")):
    if r.get("id") == sys.argv[1]:
        print(r.get("finding", ""))
        break
else:
    print("<absent>")
PY
}
for p in SSLv2 SSLv3 TLS1 TLS1_1; do
	f=$(finding "$p")
	case "$f" in
	"not offered"*) ;;
	*) fail "$p: '$f' (want not offered)" ;;
	esac
done
ok "SSLv2, SSLv3, TLS 1.0, TLS 1.1: not offered"
for p in TLS1_2 TLS1_3; do
	f=$(finding "$p")
	case "$f" in
	offered*) ;;
	*) fail "$p: '$f' (want offered)" ;;
	esac
done
ok "TLS 1.2 and TLS 1.3 offered"
# cipher categories (testssl 3.0: ... AVERAGE = CBC, STRONG = AEAD; 3.2: OBSOLETED = CBC,
# STRONG_NOFS, STRONG_FS) and the server's TLS 1.2 list, suite by suite
python3 - <<'PY' || fail "cipher categories or suites: see above"
import json, re, sys
rs = {r["id"]: r.get("finding", "") for r in json.load(open("testssl.json"))}
weak = ["NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE", "OBSOLETED", "STRONG_NOFS"]
seen = [c for c in weak if "cipherlist_" + c in rs]
bad = [c for c in seen if not rs["cipherlist_" + c].startswith("not offered")]
good = [rs.get("cipherlist_" + c, "") for c in ("STRONG", "STRONG_FS")]
suites = rs.get("cipherorder_TLSv1_2", "").split()
nonaead = [s for s in suites if not re.match(r"^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$", s)]
old = [k for k in rs if k in ("cipherorder_TLSv1", "cipherorder_TLSv1_1", "cipherorder_SSLv3")]
ok = len(seen) >= 5 and not bad and any(g.startswith("offered") for g in good) and suites and not nonaead and not old
print("# categories checked %s; offered among them %s; TLS 1.2 suites %s" % (seen, bad, suites))
if not ok:
    print("non-AEAD TLS 1.2 suites %s, old protocol lists %s" % (nonaead, old), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
ok "cipher categories: only the AEAD one offered (no NULL/EXPORT/LOW/3DES/CBC); TLS 1.2 suites all ECDHE + AEAD"
f=$(finding cipher_order)
case "$f" in
server*) ;;
*) fail "cipher order: '$f' (want the server's)" ;;
esac
ok "the server's cipher order wins"
echo "1..$n"
