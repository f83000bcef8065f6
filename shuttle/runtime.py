"""What every service call needs: the database, the keys, the policies, and one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shuttle.crypto import DataCipher, KeyRing
from shuttle.db import Database
from shuttle.errors import NotFound
from shuttle.live import LocalNotifier, Notifier
from shuttle.models import Case, DataKey, utcnow
from shuttle.policies import Policies
from shuttle.settings import Settings

SERVICE_SLOT = "service"
log = logging.getLogger("shuttle.runtime")


@dataclass
class Memo:
    """What this process remembers of its own committed writes, to skip reading them back.

    Only ever a shortcut: when the database disagrees with it, the full check runs.
    """

    # The audit log's head as this process last signed it: (size, root, signature).
    signed_head: tuple[int, str, str] | None = None
    # The day of the newest checkpoint this process knows of.
    checkpoint_day: date | None = None


@dataclass
class Tx:
    """One transaction: the session, the keys to open its rows, and work to do after commit."""

    session: AsyncSession
    keys: KeyRing
    policies: Policies
    settings: Settings
    now: datetime
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    before_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    pending_audit: list[dict[str, Any]] = field(default_factory=list)
    writable: bool = False
    serialise_cases: bool = False
    locked_cases: set[str] = field(default_factory=set)
    ciphers: dict[str, DataCipher] = field(default_factory=dict)
    # Items' versions looked up in this transaction, by (item id, number): read once.
    versions: dict[tuple[str, int], Any] = field(default_factory=dict)
    # Cases with an audited change in this transaction: told to the notifier after commit.
    changed_cases: set[str] = field(default_factory=set)
    memo: Memo = field(default_factory=Memo)

    async def lock_case(self, case_id: str) -> None:
        """Serialise this write with every other write on the same case (PostgreSQL).

        Relay decisions read one row (the recipient's wishes) and write another (the item);
        two transactions doing that crosswise under READ COMMITTED could each miss the
        other's change and leave a letter held for ever. Taking the case's row lock first, in
        every write, settles them one after the other. The order of locks is always: case
        row, item rows, then the audit log's head (last, just before commit). SQLite needs
        none of this: it has one writer.
        """
        if not self.writable or not self.serialise_cases or case_id in self.locked_cases:
            return
        await self.session.exec(select(Case.id).where(col(Case.id) == case_id).with_for_update())
        self.locked_cases.add(case_id)

    async def cipher(self, slot_id: str) -> DataCipher:
        """The cipher for a case (or the service's own slot); NotFound once it is destroyed.

        Unwrapped once per transaction: an inbox or a case page opens many rows of one case.
        """
        known = self.ciphers.get(slot_id)
        if known is not None:
            return known
        slot = await self.session.get(DataKey, slot_id)
        if slot is None:
            raise NotFound()
        cipher = self.keys.cipher(slot_id, slot.wrapped, slot.master_key_id)
        self.ciphers[slot_id] = cipher
        return cipher

    async def new_slot(self, slot_id: str) -> DataCipher:
        """Create and store a fresh random data key for ``slot_id``."""
        wrapped, cipher = self.keys.new_slot(slot_id)
        self.ciphers[slot_id] = cipher
        self.session.add(
            DataKey(
                id=slot_id,
                wrapped=wrapped,
                master_key_id=self.keys.master.key_id,
                created_at=self.now,
            )
        )
        return cipher


class CommitObserver(Protocol):
    """Told the audit actions of every committed write (the metrics count relays, decisions)."""

    def committed(self, actions: Sequence[str]) -> None:
        """Called after a commit with the audit actions it recorded."""


@dataclass(frozen=True)
class Runtime:
    """The running service's resources, passed explicitly to every service function."""

    settings: Settings
    db: Database
    keys: KeyRing
    policies: Policies
    notifier: Notifier = field(default_factory=LocalNotifier)
    observer: CommitObserver | None = None
    # Work that goes on after the request that started it has been answered.
    background: set[asyncio.Task[None]] = field(default_factory=set)
    memo: Memo = field(default_factory=Memo)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` in the background; a failure is logged (by kind, never its text)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.background.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.background.discard(task)
        if not task.cancelled() and (failure := task.exception()) is not None:
            log.error("background task %s failed: %s", task.get_name(), type(failure).__name__)

    async def settle(self) -> None:
        """Wait until no background work is left (tests, and anything that needs its result)."""
        while self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

    async def close(self) -> None:
        """Stop background work (it is picked up again at the next start), stop listening for
        live notices and close every database connection."""
        for task in list(self.background):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.background, return_exceptions=True)
        await self.notifier.stop()
        await self.db.dispose()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction; callbacks registered on it run only after it commits."""
        async with self.db.writing() as session:
            tx = Tx(
                session,
                self.keys,
                self.policies,
                self.settings,
                utcnow(),
                writable=True,
                serialise_cases=not self.db.is_sqlite,
                memo=self.memo,
            )
            yield tx
            if tx.changed_cases:
                await self.notifier.announce(session, tx.changed_cases)
            actions = [entry["action"] for entry in tx.pending_audit]
            for hook in tx.before_commit:
                await hook()
        if tx.changed_cases:
            self.notifier.cases_changed(tx.changed_cases)
        if self.observer is not None and actions:
            self.observer.committed(actions)
        for callback in tx.after_commit:
            await callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read-only transaction."""
        async with self.db.reading() as session:
            yield Tx(session, self.keys, self.policies, self.settings, utcnow(), memo=self.memo)
