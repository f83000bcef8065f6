"""Policies are data, validated at start-up with messages that say what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shuttle.policies import PERMISSIONS, ROLES, PolicyError, load_policies
from shuttle.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "policies"


def test_shipped_policies_load() -> None:
    """The policies in the repository are valid and complete."""
    policies = load_policies(SHIPPED)
    assert set(policies.permissions) == set(ROLES)
    assert policies.reason("withhold", "serious_harm").needs_supervisor  # type: ignore[union-attr]
    assert policies.attribution_label("own_words", "Rob") == "In Rob's own words"


def test_participants_cannot_decide_or_read_queues() -> None:
    """A participant's role never includes practitioner permissions."""
    policies = load_policies(SHIPPED)
    for permission in ("items:decide", "queue:read", "cases:work", "audit:verify"):
        assert not policies.can("participant", permission)


def test_unknown_permission_is_a_programming_error() -> None:
    """Asking about a permission that does not exist fails loudly."""
    with pytest.raises(KeyError):
        load_policies(SHIPPED).can("admin", "no:such")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("roles.toml", '"queue:read"', '"queue:read", "items:fly"', "unknown permissions"),
        ("roles.toml", "[roles.admin]", "[roles.wizard]", "leaves out roles"),
        (
            "reasons.toml",
            "[withhold.serious_harm]",
            "[withhold.other_harm]",
            "lacks withhold reasons",
        ),
        (
            "reasons.toml",
            "\nneeds_supervisor = true",
            "\nneeds_supervisor = false",
            "must need a supervisor",
        ),
        (
            "attribution.toml",
            'own_words = "In {name}\'s own words"',
            'own_words = "In {nam}"',
            "malformed",
        ),
        ("disclosure.toml", '"2026-01-01"', '"first of January"', "YYYY-MM-DD"),
        (
            "disclosure.toml",
            'timezone = "Europe/London"',
            'timezone = "Mars/Olympus"',
            "unknown timezone",
        ),
        ("roles.toml", "[roles.admin]", "[roles.admin", "not valid TOML"),
    ],
)
def test_broken_policy_is_refused(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    """Each kind of mistake in a policy file stops start-up with a clear message."""
    folder = _copy(tmp_path)
    path = folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PolicyError, match=message):
        load_policies(folder)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A missing policy file is named in the error."""
    folder = _copy(tmp_path)
    (folder / "reasons.toml").unlink()
    with pytest.raises(PolicyError, match=r"reasons\.toml"):
        load_policies(folder)


def test_every_permission_is_granted_to_someone() -> None:
    """No permission is dead: each is held by at least one role."""
    policies = load_policies(SHIPPED)
    granted = set().union(*policies.permissions.values())
    assert granted == PERMISSIONS
