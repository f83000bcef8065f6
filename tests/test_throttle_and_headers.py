"""Guessing held back per account and per address with growing delays (the same answer for
accounts that exist and those that do not), and the headers and host check on every answer."""

from __future__ import annotations

import secrets
from datetime import timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from pytest_aiohttp import AiohttpClient
from sqlalchemy import update
from sqlmodel import select

from shuttle import throttle
from shuttle.app import create_app
from shuttle.middleware import host_allowed
from shuttle.models import SignInThrottle
from shuttle.runtime import Runtime
from shuttle.settings import Settings
from tests import authenticator
from tests.conftest import make_settings
from tests.scenario import PASSWORD, Api, add_staff
from tests.test_accounts import assert_error

WRONG = "not the right password at all"


async def app_with(aiohttp_client: AiohttpClient, settings: Settings, **changes: Any) -> Api:
    """The app on this test's database with some settings changed."""
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(settings.model_copy(update=changes))
    )
    return Api(client)


async def attempt(api: Api, email: str, password: str = WRONG) -> tuple[int, Any, str | None]:
    """One password sign-in: status, body and Retry-After."""
    response = await api.client.post("/api/v1/session", json={"email": email, "password": password})
    return response.status, await response.json(), response.headers.get("Retry-After")


async def unblock(runtime: Runtime) -> None:
    """As if the delays had passed."""
    async with runtime.write() as tx:
        await tx.session.exec(
            update(SignInThrottle).values(blocked_until=tx.now - timedelta(seconds=1))
        )


async def delays(runtime: Runtime) -> list[float]:
    async with runtime.read() as tx:
        rows = (await tx.session.exec(select(SignInThrottle))).all()
    return sorted(
        (row.blocked_until - row.last_failure_at).total_seconds()
        for row in rows
        if row.blocked_until is not None
    )


async def test_an_account_is_held_back_with_growing_delays_whether_or_not_it_exists(
    aiohttp_client: AiohttpClient, settings: Settings, runtime: Runtime
) -> None:
    """After 3 failures (configured), 429 with Retry-After, for a real account and an unknown
    one alike, even for the right password; the delay doubles; success starts the count again."""
    api = await app_with(
        aiohttp_client,
        settings,
        sign_in_free_failures_account=3,
        sign_in_free_failures_address=1000,
    )
    _, known = await add_staff(runtime, "practitioner", "Pat Practitioner")
    unknown = "nobody@service.example"
    answers = {}
    for email in (known, unknown):
        for _ in range(3):
            status, data, _ = await attempt(api, email)
            assert_error(data, status, 401)
        answers[email] = await attempt(api, email)
    assert answers[known] == answers[unknown]
    status, data, retry_after = answers[known]
    assert assert_error(data, status, 429) == "too_many_attempts" and retry_after == "1"
    assert (await attempt(api, known, PASSWORD))[0] == 429  # no oracle while held back
    for expected in (2.0, 4.0, 8.0):
        await unblock(runtime)
        await attempt(api, known)
        assert max(await delays(runtime)) == expected
    await unblock(runtime)
    await api.sign_in(known)  # password and code: the account's count is gone
    async with runtime.read() as tx:
        rows = (await tx.session.exec(select(SignInThrottle))).all()
    accounts_held = [row.key for row in rows if row.key.startswith("account:")]
    assert len(accounts_held) == 1  # the unknown address's count; the known one's is gone
    assert not any(known in row.key or unknown in row.key for row in rows)


async def test_an_address_is_held_back_across_accounts(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    """Spraying one password over many accounts from one address: 429 after the free ones."""
    api = await app_with(
        aiohttp_client, settings, sign_in_free_failures_account=100, sign_in_free_failures_address=4
    )
    for n in range(4):
        status, data, _ = await attempt(api, f"person{n}@service.example")
        assert_error(data, status, 401)
    status, data, retry_after = await attempt(api, "someone.new@service.example")
    assert_error(data, status, 429)
    assert retry_after is not None and int(retry_after) >= 1


async def spray(api: Api, forwarded: str, tries: int) -> None:
    """Wrong passwords on fresh accounts, each sent with this X-Forwarded-For."""
    for _ in range(tries):
        response = await api.client.post(
            "/api/v1/session",
            json={"email": f"p{secrets.token_hex(4)}@service.example", "password": WRONG},
            headers={"X-Forwarded-For": forwarded},
        )
        assert response.status in (401, 429)


async def failures_by_address(runtime: Runtime, *addresses: str) -> dict[str, int]:
    """The failed sign-ins counted against each address (0 for none)."""
    async with runtime.read() as tx:
        counted = {}
        for address in addresses:
            (key,) = await throttle.keys_for(tx, None, address)
            row = await tx.session.get(SignInThrottle, key)
            counted[address] = row.failures if row is not None else 0
    return counted


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    aiohttp_client: AiohttpClient, settings: Settings, runtime: Runtime
) -> None:
    """Several processes behind a reverse proxy: the caller's address comes from
    X-Forwarded-For when (and only when) the peer is a trusted proxy, read from the right."""
    limits = {"sign_in_free_failures_account": 100, "sign_in_free_failures_address": 100}
    proxied = await app_with(
        aiohttp_client, settings, trusted_proxies=(ip_network("127.0.0.0/8"),), **limits
    )
    await spray(proxied, "203.0.113.7", 3)
    await spray(proxied, "198.51.100.9", 2)
    # A caller cannot pick their address by sending a header of their own: the proxy appends
    # the address it saw, and that (the rightmost not a trusted proxy) is the one counted.
    await spray(proxied, "198.51.100.77, 203.0.113.7, 127.0.0.2", 1)
    addresses = ("203.0.113.7", "198.51.100.9", "198.51.100.77", "127.0.0.1")
    assert await failures_by_address(runtime, *addresses) == {
        "203.0.113.7": 4,
        "198.51.100.9": 2,
        "198.51.100.77": 0,
        "127.0.0.1": 0,
    }
    # Without the setting the header counts for nothing: everyone is the peer.
    direct = await app_with(aiohttp_client, settings, **limits)
    await spray(direct, "192.0.2.1", 2)
    counted = await failures_by_address(runtime, "192.0.2.1", "127.0.0.1")
    assert counted == {"192.0.2.1": 0, "127.0.0.1": 2}


async def test_wrong_codes_count_against_the_account(
    aiohttp_client: AiohttpClient, settings: Settings, runtime: Runtime
) -> None:
    """Guessing the second factor is throttled like guessing the password."""
    api = await app_with(
        aiohttp_client,
        settings,
        sign_in_free_failures_account=2,
        sign_in_free_failures_address=1000,
    )
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    await api.sign_in(email)
    for _ in range(2):
        _, first, _ = await attempt(api, email, PASSWORD)
        body = {"challenge": first["challenge"], "code": "000000"}
        status, data = await api.call("POST", "/api/v1/session/mfa", body=body)
        assert_error(data, status, 401)
    status, data, _ = await attempt(api, email, PASSWORD)
    assert_error(data, status, 429)
    assert authenticator.app_for(api.database, email) is not None


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("127.0.0.1:8080", (), True),
        ("localhost", (), True),
        ("[::1]:8080", (), True),
        ("evil.example", (), False),
        ("127.0.0.1.evil.example", (), False),
        (None, (), False),
        ("shuttle.example", ("shuttle.example",), True),
        ("shuttle.example:443", ("shuttle.example",), True),
        ("shuttle.example:8443", ("shuttle.example:443",), False),
        ("a.shuttle.example", ("*.shuttle.example",), True),
        ("shuttle.example", ("*.shuttle.example",), False),
        ("evilshuttle.example", ("*.shuttle.example",), False),
        ("127.0.0.1", ("shuttle.example",), False),
        ("shuttle.example:x", ("shuttle.example",), False),
    ],
)
def test_host_header_is_checked_against_the_configuration(
    host: str | None, allowed: tuple[str, ...], ok: bool
) -> None:
    """Only configured host names (local ones in development) are served."""
    assert host_allowed(host, allowed) is ok


async def test_an_unknown_host_gets_400_everywhere(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    """A request naming another host is refused before any handler runs, pages and API alike."""
    api = await app_with(aiohttp_client, settings, allowed_hosts=("shuttle.example",))
    for path in ("/sign-in", "/api/v1/session", "/healthz"):
        response = await api.client.get(path, headers={"Host": "evil.example"})
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "unknown_host"
        good = await api.client.get(path, headers={"Host": "shuttle.example"})
        assert good.status != 400


def test_production_must_name_its_hosts(tmp_path: Any) -> None:
    """Production settings without SHUTTLE_ALLOWED_HOSTS are refused at start-up."""
    with pytest.raises(ValidationError, match="ALLOWED_HOSTS"):
        make_settings(tmp_path, None, environment="production")
    make_settings(tmp_path, None, environment="production", allowed_hosts=("shuttle.example",))


@pytest.mark.parametrize("https", [False, True])
async def test_strict_headers_on_pages_and_api(
    aiohttp_client: AiohttpClient, settings: Settings, https: bool
) -> None:
    """CSP with frame-ancestors 'none', nosniff, no referrer, no caching; HSTS over TLS only."""
    api = await app_with(aiohttp_client, settings, https=https)
    for path in ("/sign-in", "/api/v1/session", "/no-such-page", "/api/openapi.json"):
        response = await api.client.get(path)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert ("Strict-Transport-Security" in headers) is https
        if https:
            assert headers["Strict-Transport-Security"].startswith("max-age=63072000")


async def test_request_bodies_over_the_limit_are_refused(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    """413 for a body over ``max_body_bytes``, pages and API alike."""
    api = await app_with(aiohttp_client, settings, max_body_bytes=2048)
    big = "x" * 4096
    response = await api.client.post(
        "/api/v1/session", json={"email": "a@b.example", "password": big}
    )
    assert response.status == 413
    response = await api.client.post("/sign-in", data={"email": big})
    assert response.status in (400, 413)


async def test_throttle_rows_hold_no_email_or_address(client: Any, runtime: Runtime) -> None:
    """The throttle keys are keyed hashes: neither e-mail nor address appears in them."""
    api = Api(client)
    await attempt(api, "someone@service.example")
    async with runtime.read() as tx:
        keys = [row.key for row in (await tx.session.exec(select(SignInThrottle))).all()]
    assert len(keys) == 2
    assert not any("someone" in key or "127.0.0.1" in key for key in keys)
    assert sorted(k.split(":")[0] for k in keys) == ["account", "address"]
