"""Domain errors to answers, security headers, request ids. One place for each."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from sqlalchemy.exc import DBAPIError, IntegrityError

from shuttle.audit import AuditIntegrityError
from shuttle.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    NotSignedIn,
    RateLimited,
    ShuttleError,
    TooLarge,
)

log = logging.getLogger("shuttle.http")
REQUEST_ID = web.RequestKey("request_id", str)
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
API_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


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
    try:
        return await handler(request)
    except ShuttleError as exc:
        extra = {"fields": exc.fields} if isinstance(exc, Invalid) and exc.fields else {}
        return error_answer(_status(exc), exc.code, exc.message, **extra)
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


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request id on every answer, and the strict headers on everything personal."""
    request[REQUEST_ID] = request.headers.get("X-Request-Id", "")[:64] or secrets.token_hex(8)
    response = await handler(request)
    response.headers["X-Request-Id"] = request[REQUEST_ID]
    for name, value in API_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class AccessLogger(AbstractAccessLogger):
    """Logs the route's name, never its path: paths carry invitation tokens and ids."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        """One line per request: method, route name, status, milliseconds, request id."""
        route = getattr(getattr(request, "match_info", None), "route", None)
        name = getattr(route, "name", None) or "unmatched"
        self.logger.info(
            "%s %s %s %.1fms %s",
            request.method,
            name,
            response.status,
            time * 1000,
            request.get(REQUEST_ID, "-"),
        )

    @property
    def enabled(self) -> bool:
        """Whether the logger would write anything."""
        return self.logger.isEnabledFor(logging.INFO)
