#!/usr/bin/env python3
"""Attackers for 05-north-abuse (loopback only, bounded in count and time).

north-abuse.py MODE PORT SECONDS [options]; prints one JSON line of what it saw.
Modes:
  drip N      N connections sending a TLS ClientHello one byte per second
  idle N      N connections that send a whole ClientHello, then nothing
  slowloris N N TLS connections (client cert) sending HTTP/1.1 headers a byte a second
  h2ping      one h2 connection (client cert) flooding PING, never reading
  chunked     one HTTP/1.1 connection (client cert) sending an endless chunked body
  h2pause N   not an attack: one h2 client sends N PINGs without reading (more acks than
              max_output), waits a second, then reads: every PING must be acked (reading
              resumes once it drained)
  h2idle N    N h2 connections (client cert) that send the preface and SETTINGS, then
              nothing, reading all the while (the idle deadline must close them)
  slowbody N  N HTTP/1.1 POSTs (client cert) whose 64-byte body comes a byte a second
Options: --src PREFIX (source addresses PREFIX.1 .. PREFIX.--nsrc), --nsrc K,
  --cert/--key/--ca (TLS client). Closed connections are reopened (at most --rate per s)
  for drip and idle, so that the slots stay contested for the whole run.
"""
import argparse
import json
import resource
import selectors
import socket
import ssl
import time


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def raw_conn(a, i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("%s.%d" % (a.src, 1 + i % a.nsrc), 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", a.port))
    except BlockingIOError:
        pass
    return s


def tls_ctx(a, alpn):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    ctx.check_hostname = False
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols([alpn])
    return ctx


def tls_conn(a, ctx, i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("%s.%d" % (a.src, 1 + i % a.nsrc), 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", a.port))
    return ctx.wrap_socket(s)


def slow_many(a, stats, first, per_tick):
    """drip / idle: keep N connections; send per_tick(pos) bytes of `first` each second"""
    hello = first
    sel = selectors.DefaultSelector()
    conns = {}  # sock -> [pos, opened]
    end = time.time() + a.seconds
    opened = 0
    lifetimes = []

    def open_one():
        nonlocal opened
        try:
            s = raw_conn(a, opened)
        except OSError:
            stats["open_errors"] += 1
            return
        opened += 1
        conns[s] = [0, time.time()]
        sel.register(s, selectors.EVENT_READ)

    def close(s, by_server):
        pos, t0 = conns.pop(s)
        sel.unregister(s)
        s.close()
        if by_server:
            stats["closed_by_server"] += 1
            lifetimes.append(time.time() - t0)

    budget = a.rate
    tick = time.time()
    while time.time() < end:
        now = time.time()
        if now - tick >= 1:
            tick = now
            budget = a.rate
            for s, st in list(conns.items()):
                n = per_tick(st[0])
                if n and st[0] < len(hello):
                    try:
                        sent = s.send(hello[st[0]:st[0] + n])
                        st[0] += sent
                        stats["bytes"] += sent
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        close(s, True)
        while len(conns) < a.n and budget > 0:
            open_one()
            budget -= 1
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                if s.recv(4096) == b"":
                    close(s, True)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                close(s, True)
    stats["held_at_end"] = len(conns)
    stats["opened"] = opened
    lifetimes.sort()
    stats["median_lifetime"] = round(lifetimes[len(lifetimes) // 2], 2) if lifetimes else None
    for s in list(conns):
        s.close()


def slowloris(a, stats):
    ctx = tls_ctx(a, "http/1.1")
    head = b"POST /msgg-l3gdelivery/v1/deliver-message HTTP/1.1\r\nHost: gw\r\nX-Slow: " + b"a" * 4000
    conns = {}
    for i in range(a.n):
        try:
            s = tls_conn(a, ctx, i)
            s.setblocking(False)
            conns[s] = [0, time.time()]
        except OSError:
            stats["open_errors"] += 1
    stats["opened"] = len(conns)
    end = time.time() + a.seconds
    lifetimes = []
    while time.time() < end and conns:
        for s, st in list(conns.items()):
            try:
                s.send(head[st[0]:st[0] + 1])
                st[0] += 1
                stats["bytes"] += 1
                try:
                    if s.recv(4096) == b"":
                        raise OSError("eof")
                except (ssl.SSLWantReadError, BlockingIOError):
                    pass
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
            except OSError:
                stats["closed_by_server"] += 1
                lifetimes.append(time.time() - st[1])
                del conns[s]
                s.close()
        time.sleep(1)
    stats["held_at_end"] = len(conns)
    lifetimes.sort()
    stats["median_lifetime"] = round(lifetimes[len(lifetimes) // 2], 2) if lifetimes else None
    for s in conns:
        s.close()


def hold(a, stats, alpn, first, drip):
    """N TLS connections: send `first`, then a byte of `drip` a second, read everything;
    report when the gateway closed them"""
    ctx = tls_ctx(a, alpn)
    conns = {}
    for i in range(a.n):
        try:
            s = tls_conn(a, ctx, i)
            s.sendall(first)
            s.setblocking(False)
            conns[s] = [0, time.time(), b""]
        except OSError:
            stats["open_errors"] += 1
    stats["opened"] = len(conns)
    stats["goaway"] = 0
    end = time.time() + a.seconds
    lifetimes = []
    while time.time() < end and conns:
        for s, st in list(conns.items()):
            try:
                if st[0] < len(drip):
                    s.send(drip[st[0]:st[0] + 1])
                    st[0] += 1
                while True:
                    d = s.recv(65536)
                    if d == b"":
                        if alpn == "h2" and has_goaway(st[2]):
                            stats["goaway"] += 1
                        raise OSError("eof")
                    st[2] += d
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                pass
            except OSError:
                stats["closed_by_server"] += 1
                lifetimes.append(time.time() - st[1])
                del conns[s]
                s.close()
        time.sleep(1)
    stats["held_at_end"] = len(conns)
    lifetimes.sort()
    stats["median_lifetime"] = round(lifetimes[len(lifetimes) // 2], 2) if lifetimes else None
    for s in conns:
        s.close()


def has_goaway(b):
    """b holds whole h2 frames from the server: is one of them a GOAWAY?"""
    while len(b) >= 9:
        if b[3] == 7:
            return True
        b = b[9 + int.from_bytes(b[:3], "big"):]
    return False


def pause_then_read(a, stats):
    s = tls_conn(a, tls_ctx(a, "h2"), 0)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
    s.settimeout(0.5)
    sent = 0
    try:
        while sent < a.n:
            s.sendall(frame(6, 0, 0, b"12345678") * 500)
            sent += 500
    except socket.timeout:
        stats["stalled"] = True
    time.sleep(1)
    s.settimeout(5)
    buf, acks = b"", 0
    while acks < sent:
        try:
            d = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not d:
            break
        buf += d
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            if buf[3] == 6 and buf[4] & 1:
                acks += 1
            buf = buf[9 + int.from_bytes(buf[:3], "big"):]
    stats["sent"], stats["acks"] = sent, acks
    s.close()


def frame(ftype, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


def flood(a, stats, alpn, first, more):
    """one connection: send `first`, then `more` as fast as the socket takes it"""
    s = tls_conn(a, tls_ctx(a, alpn), 0)
    stats["alpn"] = s.selected_alpn_protocol()
    s.settimeout(0.5)
    t0 = time.time()
    end = t0 + a.seconds
    data = first
    while time.time() < end:
        try:
            stats["bytes"] += s.send(data)
            data = more
        except (socket.timeout, ssl.SSLWantWriteError):
            stats["stalled"] = True  # the gateway stopped reading us
            continue
        except OSError as e:
            stats["closed_by_server"] = 1
            stats["closed_after"] = round(time.time() - t0, 2)
            stats["error"] = type(e).__name__
            break
    if a.read_answer:
        try:
            s.settimeout(1)
            stats["answer"] = s.recv(200).decode("latin-1").split("\r\n")[0]
        except (OSError, ValueError):
            pass
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("port", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("n", type=int, nargs="?", default=1)
    p.add_argument("--src", default="127.0.1")
    p.add_argument("--nsrc", type=int, default=1)
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--read-answer", action="store_true")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stats = {"mode": a.mode, "n": a.n, "bytes": 0, "closed_by_server": 0, "open_errors": 0}
    if a.mode == "drip":
        slow_many(a, stats, client_hello(), lambda pos: 1)
    elif a.mode == "idle":
        slow_many(a, stats, client_hello(), lambda pos: 0 if pos else 100000)
    elif a.mode == "slowloris":
        slowloris(a, stats)
    elif a.mode == "h2ping":
        pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
        flood(a, stats, "h2", pre, frame(6, 0, 0, b"12345678") * 512)
    elif a.mode == "chunked":
        head = (b"POST /msgg-l3gdelivery/v1/deliver-message HTTP/1.1\r\nHost: gw\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        flood(a, stats, "http/1.1", head, b"1000\r\n" + b"x" * 4096 + b"\r\n")
    elif a.mode == "h2pause":
        pause_then_read(a, stats)
    elif a.mode == "h2idle":
        hold(a, stats, "h2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""), b"")
    elif a.mode == "slowbody":
        head = (b"POST /msgg-l3gdelivery/v1/deliver-message HTTP/1.1\r\nHost: gw\r\n"
                b"Content-Type: application/json\r\nContent-Length: 64\r\n\r\n")
        hold(a, stats, "http/1.1", head, b"x" * 64)
    else:
        p.error("unknown mode")
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
