#!/usr/bin/env python3
"""cose-dev.py: the device side of COSE object security (doc/interfaces.md 8.5), written
from the RFCs without the gateway's code, for the 06-cose-* tests.

AES-CCM-16-64-128 COSE_Encrypt0 (RFC 9052/9053) with the RFC 8613 section 5.2 nonce:
    nonce = Common IV XOR ( len(ID_PIV) | ID_PIV left-padded to 7 | Partial IV left-padded to 5 )
ID_PIV is the device's kid uplink and the empty string downlink (the gateway's Sender ID).

  cose-dev.py seal --key HEX --iv HEX --kid HEX --seq N [--std] [--no-alg] TEXT
      an uplink message: prints base64url (no padding; --std: standard base64 with padding)
      of D0 [ h'A1010A', {4: kid, 6: piv}, ciphertext ]
  cose-dev.py open --key HEX --iv HEX B64
      a downlink message from the gateway: prints the plaintext, and "seq N" on stderr;
      exits 1 when it does not decode or authenticate
  cose-dev.py tamper B64
      the same message with one ciphertext bit flipped (base64url)
  cose-dev.py hex B64
      the raw COSE bytes as hex

Needs python3-cryptography (AESCCM); exits 77 (skip) without it.
"""
import base64
import sys

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM
except ImportError:  # pragma: no cover
    print("cose-dev.py: python3-cryptography missing", file=sys.stderr)
    sys.exit(77)

ALG_AES_CCM_16_64_128 = 10


# ---- a small CBOR encoder/decoder (RFC 8949), just what COSE needs ----
def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def enc(v):
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)


class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def dec(b, i=0):
    """-> (value, next index); definite lengths only"""
    ib = b[i]
    major, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        n = ai
    elif ai in (24, 25, 26, 27):
        size = 1 << (ai - 24)
        n = int.from_bytes(b[i:i + size], "big")
        i += size
    else:
        raise ValueError("indefinite or reserved head 0x%02x" % ib)
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major == 2:
        return bytes(b[i:i + n]), i + n
    if major == 3:
        return b[i:i + n].decode(), i + n
    if major == 4:
        out = []
        for _ in range(n):
            x, i = dec(b, i)
            out.append(x)
        return out, i
    if major == 5:
        out = {}
        for _ in range(n):
            k, i = dec(b, i)
            out[k], i = dec(b, i)
        return out, i
    if major == 6:
        x, i = dec(b, i)
        return Tag(n, x), i
    if ai == 20:
        return False, i
    if ai == 21:
        return True, i
    if ai == 22:
        return None, i
    raise ValueError("simple value %d" % ai)


# ---- COSE ----
def nonce(common_iv, id_piv, piv):
    assert len(common_iv) == 13 and len(id_piv) <= 7 and 1 <= len(piv) <= 5
    x = bytes([len(id_piv)]) + id_piv.rjust(7, b"\0") + piv.rjust(5, b"\0")
    return bytes(a ^ c for a, c in zip(common_iv, x))


def piv_of(seq):
    return b"\0" if seq == 0 else seq.to_bytes((seq.bit_length() + 7) // 8, "big")


def enc_structure(protected):
    return enc(["Encrypt0", protected, b""])


def seal(key, civ, kid, seq, text, with_alg=True):
    protected = enc({1: ALG_AES_CCM_16_64_128}) if with_alg else b""
    piv = piv_of(seq)
    ct = AESCCM(key, tag_length=8).encrypt(nonce(civ, kid, piv), text, enc_structure(protected))
    return b"\xd0" + enc([protected, {4: kid, 6: piv}, ct])


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    s = s.strip()
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s.replace("-", "+").replace("_", "/"), validate=True)


def open_downlink(key, civ, raw):
    v, end = dec(raw)
    if end != len(raw):
        raise ValueError("trailing bytes")
    if not isinstance(v, Tag) or v.tag != 16:
        raise ValueError("not a tagged COSE_Encrypt0")
    protected, unprotected, ct = v.value
    ph = dec(protected)[0] if protected else {}
    if ph.get(1, ALG_AES_CCM_16_64_128) != ALG_AES_CCM_16_64_128:
        raise ValueError("alg %r" % ph.get(1))
    if 4 in unprotected or 4 in ph:
        raise ValueError("a kid downlink")
    piv = unprotected.get(6, ph.get(6))
    if piv is None:
        raise ValueError("no Partial IV")
    pt = AESCCM(key, tag_length=8).decrypt(nonce(civ, b"", piv), ct, enc_structure(protected))
    return pt, int.from_bytes(piv, "big")


def main(argv):
    args, opts, i = [], {}, 0
    while i < len(argv):
        a = argv[i]
        if a in ("--key", "--iv", "--kid", "--seq"):
            opts[a[2:]] = argv[i + 1]
            i += 2
        elif a in ("--std", "--no-alg"):
            opts[a[2:]] = True
            i += 1
        else:
            args.append(a)
            i += 1
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = args[0]
    if cmd == "seal":
        raw = seal(bytes.fromhex(opts["key"]), bytes.fromhex(opts["iv"]), bytes.fromhex(opts["kid"]),
                   int(opts["seq"]), args[1].encode(), with_alg="no-alg" not in opts)
        print(base64.b64encode(raw).decode() if "std" in opts else b64url(raw))
        return 0
    if cmd == "open":
        try:
            pt, seq = open_downlink(bytes.fromhex(opts["key"]), bytes.fromhex(opts["iv"]), unb64(args[1]))
        except Exception as e:  # any failure: not opened
            print("cose-dev.py: not opened: %s" % (e or type(e).__name__), file=sys.stderr)
            return 1
        sys.stdout.write(pt.decode("utf-8", "backslashreplace") + "\n")
        print("seq %d" % seq, file=sys.stderr)
        return 0
    if cmd == "tamper":
        raw = bytearray(unb64(args[1]))
        raw[-9] ^= 0x01  # the last ciphertext byte (the CCM tag is the last 8)
        print(b64url(bytes(raw)))
        return 0
    if cmd == "hex":
        print(unb64(args[1]).hex())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
