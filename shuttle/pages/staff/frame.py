"""What every staff page shares: the service navigation, and notices after a change."""

from __future__ import annotations

from typing import Any

from shuttle.access import Actor
from shuttle.i18n import gettext as _


def navigation(actor: Actor, current: str) -> list[dict[str, Any]]:
    """The staff's service navigation: the queue and cases (escalations for supervisors)."""
    links = []
    if actor.is_practitioner:
        links.append(("queue", "/queue", _("Vetting queue")))
        if actor.role == "supervisor":
            links.append(("escalations", "/queue?tab=escalated", _("Escalations")))
    links.append(("cases", "/cases", _("Cases")))
    return [{"href": href, "text": text, "active": key == current} for key, href, text in links]
