"""What a participant is willing to receive, topics they do not want to hear about, how items
reach them, and whether the writer may be told it was read (guidance 3d 6, 3d 14)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import cases
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import N_
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import DELIVERY, RECEIVE, names, page
from shuttle.pages.web import form, see_other, signed_in, text

# Each wish is one question on its own page: its title, its answers and their hints.
CHOICES: dict[str, dict[str, Any]] = {
    "receive": {
        "title": N_("Do you want to receive letters from %(names)s?"),
        "answers": (
            ("yes", RECEIVE["yes"], N_("Your facilitator will pass them on after checking them.")),
            (
                "ask_first",
                RECEIVE["ask_first"],
                N_("Nothing is passed on yet. Letters wait until you are ready."),
            ),
            ("no", RECEIVE["no"], N_("Nothing is passed on to you.")),
        ),
    },
    "how": {
        "title": N_("How do you want to receive them?"),
        "answers": (
            ("portal", DELIVERY["portal"], N_("You read them on this website.")),
            ("printed", DELIVERY["printed"], N_("Your facilitator gives you a printed copy.")),
            ("read_out", DELIVERY["read_out"], N_("Your facilitator reads them out to you.")),
        ),
    },
    "tell": {
        "title": N_("Can we tell the writer that you have read it?"),
        "answers": (
            ("yes", N_("Yes"), N_("They will see the date you read it.")),
            ("no", N_("No"), N_("They will not be told.")),
        ),
    },
}


async def _wishes(request: web.Request) -> tuple[Actor, dict[str, Any], str]:
    """The caller, their stored wishes, and the names of the others in the case, in words."""
    actor = await signed_in(request)
    rt = runtime(request)
    me = await cases.my_case(rt, actor)
    people = await cases.others_in_case(rt, actor)
    others = names(people, [p["id"] for p in people]) or _("the other person")
    return actor, me["preferences"], others


async def summary(request: web.Request) -> web.Response:
    """GET /my/wishes: a Summary list with a Change link for each wish."""
    _actor, wishes, others = await _wishes(request)
    return page(
        request,
        "wishes.html",
        _("Your wishes"),
        wishes=wishes,
        others=others,
        receive=RECEIVE,
        delivery=DELIVERY,
        saved=request.query.get("done") == "saved",
    )


def _current(wishes: dict[str, Any], wish: str) -> str:
    if wish == "receive":
        # 'ask_first' is also what the service holds before they say: ask afresh, nothing picked.
        return "" if wishes["receive"] == "ask_first" else str(wishes["receive"])
    if wish == "how":
        return str(wishes["delivery"])
    return "yes" if wishes["tell_author_when_read"] else "no"


async def ask(request: web.Request) -> web.Response:
    """GET /my/wishes/{wish}: one question (receive, how, tell, topics)."""
    wish = request.match_info["wish"]
    _actor, wishes, others = await _wishes(request)
    if wish == "topics":
        return _topics_page(request, "\n".join(wishes["unwanted_topics"]))
    if wish not in CHOICES:
        raise web.HTTPNotFound()
    return _choice_page(request, wish, others, _current(wishes, wish))


def _choice_page(
    request: web.Request,
    wish: str,
    others: str,
    chosen: str,
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    spec = CHOICES[wish]
    question: str = spec["title"]
    answers = [
        {"value": v, "text": _(t), "hint": {"text": _(h)}, "checked": v == chosen}
        for v, t, h in spec["answers"]
    ]
    return page(
        request,
        "wish.html",
        _(question) % {"names": others},
        code=code,
        wish=wish,
        answers=answers,
        errors=errors or [],
        back_link="/my/wishes",
    )


def _topics_page(
    request: web.Request,
    topics: str,
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    return page(
        request,
        "topics.html",
        _("Are there things you do not want to hear about?"),
        code=code,
        topics=topics,
        errors=errors or [],
        back_link="/my/wishes",
    )


async def answer(request: web.Request) -> web.StreamResponse:
    """POST /my/wishes/{wish}: store every wish with this one changed, then the summary."""
    wish = request.match_info["wish"]
    actor, wishes, others = await _wishes(request)
    data = await form(request)
    stored = {
        "receive": wishes["receive"],
        "unwanted_topics": wishes["unwanted_topics"],
        "delivery": wishes["delivery"],
        "tell_author_when_read": wishes["tell_author_when_read"],
    }
    value = text(data, "answer")
    if wish == "topics":
        stored["unwanted_topics"] = data.get("topics", "").splitlines()
    elif wish not in CHOICES:
        raise web.HTTPNotFound()
    elif value not in [a[0] for a in CHOICES[wish]["answers"]]:
        errors = [{"text": _("Choose an answer"), "href": "#answer"}]
        return _choice_page(request, wish, others, "", code=422, errors=errors)
    elif wish == "receive":
        stored["receive"] = value
    elif wish == "how":
        stored["delivery"] = value
    else:
        stored["tell_author_when_read"] = value == "yes"
    try:
        await cases.set_preferences(runtime(request), actor, None, None, **stored)
    except Invalid as error:
        if error.code != "invalid_topics":
            raise
        problem = _("Write at most 50 things, each shorter than 200 characters")
        return _topics_page(
            request,
            data.get("topics", ""),
            code=422,
            errors=[{"text": problem, "href": "#topics"}],
        )
    raise see_other("/my/wishes", done="saved")
