#!/usr/bin/env python3
"""Check that the entries in proofs.json are in the service's signed audit log.

Needs only Python 3.9 or later, nothing else. Run it in the folder of your records:

    python3 verify.py                    # checks proofs.json beside this script
    python3 verify.py --key 'shuttle.audit/v1+1a2b3c4d+AW...'

It checks (1) that the checkpoint is signed with the log key (pass the key your service or its
commissioner published with --key, so that a copy cannot simply swap in a key of its own), and
(2) that each entry, hashed as RFC 9162 says, leads through its proof to the checkpoint's root.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

# --- Ed25519 signature check (RFC 8032, section 5.1.7), in plain Python ---------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)


def _add(a: Point, b: Point) -> Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = 2 * t1 * t2 * _D % _P
    dd = 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _same(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            return None
        return (0, y, 1, 0)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


_BASE_Y = 4 * pow(5, _P - 2, _P) % _P
_BASE = _decompress(_BASE_Y.to_bytes(32, "little"))


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    if len(signature) != 64 or _BASE is None:
        return False
    a, r = _decompress(public_key), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = hashlib.sha512(signature[:32] + public_key + message).digest()
    k = int.from_bytes(h, "little") % _L
    return _same(_multiply(s, _BASE), _add(r, _multiply(k, a)))


# --- the checkpoint (C2SP signed note) -------------------------------------------------------


def parse_key(text: str) -> tuple[str, bytes, bytes]:
    """A verifier key ``name+hex key id+base64(0x01 || key)`` -> (name, key id, public key)."""
    name, key_id, encoded = text.strip().split("+", 2)
    blob = base64.b64decode(encoded, validate=True)
    if blob[:1] != b"\x01" or len(blob) != 33:
        raise ValueError("not an Ed25519 verifier key")
    expected = hashlib.sha256(name.encode() + b"\n" + blob).digest()[:4]
    if bytes.fromhex(key_id) != expected:
        raise ValueError("the key id does not match the key")
    return name, expected, blob[1:]


def check_checkpoint(note: str, key: str) -> tuple[int, bytes]:
    """Check the checkpoint's signature; return its tree size and root hash."""
    name, key_id, public_key = parse_key(key)
    body, _, signatures = note.rpartition("\n\n")
    body += "\n"
    origin, size, root = body.split("\n")[:3]
    for line in signatures.rstrip("\n").split("\n"):
        dash, signer, encoded = line.split(" ")
        blob = base64.b64decode(encoded, validate=True)
        ours = dash == "\u2014" and signer == name and blob[:4] == key_id
        if ours and ed25519_verify(public_key, body.encode(), blob[4:]):
            return int(size), base64.b64decode(root, validate=True)
    raise ValueError(f"the checkpoint of {origin} is not signed with this key")


# --- inclusion proofs (RFC 9162, section 2.1.3.2) ------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def entry_hash(entry: str) -> bytes:
    """An entry's leaf hash, SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry.encode()).digest()


def root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """The root that a leaf hash at ``index`` and its proof lead to in a tree of ``size``."""
    if not 0 <= index < size or len(leaf) != 32:
        raise ValueError("index outside the tree, or not a leaf hash")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0 or len(p) != 32:
            raise ValueError("proof too long or malformed")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def main(argv: list[str] | None = None) -> int:
    """Check every proof in the file; print one line per entry; exit 0 only if all hold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("proofs", nargs="?", default=str(Path(__file__).with_name("proofs.json")))
    parser.add_argument("--key", help="the log key your service published (recommended)")
    args = parser.parse_args(argv)
    bundle = json.loads(Path(args.proofs).read_text(encoding="utf-8"))
    key = args.key or bundle["log_key"]
    if not args.key:
        print("note: using the key inside the file; pass --key to check it is the service's")
    try:
        size, root = check_checkpoint(bundle["checkpoint"], key)
    except ValueError as exc:
        print(f"FAILED: {exc}")
        return 1
    print(f"checkpoint: signed, {size} entries in the log")
    failed = 0
    for item in bundle["entries"]:
        proof = [base64.b64decode(p, validate=True) for p in item["proof"]]
        try:
            ok = root_from_proof(entry_hash(item["entry"]), item["index"], size, proof) == root
        except ValueError:
            ok = False
        failed += not ok
        print(f"entry {item['index']}: {'in the log' if ok else 'FAILED'}")
    print("all entries are in the log" if not failed else f"FAILED: {failed} entries")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
