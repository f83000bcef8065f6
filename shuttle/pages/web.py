"""What every page needs: templates, the cookie session, CSRF tokens, forms and redirects.

Sessions are the server-side sessions of ``accounts`` (the same table as the API's bearer
tokens); the browser holds the token in an HttpOnly, SameSite=Strict cookie, ``__Host-``
prefixed and Secure when served over HTTPS. Every form carries a CSRF token derived from that
cookie (or, before sign-in, from a random cookie of its own); the page middleware checks it on
every POST before any handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from babel.dates import format_date
from multidict import MultiDict

from shuttle import i18n
from shuttle.access import Actor
from shuttle.accounts import authenticate
from shuttle.api.http import ACTOR, runtime
from shuttle.errors import Forbidden, Malformed, NotSignedIn
from shuttle.i18n import N_
from shuttle.settings import Settings

TEMPLATES = web.AppKey("templates", jinja2.Environment)
CSRF_FIELD = "csrf_token"
LANGUAGE_COOKIE = "shuttle_lang"
# Set by the middleware when a page is served to someone without a CSRF cookie yet.
NEW_ANONYMOUS = web.RequestKey("new_anonymous_csrf", str)


def templates(settings: Settings) -> jinja2.Environment:
    """The one jinja2 environment: our templates, the GOV.UK macros, autoescaping, i18n."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(settings.web_dir / "templates"),
            jinja2.PrefixLoader(
                {"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}
            ),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.ChainableUndefined,  # the GOV.UK macros read optional params
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["current_language"] = i18n.current
    env.globals["exit_url"] = settings.exit_url
    env.filters["date"] = _date
    env.filters["datetime"] = _datetime
    i18n.load(settings.web_dir / "locale")
    return env


def _date(value: str | None) -> str:
    """An ISO date or time as '24 November 2026' in the current language."""
    if not value:
        return ""
    locale = "en_GB" if i18n.current() == "en" else i18n.current()
    return format_date(date.fromisoformat(value[:10]), format="long", locale=locale)


def _datetime(value: str | None) -> str:
    """An ISO time as '24 November 2026, 14:05' (UTC) in the current language."""
    if not value:
        return ""
    return f"{_date(value)}, {value[11:16]}"


# --- the cookie session ---------------------------------------------------------------------


def session_cookie(settings: Settings) -> str:
    """The session cookie's name: ``__Host-`` prefixed when served over HTTPS."""
    return "__Host-shuttle_session" if settings.https else "shuttle_session"


def anonymous_cookie(settings: Settings) -> str:
    """The cookie that carries a visitor's CSRF secret before they sign in."""
    return "__Host-shuttle_csrf" if settings.https else "shuttle_csrf"


def set_cookie(response: web.StreamResponse, settings: Settings, name: str, value: str) -> None:
    """A cookie only this site's pages can use: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(
        name, value, path="/", httponly=True, samesite="Strict", secure=settings.https
    )


def forget_cookie(response: web.StreamResponse, settings: Settings, name: str) -> None:
    """Tell the browser to drop a cookie."""
    response.del_cookie(name, path="/", secure=settings.https, samesite="Strict")


def session_token(request: web.Request) -> str | None:
    """The session token from the cookie, if any."""
    token = request.cookies.get(session_cookie(runtime(request).settings))
    return token if token and len(token) <= 512 else None


async def signed_in_participant(request: web.Request) -> Actor:
    """The signed-in participant; Forbidden for staff (their pages are elsewhere)."""
    actor = await signed_in(request)
    if not actor.is_participant:
        # Never shown: a 403 page says only that it may not be there or not be theirs.
        raise Forbidden("These pages are for participants.")
    return actor


async def signed_in(request: web.Request) -> Actor:
    """The signed-in person, from their session cookie; NotSignedIn without a live one."""
    if ACTOR in request:
        return request[ACTOR]
    token = session_token(request)
    if token is None:
        raise NotSignedIn("Sign in first.", code="not_signed_in")
    actor = await authenticate(runtime(request), token)
    request[ACTOR] = actor
    return actor


# --- CSRF -----------------------------------------------------------------------------------


def _csrf_secret(request: web.Request) -> str:
    settings = runtime(request).settings
    secret = session_token(request) or request.cookies.get(anonymous_cookie(settings))
    if secret:
        return secret
    if NEW_ANONYMOUS not in request and request.method == "GET":
        request[NEW_ANONYMOUS] = new_anonymous_secret()
    return str(request.get(NEW_ANONYMOUS, ""))


def csrf_token(request: web.Request) -> str:
    """The token every form on this page must send back."""
    secret = _csrf_secret(request)
    return hmac.new(secret.encode(), b"shuttle csrf v1", hashlib.sha256).hexdigest()


def csrf_ok(request: web.Request, sent: str) -> bool:
    """Whether ``sent`` is the CSRF token of this browser's session."""
    return bool(_csrf_secret(request)) and hmac.compare_digest(sent, csrf_token(request))


def new_anonymous_secret() -> str:
    """A fresh CSRF secret for a visitor who has not signed in."""
    return secrets.token_urlsafe(32)


async def check_csrf(request: web.Request) -> None:
    """Refuse a form sent from anywhere but our own pages (before any handler runs)."""
    # Browsers send "Origin: null" under our Referrer-Policy (no-referrer): the token decides.
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and origin != f"{request.scheme}://{request.host}":
        raise Malformed(N_("This form was sent from another site."), code="cross_site")
    data = await request.post()
    sent = data.get(CSRF_FIELD)
    if not isinstance(sent, str) or not csrf_ok(request, sent):
        raise Malformed(
            N_("This form has expired. Go back, reload the page and try again."), code="csrf"
        )


def remember_anonymous(request: web.Request, response: web.StreamResponse) -> None:
    """Give a new visitor the cookie their forms' CSRF tokens were made from."""
    if NEW_ANONYMOUS in request and not response.prepared:
        name = anonymous_cookie(runtime(request).settings)
        set_cookie(response, runtime(request).settings, name, request[NEW_ANONYMOUS])


def language_of(request: web.Request) -> str:
    """The visitor's language: their choice (a cookie), else their browser's, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in i18n.LANGUAGES:
            return code
    return i18n.DEFAULT


# --- forms, pages, redirects ----------------------------------------------------------------


async def form(request: web.Request) -> MultiDict[str]:
    """The posted form's text fields (the middleware has already checked its CSRF token)."""
    data = await request.post()
    return MultiDict((key, value) for key, value in data.items() if isinstance(value, str))


def text(data: Mapping[str, Any], name: str) -> str:
    """A form field as stripped text ('' when missing)."""
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page from ``template`` with the request's common context."""
    env = request.app[TEMPLATES]
    html = env.get_template(template).render(
        request=request,
        actor=request.get(ACTOR),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        path=request.path,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def see_other(location: str, **query: str) -> web.HTTPSeeOther:
    """POST-redirect-GET: the exception to raise after a successful form."""
    if query:
        location = f"{location}?{urlencode(query)}"
    return web.HTTPSeeOther(location)


def safe_next(value: str | None) -> str:
    """A local path to go back to after signing in; never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def static_dir(settings: Settings) -> Path:
    """Where the built assets are (scripts/build-assets)."""
    return settings.web_dir / "static"
