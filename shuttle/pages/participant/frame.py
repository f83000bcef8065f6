"""What every participant page shares: the menu, an item's status in plain words, and how an
item will be handed over. Words only; every rule stays in the services."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle.i18n import N_
from shuttle.i18n import gettext as _
from shuttle.pages.web import render

# The version of the information a participant reads before consenting (welcome.html).
INFORMATION_SHEET = "portal-2026-1"

MENU = (
    ("/my", N_("Home")),
    ("/my/write", N_("Write")),
    ("/my/inbox", N_("Letters for you")),
    ("/my/wishes", N_("Your wishes")),
)

# An item's state as its author should hear it (what they can do next is on the item page).
STATUS = {
    "draft": (N_("Draft (not sent yet)"), "grey"),
    "submitted": (N_("Being checked by your facilitator"), "blue"),
    "escalated": (N_("Being checked by your facilitator"), "blue"),
    "returned": (N_("Returned to you with a note"), "orange"),
    "approved": (N_("Waiting for the other person to be ready"), "purple"),
    "held": (N_("Waiting for the other person to be ready"), "purple"),
    "relayed": (N_("Passed on"), "green"),
    "withheld": (N_("Not passed on"), "red"),
    "withdrawn": (N_("Stopped (not passed on)"), "grey"),
}
SUMMARY_WAITING = (N_("Waiting for you to agree to a summary"), "yellow")
KEPT = (N_("Kept for your facilitator"), "grey")

KINDS = {
    "letter": N_("Letter"),
    "message": N_("Message"),
    "question": N_("Question"),
    "answer": N_("Answer"),
    "information": N_("Information"),
    "assessment": N_("Your facilitator's view"),
}

SCOPES = {
    "verbatim": N_("Word for word"),
    "summary": N_("As a summary written by your facilitator"),
    "facilitator_only": N_("Only for your facilitator"),
}

RESPONSES = {
    "reply": N_("A reply"),
    "feedback": N_("Feedback on how it was received"),
    "none": N_("No response"),
}

HANDOVER = {
    "portal": N_("It will be shown to them here in Shuttle."),
    "printed": N_("Your facilitator will give them a printed copy."),
    "read_out": N_("Your facilitator will read it out to them."),
}

DELIVERY = {
    "portal": N_("Online, here in Shuttle"),
    "printed": N_("Printed on paper"),
    "read_out": N_("Read out to me by my facilitator"),
}

RECEIVE = {
    "yes": N_("Yes"),
    "ask_first": N_("Not now"),
    "no": N_("No"),
}


def status(item: dict[str, Any]) -> dict[str, str]:
    """The GOV.UK Tag for an item of the caller's own: its state in words, never colour alone."""
    summary = item.get("summary") or {}
    if item["state"] == "held" and summary.get("state") == "proposed":
        words, colour = SUMMARY_WAITING
    elif item["sharing"]["scope"] == "facilitator_only" and item["state"] == "withheld":
        words, colour = KEPT
    else:
        words, colour = STATUS.get(item["state"], STATUS["submitted"])
    return {"text": _(words), "classes": f"govuk-tag--{colour}"}


def kind_words(kind: str) -> str:
    """What kind of item it is, in the reader's language."""
    return _(KINDS.get(kind, KINDS["letter"]))


def reference(item_id: str) -> str:
    """A short reference to quote to the facilitator."""
    return item_id.replace("-", "")[:8].upper()


def names(people: list[dict[str, str]], ids: list[str]) -> str:
    """The shown names of the chosen people, joined in words."""
    chosen = [p["shown_as"] for p in people if p["id"] in ids]
    if not chosen:
        return ""
    if len(chosen) == 1:
        return chosen[0]
    return _("%(some)s and %(last)s") % {"some": ", ".join(chosen[:-1]), "last": chosen[-1]}


def page(
    request: web.Request, template: str, title: str, *, code: int = 200, **context: Any
) -> web.Response:
    """A participant page with the participant menu (the current section marked)."""
    menu = []
    for href, text in MENU:
        here = request.path == href or (href != "/my" and request.path.startswith(href))
        menu.append({"href": href, "text": _(text), "active": here})
    return render(
        request,
        f"participant/{template}",
        status=code,
        title=title,
        navigation=menu,
        participant_page=True,
        **context,
    )
