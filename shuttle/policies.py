"""The service's rules as data: load ``policies/*.toml``, validate, freeze."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shuttle.screening import ScreeningPolicyError, ScreeningRules, load_screening_rules

ROLES = (
    "admin",
    "manager",
    "supervisor",
    "senior_practitioner",
    "practitioner",
    "participant",
)
PRACTITIONER_ROLES = frozenset({"supervisor", "senior_practitioner", "practitioner"})
PERMISSIONS = frozenset(
    {
        "audit:verify",
        "cases:overview",
        "cases:create",
        "cases:work",
        "cases:lead_sensitive",
        "items:decide",
        "items:decide_escalated",
        "queue:read",
        "disclosure:release",
        "cases:record",
        "items:write_own",
        "inbox:read",
        "me:manage",
        "users:manage",
    }
)
ATTRIBUTION_TAGS = (
    "own_words",
    "facilitator_summary",
    "facilitator_assessment",
    "written_with_help",
)
REQUIRED_REASONS = {
    "withhold": {"serious_harm", "risk_of_harm", "identifying_details", "other"},
    "return": {"needs_revision", "identifying_details", "other"},
}


class PolicyError(ValueError):
    """A policy file is missing, unreadable or breaks the rules of its format."""


@dataclass(frozen=True)
class Reason:
    """One reason code for withholding or returning an item."""

    code: str
    label: str
    author_label: str | None = None
    needs_supervisor: bool = False


@dataclass(frozen=True)
class DisclosureRules:
    """How the right-of-access deadline is counted."""

    timezone: str
    extension_months: int
    public_holidays: frozenset[date]


@dataclass(frozen=True)
class Exemption:
    """A reason to withhold a note from a person's own records, and the law it rests on."""

    code: str
    label: str
    basis: str


@dataclass(frozen=True)
class VettingRules:
    """How soon a submitted item should be decided: a number of working days."""

    working_days: int


@dataclass(frozen=True)
class Policies:
    """Every policy the running service uses, validated at start-up."""

    permissions: MappingProxyType[str, frozenset[str]]
    withhold_reasons: MappingProxyType[str, Reason]
    return_reasons: MappingProxyType[str, Reason]
    attribution_labels: MappingProxyType[str, str]
    disclosure: DisclosureRules
    screening: ScreeningRules
    vetting: VettingRules
    exemptions: MappingProxyType[str, Exemption]
    extension_reasons: MappingProxyType[str, str]
    referral_sources: MappingProxyType[str, str]

    def can(self, role: str, permission: str) -> bool:
        """Whether ``role`` may attempt actions of kind ``permission`` at all."""
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        return permission in self.permissions.get(role, frozenset())

    def reason(self, decision: str, code: str) -> Reason | None:
        """The reason ``code`` for a ``withhold`` or ``return``, or None if not in the policy."""
        table = self.withhold_reasons if decision == "withhold" else self.return_reasons
        return table.get(code)

    def attribution_label(self, tag: str, name: str) -> str:
        """The plain-English words shown above an item relayed with ``tag``."""
        return self.attribution_labels[tag].format(name=name)


def _read(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc


def _permissions(raw: dict[str, Any]) -> dict[str, frozenset[str]]:
    roles = raw.get("roles", {})
    missing = set(ROLES) - set(roles)
    if missing:
        raise PolicyError(f"roles.toml leaves out roles: {', '.join(sorted(missing))}")
    table: dict[str, frozenset[str]] = {}
    for role, entry in roles.items():
        if role not in ROLES:
            raise PolicyError(f"roles.toml names an unknown role {role!r}")
        granted = frozenset(entry.get("permissions", []))
        unknown = granted - PERMISSIONS
        if unknown:
            raise PolicyError(f"roles.toml gives {role} unknown permissions: {sorted(unknown)}")
        table[role] = granted
    return table


def _reasons(raw: dict[str, Any], decision: str) -> dict[str, Reason]:
    entries = raw.get(decision, {})
    missing = REQUIRED_REASONS[decision] - set(entries)
    if missing:
        raise PolicyError(f"reasons.toml lacks {decision} reasons: {sorted(missing)}")
    reasons = {}
    for code, entry in entries.items():
        if not isinstance(entry.get("label"), str) or not entry["label"].strip():
            raise PolicyError(f"reasons.toml: {decision}.{code} needs a label")
        reasons[code] = Reason(
            code=code,
            label=entry["label"],
            author_label=entry.get("author_label"),
            needs_supervisor=bool(entry.get("needs_supervisor", False)),
        )
    if decision == "withhold" and not reasons["serious_harm"].needs_supervisor:
        raise PolicyError("reasons.toml: withhold.serious_harm must need a supervisor")
    return reasons


def _labels(raw: dict[str, Any]) -> dict[str, str]:
    labels = raw.get("labels", {})
    missing = set(ATTRIBUTION_TAGS) - set(labels)
    if missing:
        raise PolicyError(f"attribution.toml lacks labels for {sorted(missing)}")
    for tag, text in labels.items():
        try:
            str(text).format(name="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise PolicyError(f"attribution.toml: label {tag!r} is malformed: {exc}") from exc
    return {tag: str(text) for tag, text in labels.items() if tag in ATTRIBUTION_TAGS}


def _disclosure(raw: dict[str, Any]) -> DisclosureRules:
    zone = str(raw.get("timezone", "Europe/London"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"disclosure.toml: unknown timezone {zone!r}") from exc
    try:
        holidays = frozenset(date.fromisoformat(d) for d in raw.get("public_holidays", []))
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"disclosure.toml: public_holidays must be YYYY-MM-DD: {exc}") from exc
    months = raw.get("extension_months", 2)
    if not isinstance(months, int) or not 0 <= months <= 2:
        raise PolicyError("disclosure.toml: extension_months must be 0, 1 or 2")
    return DisclosureRules(zone, months, holidays)


def _labelled(raw: dict[str, Any], file: str, table: str) -> dict[str, dict[str, str]]:
    """A table of codes, each with a non-empty ``label`` (and other text fields)."""
    entries = raw.get(table, {})
    if not isinstance(entries, dict) or not entries:
        raise PolicyError(f"{file}: [{table}] must list at least one code")
    found = {}
    for code, entry in entries.items():
        if not isinstance(entry, dict) or not str(entry.get("label", "")).strip():
            raise PolicyError(f"{file}: {table}.{code} needs a label")
        if len(code) > 32:
            raise PolicyError(f"{file}: {table}.{code}: codes are at most 32 characters")
        found[code] = {key: str(value) for key, value in entry.items()}
    return found


def _exemptions(raw: dict[str, Any]) -> dict[str, Exemption]:
    entries = _labelled(raw, "disclosure.toml", "exemptions")
    for code, entry in entries.items():
        if not entry.get("basis", "").strip():
            raise PolicyError(f"disclosure.toml: exemptions.{code} needs a basis in law")
    return {c: Exemption(c, e["label"], e["basis"]) for c, e in entries.items()}


def _screening(directory: Path) -> ScreeningRules:
    try:
        return load_screening_rules(directory)
    except ScreeningPolicyError as exc:
        raise PolicyError(str(exc)) from exc


def _vetting(raw: dict[str, Any]) -> VettingRules:
    days = raw.get("working_days", 5)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
        raise PolicyError("vetting.toml: working_days must be a whole number from 1 to 60")
    return VettingRules(days)


def load_policies(directory: Path) -> Policies:
    """Read and validate every policy file in ``directory``.

    Raises:
        PolicyError: with a message naming the file and the problem.
    """
    return Policies(
        permissions=MappingProxyType(_permissions(_read(directory, "roles.toml"))),
        withhold_reasons=MappingProxyType(_reasons(_read(directory, "reasons.toml"), "withhold")),
        return_reasons=MappingProxyType(_reasons(_read(directory, "reasons.toml"), "return")),
        attribution_labels=MappingProxyType(_labels(_read(directory, "attribution.toml"))),
        disclosure=_disclosure(_read(directory, "disclosure.toml")),
        screening=_screening(directory / "screening"),
        vetting=_vetting(_read(directory, "vetting.toml")),
        exemptions=MappingProxyType(_exemptions(_read(directory, "disclosure.toml"))),
        extension_reasons=MappingProxyType(
            {
                code: entry["label"]
                for code, entry in _labelled(
                    _read(directory, "disclosure.toml"), "disclosure.toml", "extension_reasons"
                ).items()
            }
        ),
        referral_sources=MappingProxyType(
            {
                code: entry["label"]
                for code, entry in _labelled(
                    _read(directory, "case_record.toml"), "case_record.toml", "referral_sources"
                ).items()
            }
        ),
    )


def extract_reason_labels(
    fileobj: BinaryIO, keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel extractor (babel.cfg) for ``reasons.toml``: every reason's ``label`` (what staff
    choose from) and ``author_label`` (what the author is told), to translate where shown.

    A deployment's own wording is shown as written until its catalogue has it.
    """
    text = fileobj.read().decode("utf-8")
    lines = text.splitlines()
    for decision, entries in tomllib.loads(text).items():
        for code, entry in entries.items():
            for key in ("label", "author_label"):
                words = entry.get(key)
                if isinstance(words, str):
                    line = next((n for n, row in enumerate(lines, 1) if words in row), 0)
                    yield line, None, words, [f"reasons.toml {decision}.{code} {key}"]
