"""The ``shuttle`` command: init, serve, users, audit, demo; records commands in records_cli."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path
from typing import Any, TextIO

import click
from aiohttp import web

from shuttle import accounts, audit, checkpoints, logs, sessions
from shuttle.bootstrap import initialise, open_runtime
from shuttle.crypto import KeyRing
from shuttle.errors import ShuttleError
from shuttle.policies import PolicyError
from shuttle.settings import Settings
from shuttle.signed_note import NoteError, verifier_key


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError, shown plainly
        raise click.ClickException(f"Settings are not valid: {exc}") from exc


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except ShuttleError as exc:
        raise click.ClickException(exc.message) from exc
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """Shuttle: indirect communication and shuttle mediation for restorative justice."""


@main.command()
def init() -> None:
    """Create the data directory, key files and database (safe to run again)."""
    settings = _settings()
    created = _run(initialise(settings))
    where = settings.effective_database_url.split("@")[-1]
    done = "Initialised" if created else "Already initialised"
    click.echo(f"{done}: data in {settings.data_dir}, database {where}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8080).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the API (initialises on first start)."""
    from shuttle.app import create_app

    settings = _settings()
    logs.configure(settings)
    _run(initialise(settings))
    host, port = host or settings.host, port or settings.port
    click.echo(f"Shuttle is serving on http://{host}:{port} (data in {settings.data_dir})")
    # The request log is the middleware's (route names, request ids, JSON): not aiohttp's.
    web.run_app(create_app(settings), host=host, port=port, access_log=None, print=None)


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("add")
@click.option("--role", required=True, type=click.Choice(accounts.STAFF_ROLES))
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
def users_add(role: str, email: str, name: str, password_stdin: bool) -> None:
    """Create a staff account and print its id."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()

    async def add() -> str:
        await initialise(settings)
        runtime = open_runtime(settings)
        try:
            return await accounts.add_user(
                runtime, role=role, email=email, name=name, password=password
            )
        finally:
            await runtime.close()

    click.echo(_run(add()))


def _set_active(email: str, active: bool) -> str:
    settings = _settings()

    async def change() -> str:
        runtime = open_runtime(settings)
        try:
            return await sessions.set_active(runtime, email, active=active)
        finally:
            await runtime.close()

    return str(_run(change()))


@users.command("disable")
@click.option("--email", required=True)
def users_disable(email: str) -> None:
    """Disable an account: it cannot sign in, and every session of it ends now."""
    click.echo(_set_active(email, False))


@users.command("enable")
@click.option("--email", required=True)
def users_enable(email: str) -> None:
    """Let a disabled account sign in again."""
    click.echo(_set_active(email, True))


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
@click.option(
    "--against",
    "checkpoint_file",
    type=click.File("r", encoding="utf-8"),
    help="A checkpoint kept earlier: also prove the log only grew since (RFC 9162).",
)
def audit_verify(checkpoint_file: TextIO | None) -> None:
    """Recompute every entry and the root, and check the signed tree head."""
    settings = _settings()
    if checkpoint_file is not None:
        _verify_against(settings, checkpoint_file.read())
        return

    async def verify() -> audit.Verification:
        runtime = open_runtime(settings)
        try:
            async with runtime.read() as tx:
                return await audit.verify(tx)
        finally:
            await runtime.close()

    result = _run(verify())
    if result.ok:
        click.echo(f"ok: {result.size} entries, root {result.root}")
        return
    for problem in result.problems:
        click.echo(f"problem: {problem}", err=True)
    raise SystemExit(1)


def _verify_against(settings: Settings, text: str) -> None:
    async def verify() -> checkpoints.Extension:
        runtime = open_runtime(settings)
        try:
            return await checkpoints.verify_against(runtime, text)
        finally:
            await runtime.close()

    try:
        result = _run(verify())
    except NoteError as exc:
        raise click.ClickException(f"That checkpoint cannot be used: {exc}") from exc
    for problem in result.verification.problems + result.problems:
        click.echo(f"problem: {problem}", err=True)
    if not result.ok:
        raise SystemExit(1)
    click.echo(
        f"ok: {result.verification.size} entries, root {result.verification.root}; "
        f"the log extends the checkpoint of {result.checkpoint_size} entries "
        f"(consistency proof of {result.proof_hashes} hashes verified)"
    )


@audit_group.command("checkpoint")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the checkpoint to this file, for an auditor to keep.",
)
def audit_checkpoint(export_to: Path | None) -> None:
    """Sign and keep a checkpoint of the log now, and print it (C2SP tlog-checkpoint)."""
    settings = _settings()

    async def take() -> str:
        runtime = open_runtime(settings)
        try:
            return await checkpoints.take(runtime)
        finally:
            await runtime.close()

    note = _run(take())
    if export_to is not None:
        export_to.write_text(note, encoding="utf-8")
    click.echo(note, nl=False)


@audit_group.command("public-key")
def audit_public_key() -> None:
    """Print the key that signs checkpoints, in signed-note verifier form, to publish."""
    keys = KeyRing.load(_settings().data_dir)
    click.echo(verifier_key(audit.KEY_NAME, keys.signing.public_key_bytes()))


@main.command()
def demo() -> None:
    """Seed a demonstration case with accounts, and print how to sign in."""
    from shuttle.demo import seed

    settings = _settings()
    if settings.environment == "production":
        raise click.ClickException("The demo is not for production.")
    _run(initialise(settings))
    password = "demo-" + secrets.token_urlsafe(9)
    lines = _run(seed(settings, password))
    click.echo("\n".join(lines))


def _add_records_commands() -> None:
    from shuttle.records_cli import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_records_commands()
