"""Screening finds what a careful reviewer would look for, with exact spans, and never fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuttle.policies import PolicyError, load_policies
from shuttle.screening import KINDS, SEVERITIES, ScreeningRules, load_screening_rules, screen
from shuttle.screening.fold import fold
from shuttle.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "policies"
RULES = load_screening_rules(SHIPPED / "screening")
INVISIBLE = "\u200b\u200c\u200d\u202e\u2066\u00ad\ufeff\U000e0041"
LOOKALIKE = "\u0430\u0435\u043e\u0440\u0441\u0456\u03bf\u03b1\U0001d41a"


def kinds(text: str, **context: list[str]) -> dict[str, list[str]]:
    """The excerpts screening flags in ``text``, by kind."""
    found: dict[str, list[str]] = {}
    for flag in screen(text, RULES, **context):  # type: ignore[arg-type]
        found.setdefault(flag.kind, []).append(flag.excerpt)
    return found


@pytest.mark.parametrize(
    ("text", "kind", "excerpt"),
    [
        ("Ring 07700 900 123 tonight.", "contact_details", "07700 900 123"),
        ("or +44 (0)20 7946 0958.", "contact_details", "+44 (0)20 7946 0958"),
        ("dad is on +1 415-555-0132", "contact_details", "+1 415-555-0132"),
        ("oh seven seven double-oh nine hundred one two three", "contact_details", None),
        ("dim saith saith dim dim naw dim dim un dau tri", "contact_details", None),
        ("write to j.smith at gmail dot com", "contact_details", "j.smith at gmail dot com"),
        ("see www.example.com/me.", "contact_details", "www.example.com/me"),
        ("my insta: r.jones7 ok", "contact_details", "insta: r.jones7"),
        ("post it to LS6 2QT please", "location", "LS6 2QT"),
        ("I live at 14 Oakfield Road now", "location", "14 Oakfield Road"),
        ("yn 12 Heol y Bont nawr", "location", "12 Heol y Bont"),
        ("hello\u200bthere", "invisible_characters", "\u200b"),
        ("the \u0420\u0430rk gate", "lookalike_characters", "\u0420\u0430rk"),
        ("the code XKRTPQ", "code_like", "XKRTPQ"),
        ("I know where you live.", "intimidation", "I know where you live"),
        ("It wasn't that bad.", "minimisation", "It wasn't that bad"),
        ("You made me do it.", "blaming", "You made me"),
        ("Dw i'n gwybod lle ti'n byw.", "intimidation", "Dw i'n gwybod lle ti'n byw"),
    ],
)
def test_finds_each_kind(text: str, kind: str, excerpt: str | None) -> None:
    """Each rule finds its example, and flags exactly the text that matters."""
    found = kinds(text)
    assert kind in found, found
    if excerpt is not None:
        assert excerpt in found[kind]


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("Sheffield", "moved to 5h3ff13ld"),
        ("Sheffield", "moved to SHEFFIELD"),
        ("Sheffield", "moved to Sh\u200beff\u200bield"),
        ("Sheffield", "moved to \u0405h\u0435ffi\u0435ld"),
        ("Lily", "say hi to L.i.l.y"),
        ("Lily", "say hi to L i l y"),
        ("Lily", "Lily's school"),
        ("Millbrook", "near mill-brook"),
        ("Oak Street", "on oakstreet"),
        ("Caerdydd", "mae e'n byw yng Nghaerdydd nawr gyda fy chwaer"),
    ],
)
def test_watch_list_despite_disguise(term: str, text: str) -> None:
    """Watch-list terms are found despite case, spacing, look-alikes, swaps and mutation."""
    assert "watch_list" in kinds(text, watch_list=[term])


@pytest.mark.parametrize(
    ("term", "text"),
    [("Emma", "tell them mar"), ("Ann", "I planned it"), ("Bella", "a nice fella he was")],
)
def test_watch_list_keeps_to_whole_words(term: str, text: str) -> None:
    """A term inside other words, or mutated in an English letter, is not a match."""
    assert "watch_list" not in kinds(text, watch_list=[term])


def test_acrostic_over_lines_names_the_watch_list_term() -> None:
    """The first letters of lines spelling a watch-list term are flagged high, with why."""
    text = "Lately I think of you.\nEvery day.\nEach night.\nDo you remember?\nSorry."
    (flag,) = [f for f in screen(text, RULES, watch_list=["Leeds"]) if f.kind == "acrostic"]
    assert flag.severity == "high" and "LEEDS" in flag.reason and "watch list" in flag.reason
    assert flag.start == 0 and text[flag.end - 1] == "S"


def test_recipients_unwanted_topics() -> None:
    """A topic the recipient asked not to hear about is flagged, in either word order."""
    assert "unwanted_topic" in kinds("Life in prison is dull.", unwanted_topics=["prison life"])
    assert "unwanted_topic" not in kinds("Life is dull.", unwanted_topics=["prison life"])


def test_author_specific_phrases() -> None:
    """Some phrases are only blaming when the person responsible writes them."""
    text = "You ruined my life."
    assert screen(text, RULES, author_role="harmed") == []
    assert [f.kind for f in screen(text, RULES, author_role="responsible")] == ["blaming"]


@pytest.mark.parametrize(
    "text",
    [
        "I am sorry I hurt you. I will never do it again.",
        "On 14/03/2024 at 10:30 I paid £1,250 (case 2024/113), see Romans 12:19.",
        "We won 3-0 on 2 May 2023; it cost £25,000 over 18 months.",
        "My family \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f3f4\U000e0067\U000e0062"
        "\U000e0077\U000e006c\U000e0073\U000e007f",
    ],
)
def test_ordinary_text_is_not_flagged(text: str) -> None:
    """Dates, money, references, verses and emoji are not flagged for nothing."""
    assert screen(text, RULES) == []


text_with_tricks = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list(INVISIBLE + LOOKALIKE + "0123456789 .-@\n")),
    ),
    max_size=400,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=text_with_tricks, terms=st.lists(st.text(max_size=20), max_size=4))
def test_screening_never_fails_and_spans_slice_the_body(body: str, terms: list[str]) -> None:
    """Any text at all: no exception, and every flag's span slices the body to its excerpt."""
    for flag in screen(body, RULES, watch_list=terms, unwanted_topics=terms):
        assert 0 <= flag.start < flag.end <= len(body)
        assert body[flag.start : flag.end] == flag.excerpt
        assert flag.kind in KINDS and flag.severity in SEVERITIES
        assert flag.reason.strip() and "\n" not in flag.reason


@given(text=st.text(max_size=200))
def test_folding_keeps_offsets(text: str) -> None:
    """Folded text has the same length, so folded offsets point into the original."""
    assert len(fold(text, RULES.fold_table)) == len(text)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target)
    return target


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[phrases]]\nkind = "rudeness"\nseverity = "high"\nreason = "x"\n', "unknown kind"),
        ('[[phrases]]\nkind = "blaming"\nseverity = "red"\nreason = "x"\n', "severity"),
        ('[[patterns]]\nkind = "code_like"\nseverity = "info"\nreason = "x"\nregex = "("\n', "bad"),
        ("colour = 3\n", "unknown setting"),
        ("min_lines = 0\n", "min_lines"),
    ],
)
def test_bad_screening_policy_is_refused(tmp_path: Path, content: str, message: str) -> None:
    """A deployment's screening file is validated at start-up, with a message that says why."""
    folder = _copy(tmp_path)
    (folder / "screening" / "zz-local.toml").write_text(content, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policies(folder)


def test_deployment_adds_its_own_phrases(tmp_path: Path) -> None:
    """A file beside the shipped ones adds rules without editing them."""
    folder = _copy(tmp_path)
    (folder / "screening" / "zz-local.toml").write_text(
        '[[phrases]]\nkind = "intimidation"\nseverity = "high"\n'
        'reason = "A local gang name."\nphrases = ["the north side crew"]\n',
        encoding="utf-8",
    )
    rules: ScreeningRules = load_policies(folder).screening
    (flag,) = screen("Say hi from the North Side Crew.", rules)
    assert (flag.kind, flag.excerpt, flag.reason) == (
        "intimidation",
        "the North Side Crew",
        "A local gang name.",
    )
