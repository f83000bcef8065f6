"""Server-sent event streams for pages: the queue's live counts, the participant's inbox.

A stream waits for the notifier (``shuttle.live``) to say that some case changed, then asks
the services again as the caller, whose session is checked each time, and sends only what the
caller may see: numbers for the queue, a bare "something changed" for the inbox. A stream ends
after ``STREAM_SECONDS``; the browser's EventSource then opens a new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from shuttle.live import Listener

STREAM_SECONDS = 600.0
PING_SECONDS = 15.0
STREAM_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


@asynccontextmanager
async def event_stream(request: web.Request) -> AsyncIterator[EventSourceResponse]:
    """An open event stream (personal: never cached; aiohttp-sse's ``X-Accel-Buffering: no``
    tells nginx to pass each event on at once)."""
    stream = EventSourceResponse(headers=STREAM_HEADERS, ping_interval=PING_SECONDS)
    stream.headers["Cache-Control"] = "no-store"  # it sets no-cache; what it says is personal
    await stream.prepare(request)
    async with stream:
        yield stream


async def changed_or_gone(listener: Listener, gone: asyncio.Future[None]) -> set[str] | None:
    """The cases changed (empty: ask again about everything), or None when the browser went
    or the server is stopping."""
    changed = asyncio.ensure_future(listener.changed())
    try:
        await asyncio.wait((changed, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        changed.cancel()
    if gone.done() or not changed.done() or changed.cancelled() or listener.closed:
        return None
    return changed.result()
