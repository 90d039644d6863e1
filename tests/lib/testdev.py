#!/usr/bin/env python3
"""Client of the gateway's testdev lab adapter (src/adapter/test/README.md): acts as one or
many devices over the line protocol, for the integration tests and benchmarks.

  testdev.py send   --port P --kind psk --value sensor-1 JSON...      one session, prints answers
  testdev.py inject --port P --devices psk:sensor-1,psk:sensor-2 --count N [--prefix m]
        N messages per device, pipelined; prints "acked K of T" and exits 0 when all were
        answered OK (stored or duplicate)
  testdev.py sub    --port P --kind psk --value sensor-1 --expect N [--timeout S] [--nack]
        subscribes, prints each DELIVER body as one JSON line, ACKs (or NACKs) it
"""
import argparse
import json
import socket
import sys
import time


class Session:
    def __init__(self, port, kind, value, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.send("HELLO %s %s" % (kind, value))
        self.hello = self.line()

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("gateway closed the session")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def close(self):
        try:
            self.send("QUIT")
        except OSError:
            pass
        self.sock.close()


def body(dest, msg_id, payload, report=False, ori=None):
    b = {"destAddr": {"addrType": dest.split(":", 1)[0], "addr": dest.split(":", 1)[1]},
         "msgId": msg_id, "payload": payload}
    if report:
        b["delivStReqInd"] = True
    if ori:
        b["oriAddr"] = {"addrType": "UE", "addr": ori}
    return json.dumps(b, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["send", "inject", "sub"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--kind", default="psk")
    ap.add_argument("--value")
    ap.add_argument("--devices")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--prefix", default="m")
    ap.add_argument("--dest", default="AS:as-1")
    ap.add_argument("--expect", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--nack", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("json", nargs="*")
    a = ap.parse_intermixed_args()

    if a.mode == "send":
        s = Session(a.port, a.kind, a.value, a.timeout)
        print(s.hello)
        for j in a.json:
            verb = "REPORT" if '"delivSt"' in j else "MSG"
            s.send("%s %s" % (verb, j))
            print(s.line())
        s.close()
        return 0 if s.hello.startswith("OK") else 1

    if a.mode == "inject":
        sessions = []
        for d in a.devices.split(","):
            kind, value = d.split(":", 1)
            s = Session(a.port, kind, value, a.timeout)
            if not s.hello.startswith("OK"):
                print("hello refused for %s: %s" % (d, s.hello))
                return 1
            sessions.append((d, s))
        t0 = time.time()
        # interleave the devices, pipelined per session
        for i in range(a.count):
            for d, s in sessions:
                s.send("MSG " + body(a.dest, "%s-%s-%d" % (a.prefix, d.split(":", 1)[1], i),
                                     "hello %d" % i, a.report))
        ok = 0
        bad = []
        for d, s in sessions:
            for i in range(a.count):
                ans = s.line()
                if ans.startswith("OK"):
                    ok += 1
                else:
                    bad.append(ans)
            s.close()
        dt = time.time() - t0
        total = a.count * len(sessions)
        print("acked %d of %d in %.2f s = %.0f msgs/s" % (ok, total, dt, total / dt if dt else 0))
        for b in bad[:5]:
            print("refused: " + b)
        return 0 if ok == total else 1

    if a.mode == "sub":
        s = Session(a.port, a.kind, a.value, a.timeout)
        if not s.hello.startswith("OK"):
            print(s.hello)
            return 1
        s.send("SUB")
        got = 0
        end = time.time() + a.timeout
        while got < a.expect and time.time() < end:
            line = s.line()
            if line.startswith("OK sub"):
                continue
            if line.startswith("DELIVER "):
                d = json.loads(line[8:])
                print(json.dumps(d, separators=(",", ":")), flush=True)
                if a.nack:
                    s.send("NACK %s refused-by-test" % d["msgId"])
                else:
                    s.send("ACK %s" % d["msgId"])
                got += 1
        s.close()
        return 0 if got >= a.expect else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
