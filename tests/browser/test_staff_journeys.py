"""The practitioners' journeys end to end in a browser: the case, the queue, the review.

One journey, driven three ways (mouse with JavaScript, keyboard alone at 320 px, no
JavaScript): a practitioner opens a case, adds and invites the participants, records their
consent, sets the watch list, writes on Rob's behalf with the read-back declaration, and
vets the queue: "Review next item" claims, a decision without a reason is refused, a return
and an approval are recorded. Sam then reads what was approved with its attribution (through
the API: the participant pages are tested on their own).
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page

from tests.browser.site import Site
from tests.browser.staff import MODES, Driver

REFERENCE = "RJ-2026-0420"


def _token_of(page: Page) -> str:
    link = page.locator("#invitation-link").inner_text()
    return link.rsplit("/", 1)[1]


def _open_case(site: Site, page: Page, drive: Driver, mode: str) -> str:
    """Open a case through the pages; returns its id."""
    page.goto("/cases")
    site.look(page, f"staff-cases-{mode}")
    drive.go(page, "#open-case")
    site.look(page, f"staff-case-new-{mode}")
    drive.go(page, "#create-case")
    assert page.title().startswith("Error:")
    site.look(page, f"staff-case-new-error-{mode}")
    drive.fill(page, "#reference", f"{REFERENCE}-{mode}")
    drive.select(page, "#supervisor", site.staff_ids["sue"])
    drive.go(page, "#create-case")
    assert "The case has been opened" in page.content()
    site.look(page, f"staff-case-{mode}")
    return page.url.rsplit("/", 1)[1].split("?")[0]


def _add_participant(
    site: Site, page: Page, drive: Driver, mode: str, role: str, name: str, shown: str
) -> str:
    drive.go(page, "#add-participant")
    site.look(page, f"staff-participant-new-{mode}")
    drive.choose(page, f"input[name=role][value={role}]")
    drive.fill(page, "#display_name", name)
    drive.fill(page, "#shown_to_others_as", shown)
    drive.go(page, "#add-participant")
    site.look(page, f"staff-invitation-{mode}")
    token = _token_of(page)
    drive.go(page, "#back-to-case")
    return token


def _record_consent(site: Site, page: Page, drive: Driver, mode: str, name: str) -> None:
    drive.go(page, f"a:has-text('Record consent'):has-text('{name}')")
    site.look(page, f"staff-consent-{mode}")
    drive.choose(page, "input[name=method][value=in_person]")
    if page.locator("input[name=accepts_responsibility]").count():
        drive.choose(page, "input[name=accepts_responsibility][value=yes]")
    drive.go(page, "#record-consent")
    assert "Consent has been recorded" in page.content()


def _write_for_rob(site: Site, page: Page, drive: Driver, mode: str) -> None:
    drive.go(page, "#write")
    site.look(page, f"staff-write-{mode}")
    drive.go(page, "#save-draft")
    assert page.title().startswith("Error:")
    site.look(page, f"staff-write-error-{mode}")
    drive.choose(page, "input[name=on_behalf_of] >> nth=1")
    drive.choose(page, "input[name=kind][value=letter]")
    drive.fill(page, "#body", "I think about that night in Leeds. Call me on 07700 900123.")
    drive.choose(page, "input[name=scope][value=verbatim]")
    drive.choose(page, "input[name=recipients] >> nth=0")
    drive.choose(page, "input[name=received_by][value=handwritten]")
    today = datetime.date.today()
    drive.fill(page, "#read_back-day", str(today.day))
    drive.fill(page, "#read_back-month", str(today.month))
    drive.fill(page, "#read_back-year", str(today.year))
    drive.choose(page, "#declaration")
    drive.go(page, "#save-draft")
    assert "The draft has been saved" in page.content(), page.content()[-2000:]
    drive.go(page, "button:has-text('Send to be checked')")
    assert "The item has been sent to be checked" in page.content()


@pytest.mark.parametrize("mode", MODES)
def test_practitioner_journey(site: Site, mode: str) -> None:
    """Case, participants, consent, assisted writing, the queue and the review, end to end."""
    drive = Driver(mode)
    email = site.staff("lee")
    site.staff("sue")
    lee = site.person("lee", javascript=drive.javascript, width=320 if mode == "keyboard" else 1024)
    page = lee.page
    site.sign_in(lee, email)
    page.wait_for_url("**/queue")
    site.look(page, f"staff-queue-empty-{mode}")

    case_id = _open_case(site, page, drive, mode)
    sam_token = _add_participant(site, page, drive, mode, "harmed", "Samantha Taylor", "Sam")
    rob_token = _add_participant(site, page, drive, mode, "responsible", "Robert Jones", "Rob")
    _record_consent(site, page, drive, mode, "Samantha Taylor")
    _record_consent(site, page, drive, mode, "Robert Jones")
    drive.go(page, "#change-watch-list")
    site.look(page, f"staff-watch-list-{mode}")
    drive.fill(page, "#terms", "Leeds")
    drive.go(page, "#save-watch-list")
    assert "The watch list has been changed" in page.content()

    # Both accept their invitations; Sam is willing to receive (set-up through the API).
    tokens = {}
    for key, token in (("sam", sam_token), ("rob", rob_token)):
        address = f"{key}-{mode}@people.example"
        site.api(
            "POST",
            f"/api/v1/invitations/{token}/accept",
            body={"email": address, "password": "a long enough browser password"},
        )
        tokens[key] = site.token(address)
    site.api(
        "PUT",
        "/api/v1/me/preferences",
        tokens["sam"],
        {"receive": "yes", "unwanted_topics": ["football"], "delivery": "portal"},
    )
    me = site.api("GET", "/api/v1/me", tokens["sam"])
    # Rob writes one himself (his own words) and Lee writes one on his behalf.
    own = site.api(
        "POST",
        f"/api/v1/cases/{case_id}/items",
        tokens["rob"],
        {
            "kind": "letter",
            "body": "I am sorry. Nobody should talk about football now.",
            "sharing": {"scope": "verbatim", "recipient_ids": [me["id"]]},
        },
    )
    site.api("POST", f"/api/v1/items/{own['id']}/submit", tokens["rob"])
    page.goto(f"/cases/{case_id}")
    _write_for_rob(site, page, drive, mode)
    site.look(page, f"staff-case-items-{mode}")

    # The queue: two unclaimed; "Review next item" claims Rob's own (the oldest).
    drive.go(page, "header a[href='/']")  # the service's name leads a practitioner to the queue
    assert page.locator("[data-count=unclaimed]").inner_text().strip() == "2"
    site.look(page, f"staff-queue-{mode}")
    drive.fill(page, "#reference", "no such case")
    drive.go(page, "#apply-filters")
    assert "There are no items here" in page.content()
    drive.go(page, "#review-next")
    assert re.search(r"/queue/items/[\w-]+$", page.url)
    assert page.locator("#attribution").inner_text() == "In Rob's own words"
    assert "You are reviewing this item" in page.content()
    assert page.locator("mark.app-flag").count() >= 1  # the unwanted topic, marked
    site.look(page, f"staff-review-{mode}")

    # A withholding without a reason is refused and changes nothing.
    drive.choose(page, "input[name=decision][value=withhold]")
    drive.go(page, "#record-decision")
    assert page.title().startswith("Error:")
    assert "Choose why you are withholding it" in page.locator(".govuk-error-summary").inner_text()
    site.look(page, f"staff-review-error-{mode}")
    drive.choose(page, "input[name=decision][value=approve]")
    drive.fill(page, "#internal-note", "Checked with the victim liaison officer.")
    drive.go(page, "#record-decision")
    assert "Your decision has been recorded" in page.content()

    # The assisted item: its flags are marked, its read-back declaration shown; approve it.
    drive.go(page, "#review-next")
    assert (
        page.locator("#attribution").inner_text()
        == "Rob's words, written down with help from someone else"
    )
    assert "Read back to them on" in page.content()
    assert page.locator("mark.app-flag").count() >= 2  # the watch-list word and the phone number
    drive.choose(page, "input[name=decision][value=return]")
    drive.select(page, "#return-reason", "identifying_details")
    drive.fill(page, "#note", "Please take out the phone number.")
    drive.go(page, "#record-decision")
    assert "Your decision has been recorded" in page.content()
    drive.go(page, "a.moj-sub-navigation__link[href='/queue?tab=returned']")
    assert page.locator("[data-count=returned]").inner_text().strip() == "1"
    site.look(page, f"staff-queue-returned-{mode}")

    # Sam reads Rob's own letter, with its attribution in words.
    inbox = site.api("GET", "/api/v1/inbox", tokens["sam"])["items"]
    assert [i["attribution"]["label"] for i in inbox] == ["In Rob's own words"]
    assert "Checked with" not in str(inbox)

    # The case page in Welsh.
    page.goto(f"/cases/{case_id}")
    page.goto(f"/language/cy?next=/cases/{case_id}")
    assert page.locator("html").get_attribute("lang") == "cy"
    site.look(page, f"staff-case-cy-{mode}")
    page.goto("/queue")
    site.look(page, f"staff-queue-cy-{mode}")
