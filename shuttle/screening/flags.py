"""The flag: one thing a careful reviewer would look at, where it is, and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass

KINDS = (
    "contact_details",
    "location",
    "watch_list",
    "acrostic",
    "invisible_characters",
    "lookalike_characters",
    "code_like",
    "unwanted_topic",
    "intimidation",
    "minimisation",
    "blaming",
)
SEVERITIES = ("info", "warning", "high")


class ScreeningPolicyError(ValueError):
    """A screening policy file breaks the rules of its format."""


@dataclass(frozen=True)
class Flag:
    """One thing for the reviewer to look at: what, how serious, where, and why.

    ``start`` and ``end`` are character offsets into the body; ``excerpt`` is exactly
    ``body[start:end]``. A flag advises: nothing in the service acts on it by itself.
    """

    kind: str
    severity: str
    start: int
    end: int
    excerpt: str
    reason: str

    def public(self) -> dict[str, object]:
        """The JSON shape of API.md."""
        return asdict(self)


def flag(kind: str, severity: str, body: str, start: int, end: int, reason: str) -> Flag:
    """A flag over ``body[start:end]``."""
    return Flag(kind, severity, start, end, body[start:end], reason)


def overlaps(a: Flag, b: Flag) -> bool:
    """Whether two flags share at least one character."""
    return a.start < b.end and b.start < a.end
