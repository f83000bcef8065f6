"""What every service call needs: the database, the keys, the policies, and one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from shuttle.crypto import DataCipher, KeyRing
from shuttle.db import Database
from shuttle.errors import NotFound
from shuttle.models import DataKey, utcnow
from shuttle.policies import Policies
from shuttle.settings import Settings

SERVICE_SLOT = "service"


@dataclass
class Tx:
    """One transaction: the session, the keys to open its rows, and work to do after commit."""

    session: AsyncSession
    keys: KeyRing
    policies: Policies
    settings: Settings
    now: datetime
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def cipher(self, slot_id: str) -> DataCipher:
        """The cipher for a case (or the service's own slot); NotFound once it is destroyed."""
        slot = await self.session.get(DataKey, slot_id)
        if slot is None:
            raise NotFound()
        return self.keys.cipher(slot_id, slot.wrapped)

    async def new_slot(self, slot_id: str) -> DataCipher:
        """Create and store a fresh random data key for ``slot_id``."""
        wrapped, cipher = self.keys.new_slot(slot_id)
        self.session.add(
            DataKey(
                id=slot_id,
                wrapped=wrapped,
                master_key_id=self.keys.master.key_id,
                created_at=self.now,
            )
        )
        return cipher


@dataclass(frozen=True)
class Runtime:
    """The running service's resources, passed explicitly to every service function."""

    settings: Settings
    db: Database
    keys: KeyRing
    policies: Policies

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction; callbacks registered on it run only after it commits."""
        async with self.db.writing() as session:
            tx = Tx(session, self.keys, self.policies, self.settings, utcnow())
            yield tx
        for callback in tx.after_commit:
            await callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read-only transaction."""
        async with self.db.reading() as session:
            yield Tx(session, self.keys, self.policies, self.settings, utcnow())
