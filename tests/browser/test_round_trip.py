"""The whole round trip through the pages alone, as the issue asks: a practitioner opens a
case and invites two people; both accept and consent; Sam writes to Rob; the practitioner
reviews and approves it; Rob reads it with its attribution in words and replies; the
practitioner approves the reply; Sam reads it. No JSON API call anywhere after the staff
accounts are made (the command line's job)."""

from __future__ import annotations

from tests.browser.participant import Driver, participant, write_to_the_other
from tests.browser.site import Site
from tests.browser.test_participant_round_trip import join, set_wishes, write_letter

SAM_LETTER = "Since that night I have been afraid to go out after dark. Why did you do it?"
ROB_REPLY = "I was drunk and angry and I picked on you. I am sorry. You did nothing wrong."


def _invite(lee: Driver, role: str, name: str, shown: str) -> str:
    """Add a participant on the case page; returns their one-time invitation token."""
    lee.press("#add-participant")
    lee.page.locator(f"input[name=role][value={role}]").check()
    lee.page.locator("#display_name").fill(name)
    lee.page.locator("#shown_to_others_as").fill(shown)
    lee.press("#add-participant")
    token = lee.page.locator("#invitation-link").inner_text().rsplit("/", 1)[1]
    lee.press("#back-to-case")
    return token


def _approve_next(lee: Driver, attribution: str, words: str) -> None:
    """Review next item: it is the one expected, shown as the recipient will see it; approve."""
    lee.go("/queue")
    lee.press("#review-next")
    assert lee.page.locator("#attribution").inner_text() == attribution
    assert words in lee.page.locator("main").inner_text()
    lee.page.locator("input[name=decision][value=approve]").check()
    lee.press("#record-decision")
    assert "Your decision has been recorded" in lee.page.content()


def test_the_round_trip_through_the_pages(site: Site) -> None:
    """Case, invitations, consent, a letter, its review, reading it, a reply, reading that."""
    email = site.staff("lee")
    site.staff("sue")
    lee = Driver(site, site.person("lee"), "mouse")
    site.sign_in(lee.who, email)
    lee.page.wait_for_url("**/queue")

    lee.go("/cases/new")
    lee.page.locator("#reference").fill("RJ-2026-0777")
    lee.page.locator("#supervisor").select_option(site.staff_ids["sue"])
    lee.press("#create-case")
    assert "The case has been opened" in lee.page.content()
    case_page = lee.page.url.split("?")[0]
    sam_token = _invite(lee, "harmed", "Samantha Taylor", "Sam")
    rob_token = _invite(lee, "responsible", "Robert Jones", "Rob")

    sam = participant(site, "sam", "mouse")
    join(sam, sam_token, responsible=False)
    rob = participant(site, "rob", "mouse")
    join(rob, rob_token, responsible=True)
    set_wishes(rob, every_wish=False)

    write_letter(sam, "Rob", SAM_LETTER, response="reply")
    sam.button("Send to your facilitator")
    assert "What happens next" in sam.text()

    _approve_next(lee, "In Sam's own words", SAM_LETTER)

    rob.go("/my/inbox")
    rob.link("Letter from Sam")
    rob.button("Read it now")
    assert rob.page.locator("#attribution").inner_text() == "In Sam's own words"
    assert rob.page.locator("#words").inner_text() == SAM_LETTER
    rob.button("Write a reply")
    write_to_the_other(rob, "message", ROB_REPLY, scope="verbatim", response="none")
    rob.button("Send to your facilitator")
    assert "Sent to your facilitator" in rob.text()

    _approve_next(lee, "In Rob's own words", ROB_REPLY)

    sam.go("/my/wishes/receive")
    sam.choose("answer", "yes")
    sam.button("Save")
    sam.go("/my/inbox")
    sam.link("Message from Rob")
    sam.button("Read it now")
    assert sam.page.locator("#attribution").inner_text() == "In Rob's own words"
    assert sam.page.locator("#words").inner_text() == ROB_REPLY
    sam.look("round-trip-reply-read")

    # The case page lists both items as passed on, above its timeline.
    lee.go(case_page)
    timeline = lee.page.locator("main").inner_text()
    assert timeline.count("Passed on") == 2, timeline[:3000]  # the letter and the reply
    lee.look("round-trip-case")
