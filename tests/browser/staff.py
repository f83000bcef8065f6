"""Driving the staff pages three ways with one journey: mouse with JavaScript, keyboard
alone, and without JavaScript. Journeys call ``Driver`` methods, never Playwright directly."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page

from tests.browser.keyboard import MAX_TABS, follow, press, tab_to, type_into

MODES = ("mouse", "keyboard", "no-js")


@dataclass
class Driver:
    """How a journey is driven: ``mouse`` (JavaScript on), ``keyboard`` or ``no-js``."""

    mode: str

    @property
    def javascript(self) -> bool:
        """Whether the browser runs scripts."""
        return self.mode != "no-js"

    def go(self, page: Page, selector: str) -> None:
        """Follow a link or press a button that loads a page."""
        if self.mode == "keyboard":
            follow(page, selector)
        else:
            with page.expect_navigation():
                page.locator(selector).first.click()

    def fill(self, page: Page, selector: str, text: str) -> None:
        """Type into a field."""
        if self.mode == "keyboard":
            page.locator(selector).first.fill("")
            type_into(page, selector, text)
        else:
            page.locator(selector).first.fill(text)

    def choose(self, page: Page, selector: str) -> None:
        """Choose a radio button or tick a checkbox."""
        if self.mode == "keyboard":
            target = page.locator(selector).first
            if target.get_attribute("type") == "radio":
                # Tab reaches the checked radio of a group (or its first); arrows move the choice.
                name = target.get_attribute("name")
                for _ in range(MAX_TABS):
                    page.keyboard.press("Tab")
                    if page.evaluate("document.activeElement.name") == name:
                        break
                else:
                    raise AssertionError(f"Tab never reached the radios {name}")
                for _ in range(10):
                    if target.is_checked():
                        return
                    page.keyboard.press("ArrowDown")
                raise AssertionError(f"arrow keys never reached {selector}")
            press(page, selector, " ")
        else:
            page.locator(selector).first.check()

    def untick(self, page: Page, selector: str) -> None:
        """Untick a ticked checkbox."""
        if self.mode == "keyboard":
            press(page, selector, " ")
        else:
            page.locator(selector).first.uncheck()
        assert not page.locator(selector).first.is_checked()

    def select(self, page: Page, selector: str, value: str) -> None:
        """Choose an option of a select."""
        if self.mode == "keyboard":
            tab_to(page, selector)
        page.locator(selector).first.select_option(value)
