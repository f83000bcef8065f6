"""Retention: closed cases past their period are destroyed for good, with two people, never
under a legal hold; every other case stays whole; the audit log still verifies.

Also backup and restore through the real command: a backup taken before a destruction cannot
bring the destroyed case back, because the destruction rotated the master key and erased the
old one; a backup taken after restores every other case.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from shuttle import accounts, audit, backup, retention
from shuttle.bootstrap import initialise, open_runtime
from shuttle.crypto import MASTER_KEY_FILE, NEXT_MASTER_KEY_FILE, DecryptionError
from shuttle.errors import Forbidden, NotFound
from shuttle.models import DataKey
from shuttle.runtime import Runtime
from shuttle.settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings
from tests.scenario import PASSWORD, Scene, build_case
from tests.test_cli import PASSWORD as CLI_PASSWORD
from tests.test_cli import Cli, add_user, command_line, no_traceback

# Tables that may still name a destroyed case: the log, and the records of its destruction.
KEPT_TABLES = {"audit_entry", "audit_checkpoint", "case_destruction", "legal_hold"}


def zero_day_policies(folder: Path) -> Path:
    """The shipped policies with every retention period 0 days (so closed cases are due)."""
    target = folder / "policies"
    shutil.copytree(PROJECT_ROOT / "policies", target)
    path = target / "retention.toml"
    path.write_text(
        path.read_text()
        .replace("referral = 730", "referral = 0")
        .replace("case = 2190", "case = 0")
    )
    return target


@pytest.fixture
async def settings(data_dir: Path, database_url: str, tmp_path: Path) -> Settings:
    """This test's settings, with zero-day retention periods."""
    settings = make_settings(data_dir, database_url, policies_dir=zero_day_policies(tmp_path))
    await initialise(settings, migrate=False)
    return settings


async def close(scene: Scene) -> None:
    """The lead closes the case through the API."""
    path = f"/api/v1/cases/{scene.case_id}/state"
    await scene.api.call("POST", path, scene.lead, {"state": "closed"}, expect=200)


async def admins(runtime: Runtime) -> tuple[str, str]:
    """Two administrators' ids."""
    ids = []
    for name in ("first", "second"):
        email = f"{name}-admin@service.example"
        await accounts.add_user(runtime, role="admin", email=email, name=name, password=PASSWORD)
        ids.append(await retention.authenticate(runtime, email, PASSWORD))
    return ids[0], ids[1]


async def rows_naming(runtime: Runtime, case_id: str) -> dict[str, int]:
    """How many rows of each table (but the kept ones) mention ``case_id`` in any column."""
    found = {}
    async with runtime.read() as tx:
        connection = await tx.session.connection()

        def tables(sync: Any) -> list[str]:
            from sqlalchemy import inspect

            return sorted(inspect(sync).get_table_names())

        for table in await connection.run_sync(tables):
            if table in KEPT_TABLES or table == "alembic_version":
                continue
            rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()  # noqa: S608
            hits = sum(1 for row in rows if any(case_id in str(v) for v in row))
            if hits:
                found[table] = hits
    return found


async def test_run_destroys_approved_cases_only_and_leaves_the_rest_whole(
    client: Any, runtime: Runtime, settings: Settings
) -> None:
    """Two people, a hold respected; destroyed cases unreadable, every other case intact."""
    relayed = await build_case(client, runtime, tag="-a")
    letter = await relayed.write("rob", "ROB-WORDS-TO-DESTROY")
    await relayed.willing("sam")
    await relayed.decide(letter["id"])
    # Its case record and a request for records with a decision on a note: destroyed too.
    api, sam = relayed.api, relayed.people["sam"]
    note = {"kind": "note", "participant_id": sam.id, "text": "NOTE-TO-DESTROY"}
    _, entry = await api.call(
        "POST", f"/api/v1/cases/{relayed.case_id}/entries", relayed.lead, note, expect=201
    )
    _, asked_for = await api.call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201)
    await api.call(
        "PUT",
        f"/api/v1/disclosure-requests/{asked_for['id']}/decisions/{entry['id']}",
        relayed.lead,
        {"decision": "disclose"},
        expect=200,
    )
    await relayed.release(asked_for["id"])
    referral = await build_case(client, runtime, tag="-b")
    still_open = await build_case(client, runtime, tag="-c")
    kept_letter = await still_open.write("rob", "ROB-WORDS-TO-KEEP")
    held = await build_case(client, runtime, tag="-d")
    for scene in (relayed, referral, held):
        await close(scene)
    first, second = await admins(runtime)
    policy = retention.load_policy(settings.policies_dir)
    await retention.hold(runtime, first, held.case_id, "litigation")

    due = {d.case_id: d for d in await retention.review(runtime, policy)}
    assert set(due) == {relayed.case_id, referral.case_id, held.case_id}
    assert due[relayed.case_id].record_type == "case"
    assert due[referral.case_id].record_type == "referral" and due[held.case_id].held
    asked = await retention.request(runtime, policy, first)
    assert sorted(asked) == sorted([relayed.case_id, referral.case_id])
    assert await retention.approve(runtime, first) == ([], asked)  # not one's own request
    nothing = await retention.run(runtime, policy, settle_seconds=0)
    assert nothing.destroyed == [] and nothing.rotation is None
    approved, _ = await retention.approve(runtime, second)
    assert sorted(approved) == sorted(asked)
    old_key = (settings.data_dir / MASTER_KEY_FILE).read_bytes()

    result = await retention.run(runtime, policy, settle_seconds=0)

    assert sorted(result.destroyed) == sorted(asked)
    assert result.rotation is not None and result.rotation.rewrapped >= 3
    assert (settings.data_dir / MASTER_KEY_FILE).read_bytes() != old_key
    assert not (settings.data_dir / NEXT_MASTER_KEY_FILE).exists()
    key_files = sorted(p.name for p in settings.data_dir.iterdir() if "key" in p.name)
    assert key_files == ["audit-signing.key", MASTER_KEY_FILE]  # the old key is erased
    async with runtime.read() as tx:
        for table in ("case_entry", "disclosure_decision"):
            count = text(f"SELECT count(*) FROM {table}")  # noqa: S608  (two fixed names)
            left = (await (await tx.session.connection()).execute(count)).scalar_one()
            assert left == 0, table
    for scene in (relayed, referral):
        assert await rows_naming(runtime, scene.case_id) == {}
        async with runtime.read() as tx:
            with pytest.raises(NotFound):
                await tx.cipher(scene.case_id)
        status, _ = await scene.api.call("GET", f"/api/v1/cases/{scene.case_id}", scene.lead)
        assert status == 404
        for person in ("sam", "rob"):
            status, _ = await scene.api.call(
                "POST",
                "/api/v1/session",
                body={"email": f"{person}{'-a' if scene is relayed else '-b'}@people.example",
                      "password": PASSWORD},
            )  # fmt: skip
            assert status == 401
    async with runtime.read() as tx:
        stats = (
            await (await tx.session.connection()).execute(
                text("SELECT statistics FROM case_destruction WHERE case_id = :c"),
                {"c": relayed.case_id},
            )
        ).scalar_one()
        assert json.loads(stats)["relayed"] == 1 and json.loads(stats)["participants"] == 2
        assert (await audit.verify(tx)).ok
        for row in (await tx.session.exec(select(DataKey))).all():
            tx.keys.cipher(row.id, row.wrapped, row.master_key_id)  # every other key unwraps

    # The open and the held case: as whole as before, through the real API.
    for scene in (still_open, held):
        _, case = await scene.api.call(
            "GET", f"/api/v1/cases/{scene.case_id}", scene.lead, expect=200
        )
        assert case["reference"] == "RJ-TEST-1"
    _, item = await still_open.api.call(
        "GET", f"/api/v1/items/{kept_letter['id']}", still_open.people["rob"].token, expect=200
    )
    assert "ROB-WORDS-TO-KEEP" in json.dumps(item)
    # Lifting the hold makes the held case due again; it still needs two people.
    await retention.lift(runtime, second, held.case_id)
    assert await retention.request(runtime, policy, second) == [held.case_id]
    with pytest.raises(Forbidden):
        await retention.authenticate(runtime, "first-admin@service.example", "wrong password!")


# --- the command line, backups and restores ----------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, backend: str, empty_database_url: str) -> Cli:
    """The real command, its own data directory and database, zero-day retention."""
    found = command_line(tmp_path, backend, empty_database_url)
    found.env["SHUTTLE_POLICIES_DIR"] = str(zero_day_policies(tmp_path))
    return found


def cli_settings(cli: Cli) -> Settings:
    """Settings for the command's data directory and database."""
    return make_settings(cli.data_dir, cli.database_url)


async def read_case(cli: Cli, case_id: str) -> str:
    """The case's reference, decrypted with the key files as they are now."""
    runtime = open_runtime(cli_settings(cli))
    try:
        async with runtime.read() as tx:
            cipher = await tx.cipher(case_id)
            blob = (
                await (await tx.session.connection()).execute(
                    text("SELECT reference_enc FROM case_record WHERE id = :c"), {"c": case_id}
                )
            ).scalar_one()
            return cipher.open(blob, row=f"case:{case_id}", field="reference")
    finally:
        await runtime.db.dispose()


async def test_backup_before_destruction_cannot_bring_the_case_back(
    cli: Cli, tmp_path: Path
) -> None:
    """Back up, destroy (rotating the key), restore the old backup: the case stays unreadable."""
    assert (await cli.run("init")).code == 0
    for _ in range(2):
        assert (await cli.run("demo")).code == 0
    first = await add_user(cli, "one@service.example", "admin")
    await add_user(cli, "two@service.example", "manager")
    assert first
    doomed, kept = [r[0] for r in await cli.query("SELECT id FROM case_record ORDER BY id")]
    reference = await read_case(cli, kept)
    assert await read_case(cli, doomed)
    before = tmp_path / "before.backup"
    ran = await cli.run("backup", str(before))
    assert ran.code == 0, ran
    await cli.query("UPDATE case_record SET state = 'closed' WHERE id = :c", c=doomed)

    asked = await cli.run(
        "retention", "request", "--as", "one@service.example", "--password-stdin",
        stdin=CLI_PASSWORD + "\n",
    )  # fmt: skip
    assert asked.code == 0 and "asked to destroy 1 cases" in asked.out, asked
    own = await cli.run(
        "retention", "approve", "--as", "one@service.example", "--password-stdin",
        stdin=CLI_PASSWORD + "\n",
    )  # fmt: skip
    assert "approved 0" in own.out and "your own" in own.err
    dry = await cli.run("retention", "run", "--dry-run")
    assert dry.code == 0 and dry.out == "" and "0 cases would be destroyed" in dry.err
    ok = await cli.run(
        "retention", "approve", "--as", "two@service.example", "--password-stdin",
        stdin=CLI_PASSWORD + "\n",
    )  # fmt: skip
    assert "approved 1" in ok.out
    dry = await cli.run("retention", "run", "--dry-run")
    assert json.loads(dry.out)["case"] == doomed
    ran = await cli.run("retention", "run")
    assert ran.code == 0 and "destroyed 1 cases" in ran.out, ran
    assert "Destroying cases" in ran.err and "take a new backup" in ran.out
    after = tmp_path / "after.backup"
    assert (await cli.run("backup", str(after))).code == 0

    restored = await cli.run("restore", "--yes", str(before))
    assert restored.code == 0 and "cannot be read" in restored.err, restored
    no_traceback(restored)
    # The restored rows are all there, wrapped under a master key that no longer exists.
    assert await cli.query("SELECT id FROM case_record WHERE id = :c", c=doomed)
    for case_id in (doomed, kept):
        with pytest.raises(DecryptionError):
            await read_case(cli, case_id)

    restored = await cli.run("restore", "--yes", str(after))
    assert restored.code == 0 and restored.err == "", restored
    assert await read_case(cli, kept) == reference
    assert not await cli.query("SELECT id FROM case_record WHERE id = :c", c=doomed)
    verified = await cli.run("audit", "verify")
    assert verified.code == 0, verified
    runtime = open_runtime(cli_settings(cli))
    try:
        found = await backup.readability(runtime)
        assert not found.unreadable and found.readable >= 2
    finally:
        await runtime.db.dispose()
