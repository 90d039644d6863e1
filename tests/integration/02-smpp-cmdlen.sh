#!/bin/sh
# 02 sms, a broken SMPP stream from the SMSC (src/adapter/sms/smpp_conn.c): a PDU whose
# command_length is below the 16-byte header (8) or above the 64 KiB bound (1 MiB) is
# answered with generic_nack, command_status ESME_RINVCMDLEN (0x02), the offending PDU's
# sequence number, before the link is dropped; the ESME then reconnects and binds again.
# The SMSC is a raw-bytes one (Python, below), driven by tests/integration/smpp_probe.
. "$top_srcdir/tests/lib/common.sh"
t_init
cd "$T_DIR" || fail "cd"
PROBE="$top_builddir/tests/integration/smpp_probe"
n=0
ok() { n=$((n + 1)); echo "ok $n $*"; }

# the SMSC: per connection, answer bind_transceiver, then send the next bad header; record
# every PDU the ESME sends afterwards, and whether it closed the link (JSON lines)
python3 - smsc.port smsc.jsonl <<'PY' 2>smsc.err &
import json, socket, struct, sys
bad = [(8, 77), (1 << 20, 78)]          # (command_length, sequence_number)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(4)
open(sys.argv[1], "w").write("%d\n" % ls.getsockname()[1])
rec = open(sys.argv[2], "a")
def pdu(s):
    h = b""
    while len(h) < 16:
        d = s.recv(16 - len(h))
        if not d:
            return None
        h += d
    l, cid, st, seq = struct.unpack(">IIII", h)
    body = b""
    while len(body) < l - 16:
        d = s.recv(l - 16 - len(body))
        if not d:
            return None
        body += d
    return cid, st, seq
for length, seq in bad:
    s, _ = ls.accept(); s.settimeout(20)
    cid, st, bseq = pdu(s)
    assert cid == 0x00000009, hex(cid)
    s.sendall(struct.pack(">IIII", 16 + 5, 0x80000009, 0, bseq) + b"smsc\0")
    s.sendall(struct.pack(">IIII", length, 0x00000005, 0, seq))   # a "deliver_sm" header
    got = []
    while True:
        try:
            p = pdu(s)
        except socket.timeout:
            p = "timeout"
        if p is None or p == "timeout":
            break
        got.append({"id": "0x%08x" % p[0], "status": "0x%08x" % p[1], "seq": p[2]})
    rec.write(json.dumps({"length": length, "got": got, "end": "timeout" if p else "closed"}) + "\n")
    rec.flush()
    s.close()
PY
SMSC_PID=$!
T_PIDS="$T_PIDS $SMSC_PID"
wait_for_line smsc.port '^[0-9]+' 10 || fail "SMSC did not start: $(cat smsc.err)"
"$PROBE" 127.0.0.1 "$(cat smsc.port)" gw secret 0 6 >probe.out 2>probe.err
wait_for_line smsc.jsonl '"length": 1048576' 10 || fail "the second connection never came: $(cat probe.out probe.err smsc.err)"
python3 - <<'PY' || fail "SMSC saw: $(cat smsc.jsonl)"
import json
for r in map(json.loads, open("smsc.jsonl")):
    want = {"id": "0x80000000", "status": "0x00000002", "seq": 77 if r["length"] == 8 else 78}
    assert r["got"] and r["got"][0] == want, "%s: %s" % (r["length"], r["got"])
    assert r["end"] == "closed", "%s: the link stayed up" % r["length"]
PY
ok "command_length 8 and 1 MiB: generic_nack ESME_RINVCMDLEN with the PDU's sequence, then the link closed"
[ "$(grep -c '^bound$' probe.out)" -ge 2 ] || fail "no bind again after the drop: $(cat probe.out)"
grep -q 'command_length 8 (allowed 16..65536): generic_nack' probe.err || fail "cause not logged: $(cat probe.err)"
grep -q 'command_length 1048576 (allowed 16..65536): generic_nack' probe.err || fail "cause not logged: $(cat probe.err)"
ok "the cause logged with the length; the ESME reconnects and binds again"
echo "1..$n"
