"""The few things every handler does: find the runtime, the caller, and the body."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import ValidationError

from shuttle.access import Actor
from shuttle.accounts import authenticate
from shuttle.errors import Invalid, Malformed, NotSignedIn, TooLarge
from shuttle.i18n import N_
from shuttle.runtime import Runtime
from shuttle.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
ACTOR = web.RequestKey("actor", Actor)
ModelT = TypeVar("ModelT")


def runtime(request: web.Request) -> Runtime:
    """The running service's resources."""
    return request.app[RUNTIME]


def client_address(request: web.Request) -> str | None:
    """The caller's address, as guessing is counted against it.

    The peer's, unless the peer is one of ``SHUTTLE_TRUSTED_PROXIES``: then the nearest
    address in ``X-Forwarded-For`` that is not itself a trusted proxy (read from the right,
    so that a caller cannot choose it by sending a header of their own).
    """
    peer = request.remote
    trusted = request.app[SETTINGS].trusted_proxies
    if not trusted or not address_within(peer, trusted):
        return peer
    forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
    for part in reversed(forwarded.split(",")):
        candidate = part.strip()
        if not address_within(candidate, trusted):
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return peer  # not an address: trust nothing further along
    return peer


def address_within(address: str | None, networks: tuple[Any, ...]) -> bool:
    """Whether ``address`` (IPv4, IPv6 or IPv4-mapped IPv6) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def bearer_token(request: web.Request) -> str | None:
    """The bearer token of the request, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def signed_in(request: web.Request) -> Actor:
    """The caller, from their bearer token; NotSignedIn without a valid one."""
    if ACTOR in request:
        return request[ACTOR]
    token = bearer_token(request)
    if token is None or len(token) > 512:
        raise NotSignedIn("Sign in first.", code="not_signed_in")
    actor = await authenticate(runtime(request), token)
    request[ACTOR] = actor
    return actor


async def body(request: web.Request, model: type[ModelT]) -> ModelT:
    """The request body as ``model``: 400 if it is not a JSON object, 422 if it is invalid."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise TooLarge(N_("The request is too large.")) from exc
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Malformed(N_("The request body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise Malformed(N_("The request body must be a JSON object."))
    try:
        return model.model_validate(data)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        fields = {
            ".".join(str(p) for p in error["loc"]) or "body": error["msg"] for error in exc.errors()
        }
        names = ", ".join(fields)
        raise Invalid(
            N_("Some fields are not right: %(names)s."),
            params={"names": names},
            code="invalid_fields",
            fields=fields,
        ) from exc


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
