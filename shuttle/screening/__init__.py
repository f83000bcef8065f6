"""Advisory screening of an item's text for its reviewer (guidance 3d 10: hidden messages).

Flags point at what a careful reviewer would look for and say why; they never approve,
withhold or block anything. Every submitted version is screened (``items._screen``) and its
flags are stored, sealed, with the version; practitioners see them on the item and in the
queue. The rules are data in ``policies/screening`` (see its README):

* ``contact_details``: phone numbers (digits in any grouping, or words, English and Welsh),
  e-mail and web addresses (also written out: "j dot smith at gmail dot com"), social media
  handles and invitations, and a deployment's own patterns (prison numbers);
* ``location``: UK postcodes, street addresses and street names (English and Welsh), PO boxes;
* ``watch_list``: the case's watch list (the person harmed's new town, school or workplace,
  children's names, nicknames, and the place names a practitioner adds to the case), found
  despite case, spacing, punctuation, look-alike letters and digits for letters;
* ``acrostic``: first letters of lines, sentences or words spelling a watch-list term, a
  signal word, or (lines and sentences) ordinary words;
* ``invisible_characters``, ``lookalike_characters``, ``code_like``: text hidden in plain
  sight;
* ``unwanted_topic``: topics the recipients asked not to hear about;
* ``intimidation``, ``minimisation``, ``blaming``: phrase lists in English and Welsh.

Attachments do not exist yet, so neither does screening their images' metadata (GPS position
in EXIF): it is not built. When attachments come, it belongs in a module of its own here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from shuttle.screening.acrostics import acrostic_flags
from shuttle.screening.contact import contact_flags
from shuttle.screening.flags import (
    KINDS,
    SEVERITIES,
    Flag,
    ScreeningPolicyError,
    overlaps,
    read_text,
)
from shuttle.screening.fold import looks_welsh
from shuttle.screening.hidden import code_flags, invisible_flags, lookalike_flags
from shuttle.screening.rules import ScreeningRules, load_screening_rules
from shuttle.screening.terms import (
    pattern_flags,
    phrase_flags,
    topic_flags,
    watch_letters,
    watch_list_flags,
)

__all__ = [
    "KINDS",
    "SEVERITIES",
    "Flag",
    "ScreeningPolicyError",
    "ScreeningRules",
    "load_screening_rules",
    "screen",
]

# A code-like run inside something already explained (a phone number, a watch-list term
# written in digits) says nothing more.
EXPLAINING = frozenset({"contact_details", "location", "watch_list", "lookalike_characters"})


def screen(
    body: str,
    rules: ScreeningRules,
    *,
    watch_list: Iterable[str] = (),
    unwanted_topics: Iterable[str] = (),
    author_role: str | None = None,
) -> list[Flag]:
    """Every flag for ``body``, in order of where they start.

    Args:
        rules: the deployment's screening rules (``Policies.screening``).
        watch_list: the case's watch list.
        unwanted_topics: what the item's recipients asked not to hear about.
        author_role: the author's role in the case ("responsible", "harmed", ...), for the
            phrase lists that only apply to one side; None applies them all.
    """
    table = rules.fold_table
    text = read_text(body, table)
    folded = text.folded
    terms = list(dict.fromkeys(t for t in watch_list if t.strip()))
    welsh = looks_welsh(folded)
    flags = [
        *contact_flags(rules.contact, text),
        *pattern_flags(rules.patterns, body),
        *watch_list_flags({t: rules.term_pattern(t, welsh=welsh) for t in terms}, body, folded),
        *topic_flags(unwanted_topics, table, body, folded),
        *phrase_flags(rules.phrases, text, author_role),
        *invisible_flags(body),
        *lookalike_flags(body, table),
        *acrostic_flags(rules.acrostics, body, table, watch_letters(terms, table)),
    ]
    explained = [f for f in flags if f.kind in EXPLAINING]
    flags += [f for f in code_flags(body) if not any(overlaps(f, other) for other in explained)]
    return _merged(flags)


def _merged(flags: list[Flag]) -> list[Flag]:
    """One flag for each stretch: overlapping flags of the same kind and reason are joined."""
    flags = sorted(flags, key=lambda f: (f.kind, f.reason, f.start, -f.end))
    joined: list[Flag] = []
    for current in flags:
        last = joined[-1] if joined else None
        same = last is not None and (last.kind, last.reason) == (current.kind, current.reason)
        if last is not None and same and current.start < last.end:
            if current.end > last.end:
                excerpt = last.excerpt + current.excerpt[last.end - current.start :]
                joined[-1] = replace(last, end=current.end, excerpt=excerpt)
            continue
        joined.append(current)
    return sorted(joined, key=lambda f: (f.start, f.end, f.kind))
