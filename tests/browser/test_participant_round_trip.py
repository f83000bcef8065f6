"""The participant half of the round trip, driven three ways (mouse with JavaScript, keyboard
alone, JavaScript off): Sam joins, consents and writes to Rob; Rob joins, accepts
responsibility, says he will receive letters, reads Sam's letter with its attribution in words
and replies; Sam reads the reply. The practitioner's approvals go through the API."""

from __future__ import annotations

import pytest

from tests.browser.participant import (
    MODES,
    Driver,
    accept_invitation,
    decide,
    item_id_from,
    joined_by_api,
    participant,
)
from tests.browser.site import Site

SAM_LETTER = "I want you to know how that night changed things for me."
ROB_REPLY = "I am sorry. I think about it every day."


def join(me: Driver, token: str, *, responsible: bool) -> None:
    """Accept the invitation, read the information, consent (a refusal first), reach home."""
    accept_invitation(me, token)
    me.look("participant-welcome")
    assert "must report" in me.text()
    me.button("Continue")
    me.look("participant-consent")
    me.button("I agree")
    assert me.page.title().startswith("Error:")
    me.look("participant-consent-error")
    me.tick("input[value=understood]")
    me.button("I agree")
    if responsible:
        assert "accept responsibility" in me.page.locator(".govuk-error-summary").inner_text()
        me.look("participant-consent-responsibility-error")
        me.tick("input[value=responsibility]")
        me.button("I agree")
    me.page.wait_for_url("**/my?done=consent")
    assert "You can now use Shuttle" in me.text()
    me.look("participant-home-first")


def write_letter(me: Driver, to: str, words: str, *, response: str) -> str:
    """Write, save a draft, come back to it, choose who and how, check answers, send."""
    me.link("Write a letter or message")
    me.look("participant-write-kind")
    me.button("Continue")
    me.look("participant-write-kind-error")
    me.choose("kind", "letter")
    me.button("Continue")
    me.look("participant-write-words")
    assert "Do not include addresses or phone numbers." in me.text()
    me.button("Save and continue")
    assert "Write something before you save it" in me.text()
    me.look("participant-write-words-error")
    me.fill("#body", words)
    me.button("Save as a draft")
    assert "Your draft is saved" in me.text()
    me.look("participant-home-draft")
    me.link("Continue writing")
    me.look("participant-who")
    me.tick(f"input[name=to] + label:text-is('{to}') >> xpath=preceding-sibling::input")
    me.button("Continue")
    me.look("participant-how")
    me.choose("scope", "verbatim")
    me.button("Continue")
    me.look("participant-response")
    me.choose("response", response)
    me.button("Continue")
    me.look("participant-check")
    assert words in me.text()
    item_id = item_id_from(me.page)
    return item_id


def test_round_trip(site: Site, mode: str) -> None:
    """Journeys 1-6 for both participants, one way of browsing per run."""
    case = site.new_case()
    tokens = {k: v["invitation_token"] for k, v in case["people"].items()}
    sam = participant(site, "sam", mode)
    join(sam, tokens["sam"], responsible=False)
    item_id = write_letter(sam, "Rob", SAM_LETTER, response="reply")
    assert sam.page.locator("#attribution-preview").inner_text().strip() == "In Sam's own words"
    sam.button("Send to your facilitator")
    sam.look("participant-sent")
    assert sam.page.locator("#reference").inner_text() == item_id.replace("-", "")[:8].upper()
    assert "What happens next" in sam.text()
    sam.link("See what is happening to it")
    assert "Being checked by your facilitator" in sam.text()
    sam.look("participant-item-submitted")

    rob = participant(site, "rob", mode)
    if mode == "mouse":
        join(rob, tokens["rob"], responsible=True)
    else:  # the keyboard and no-JavaScript runs join as Sam did; Rob is set up to save time
        joined_by_api(site, case, "rob", consent=True)
        site.sign_in(rob.who)
    decide(site, case, item_id, "approve")
    sam.go(f"/my/items/{item_id}")
    assert "Waiting for the other person to be ready" in sam.text()
    set_wishes(rob, every_wish=mode == "mouse")

    rob.go("/my")
    assert "New letters and messages for you: 1" in rob.text()
    rob.link("New letters and messages for you: 1")
    rob.look("participant-inbox")
    assert SAM_LETTER not in rob.text(), "the inbox shows no content"
    assert "New" in rob.page.locator("tbody").inner_text()
    rob.link("Letter from Sam")
    rob.look("participant-before")
    assert "Samaritans" in rob.text()
    rob.button("Read it now")
    rob.look("participant-letter")
    assert rob.page.locator("#attribution").inner_text() == "In Sam's own words"
    assert rob.page.locator("#words").inner_text() == SAM_LETTER
    assert "Sam would like a reply" in rob.text()
    rob.button("Write a reply")
    rob.choose("kind", "message")
    rob.button("Continue")
    assert "This is your answer to what Sam sent you." in rob.text()
    rob.fill("#body", ROB_REPLY)
    rob.button("Save and continue")
    rob.tick("input[name=to]:not([value=facilitator])")
    rob.button("Continue")
    rob.choose("scope", "verbatim")
    rob.button("Continue")
    rob.choose("response", "none")
    rob.button("Continue")
    assert rob.page.locator("#attribution-preview").inner_text().strip() == "In Rob's own words"
    reply_id = item_id_from(rob.page)
    rob.button("Send to your facilitator")
    assert "Sent to your facilitator" in rob.text()

    sam.go(f"/my/items/{item_id}")
    assert "Passed on" in sam.page.locator("#status").inner_text()
    if mode != "mouse":
        return
    sam.go("/my/wishes/receive")
    sam.choose("answer", "yes")
    sam.button("Save")
    # Sam's inbox is open when the reply is approved: a polite live region says something
    # new has come (the stream says only that), and a link refreshes the page to show it.
    sam.go("/my/inbox")
    sam.page.wait_for_selector("[data-live-open=yes]", state="attached")
    assert "Message from Rob" not in sam.text()
    assert not sam.page.locator("#inbox-refresh").is_visible()
    decide(site, case, reply_id, "approve")
    sam.page.wait_for_selector("[data-live-seen]", state="attached", timeout=10_000)
    assert "Something new has been passed on to you" in sam.page.locator("#inbox-live").inner_text()
    sam.look("participant-inbox-live")
    sam.link("Refresh the page")
    sam.link("Message from Rob")
    sam.button("Read it now")
    assert sam.page.locator("#words").inner_text() == ROB_REPLY
    sam.go("/my/inbox")
    assert "Read" in sam.page.locator("tbody").inner_text()


def set_wishes(rob: Driver, *, every_wish: bool) -> None:
    """Say yes to letters; with ``every_wish``, also name a topic, choose how, and allow the
    writer to be told."""
    rob.go("/my/wishes")
    rob.look("participant-wishes")
    rob.press("a[href='/my/wishes/receive']")
    rob.look("participant-wish-receive")
    assert "Do you want to receive letters from Sam?" in rob.text()
    rob.button("Save")
    rob.look("participant-wish-error")
    rob.choose("answer", "yes")
    rob.button("Save")
    assert "Your wishes are saved" in rob.text()
    rob.look("participant-wishes-saved")
    if not every_wish:
        return
    rob.press("a[href='/my/wishes/topics']")
    rob.look("participant-wish-topics")
    rob.fill("#topics", "the court case")
    rob.button("Save")
    rob.press("a[href='/my/wishes/how']")
    rob.choose("answer", "portal")
    rob.button("Save")
    rob.press("a[href='/my/wishes/tell']")
    rob.choose("answer", "yes")
    rob.button("Save")
    summary = rob.page.locator(".govuk-summary-list").inner_text()
    assert "the court case" in summary and "Online, here in Shuttle" in summary


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """How the participants browse: mouse with JavaScript, keyboard alone, JavaScript off."""
    return str(request.param)
