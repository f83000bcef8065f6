"""Driving a page by keyboard alone, as someone who cannot use a mouse would."""

from __future__ import annotations

from playwright.sync_api import Page

MAX_TABS = 60


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus (and is visible)."""
    target = page.locator(selector).first
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            assert target.is_visible(), f"{selector} has the focus but cannot be seen"
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {selector}")


def type_into(page: Page, selector: str, text: str) -> None:
    """Tab to a field and type into it."""
    tab_to(page, selector)
    page.keyboard.type(text)


def press(page: Page, selector: str, key: str = "Enter") -> None:
    """Tab to a control and press a key on it (Enter for links and buttons, Space for radios)."""
    tab_to(page, selector)
    page.keyboard.press(key)


def follow(page: Page, selector: str) -> None:
    """Tab to a link or button and press Enter, waiting for the page it leads to."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")
