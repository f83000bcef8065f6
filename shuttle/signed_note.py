"""C2SP signed notes and tlog-checkpoints, Ed25519 only: format, parse, verify.

A checkpoint is a signed note whose body is exactly three lines: the log's origin, its size in
decimal and its root hash in base64. Then a blank line and one signature line per signer,
``— <key name> <base64(key id || signature)>``, where the key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key) and the signature is Ed25519 over the body
(with its final newline). See https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from shuttle.crypto import verify_signature

EM_DASH = "\u2014"
ED25519_TYPE = b"\x01"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
MAX_NOTE = 1_000_000


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or whose signature does not verify."""


def check_key_name(name: str) -> str:
    """A signed-note key name: not empty, no ``+``, no whitespace."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"invalid signed-note key name: {name!r}")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 key under ``name``."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The key in Go's note verifier form, ``name+hex(key id)+base64(0x01 || public key)``."""
    encoded = base64.b64encode(ED25519_TYPE + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The tlog-checkpoint body: origin, tree size, base64 root hash, each line ending in \\n."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def signature_line(name: str, public_key: bytes, signature: bytes) -> str:
    """One signature line for a body signed by ``public_key``."""
    encoded = base64.b64encode(key_id(name, public_key) + signature).decode()
    return f"{EM_DASH} {name} {encoded}\n"


def note(body: str, name: str, public_key: bytes, signature: bytes) -> str:
    """The whole signed note: body, blank line, one signature line."""
    return f"{body}\n{signature_line(name, public_key, signature)}"


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint whose signature by the expected key verified."""

    origin: str
    size: int
    root: bytes
    text: str


def _split(text: str) -> tuple[str, list[str]]:
    if len(text) > MAX_NOTE or not text.endswith("\n"):
        raise NoteError("a note must end with a newline")
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not body:
        raise NoteError("a note needs a body, a blank line and signature lines")
    lines = signatures[:-1].split("\n")
    return body + "\n", lines


def parse_checkpoint(text: str, *, origin: str, name: str, public_key: bytes) -> Checkpoint:
    """Parse a checkpoint and check the signature of ``name``'s key; NoteError otherwise.

    Signature lines of other signers (witnesses, cosigners) are allowed and ignored, as the
    signed-note specification says; at least one line must be ours and verify.
    """
    body, lines = _split(text)
    parts = body[:-1].split("\n")
    if len(parts) < 3:
        raise NoteError("a checkpoint body needs an origin, a size and a root hash")
    if parts[0] != origin:
        raise NoteError(f"the checkpoint is for another log: {parts[0]!r}")
    if not _DECIMAL.fullmatch(parts[1]) or int(parts[1]) >= 2**64:
        raise NoteError("the checkpoint's tree size is not a decimal number")
    try:
        root = base64.b64decode(parts[2], validate=True)
    except binascii.Error as exc:
        raise NoteError("the checkpoint's root hash is not base64") from exc
    if len(root) != 32 or base64.b64encode(root).decode() != parts[2]:
        raise NoteError("the checkpoint's root hash is not 32 bytes in canonical base64")
    wanted = key_id(name, public_key)
    verified = False
    for line in lines:
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != EM_DASH:
            raise NoteError(f"malformed signature line: {line[:80]!r}")
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature is not base64") from exc
        if fields[1] != name or blob[:4] != wanted:
            continue
        if len(blob) != 4 + 64 or not verify_signature(public_key, body.encode(), blob[4:]):
            raise NoteError("the checkpoint's signature does not verify")
        verified = True
    if not verified:
        raise NoteError(f"the checkpoint is not signed by {name} with this service's key")
    return Checkpoint(parts[0], int(parts[1]), root, text)
