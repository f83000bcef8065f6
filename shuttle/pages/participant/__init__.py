# ruff: noqa: E501
"""The participants' pages: consent, writing, their items, their wishes, reading, records.

``PAGES`` lists this package's routes; ``shuttle/routes.py`` includes them.
"""

from __future__ import annotations

from shuttle.pages.participant import (
    asking,
    choices,
    home,
    my_items,
    reading,
    welcome,
    wishes,
    writing,
)
from shuttle.routing import Route

MY = "/my"
ITEM = MY + "/items/{item_id}"
RECEIVED = MY + "/inbox/{item_id}"

# fmt: off
PAGES: tuple[Route, ...] = (
    Route("GET", MY, home.home, "page.participant.home", "A participant's home page", "participants"),
    Route("GET", MY + "/welcome", welcome.welcome, "page.participant.welcome", "What Shuttle is and what is recorded", "participants"),
    Route("GET", MY + "/consent", welcome.consent_form, "page.participant.consent", "Agree to take part", "participants"),
    Route("POST", MY + "/consent", welcome.give_consent, "page.participant.consent.post", "Agree to take part", "participants"),
    Route("GET", MY + "/write", writing.choose_kind, "page.participant.write", "Write a letter or message", "participants"),
    Route("POST", MY + "/write", writing.chose_kind, "page.participant.write.post", "Write a letter or message", "participants"),
    Route("GET", MY + "/write/words", writing.new_words, "page.participant.write.words", "Write the words", "participants"),
    Route("POST", MY + "/write/words", writing.save_new_words, "page.participant.write.words.post", "Save the words as a draft", "participants"),
    Route("GET", ITEM, my_items.show, "page.participant.item", "One of my items and its status", "its author"),
    Route("GET", ITEM + "/continue", writing.resume, "page.participant.item.resume", "Carry on with a draft", "its author"),
    Route("GET", ITEM + "/words", writing.words, "page.participant.item.words", "Change the words", "its author"),
    Route("POST", ITEM + "/words", writing.save_words, "page.participant.item.words.post", "Change the words", "its author"),
    Route("GET", ITEM + "/who", choices.who, "page.participant.item.who", "Who may receive it", "its author"),
    Route("POST", ITEM + "/who", choices.chose_who, "page.participant.item.who.post", "Who may receive it", "its author"),
    Route("GET", ITEM + "/how", choices.how, "page.participant.item.how", "How it is shared", "its author"),
    Route("POST", ITEM + "/how", choices.chose_how, "page.participant.item.how.post", "How it is shared", "its author"),
    Route("GET", ITEM + "/response", choices.response, "page.participant.item.response", "The response wanted", "its author"),
    Route("POST", ITEM + "/response", choices.chose_response, "page.participant.item.response.post", "The response wanted", "its author"),
    Route("GET", ITEM + "/check", writing.check, "page.participant.item.check", "Check answers", "its author"),
    Route("POST", ITEM + "/submit", writing.submit, "page.participant.item.submit", "Send it to the facilitator", "its author"),
    Route("GET", ITEM + "/sent", writing.sent, "page.participant.item.sent", "Sent: what happens next", "its author"),
    Route("GET", ITEM + "/summary", my_items.summary, "page.participant.item.summary", "The facilitator's summary", "its author"),
    Route("POST", ITEM + "/summary", my_items.answer_summary, "page.participant.item.summary.post", "Agree or not to the summary", "its author"),
    Route("GET", ITEM + "/withdraw", my_items.withdraw_form, "page.participant.item.withdraw", "Withdraw it: are you sure?", "its author"),
    Route("POST", ITEM + "/withdraw", my_items.withdraw, "page.participant.item.withdraw.post", "Withdraw it", "its author"),
    Route("GET", MY + "/inbox", reading.inbox, "page.participant.inbox", "Letters and messages for me", "participants"),
    Route("GET", MY + "/live", reading.live, "page.participant.live", "Something new in my inbox (server-sent events)", "participants"),
    Route("GET", RECEIVED, reading.before, "page.participant.received", "Before you read", "its recipient"),
    Route("POST", RECEIVED, reading.read_now, "page.participant.received.post", "Read it now", "its recipient"),
    Route("GET", RECEIVED + "/read", reading.letter, "page.participant.received.read", "Read it", "its recipient"),
    Route("POST", RECEIVED + "/no-reply", reading.decline, "page.participant.received.decline", "I will not answer", "its recipient"),
    Route("GET", MY + "/wishes", wishes.summary, "page.participant.wishes", "My wishes", "participants"),
    Route("GET", MY + "/wishes/{wish}", wishes.ask, "page.participant.wish", "One wish", "participants"),
    Route("POST", MY + "/wishes/{wish}", wishes.answer, "page.participant.wish.post", "One wish", "participants"),
    Route("GET", MY + "/meeting", asking.meeting_form, "page.participant.meeting", "Ask for a meeting", "participants"),
    Route("POST", MY + "/meeting", asking.ask_for_meeting, "page.participant.meeting.post", "Ask for a meeting", "participants"),
    Route("GET", MY + "/stop", asking.stop_form, "page.participant.stop", "Stop taking part: are you sure?", "participants"),
    Route("POST", MY + "/stop", asking.stop, "page.participant.stop.post", "Stop taking part", "participants"),
    Route("GET", MY + "/stopped", asking.stopped, "page.participant.stopped", "Stopped taking part", "participants"),
    Route("GET", MY + "/records", asking.records, "page.participant.records", "My records", "participants"),
    Route("POST", MY + "/records", asking.ask_for_records, "page.participant.records.post", "Ask for my records", "participants"),
    Route("GET", MY + "/records/{request_id}/download", asking.download, "page.participant.records.download", "Download my records", "participants"),
)
# fmt: on
