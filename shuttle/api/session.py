"""Signing in and out, and accepting an invitation."""

from __future__ import annotations

from aiohttp import web

from shuttle import accounts
from shuttle.api import schemas
from shuttle.api.http import bearer_token, body, reply, runtime, signed_in


async def sign_in(request: web.Request) -> web.Response:
    """POST /api/v1/session: e-mail and password -> bearer token."""
    form = await body(request, schemas.SignIn)
    session = await accounts.sign_in(runtime(request), form.email, form.password)
    return reply({"token": session.token, "user": session.user.public()})


async def current(request: web.Request) -> web.Response:
    """GET /api/v1/session: who the token belongs to."""
    actor = await signed_in(request)
    user = await accounts.whoami(runtime(request), actor)
    return reply({"user": user.public()})


async def sign_out(request: web.Request) -> web.Response:
    """DELETE /api/v1/session: revoke this token on the server."""
    actor = await signed_in(request)
    await accounts.sign_out(runtime(request), actor, bearer_token(request) or "")
    return web.Response(status=204)


async def accept_invitation(request: web.Request) -> web.Response:
    """POST /api/v1/invitations/{token}/accept: a participant creates their account."""
    form = await body(request, schemas.AcceptInvitation)
    user = await accounts.accept_invitation(
        runtime(request), request.match_info["token"], email=form.email, password=form.password
    )
    return reply({"user": user.public()}, status=201)
