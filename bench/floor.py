"""The physical floor: a bare aiohttp handler doing one raw aiosqlite INSERT of a 1 KB row and
COMMIT (WAL, synchronous=FULL) per request. Nothing of Shuttle's runs here.

    python -m bench.floor DATABASE_FILE PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import aiosqlite
from aiohttp import web

DB = web.AppKey("db", aiosqlite.Connection)


async def insert(request: web.Request) -> web.Response:
    """POST /floor: one row, committed."""
    body = await request.json()
    db = request.app[DB]
    await db.execute("INSERT INTO row (data) VALUES (?)", (body["data"],))
    await db.commit()
    return web.json_response({"ok": True})


async def health(request: web.Request) -> web.Response:
    """GET /healthz."""
    return web.json_response({"ok": True})


def app(path: str) -> web.Application:
    """The floor application on the SQLite file at ``path``."""

    async def database(application: web.Application) -> AsyncIterator[None]:
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, data TEXT)")
        await db.commit()
        application[DB] = db
        yield
        await db.close()

    application = web.Application()
    application.cleanup_ctx.append(database)
    application.router.add_post("/floor", insert)
    application.router.add_get("/healthz", health)
    return application


if __name__ == "__main__":
    web.run_app(
        app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None
    )
