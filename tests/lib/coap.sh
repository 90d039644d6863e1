# tests/lib/coap.sh: shared by the 03 CoAP tests (after common.sh and north.sh).

# coap_init [m5s-sim serve options]: a test directory with a PKI, m5s-sim running (SIM_PORT),
# a free UDP port for the gateway's coaps listener (cport); skips without coap-client
coap_init() {
	t_init
	cd "$T_DIR" || fail "cd"
	CC=coap-client-openssl
	command -v $CC >/dev/null || skip "$CC (libcoap3-bin) missing"
	pki "$T_DIR/pki"
	start_sim sim --cert pki/m5s.pem --key pki/m5s.key --client-ca pki/ca.pem "$@"
	cport=$(free_port udp)
	n=0
}

# the north.m5s section toward that m5s-sim (mutual TLS), as YAML lines
M5S_YAML() {
	printf 'north:\n  m5s: { api_root: https://127.0.0.1:%s, tls: { ca: pki/ca.pem, cert: pki/gw.pem, key: pki/gw.key } }\n' "$SIM_PORT"
}

ok() { n=$((n + 1)); echo "ok $n $*"; }

# code NAME: the last response code in NAME.out, the output of coap-client -v 6 ("2.04",
# "4.13", ...; empty ACKs skipped). coap-client's exit status says nothing (it exits 0 after
# a failed handshake: ../shared/docs/dependencies.md), so the tests read this instead.
code() { sed -n 's/^v:1 t:[A-Z]* c:\([0-9]\.[0-9][0-9]\) .*/\1/p' "$1.out" | grep -v '^0.00$' | tail -n 1; }
