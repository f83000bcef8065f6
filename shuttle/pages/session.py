"""Signing in and out, accepting an invitation, choosing a language, and the start page."""

from __future__ import annotations

from aiohttp import web

from shuttle import accounts
from shuttle.api.http import client_address, runtime
from shuttle.errors import Conflict, Invalid, NotFound, NotSignedIn
from shuttle.i18n import LANGUAGES, error_text
from shuttle.i18n import gettext as _
from shuttle.pages.security import code_step
from shuttle.pages.web import (
    LANGUAGE_COOKIE,
    forget_cookie,
    form,
    render,
    safe_next,
    see_other,
    session_cookie,
    session_token,
    set_cookie,
    signed_in,
    text,
)


async def start(request: web.Request) -> web.StreamResponse:
    """GET /: participants to their own page, practitioners to the queue, others to sign in."""
    try:
        actor = await signed_in(request)
    except NotSignedIn:
        raise see_other("/sign-in") from None
    if actor.is_participant:
        raise see_other("/my")
    if actor.is_practitioner:
        raise see_other("/queue")
    raise see_other("/cases")


async def sign_in_form(request: web.Request) -> web.Response:
    """GET /sign-in."""
    return render(
        request,
        "pages/sign_in.html",
        title=_("Sign in"),
        next=safe_next(request.query.get("next")),
        email="",
    )


async def sign_in(request: web.Request) -> web.StreamResponse:
    """POST /sign-in: a new session cookie, then where the person was going."""
    data = await form(request)
    email, password = text(data, "email"), data.get("password", "")
    following = safe_next(data.get("next"))
    errors = []
    if not email:
        errors.append({"text": _("Enter your e-mail address"), "href": "#email"})
    if not password:
        errors.append({"text": _("Enter your password"), "href": "#password"})
    if not errors:
        try:
            result = await accounts.sign_in(
                runtime(request), email, password, address=client_address(request)
            )
        except NotSignedIn:
            errors.append(
                {"text": _("The e-mail address or password is not right"), "href": "#email"}
            )
        else:
            if isinstance(result, accounts.SecondFactorNeeded):
                enrolment = None
                if result.enrolment_secret and result.enrolment_uri:
                    enrolment = (result.enrolment_secret, result.enrolment_uri)
                return code_step(request, result.challenge, following, enrolment)
            response = see_other(following)
            settings = runtime(request).settings
            set_cookie(response, settings, session_cookie(settings), result.token)
            raise response
    return render(
        request,
        "pages/sign_in.html",
        status=422,
        title=_("Sign in"),
        errors=errors,
        next=following,
        email=email,
    )


async def sign_out(request: web.Request) -> web.StreamResponse:
    """POST /sign-out: the session ends on the server, and the cookie goes."""
    token = session_token(request)
    try:
        actor = await signed_in(request)
    except NotSignedIn:
        actor = None
    if actor is not None and token is not None:
        await accounts.sign_out(runtime(request), actor, token)
    response = see_other("/signed-out")
    forget_cookie(response, runtime(request).settings, session_cookie(runtime(request).settings))
    raise response


async def signed_out(request: web.Request) -> web.Response:
    """GET /signed-out."""
    return render(request, "pages/signed_out.html", title=_("You have signed out"))


async def choose_language(request: web.Request) -> web.StreamResponse:
    """GET /language/{code}: remember the language and go back (not personal, so a GET)."""
    code = request.match_info["code"]
    if code not in LANGUAGES:
        raise NotFound()
    response = see_other(safe_next(request.query.get("next")))
    set_cookie(response, runtime(request).settings, LANGUAGE_COOKIE, code)
    raise response


async def invitation_form(request: web.Request) -> web.Response:
    """GET /invitation/{token}: set up an account from an invitation."""
    return render(
        request, "pages/invitation.html", title=_("Set up your account"), email="", errors=[]
    )


async def accept_invitation(request: web.Request) -> web.StreamResponse:
    """POST /invitation/{token}: create the account, sign in, go to the information page."""
    data = await form(request)
    email, password = text(data, "email"), data.get("password", "")
    errors = []
    if not email:
        errors.append({"text": _("Enter your e-mail address"), "href": "#email"})
    if not password:
        errors.append({"text": _("Enter a password"), "href": "#password"})
    elif password != data.get("password_again", ""):
        errors.append({"text": _("The two passwords are not the same"), "href": "#password"})
    if not errors:
        rt = runtime(request)
        try:
            await accounts.accept_invitation(
                rt, request.match_info["token"], email=email, password=password
            )
        except NotFound:
            return render(
                request,
                "error.html",
                status=404,
                title=_("This invitation cannot be used"),
                message=_(
                    "It may have been used already or be out of date. "
                    "Ask your facilitator for a new one."
                ),
            )
        except Invalid as exc:
            field = "email" if exc.code == "invalid_email" else "password"
            errors.append({"text": error_text(exc), "href": f"#{field}"})
        except Conflict:
            errors.append({"text": _("That e-mail address cannot be used"), "href": "#email"})
        else:
            session = await accounts.sign_in(rt, email, password)
            assert isinstance(session, accounts.SignedIn)  # participants: no second factor
            response = see_other("/my/welcome")
            set_cookie(response, rt.settings, session_cookie(rt.settings), session.token)
            raise response
    return render(
        request,
        "pages/invitation.html",
        status=422,
        title=_("Set up your account"),
        email=email,
        errors=errors,
    )
