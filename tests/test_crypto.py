"""Tests for shuttle.crypto, using real cryptography throughout."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuttle.crypto import (
    MASTER_KEY_FILE,
    SIGNING_KEY_FILE,
    DataCipher,
    DecryptionError,
    KeyFileError,
    KeyRing,
    MasterKey,
    SigningKey,
    create_key_files,
    new_data_key,
    verify_signature,
)

KEY_FILES = [MASTER_KEY_FILE, SIGNING_KEY_FILE]


def _cipher(slot_id: str = "case-1") -> DataCipher:
    return DataCipher(slot_id, new_data_key())


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _created(data_dir: Path) -> Path:
    create_key_files(data_dir)
    return data_dir


def _write_file(path: Path, content: bytes, mode: int) -> None:
    # Create with the mode directly, so the test does not depend on the umask.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.chmod(path, mode)


# --- DataCipher --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "Mae'r ŵyl yn y dŷ; diolch yn fawr — ŷ ŵ â ê",
        "emoji 🙂 and CJK 漢字",
        "x" * 10_000,
    ],
)
def test_seal_open_round_trip(text: str) -> None:
    cipher = _cipher()
    blob = cipher.seal(text, row="message:1", field="body")
    assert cipher.open(blob, row="message:1", field="body") == text


@given(st.text())
def test_seal_open_round_trip_any_text(text: str) -> None:
    cipher = _cipher()
    assert cipher.open(cipher.seal(text, row="r", field="f"), row="r", field="f") == text


def test_ciphertext_differs_each_time() -> None:
    cipher = _cipher()
    blobs = {cipher.seal("same text", row="r", field="f") for _ in range(20)}
    assert len(blobs) == 20
    assert len({blob[:12] for blob in blobs}) == 20  # fresh nonce each time


def test_ciphertext_does_not_contain_plaintext() -> None:
    blob = _cipher().seal("a very secret sentence", row="r", field="f")
    assert b"secret" not in blob


def test_open_with_other_row_field_or_slot_fails() -> None:
    key = new_data_key()
    cipher = DataCipher("case-1", key)
    blob = cipher.seal("text", row="message:1", field="body")
    with pytest.raises(DecryptionError):
        cipher.open(blob, row="message:2", field="body")
    with pytest.raises(DecryptionError):
        cipher.open(blob, row="message:1", field="subject")
    with pytest.raises(DecryptionError):
        DataCipher("case-2", key).open(blob, row="message:1", field="body")
    with pytest.raises(DecryptionError):
        DataCipher("case-1", new_data_key()).open(blob, row="message:1", field="body")


def test_swapping_two_rows_blobs_fails() -> None:
    cipher = _cipher()
    blob_a = cipher.seal("from A", row="message:1", field="body")
    blob_b = cipher.seal("from B", row="message:2", field="body")
    with pytest.raises(DecryptionError):
        cipher.open(blob_b, row="message:1", field="body")
    with pytest.raises(DecryptionError):
        cipher.open(blob_a, row="message:2", field="body")


@given(data=st.data(), text=st.text(max_size=40))
def test_any_flipped_byte_fails(data: st.DataObject, text: str) -> None:
    cipher = _cipher()
    blob = cipher.seal(text, row="r", field="f")
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="position")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    tampered = bytearray(blob)
    tampered[position] ^= mask
    with pytest.raises(DecryptionError):
        cipher.open(bytes(tampered), row="r", field="f")


@pytest.mark.parametrize("length", [0, 1, 12, 27])
def test_too_short_blob_fails(length: int) -> None:
    with pytest.raises(DecryptionError):
        _cipher().open(b"\x00" * length, row="r", field="f")


def test_truncated_blob_fails() -> None:
    cipher = _cipher()
    blob = cipher.seal("some text", row="r", field="f")
    with pytest.raises(DecryptionError):
        cipher.open(blob[:-1], row="r", field="f")


def test_separator_in_names_is_rejected() -> None:
    # "|" would make row "a|b" + field "c" indistinguishable from row "a" + field "b|c".
    cipher = _cipher()
    with pytest.raises(ValueError):
        cipher.seal("x", row="a|b", field="c")
    with pytest.raises(ValueError):
        cipher.seal("x", row="a", field="b|c")
    with pytest.raises(ValueError):
        DataCipher("case|1", new_data_key())


def test_wrong_size_data_key_rejected() -> None:
    with pytest.raises(ValueError):
        DataCipher("case-1", b"\x00" * 16)


def test_json_round_trip_and_canonical_form() -> None:
    cipher = _cipher()
    value = {"b": [1, 2, {"z": None}], "a": "Llanelli ŵ", "c": True}
    blob = cipher.seal_json(value, row="r", field="meta")
    assert cipher.open_json(blob, row="r", field="meta") == value
    # Canonical: sorted keys, no spaces, non-ASCII kept as-is.
    assert cipher.open(blob, row="r", field="meta") == (
        '{"a":"Llanelli ŵ","b":[1,2,{"z":null}],"c":true}'
    )
    with pytest.raises(DecryptionError):
        cipher.open_json(blob, row="r", field="other")


def test_lookup_hash_stable_per_key_and_different_across_keys() -> None:
    key = new_data_key()
    one = DataCipher("users", key)
    same_key = DataCipher("users", key)
    other = DataCipher("users", new_data_key())
    digest = one.lookup_hash("alice@example.org")
    assert digest == one.lookup_hash("alice@example.org")
    assert digest == same_key.lookup_hash("alice@example.org")
    assert digest != other.lookup_hash("alice@example.org")
    assert digest != one.lookup_hash("bob@example.org")
    assert len(digest) == 64
    int(digest, 16)  # hex


def test_repr_does_not_leak_keys() -> None:
    key = new_data_key()
    assert key.hex() not in repr(DataCipher("case-1", key))
    master = MasterKey.from_key(new_data_key())
    assert master.key.hex() not in repr(master)
    assert master.key_id in repr(master)


# --- MasterKey wrapping ------------------------------------------------------------------


def test_master_key_id_format() -> None:
    master = MasterKey.from_key(new_data_key())
    assert len(master.key_id) == 16
    int(master.key_id, 16)
    with pytest.raises(ValueError):
        MasterKey(key_id="0" * 16, key=master.key)


def test_wrap_unwrap_round_trip() -> None:
    master = MasterKey.from_key(new_data_key())
    data_key = new_data_key()
    wrapped = master.wrap("case-1", data_key)
    assert len(wrapped) == 12 + 32 + 16
    assert data_key not in wrapped
    assert master.unwrap("case-1", wrapped) == data_key
    assert master.wrap("case-1", data_key) != wrapped  # random nonce


def test_unwrap_with_other_slot_or_master_fails() -> None:
    master = MasterKey.from_key(new_data_key())
    wrapped = master.wrap("case-1", new_data_key())
    with pytest.raises(DecryptionError):
        master.unwrap("case-2", wrapped)
    with pytest.raises(DecryptionError):
        MasterKey.from_key(new_data_key()).unwrap("case-1", wrapped)


def test_unwrap_tampered_or_short_fails() -> None:
    master = MasterKey.from_key(new_data_key())
    wrapped = bytearray(master.wrap("case-1", new_data_key()))
    wrapped[20] ^= 1
    with pytest.raises(DecryptionError):
        master.unwrap("case-1", bytes(wrapped))
    with pytest.raises(DecryptionError):
        master.unwrap("case-1", b"short")


def test_wrap_rejects_wrong_size_key() -> None:
    with pytest.raises(ValueError):
        MasterKey.from_key(new_data_key()).wrap("case-1", b"\x01" * 31)


# --- key files ---------------------------------------------------------------------------


def test_create_key_files_modes(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    assert create_key_files(data_dir) is True
    assert _mode(data_dir) == 0o700
    for name in KEY_FILES:
        assert _mode(data_dir / name) == 0o600
        assert (data_dir / name).stat().st_size == 32
    # No temporary files left behind.
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(KEY_FILES)


def test_create_key_files_never_overwrites(tmp_path: Path) -> None:
    assert create_key_files(tmp_path / "d") is True
    before = {name: (tmp_path / "d" / name).read_bytes() for name in KEY_FILES}
    assert create_key_files(tmp_path / "d") is False
    after = {name: (tmp_path / "d" / name).read_bytes() for name in KEY_FILES}
    assert before == after


def test_create_key_files_fills_in_only_missing(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    create_key_files(data_dir)
    master_before = (data_dir / MASTER_KEY_FILE).read_bytes()
    signing_before = (data_dir / SIGNING_KEY_FILE).read_bytes()
    (data_dir / SIGNING_KEY_FILE).unlink()
    assert create_key_files(data_dir) is True
    assert (data_dir / MASTER_KEY_FILE).read_bytes() == master_before
    assert (data_dir / SIGNING_KEY_FILE).read_bytes() != signing_before
    assert _mode(data_dir / SIGNING_KEY_FILE) == 0o600


def test_keys_differ_between_installations(tmp_path: Path) -> None:
    create_key_files(tmp_path / "a")
    create_key_files(tmp_path / "b")
    for name in KEY_FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_load_created_keys(tmp_path: Path) -> None:
    create_key_files(tmp_path)
    master = MasterKey.load(tmp_path)
    assert master.key == (tmp_path / MASTER_KEY_FILE).read_bytes()
    assert MasterKey.load(tmp_path).key_id == master.key_id
    signing = SigningKey.load(tmp_path)
    assert signing.public_key_bytes() == SigningKey.load(tmp_path).public_key_bytes()


@pytest.mark.parametrize("name", KEY_FILES)
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_load_rejects_group_or_other_access(tmp_path: Path, name: str, mode: int) -> None:
    create_key_files(tmp_path)
    os.chmod(tmp_path / name, mode)
    with pytest.raises(KeyFileError):
        KeyRing.load(tmp_path)


@pytest.mark.parametrize("name", KEY_FILES)
@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_load_rejects_wrong_size(tmp_path: Path, name: str, size: int) -> None:
    create_key_files(tmp_path)
    (tmp_path / name).unlink()
    _write_file(tmp_path / name, b"\x07" * size, 0o600)
    with pytest.raises(KeyFileError):
        KeyRing.load(tmp_path)


@pytest.mark.parametrize("name", KEY_FILES)
def test_load_rejects_missing_file(tmp_path: Path, name: str) -> None:
    create_key_files(tmp_path)
    (tmp_path / name).unlink()
    with pytest.raises(KeyFileError):
        KeyRing.load(tmp_path)


def test_load_rejects_directory_in_place_of_key(tmp_path: Path) -> None:
    os.mkdir(tmp_path / MASTER_KEY_FILE, 0o700)
    with pytest.raises(KeyFileError):
        MasterKey.load(tmp_path)


# --- signing -----------------------------------------------------------------------------


def test_signature_verifies_and_fails_on_change(tmp_path: Path) -> None:
    create_key_files(tmp_path)
    signing = SigningKey.load(tmp_path)
    message = b"shuttle audit\n42\nroothash\n"
    signature = signing.sign(message)
    public = signing.public_key_bytes()
    assert len(public) == 32
    assert len(signature) == 64
    assert verify_signature(public, message, signature)
    assert not verify_signature(public, message + b"x", signature)
    assert not verify_signature(public, message, bytes([signature[0] ^ 1]) + signature[1:])
    other = SigningKey.load(_created(tmp_path / "other"))
    assert not verify_signature(other.public_key_bytes(), message, signature)
    assert not verify_signature(b"short", message, signature)


def test_key_name_hash(tmp_path: Path) -> None:
    signing = SigningKey.load(_created(tmp_path))
    expected = hashlib.sha256(b"shuttle.example/audit\n\x01" + signing.public_key_bytes()).digest()[
        :4
    ]
    assert signing.key_name_hash("shuttle.example/audit") == expected
    assert signing.key_name_hash("other") != expected
    with pytest.raises(ValueError):
        signing.key_name_hash("has space")
    with pytest.raises(ValueError):
        signing.key_name_hash("a+b")


# --- KeyRing -----------------------------------------------------------------------------


def test_keyring_new_slot_and_cipher(tmp_path: Path) -> None:
    ring = KeyRing.load(_created(tmp_path))
    wrapped, cipher = ring.new_slot("case-7")
    blob = cipher.seal("Rwy'n flin", row="message:1", field="body")

    again = ring.cipher("case-7", wrapped)
    assert again.open(blob, row="message:1", field="body") == "Rwy'n flin"
    assert ring.cipher("case-7", wrapped) is again  # served from the cache

    # A fresh ring (empty cache, keys reloaded from disk) unwraps the stored key too.
    fresh = KeyRing.load(tmp_path)
    assert fresh.cipher("case-7", wrapped).open(blob, row="message:1", field="body") == (
        "Rwy'n flin"
    )


def test_keyring_cipher_rejects_bad_wrapped_key(tmp_path: Path) -> None:
    ring = KeyRing.load(_created(tmp_path))
    wrapped, _ = ring.new_slot("case-7")
    with pytest.raises(DecryptionError):
        ring.cipher("case-8", wrapped)  # moved to another slot
    tampered = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    with pytest.raises(DecryptionError):
        ring.cipher("case-7", tampered)


def test_keyring_slots_have_independent_keys(tmp_path: Path) -> None:
    ring = KeyRing.load(_created(tmp_path))
    _, one = ring.new_slot("case-1")
    _, two = ring.new_slot("case-2")
    assert one.lookup_hash("x") != two.lookup_hash("x")


def test_keyring_cache_is_bounded_and_forgets(tmp_path: Path) -> None:
    ring = KeyRing.load(_created(tmp_path))
    wrapped, _ = ring.new_slot("first")
    first = ring.cipher("first", wrapped)
    for i in range(KeyRing.CACHE_SIZE):
        ring.new_slot(f"case-{i}")
    evicted = ring.cipher("first", wrapped)
    assert evicted is not first  # was evicted, so unwrapped again
    assert ring.cipher("first", wrapped) is evicted

    ring.forget("first")
    assert ring.cipher("first", wrapped) is not evicted
