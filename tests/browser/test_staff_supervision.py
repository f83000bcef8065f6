"""Colleagues and supervisors: live queue counts, claims seen by others, a stale decision,
the supervisor's escalation queue, the case record, requests for records (reviewed, approved
by two people), what managers see and managers opening a case -- by mouse, by keyboard alone,
and without JavaScript.

Set-up (participants joining, writing, a colleague's decision) goes through the JSON API; the
journey under test goes through the pages. The live counts are also checked on the wire:
the stream carries numbers for the caller's own queue and nothing from other cases.
"""

from __future__ import annotations

import io
import json
import socket
import zipfile
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.keyboard import tab_to
from tests.browser.site import PASSWORD, Person, Site, assert_no_english, checked_in_welsh
from tests.browser.staff import MODES, Driver

Case = dict[str, Any]


def _join(site: Site, made: Case, *, tag: str = "") -> dict[str, str]:
    """Sam and Rob accept, consent is recorded, Sam is willing; returns their tokens."""
    lead, case_id = made["lead_token"], made["case"]["id"]
    tokens = {}
    for key, person in made["people"].items():
        email = f"{key}{tag}@people.example"
        site.api("POST", f"/api/v1/invitations/{person['invitation_token']}/accept",
                 body={"email": email, "password": PASSWORD})  # fmt: skip
        site.api("POST", f"/api/v1/cases/{case_id}/participants/{person['id']}/consent", lead,
                 {"information_sheet_version": "2026-1", "method": "in_person",
                  "accepts_responsibility": key == "rob"})  # fmt: skip
        tokens[key] = site.token(email)
    site.api("PUT", "/api/v1/me/preferences", tokens["sam"],
             {"receive": "yes", "unwanted_topics": [], "delivery": "portal"})  # fmt: skip
    return tokens


def _letter(site: Site, made: Case, token: str, body: str) -> str:
    sam = made["people"]["sam"]["id"]
    item = site.api("POST", f"/api/v1/cases/{made['case']['id']}/items", token,
                    {"kind": "letter", "body": body,
                     "sharing": {"scope": "verbatim", "recipient_ids": [sam]}})  # fmt: skip
    site.api("POST", f"/api/v1/items/{item['id']}/submit", token)
    return str(item["id"])


# (page name, JavaScript on) already checked in this test session: the keyboard run is shown
# the pages the mouse run was, so it does not check them again.
CHECKED: set[tuple[str, bool]] = set()


def look(site: Site, page: Page, drive: Driver, name: str) -> None:
    """Check the page (axe, reflow, one h1) once per test session and JavaScript state."""
    if (name, drive.javascript) in CHECKED:
        return
    CHECKED.add((name, drive.javascript))
    site.look(page, f"{name}-{'js' if drive.javascript else 'no-js'}")


def welsh(site: Site, who: Person, drive: Driver, name: str) -> None:
    """Check the page in front of them in Welsh (once in a test session), then go back."""
    if checked_in_welsh(name):
        return
    who.context.add_cookies([{"name": "shuttle_lang", "value": "cy", "url": site.base}])
    try:
        who.page.reload()
        assert who.page.locator("html").get_attribute("lang") == "cy"
        site.look(who.page, f"{name}-cy-{'js' if drive.javascript else 'no-js'}")
    finally:
        who.context.add_cookies([{"name": "shuttle_lang", "value": "en", "url": site.base}])
        who.page.reload()


def sorted_in_welsh(site: Site, who: Person) -> None:
    """The queue's sortable table, in Welsh: sorting it is announced in Welsh."""
    who.context.add_cookies([{"name": "shuttle_lang", "value": "cy", "url": site.base}])
    try:
        who.page.reload()
        who.page.locator("th[aria-sort] button").first.click()
        status = who.page.locator("table + [role=status]").inner_text()
        assert status.startswith("Wedi'i drefnu yn ôl"), status
        assert_no_english(who.page, "staff-queue-sorted-cy")
    finally:
        who.context.add_cookies([{"name": "shuttle_lang", "value": "en", "url": site.base}])
        who.page.reload()


def download(page: Page, drive: Driver, selector: str) -> bytes:
    """Follow a download link (by keyboard: Tab to it and press Enter); the file's bytes."""
    with page.expect_download() as download:
        if drive.mode == "keyboard":
            tab_to(page, selector)
            page.keyboard.press("Enter")
        else:
            page.locator(selector).click()
    return download.value.path().read_bytes()


def test_colleagues_supervisor_and_records(site: Site, mode: str) -> None:
    """Live counts, a colleague's claim, a stale decision, an escalation decided, records, and
    a manager opening a case: everyone browsing one way (mouse, keyboard alone, or without
    JavaScript, where the queue's counts change when the page is loaded again)."""
    drive = Driver(mode)
    made = site.new_case()
    lead, case_id = made["lead_token"], made["case"]["id"]
    site.staff("cole")
    site.api("POST", f"/api/v1/cases/{case_id}/practitioners", lead,
             {"user_id": site.staff_ids["cole"], "role": "co_worker",
              "conflict_of_interest": {"declared": False}})  # fmt: skip
    tokens = _join(site, made)
    first = _letter(site, made, tokens["rob"], "I want to explain what happened.")
    second = _letter(site, made, tokens["rob"], "I have thought about it every day.")

    lee = site.person("lee", javascript=drive.javascript)
    site.sign_in(lee, site.staff("lee"))
    lee.page.wait_for_url("**/queue")
    assert lee.page.locator("[data-count=unclaimed]").inner_text().strip() == "2"
    if drive.javascript:
        lee.page.wait_for_selector("[data-live-seen]", state="attached")  # the stream is open
    third = _letter(site, made, tokens["rob"], "One more thing.")
    if drive.javascript:
        expect(lee.page.locator("[data-count=unclaimed]")).to_have_text("3")
        assert "The queue has changed" in lee.page.locator("#queue-live").inner_text()
        assert lee.page.locator("tbody tr").count() == 2, "the table changed under the cursor"
    else:
        lee.page.reload()
        assert lee.page.locator("[data-count=unclaimed]").inner_text().strip() == "3"
    if mode == "mouse":
        sorted_in_welsh(site, lee)

    # Cole claims the first item from the table.
    cole = site.person("cole", javascript=drive.javascript)
    site.sign_in(cole, site.staff("cole"))
    cole.page.wait_for_url("**/queue")
    drive.go(cole.page, f"form[action='/queue/items/{first}/claim'] button")
    assert cole.page.url.endswith(f"/queue/items/{first}")
    look(site, cole.page, drive, "staff-review-claimed-by-me")

    # Lee sees Cole's claim, and may still decide: he passes it to the supervisor.
    drive.go(lee.page, "a.moj-sub-navigation__link[href='/queue?tab=others']")
    assert "Cole Colleague is reviewing this" in lee.page.content()
    look(site, lee.page, drive, "staff-queue-others")
    drive.go(lee.page, f"main a[href='/queue/items/{first}']")
    assert "Cole Colleague is reviewing this item" in lee.page.content()
    drive.choose(lee.page, "input[name=decision][value=escalate]")
    drive.go(lee.page, "#record-decision")
    assert lee.page.url.endswith("/queue?notice=decided")

    # A stale decision: the item changed between opening and deciding.
    lee.page.goto(f"/queue/items/{second}")
    cole_token = site.token(site.staff("cole"))
    seen = site.api("GET", f"/api/v1/items/{second}", cole_token)
    site.api("POST", f"/api/v1/items/{second}/decisions", cole_token,
             {"decision": "return", "version_digest": seen["version_digest"],
              "reason": "needs_revision", "note": "Say it in your own way."})  # fmt: skip
    site.api("PATCH", f"/api/v1/items/{second}", tokens["rob"], {"body": "I think about it."})
    site.api("POST", f"/api/v1/items/{second}/submit", tokens["rob"])
    drive.choose(lee.page, "input[name=decision][value=approve]")
    drive.go(lee.page, "#record-decision")
    assert "Someone else has changed this item" in lee.page.locator("#stale").inner_text()
    assert "version 2" in lee.page.locator("#stale").inner_text()
    look(site, lee.page, drive, "staff-review-stale")

    # The supervisor's escalation queue: Sue withholds the escalated item.
    sue = site.person("sue", javascript=drive.javascript)
    site.sign_in(sue, site.staff("sue"))
    sue.page.wait_for_url("**/queue")
    drive.go(sue.page, "header a[href='/queue?tab=escalated']")
    assert sue.page.locator("[data-count=escalated]").inner_text().strip() == "1"
    look(site, sue.page, drive, "staff-escalations")
    drive.go(sue.page, f"main a[href='/queue/items/{first}']")
    look(site, sue.page, drive, "staff-review-escalated")
    welsh(site, sue, drive, "staff-review-escalated")  # the reasons to choose from, the timeline
    assert sue.page.locator("input[name=decision][value=escalate]").count() == 0
    drive.choose(sue.page, "input[name=decision][value=withhold]")
    drive.select(sue.page, "#withhold-reason", "risk_of_harm")
    drive.fill(sue.page, "#internal-note", "Discussed with Lee.")
    drive.go(sue.page, "#record-decision")
    assert sue.page.url.endswith("/queue?notice=decided")
    assert sue.page.locator("[data-count=escalated]").inner_text().strip() == "0"

    # The case record: Lee adds a risk assessment about Sam through the form.
    lee.page.goto(f"/cases/{case_id}")
    drive.go(lee.page, "#case-record")
    look(site, lee.page, drive, "staff-case-record")
    drive.go(lee.page, "#add-entry")
    look(site, lee.page, drive, "staff-case-entry-new")
    drive.choose(lee.page, "input[name=kind][value=risk_assessment]")
    drive.choose(lee.page, "input[name=detail_risk_assessment][value=low]")
    drive.select(lee.page, "#participant", made["people"]["sam"]["id"])
    drive.fill(lee.page, "#text", "Sam is safe to receive letters at home.")
    drive.go(lee.page, "#save-entry")
    assert "The entry has been added to the case record" in lee.page.content()
    assert "Sam is safe to receive letters at home." in lee.page.content()

    # Requests for records: recorded for Sam, the risk assessment given to her, approved by
    # Lee, released by Max (a manager: the second person), downloaded.
    lee.page.goto(f"/cases/{case_id}")
    drive.go(lee.page, "#disclosures")
    look(site, lee.page, drive, "staff-disclosures-empty")
    drive.select(lee.page, "#participant", made["people"]["sam"]["id"])
    drive.go(lee.page, "#record-request")
    assert "The request for records has been recorded" in lee.page.content()
    drive.go(lee.page, "#review-1")
    look(site, lee.page, drive, "staff-disclosure-review")
    assert lee.page.locator("#release").count() == 0  # a note waits for its decision
    drive.go(lee.page, "main a:has-text('Risk assessment')")
    look(site, lee.page, drive, "staff-disclosure-note")
    drive.choose(lee.page, "input[name=decision][value=disclose]")
    drive.go(lee.page, "#save-decision")
    assert "Your decision has been recorded" in lee.page.content()
    drive.go(lee.page, "main a:has-text('Extend the time limit')")
    look(site, lee.page, drive, "staff-disclosure-extension")
    lee.page.go_back()
    drive.go(lee.page, "#release")
    assert "A different person must now approve" in lee.page.content()
    assert lee.page.locator("#release").count() == 0  # not the same person twice
    look(site, lee.page, drive, "staff-disclosure-first-approval")

    # A manager reads the case record (never what anyone wrote to the other side) and gives
    # the second approval.
    max_ = site.person("max", javascript=drive.javascript)
    site.sign_in(max_, site.staff("max"))
    max_.page.wait_for_url("**/cases")
    max_.page.goto(f"/cases/{case_id}")
    drive.go(max_.page, "#case-record")
    assert "Sam is safe to receive letters at home." in max_.page.content()
    assert "I want to explain what happened." not in max_.page.content()
    look(site, max_.page, drive, "staff-case-record-manager")
    max_.page.goto(f"/cases/{case_id}")
    drive.go(max_.page, "#disclosures")
    drive.go(max_.page, "#review-1")
    assert "Lee Lead approved these records" in max_.page.content()
    drive.go(max_.page, "#release")
    assert "The records have been released" in max_.page.content()
    look(site, max_.page, drive, "staff-disclosure-released")

    lee.page.goto(f"/cases/{case_id}/disclosures")
    package = zipfile.ZipFile(io.BytesIO(download(lee.page, drive, "#download-1")))
    records = json.loads(package.read("records.json"))
    assert records["you"]["display_name"] == "Samantha Taylor"
    assert records["notes_about_you"][0]["text"] == "Sam is safe to receive letters at home."
    assert "Discussed with Lee" not in json.dumps(records)
    assert package.read("records.pdf").startswith(b"%PDF-")
    assert third  # still waiting in the queue

    manager_sees_counts_and_opens_a_case(site, drive, case_id, max_)


def manager_sees_counts_and_opens_a_case(
    site: Site, drive: Driver, case_id: str, max_: Person
) -> None:
    """A manager sees states and counts, never the reference or anyone's words; opens a case
    from the pages, naming its lead (refused without one, and a sensitive case for someone who
    is not a senior practitioner); the lead then works on it."""
    page = max_.page
    page.goto("/cases")
    assert "RJ-2026-0001" not in page.content()
    look(site, page, drive, "staff-cases-manager")
    drive.go(page, f"main a[href='/cases/{case_id}']")
    assert "RJ-2026-0001" not in page.content()
    look(site, page, drive, "staff-case-manager")

    drive.go(page, "header a[href='/cases']")
    drive.go(page, "#open-case")
    look(site, page, drive, "staff-case-new-manager")
    drive.fill(page, "#reference", "RJ-2026-0777")
    drive.go(page, "#create-case")
    assert "Choose who will lead the case" in page.locator(".govuk-error-summary").inner_text()
    drive.select(page, "#lead", site.staff_ids["cole"])
    drive.select(page, "#supervisor", site.staff_ids["sue"])
    drive.choose(page, "input[name=sensitive][value=yes]")
    drive.go(page, "#create-case")
    refusal = "A sensitive or complex case must be led by a senior practitioner."
    assert refusal in page.locator("#lead-error").inner_text()
    look(site, page, drive, "staff-case-new-manager-error")
    drive.untick(page, "input[name=sensitive][value=yes]")  # not sensitive after all
    drive.go(page, "#create-case")
    assert "The case has been opened" in page.content()
    assert "RJ-2026-0777" not in page.content(), "a manager does not see the reference"
    opened = page.url.rsplit("/", 1)[1].split("?")[0]
    cases = site.api("GET", "/api/v1/cases", site.token(site.staff("cole")))
    mine = next(
        c for c in (cases["cases"] if isinstance(cases, dict) else cases) if c["id"] == opened
    )
    assert mine["reference"] == "RJ-2026-0777"
    roles = {p["user_id"]: p["role"] for p in mine["practitioners"]}
    assert roles == {site.staff_ids["cole"]: "lead", site.staff_ids["sue"]: "supervisor"}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """How the staff browse: mouse with JavaScript, keyboard alone, JavaScript off."""
    return str(request.param)


class Stream:
    """GET /queue/live on a plain socket: the headers, then counts events as they come."""

    def __init__(self, site: Site, token: str) -> None:
        host, port = site.base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(
            f"GET /queue/live HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: shuttle_session={token}\r\n\r\n".encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.headers = head.decode().lower()

    def events(self, wanted: int, *, wait: float) -> list[dict[str, int]]:
        """Up to ``wanted`` counts events, waiting at most ``wait`` seconds for each."""
        found: list[dict[str, int]] = []
        self.sock.settimeout(wait)
        while len(found) < wanted:
            lines = self.buffer.split(b"\n")
            self.buffer = lines.pop()
            found += [json.loads(line[5:]) for line in lines if line.startswith(b"data:")]
            if len(found) >= wanted:
                break
            try:
                more = self.sock.recv(4096)
            except TimeoutError:
                break
            if not more:
                raise AssertionError("the stream ended")
            self.buffer += more
        return found

    def close(self) -> None:
        """Hang up."""
        self.sock.close()


def test_live_counts_carry_only_the_callers_queue(site: Site) -> None:
    """The stream sends new counts when an item is submitted, and nothing for other cases."""
    made = site.new_case()
    tokens = _join(site, made)
    # Cole leads a case of his own that Lee has no part in.
    cole_token = site.token(site.staff("cole"))
    other = site.api("POST", "/api/v1/cases", cole_token, {"reference": "RJ-OTHER-9"})
    people = {}
    for key, role in (("ann", "harmed"), ("bob", "responsible")):
        people[key] = site.api("POST", f"/api/v1/cases/{other['id']}/participants", cole_token,
                               {"role": role, "display_name": key.title(),
                                "shown_to_others_as": key.title()})  # fmt: skip
    others = _join(site, {"case": other, "people": {"sam": people["ann"], "rob": people["bob"]},
                          "lead_token": cole_token}, tag="-other")  # fmt: skip

    stream = Stream(site, made["lead_token"])
    try:
        assert "content-type: text/event-stream" in stream.headers
        assert "cache-control: no-store" in stream.headers
        (start,) = stream.events(1, wait=5)
        assert start["unclaimed"] == 0
        _letter(site, {"case": other, "people": {"sam": people["ann"]}}, others["rob"], "Hi")
        assert stream.events(1, wait=1.5) == [], "another case's item reached Lee's stream"
        _letter(site, made, tokens["rob"], "I am sorry.")
        (after,) = stream.events(1, wait=5)
        assert after["unclaimed"] == 1
        assert set(after) == {"unclaimed", "mine", "others", "escalated", "returned", "done"}
    finally:
        stream.close()
