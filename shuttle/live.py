"""Live updates: which cases changed, told to whoever is listening in this process.

Services never call this directly: every audited change names its case (``audit.record``),
and ``Runtime.write`` tells the notifier those cases after the transaction commits. Listeners
(the queue's server-sent events) then ask the services again what the person may see; the
notice itself carries nothing but case ids and never leaves the server.

``Notifier`` is an interface so that several app processes can share notices: issue 7 swaps
``LocalNotifier`` for one that relays through PostgreSQL ``LISTEN``/``NOTIFY``. This one only
reaches listeners in the same process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

MAX_PENDING = 100


class Notifier(Protocol):
    """Tells listeners which cases changed."""

    def cases_changed(self, case_ids: Iterable[str]) -> None:
        """Called after a commit that changed these cases."""

    def listen(self) -> AbstractAsyncContextManager[Listener]:
        """A listener for as long as the ``async with`` lasts."""

    def close(self) -> None:
        """Wake every listener for the last time (the server is stopping)."""


class Listener:
    """One subscriber's notices: ``changed()`` waits for the next batch of case ids."""

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self.closed = False

    def tell(self, case_ids: Iterable[str]) -> None:
        """Add case ids to what this listener will hear next (coalesced; bounded)."""
        if len(self._pending) < MAX_PENDING:
            self._pending.update(case_ids)
        self._wake.set()

    def close(self) -> None:
        """No more notices: the next ``changed`` returns at once with nothing."""
        self.closed = True
        self._wake.set()

    async def changed(self) -> set[str]:
        """The cases changed since the last call (empty when closed); wrap in a timeout."""
        await self._wake.wait()
        self._wake.clear()
        found, self._pending = self._pending, set()
        return found


class LocalNotifier:
    """The in-process notifier: every listener in this process hears of every changed case."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    def cases_changed(self, case_ids: Iterable[str]) -> None:
        """Tell every listener (never blocks: notices are coalesced per listener)."""
        ids = [c for c in case_ids if c]
        if not ids:
            return
        for listener in list(self._listeners):
            listener.tell(ids)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener]:
        """A listener, removed again when the block ends."""
        listener = Listener()
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    def close(self) -> None:
        """Wake and close every listener."""
        for listener in list(self._listeners):
            listener.close()
