"""The stack's floor: the floor's handler, but its INSERT goes through the stack Shuttle is
built on (SQLModel's ORM session on SQLAlchemy asyncio, through ``shuttle.db.Database`` with
group commit and Shuttle's SQLite driver). Nothing else of Shuttle's runs: no sign-in, no
encryption, no audit log. It tells how much of one request the chosen stack alone costs.

    python -m bench.stack_floor DATABASE_FILE PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

from aiohttp import web
from sqlmodel import Field, SQLModel

from shuttle.db import Database

DB = web.AppKey("db", Database)


class FloorRow(SQLModel, table=True):
    """One 1 KB row, as the floor writes."""

    __tablename__ = "floor_row"
    id: int | None = Field(default=None, primary_key=True)
    data: str


async def insert(request: web.Request) -> web.Response:
    """POST /floor: one row through the ORM, acknowledged after its (group) commit."""
    body = await request.json()
    async with request.app[DB].writing() as session:
        session.add(FloorRow(data=body["data"]))
    return web.json_response({"ok": True})


async def health(request: web.Request) -> web.Response:
    """GET /healthz."""
    return web.json_response({"ok": True})


def app(path: str) -> web.Application:
    """The stack-floor application on the SQLite file at ``path``."""

    async def database(application: web.Application) -> AsyncIterator[None]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        async with db.writer.begin() as connection:
            await connection.run_sync(FloorRow.metadata.create_all, tables=[FloorRow.__table__])
        application[DB] = db
        yield
        await db.dispose()

    application = web.Application()
    application.cleanup_ctx.append(database)
    application.router.add_post("/floor", insert)
    application.router.add_get("/healthz", health)
    return application


if __name__ == "__main__":
    web.run_app(
        app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None
    )
