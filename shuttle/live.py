"""Live updates: which cases changed, told to whoever is listening in this process.

Services never call this directly: every audited change names its case (``audit.record``),
and ``Runtime.write`` tells the notifier those cases after the transaction commits. Listeners
(the queue's server-sent events) then ask the services again what the person may see; the
notice itself carries nothing but case ids and never leaves the server.

``Notifier`` is an interface with two implementations: ``LocalNotifier`` reaches listeners in
this process only (one process on SQLite); ``PostgresNotifier`` relays notices between every
app process on one PostgreSQL database through ``LISTEN``/``NOTIFY``. ``Runtime.write`` calls
``announce`` inside the transaction (PostgreSQL sends a ``pg_notify`` exactly when, and only
if, it commits) and ``cases_changed`` after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import func, make_url
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

MAX_PENDING = 100
log = logging.getLogger("shuttle.live")


class Notifier(Protocol):
    """Tells listeners which cases changed."""

    async def announce(self, session: AsyncSession, case_ids: Iterable[str]) -> None:
        """Called inside the write transaction that changes these cases, before its commit."""

    def cases_changed(self, case_ids: Iterable[str]) -> None:
        """Called after a commit that changed these cases."""

    def listen(self) -> AbstractAsyncContextManager[Listener]:
        """A listener for as long as the ``async with`` lasts."""

    def close(self) -> None:
        """Wake every listener for the last time (the server is stopping)."""

    async def stop(self) -> None:
        """Close, and let go of any connection held for listening."""


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

    async def announce(self, session: AsyncSession, case_ids: Iterable[str]) -> None:
        """Nothing to do before the commit: listeners are told after it."""

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

    def wake_all(self) -> None:
        """Wake every listener with no case named: each asks again about everything it shows."""
        for listener in list(self._listeners):
            listener.tell(())

    def close(self) -> None:
        """Wake and close every listener."""
        for listener in list(self._listeners):
            listener.close()

    async def stop(self) -> None:
        """Close: nothing else is held."""
        self.close()


CHANNEL = "shuttle_cases"
# Case ids per NOTIFY: 100 UUIDs and commas stay far below PostgreSQL's 8000-byte payload.
CHUNK = 100
CASE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FIRST_RETRY_SECONDS = 0.5
LAST_RETRY_SECONDS = 30.0
HEALTH_SECONDS = 15.0
READY_SECONDS = 5.0


class PostgresNotifier:
    """Notices between every app process on one PostgreSQL database (``LISTEN``/``NOTIFY``).

    Writing: ``announce`` runs ``SELECT pg_notify('shuttle_cases', 'id,id,...')`` inside the
    write transaction, so the notice goes out exactly when the transaction commits (never for
    one rolled back) to every listening process, this one included. The payload is case ids
    (UUIDs) and nothing else; received payloads are checked against that shape.

    Listening: the first ``listen()`` in a process opens one dedicated connection (not from
    the pool) and ``LISTEN``s on it; command-line tools that only write never open one. If
    that connection drops, or stops answering the health check, it is replaced, waiting
    0.5 s, 1 s, 2 s... up to 30 s (with jitter) between attempts; after every (re)connection
    each listener is woken with no case named, so that it asks again about everything it
    shows: notices sent while nobody was listening are lost, and nothing is missed that way.
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._local = LocalNotifier()
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        self._listening = asyncio.Event()
        self._closed = False
        self.connections = 0  # how many times a listening connection was opened (for tests)

    async def announce(self, session: AsyncSession, case_ids: Iterable[str]) -> None:
        """Queue a notice in the transaction: PostgreSQL sends it on commit, to every process."""
        ids = sorted({c for c in case_ids if c})
        for start in range(0, len(ids), CHUNK):
            payload = ",".join(ids[start : start + CHUNK])
            await session.exec(select(func.pg_notify(CHANNEL, payload)))

    def cases_changed(self, case_ids: Iterable[str]) -> None:
        """Nothing: the notice reaches this process's listeners through PostgreSQL too."""

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener]:
        """A listener, once this process listens (the connection opens on first use).

        If PostgreSQL cannot be reached within a few seconds the listener is given anyway: it
        hears nothing until the connection is made, and is then woken to ask again.
        """
        if self._task is None and not self._closed:
            # A context of its own: not the first stream's request id on its log lines.
            self._task = asyncio.get_running_loop().create_task(
                self._keep_listening(), name="shuttle-listen", context=contextvars.Context()
            )
        async with self._local.listen() as listener:
            if self._closed:
                listener.close()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._listening.wait(), READY_SECONDS)
            yield listener

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        ids = [part for part in payload.split(",") if CASE_ID.fullmatch(part)]
        if ids:
            self._local.cases_changed(ids)

    async def _keep_listening(self) -> None:
        """Hold one listening connection, replacing it whenever it is lost."""
        delay = FIRST_RETRY_SECONDS
        while not self._closed:
            made = self.connections
            try:
                await self._listen_until_lost()  # returns only by raising
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: log its kind (never its text), try again
                if self.connections > made:  # it was listening: start the backoff again
                    delay = FIRST_RETRY_SECONDS
                log.warning(
                    "live updates: not listening (%s); trying again in %.1f s",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311
                delay = min(delay * 2, LAST_RETRY_SECONDS)

    async def _listen_until_lost(self) -> None:
        """Listen on a new connection until it is lost (then raise)."""
        connection = await asyncpg.connect(self._dsn, timeout=10)
        self._connection = connection
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _c: lost.set())
            await connection.add_listener(CHANNEL, self._received)
            self._listening.set()
            self.connections += 1
            if self.connections > 1:
                log.info("live updates: listening again")
            self._local.wake_all()  # anything sent while not listening was missed
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEALTH_SECONDS)
                    break
                await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_SECONDS)
            raise ConnectionError("the listening connection was closed")
        finally:
            self._listening.clear()
            self._connection = None
            connection.terminate()

    def close(self) -> None:
        """Wake and close every listener; stop listening."""
        self._closed = True
        self._local.close()
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """Close, and wait until the listening connection is gone."""
        self.close()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
