"""What a route is: method, path, handler, name, who it is for, and (for the API) its body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, path, handler, name, who it is for, its body's schema, its
    success status, and notes for the OpenAPI description (answers beyond the usual)."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    who: str = "signed in"
    body: type[BaseModel] | None = None
    status: int = 200
    notes: str = ""
