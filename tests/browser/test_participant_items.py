"""The rest of the participant journeys, each driven the three ways the round trip is (mouse
with JavaScript, keyboard alone at 320 CSS pixels wide, JavaScript off), one case per way.
Sam: an item returned with a note and sent again, a facilitator's summary refused then agreed,
an item kept for the facilitator, an item withdrawn before it is passed on, a meeting, records
asked for and downloaded, and opting out. Rob: reads the summary, declines the feedback asked
for, and is refused Sam's item (404); without JavaScript he first joins in Welsh. Pages are
checked in Welsh as they are reached (once each in a test session)."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.browser.keyboard import tab_to
from tests.browser.participant import (
    MODES,
    Driver,
    accept_invitation,
    decide,
    item_id_from,
    joined_by_api,
    participant,
    write_to_the_other,
)
from tests.browser.site import PASSWORD, Site, checked_in_welsh

FIRST = "That night I was walking home on Mill Street when it happened."
SECOND = "That night I was walking home when it happened. I still feel it."
SUMMARY_ONE = "Sam says it was bad."
SUMMARY_TWO = "Sam told me that night changed things, and that Sam still feels it."


def welsh(me: Driver, name: str) -> None:
    """Check the page in front of them again in Welsh, then go back to English. A page checked
    in Welsh already in this test session (another way of browsing, another journey) is not
    checked again: its words are the same, and the Welsh check reads the words given to the
    scripts too, so it holds with JavaScript off."""
    if checked_in_welsh(name):
        return
    base = me.site.base
    me.who.context.add_cookies([{"name": "shuttle_lang", "value": "cy", "url": base}])
    me.page.reload()
    assert me.page.locator("html").get_attribute("lang") == "cy"
    me.look(f"{name}-cy")
    me.who.context.add_cookies([{"name": "shuttle_lang", "value": "en", "url": base}])
    me.page.reload()


def rob_joins_in_welsh(site: Site, token: str) -> Driver:
    """Rob sets up his account, reads the information and consents, all in Welsh."""
    rob = participant(site, "rob", "no-js")
    rob.who.context.add_cookies([{"name": "shuttle_lang", "value": "cy", "url": site.base}])
    accept_invitation(rob, token)
    rob.look("participant-welcome-cy")
    rob.press("main a.govuk-button")
    rob.look("participant-consent-cy")
    rob.tick("input[value=understood]")
    rob.press("main button[type=submit]")
    assert rob.page.title().startswith("Gwall:")
    rob.look("participant-consent-error-cy")
    rob.tick("input[value=responsibility]")
    rob.press("main button[type=submit]")
    rob.page.wait_for_url("**/my?done=consent")
    rob.look("participant-home-first-cy")
    for path in ("/my/inbox", "/my/wishes", "/my/wishes/receive", "/my/wishes/topics"):
        rob.go(path)
        rob.look(f"participant-{path.strip('/').replace('/', '-')}-cy")
    rob.go("/my/wishes/how")
    rob.choose("answer", "portal")
    rob.press("main button[type=submit]")
    rob.look("participant-wishes-saved-cy")
    rob.go("/my/wishes/receive")
    rob.choose("answer", "yes")
    rob.press("main button[type=submit]")
    rob.who.context.add_cookies([{"name": "shuttle_lang", "value": "en", "url": site.base}])
    return rob


def write_summary_letter(sam: Driver) -> str:
    """A letter to be shared as a summary, wanting feedback; sent; its id."""
    sam.go("/my/write")
    write_to_the_other(sam, "letter", FIRST, scope="summary", response="feedback")
    sam.look("participant-check-summary")
    preview = sam.page.locator("#attribution-preview").inner_text().strip()
    assert preview == "Your facilitator's summary of what Sam said"
    for step in ("words", "who", "how", "response"):
        sam.go(f"{sam.page.url.rsplit('/', 1)[0]}/{step}?then=check")
        welsh(sam, f"participant-{step}")
    sam.go(sam.page.url.rsplit("/", 1)[0] + "/check")
    welsh(sam, "participant-check")
    item_id = item_id_from(sam.page)
    sam.button("Send to your facilitator")
    welsh(sam, "participant-sent")
    return item_id


def returned_and_sent_again(site: Site, case: dict, sam: Driver, item_id: str) -> None:
    """The facilitator returns it with a note; Sam sees the note, changes it, sends it again."""
    decide(
        site, case, item_id, "return", reason="needs_revision", note="Please leave out the street."
    )
    sam.go("/my")
    assert "Returned to you with a note" in sam.text()
    sam.link(item_id.replace("-", "")[:8].upper())
    assert sam.page.locator("#return-note").inner_text() == "Please leave out the street."
    sam.look("participant-item-returned")
    welsh(sam, "participant-item-returned")
    sam.button("Change it and send it again")
    assert "Please leave out the street." in sam.text()
    sam.look("participant-words-returned")
    sam.fill("#body", SECOND)
    sam.button("Save and continue")
    assert sam.page.url.endswith("/check")
    sam.button("Send to your facilitator")
    sam.link("See what is happening to it")
    assert "Being checked by your facilitator" in sam.text()


def summary_refused_then_agreed(site: Site, case: dict, sam: Driver, item_id: str) -> None:
    """Sam compares their words with the proposed summary: no, then yes to a better one."""
    decide(site, case, item_id, "approve", summary=SUMMARY_ONE)
    sam.go(f"/my/items/{item_id}")
    assert "Waiting for you to agree to a summary" in sam.text()
    sam.button("Read the summary")
    assert sam.page.locator("#original").inner_text() == SECOND
    assert sam.page.locator("#proposed").inner_text() == SUMMARY_ONE
    sam.look("participant-summary")
    welsh(sam, "participant-summary")
    sam.button("Send my answer")
    sam.look("participant-summary-error")
    sam.choose("agree", "no")
    sam.button("Send my answer")
    assert "You did not agree to the summary" in sam.text()
    assert "Being checked by your facilitator" in sam.text()
    decide(site, case, item_id, "approve", summary=SUMMARY_TWO)
    sam.go(f"/my/items/{item_id}/summary")
    sam.choose("agree", "yes")
    sam.button("Send my answer")
    sam.look("participant-item-agreed")
    assert "Passed on" in sam.page.locator("#status").inner_text()


def facilitator_only_message(sam: Driver) -> None:
    """A message kept for the facilitator: no recipients, no response, nothing passed on."""
    sam.go("/my/write")
    sam.choose("kind", "message")
    sam.button("Continue")
    sam.fill("#body", "I am finding this hard this week.")
    sam.button("Save and continue")
    sam.tick("input[value=facilitator]")
    sam.button("Continue")
    assert "Nothing will be passed on" in sam.text()
    sam.look("participant-check-facilitator-only")
    sam.button("Send to your facilitator")
    assert "It will not be passed on to anyone." in sam.text()


def facilitator_writes_to(site: Site, case: dict, key: str) -> None:
    """Set-up: the practitioner's own information for ``key``, approved by the supervisor."""
    item = site.api("POST", f"/api/v1/cases/{case['case']['id']}/items", case["lead_token"],
                    {"kind": "information", "body": "We will next be in touch on Monday.",
                     "sharing": {"scope": "verbatim",
                                 "recipient_ids": [case["people"][key]["id"]]}})  # fmt: skip
    site.api("POST", f"/api/v1/items/{item['id']}/submit", case["lead_token"])
    sue = site.token(site.staff("sue"))
    seen = site.api("GET", f"/api/v1/items/{item['id']}", sue)
    body = {"decision": "approve", "version_digest": seen["version_digest"]}
    site.api("POST", f"/api/v1/items/{item['id']}/decisions", sue, body)


def withdrawn_before_it_is_passed_on(site: Site, case: dict, sam: Driver) -> None:
    """A message sent, then taken back from its status page: are you sure, then withdrawn;
    the facilitator has nothing left to decide."""
    sam.go("/my/write")
    write_to_the_other(
        sam, "message", "Please forget what I sent.", scope="verbatim", response="none"
    )
    item_id = item_id_from(sam.page)
    sam.button("Send to your facilitator")
    sam.link("See what is happening to it")
    sam.look("participant-item-withdrawable")
    sam.button("Withdraw this message")
    sam.look("participant-withdraw")
    welsh(sam, "participant-withdraw")
    assert "it will not be passed on to anyone" in sam.text()
    sam.link("No, keep it")
    assert sam.page.url.endswith(f"/my/items/{item_id}")
    sam.button("Withdraw this message")
    sam.button("Yes, withdraw it")
    assert "You have withdrawn it. It will not be passed on." in sam.text()
    assert "Stopped (not passed on)" in sam.page.locator("#status").inner_text()
    assert sam.page.locator("#withdraw").count() == 0, "nothing left to withdraw"
    sam.look("participant-item-withdrawn")
    welsh(sam, "participant-item-withdrawn")
    seen = site.api("GET", f"/api/v1/items/{item_id}", case["lead_token"])
    assert seen["state"] == "withdrawn"
    sam.go(f"/my/items/{item_id}/withdraw")  # too late now: back to its status
    assert sam.page.url.endswith(f"/my/items/{item_id}")


def test_items_wishes_and_asking(site: Site, mode: str) -> None:
    """Journeys 4, 6 (feedback declined), 7, 8 and 9, and withdrawing an item, in one way of
    browsing (Sam by keyboard at 320 pixels wide; without JavaScript, Rob joins in Welsh)."""
    case = site.new_case()
    joined_by_api(site, case, "sam", consent=True)
    if mode == "no-js":
        rob = rob_joins_in_welsh(site, case["people"]["rob"]["invitation_token"])
    else:  # joining is walked by the round trip in this way of browsing; here it is set-up
        rob = participant(site, "rob", mode)
        joined_by_api(site, case, "rob", consent=True)
        site.sign_in(rob.who)
        willing = {"receive": "yes", "unwanted_topics": [], "delivery": "portal"}
        site.api("PUT", "/api/v1/me/preferences", site.token(rob.who.email), willing)
    sam = participant(site, "sam", mode, width=320 if mode == "keyboard" else 1024)
    sam.go("/sign-in")
    sam.fill("#email", sam.who.email)
    sam.fill("#password", PASSWORD)
    sam.press("main button[type=submit]")
    sam.page.wait_for_url("**/my")
    welsh(sam, "participant-home")

    item_id = write_summary_letter(sam)
    returned_and_sent_again(site, case, sam, item_id)
    summary_refused_then_agreed(site, case, sam, item_id)

    facilitator_writes_to(site, case, "rob")
    rob.go("/my/inbox")
    assert "Information from your facilitator" in rob.text()
    rob.link("Letter from Sam")
    welsh(rob, "participant-before")
    rob.button("Read it now")
    heading = rob.page.locator("#attribution").inner_text()
    assert heading == "Your facilitator's summary of what Sam said"
    assert rob.page.locator(".govuk-inset-text #words").inner_text() == SUMMARY_TWO
    assert FIRST not in rob.text() and SECOND not in rob.text(), "the original words stay"
    welsh(rob, "participant-letter-summary")
    rob.button("I will not answer")
    assert "You said you will not answer" in rob.text()
    rob.look("participant-letter-declined")
    rob.go(f"/my/items/{item_id}")
    assert rob.page.title().startswith("Page not found")
    rob.look("participant-not-found")
    rob.go("/my/inbox")
    welsh(rob, "participant-inbox-read")

    facilitator_only_message(sam)
    withdrawn_before_it_is_passed_on(site, case, sam)
    sam.go("/my")
    sam.link("Ask for a face-to-face meeting")
    sam.look("participant-meeting")
    welsh(sam, "participant-meeting")
    sam.fill("#note", "I think I am ready to meet.")
    sam.button("Ask for a meeting")
    assert "You have asked for a face-to-face meeting" in sam.text()

    records(site, case, sam)
    opt_out(sam)


def records(site: Site, case: dict, sam: Driver) -> None:
    """Ask for records; see the due date; download them once two people have released them."""
    sam.go("/my")
    sam.link("Ask for your records")
    sam.look("participant-records-empty")
    sam.button("Ask for your records")
    assert "Being prepared" in sam.text()
    sam.look("participant-records-asked")
    welsh(sam, "participant-records-asked")
    asked = site.api("GET", "/api/v1/me/disclosure-requests", site.token(sam.who.email))
    request_id = asked["requests"][0]["id"]
    release = f"/api/v1/disclosure-requests/{request_id}/release"
    site.api("POST", release, case["lead_token"])
    sam.page.reload()
    assert "Being prepared" in sam.text()  # one approval is not enough
    site.api("POST", release, site.token(site.staff("sue")))  # the second, by the supervisor
    sam.page.reload()
    sam.look("participant-records-released")
    with sam.page.expect_download() as download:
        if sam.mode == "keyboard":
            tab_to(sam.page, "main a[download]")
            sam.page.keyboard.press("Enter")
        else:
            sam.page.locator("main a[download]").click()
    with zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes())) as package:
        assert "records.json" in package.namelist()


def opt_out(sam: Driver) -> None:
    """An 'are you sure' page that explains, then stopping, then a home page that says so."""
    sam.go("/my")
    sam.link("Stop taking part")
    sam.look("participant-stop")
    welsh(sam, "participant-stop")
    assert "nothing more will be passed on to you or from you" in sam.text()
    sam.button("Yes, stop taking part")
    sam.look("participant-stopped")
    welsh(sam, "participant-stopped")
    sam.go("/my")
    assert "You have stopped taking part" in sam.text()
    sam.look("participant-home-stopped")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """How Sam and Rob browse: mouse with JavaScript, keyboard alone, JavaScript off."""
    return str(request.param)
