"""Signing in and out, and accepting an invitation."""

from __future__ import annotations

from aiohttp import web

from shuttle import accounts, mfa, sessions
from shuttle.api import schemas
from shuttle.api.http import bearer_token, body, client_address, reply, runtime, signed_in


async def sign_in(request: web.Request) -> web.Response:
    """POST /api/v1/session: e-mail and password -> bearer token, or (staff) a challenge."""
    form = await body(request, schemas.SignIn)
    result = await accounts.sign_in(
        runtime(request), form.email, form.password, address=client_address(request)
    )
    return reply(result.public())


async def second_factor(request: web.Request) -> web.Response:
    """POST /api/v1/session/mfa: the challenge and a code -> bearer token."""
    form = await body(request, schemas.SecondFactor)
    session = await mfa.complete_sign_in(
        runtime(request), form.challenge, form.code, address=client_address(request)
    )
    return reply(session.public())


async def reauthenticate(request: web.Request) -> web.Response:
    """POST /api/v1/session/reauthenticate: password (and code) again, for sensitive actions."""
    actor = await signed_in(request)
    form = await body(request, schemas.Reauthenticate)
    when = await mfa.reauthenticate(
        runtime(request),
        actor,
        password=form.password,
        code=form.code,
        address=client_address(request),
    )
    return reply({"authenticated_at": when.isoformat().replace("+00:00", "Z")})


async def sign_out_everywhere(request: web.Request) -> web.Response:
    """DELETE /api/v1/sessions: every session of the caller ends, this one too."""
    actor = await signed_in(request)
    await sessions.sign_out_everywhere(runtime(request), actor)
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    """PUT /api/v1/me/password: a new password; every other session ends."""
    actor = await signed_in(request)
    form = await body(request, schemas.PasswordChange)
    await sessions.change_password(
        runtime(request),
        actor,
        form.current_password,
        form.new_password,
        address=client_address(request),
    )
    return web.Response(status=204)


async def renew_recovery_codes(request: web.Request) -> web.Response:
    """POST /api/v1/me/recovery-codes: new recovery codes, shown once."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    codes = await mfa.renew_recovery_codes(runtime(request), actor)
    return reply({"recovery_codes": list(codes)}, status=201)


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
