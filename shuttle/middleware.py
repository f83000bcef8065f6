"""Domain errors to answers (JSON or a page), CSRF and language for pages, security headers,
request ids, the request log and its metrics. One place for each."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.exc import DBAPIError, IntegrityError

from shuttle import i18n
from shuttle.api.http import ACTOR, SETTINGS
from shuttle.audit import AuditIntegrityError
from shuttle.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    NotSignedIn,
    RateLimited,
    ReauthenticationRequired,
    ShuttleError,
    TooLarge,
)
from shuttle.i18n import N_, error_text
from shuttle.logs import REQUEST_ID as CURRENT_REQUEST_ID
from shuttle.metrics import METRICS
from shuttle.pages import errors as page_errors
from shuttle.pages import web as page_web

log = logging.getLogger("shuttle.http")
request_log = logging.getLogger("shuttle.request")
REQUEST_ID = web.RequestKey("request_id", str)
# A request id sent by the caller is used when it is this plain; otherwise one is made.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
STATUS: dict[type[ShuttleError], int] = {
    Malformed: 400,
    NotSignedIn: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Invalid: 422,
    RateLimited: 429,
}
HTTP_CODES = {
    400: "malformed",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
# PostgreSQL's serialization failure and deadlock: nothing was written; the caller may retry.
RETRYABLE_SQLSTATES = ("40001", "40P01")
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
API_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_page(request: web.BaseRequest) -> bool:
    """Whether the request is for a page (HTML) rather than the JSON API or a static file."""
    path = request.path
    return not (path.startswith(("/api/", "/static/")) or path in ("/healthz", "/metrics"))


def error_answer(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """The one error shape of API.md."""
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    return web.json_response({"error": error}, status=status)


def _status(exc: ShuttleError) -> int:
    for kind, status in STATUS.items():
        if isinstance(exc, kind):
            return status
    return 400


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors to their status; never show a traceback or internal detail."""
    if is_page(request):
        return await _page_errors(request, handler)
    try:
        return await handler(request)
    except ShuttleError as exc:
        extra = {"fields": exc.fields} if isinstance(exc, Invalid) and exc.fields else {}
        answer = error_answer(_status(exc), exc.code, exc.message, **extra)
        if isinstance(exc, RateLimited):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        answer = error_answer(exc.status, HTTP_CODES.get(exc.status, "http_error"), exc.reason)
        if "Allow" in exc.headers:
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except AuditIntegrityError:
        log.critical("audit log integrity failure", extra={"request_id": request.get(REQUEST_ID)})
        return error_answer(
            503, "audit_log_damaged", "The record cannot be written safely. Nothing was saved."
        )
    except IntegrityError:
        return error_answer(409, "conflict", "That clashes with something already recorded.")
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return error_answer(409, "try_again", "Someone else changed this at the same time.")
        log.exception("database error", extra={"request_id": request.get(REQUEST_ID)})
        return error_answer(
            503, "unavailable", "The service is busy. Nothing was saved; try again."
        )
    except Exception:
        log.exception("unhandled error", extra={"request_id": request.get(REQUEST_ID)})
        return error_answer(500, "internal", "Something went wrong on our side.")


PAGE_ERRORS = {
    400: N_("Something was wrong with that request"),
    403: N_("You cannot do this"),
    404: N_("Page not found"),
    405: N_("Page not found"),
    409: N_("Someone else has changed this"),
    413: N_("That is too long"),
    422: N_("Something was wrong with that request"),
    429: N_("Too many attempts"),
    503: N_("Sorry, the service is unavailable"),
    500: N_("Sorry, there is a problem with the service"),
}


async def _page_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors on pages: sign in again, or a plain page that says what happened and nothing more."""
    _ = i18n.gettext
    try:
        return await handler(request)
    except ReauthenticationRequired:
        back = request.path_qs if request.method == "GET" else "/"
        raise web.HTTPSeeOther(f"/reauthenticate?next={quote(back, safe='/')}") from None
    except NotSignedIn:
        if request.method == "GET":
            raise web.HTTPSeeOther(f"/sign-in?next={quote(request.path_qs, safe='/')}") from None
        raise web.HTTPSeeOther("/sign-in") from None
    except ShuttleError as exc:
        status = _status(exc)
        # Not found and forbidden look alike: never say whether something exists.
        message = _("It may have been moved, or you may not have access to it.")
        if status not in (403, 404):
            message = error_text(exc)
        answer = await page_errors.page(
            request, status, _(PAGE_ERRORS.get(status, PAGE_ERRORS[400])), message
        )
        if isinstance(exc, RateLimited):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        title = PAGE_ERRORS.get(exc.status, PAGE_ERRORS[400])
        answer = await page_errors.page(
            request, exc.status, _(title), _("Check the address and try again.")
        )
        if "Allow" in exc.headers:
            answer.headers["Allow"] = exc.headers["Allow"]
        return answer
    except AuditIntegrityError:
        log.critical("audit log integrity failure", extra={"request_id": request.get(REQUEST_ID)})
        return await page_errors.page(
            request, 503, _(PAGE_ERRORS[503]), _("Nothing was saved. Try again later.")
        )
    except IntegrityError:
        return await page_errors.page(
            request, 409, _(PAGE_ERRORS[409]), _("Go back, reload the page and try again.")
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
            log.exception("database error", extra={"request_id": request.get(REQUEST_ID)})
        return await page_errors.page(
            request, 503, _(PAGE_ERRORS[503]), _("Nothing was saved. Try again.")
        )
    except Exception:
        log.exception("unhandled error", extra={"request_id": request.get(REQUEST_ID)})
        return await page_errors.page(
            request, 500, _(PAGE_ERRORS[500]), _("Nothing was saved. Try again later.")
        )


@web.middleware
async def pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For pages: the visitor's language, and a valid CSRF token on every form sent."""
    if not is_page(request):
        return await handler(request)
    i18n.set_language(page_web.language_of(request))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await page_web.check_csrf(request)
    response = await handler(request)
    page_web.remember_anonymous(request, response)
    return response


LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
HSTS = "max-age=63072000; includeSubDomains"


def host_allowed(host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header names this service (ASVS 4.1.1's cousin: no cache poisoning,
    no password-reset links to another site). ``allowed`` empty means local development."""
    if not host or len(host) > 255:
        return False
    host = host.lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        name, port = name + "]", rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    for entry in allowed or LOCAL_HOSTS:
        entry = entry.lower()
        if entry in (host, name):
            return True
        if entry.startswith("*.") and name.endswith(entry[1:]) and len(name) > len(entry) - 1:
            return True
    return False


def request_id(sent: str | None) -> str:
    """The caller's ``X-Request-Id`` if it is plain (letters, digits, ``._:-``, at most 64),
    else a fresh random one: ids go into the log, so nothing else is taken from the caller."""
    if sent and VALID_REQUEST_ID.fullmatch(sent):
        return sent
    return secrets.token_hex(8)


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The Host header checked; a request id on every answer; the strict headers everywhere;
    the request timed for the metrics and logged (route name, status, milliseconds)."""
    started = time.perf_counter()
    rid = request[REQUEST_ID] = request_id(request.headers.get("X-Request-Id"))
    CURRENT_REQUEST_ID.set(rid)  # the task's own context: every line logged meanwhile has it
    status = 500
    try:
        response = await _strict(request, handler)
        status = response.status
        return response
    except web.HTTPException as exc:  # redirects and the like, raised past the middlewares
        exc.headers["X-Request-Id"] = rid
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the caller went away
        raise
    finally:
        _observe(request, status, time.perf_counter() - started)


def _observe(request: web.Request, status: int, seconds: float) -> None:
    """The request's metrics and its log line."""
    route = request.match_info.route.name or "unmatched"
    request.app[METRICS].request(route, status, seconds)
    if request_log.isEnabledFor(logging.INFO):
        actor = request.get(ACTOR)
        request_log.info(
            "%s %s %s %.1fms",
            request.method,
            route,
            status,
            seconds * 1000,
            extra={
                "request_id": request[REQUEST_ID],
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "role": actor.role if actor is not None else None,
            },
        )


async def _strict(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not host_allowed(request.headers.get("Host"), settings.allowed_hosts):
        response: web.StreamResponse = error_answer(
            400, "unknown_host", "This service does not answer for that host name."
        )
    else:
        response = await handler(request)
    if settings.https:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.headers["X-Request-Id"] = request[REQUEST_ID]
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'")
    elif is_page(request):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("Vary", "Cookie")
    for name, value in API_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
