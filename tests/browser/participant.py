"""Driving the participant pages the three ways people do: with a mouse and JavaScript, by
keyboard alone, and with JavaScript off. Journeys are written once against ``Driver``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

from tests.browser.keyboard import follow, tab_to
from tests.browser.site import PASSWORD, Person, Site

MODES = ("mouse", "keyboard", "no-js")
# (page name, JavaScript on) already checked in this test session.
CHECKED: set[tuple[str, bool]] = set()


@dataclass
class Driver:
    """One person's browser, driven by mouse (JavaScript on or off) or by keyboard alone."""

    site: Site
    who: Person
    mode: str

    @property
    def page(self) -> Page:
        """The person's page."""
        return self.who.page

    def look(self, name: str) -> None:
        """Check the page in front of them (axe, reflow, one h1) and keep a screenshot.

        The keyboard run is shown exactly the pages the mouse run is (JavaScript on), so a
        page already checked with JavaScript on in this session is not checked again; pages
        shown with JavaScript off are always checked as shown."""
        javascript = self.mode != "no-js"
        if (name, javascript) in CHECKED:
            return
        CHECKED.add((name, javascript))
        self.site.look(self.page, f"{name}-{'js' if javascript else 'no-js'}")

    def go(self, path: str) -> None:
        """Type an address (the same however they browse)."""
        self.page.goto(path)

    def fill(self, selector: str, words: str) -> None:
        """Write into a field (replacing what is there)."""
        if self.mode == "keyboard":
            tab_to(self.page, selector)
            self.page.keyboard.press("Control+A")
            self.page.keyboard.type(words)
        else:
            self.page.locator(selector).fill(words)

    def tick(self, selector: str) -> None:
        """Tick a checkbox."""
        if self.mode == "keyboard":
            tab_to(self.page, selector)
            self.page.keyboard.press("Space")
        else:
            self.page.locator(selector).check()
        assert self.page.locator(selector).is_checked()

    def choose(self, name: str, value: str) -> None:
        """Choose a radio answer (by keyboard: Tab into the group, then the arrow keys)."""
        target = f"input[name={name}][value={value}]"
        if self.mode != "keyboard":
            self.page.locator(target).check()
            return
        checked = self.page.locator(f"input[name={name}]:checked")
        tab_to(
            self.page, f"input[name={name}]:checked" if checked.count() else f"input[name={name}]"
        )
        for _ in range(6):
            if self.page.locator(target).evaluate("e => e === document.activeElement"):
                break
            self.page.keyboard.press("ArrowDown")
        self.page.keyboard.press("Space")
        assert self.page.locator(target).is_checked()

    def press(self, selector: str) -> None:
        """Press a button or follow a link, and wait for the page it leads to."""
        if self.mode == "keyboard":
            follow(self.page, selector)
        else:
            with self.page.expect_navigation():
                self.page.locator(selector).first.click()

    def button(self, text: str) -> None:
        """Press the button (or button-like link) in the main content with these words."""
        self.press(f"main :is(button, a.govuk-button):text-is('{text}')")

    def link(self, text: str) -> None:
        """Follow the link in the main content with these words."""
        self.press(f"main a:text-is('{text}')")

    def text(self) -> str:
        """The words of the main content."""
        return self.page.locator("main").inner_text()


def participant(site: Site, key: str, mode: str, width: int = 1024) -> Driver:
    """A participant's own browser, driven in ``mode``."""
    return Driver(site, site.person(key, javascript=mode != "no-js", width=width), mode)


def accept_invitation(me: Driver, token: str) -> None:
    """Set up an account from the invitation; it leads to the information page."""
    me.go(f"/invitation/{token}")
    me.fill("#email", me.who.email)
    me.fill("#password", PASSWORD)
    me.fill("#password_again", PASSWORD)
    me.press("main button[type=submit]")
    me.page.wait_for_url("**/my/welcome")


def joined_by_api(site: Site, case: dict[str, Any], key: str, *, consent: bool) -> str:
    """Set-up a journey does not test: accept the invitation (and have consent recorded by the
    practitioner) through the API. Returns the participant's id."""
    made = case["people"][key]
    site.api(
        "POST",
        f"/api/v1/invitations/{made['invitation_token']}/accept",
        body={"email": f"{key}@people.example", "password": PASSWORD},
    )
    if consent:
        site.api(
            "POST",
            f"/api/v1/cases/{case['case']['id']}/participants/{made['id']}/consent",
            case["lead_token"],
            {
                "information_sheet_version": "2026-1",
                "method": "in_person",
                "accepts_responsibility": made["role"] == "responsible",
            },
        )
    return str(made["id"])


def decide(site: Site, case: dict[str, Any], item_id: str, decision: str, **extra: Any) -> None:
    """The practitioner's decision, through the API (the staff pages are tested elsewhere)."""
    lead = case["lead_token"]
    seen = site.api("GET", f"/api/v1/items/{item_id}", lead)
    body = {"decision": decision, "version_digest": seen["version_digest"], **extra}
    site.api("POST", f"/api/v1/items/{item_id}/decisions", lead, body)


def item_id_from(page: Page) -> str:
    """The item id in the address of an item page."""
    return page.url.split("/my/items/")[1].split("/")[0].split("?")[0]


def write_to_the_other(me: Driver, kind: str, words: str, *, scope: str, response: str) -> None:
    """The writing journey from its first page to Check answers, to the other participant.

    Starts where "Write a letter or message" or "Write a reply" has led."""
    me.choose("kind", kind)
    me.button("Continue")
    me.fill("#body", words)
    me.button("Save and continue")
    me.tick("input[name=to]:not([value=facilitator])")
    me.button("Continue")
    me.choose("scope", scope)
    me.button("Continue")
    me.choose("response", response)
    me.button("Continue")
