"""The review screen: the item as its recipients would be given it, and the decision form."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from shuttle import review, vetting
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Conflict, Invalid
from shuttle.i18n import error_text
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text

# Where each refusal of the vetting service belongs on the form.
FIELD_OF = {
    "invalid_decision": "decision",
    "summary_required": "summary",
    "invalid_note": "internal-note",
}


def marked_text(body: str, flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The body cut into plain and flagged parts, in order; overlapping flags are merged.

    Each flagged part carries the numbers of its flags, so the page can say which flag it
    is (never colour alone: a mark, an outline and the number in words).
    """
    spans: list[tuple[int, int, list[int]]] = []
    for number, flag in enumerate(flags, start=1):
        start, end = max(0, int(flag["start"])), min(len(body), int(flag["end"]))
        if start >= end:
            continue
        if spans and start < spans[-1][1]:
            first, last, numbers = spans[-1]
            spans[-1] = (first, max(last, end), [*numbers, number])
        else:
            spans.append((start, end, [number]))
    parts: list[dict[str, Any]] = []
    at = 0
    for start, end, numbers in spans:
        if start > at:
            parts.append({"text": body[at:start], "flags": []})
        parts.append({"text": body[start:end], "flags": numbers})
        at = end
    if at < len(body):
        parts.append({"text": body[at:], "flags": []})
    return parts


def timeline(sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's other items and this item's decisions, newest first, for the timeline."""
    names = {p["user_id"]: p["name"] for p in sheet["case"].get("practitioners", [])}
    entries: list[dict[str, Any]] = [
        {
            "type": "decision",
            "at": d["at"],
            "decision": d["decision"],
            "by": names.get(d["decided_by"], ""),
            "by_supervisor": d["by_supervisor"],
            "reason": sheet.get(f"{d['decision']}_reasons", {}).get(d["reason"], d["reason"]),
            "note": d["note"],
            "internal_note": d["internal_note"],
            "version": d["version"],
        }
        for d in sheet["item"].get("decisions", [])
    ]
    for other in sheet["other_items"]:
        entries.append(
            {
                "type": "item",
                "at": other["updated_at"],
                "kind": other["kind"],
                "state": other["state"],
                "author": other["author"]["name"] if other["author"]["participant_id"] else None,
                "id": other["id"],
            }
        )
    return sorted(entries, key=lambda e: str(e["at"]), reverse=True)


def _page(
    request: web.Request,
    actor: Actor,
    sheet: dict[str, Any],
    *,
    status: int = 200,
    errors: list[dict[str, str]] | None = None,
    posted: MultiDict[str] | None = None,
    stale: bool = False,
) -> web.Response:
    item = sheet["item"]
    order = sorted(item.get("flags", []), key=lambda f: (f["start"], f["end"]))
    return render(
        request,
        "staff/review.html",
        status=status,
        title=_("Review an item"),
        navigation=navigation(actor, "queue"),
        back_link="/queue",
        sheet=sheet,
        flags=order,
        parts=marked_text(item.get("body", ""), order),
        timeline=timeline(sheet),
        names={p["id"]: p["display_name"] for p in sheet["case"].get("participants", [])},
        errors=errors or [],
        posted=posted or MultiDict(),
        stale=stale,
        notice=request.query.get("notice", ""),
    )


async def review_page(request: web.Request) -> web.Response:
    """GET /queue/items/{item_id}: the review screen (opening it records the reading)."""
    actor = await signed_in(request)
    sheet = await review.review_sheet(runtime(request), actor, request.match_info["item_id"])
    return _page(request, actor, sheet)


async def decide(request: web.Request) -> web.StreamResponse:
    """POST /queue/items/{item_id}: approve, withhold, return or escalate this version."""
    actor = await signed_in(request)
    data = await form(request)
    rt = runtime(request)
    item_id = request.match_info["item_id"]
    decision = text(data, "decision")
    reason = text(data, f"{decision}_reason") if decision in ("withhold", "return") else ""
    errors: list[dict[str, str]] = []
    stale = False
    if not decision:
        errors.append({"text": _("Choose what to do with this item"), "href": "#decision"})
    else:
        try:
            await vetting.decide(
                rt,
                actor,
                item_id,
                decision=decision,
                version_digest=text(data, "version_digest"),
                reason=reason or None,
                note=text(data, "note") if decision == "return" else None,
                summary=text(data, "summary") if decision == "approve" else None,
                internal_note=text(data, "internal_note") or None,
            )
        except Invalid as exc:
            errors.append(_error(exc, decision))
        except Conflict as exc:
            stale = exc.code == "stale_version"
            if not stale:
                errors.append({"text": error_text(exc), "href": "#decision"})
        else:
            raise see_other("/queue", notice="decided")
    sheet = await review.review_sheet(rt, actor, item_id)
    return _page(
        request, actor, sheet, status=409 if stale else 422, errors=errors, posted=data, stale=stale
    )


def _error(exc: Invalid, decision: str) -> dict[str, str]:
    if exc.code in ("reason_required", "invalid_reason"):
        what = (
            _("Choose why you are withholding it")
            if decision == "withhold"
            else _("Choose why you are returning it")
        )
        return {"text": what, "href": f"#{decision}-reason"}
    if exc.code == "summary_required":
        return {"text": _("Write the summary that will be passed on"), "href": "#summary"}
    return {"text": error_text(exc), "href": "#" + FIELD_OF.get(exc.code, "decision")}
