"""Encryption at rest: the master key, wrapped per-case data keys, field ciphers and signing.

Design (see SECURITY.md):

* Every field is sealed with AES-256-GCM under a random 96-bit nonce, with associated data
  naming the slot, row and field, so a ciphertext copied to another row or field, or to
  another case, fails to decrypt instead of silently showing the wrong text.
* Each case (slot) has its own random 32-byte data key. It is stored only wrapped under the
  master key. Data keys are deliberately NOT derived from the master key: a derived key can
  always be rebuilt, so it could never be destroyed; deleting a random key's wrapped copy
  makes that case's data unreadable for good (crypto-shredding).
* The audit log's tree heads are signed with an Ed25519 key kept next to the master key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MASTER_KEY_FILE",
    "NEXT_MASTER_KEY_FILE",
    "SIGNING_KEY_FILE",
    "DataCipher",
    "DecryptionError",
    "KeyFileError",
    "KeyRing",
    "MasterKey",
    "SigningKey",
    "create_key_files",
    "create_next_master_key",
    "fsync_dir",
    "new_data_key",
    "verify_signature",
]

MASTER_KEY_FILE = "master.key"
# While `shuttle keys rotate` runs, the new master key waits here; new data keys are wrapped
# under it at once, and it replaces master.key when every data key has been re-wrapped.
NEXT_MASTER_KEY_FILE = "master.key.next"
SIGNING_KEY_FILE = "audit-signing.key"

KEY_SIZE = 32  # AES-256 and Ed25519 seeds are both 32 bytes.
NONCE_SIZE = 12  # 96-bit GCM nonce: the size GCM is designed and analysed for.
TAG_SIZE = 16
_MIN_BLOB = NONCE_SIZE + TAG_SIZE

_KEY_ID_PREFIX = b"shuttle master key id"
_WRAP_AD_PREFIX = b"shuttle-key-wrap|"
_LOOKUP_INFO = b"shuttle lookup v1"
# "|" separates the parts of the associated data; refusing it inside the parts keeps the
# encoding unambiguous (row "a|b" + field "c" must not equal row "a" + field "b|c").
_AD_SEPARATOR = "|"


class DecryptionError(Exception):
    """Ciphertext failed authentication (tampered, moved between rows, or wrong key)."""


class KeyFileError(Exception):
    """A key file is missing, unreadable, has the wrong size, or is readable by others."""


def _check_ad_part(kind: str, value: str) -> None:
    """Reject an associated-data component that would make the encoding ambiguous."""
    if _AD_SEPARATOR in value:
        raise ValueError(f"{kind} must not contain {_AD_SEPARATOR!r}: {value!r}")


# --- key files -------------------------------------------------------------------------


def _write_new_key_file(path: Path, content: bytes) -> bool:
    """Atomically create path holding content (mode 0600); False if it already exists."""
    # Write to a private temporary name first, then hard-link it into place: link() is
    # atomic and, unlike rename(), refuses to replace an existing file. So a crash never
    # leaves a half-written key under the real name, and an existing key is never
    # overwritten, even if two processes race to create it.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL + mode 0o600 at creation: the key is never visible with wider permissions,
    # which a chmod after writing could not guarantee.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            view = memoryview(content)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry so a newly created key survives a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (after a key file was renamed or removed)."""
    _fsync_dir(directory)


def create_next_master_key(data_dir: Path) -> bool:
    """Create ``master.key.next`` (0600) to rotate to, unless it exists. True if it did."""
    path = data_dir / NEXT_MASTER_KEY_FILE
    return not path.exists() and _write_new_key_file(path, new_data_key())


def create_key_files(data_dir: Path) -> bool:
    """Create data_dir (0700) and any missing master/signing key file (0600); never overwrite."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Mode given at creation, not chmod'ed later, for the same reason as the key files.
    with contextlib.suppress(FileExistsError):
        os.mkdir(data_dir, 0o700)

    created = False
    master_path = data_dir / MASTER_KEY_FILE
    if not master_path.exists() and _write_new_key_file(master_path, new_data_key()):
        created = True
    signing_path = data_dir / SIGNING_KEY_FILE
    if not signing_path.exists():
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        if _write_new_key_file(signing_path, seed):
            created = True
    return created


def _read_key_file(path: Path) -> bytes:
    """Read a 32-byte key file, refusing one that group or others could access."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {path}: {exc.strerror}") from exc
    try:
        # fstat the open descriptor rather than stat the path, so the file checked is
        # the file read even if the path is swapped in between.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise KeyFileError(
                f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}; "
                "it must not be accessible to group or others (use 0600)"
            )
        # Read one byte more than needed so an over-long file is caught too.
        data = os.read(fd, KEY_SIZE + 1)
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    if len(data) != KEY_SIZE:
        raise KeyFileError(f"key file {path} must hold exactly {KEY_SIZE} bytes")
    return data


# --- master key and data keys ----------------------------------------------------------


def _master_key_id(key: bytes) -> str:
    """Name a master key by a hash, so logs and wrapped keys can say which key without it."""
    return hashlib.sha256(_KEY_ID_PREFIX + key).hexdigest()[:16]


def _aead_open(aead: AESGCM, blob: bytes, ad: bytes) -> bytes:
    """Split nonce||ciphertext and decrypt, turning every failure into DecryptionError."""
    if len(blob) < _MIN_BLOB:
        raise DecryptionError("ciphertext is too short")
    try:
        return aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], ad)
    except InvalidTag:
        raise DecryptionError("ciphertext failed authentication") from None


def _aead_seal(aead: AESGCM, plaintext: bytes, ad: bytes) -> bytes:
    """Encrypt under a fresh random nonce and return nonce||ciphertext||tag."""
    # A random nonce per message (rather than a counter) needs no state shared between
    # processes; at 96 bits it is safe for far more messages than one key will ever see.
    nonce = os.urandom(NONCE_SIZE)
    return nonce + aead.encrypt(nonce, plaintext, ad)


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return os.urandom(KEY_SIZE)


@dataclass(frozen=True)
class MasterKey:
    """The service's master key, used only to wrap and unwrap per-slot data keys."""

    key_id: str
    # repr=False: a stray log line or traceback must never print the key.
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Check the key size and that key_id really names this key."""
        if len(self.key) != KEY_SIZE:
            raise ValueError(f"master key must be {KEY_SIZE} bytes")
        if not hmac.compare_digest(self.key_id, _master_key_id(self.key)):
            raise ValueError("key_id does not match the master key")

    @classmethod
    def from_key(cls, key: bytes) -> MasterKey:
        """Build a MasterKey from raw key bytes, computing its key id."""
        return cls(key_id=_master_key_id(key), key=key)

    @classmethod
    def load(cls, data_dir: Path, name: str = MASTER_KEY_FILE) -> MasterKey:
        """Load the master key file from data_dir; KeyFileError if missing, wrong or exposed."""
        return cls.from_key(_read_key_file(data_dir / name))

    def _wrap_ad(self, slot_id: str) -> bytes:
        """Associated data binding a wrapped key to its slot and to this master key."""
        _check_ad_part("slot_id", slot_id)
        return _WRAP_AD_PREFIX + slot_id.encode() + b"|" + self.key_id.encode()

    def wrap(self, slot_id: str, data_key: bytes) -> bytes:
        """Encrypt a data key for storage: nonce(12) || ciphertext+tag."""
        if len(data_key) != KEY_SIZE:
            raise ValueError(f"data key must be {KEY_SIZE} bytes")
        return _aead_seal(AESGCM(self.key), data_key, self._wrap_ad(slot_id))

    def unwrap(self, slot_id: str, wrapped: bytes) -> bytes:
        """Decrypt a wrapped data key; DecryptionError if it was not wrapped for this slot."""
        data_key = _aead_open(AESGCM(self.key), wrapped, self._wrap_ad(slot_id))
        if len(data_key) != KEY_SIZE:
            # Authenticated but the wrong size: only possible if something other than
            # wrap() produced it, so treat it as unusable rather than crash later.
            raise DecryptionError("wrapped data key has the wrong size")
        return data_key


class DataCipher:
    """Encrypts fields of one case (or of the service's own records) with that slot's data key."""

    __slots__ = ("_aead", "_lookup_key", "slot_id")

    def __init__(self, slot_id: str, data_key: bytes) -> None:
        """Prepare a cipher for slot_id; the raw data key itself is not kept on the object."""
        _check_ad_part("slot_id", slot_id)
        if len(data_key) != KEY_SIZE:
            raise ValueError(f"data key must be {KEY_SIZE} bytes")
        self.slot_id = slot_id
        self._aead = AESGCM(data_key)
        # A separate key for the blind index, so HMAC and GCM never share a key; it is
        # derived from the data key, so destroying the data key destroys it too.
        self._lookup_key = HKDF(
            algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_LOOKUP_INFO
        ).derive(data_key)

    def __repr__(self) -> str:
        """Show the slot only, never key material."""
        return f"DataCipher(slot_id={self.slot_id!r})"

    def _ad(self, row: str, field: str) -> bytes:
        """Associated data naming slot, row and field, so a blob only opens where it was sealed."""
        _check_ad_part("row", row)
        _check_ad_part("field", field)
        return f"{self.slot_id}|{row}|{field}".encode()

    def seal(self, plaintext: str, *, row: str, field: str) -> bytes:
        """Encrypt text for one row's field; returns nonce||ciphertext||tag."""
        return _aead_seal(self._aead, plaintext.encode("utf-8"), self._ad(row, field))

    def open(self, blob: bytes, *, row: str, field: str) -> str:
        """Decrypt a blob sealed for this row and field; DecryptionError otherwise."""
        data = _aead_open(self._aead, blob, self._ad(row, field))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # Authentic but not text: it was not produced by seal(), so refuse it.
            raise DecryptionError("decrypted field is not valid UTF-8") from None

    def seal_json(self, value: object, *, row: str, field: str) -> bytes:
        """Encrypt a JSON-serialisable value in canonical form."""
        # allow_nan=False: NaN/Infinity are not JSON, and other readers would reject them.
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return self.seal(text, row=row, field=field)

    def open_json(self, blob: bytes, *, row: str, field: str) -> Any:
        """Decrypt and parse a value sealed with seal_json."""
        return json.loads(self.open(blob, row=row, field=field))

    def lookup_hash(self, value: str) -> str:
        """Blind index of value (hex HMAC-SHA256): find rows without storing value in clear."""
        return hmac.new(self._lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


# --- signing ---------------------------------------------------------------------------


class SigningKey:
    """The Ed25519 key that signs the audit log's tree heads."""

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap an Ed25519 private key."""
        self._private = private_key
        self._public = private_key.public_key().public_bytes_raw()

    def __repr__(self) -> str:
        """Show the public key only."""
        return f"SigningKey(public_key={self._public.hex()})"

    @classmethod
    def load(cls, data_dir: Path) -> SigningKey:
        """Load the raw Ed25519 key file; KeyFileError as for MasterKey.load."""
        seed = _read_key_file(data_dir / SIGNING_KEY_FILE)
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of message."""
        return self._private.sign(message)

    def public_key_bytes(self) -> bytes:
        """Return the raw 32-byte public key."""
        return self._public

    def key_name_hash(self, name: str) -> bytes:
        """C2SP signed-note key id: first 4 bytes of SHA-256(name || "\\n" || 0x01 || pubkey)."""
        # The signed-note format forbids empty names, "+" and whitespace in key names.
        if not name or "+" in name or any(ch.isspace() for ch in name):
            raise ValueError(f"invalid signed-note key name: {name!r}")
        return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + self._public).digest()[:4]


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return True if signature is a valid Ed25519 signature of message under public_key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        # ValueError: a malformed public key; to a verifier that is just "not valid".
        return False
    return True


# --- key ring --------------------------------------------------------------------------


class KeyRing:
    """The master key plus a small cache of unwrapped data keys."""

    CACHE_SIZE = 1024

    def __init__(
        self, master: MasterKey, signing: SigningKey, data_dir: Path | None = None
    ) -> None:
        """Hold the master and signing keys with an empty cipher cache.

        With ``data_dir``, the ring follows a key rotation run by another process: it wraps
        new data keys under the next master key as soon as one exists, and loads the key
        files again when it meets a data key wrapped under a master key it does not hold.
        """
        self.master = master
        self.signing = signing
        self._data_dir = data_dir
        self._masters: dict[str, MasterKey] = {master.key_id: master}
        # Nothing seen yet: the first refresh() loads whatever key files there are.
        self._seen: tuple[tuple[int, int], ...] = ()
        # LRU keyed by (slot_id, wrapped bytes): keying on the wrapped bytes means a changed
        # or tampered wrapped key is unwrapped (and checked) afresh, never served from cache.
        self._cache: OrderedDict[tuple[str, bytes], DataCipher] = OrderedDict()
        # Ciphers may be requested from worker threads (asyncio.to_thread) as well.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        """Name the master key by id only."""
        return f"KeyRing(master_key_id={self.master.key_id!r})"

    @classmethod
    def load(cls, data_dir: Path) -> KeyRing:
        """Load both keys from data_dir (the next master key too, mid-rotation)."""
        ring = cls(MasterKey.load(data_dir), SigningKey.load(data_dir), data_dir)
        ring.refresh()
        return ring

    def _stamp(self) -> tuple[tuple[int, int], ...]:
        """Which key files exist now, by inode and change time: cheap to compare."""
        if self._data_dir is None:
            return ()
        stamps = []
        for name in (MASTER_KEY_FILE, NEXT_MASTER_KEY_FILE):
            try:
                info = os.stat(self._data_dir / name)
            except FileNotFoundError:
                stamps.append((0, 0))
            else:
                stamps.append((info.st_ino, info.st_mtime_ns))
        return tuple(stamps)

    def refresh(self) -> None:
        """Load the key files again if they changed: a rotation began or finished."""
        stamp = self._stamp()
        if self._data_dir is None or stamp == self._seen:
            return
        current = MasterKey.load(self._data_dir)
        with self._lock:
            self._masters[current.key_id] = current
        if stamp[1] != (0, 0):
            current = MasterKey.load(self._data_dir, NEXT_MASTER_KEY_FILE)
            with self._lock:
                self._masters[current.key_id] = current
        self.master, self._seen = current, stamp

    def master_for(self, key_id: str) -> MasterKey:
        """The master key with ``key_id``; DecryptionError if neither file holds it."""
        found = self._masters.get(key_id)
        if found is None:
            self.refresh()
            found = self._masters.get(key_id)
        if found is None:
            raise DecryptionError(f"no master key {key_id} is available")
        return found

    def forget_master(self, key_id: str) -> None:
        """Drop a retired master key from memory (after a rotation erased its file)."""
        with self._lock:
            if key_id != self.master.key_id:
                self._masters.pop(key_id, None)
                self._cache.clear()

    def _remember(self, cache_key: tuple[str, bytes], cipher: DataCipher) -> None:
        """Insert into the LRU cache, evicting the least recently used entry when full."""
        with self._lock:
            self._cache[cache_key] = cipher
            self._cache.move_to_end(cache_key)
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)

    def cipher(self, slot_id: str, wrapped: bytes, master_key_id: str | None = None) -> DataCipher:
        """Return the cipher for a slot's wrapped data key; DecryptionError if it won't unwrap.

        ``master_key_id`` names the key it was wrapped under (the row says); the current one
        if not given.
        """
        cache_key = (slot_id, bytes(wrapped))
        with self._lock:
            cached = self._cache.get(cache_key)
            if cached is not None:
                self._cache.move_to_end(cache_key)
                return cached
        master = self.master if master_key_id is None else self.master_for(master_key_id)
        cipher = DataCipher(slot_id, master.unwrap(slot_id, wrapped))
        self._remember(cache_key, cipher)
        return cipher

    def new_slot(self, slot_id: str) -> tuple[bytes, DataCipher]:
        """Create a random data key for a new slot; returns (wrapped key to store, cipher).

        It is wrapped under ``self.master`` as it is on return: the next master key while a
        rotation runs, so that the rotation never misses it.
        """
        self.refresh()
        data_key = new_data_key()
        wrapped = self.master.wrap(slot_id, data_key)
        cipher = DataCipher(slot_id, data_key)
        self._remember((slot_id, wrapped), cipher)
        return wrapped, cipher

    def forget(self, slot_id: str) -> None:
        """Drop cached ciphers for a slot, e.g. when its data key is destroyed."""
        # Without this, a shredded case's key would live on in memory until evicted.
        with self._lock:
            for cache_key in [k for k in self._cache if k[0] == slot_id]:
                del self._cache[cache_key]
