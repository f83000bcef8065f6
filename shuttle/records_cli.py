"""``shuttle retention``, ``shuttle keys``, ``shuttle backup`` and ``shuttle restore``."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shuttle import backup as backups
from shuttle import keys, retention
from shuttle.bootstrap import open_runtime
from shuttle.runtime import Runtime
from shuttle.settings import Settings

T = TypeVar("T")


def _with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    from shuttle.cli import _run  # the one place that turns domain errors into messages

    async def go() -> T:
        runtime = open_runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    result: T = _run(go())
    return result


def _settings() -> Settings:
    from shuttle.cli import _settings as settings

    return settings()


def _policy(settings: Settings) -> retention.RetentionPolicy:
    try:
        return retention.load_policy(settings.policies_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True))


def _who(settings: Settings, email: str, from_stdin: bool) -> str:
    password = _password(from_stdin)
    return _with_runtime(settings, lambda rt: retention.authenticate(rt, email, password))


as_option = click.option("--as", "email", required=True, help="Your admin or manager e-mail.")
stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read your password from standard input."
)


@click.group("retention")
def retention_group() -> None:
    """Destroy closed cases past their retention period (two people; legal holds stop it)."""


@retention_group.command("review")
def retention_review() -> None:
    """List closed cases past their period, as JSON lines: held, asked for, approved."""
    settings = _settings()
    policy = _policy(settings)
    for due in _with_runtime(settings, lambda rt: retention.review(rt, policy)):
        click.echo(json.dumps(due.view()))


@retention_group.command("request")
@as_option
@stdin_option
def retention_request(email: str, password_stdin: bool) -> None:
    """Ask for the destruction of every due case that is not held (the first person)."""
    settings = _settings()
    policy = _policy(settings)
    user = _who(settings, email, password_stdin)
    asked = _with_runtime(settings, lambda rt: retention.request(rt, policy, user))
    click.echo(f"asked to destroy {len(asked)} cases; another admin or manager must approve")


@retention_group.command("approve")
@as_option
@stdin_option
def retention_approve(email: str, password_stdin: bool) -> None:
    """Approve the requests made by someone else (the second person)."""
    settings = _settings()
    user = _who(settings, email, password_stdin)
    done, own = _with_runtime(settings, lambda rt: retention.approve(rt, user))
    click.echo(f"approved {len(done)} destructions")
    if own:
        click.echo(f"{len(own)} requests are your own: someone else must approve them", err=True)


@retention_group.command("hold")
@click.argument("case_id")
@click.option("--reason", required=True, type=click.Choice(retention.HOLD_REASONS))
@as_option
@stdin_option
def retention_hold(case_id: str, reason: str, email: str, password_stdin: bool) -> None:
    """Place a legal hold on a case: nothing of it is destroyed while it stands."""
    settings = _settings()
    user = _who(settings, email, password_stdin)
    _with_runtime(settings, lambda rt: retention.hold(rt, user, case_id, reason))
    click.echo(f"case {case_id} is on hold")


@retention_group.command("lift")
@click.argument("case_id")
@as_option
@stdin_option
def retention_lift(case_id: str, email: str, password_stdin: bool) -> None:
    """Lift a case's legal hold."""
    settings = _settings()
    user = _who(settings, email, password_stdin)
    _with_runtime(settings, lambda rt: retention.lift(rt, user, case_id))
    click.echo(f"the hold on case {case_id} is lifted")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only list what would be destroyed.")
def retention_run(dry_run: bool) -> None:
    """Destroy every approved case that is due and not held; then rotate the master key."""
    settings = _settings()
    policy = _policy(settings)
    ready = _with_runtime(settings, lambda rt: retention.approved(rt, policy))
    if dry_run:
        for due in ready:
            click.echo(json.dumps(due.view()))
        click.echo(f"dry run: {len(ready)} cases would be destroyed", err=True)
        return
    if not ready:
        click.echo("nothing to destroy")
        return

    async def work(rt: Runtime) -> retention.RunResult:
        with click.progressbar(length=len(ready), label="Destroying cases", file=sys.stderr) as bar:
            return await retention.run(
                rt, policy, on_case=lambda _: bar.update(1), on_keys=lambda n: None
            )

    result = _with_runtime(settings, work)
    click.echo(f"destroyed {len(result.destroyed)} cases")
    if result.rotation is not None:
        _report_rotation(result.rotation)
        click.echo("Backups taken before now can no longer be read: take a new backup now.")


def _report_rotation(rotation: keys.Rotation) -> None:
    click.echo(
        f"master key {rotation.old_key_id} replaced by {rotation.new_key_id} and erased; "
        f"{rotation.rewrapped} data keys re-wrapped in {rotation.seconds:.1f} s"
    )


@click.group("keys")
def keys_group() -> None:
    """The master key."""


@keys_group.command("rotate")
@click.option("--batch", default=500, show_default=True, help="Data keys per transaction.")
def keys_rotate(batch: int) -> None:
    """Re-wrap every data key under a new master key (safe while serving; run again to resume)."""
    settings = _settings()

    async def work(rt: Runtime) -> keys.Rotation:
        total = await keys.pending(rt, "")
        with click.progressbar(length=total, label="Re-wrapping keys", file=sys.stderr) as bar:
            return await keys.rotate(rt, batch=batch, progress=bar.update)

    _report_rotation(_with_runtime(settings, work))


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Write a consistent copy of the database to TARGET while the service runs."""
    settings = _settings()
    _with_runtime(settings, lambda rt: _backup(settings, target))
    click.echo(f"backed up to {target} (the key files are not in it; see docs/records.md)")


async def _backup(settings: Settings, target: Path) -> None:
    try:
        await backups.backup(settings, target)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the database's contents.")
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database with the backup SOURCE (stop the service first)."""
    settings = _settings()
    if not yes:
        click.confirm("Replace everything in the database with this backup?", abort=True)

    async def work(rt: Runtime) -> backups.Readability:
        try:
            await backups.restore(settings, source)
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        return await backups.readability(rt)

    found = _with_runtime(settings, work)
    click.echo(f"restored from {source}: {found.readable} data keys can be read")
    for key_id, count in found.unreadable.items():
        click.echo(
            f"warning: {count} data keys are wrapped under master key {key_id}, which is not "
            "on this machine (erased by a rotation or destruction): they cannot be read",
            err=True,
        )


COMMANDS: list[Any] = [retention_group, keys_group, backup_command, restore_command]
