# tests/lib/tls.sh: checks of the one TLS policy (mgw/tls_policy.h) on the gateway's client
# links, with openssl s_server as the peer (after common.sh).

# TLS 1.2 suites the policy refuses (CBC, ECDSA certificates as made by contrib/make-certs.sh)
TLS_CBC='ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384'
TLS_AEAD='ECDHE-ECDSA-AES128-GCM-SHA256'

# tls_server PORT LOG CIPHERS CERT KEY: openssl s_server speaking TLS 1.2 only with CIPHERS,
# for one connection (TLS_SERVER_PID). -www: it never reads stdin (a background job's stdin
# is /dev/null, which a plain s_server takes for "quit"). Its summary at exit tells whether
# the handshake finished: see tls_server_result.
tls_server() {
	bg openssl s_server -www -accept "127.0.0.1:$1" -naccept 1 -tls1_2 -cipher "$3" \
		-keylogfile "$2.keys" -cert "$4" -key "$5" >"$2" 2>&1
	TLS_SERVER_PID=$BG_PID
	wait_for_line "$2" '^ACCEPT' 10 || fail "s_server did not start: $(cat "$2")"
}

# tls_server_result LOG: waits (up to 20 s) for the s_server of LOG to refuse the handshake
# (prints "refused": no shared cipher) or to finish it (prints "finished": its key log has
# the TLS 1.2 secret); "other" when neither happened
tls_server_result() {
	_end=$(( $(date +%s) + 20 ))
	while [ "$(date +%s)" -le "$_end" ]; do
		if grep -q 'no shared cipher' "$1"; then
			echo refused
			return
		fi
		if grep -q '^CLIENT_RANDOM ' "$1.keys" 2>/dev/null; then
			echo finished
			return
		fi
		sleep 0.1
	done
	echo other
}
