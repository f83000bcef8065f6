"""The error page: what happened in plain words, and nothing about what exists."""

from __future__ import annotations

import contextlib
import logging

from aiohttp import web

from shuttle.errors import ShuttleError
from shuttle.pages.web import render, signed_in

log = logging.getLogger("shuttle.pages")


async def page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """An error page with ``status`` (plain text if even that cannot be drawn)."""
    with contextlib.suppress(ShuttleError):
        await signed_in(request)  # so the page offers "Sign out" to someone signed in
    try:
        return render(request, "error.html", status=status, title=title, message=message)
    except Exception:
        log.exception("the error page could not be drawn")
        return web.Response(text=f"{title}\n\n{message}\n", status=status)
