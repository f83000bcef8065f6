"""Per-item sharing consent (guidance 3d 4-5) and the digest a decision binds to."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from shuttle.errors import Invalid
from shuttle.i18n import N_

SCOPES = ("verbatim", "summary", "facilitator_only")
DELIVERIES = ("portal", "read_out", "printed")
RESPONSES = ("reply", "feedback", "none")


@dataclass(frozen=True)
class SharingConsent:
    """What the author agreed for one version: how it may be shared, with whom, how handed over."""

    scope: str
    recipient_ids: tuple[str, ...]
    delivery: str = "portal"

    def public(self) -> dict[str, object]:
        """The JSON shape of API.md."""
        return {
            "scope": self.scope,
            "recipient_ids": list(self.recipient_ids),
            "delivery": self.delivery,
        }

    @property
    def relayable(self) -> bool:
        """Whether anything of this item may ever reach anyone (rule 2)."""
        return self.scope != "facilitator_only"


def sharing_consent(
    scope: str, recipient_ids: list[str], delivery: str | None, *, author_id: str | None
) -> SharingConsent:
    """Validate the author's choices; recipients' membership of the case is checked by the caller.

    Raises:
        Invalid: with a message that says what to change.
    """
    if scope not in SCOPES:
        raise Invalid(
            N_("Choose how it may be shared: %(choices)s."),
            params={"choices": ", ".join(SCOPES)},
            code="invalid_scope",
        )
    if delivery is not None and delivery not in DELIVERIES:
        raise Invalid(
            N_("Delivery must be one of: %(choices)s."),
            params={"choices": ", ".join(DELIVERIES)},
            code="invalid_delivery",
        )
    unique = tuple(dict.fromkeys(recipient_ids))
    if len(unique) != len(recipient_ids):
        raise Invalid(N_("A recipient is named twice."), code="invalid_recipients")
    if scope == "facilitator_only" and unique:
        raise Invalid(
            N_("An item kept for the facilitator has no recipients."), code="invalid_recipients"
        )
    if scope != "facilitator_only" and not unique:
        raise Invalid(N_("Choose who may receive it."), code="invalid_recipients")
    if author_id is not None and author_id in unique:
        raise Invalid(N_("You cannot send an item to yourself."), code="invalid_recipients")
    return SharingConsent(scope, unique, delivery or "portal")


def version_digest(
    *,
    item_id: str,
    number: int,
    kind: str,
    body: str,
    sharing: SharingConsent,
    response_wanted: str,
) -> str:
    """SHA-256 over a version's canonical content and sharing consent."""
    canonical = json.dumps(
        {
            "item": item_id,
            "version": number,
            "kind": kind,
            "body": body,
            "sharing": {
                "scope": sharing.scope,
                "recipient_ids": sorted(sharing.recipient_ids),
                "delivery": sharing.delivery,
            },
            "response_wanted": response_wanted,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
