#!/bin/sh
# 06 security: the audit log on a full filesystem (a 64 KiB tmpfs, filled up), a real
# ENOSPC. audit.required: false (the default, "audit: FILE"): the gateway keeps serving,
# logs the failure once per episode, counts the lost records and says when it writes again.
# audit.required: true: new device uplink and M5S deliveries are refused "try again later"
# (testdev ERR FULL AUDIT_UNAVAILABLE, HTTP 503) until a record can be written again.
# Needs root and a private mount namespace (unshare -m): else SKIP.
if [ -z "${MGW_AUDIT_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to mount a tmpfs"; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: unshare missing"; exit 77; }
	# in a chroot "/" is no mount point and unshare cannot make it private: keep the
	# propagation there (the test unmounts its tmpfs on exit in any case)
	ns="unshare -m"
	$ns true 2>/dev/null || ns="unshare -m --propagation unchanged"
	$ns true 2>/dev/null || { echo "SKIP: no mount namespace (unshare -m)"; exit 77; }
	MGW_AUDIT_NS=1 exec $ns sh "$0" "$@"
fi
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/north.sh"
t_init
# the daemon goes first (it holds the audit file open), then the tmpfs, then T_DIR
trap '_r=$?; for p in $T_PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	umount -l "$T_DIR/afs" 2>/dev/null; (exit $_r); t_cleanup; exit $?' EXIT
cd "$T_DIR" || fail "cd"
mkdir afs && mount -t tmpfs -o size=64k,mode=0700 tmpfs afs || skip "cannot mount a tmpfs"
pki "$T_DIR/pki"
n=0

# fill: the tmpfs has no free block left (the audit file has no partial block either)
fill() {
	[ -s afs/audit.jsonl ] && fail "audit.jsonl is not empty before the fill: $(cat afs/audit.jsonl)"
	dd if=/dev/zero of=afs/fill bs=4k 2>/dev/null
	printf x >>afs/fill 2>/dev/null && fail "the tmpfs is not full"
	return 0
}
# start CONFIG-EXTRA: the daemon with a testdev and a north listener
start() {
	tport=$(free_port)
	lport=$(free_port)
	make_gw_config "$T_DIR" "testdev: { port: $tport, insecure: true }
north:
  listen:
    port: $lport
    tls: { cert: pki/gw.pem, key: pki/gw.key, client_ca: pki/ca.pem }
    allowed_clients: [ m5s-sim ]"
	sed -i "s|^audit: .*|$1|" gw.yaml
	rm -f afs/audit.jsonl afs/fill
	bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
	gw=$BG_PID
	wait_gw_ready gw.log
}
up() { # msgId: one uplink from ue-coap-1; prints the answer line
	$TESTDEV send --port "$tport" --kind psk --value sensor-1 \
		"{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"msgId\":\"$1\",\"payload\":\"hi\"}" |
		tail -n 1
}
down() { # msgId: one N3G delivery from the M5S to ue-coap-1; prints the HTTP status
	printf '{"oriAddr":{"addrType":"AS","addr":"as-1"},"destAddr":{"addrType":"UE","addr":"ue-coap-1"},"msgId":"%s","payload":"hello"}' "$1" >req.json
	curl -s -o resp.json -w '%{http_code}' --data-binary @req.json -H 'Content-Type: application/json' \
		--cacert pki/ca.pem --cert pki/m5s.pem --key pki/m5s.key \
		"https://127.0.0.1:$lport/msgg-n3gdelivery/v1/deliver-message"
}
fails() { grep -c 'audit .*write failed' gw.log; }

# ---- audit.required: false (the default; the path form)
start "audit: afs/audit.jsonl"
grep -q 'audit .*afs/audit.jsonl' gw.log || fail "not ready with the tmpfs audit"
a=$(up a-0)
case $a in "OK a-0 stored") ;; *) fail "uplink before the fill: $a" ;; esac
[ -s afs/audit.jsonl ] || fail "no audit record before the fill"
# the record of a-0 sits in a partial block: start again on an empty file
stop_pid $gw >/dev/null; T_PIDS=""
start "audit: afs/audit.jsonl"
fill
for i in 1 2 3; do
	a=$(up a-$i)
	case $a in "OK a-$i stored") ;; *) fail "uplink a-$i refused with audit.required false: $a" ;; esac
done
[ "$(down d-1)" = 204 ] || fail "M5S delivery refused with audit.required false: $(cat resp.json)"
grep -q 'write failed: No space left on device: security decisions are NOT being recorded; still serving (audit.required: false)' gw.log ||
	fail "no loud log line for the failing audit: $(grep audit gw.log)"
[ "$(fails)" = 1 ] || fail "$(fails) failure lines for one episode, expected 1"
echo "ok $((n += 1)) full disk, audit.required false: 3 uplinks and 1 delivery served, one log line"
rm -f afs/fill
a=$(up a-4)
case $a in "OK a-4 stored") ;; *) fail "uplink a-4 after space came back: $a" ;; esac
grep -q 'audit .*writing again; 4 records lost (4 in all)' gw.log ||
	fail "no 'writing again' line counting 4 lost records: $(grep audit gw.log)"
grep -q '"msgId":"a-4"' afs/audit.jsonl || fail "a-4 not audited after space came back"
echo "ok $((n += 1)) space back: records written again, 4 lost counted"
stop_pid $gw >/dev/null
T_PIDS=""
grep -q 'audit .*records written, 4 lost in 1 episodes' gw.log || fail "no audit counters at exit: $(grep audit gw.log | tail -n 3)"
echo "ok $((n += 1)) counters at exit: $(grep 'records written' gw.log | sed 's/.*audit /audit /')"

# ---- audit.required: true (the mapping form)
start "audit: { path: afs/audit.jsonl, required: true }"
grep -q 'audit .*afs/audit.jsonl (required)' gw.log || fail "ready line does not say required"
fill
a=$(up r-1)
case $a in "ERR FULL r-1 AUDIT_UNAVAILABLE"*) ;; *) fail "uplink r-1 not refused while the audit fails: $a" ;; esac
a=$(up r-2)
case $a in "ERR FULL r-2 AUDIT_UNAVAILABLE"*) ;; *) fail "uplink r-2 not refused while the audit fails: $a" ;; esac
s=$(down rd-1)
[ "$s" = 503 ] || fail "M5S delivery answered $s while the audit fails, expected 503: $(cat resp.json)"
grep -q 'refusing new input until a record can be written (audit.required: true)' gw.log ||
	fail "no loud log line for the refusing gateway: $(grep audit gw.log)"
[ "$(fails)" = 1 ] || fail "$(fails) failure lines for one episode, expected 1"
grep -q ' sec .*reject AUDIT_UNAVAILABLE' gw.log && fail "the security core logged each refusal"
echo "ok $((n += 1)) full disk, audit.required true: uplink ERR FULL AUDIT_UNAVAILABLE, delivery $s"
rm -f afs/fill
a=$(up r-3)
case $a in "OK r-3 stored") ;; *) fail "uplink r-3 refused after space came back: $a" ;; esac
s=$(down rd-2)
[ "$s" = 204 ] || fail "M5S delivery answered $s after space came back: $(cat resp.json)"
grep -q '"msgId":"r-3"' afs/audit.jsonl && grep -q '"msgId":"rd-2"' afs/audit.jsonl ||
	fail "r-3 / rd-2 not audited: $(cat afs/audit.jsonl)"
grep -q '"msgId":"r-1"' afs/audit.jsonl && fail "a refused message left a record on a full disk?"
echo "ok $((n += 1)) space back: served again (uplink stored, delivery 204), both audited"
stop_pid $gw >/dev/null
T_PIDS=""
echo "ok: $n cases"
