"""Records: disclosure requests and packages, and the audit log's verification."""

from __future__ import annotations

from aiohttp import web

from shuttle import disclosure, records
from shuttle.api import schemas
from shuttle.api.http import body, reply, runtime, signed_in


async def show_request(request: web.Request) -> web.Response:
    """GET /api/v1/disclosure-requests/{request_id}."""
    actor = await signed_in(request)
    found = await disclosure.get_request(runtime(request), actor, request.match_info["request_id"])
    return reply(found)


async def release(request: web.Request) -> web.Response:
    """POST /api/v1/disclosure-requests/{request_id}/release."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    released = await disclosure.release(runtime(request), actor, request.match_info["request_id"])
    return reply(released)


async def package(request: web.Request) -> web.Response:
    """GET /api/v1/disclosure-requests/{request_id}/package: the ZIP."""
    actor = await signed_in(request)
    data = await disclosure.package(runtime(request), actor, request.match_info["request_id"])
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="records.zip"'},
    )


async def verify_audit(request: web.Request) -> web.Response:
    """GET /api/v1/audit/verify: recompute the whole log."""
    actor = await signed_in(request)
    result = await records.verify_audit(runtime(request), actor)
    return reply(
        {"ok": result.ok, "size": result.size, "root": result.root, "problems": result.problems}
    )
