"""A participant's home page: what they can do, their items, and how many new letters."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases, items, relay
from shuttle.api.http import runtime
from shuttle.i18n import N_
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import KINDS, page, reference, status
from shuttle.pages.web import signed_in

# What the notification banner says after a journey comes back here (POST-redirect-GET).
DONE = {
    "consent": N_("Thank you. You can now use Shuttle."),
    "draft": N_("Your draft is saved. You can come back to it at any time."),
    "meeting": N_("You have asked for a face-to-face meeting. Your facilitator will contact you."),
}


async def home(request: web.Request) -> web.Response:
    """GET /my: a list of what they can do, their drafts and items, and new letters (a count)."""
    actor = await signed_in(request)
    rt = runtime(request)
    me = await cases.my_case(rt, actor)
    written = await items.my_items(rt, actor)
    active = me["state"] == "active"
    received = await relay.inbox(rt, actor) if active else []
    unread = sum(1 for entry in received if not entry["read_at"])
    done = DONE.get(request.query.get("done", ""))
    return page(
        request,
        "home.html",
        _("Your Shuttle page"),
        me=me,
        drafts=[i for i in written if i["state"] == "draft"],
        sent=[i for i in written if i["state"] != "draft"],
        unread=unread,
        kinds=KINDS,
        tag_of=status,
        reference=reference,
        done=_(done) if done else None,
        inbox_state=await relay.inbox_state(rt, actor) if active else None,
    )
