# ruff: noqa: E501  (the route table: one route a line, as in shuttle/routes.py)
"""The practitioners' pages: the queue, the review screen, cases, escalations, disclosures.

``PAGES`` lists this package's routes; ``shuttle/routes.py`` includes them. The supervisor's
escalation queue is the queue's Escalated tab (``/queue?tab=escalated``).
"""

from __future__ import annotations

from shuttle.pages.staff import cases, disclosures, participants, queue, records, review, writing
from shuttle.routing import Route

CASE = "/cases/{case_id}"
QUEUE_ITEM = "/queue/items/{item_id}"

# fmt: off
PAGES: tuple[Route, ...] = (
    Route("GET", "/queue", queue.queue_page, "page.staff.queue", "The vetting queue", "practitioners"),
    Route("POST", "/queue/next", queue.review_next, "page.staff.queue.next", "Claim and review the next item", "practitioners"),
    Route("GET", "/queue/live", queue.live_counts, "page.staff.queue.live", "Live queue counts (server-sent events)", "practitioners"),
    Route("GET", QUEUE_ITEM, review.review_page, "page.staff.review", "Review an item", "practitioners on the case"),
    Route("POST", QUEUE_ITEM, review.decide, "page.staff.review.decide", "Decide on an item", "practitioners on the case"),
    Route("POST", QUEUE_ITEM + "/claim", queue.claim, "page.staff.claim", "Claim an item", "practitioners on the case"),
    Route("POST", QUEUE_ITEM + "/release", queue.release, "page.staff.release", "Give an item back", "practitioners on the case"),
    Route("GET", "/cases", cases.case_list, "page.staff.cases", "Cases", "staff"),
    Route("GET", "/cases/new", cases.new_case_form, "page.staff.case.new", "Open a case", "practitioners"),
    Route("POST", "/cases/new", cases.create_case, "page.staff.case.create", "Open a case", "practitioners"),
    Route("GET", CASE, cases.case_page, "page.staff.case", "One case", "staff"),
    Route("POST", CASE + "/state", cases.change_state, "page.staff.case.state", "Pause, resume or close", "lead, supervisor"),
    Route("GET", CASE + "/watch-list", cases.watch_list_form, "page.staff.watch_list", "The watch list", "practitioners on the case"),
    Route("POST", CASE + "/watch-list", cases.set_watch_list, "page.staff.watch_list.set", "Change the watch list", "practitioners on the case"),
    Route("GET", CASE + "/participants/new", participants.new_participant_form, "page.staff.participant.new", "Add a participant", "practitioners on the case"),
    Route("POST", CASE + "/participants/new", participants.add_participant, "page.staff.participant.add", "Add a participant", "practitioners on the case"),
    Route("POST", CASE + "/participants/{participant_id}/invitation", participants.reissue_invitation, "page.staff.participant.invitation", "A new invitation link", "practitioners on the case"),
    Route("GET", CASE + "/participants/{participant_id}/consent", participants.consent_form, "page.staff.consent", "Record consent", "practitioners on the case"),
    Route("POST", CASE + "/participants/{participant_id}/consent", participants.record_consent, "page.staff.consent.record", "Record consent", "practitioners on the case"),
    Route("GET", CASE + "/items/new", writing.write_form, "page.staff.write", "Write on a participant's behalf", "practitioners on the case"),
    Route("POST", CASE + "/items/new", writing.write, "page.staff.write.save", "Write on a participant's behalf", "practitioners on the case"),
    Route("POST", CASE + "/items/{item_id}/submit", writing.submit, "page.staff.write.submit", "Send a draft to be checked", "practitioners on the case"),
    Route("GET", CASE + "/disclosures", disclosures.disclosures_page, "page.staff.disclosures", "Requests for records", "practitioners on the case, managers"),
    Route("GET", CASE + "/record", records.record_page, "page.staff.record", "The case record", "practitioners on the case, managers"),
    Route("GET", CASE + "/record.json", records.record_json, "page.staff.record.json", "The case record as JSON", "practitioners on the case, managers"),
    Route("GET", CASE + "/record.csv", records.record_csv, "page.staff.record.csv", "The case record as CSV", "practitioners on the case, managers"),
    Route("GET", CASE + "/record/new", records.entry_form, "page.staff.record.new", "Add to the case record", "practitioners on the case"),
    Route("POST", CASE + "/record/new", records.add_entry, "page.staff.record.add", "Add to the case record", "practitioners on the case"),
    Route("GET", CASE + "/referral", records.referral_form, "page.staff.referral", "The incident and the referral", "practitioners on the case"),
    Route("POST", CASE + "/referral", records.set_referral, "page.staff.referral.set", "The incident and the referral", "practitioners on the case"),
    Route("POST", CASE + "/disclosures", disclosures.record_request, "page.staff.disclosure.record", "Record a request for records", "practitioners on the case"),
    Route("GET", "/disclosures/{request_id}", disclosures.review_page, "page.staff.disclosure.review", "Review a request for records (task list)", "practitioners on the case, managers"),
    Route("GET", "/disclosures/{request_id}/notes/{entry_id}", disclosures.decision_form, "page.staff.disclosure.note", "Give or withhold a note", "practitioners on the case"),
    Route("POST", "/disclosures/{request_id}/notes/{entry_id}", disclosures.decide, "page.staff.disclosure.note.decide", "Give or withhold a note", "practitioners on the case"),
    Route("GET", "/disclosures/{request_id}/extension", disclosures.extension_form, "page.staff.disclosure.extension", "Extend the time limit", "practitioners on the case"),
    Route("POST", "/disclosures/{request_id}/extension", disclosures.extend, "page.staff.disclosure.extend", "Extend the time limit", "practitioners on the case"),
    Route("POST", "/disclosures/{request_id}/release", disclosures.release, "page.staff.disclosure.release", "Approve or release the records", "practitioners on the case (first), another person (second)"),
    Route("GET", "/disclosures/{request_id}/package", disclosures.package, "page.staff.disclosure.package", "Download the records", "practitioners on the case"),
)
# fmt: on
