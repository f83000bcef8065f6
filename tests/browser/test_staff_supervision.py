"""Colleagues and supervisors: live queue counts, claims seen by others, a stale decision,
the supervisor's escalation queue, the case record, requests for records (reviewed, approved
by two people), and what managers see.

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

from playwright.sync_api import expect

from tests.browser.site import PASSWORD, Site

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


def test_colleagues_supervisor_and_records(site: Site) -> None:
    """Live counts, a colleague's claim, a stale decision, an escalation decided, records."""
    made = site.new_case()
    lead, case_id = made["lead_token"], made["case"]["id"]
    site.staff("cole")
    site.api("POST", f"/api/v1/cases/{case_id}/practitioners", lead,
             {"user_id": site.staff_ids["cole"], "role": "co_worker",
              "conflict_of_interest": {"declared": False}})  # fmt: skip
    tokens = _join(site, made)
    first = _letter(site, made, tokens["rob"], "I want to explain what happened.")
    second = _letter(site, made, tokens["rob"], "I have thought about it every day.")

    lee = site.person("lee")
    site.sign_in(lee, site.staff("lee"))
    lee.page.wait_for_url("**/queue")
    assert lee.page.locator("[data-count=unclaimed]").inner_text().strip() == "2"
    lee.page.wait_for_selector("[data-live-seen]", state="attached")  # the stream is open
    third = _letter(site, made, tokens["rob"], "One more thing.")
    expect(lee.page.locator("[data-count=unclaimed]")).to_have_text("3")
    assert "The queue has changed" in lee.page.locator("#queue-live").inner_text()
    assert lee.page.locator("tbody tr").count() == 2, "the table changed under the cursor"

    # Cole (no JavaScript) claims the first item from the table.
    cole = site.person("cole", javascript=False)
    site.sign_in(cole, site.staff("cole"))
    cole.page.wait_for_url("**/queue")
    cole.page.locator("tbody tr").first.get_by_role("button", name="Claim").click()
    assert cole.page.url.endswith(f"/queue/items/{first}")
    site.look(cole.page, "staff-review-claimed-by-me")

    # Lee sees Cole's claim, and may still decide: he passes it to the supervisor.
    lee.page.goto("/queue?tab=others")
    assert "Cole Colleague is reviewing this" in lee.page.content()
    site.look(lee.page, "staff-queue-others")
    lee.page.goto(f"/queue/items/{first}")
    assert "Cole Colleague is reviewing this item" in lee.page.content()
    lee.page.locator("input[name=decision][value=escalate]").check()
    lee.page.locator("#record-decision").click()
    lee.page.wait_for_url("**/queue?notice=decided")

    # A stale decision: the item changed between opening and deciding.
    lee.page.goto(f"/queue/items/{second}")
    cole_token = site.token(site.staff("cole"))
    seen = site.api("GET", f"/api/v1/items/{second}", cole_token)
    site.api("POST", f"/api/v1/items/{second}/decisions", cole_token,
             {"decision": "return", "version_digest": seen["version_digest"],
              "reason": "needs_revision", "note": "Say it in your own way."})  # fmt: skip
    site.api("PATCH", f"/api/v1/items/{second}", tokens["rob"], {"body": "I think about it."})
    site.api("POST", f"/api/v1/items/{second}/submit", tokens["rob"])
    lee.page.locator("input[name=decision][value=approve]").check()
    lee.page.locator("#record-decision").click()
    assert "Someone else has changed this item" in lee.page.locator("#stale").inner_text()
    assert "version 2" in lee.page.locator("#stale").inner_text()
    site.look(lee.page, "staff-review-stale")

    # The supervisor's escalation queue: Sue withholds the escalated item.
    sue = site.person("sue", javascript=False)
    site.sign_in(sue, site.staff("sue"))
    sue.page.wait_for_url("**/queue")
    sue.page.get_by_role("link", name="Escalations").click()
    assert sue.page.locator("[data-count=escalated]").inner_text().strip() == "1"
    site.look(sue.page, "staff-escalations")
    sue.page.locator(f"a[href='/queue/items/{first}']").click()
    site.look(sue.page, "staff-review-escalated")
    assert sue.page.locator("input[name=decision][value=escalate]").count() == 0
    sue.page.locator("input[name=decision][value=withhold]").check()
    sue.page.locator("#withhold-reason").select_option("risk_of_harm")
    sue.page.locator("#internal-note").fill("Discussed with Lee.")
    sue.page.locator("#record-decision").click()
    sue.page.wait_for_url("**/queue?notice=decided")
    assert sue.page.locator("[data-count=escalated]").inner_text().strip() == "0"

    # The case record: Lee adds a risk assessment about Sam through the form.
    lee.page.goto(f"/cases/{case_id}")
    lee.page.locator("#case-record").click()
    site.look(lee.page, "staff-case-record")
    lee.page.locator("#add-entry").click()
    site.look(lee.page, "staff-case-entry-new")
    lee.page.locator("input[name=kind][value=risk_assessment]").check()
    lee.page.locator("input[name=detail_risk_assessment][value=low]").check()
    lee.page.locator("#participant").select_option(made["people"]["sam"]["id"])
    lee.page.locator("#text").fill("Sam is safe to receive letters at home.")
    lee.page.locator("#save-entry").click()
    assert "The entry has been added to the case record" in lee.page.content()
    assert "Sam is safe to receive letters at home." in lee.page.content()

    # Requests for records: recorded for Sam, the risk assessment given to her, approved by
    # Lee, released by Max (a manager: the second person), downloaded.
    lee.page.goto(f"/cases/{case_id}")
    lee.page.locator("#disclosures").click()
    site.look(lee.page, "staff-disclosures-empty")
    lee.page.locator("#participant").select_option(made["people"]["sam"]["id"])
    lee.page.locator("#record-request").click()
    assert "The request for records has been recorded" in lee.page.content()
    lee.page.locator("#review-1").click()
    site.look(lee.page, "staff-disclosure-review")
    assert lee.page.locator("#release").count() == 0  # a note waits for its decision
    lee.page.get_by_role("link", name="Risk assessment").click()
    site.look(lee.page, "staff-disclosure-note")
    lee.page.locator("input[name=decision][value=disclose]").check()
    lee.page.locator("#save-decision").click()
    assert "Your decision has been recorded" in lee.page.content()
    lee.page.get_by_role("link", name="Extend the time limit").click()
    site.look(lee.page, "staff-disclosure-extension")
    lee.page.go_back()
    lee.page.locator("#release").click()
    assert "A different person must now approve" in lee.page.content()
    assert lee.page.locator("#release").count() == 0  # not the same person twice
    site.look(lee.page, "staff-disclosure-first-approval")

    # A manager sees states and counts on the case page, never what anyone wrote; the case
    # record; and gives the second approval.
    max_ = site.person("max")
    site.sign_in(max_, site.staff("max"))
    max_.page.goto("/cases")
    assert "RJ-2026-0001" not in max_.page.content()
    site.look(max_.page, "staff-cases-manager")
    max_.page.locator(f"a[href='/cases/{case_id}']").click()
    assert "RJ-2026-0001" not in max_.page.content()
    site.look(max_.page, "staff-case-manager")
    max_.page.locator("#case-record").click()
    assert "Sam is safe to receive letters at home." in max_.page.content()
    assert "I want to explain what happened." not in max_.page.content()
    site.look(max_.page, "staff-case-record-manager")
    max_.page.goto(f"/cases/{case_id}")
    max_.page.locator("#disclosures").click()
    max_.page.locator("#review-1").click()
    assert "Lee Lead approved these records" in max_.page.content()
    max_.page.locator("#release").click()
    assert "The records have been released" in max_.page.content()
    site.look(max_.page, "staff-disclosure-released")

    lee.page.goto(f"/cases/{case_id}/disclosures")
    with lee.page.expect_download() as download:
        lee.page.locator("#download-1").click()
    package = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    records = json.loads(package.read("records.json"))
    assert records["you"]["display_name"] == "Samantha Taylor"
    assert records["notes_about_you"][0]["text"] == "Sam is safe to receive letters at home."
    assert "Discussed with Lee" not in json.dumps(records)
    assert package.read("records.pdf").startswith(b"%PDF-")
    assert third  # still waiting in the queue


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
