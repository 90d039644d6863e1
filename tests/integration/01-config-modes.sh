#!/bin/sh
# 01 config: a config file or device registry that holds secrets (PSKs, SMSC passwords,
# tokens) is refused while others may read it or the group may change it -- at start (-t and
# a real start: exit 1, one line naming the file and its mode) and on SIGHUP (the running
# config is kept). The same file 0600 (or 0640) is accepted; a registry without secrets may
# be world-readable.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
make_gw_config "$T_DIR"
n=0

# refused MODE-REGEX FILE: -t and a real start both exit 1 with one stderr line naming FILE
refused() {
	n=$((n + 1))
	for how in -t run; do
		if [ $how = -t ]; then
			"$GW" -c "$T_DIR/gw.yaml" -t >out.txt 2>err.txt </dev/null
		else
			"$GW" -c "$T_DIR/gw.yaml" >out.txt 2>err.txt </dev/null
		fi
		rc=$?
		[ $rc -eq 1 ] && [ "$(wc -l <err.txt)" -eq 1 ] &&
			grep -Eq "^msgin5g-gw: $T_DIR/$2: $1" err.txt ||
			fail "case $n ($how): rc=$rc, expected one line /$2: $1/, got: $(cat err.txt)"
	done
	echo "ok $n refused: $(cat err.txt)"
}

# accepted WHAT: -t says OK
accepted() {
	n=$((n + 1))
	"$GW" -c "$T_DIR/gw.yaml" -t >out.txt 2>err.txt </dev/null ||
		fail "case $n ($1): refused: $(cat err.txt)"
	echo "ok $n accepted: $1"
}

chmod 600 gw.yaml
chmod 644 devices.yaml
refused 'mode 0644 lets others read its secrets \(\[0\]\.coap\.psk\): refused \(chmod 640 ' \
	devices.yaml
chmod 604 devices.yaml
refused 'mode 0604 lets others read its secrets' devices.yaml
chmod 660 devices.yaml
refused 'mode 0660 lets the group change its secrets' devices.yaml
chmod 600 devices.yaml
accepted "devices.yaml with PSKs, 0600"
chmod 640 devices.yaml
accepted "devices.yaml with PSKs, 0640 (shared with a group)"

# a registry without secrets (MSISDNs, MQTT usernames: no PSK, no COSE key) may be read
cp devices.yaml devices.psk
grep -v -e 'coap:' -e 'allow:' -e 'ue-coap-1' devices.psk >devices.yaml
grep -q psk devices.yaml && fail "registry without secrets still has one"
chmod 644 devices.yaml
accepted "devices.yaml without secrets, 0644"
cp devices.psk devices.yaml
chmod 600 devices.yaml

# gw.yaml holding an SMSC password
cat >>gw.yaml <<'YAML'
sms:
  smsc:
    - { name: smsc1, host: 127.0.0.1, port: 1, system_id: gw, password: pw0wned }
  source_addr: "12345"
  insecure: true
YAML
chmod 644 gw.yaml
refused 'mode 0644 lets others read its secrets \(sms\.smsc\[0\]\.password\)' gw.yaml
grep -q pw0wned err.txt && fail "the password reached the message"
chmod 600 gw.yaml
accepted "gw.yaml with an SMSC password, 0600"

# SIGHUP: a registry turned 0644 (with one more device) is refused, the running one kept
make_gw_config "$T_DIR"
bg "$GW" -c "$T_DIR/gw.yaml" 2>gw.log
gw=$BG_PID
wait_for_line gw.log 'ready: 3 devices' 60 || fail "daemon not ready"
cat >>devices.yaml <<'YAML'
- ue: ue-coap-2
  coap: { psk_identity: sensor-2, psk: "otherPSK" }
YAML
chmod 644 devices.yaml
kill -HUP $gw
wait_for_line gw.log 'reload refused.*devices\.yaml: mode 0644 lets others read its secrets' 30 ||
	fail "SIGHUP with a world-readable registry not refused"
kill -0 $gw 2>/dev/null || fail "daemon died on the refused reload"
grep -q 'reloaded: 4 devices' gw.log && fail "the 0644 registry was loaded"
n_reg=$(sqlite3 gw.db.devices "select count(*) from reg_device" 2>/dev/null || echo "?")
[ "$n_reg" = 3 ] || fail "store registry has $n_reg devices, expected the old 3"
echo "ok $((n += 1)) SIGHUP with devices.yaml 0644 refused, the running registry (3) kept"
chmod 600 devices.yaml
kill -HUP $gw
wait_for_line gw.log 'reloaded: 4 devices' 30 || fail "SIGHUP after chmod 600 did not reload"
echo "ok $((n += 1)) SIGHUP after chmod 600 loads it (4 devices)"
grep -q -e otherPSK -e secretPSK gw.log && fail "a PSK reached the log"
stop_pid $gw || fail "exit status $? after SIGTERM"
T_PIDS=""
echo "ok: $n cases"
