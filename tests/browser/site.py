"""The site under test, as people meet it: accounts, a browser context per person, and checks
of every page (axe, reflow at 320 px, screenshots).

Set-up that a journey does not test goes through the service layer (staff accounts, as
``shuttle users add`` makes them, without a process for each) and the real JSON API (a case to
start from); everything a journey tests goes through the pages. The command line itself is
tested in tests/test_cli.py and, against a served process, in tests/test_api_walkthrough.py.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Page

from shuttle import accounts
from shuttle.bootstrap import open_runtime
from shuttle.settings import PROJECT_ROOT, Settings
from tests import authenticator
from tests.conftest import _in_own_thread, current_backend
from tests.served import Server

PASSWORD = "a long enough browser password"
SCREENSHOTS = Path("test-artifacts/screenshots")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
STAFF_ROLES = {
    "lee": ("practitioner", "Lee Lead"),
    "cole": ("practitioner", "Cole Colleague"),
    "sue": ("supervisor", "Sue Supervisor"),
    "max": ("manager", "Max Manager"),
}
_axe = Axe()
FULL_CHECKS = current_backend() == "sqlite"
# Pages already checked in Welsh in this test session, by name (without -cy, -js, -no-js): the
# same page reached again by another journey or run, or seen in Welsh already, is not checked
# again.
_WELSH_CHECKED: set[str] = set()


@dataclass
class Person:
    """Someone using the site in their own browser context (own cookies)."""

    key: str
    email: str
    context: BrowserContext
    page: Page


@dataclass
class Site:
    """The running service, its people, and the pages seen so far."""

    server: Server
    browser: Browser
    settings: Settings
    staff_ids: dict[str, str] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)
    # GET pages seen: (URL, whose browser) -> screenshot name; visited again in Welsh.
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    checker: Page | None = None

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>."""
        return self.server.base

    # --- set-up through the service layer and the JSON API ---------------------------------

    def staff(self, key: str) -> str:
        """A staff account (made once) for ``key`` in STAFF_ROLES; returns its e-mail.

        Made as ``shuttle users add`` makes it (``accounts.add_user`` on the server's own
        data), in this process: a ``shuttle`` process for each account cost a second or so.
        """
        email = f"{key}@service.example"
        if key not in self.staff_ids:
            role, name = STAFF_ROLES[key]

            async def add() -> str:
                runtime = open_runtime(self.settings)
                try:
                    return await accounts.add_user(
                        runtime, role=role, email=email, name=name, password=PASSWORD
                    )
                finally:
                    await runtime.close()

            self.staff_ids[key] = _in_own_thread(lambda: asyncio.run(add()))
        return email

    def api(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        """One JSON API call; fails the test on an error answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                raw = answer.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()!r}") from None
        return json.loads(raw) if raw else None

    def token(self, email: str) -> str:
        """A bearer token for set-up calls (staff answer the second-factor challenge)."""
        answer = self.api("POST", "/api/v1/session", body={"email": email, "password": PASSWORD})
        if answer.get("mfa_required"):
            body = authenticator.answer(self.base, email, answer)
            answer = self.api("POST", "/api/v1/session/mfa", body=body)
            authenticator.keep_recovery_codes(self.base, email, answer)
        return str(answer["token"])

    def new_case(
        self, *, reference: str = "RJ-2026-0001", sensitive: bool = False
    ) -> dict[str, Any]:
        """A case led by Lee with Sam (harmed) and Rob (responsible) invited, not yet accepted."""
        lead = self.token(self.staff("lee"))
        self.staff("sue")
        case = self.api(
            "POST",
            "/api/v1/cases",
            lead,
            {
                "reference": reference,
                "sensitive_complex": sensitive,
                "supervisor_id": self.staff_ids["sue"],
            },
        )
        people = {}
        for key, role, name, shown in (
            ("sam", "harmed", "Samantha Taylor", "Sam"),
            ("rob", "responsible", "Robert Jones", "Rob"),
        ):
            made = self.api(
                "POST",
                f"/api/v1/cases/{case['id']}/participants",
                lead,
                {"role": role, "display_name": name, "shown_to_others_as": shown},
            )
            people[key] = made
        return {"case": case, "people": people, "lead_token": lead}

    # --- people and pages ------------------------------------------------------------------

    def person(self, key: str, *, javascript: bool = True, width: int = 1024) -> Person:
        """A new browser context for someone (JavaScript on or off)."""
        context = self.browser.new_context(
            base_url=self.base,
            java_script_enabled=javascript,
            viewport={"width": width, "height": 800},
            locale="en-GB",
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        found = Person(key, f"{key}@people.example", context, page)
        self.people.append(found)
        return found

    def sign_in(self, who: Person, email: str | None = None) -> None:
        """Sign in through the sign-in page."""
        page = who.page
        page.goto("/sign-in")
        page.get_by_label("E-mail address").fill(email or who.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        if (email or who.email).endswith("@service.example"):
            self.second_factor(page, email or who.email)

    def second_factor(self, page: Page, email: str) -> None:
        """Staff: the authenticator's code (enrolling from the key shown, the first time)."""
        page.wait_for_url("**/sign-in")
        secret = page.locator("#secret")
        if secret.count():
            challenge = {"enrolment_required": True, "totp": {"secret": secret.inner_text()}}
            authenticator.answer(self.base, email, {**challenge, "challenge": ""})
        app = authenticator.app_for(self.base, email)
        assert app is not None, f"{email} has no authenticator yet"
        page.get_by_label("Code").fill(app.code())
        page.get_by_role("button", name="Continue").click()
        if page.locator("#recovery-codes").count():
            app.recovery_codes = page.locator("#recovery-codes code").all_inner_texts()
            page.get_by_role("link", name="Continue").click()

    def _checker(self) -> Page:
        """A page with JavaScript on, to run axe on what a no-JavaScript browser was shown."""
        if self.checker is None:
            context = self.browser.new_context(viewport={"width": 1024, "height": 800})
            self.checker = context.new_page()
            self.people.append(Person("checker", "", context, self.checker))
        return self.checker

    def look(self, page: Page, name: str) -> None:
        """Check the page in front of ``page`` as a person meets it, and keep a screenshot.

        axe-core: no WCAG 2.2 A/AA violation; at 320 CSS pixels wide nothing scrolls sideways;
        the page has a title and one h1. GET pages are remembered for the Welsh sweep.

        On the PostgreSQL run only the title and heading are checked: what a page looks like
        and how accessible it is depends on the HTML it is sent, not on the database, and the
        SQLite run has checked that; the PostgreSQL run walks the same journeys for what they
        do (and keeps ``make test`` within its time).
        """
        page.wait_for_load_state("load")
        shown = page.locator("body").inner_text()
        assert not re.search(r"</?[a-z][a-z0-9]*[\s>/]", shown), f"{name}: markup shown as text"
        if not FULL_CHECKS:
            assert page.title().strip(), f"{name}: no title"
            assert page.locator("h1").count() == 1, f"{name}: {page.locator('h1').count()} h1s"
            return
        # axe needs timers, which a page without JavaScript does not run: check a copy of
        # exactly what that browser was shown (its scripts taken out) in a page with them on.
        seen_as = page if self._javascript_on(page) else self._copy_of(page)
        assert_accessible(seen_as, name)
        if page.locator("html").get_attribute("lang") == "cy":
            assert_no_english(page, name)
            _WELSH_CHECKED.add(_page_key(name))
        assert page.title().strip(), f"{name}: no title"
        assert page.locator("h1").count() == 1, f"{name}: {page.locator('h1').count()} h1s"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert_reflows(seen_as, name)
        if _was_get(page):
            owner = next((p.key for p in self.people if p.page == page), "")
            self.seen.setdefault((page.url, owner), name)

    @staticmethod
    def _javascript_on(page: Page) -> bool:
        return page.evaluate("document.body.classList.contains('govuk-frontend-supported')")

    def _copy_of(self, page: Page) -> Page:
        html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.DOTALL)
        checker = self._checker()
        # Served at the same address (same origin, so its stylesheet loads as it did there).
        url = page.url.split("#")[0]
        checker.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        try:
            checker.goto(url, wait_until="load")
        finally:
            checker.unroute(url)
        return checker

    def sweep_welsh(self) -> None:
        """Every GET page the test saw, again in Welsh, in the browser of whoever saw it."""
        for (url, owner), name in list(self.seen.items()):
            key = _page_key(name)
            if key in _WELSH_CHECKED:
                continue
            _WELSH_CHECKED.add(key)
            who = next(p for p in self.people if p.key == owner)
            who.context.add_cookies([{"name": "shuttle_lang", "value": "cy", "url": self.base}])
            try:
                who.page.goto(url)
                assert who.page.locator("html").get_attribute("lang") == "cy", f"{name}: not Welsh"
                self.look(who.page, f"{name}-cy")
            finally:
                who.context.clear_cookies(name="shuttle_lang")

    def close(self) -> None:
        """Close every browser context."""
        for who in self.people:
            who.context.close()


def checked_in_welsh(name: str) -> bool:
    """Whether the page called ``name`` has been checked in Welsh in this test session."""
    return _page_key(name) in _WELSH_CHECKED


def _page_key(name: str) -> str:
    """A page's name without how it was browsed or its language ("-cy", "-js", "-no-js")."""
    return re.sub(r"(-cy)?(-(js|no-js))?(-cy)?$", "", name)


def assert_accessible(page: Page, name: str) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the page."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"


# Words the GOV.UK and MOJ Frontend scripts show unless a page gives its own (not in our
# catalogue, so named here): a Welsh page must have passed them Welsh words.
SCRIPT_ENGLISH = (
    "(column headers with buttons are sortable)",
    "Sort by ",
    "Show password",
    "Hide password",
    "Your password is visible",
    "Your password is hidden",
    "characters remaining",
    "characters too many",
    "Exit this page",
)
PLACEHOLDERS = re.compile(r"%\(\w+\)s|%s|%\{\w+\}|\{\w+\}")
# Everything a person meets on the page as text: what is shown (innerText), the title, the
# options of selects, the words given to assistive technology and to scripts (labels, titles,
# the GOV.UK and MOJ components' words) -- less what people wrote (.app-letter) and anything
# marked as being in another language (the language switch's "English").
PAGE_WORDS = """() => {
  const elsewhere = [...document.querySelectorAll("body [lang]:not([lang|=cy]), .app-letter")];
  const foreign = new Set(elsewhere.flatMap(e => e.innerText.split("\\n")));
  const words = document.body.innerText.split("\\n").filter(line => !foreign.has(line));
  words.push(document.title);
  for (const option of document.querySelectorAll("option")) words.push(option.textContent);
  for (const element of document.querySelectorAll("body *")) {
    if (elsewhere.some(e => e.contains(element))) continue;
    for (const attribute of element.attributes) {
      const name = attribute.name;
      if (["aria-label", "title", "placeholder", "alt"].includes(name)
          || name.startsWith("data-i18n") || /^data-.*-(text|message)$/.test(name)
          || (name === "value" && ["submit", "button"].includes(element.type))) {
        words.push(attribute.value);
      }
    }
  }
  return words;
}"""


@functools.cache
def _english() -> tuple[list[tuple[str, re.Pattern[str]]], list[tuple[str, re.Pattern[str]]]]:
    """The catalogue's English, as patterns: (whole, part). ``whole``: every message whose
    Welsh differs from it, to match a whole piece of text (its placeholders match anything);
    ``part``: messages of two words or more, to find inside a longer piece of text."""
    with (PROJECT_ROOT / "web/locale/cy/LC_MESSAGES/messages.po").open("rb") as source:
        catalogue = read_po(source, locale="cy")
    whole, part = [], []
    for message in catalogue:
        if not message.id or not message.string:
            continue
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        welsh = message.string if isinstance(message.string, tuple) else (message.string,)
        welsh_shown = [PLACEHOLDERS.sub("X", " ".join(w.split())) for w in welsh if w]
        for words in english:
            literal = PLACEHOLDERS.sub(" ", words)
            if len(re.findall(r"[A-Za-z]", literal)) < 4:
                continue  # placeholders joined by a sign or a little word ("and")
            pieces = [re.escape(" ".join(p.split())) for p in PLACEHOLDERS.split(words)]
            body = ".+?".join(pieces).replace(r"\ ", r"\s+")
            pattern = re.compile(r"\s*" + body + r"\s*")
            if any(pattern.fullmatch(w) for w in welsh_shown):
                continue  # the Welsh is the same words (a name, a code)
            whole.append((words, pattern))
            inside = re.compile(r"(?<![A-Za-z])" + body + r"(?![A-Za-z])")
            if len(literal.split()) >= 2 and not any(inside.search(w) for w in welsh_shown):
                part.append((words, inside))
    return whole, part


def english_shown(texts: list[str]) -> list[str]:
    """Which of ``texts`` (pieces of a Welsh page) are English from the catalogue, or the
    English of the GOV.UK and MOJ scripts."""
    whole, part = _english()
    found = []
    for raw in texts:
        text = " ".join(raw.split())
        if not text:
            continue
        hit = next((w for w, p in whole if p.fullmatch(text)), None)
        hit = hit or next((w for w, p in part if p.search(text)), None)
        hit = hit or next((w for w in SCRIPT_ENGLISH if w in text), None)
        if hit:
            found.append(f"{text!r} (English: {hit!r})")
    return found


def assert_no_english(page: Page, name: str) -> None:
    """A page served in Welsh shows no English the catalogue has words for, and none from the
    Frontend scripts. Names and what people wrote are not in the catalogue, so they pass."""
    found = english_shown(page.evaluate(PAGE_WORDS))
    assert not found, f"{name}: English on a Welsh page:\n" + "\n".join(found)


def assert_reflows(page: Page, name: str) -> None:
    """At 320 CSS pixels wide the page does not scroll sideways (WCAG 1.4.10)."""
    size = page.viewport_size or {"width": 1024, "height": 800}
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{name}: {width} CSS pixels wide at a 320 pixel viewport"
    finally:
        page.set_viewport_size(size)


def _was_get(page: Page) -> bool:
    """Whether the page now shown came from a GET (safe to visit again)."""
    kind = page.evaluate("(performance.getEntriesByType('navigation')[0] || {}).type || 'navigate'")
    return (
        kind != "back_forward"
        and not re.search(r"[?&]lang=", page.url)
        and (
            page.evaluate("document.querySelector('meta[name=shuttle-method]')?.content || 'GET'")
            == "GET"
        )
    )
