"""Checkpoints and proofs: the C2SP text, one a day, the log only grew, entries are in it.

* The signed head is a C2SP tlog-checkpoint (signed note, Ed25519 key id as the spec says),
  checked here with ``cryptography`` directly, not through our own parser.
* The first change of each (UTC) day keeps a checkpoint; ``audit verify`` checks every kept
  one is genuine and extended by the log.
* ``shuttle audit checkpoint --export`` and ``shuttle audit verify --against`` (the real
  command): ok while the log only grows; refused for a log rolled back to an older copy, for
  another service's checkpoint, for a forged one.
* A disclosure package's proofs verify with its standalone script (run with ``python3 -I``);
  a changed entry, proof or key fails. The script's Ed25519 and inclusion code agree with
  ``cryptography``, with ``shuttle.merkle`` and with the transparency-dev vectors.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import random
import secrets
import shutil
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import text

from shuttle import accounts, audit, checkpoints, inclusion_verifier, signed_note
from shuttle.merkle import inclusion_proof, leaf_hash
from shuttle.runtime import Runtime
from tests.scenario import PASSWORD, build_case
from tests.test_cli import Cli, add_user, command_line, no_traceback

VECTORS = Path(__file__).resolve().parent / "vectors" / "merkle" / "testdata" / "inclusion"


async def _add(runtime: Runtime, n: int) -> None:
    for _ in range(n):
        email = f"p{secrets.token_hex(4)}@x.example"
        await accounts.add_user(
            runtime, role="practitioner", email=email, name="P", password=PASSWORD
        )


async def _kept(runtime: Runtime) -> list[tuple[int, int, str, str]]:
    async with runtime.read() as tx:
        rows = await (await tx.session.connection()).execute(
            text("SELECT id, size, reason, note FROM audit_checkpoint ORDER BY id")
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_head_is_an_exact_c2sp_checkpoint(runtime: Runtime) -> None:
    """Origin, size, base64 root, blank line, "— name base64(key id || Ed25519 signature)"."""
    await _add(runtime, 3)
    async with runtime.read() as tx:
        head = await tx.session.get(audit.AuditHead, 1)
        assert head is not None
        note = audit.head_note(tx, head)
        public = tx.keys.signing.public_key_bytes()
        assert signed_note.key_id(audit.KEY_NAME, public) == tx.keys.signing.key_name_hash(
            audit.KEY_NAME
        )
    root = base64.b64encode(bytes.fromhex(head.root_hash)).decode()
    body = f"shuttle.audit/v1\n{head.size}\n{root}\n"
    assert note.startswith(body + "\n\u2014 shuttle.audit/v1 ") and note.endswith("\n")
    assert note.count("\n") == 5
    blob = base64.b64decode(note.split(" ")[-1].strip(), validate=True)
    expected_id = hashlib.sha256(b"shuttle.audit/v1\n\x01" + public).digest()[:4]
    assert blob[:4] == expected_id and len(blob) == 68
    Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], body.encode())
    vkey = signed_note.verifier_key(audit.KEY_NAME, public)
    encoded = base64.b64encode(b"\x01" + public).decode()
    assert vkey == f"shuttle.audit/v1+{expected_id.hex()}+{encoded}"
    parsed = signed_note.parse_checkpoint(
        note, origin=audit.ORIGIN, name=audit.KEY_NAME, public_key=public
    )
    assert (parsed.size, parsed.root.hex()) == (head.size, head.root_hash)
    # A witness's extra signature line is allowed and ignored.
    other = Ed25519PrivateKey.generate()
    witnessed = note + signed_note.signature_line(
        "witness.example/w1", other.public_key().public_bytes_raw(), other.sign(body.encode())
    )
    signed_note.parse_checkpoint(
        witnessed, origin=audit.ORIGIN, name=audit.KEY_NAME, public_key=public
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda n: n.replace("shuttle.audit/v1\n", "other.log/v1\n", 1),
        lambda n: n.replace("\n\n", "\n", 1),
        lambda n: n.rstrip("\n"),
        lambda n: n.replace("\u2014", "-"),
        lambda n: n.split("\n", 2)[0] + "\n7\n" + n.split("\n", 2)[2],
        lambda n: n.replace("=\n\n", "A\n\n", 1),
        lambda n: n[:-6] + ("AAAA" if n[-6:-2] != "AAAA" else "BBBB") + n[-2:],
        lambda n: n.split("\n\n")[0] + "\n\n",
    ],
    ids=["origin", "no-blank", "no-newline", "dash", "size", "root", "signature", "unsigned"],
)
async def test_a_changed_checkpoint_is_refused(runtime: Runtime, change: Any) -> None:
    """Any change to the text, or a missing signature, and parse_checkpoint refuses it."""
    note = await checkpoints.take(runtime)
    async with runtime.read() as tx:
        public = tx.keys.signing.public_key_bytes()
    with pytest.raises(signed_note.NoteError):
        signed_note.parse_checkpoint(
            change(note), origin=audit.ORIGIN, name=audit.KEY_NAME, public_key=public
        )


async def test_first_change_of_each_day_keeps_a_checkpoint(runtime: Runtime) -> None:
    """One checkpoint on the day's first change, none on the next; a new day, a new one."""
    await _add(runtime, 2)
    kept = await _kept(runtime)
    assert [(size, reason) for _, size, reason, _ in kept] == [(1, "day")]
    async with runtime.write() as tx:
        yesterday = tx.now - timedelta(days=1)
        await (await tx.session.connection()).execute(
            text("UPDATE audit_checkpoint SET created_at = :t"), {"t": yesterday}
        )
    runtime.memo.checkpoint_day = yesterday.date()  # as the process remembered it yesterday
    await _add(runtime, 1)
    kept = await _kept(runtime)
    assert [(size, reason) for _, size, reason, _ in kept] == [(1, "day"), (3, "day")]
    note = await checkpoints.take(runtime)
    kept = await _kept(runtime)
    assert kept[-1][1:3] == (4, "demand") and kept[-1][3] == note
    async with runtime.read() as tx:
        assert (await audit.verify(tx)).ok


async def test_verify_checks_the_kept_checkpoints(runtime: Runtime) -> None:
    """A kept checkpoint that the log no longer extends, or that is forged, is a problem."""
    await _add(runtime, 3)
    await checkpoints.take(runtime)
    async with runtime.write() as tx:
        await (await tx.session.connection()).execute(
            text("UPDATE audit_checkpoint SET size = size + 1 WHERE id = 1")
        )
    async with runtime.read() as tx:
        result = await audit.verify(tx)
    assert not result.ok and any("disagree" in p for p in result.problems)
    async with runtime.write() as tx:
        await (await tx.session.connection()).execute(
            text("UPDATE audit_checkpoint SET size = size - 1 WHERE id = 1")
        )
        await (await tx.session.connection()).execute(
            text("UPDATE audit_checkpoint SET note = 'x' WHERE id = 2")
        )
    async with runtime.read() as tx:
        result = await audit.verify(tx)
    assert not result.ok and any("checkpoint 2" in p for p in result.problems)


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, backend: str, empty_database_url: str) -> Cli:
    """The real command with a data directory and database of this test's own."""
    return command_line(tmp_path, backend, empty_database_url)


async def test_cli_checkpoint_export_and_verify_against(cli: Cli, tmp_path: Path) -> None:
    """Export, grow, verify --against: ok; rolled back to an older copy or forged: exit 1."""
    assert (await cli.run("init")).code == 0
    await add_user(cli, "first@x.example")
    exported = tmp_path / "checkpoint.txt"
    ran = await cli.run("audit", "checkpoint", "--export", str(exported))
    assert ran.code == 0 and ran.out == exported.read_text(encoding="utf-8")
    early = ran.out
    key = (await cli.run("audit", "public-key")).out.strip()
    assert key.startswith("shuttle.audit/v1+")
    ok = await cli.run("audit", "verify", "--against", str(exported))
    assert ok.code == 0 and "extends the checkpoint of 2 entries" in ok.out, ok
    saved = await cli.query("SELECT seq, case_id, action, entry, leaf_hash FROM audit_entry")
    head = await cli.query("SELECT size, root_hash, frontier, signature FROM audit_head")
    for i in range(3):
        await add_user(cli, f"more{i}@x.example")
    later = tmp_path / "later.txt"
    assert (await cli.run("audit", "checkpoint", "--export", str(later))).code == 0
    ok = await cli.run("audit", "verify", "--against", str(exported))
    assert ok.code == 0 and "consistency proof of" in ok.out

    # Roll the log back to the earlier state (a consistent, genuinely signed older log).
    await cli.query("DELETE FROM audit_entry")
    await cli.query("DELETE FROM audit_checkpoint")
    for row in saved:
        await cli.query(
            "INSERT INTO audit_entry (seq, case_id, action, entry, leaf_hash)"
            " VALUES (:a, :b, :c, :d, :e)",
            a=row[0], b=row[1], c=row[2], d=row[3], e=row[4],
        )  # fmt: skip
    await cli.query(
        "UPDATE audit_head SET size = :a, root_hash = :b, frontier = :c, signature = :d",
        a=head[0][0], b=head[0][1], c=head[0][2], d=head[0][3],
    )  # fmt: skip
    assert (await cli.run("audit", "verify")).code == 0  # on its own it looks fine
    refused = await cli.run("audit", "verify", "--against", str(later))
    assert refused.code == 1 and "older copy of the database" in refused.err
    no_traceback(refused)
    assert (await cli.run("audit", "verify", "--against", str(exported))).code == 0

    other = Ed25519PrivateKey.generate()
    body = early.split("\n\n")[0] + "\n"
    forged = signed_note.note(
        body, audit.KEY_NAME, other.public_key().public_bytes_raw(), other.sign(body.encode())
    )
    exported.write_text(forged, encoding="utf-8")
    refused = await cli.run("audit", "verify", "--against", str(exported))
    assert refused.code == 1 and "cannot be used" in refused.err
    no_traceback(refused)


# --- inclusion proofs in the disclosure package --------------------------------------------


def test_inclusion_paths_match_the_rfc_proofs() -> None:
    """The many-at-once paths are exactly shuttle.merkle's RFC 9162 inclusion proofs."""
    for size in range(1, 70):
        leaves = [leaf_hash(str(i).encode()) for i in range(size)]
        paths = checkpoints.inclusion_paths(leaves, range(size))
        for index in range(size):
            assert paths[index] == inclusion_proof(index, leaves), (size, index)


def _vectors() -> list[Path]:
    return sorted(p for p in VECTORS.rglob("*.json"))


def test_the_standalone_verifier_agrees_with_the_vectors() -> None:
    """verify.py's inclusion check accepts every happy path and rejects every bad proof."""
    assert _vectors()
    for path in _vectors():
        case = json.loads(path.read_text())
        try:
            leaf = base64.b64decode(case["leafHash"] or "")
            proof = [base64.b64decode(p) for p in case["proof"] or []]
            root = base64.b64decode(case["root"] or "")
            ok = (
                inclusion_verifier.root_from_proof(leaf, case["leafIdx"], case["treeSize"], proof)
                == root
                and len(root) == 32
            )
        except (ValueError, TypeError):
            ok = False
        assert ok == (not case["wantErr"]), path


def test_the_standalone_ed25519_agrees_with_cryptography() -> None:
    """Plain-Python Ed25519 accepts genuine signatures and refuses changed ones."""
    generator = random.Random(6)
    for i in range(12):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        message = generator.randbytes(i * 7)
        signature = key.sign(message)
        assert inclusion_verifier.ed25519_verify(public, message, signature)
        bad = bytearray(signature)
        bad[generator.randrange(64)] ^= 1 << generator.randrange(8)
        assert not inclusion_verifier.ed25519_verify(public, message, bytes(bad))
        assert not inclusion_verifier.ed25519_verify(public, message + b"x", signature)


async def _script(folder: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", str(folder / "proofs" / "verify.py"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_package_proofs_verify_with_the_standalone_script(
    client: Any, runtime: Runtime, tmp_path: Path
) -> None:
    """The participant's process entries are proved to be in the signed log; changes fail."""
    scene = await build_case(client, runtime)
    api, sam = scene.api, scene.people["sam"].token
    _, request = await api.call("POST", "/api/v1/me/disclosure-requests", sam, expect=201)
    path = f"/api/v1/disclosure-requests/{request['id']}"
    await scene.release(request["id"])
    _, data = await api.call("GET", f"{path}/package", sam, expect=200)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp_path / "package")
        readme = archive.read("README.txt").decode()
        records = json.loads(archive.read("records.json"))
    folder = tmp_path / "package"
    assert "proofs/verify.py" in readme
    proofs_file = folder / "proofs" / "proofs.json"
    proofs = json.loads(proofs_file.read_text())
    seqs = [e["seq"] for e in records["process"]]
    assert seqs and [e["index"] for e in proofs["entries"]] == sorted(seqs)
    async with runtime.read() as tx:
        key = checkpoints.public_key(tx)
    code, out = await _script(folder, "--key", key)
    assert code == 0 and "all entries are in the log" in out, out

    original = proofs_file.read_text()
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    other_key = signed_note.verifier_key(audit.KEY_NAME, other)
    code, out = await _script(folder, "--key", other_key)
    assert code == 1 and "not signed with this key" in out
    changes = [
        lambda p: p["entries"][0].update(entry=p["entries"][0]["entry"].replace("case", "case ")),
        lambda p: p["entries"][-1].update(index=p["entries"][-1]["index"] + 1),
        lambda p: p["entries"][0]["proof"].reverse() or p["entries"][0]["proof"].append("A" * 44),
    ]
    for change in changes:
        tampered = json.loads(original)
        change(tampered)
        proofs_file.write_text(json.dumps(tampered))
        code, out = await _script(folder, "--key", key)
        assert code == 1 and "FAILED" in out, out
    shutil.rmtree(folder)
