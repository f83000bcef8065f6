"""Signing in and out, languages, and what every page sends, in a real browser."""

from __future__ import annotations

import pytest

from tests import authenticator
from tests.browser.keyboard import follow, type_into
from tests.browser.site import PASSWORD, Site


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_in_by_keyboard_and_out_again(site: Site, javascript: bool) -> None:
    """A practitioner signs in with the keyboard alone, reaches the queue, and signs out."""
    email = site.staff("lee")
    lee = site.person("lee", javascript=javascript)
    page = lee.page
    page.goto("/")
    assert page.url.endswith("/sign-in")
    site.look(page, "sign-in")

    type_into(page, "#email", email)
    type_into(page, "#password", "not the password")
    follow(page, "main button[type=submit]")
    assert page.title().startswith("Error:"), page.content()[-3000:]
    site.look(page, "sign-in-error")
    summary = page.locator(".govuk-error-summary")
    assert "The e-mail address or password is not right" in summary.inner_text()

    page.locator("#password").fill("")
    type_into(page, "#password", PASSWORD)
    follow(page, "main button[type=submit]")
    # Staff enrol an authenticator app at their first sign-in: the key is shown as text.
    site.look(page, "sign-in-enrol")
    secret = page.locator("#secret").inner_text()
    app = authenticator.Authenticator(secret)
    type_into(page, "#code", "000000")
    follow(page, "main button[type=submit]")
    assert "That code is not right" in page.locator(".govuk-error-summary").inner_text()
    type_into(page, "#code", app.code())
    follow(page, "main button[type=submit]")
    site.look(page, "recovery-codes")
    assert page.locator("#recovery-codes code").count() == 10
    follow(page, "main a:has-text('Continue')")
    page.wait_for_url("**/queue")

    follow(page, "button:has-text('Sign out')")
    page.wait_for_url("**/signed-out")
    page.goto("/")
    assert page.url.endswith("/sign-in"), "the session still works after signing out"


def test_session_cookie_is_strict_and_http_only(site: Site) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, not readable by scripts."""
    email = site.staff("lee")
    lee = site.person("lee")
    site.sign_in(lee, email)
    cookies = {c["name"]: c for c in lee.context.cookies()}
    session = cookies["shuttle_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert "shuttle_session" not in lee.page.evaluate("document.cookie")


def test_form_without_its_token_changes_nothing(site: Site) -> None:
    """A sign-out form posted without its CSRF token is refused and the session lives on."""
    email = site.staff("lee")
    lee = site.person("lee")
    site.sign_in(lee, email)
    lee.page.wait_for_url("**/queue")
    lee.page.evaluate("document.querySelector('input[name=csrf_token]').value = 'forged'")
    lee.page.locator("button:has-text('Sign out')").click()
    assert "This form has expired" in lee.page.content()
    lee.page.goto("/")
    assert lee.page.url.endswith("/queue"), "the session ended"


def test_welsh(site: Site) -> None:
    """The language switch sets Welsh for the pages that follow."""
    lee = site.person("lee")
    lee.page.goto("/sign-in")
    lee.page.get_by_role("link", name="Cymraeg").click()
    assert lee.page.locator("html").get_attribute("lang") == "cy"
    site.look(lee.page, "sign-in-cy")
