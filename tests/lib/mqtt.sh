# tests/lib/mqtt.sh: shared by the 04 MQTT tests (after common.sh and north.sh).
#
# A real mosquitto broker per test, on free 127.0.0.1 ports, configured with
# contrib/mosquitto/mosquitto.conf and contrib/mosquitto/acl as shipped (only ports, paths,
# the log and "user root" are rewritten), so the tests check the production configuration:
#   devices  listener $DPORT: TLS (server certificate pki/broker.pem), password_file made with
#            mosquitto_passwd, acl_file with pattern rules on %u, allow_anonymous false
#   gateway  listener $GPORT: TLS with require_certificate + use_identity_as_username (the
#            gateway's client certificate pki/gw.pem, CN msgin5g-gw), the same acl_file
# Devices are mosquitto_pub / mosquitto_sub. The broker runs as root here ("user root"): started
# as root it would drop to user mosquitto, which cannot read the test keys (0600).

PREFIX=msgin5g

# count FILE REGEX: lines of FILE matching REGEX (0 when none or no file)
count() {
	_c=$(grep -Ec "$2" "$1" 2>/dev/null)
	echo "${_c:-0}"
}

# mqtt_init [m5s-sim serve options]: test dir, PKI + broker certificate, m5s-sim (SIM_PORT),
# free ports for the broker's two listeners (DPORT devices, GPORT gateway); skips without
# mosquitto. With MQTT_NO_SIM=1 m5s-sim is not started (SIM_PORT is still chosen).
mqtt_init() {
	t_init
	cd "$T_DIR" || fail "cd"
	for _p in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd; do
		command -v $_p >/dev/null || [ -x "/usr/sbin/$_p" ] || skip "$_p (mosquitto, mosquitto-clients) missing"
	done
	MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	pki "$T_DIR/pki"
	mqtt_broker_cert
	if [ -n "${MQTT_NO_SIM:-}" ]; then
		SIM_PORT=$(free_port)
	else
		start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem "$@"
	fi
	DPORT=$(free_port)
	GPORT=$(free_port)
	n=0
	: >passwd
	mqtt_acl
}

# the broker's server certificate, from the test CA (names 127.0.0.1 and localhost)
mqtt_broker_cert() {
	[ -f pki/broker.pem ] && return 0
	openssl ecparam -name prime256v1 -genkey -noout -out pki/broker.key 2>/dev/null
	openssl req -new -key pki/broker.key -subj "/O=msgin5g-gw test/CN=mqtt-broker" -out pki/broker.csr 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >pki/broker.ext
	openssl x509 -req -in pki/broker.csr -CA pki/ca.pem -CAkey pki/ca.key -CAcreateserial -sha256 \
		-days 30 -extfile pki/broker.ext -out pki/broker.pem 2>/dev/null || fail "broker certificate"
	rm -f pki/broker.csr pki/broker.ext
}

# device USER PASSWORD: a device account in the broker's password file
device() {
	mosquitto_passwd -b passwd "$1" "$2" || fail "mosquitto_passwd $1"
}

# the ACL: contrib/mosquitto/acl as shipped (a device writes only its own up and report
# topics and reads only its own down topic: pattern rules on %u, never %c; the gateway's
# account, the CN msgin5g-gw of its certificate, reads every up and report topic and writes
# every down topic)
mqtt_acl() {
	cp "$top_srcdir/contrib/mosquitto/acl" acl || fail "contrib/mosquitto/acl"
}

# broker_conf: contrib/mosquitto/mosquitto.conf as shipped, with the test's ports, PKI,
# password file and ACL, persistence in mosq/, the log in broker.log, and "user root".
# BROKER_LOG: its log_type values (default all: the tests read its debug lines);
# BROKER_EXTRA: more lines at the end.
broker_conf() {
	mkdir -p mosq
	python3 - "$top_srcdir/contrib/mosquitto/mosquitto.conf" "$T_DIR" "$DPORT" "$GPORT" \
		"${BROKER_LOG:-all}" >broker.conf <<'PY' || fail "broker.conf"
import re, sys
src, d, dport, gport, logs = sys.argv[1:6]
out = ["user root"]
for l in open(src):
    l = l.rstrip("\n")
    if l.startswith("log_type ") or l.startswith("log_dest "):
        continue
    l = l.replace("/var/lib/mosquitto/", d + "/mosq/")
    l = l.replace("/etc/mosquitto/certs/gateway-ca.pem", d + "/pki/ca.pem")
    l = l.replace("/etc/mosquitto/certs/", d + "/pki/")
    l = l.replace("/etc/mosquitto/passwd", d + "/passwd").replace("/etc/mosquitto/acl", d + "/acl")
    l = re.sub(r"^listener 8883$", "listener %s 127.0.0.1" % dport, l)
    l = re.sub(r"^listener 8884 127.0.0.1$", "listener %s 127.0.0.1" % gport, l)
    out.append(l)
out.insert(1, "log_dest file %s/broker.log" % d)
out[2:2] = ["log_type %s" % t for t in logs.split()] + ["log_timestamp_format %H:%M:%S"]
print("\n".join(out))
PY
	grep -q "listener $DPORT 127.0.0.1" broker.conf && grep -q "listener $GPORT 127.0.0.1" broker.conf ||
		fail "broker.conf: listeners not rewritten"
	[ -z "${BROKER_EXTRA:-}" ] || printf '%s\n' "$BROKER_EXTRA" >>broker.conf
}

# start_broker: mosquitto in the background (BROKER_PID), waits until it listens
start_broker() {
	[ -f broker.conf ] || broker_conf
	_runs=$(count broker.log 'mosquitto version .* running')
	bg "$MOSQUITTO" -c "$T_DIR/broker.conf" 2>>broker.err
	BROKER_PID=$BG_PID
	_end=$(( $(date +%s) + 20 ))
	until [ "$(count broker.log 'mosquitto version .* running')" -gt "$_runs" ]; do
		kill -0 "$BROKER_PID" 2>/dev/null || fail "mosquitto did not start: $(tail -n 5 broker.log 2>/dev/null)"
		[ "$(date +%s)" -le "$_end" ] || fail "mosquitto did not start"
		sleep 0.1
	done
}

stop_broker() {
	kill -TERM "$BROKER_PID" 2>/dev/null
	wait "$BROKER_PID" 2>/dev/null
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $BROKER_PID\b//")
}

# the north.m5s section toward m5s-sim (mutual TLS), as YAML lines
M5S_YAML() {
	printf 'north:\n  m5s: { api_root: https://127.0.0.1:%s, tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key }, retry_min: 100ms, retry_max: 1s }\n' "$SIM_PORT"
}

# the mqtt section toward the test broker's gateway listener (client certificate), as YAML
# lines; extra lines ("  key: value") in $1
MQTT_YAML() {
	printf 'mqtt:\n  broker: { host: 127.0.0.1, port: %s, tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key } }\n  topic_prefix: %s\n  reconnect_min: 100ms\n  reconnect_max: 1s\n%s\n' \
		"$GPORT" "$PREFIX" "${1:-}"
}

# start_gw LOG: the gateway (GW_PID); waits until it is ready and subscribed
start_gw() {
	_log=$1
	_subs=$(count "$_log" 'connected as')
	_sb=$(count broker.log " 1 $PREFIX/report/\+\$")
	bg "$GW" -c "$T_DIR/gw.yaml" 2>>"$_log"
	GW_PID=$BG_PID
	wait_gw_ready "$_log"
	_end=$(( $(date +%s) + 20 ))
	until [ "$(count "$_log" 'connected as')" -gt "$_subs" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "the gateway never connected to the broker: $(tail -n 5 "$_log")"
		sleep 0.1
	done
	# its subscriptions (made at every CONNACK) are in place: the broker logged them
	_end=$(( $(date +%s) + 20 ))
	until [ "$(count broker.log " 1 $PREFIX/report/\+\$")" -gt "$_sb" ]; do
		[ "$(date +%s)" -le "$_end" ] || fail "the gateway never subscribed"
		sleep 0.1
	done
}

# stop_gw: SIGTERM, exit 0 expected
stop_gw() {
	kill -TERM "$GW_PID" 2>/dev/null
	wait "$GW_PID"
	_rc=$?
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $GW_PID\b//")
	[ $_rc -eq 0 ] || fail "gateway exit $_rc"
}

# pub USER PASSWORD TOPIC-SUFFIX MESSAGE [mosquitto_pub options]: one QoS 1 message from a
# device (MQTT 5, TLS), the exchange in pub.out (-d); MESSAGE @FILE sends FILE's content
pub() {
	_u=$1 _p=$2 _t=$3 _m=$4
	shift 4
	case "$_m" in
	@*) set -- -f "${_m#@}" "$@" ;;
	*) set -- -m "$_m" "$@" ;;
	esac
	timeout 20 mosquitto_pub -h 127.0.0.1 -p "$DPORT" --cafile pki/ca.pem -u "$_u" -P "$_p" \
		-i "pub-$_u-$$" -V 5 -q 1 -d -t "$PREFIX/$_t" "$@" >pub.out 2>&1
}

# body MSGID [extra members]: a device message to AS as-1
body() {
	printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"%s","payload":"hi %s"%s}' "$1" "$1" "${2:-}"
}

ok() { n=$((n + 1)); echo "ok $n $*"; }
