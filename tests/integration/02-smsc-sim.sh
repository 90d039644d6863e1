#!/bin/sh
# 02 sms, the SMSC simulator itself (contrib/smsc-sim/smsc-sim.js, the SMSC of the SMS
# adapter tests), with the npm smpp package's client as the ESME (esme.js below) and the
# control line protocol driven from here: bind refused for a wrong password / system_id
# (and submit_sm before a bind ESME_RINVBNDSTS), bind_transceiver + enquire_link accepted;
# submit_sm recorded with its fields (text, UDH + binary, message_payload + SAR + port
# TLVs) and answered m1, m2, ...; mode throttle (count 1) -> 0x58, qfull -> 0x14;
# unknown request -> generic_nack; deliver reaches the bound client and returns its
# deliver_sm_resp status (0, 8, and a timeout); receipts with receipted_message_id and
# message_state and the DLR text; stats; drop closes the connection; raw PDUs (second bind
# ESME_RALYBND, a submit_sm cut short ESME_RINVCMDLEN); SIGTERM exits 0.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/sms.sh" # ctl, is, count
t_init
cd "$T_DIR" || fail "cd"
node=${NODE:-node}
command -v "$node" >/dev/null || skip "node missing"
[ -d "$top_srcdir/contrib/node/node_modules/smpp" ] || skip "npm smpp missing (npm ci in contrib/node)"
SMPP_DIR="$top_srcdir/contrib/node"
export SMPP_DIR

# esme.js PORT SYSTEM_ID PASSWORD transceiver|transmitter|receiver once|stay SUBMITS [RESPS]:
# binds, enquire_link, sends the submit_sm of the JSON array SUBMITS one by one (keys
# NAME_hex are octets), then "once": query_sm and unbind; "stay": waits. Answers deliver_sm
# with the statuses of RESPS in turn ("none": no answer; default 0). One JSON line per event.
cat >esme.js <<'JS'
'use strict';
const smpp = require(require.resolve('smpp', { paths: [process.env.SMPP_DIR] }));
smpp.filters.message.decode = (v) => v; // short_message / message_payload as raw octets
const [port, system_id, password, bindType, how, submits, respArg] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));
const resps = (respArg || '').split(',').filter(Boolean);
const call = (cmd, o) => new Promise((res) => s[cmd](o, (r) => {
	out({ ev: cmd + '_resp', command: r.command, status: r.command_status, message_id: r.message_id, system_id: r.system_id });
	res(r);
}));
const s = smpp.connect({ host: '127.0.0.1', port: Number(port) });
s.on('error', (e) => out({ ev: 'error', error: e.message }));
s.on('close', () => { out({ ev: 'close' }); process.exit(0); });
s.on('deliver_sm', (pdu) => {
	const o = { ev: 'deliver_sm' };
	for (const [k, v] of Object.entries(pdu)) o[Buffer.isBuffer(v) ? k + '_hex' : k] = Buffer.isBuffer(v) ? v.toString('hex') : v;
	out(o);
	const st = resps.length ? resps.shift() : '0';
	if (st !== 'none') s.send(pdu.response({ command_status: Number(st) }));
});
s.on('connect', async () => {
	await call('bind_' + bindType, { system_id, password });
	await call('enquire_link', {});
	for (const sub of JSON.parse(submits || '[]')) {
		const o = {};
		for (const [k, v] of Object.entries(sub)) if (k.endsWith('_hex')) o[k.slice(0, -4)] = Buffer.from(v, 'hex'); else o[k] = v;
		await call('submit_sm', o);
	}
	if (how === 'stay') return out({ ev: 'idle' });
	await call('query_sm', { message_id: 'm1' });
	await call('unbind', {});
});
JS
esme() { "$node" esme.js "$port" "$@"; }
# has FILE FILTER: exactly one matching line
has() { [ "$(count "$1" "$2")" = 1 ]; }
n=0

bg "$node" "$top_srcdir/contrib/smsc-sim/smsc-sim.js" --listen 127.0.0.1:0 --port-file smsc.port \
	--record smsc.jsonl --control 127.0.0.1:0 --control-port-file ctl.port \
	--system-id gw --password secret --resp-timeout 1000 >sim.log 2>&1
sim=$BG_PID
wait_for_line smsc.port '^[0-9]+$' 10 || fail "simulator did not start: $(cat sim.log)"
port=$(cat smsc.port) cport=$(cat ctl.port)
CTL_PORT=$cport
grep -q "SMPP on 127.0.0.1:$port, control on 127.0.0.1:$cport" sim.log || fail "no listening line: $(cat sim.log)"

# 1. refused binds; a submit_sm before a bind; nothing bound to deliver to
esme gw wrong transceiver once '[{"destination_addr":"1","short_message":"x"}]' >bad.out || fail "esme: $(cat bad.out)"
has bad.out 'r["ev"]=="bind_transceiver_resp" and r["status"]==0x0e' || fail "wrong password: $(cat bad.out)"
has bad.out 'r["ev"]=="submit_sm_resp" and r["status"]==0x04' || fail "unbound submit_sm: $(cat bad.out)"
has bad.out 'r["ev"]=="unbind_resp" and r["status"]==0' && has bad.out 'r["ev"]=="close"' || fail "unbind: $(cat bad.out)"
esme nobody secret transmitter once >bad2.out || fail "esme: $(cat bad2.out)"
has bad2.out 'r["ev"]=="bind_transmitter_resp" and r["status"]==0x0f' || fail "wrong system_id: $(cat bad2.out)"
has smsc.jsonl 'r.get("command")=="bind_transceiver" and r["system_id"]=="gw" and r["password"]=="wrong" and r["status"]==14' &&
	has smsc.jsonl 'r.get("command")=="bind_transmitter" and r["system_id"]=="nobody" and r["status"]==15' &&
	has smsc.jsonl 'r.get("command")=="submit_sm" and r["status"]==4 and "message_id" not in r' ||
	fail "refusals not recorded: $(cat smsc.jsonl)"
a=$(ctl '{"cmd":"deliver","source_addr":"1","destination_addr":"2","short_message_hex":"00"}')
is "$a" 'not d["ok"] and "no bound receiver" in d["error"]' || fail "deliver without a receiver: $a"
ok "bind refused: ESME_RINVPASWD, ESME_RINVSYSID; unbound submit_sm ESME_RINVBNDSTS; deliver with nobody bound fails"

# 2. bind_transceiver; submit_sm, the first throttled (mode throttle, count 1)
a=$(ctl '{"cmd":"mode","submit":"throttle","count":1}')
is "$a" 'd["ok"]' || fail "mode: $a"
subs='[{"source_addr":"12345","destination_addr":"491701234567","short_message":"hello","registered_delivery":1},
 {"source_addr":"12345","destination_addr":"491701234567","short_message":"hello","registered_delivery":1},
 {"source_addr":"12345","destination_addr":"491701234567","esm_class":64,"data_coding":4,"short_message_hex":"0605053e803e80cafe00ff"},
 {"source_addr":"12345","destination_addr":"491701234567","data_coding":8,"message_payload_hex":"00480069",
  "sar_msg_ref_num":300,"sar_total_segments":2,"sar_segment_seqnum":1,"source_port":16001,"dest_port":16000}]'
bg esme gw secret transceiver stay "$subs" 0,8,none,0,0 >esme.out 2>esme.err
esme_pid=$BG_PID
wait_for_line esme.out '"ev":"idle"' 20 || fail "ESME not done: $(cat esme.out esme.err)"
has esme.out 'r["ev"]=="bind_transceiver_resp" and r["status"]==0 and r["system_id"]=="smsc-sim"' || fail "bind: $(cat esme.out)"
has esme.out 'r["ev"]=="enquire_link_resp" and r["status"]==0' || fail "enquire_link: $(cat esme.out)"
got=$(python3 -c 'import json,sys; print(" ".join("%x:%s" % (r["status"], r.get("message_id") or "-") for r in map(json.loads, open(sys.argv[1])) if r["ev"]=="submit_sm_resp"))' esme.out)
[ "$got" = "58:- 0:m1 0:m2 0:m3" ] || fail "submit_sm_resp: $got"
ok "bind_transceiver and enquire_link; submit_sm: ESME_RTHROTTLED once (count 1), then m1, m2, m3"

# 3. the submit_sm records
has smsc.jsonl 'r.get("command")=="submit_sm" and r["status"]==0x58 and r["session"]==3 and "message_id" not in r' ||
	fail "throttled submit_sm record: $(grep submit_sm smsc.jsonl)"
# the package's client sends text as GSM with data_coding 1
has smsc.jsonl 'r.get("message_id")=="m1" and r["command"]=="submit_sm" and r["source_addr"]=="12345" and r["destination_addr"]=="491701234567" and r["esm_class"]==0 and r["data_coding"]==1 and r["registered_delivery"]==1 and r["short_message_hex"]=="68656c6c6f" and r["status"]==0 and r["sequence_number"]>0' ||
	fail "m1 record: $(grep '"m1"' smsc.jsonl)"
has smsc.jsonl 'r.get("message_id")=="m2" and r["esm_class"]==0x40 and r["data_coding"]==4 and r["registered_delivery"]==0 and r["short_message_hex"]=="0605053e803e80cafe00ff" and "message_payload_hex" not in r' ||
	fail "m2 record: $(grep '"m2"' smsc.jsonl)"
has smsc.jsonl 'r.get("message_id")=="m3" and r["data_coding"]==8 and r["short_message_hex"]=="" and r["message_payload_hex"]=="00480069" and r["sar_msg_ref_num"]==300 and r["sar_total_segments"]==2 and r["sar_segment_seqnum"]==1 and r["source_port"]==16001 and r["destination_port"]==16000' ||
	fail "m3 record: $(grep '"m3"' smsc.jsonl)"
python3 - smsc.jsonl <<'PY' || fail "record times"
import json, re, sys
for r in map(json.loads, open(sys.argv[1])):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]), r
PY
ok "submit_sm recorded: addresses, esm_class, data_coding, registered_delivery, short_message/message_payload hex, SAR and port TLVs, message_id"

# 4. mode qfull on a bind_transmitter; unknown request -> generic_nack; mode ok again
a=$(ctl '{"cmd":"mode","submit":"qfull"}')
is "$a" 'd["ok"]' || fail "mode: $a"
esme gw secret transmitter once '[{"destination_addr":"1","short_message":"a"},{"destination_addr":"1","short_message":"b"}]' >tx.out ||
	fail "esme: $(cat tx.out)"
[ "$(count tx.out 'r["ev"]=="submit_sm_resp" and r["status"]==0x14')" = 2 ] || fail "qfull: $(cat tx.out)"
has tx.out 'r["ev"]=="query_sm_resp" and r["command"]=="generic_nack" and r["status"]==3' || fail "query_sm: $(cat tx.out)"
is "$(ctl '{"cmd":"mode","submit":"ok"}')" 'd["ok"]' || fail "mode ok"
is "$(ctl '{"cmd":"mode","submit":"later"}')" 'not d["ok"]' || fail "bad mode accepted"
ok "mode qfull: ESME_RMSGQFUL until mode ok; query_sm -> generic_nack ESME_RINVCMDID"

# 5. deliver: reaches the bound transceiver; its deliver_sm_resp status (0, 8) or a timeout
a=$(ctl '{"cmd":"deliver","source_addr":"491701234567","destination_addr":"12345","data_coding":0,"short_message_hex":"68656c6c6f","esm_class":0}')
is "$a" 'd["ok"] and d["status"]==0 and d["session"]==3' || fail "deliver: $a"
has esme.out 'r["ev"]=="deliver_sm" and r["source_addr"]=="491701234567" and r["destination_addr"]=="12345" and r["data_coding"]==0 and r["esm_class"]==0 and r["short_message_hex"]=="68656c6c6f"' ||
	fail "deliver_sm at the ESME: $(cat esme.out)"
a=$(ctl '{"cmd":"deliver","source_addr":"491701234567","destination_addr":"12345","data_coding":4,"esm_class":0,"tlvs":{"source_port":16000,"destination_port":16001,"message_payload":"0102ff"}}')
is "$a" 'd["ok"] and d["status"]==8' || fail "deliver answered 8: $a"
has esme.out 'r["ev"]=="deliver_sm" and r["data_coding"]==4 and r.get("message_payload_hex")=="0102ff" and r.get("source_port")==16000 and r.get("dest_port")==16001' ||
	fail "deliver_sm TLVs at the ESME: $(cat esme.out)"
t0=$(date +%s)
a=$(ctl '{"cmd":"deliver","source_addr":"491701234567","destination_addr":"12345","short_message_hex":"00"}')
is "$a" 'not d["ok"] and "no deliver_sm_resp" in d["error"]' || fail "unanswered deliver: $a"
[ $(( $(date +%s) - t0 )) -le 5 ] || fail "the resp timeout took too long"
[ "$(count smsc.jsonl 'r.get("command")=="deliver_sm_resp" and r["session"]==3')" = 2 ] &&
	has smsc.jsonl 'r.get("command")=="deliver_sm_resp" and r["command_status"]==8' || fail "deliver_sm_resp records: $(cat smsc.jsonl)"
a=$(ctl '{"cmd":"deliver","tlvs":{"no_such_tlv":1}}')
is "$a" 'not d["ok"] and "no_such_tlv" in d["error"]' || fail "unknown TLV: $a"
ok "deliver reaches the ESME (fields, TLVs), answers with its resp status 0 / 8, times out without one"

# 6. receipts: TLVs and the DLR text; without TLVs; an unknown message_id
a=$(ctl '{"cmd":"receipt","message_id":"m1","stat":"DELIVRD","err":"000"}')
is "$a" 'd["ok"] and d["status"]==0' || fail "receipt: $a"
has esme.out 'r["ev"]=="deliver_sm" and r["esm_class"]==4 and r.get("receipted_message_id")=="m1" and r.get("message_state")==2 and r["source_addr"]=="491701234567" and r["destination_addr"]=="12345" and __import__("re").fullmatch(r"id:m1 sub:001 dlvrd:001 submit date:\d{10} done date:\d{10} stat:DELIVRD err:000 text:hello", bytes.fromhex(r["short_message_hex"]).decode())' ||
	fail "receipt at the ESME: $(grep '"esm_class":4' esme.out)"
a=$(ctl '{"cmd":"receipt","message_id":"m3","stat":"UNDELIV","err":"012","no_tlvs":true}')
is "$a" 'd["ok"] and d["status"]==0 and "dlvrd:000 " in d["text"] and "stat:UNDELIV err:012 text:" in d["text"]' || fail "receipt: $a"
has esme.out 'r["ev"]=="deliver_sm" and r["esm_class"]==4 and "receipted_message_id" not in r and "message_state" not in r and b"stat:UNDELIV err:012" in bytes.fromhex(r["short_message_hex"])' ||
	fail "receipt without TLVs: $(grep '"esm_class":4' esme.out)"
a=$(ctl '{"cmd":"receipt","message_id":"m99"}')
is "$a" 'not d["ok"] and "m99" in d["error"]' || fail "unknown message_id: $a"
ok "receipt: esm_class 0x04, receipted_message_id + message_state, DLR text; no_tlvs; unknown id refused"

# 7. stats; unknown and malformed control lines
a=$(ctl '{"cmd":"stats"}')
is "$a" 'd["ok"] and d["sessions"]==1 and d["bound"]==1 and d["submit_ok"]==3 and d["submit_rejected"]==3 and d["delivered"]==2 and d["receipts"]==2 and d["received"]["submit_sm"]==7 and d["received"]["deliver_sm_resp"]==4 and d["mode"]=="ok"' ||
	fail "stats: $a"
is "$(ctl '{"cmd":"reboot"}')" 'not d["ok"]' || fail "unknown cmd"
is "$(ctl 'not json')" 'not d["ok"]' || fail "bad JSON"
ok "stats counts; unknown command and bad JSON answered ok:false"

# 8. drop closes the ESME connection; a new bind works; SIGTERM exits 0
a=$(ctl '{"cmd":"drop"}')
is "$a" 'd["ok"] and d["closed"]==1' || fail "drop: $a"
wait_for_line esme.out '"ev":"close"' 5 || fail "connection not closed"
wait "$esme_pid" || fail "ESME exit status"
wait_for_line smsc.jsonl '"session":3,"event":"close"' 5 || fail "close not recorded"
is "$(ctl '{"cmd":"stats"}')" 'd["sessions"]==0' || fail "sessions after drop"
# raw octets: a second bind ESME_RALYBND, a submit_sm cut short generic_nack ESME_RINVCMDLEN,
# a receiver's submit_sm ESME_RINVBNDSTS
python3 - "$port" <<'PY' || fail "raw SMPP"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
def req(cid, seq, body=b""):
    s.sendall(struct.pack(">IIII", 16 + len(body), cid, 0, seq) + body)
    h = b""
    while len(h) < 16:
        h += s.recv(16 - len(h))
    n, rid, st, rseq = struct.unpack(">IIII", h)
    while n > len(h):
        h += s.recv(n - len(h))
    assert rseq == seq, (rseq, seq)
    return rid, st
bind = b"gw\0secret\0\0\x34\0\0\0"
assert req(0x00000001, 1, bind) == (0x80000001, 0), "bind_receiver"
assert req(0x00000001, 2, bind) == (0x80000001, 0x05), "second bind"
assert req(0x00000004, 3) == (0x80000000, 0x02), "short submit_sm"
sm = b"\0" * 6 + b"1\0" + b"\0" * 9 + b"\x01x"  # fields up to destination_addr, esm_class .. sm_default_msg_id, sm_length, short_message
assert req(0x00000004, 4, sm) == (0x80000004, 0x04), "receiver's submit_sm"
assert req(0x00000015, 5) == (0x80000015, 0), "enquire_link"
PY
esme gw secret receiver once >rx.out || fail "esme: $(cat rx.out)"
has rx.out 'r["ev"]=="bind_receiver_resp" and r["status"]==0' && has rx.out 'r["ev"]=="unbind_resp" and r["status"]==0' ||
	fail "bind after drop: $(cat rx.out)"
rc=0; stop_pid "$sim" || rc=$?
T_PIDS=""
[ "$rc" = 0 ] || fail "SIGTERM: exit $rc $(cat sim.log)"
ok "drop closes the connection (recorded); raw PDUs: ESME_RALYBND, short submit_sm ESME_RINVCMDLEN, receiver submit_sm ESME_RINVBNDSTS; bind_receiver; SIGTERM exits 0"
echo "# $n checks"
