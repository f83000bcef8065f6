"""The real ``shuttle`` command, run as a subprocess: init, users add, audit verify, demo, serve.

Each test gets a data directory of its own (``SHUTTLE_DATA_DIR``) and, on PostgreSQL, a fresh
database that was never migrated (``SHUTTLE_DATABASE_URL``); on SQLite the command uses its
default database inside the data directory. Nothing else of the environment counts.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shuttle import accounts, mfa, totp
from shuttle.bootstrap import open_runtime
from shuttle.crypto import MASTER_KEY_FILE, SIGNING_KEY_FILE
from shuttle.demo import LETTER
from tests import authenticator
from tests.conftest import make_settings

SHUTTLE = Path(sys.executable).with_name("shuttle")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Ran:
    """What a finished command did."""

    code: int
    out: str
    err: str


@dataclass
class Cli:
    """The command line with this test's data directory and database."""

    data_dir: Path
    database_url: str  # what the command uses, explicit or the SQLite default
    env: dict[str, str]

    async def run(self, *args: str, stdin: str | None = None, umask: int | None = None) -> Ran:
        """Run ``shuttle *args`` to completion."""
        process = await asyncio.create_subprocess_exec(
            str(SHUTTLE),
            *args,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            umask=-1 if umask is None else umask,
        )
        out, err = await asyncio.wait_for(process.communicate((stdin or "").encode()), timeout=120)
        assert process.returncode is not None
        return Ran(process.returncode, out.decode(), err.decode())

    async def query(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows from the command's database, read directly."""
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return [tuple(row) for row in result.all()] if result.returns_rows else []
        finally:
            await engine.dispose()


@pytest.fixture
def cli(tmp_path: Path, backend: str, empty_database_url: str) -> Iterator[Cli]:
    """This test's command line: ``<tmp>/var`` (not created yet) and, on PostgreSQL, an empty
    database of its own."""
    yield command_line(tmp_path, backend, empty_database_url)


def command_line(tmp_path: Path, backend: str, empty_database_url: str) -> Cli:
    """The command line with ``<tmp>/var`` as its data directory (for other test modules)."""
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUTTLE_")}
    env.update(SHUTTLE_DATA_DIR=str(data_dir), SHUTTLE_ENVIRONMENT="development")
    if backend == "postgresql":
        env["SHUTTLE_DATABASE_URL"] = empty_database_url
        url = empty_database_url
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'shuttle.db'}"
    return Cli(data_dir, url, env)


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def no_traceback(ran: Ran) -> None:
    """A clear message, not a Python traceback."""
    assert "Traceback" not in ran.out + ran.err, ran.err


# --- init --------------------------------------------------------------------------------


async def test_init_creates_private_keys_and_a_second_init_changes_nothing(cli: Cli) -> None:
    """init: var/ 0700 with both keys 0600 (whatever the umask); again: nothing changes."""
    first = await cli.run("init", umask=0)
    assert first.code == 0, first.err
    assert first.out.startswith(f"Initialised: data in {cli.data_dir}")
    assert mode(cli.data_dir) == 0o700
    keys = {name: cli.data_dir / name for name in (MASTER_KEY_FILE, SIGNING_KEY_FILE)}
    for path in keys.values():
        assert path.is_file() and mode(path) == 0o600 and path.stat().st_size == 32
    before = {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in keys.items()}
    listing = sorted(os.listdir(cli.data_dir))
    rows_before = await database_state(cli)
    assert rows_before["head"][0][0] == 0 and rows_before["keys"]  # empty log, service key

    again = await cli.run("init")
    assert again.code == 0, again.err
    assert again.out.startswith("Already initialised"), again.out
    assert {name: (p.read_bytes(), p.stat().st_mtime_ns) for name, p in keys.items()} == before
    assert sorted(os.listdir(cli.data_dir)) == listing
    assert await database_state(cli) == rows_before
    assert mode(cli.data_dir) == 0o700


async def database_state(cli: Cli) -> dict[str, list[tuple[Any, ...]]]:
    """The rows init writes: the service's wrapped key and the signed head."""
    return {
        "keys": await cli.query("SELECT id, wrapped, created_at FROM data_key ORDER BY id"),
        "head": await cli.query("SELECT size, root_hash, signature, signed_at FROM audit_head"),
        "entries": await cli.query("SELECT count(*) FROM audit_entry"),
    }


async def test_init_refuses_a_key_file_others_can_read(cli: Cli) -> None:
    """A master key readable by others is refused with a clear message."""
    assert (await cli.run("init")).code == 0
    (cli.data_dir / MASTER_KEY_FILE).chmod(0o644)
    ran = await cli.run("init")
    assert ran.code != 0
    assert "0644" in ran.err and MASTER_KEY_FILE in ran.err


# --- users add ---------------------------------------------------------------------------


async def test_users_add_prints_the_new_id_and_refuses_duplicates_and_weak_passwords(
    cli: Cli,
) -> None:
    """On a fresh data dir: the id is printed and the account signs in; a taken e-mail or a
    weak password is refused with a plain message."""
    add = ("users", "add", "--role", "practitioner", "--name", "Pat Practitioner")
    ran = await cli.run(
        *add, "--email", "pat@service.example", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert ran.code == 0, ran.err
    user_id = ran.out.strip()
    assert UUID.fullmatch(user_id), ran.out
    assert PASSWORD not in ran.out + ran.err
    rows = await cli.query("SELECT role, active FROM user_account WHERE id = :id", id=user_id)
    assert rows == [("practitioner", True)]
    entry = await cli.query("SELECT action, entry FROM audit_entry ORDER BY seq")
    assert [a for a, _ in entry] == ["account:user:create"] and user_id in entry[0][1]

    for email in ("pat@service.example", "  PAT@Service.Example "):
        taken = await cli.run(*add, "--email", email, "--password-stdin", stdin=PASSWORD + "\n")
        assert taken.code != 0
        assert "That e-mail address cannot be used." in taken.err
        no_traceback(taken)

    for weak, why in (
        ("short", "at least 12 characters"),
        ("a" * 20, "one character repeated"),
    ):
        refused = await cli.run(
            *add, "--email", "new@service.example", "--password-stdin", stdin=weak + "\n"
        )
        assert refused.code != 0
        assert why in refused.err, refused.err
        no_traceback(refused)

    bad_role = await cli.run(
        "users",
        "add",
        "--role",
        "participant",
        "--email",
        "x@y.example",
        "--name",
        "X",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert bad_role.code == 2 and "participant" in bad_role.err
    # Nothing but the one account was made, and it signs in with the password given.
    assert await cli.query("SELECT count(*) FROM user_account") == [(1,)]
    runtime = open_runtime(make_settings(cli.data_dir, cli.database_url))
    try:
        challenge = await accounts.sign_in(runtime, "Pat@service.example", PASSWORD)
        assert isinstance(challenge, accounts.SecondFactorNeeded) and challenge.enrolment_secret
        code = totp.code_at(challenge.enrolment_secret, time.time())
        signed = await mfa.complete_sign_in(runtime, challenge.challenge, code)
    finally:
        await runtime.db.dispose()
    assert signed.user.public() == {
        "id": user_id,
        "role": "practitioner",
        "name": "Pat Practitioner",
    }


# --- audit verify ------------------------------------------------------------------------

AUDIT_COLUMNS = {
    "audit_entry": ("seq", "case_id", "action", "entry", "leaf_hash"),
    "audit_head": ("id", "size", "root_hash", "frontier", "signature", "signed_at"),
}


async def snapshot(cli: Cli) -> dict[str, list[tuple[Any, ...]]]:
    """The audit tables' rows, to put back after a tampering."""
    return {
        table: await cli.query(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
        for table, columns in AUDIT_COLUMNS.items()
    }


async def restore(cli: Cli, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    """Put the audit tables back as they were."""
    engine = create_async_engine(cli.database_url)
    try:
        async with engine.begin() as connection:
            for table, columns in AUDIT_COLUMNS.items():
                await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608
                insert = text(
                    f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608
                    f" VALUES ({', '.join(':' + c for c in columns)})"
                )
                for row in rows[table]:
                    await connection.execute(insert, dict(zip(columns, row, strict=True)))
    finally:
        await engine.dispose()


async def add_user(cli: Cli, email: str, role: str = "supervisor") -> str:
    """``shuttle users add`` with a good password; returns the printed id."""
    ran = await cli.run(
        *("users", "add", "--role", role, "--name", "S", "--email", email, "--password-stdin"),
        stdin=PASSWORD + "\n",
    )
    assert ran.code == 0, ran.err
    return ran.out.strip()


TAMPERINGS = {  # change -> a problem it must report
    "UPDATE audit_entry SET entry = replace(entry, 'supervisor', 'admin') WHERE seq = 1": (
        "entry 1 does not match its stored leaf hash"
    ),
    "DELETE FROM audit_entry WHERE seq = 0": "entry 0 is missing or out of order",
    "UPDATE audit_head SET size = size + 1": "the signed head says 3 entries; 2 found",
    # Well-formed base64, but not the signature of this head.
    "UPDATE audit_head SET signature = 'bm90IGEgc2lnbmF0dXJl'": "signature does not verify",
}


async def test_audit_verify_is_ok_and_exits_1_after_each_tampering(cli: Cli) -> None:
    """ok with the entry count and root; after any change: "problem:" lines and exit 1."""
    for n in range(2):
        await add_user(cli, f"s{n}@service.example")
    ok = await cli.run("audit", "verify")
    assert ok.code == 0, ok.err
    [(root,)] = await cli.query("SELECT root_hash FROM audit_head")
    assert ok.out.strip() == f"ok: 2 entries, root {root}"

    untouched = await snapshot(cli)
    for change, problem in TAMPERINGS.items():
        await cli.query(change)
        tampered = await cli.run("audit", "verify")
        no_traceback(tampered)
        assert tampered.code == 1, (change, tampered)
        assert tampered.out == "" and tampered.err.startswith("problem: "), (change, tampered)
        assert problem in tampered.err, (change, tampered.err)
        await restore(cli, untouched)
    again = await cli.run("audit", "verify")
    assert again.code == 0 and again.out == ok.out


async def test_audit_verify_reports_a_malformed_signature_plainly(cli: Cli) -> None:
    """A head signature that is not even base64 is a "problem:", not a traceback."""
    await add_user(cli, "a@service.example", role="admin")
    await cli.query("UPDATE audit_head SET signature = 'not a signature!'")
    tampered = await cli.run("audit", "verify")
    no_traceback(tampered)
    assert tampered.code == 1
    assert tampered.err.startswith("problem: ")


# --- demo and serve ----------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running ``shuttle serve``."""

    process: asyncio.subprocess.Process
    base: str

    async def stop(self) -> tuple[int, str, str]:
        """SIGTERM, then its exit code and output."""
        self.process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(self.process.communicate(), timeout=30)
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(), err.decode()


async def serve(cli: Cli) -> Server:
    """Start ``shuttle serve`` on a free port and wait until /healthz answers."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(SHUTTLE),
        "serve",
        "--port",
        str(port),
        env=cli.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if process.returncode is not None:
                break
            try:
                async with http.get(f"{server.base}/healthz") as answer:
                    if answer.status == 200 and (await answer.json()) == {"ok": True}:
                        return server
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    if process.returncode is None:
        process.kill()
    out, err = await process.communicate()
    raise AssertionError(f"shuttle serve did not come up: {out.decode()}\n{err.decode()}")


def demo_sign_ins(out: str) -> tuple[str, dict[str, str]]:
    """The password and the e-mail addresses the demo printed, by role."""
    [password] = re.findall(r"^Every account's password: (\S+)$", out, re.MULTILINE)
    emails = {}
    for line in out.splitlines():
        found = re.match(r"^\s+(practitioner|supervisor|manager)\s+(\S+@\S+)$", line)
        if found:
            emails[found[1]] = found[2]
        found = re.match(r"^\s+person (harmed|responsible)\s+(\S+@\S+)", line)
        if found:
            emails[found[1]] = found[2]
    return password, emails


async def test_demo_sign_ins_work_against_a_served_instance(cli: Cli) -> None:
    """The printed e-mail and password sign in; Sam's inbox has Rob's letter; SIGTERM is clean."""
    demo = await cli.run("demo")
    assert demo.code == 0, demo.err
    password, emails = demo_sign_ins(demo.out)
    assert set(emails) == {"practitioner", "supervisor", "manager", "harmed", "responsible"}

    server = await serve(cli)
    try:
        async with aiohttp.ClientSession(base_url=server.base) as http:
            tokens = {}

            async def call(method: str, path: str, body: Any) -> Any:
                async with http.request(method, path, json=body) as answer:
                    assert answer.status == 200, (path, await answer.text())
                    return await answer.json()

            for who, email in emails.items():
                signed = await authenticator.sign_in(call, cli.database_url, email, password)
                tokens[who] = signed["token"]
            wrong = {"email": emails["harmed"], "password": password + "x"}
            async with http.post("/api/v1/session", json=wrong) as answer:
                assert answer.status == 401
            bearer = {"Authorization": f"Bearer {tokens['harmed']}"}
            async with http.get("/api/v1/inbox", headers=bearer) as answer:
                assert answer.status == 200
                inbox = (await answer.json())["items"]
            assert [(i["body"], i["from"], i["attribution"]["tag"]) for i in inbox] == [
                (LETTER, "Rob", "own_words")
            ]
            bearer = {"Authorization": f"Bearer {tokens['manager']}"}
            async with http.get("/api/v1/audit/verify", headers=bearer) as answer:
                assert (await answer.json())["ok"] is True
    finally:
        code, out, err = await server.stop()
    assert code == 0, err
    assert f"Shuttle is serving on {server.base}" in out
    assert "Traceback" not in err
    assert "session.create 200" in err  # the access log: route names, not paths


async def test_serve_on_a_fresh_data_dir_initialises_itself(cli: Cli) -> None:
    """No init first: serve creates the keys and database, answers, and stops cleanly."""
    assert not cli.data_dir.exists()
    server = await serve(cli)
    try:
        assert mode(cli.data_dir) == 0o700
        for name in (MASTER_KEY_FILE, SIGNING_KEY_FILE):
            assert mode(cli.data_dir / name) == 0o600
        async with aiohttp.ClientSession(base_url=server.base) as http:
            body = {"email": "nobody@service.example", "password": PASSWORD}
            async with http.post("/api/v1/session", json=body) as answer:
                assert answer.status == 401  # the database is there and answers
    finally:
        code, _, err = await server.stop()
    assert code == 0, err
    verified = await cli.run("audit", "verify")
    assert verified.code == 0 and verified.out.startswith("ok: 0 entries"), verified


async def test_users_disable_ends_every_session_and_enable_lets_them_back(cli: Cli) -> None:
    """`shuttle users disable` revokes the account's sessions at once; `enable` undoes it;
    an unknown e-mail is a plain error."""
    user_id = await add_user(cli, "pat@service.example", role="practitioner")
    await cli.query(
        "INSERT INTO session_token (id, user_id, token_digest, created_at, expires_at,"
        " last_used_at) VALUES ('s1', :user_id, 'd1', '2026-01-01', '2099-01-01', '2026-01-01')",
        user_id=user_id,
    )
    disabled = await cli.run("users", "disable", "--email", "Pat@service.example")
    assert disabled.code == 0 and disabled.out.strip() == user_id, disabled
    assert await cli.query("SELECT count(*) FROM session_token WHERE revoked_at IS NULL") == [(0,)]
    assert await cli.query("SELECT active FROM user_account") in ([(0,)], [(False,)])
    enabled = await cli.run("users", "enable", "--email", "pat@service.example")
    assert enabled.code == 0, enabled
    assert await cli.query("SELECT active FROM user_account") in ([(1,)], [(True,)])
    unknown = await cli.run("users", "disable", "--email", "nobody@service.example")
    no_traceback(unknown)
    assert unknown.code == 1 and "No account has that e-mail address" in unknown.err
