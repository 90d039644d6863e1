#!/bin/sh
# The README's run command: install what is missing (Debian 12, needs root), build, make the
# test PKI on first run, start m5s-sim (the reference MSGin5G Server), the SMSC simulator
# (SMPP over TLS on 2776, control on 2777) and the gateway on contrib/example/gw.yaml, send
# one message each way for a CoAP sensor and an SMS phone so you see them go through, and
# keep the gateway in the foreground (Ctrl-C stops them all).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
sh contrib/build.sh _build
b="$top/_build"
ex="$top/contrib/example"
run="$ex/run"
mkdir -p "$run"
sh contrib/make-certs.sh "$run/certs"
# the example's files hold secrets (a PSK, the SMSC password): the gateway refuses them while
# others may read them, and a git checkout makes them 0644 under the usual umask
chmod 600 "$ex/gw.yaml" "$ex/devices.yaml"
"$b/msgin5g-gw" -c "$ex/gw.yaml" -t

"$b/m5s-sim" serve --listen 127.0.0.1:9443 --cert "$run/certs/m5s.pem" --key "$run/certs/m5s.key" \
	--client-ca "$run/certs/ca.pem" --record "$run/m5s-sim.jsonl" 2>"$run/m5s-sim.log" &
sim=$!
node contrib/smsc-sim/smsc-sim.js --listen 127.0.0.1:2776 --control 127.0.0.1:2777 \
	--tls-cert "$run/certs/m5s.pem" --tls-key "$run/certs/m5s.key" --record "$run/smsc.jsonl" \
	>"$run/smsc.log" 2>&1 &
smsc=$!
"$b/msgin5g-gw" -c "$ex/gw.yaml" &
gw=$!
trap 'kill $gw $sim $smsc 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
i=0
# ready when the gateway's listener answers (404 for "/" is an answer)
until curl -s -o /dev/null --max-time 1 --cacert "$run/certs/ca.pem" --cert "$run/certs/m5s.pem" \
	--key "$run/certs/m5s.key" https://127.0.0.1:7443/; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "run-example: the gateway did not come up" >&2; exit 2; }
	sleep 0.2
done

echo
echo "run-example: a CoAP sensor (ue-coap-1, PSK identity sensor-1) sends a message to AS as-1:"
printf '{"destAddr":{"addrType":"AS","addr":"as-1"},"msgId":"demo-1","payload":"hello from a sensor"}' >"$run/demo-1.json"
coap-client-openssl -m post -t json -f "$run/demo-1.json" -u sensor-1 -k secretPSK \
	coaps://127.0.0.1:5684/msg
sleep 1
echo "run-example: what m5s-sim received ($run/m5s-sim.jsonl):"
tail -n 1 "$run/m5s-sim.jsonl" || true
echo
echo "run-example: the M5S pushes an N3G delivery for ue-coap-1 to the gateway:"
"$b/m5s-sim" push --url https://127.0.0.1:7443/msgg-n3gdelivery/v1/deliver-message \
	--cacert "$run/certs/ca.pem" --cert "$run/certs/m5s.pem" --key "$run/certs/m5s.key" --http2 \
	--n3g --from AS:as-1 --to UE:ue-coap-1 --msg-id demo-2 --payload "hello sensor" --report-required || true
echo "run-example: the sensor observes its inbox and gets it (then again after 5 s):"
coap-client-openssl -s 5 -u sensor-1 -k secretPSK coaps://127.0.0.1:5684/inbox || true
echo
sleep 1
echo "run-example: and m5s-sim got the delivery report:"
tail -n 1 "$run/m5s-sim.jsonl" || true
echo
echo "run-example: the M5S sends an L3G delivery to ue-sms-1; the SMSC gets the submit_sm:"
"$b/m5s-sim" push --url https://127.0.0.1:7443/msgg-l3gdelivery/v1/deliver-message \
	--cacert "$run/certs/ca.pem" --cert "$run/certs/m5s.pem" --key "$run/certs/m5s.key" --http2 \
	--l3g --from AS:as-1 --to UE:ue-sms-1 --msg-id demo-3 --payload "Reply YES to confirm" || true
sleep 1
grep '"submit_sm"' "$run/smsc.jsonl" | tail -n 1 || true
echo "run-example: the phone (491701234567) answers YES; it goes to as-1 (the transaction map):"
python3 -c 'import socket; s = socket.create_connection(("127.0.0.1", 2777)); s.sendall(b"{\"cmd\":\"deliver\",\"source_addr\":\"491701234567\",\"destination_addr\":\"12345\",\"short_message_hex\":\"594553\"}\n"); print(s.recv(4096).decode().strip())' || true
sleep 1
tail -n 1 "$run/m5s-sim.jsonl" || true
echo "run-example: audit log: $run/audit.jsonl; Ctrl-C stops the gateway, m5s-sim and the SMSC"
echo "  (SMSC simulator control: one JSON line per command on 127.0.0.1:2777, see contrib/smsc-sim)"
wait $gw
