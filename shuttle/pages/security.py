"""The second step of a staff sign-in, re-authentication, and the account page (password
change, sign out everywhere)."""

from __future__ import annotations

from aiohttp import web

from shuttle import mfa, sessions
from shuttle.api.http import client_address, runtime
from shuttle.errors import Invalid, NotSignedIn
from shuttle.i18n import error_text
from shuttle.i18n import gettext as _
from shuttle.pages.web import (
    forget_cookie,
    form,
    render,
    safe_next,
    see_other,
    session_cookie,
    set_cookie,
    signed_in,
    text,
)


def code_step(
    request: web.Request,
    challenge: str,
    following: str,
    enrolment: tuple[str, str] | None,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    """The page asking for the authenticator's code (and, to enrol, showing the secret)."""
    title = _("Set up your authenticator app") if enrolment else _("Enter your code")
    return render(
        request,
        "pages/sign_in_code.html",
        status=422 if errors else 200,
        title=title,
        challenge=challenge,
        next=following,
        secret=enrolment[0] if enrolment else None,
        uri=enrolment[1] if enrolment else None,
        errors=errors or [],
    )


async def sign_in_code(request: web.Request) -> web.StreamResponse:
    """POST /sign-in/code: the code; then a session cookie (and recovery codes, once)."""
    data = await form(request)
    challenge, code = text(data, "challenge"), text(data, "code")
    following = safe_next(data.get("next"))
    rt = runtime(request)
    try:
        session = await mfa.complete_sign_in(rt, challenge, code, address=client_address(request))
    except NotSignedIn as exc:
        if exc.code != "invalid_code":
            raise see_other("/sign-in", next=following) from None
        secret = await mfa.pending_enrolment(rt, challenge)
        wrong = [
            {"text": _("That code is not right. Try the code your app shows now."), "href": "#code"}
        ]
        return code_step(request, challenge, following, secret, wrong)
    if session.recovery_codes:
        response: web.StreamResponse = render(
            request,
            "pages/recovery_codes.html",
            title=_("Your recovery codes"),
            codes=session.recovery_codes,
            next=following,
        )
    else:
        response = see_other(following)
    set_cookie(response, rt.settings, session_cookie(rt.settings), session.token)
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def reauthenticate_form(request: web.Request) -> web.Response:
    """GET /reauthenticate: the password again (and a code, for staff)."""
    actor = await signed_in(request)
    return render(
        request,
        "pages/reauthenticate.html",
        title=_("Confirm it is you"),
        next=safe_next(request.query.get("next")),
        needs_code=actor.role != "participant",
        errors=[],
    )


async def reauthenticate(request: web.Request) -> web.StreamResponse:
    """POST /reauthenticate: then back where the person was going."""
    actor = await signed_in(request)
    data = await form(request)
    following = safe_next(data.get("next"))
    try:
        await mfa.reauthenticate(
            runtime(request),
            actor,
            password=data.get("password", ""),
            code=text(data, "code") or None,
            address=client_address(request),
        )
    except NotSignedIn as exc:
        field = "#code" if exc.code == "invalid_code" else "#password"
        message = (
            _("That code is not right. Try the code your app shows now.")
            if exc.code == "invalid_code"
            else _("That password is not right")
        )
        return render(
            request,
            "pages/reauthenticate.html",
            status=422,
            title=_("Confirm it is you"),
            next=following,
            needs_code=actor.role != "participant",
            errors=[{"text": message, "href": field}],
        )
    raise see_other(following)


async def account(request: web.Request) -> web.Response:
    """GET /account: change the password, sign out everywhere."""
    await signed_in(request)
    done = _("Your password has been changed.") if request.query.get("done") == "password" else ""
    return render(request, "pages/account.html", title=_("Your account"), errors=[], done=done)


async def change_password(request: web.Request) -> web.StreamResponse:
    """POST /account/password: a new password; every other session ends."""
    actor = await signed_in(request)
    data = await form(request)
    errors = []
    try:
        await sessions.change_password(
            runtime(request),
            actor,
            data.get("current_password", ""),
            data.get("new_password", ""),
            address=client_address(request),
        )
    except NotSignedIn:
        errors.append(
            {"text": _("Your current password is not right"), "href": "#current_password"}
        )
    except Invalid as exc:
        errors.append({"text": error_text(exc), "href": "#new_password"})
    else:
        raise see_other("/account", done="password")
    return render(
        request, "pages/account.html", status=422, title=_("Your account"), errors=errors, done=""
    )


async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    """POST /account/sign-out-everywhere: every session ends, this one too."""
    actor = await signed_in(request)
    await sessions.sign_out_everywhere(runtime(request), actor)
    response = see_other("/signed-out")
    forget_cookie(response, runtime(request).settings, session_cookie(runtime(request).settings))
    raise response
