"""The pages of sign-in's second step, re-authentication and the account page, through the real
HTTP stack with cookies and CSRF tokens (the browser tests walk them with a keyboard)."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp.test_utils import TestClient

from shuttle import totp
from shuttle.runtime import Runtime
from tests import authenticator
from tests.scenario import PASSWORD, Api, add_staff
from tests.test_mfa import age_sessions, live_sessions


def form_token(html: str) -> str:
    """The CSRF token of the page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[-2000:]
    return found[1]


async def post_form(
    client: TestClient[Any, Any], path: str, html: str, **fields: str
) -> tuple[int, str, str]:
    """Send a page's form with its CSRF token; returns status, body and Location."""
    data = {"csrf_token": form_token(html), **fields}
    response = await client.post(path, data=data, allow_redirects=False)
    return response.status, await response.text(), response.headers.get("Location", "")


async def page(client: TestClient[Any, Any], path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, (path, response.status)
    return await response.text()


async def test_staff_sign_in_by_page_enrols_then_asks_for_codes(
    client: Any, runtime: Runtime
) -> None:
    """Password, then the key shown as text with a code box; a wrong code says so; the right
    one gives the session and the recovery codes once; the account page then works."""
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    html = await page(client, "/sign-in")
    status, html, _ = await post_form(
        client, "/sign-in", html, email=email, password=PASSWORD, next="/account"
    )
    assert status == 200 and 'id="secret"' in html and "otpauth://totp/" in html
    secret = re.search(r'id="secret">([A-Z2-7]+)<', html)
    assert secret is not None
    challenge = re.search(r'name="challenge" value="([^"]+)"', html)
    assert challenge is not None
    status, html, _ = await post_form(
        client, "/sign-in/code", html, challenge=challenge[1], code="000000", next="/account"
    )
    assert status == 422 and "That code is not right" in html and secret[1] in html
    code = totp.code_at(secret[1], time.time())
    status, html, _ = await post_form(
        client, "/sign-in/code", html, challenge=challenge[1], code=code, next="/account"
    )
    assert status == 200 and html.count("<code>") == 10 and 'href="/account"' in html
    account = await page(client, "/account")
    assert "Sign out everywhere" in account
    assert await live_sessions(runtime, user_id) == 1
    status, _, location = await post_form(client, "/account/sign-out-everywhere", account)
    assert status == 303 and location == "/signed-out"
    assert await live_sessions(runtime, user_id) == 0
    response = await client.get("/account", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")


async def test_password_change_by_page(client: Any, runtime: Runtime) -> None:
    """A wrong current password and a common new one are refused on the page; a good change
    keeps this session and ends the others."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "supervisor", "Sue Supervisor")
    elsewhere = await api.sign_in(email)
    token = await api.sign_in(email)
    client.session.cookie_jar.update_cookies({"shuttle_session": token})
    account = await page(client, "/account")
    status, html, _ = await post_form(
        client, "/account/password", account, current_password="wrong", new_password="x" * 20
    )
    assert status == 422 and "Your current password is not right" in html
    status, html, _ = await post_form(
        client,
        "/account/password",
        account,
        current_password=PASSWORD,
        new_password="Password2026!",
    )
    assert status == 422 and "too common" in html
    status, _, location = await post_form(
        client,
        "/account/password",
        account,
        current_password=PASSWORD,
        new_password="a brand new passphrase",
    )
    assert status == 303 and location == "/account?done=password"
    assert "Your password has been changed." in await page(client, location)
    await api.call("GET", "/api/v1/session", elsewhere, expect=401)
    assert await live_sessions(runtime, user_id) == 1


async def test_reauthentication_page_asks_staff_for_a_code(client: Any, runtime: Runtime) -> None:
    """The page asks for the password and a code, and goes back where the person was going."""
    api = Api(client)
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    token = await api.sign_in(email)
    await age_sessions(runtime, 60)
    client.session.cookie_jar.update_cookies({"shuttle_session": token})
    html = await page(client, "/reauthenticate?next=/account")
    assert 'name="code"' in html and 'name="password"' in html
    status, html, _ = await post_form(
        client, "/reauthenticate", html, password=PASSWORD, code="000000", next="/account"
    )
    assert status == 422 and "That code is not right" in html
    app = authenticator.app_for(api.database, email)
    assert app is not None
    status, _, location = await post_form(
        client, "/reauthenticate", html, password=PASSWORD, code=app.code(), next="/account"
    )
    assert status == 303 and location == "/account"
    _, done = await api.call("POST", "/api/v1/me/recovery-codes", token, expect=201)
    assert len(done["recovery_codes"]) == 10
