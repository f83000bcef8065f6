"""Contact details and places: phone numbers, e-mail and web addresses, handles, postcodes,
street addresses. Their data (domain endings, mail services, platforms, street types,
numbers in words) comes from ``policies/screening/contact.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shuttle.screening.flags import Flag, ScreeningPolicyError, Text, flag

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+[ \t]?@[ \t]?[\w-]+(?:[ \t]?\.[ \t]?[\w-]+)+")
LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")
GAMER_TAG = re.compile(r"(?<![\w#])[A-Za-z][\w.]{1,31}#\d{4}\b")
# The start of a UK mobile number with the rest given some other way.
PART_MOBILE = re.compile(r"(?<![\w/+.,])07\d{3}[ .\-]?\d{3}(?![\w/]|[ .\-]?\d)")
PHONE = re.compile(r"(?<![\w/+.,£$€])\+?[ \t]?\(?\d[\d \t().\-]{7,24}\d(?![\w/]|[.,]\d)")
POSTCODE = re.compile(
    r"(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)[ \t]{0,2}\d(?!(?:st|nd|rd|th)\b)"
    r"[ABD-HJLNP-UW-Z]{2}(?![\w-])",
    re.IGNORECASE,
)
BRACKET_AT = re.compile(r"[(\[{<][ \t]*at[ \t]*[)\]}>]", re.IGNORECASE)
_DATE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b")
_YEAR = re.compile(r"(?:19|20)\d\d")
_AT = r"(?:[ \t]*[(\[{<][ \t]*at[ \t]*[)\]}>][ \t]*|[ \t]+at[ \t]+)"
_DOT = r"(?:\.|[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+)"
_SPELLED_DOT = r"(?:[ \t]*[(\[{<][ \t]*dot[ \t]*[)\]}>][ \t]*|[ \t]+dot[ \t]+)"
_LABEL = r"[a-z0-9][a-z0-9-]*"
_HANDLE_AFTER = re.compile(
    r"[^\w\n]{0,3}(?:(?:my|the|a|an)\s+)?(?P<cue>(?:(?:user ?name|name|handle|account|"
    r"profile|id|tag|is|was|as|under|at|on|me|it's|its)\b[^\w\n@]{0,3}){0,3})"
    r"(?P<handle>@?[A-Za-z0-9_][\w.]{1,30})",
    re.IGNORECASE,
)
_HANDLE_BEFORE = re.compile(r"(?P<handle>@?[A-Za-z][\w.]*[\d_.][\w.]*)\s+on\s+$")
_STOP_NAMES = frozenset({"The", "A", "An", "My", "Our", "Your", "This", "That", "Dear", "I"})

PHONE_REASON = "This looks like a phone number."
EMAIL_REASON = "This looks like an e-mail address, which would let the recipient make contact."
LINK_REASON = "A web address can lead to contact details, a profile or a hidden message."
HANDLE_REASON = "This looks like a social media name, which would let someone make contact."


@dataclass(frozen=True)
class ContactRules:
    """Compiled patterns for contact details and places, built from the policy data."""

    top_level_domains: frozenset[str]
    mail_providers: frozenset[str]
    spelled_email: re.Pattern[str]
    bare_domain: re.Pattern[str]
    spelled_domain: re.Pattern[str]
    platform: re.Pattern[str]
    invitation: re.Pattern[str]
    platform_words: frozenset[str]
    street_words: frozenset[str]
    street: re.Pattern[str]
    street_before: re.Pattern[str]
    streets_alone: frozenset[str]
    digit_words: Mapping[str, str]
    repeat_words: Mapping[str, int]
    hundred_words: frozenset[str]


def _strings(raw: Mapping[str, Any], key: str) -> list[str]:
    values = raw.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ScreeningPolicyError(f"screening: {key} must be a list of words")
    return [str(v) for v in values]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s?") for w in sorted(words, key=len)[::-1])


def _number_words(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, int], frozenset[str]]:
    """Words for digits, words that repeat the next one, and words for "hundred"."""
    digits: dict[str, str] = {}
    for value, words in dict(raw.get("number_words", {})).items():
        if not str(value).isdigit():
            raise ScreeningPolicyError(f"screening: number_words key {value!r} is not a number")
        digits |= {w.lower(): str(value) for w in words}
    modifiers = dict(raw.get("number_modifiers", {}))
    repeat = {w.lower(): 2 for w in modifiers.get("double", [])}
    repeat |= {w.lower(): 3 for w in modifiers.get("triple", [])}
    return digits, repeat, frozenset(w.lower() for w in modifiers.get("hundred", []))


def compile_contact(raw: Mapping[str, Any]) -> ContactRules:
    """The contact rules from the merged policy data."""
    tlds = [t.lower() for t in _strings(raw, "top_level_domains")]
    providers = [p.lower() for p in _strings(raw, "mail_providers")]
    platforms = _strings(raw, "social_platforms")
    if not tlds or not platforms:
        raise ScreeningPolicyError("screening: top_level_domains and social_platforms are needed")
    digits, repeat, hundred = _number_words(raw)
    tld = _alternation(tlds)
    street_types = _alternation(_strings(raw, "street_types"))
    before_types = _alternation(_strings(raw, "street_types_before"))
    name = r"(?:[A-Z][\w'\u2019-]+|St\.?)"
    return ContactRules(
        top_level_domains=frozenset(tlds),
        mail_providers=frozenset(providers),
        spelled_email=re.compile(
            rf"(?<![\w.@])[a-z0-9][\w+-]*(?:{_DOT}[\w+-]+)*{_AT}"
            rf"(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{0,3}})(?![\w@])",
            re.IGNORECASE,
        ),
        bare_domain=re.compile(
            rf"(?<![\w@.\-/])(?:[a-z0-9][a-z0-9-]*\.)+(?:{tld})\b(?:/[^\s<>\"]*)?",
            re.IGNORECASE,
        ),
        spelled_domain=re.compile(
            rf"(?<![\w.@]){_LABEL}(?:{_SPELLED_DOT}{_LABEL})*{_SPELLED_DOT}(?:{tld})\b",
            re.IGNORECASE,
        ),
        platform=re.compile(rf"\b(?:{_alternation(platforms)})\b", re.IGNORECASE),
        invitation=re.compile(
            r"\b(?:find|add|follow|message|dm|search for|look for|look up|chwilia|"
            r"ffeindia|dilyna|ychwanega)\s+(?:me|us|fi|i|amdana i|amdanaf i|amdanon ni)\b"
            r"[^\n.]{0,30}?"
            rf"\b(?:on|at|ar)\s+(?:{_alternation(platforms)})\b",
            re.IGNORECASE,
        ),
        platform_words=frozenset(p.split()[0].lower() for p in platforms),
        street_words=frozenset(
            _strings(raw, "street_types") + _strings(raw, "street_types_before")
        ),
        street=re.compile(
            rf"(?<![\w])(?P<number>\d{{1,4}}[A-Za-z]?,?[ \t]+)?"
            rf"(?P<name>(?:{name}[ \t]+){{1,3}})(?P<type>{street_types})\b\.?"
        ),
        street_before=re.compile(
            rf"(?<![\w])(?P<number>\d{{1,4}}[A-Za-z]?,?[ \t]+)?(?P<type>{before_types})"
            r"(?P<name>(?:[ \t]+(?:y|yr|'r|[A-ZÂÊÎÔÛŴŶ][\w'\u2019-]+)){1,3})"
        ),
        streets_alone=frozenset(
            _strings(raw, "street_types_alone") + _strings(raw, "street_types_before_alone")
        ),
        digit_words=digits,
        repeat_words=repeat,
        hundred_words=hundred,
    )


def _trim(body: str, start: int, end: int) -> int:
    while end > start and body[end - 1] in ".,;:!?)]}'\"\u2019”":
        end -= 1
    return end


def _phone_like(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if not 9 <= digits <= 15 or re.search(r"[^\d]{4,}", text) or _DATE.search(text):
        return False
    groups = re.findall(r"\d+", text)
    return not all(len(g) == 4 and _YEAR.fullmatch(g) for g in groups)


def _spoken_digits(rules: ContactRules, text: str) -> tuple[str, bool]:
    """The digits a run of number words says, and whether any word was used."""
    digits, repeat, words, tens = "", 1, False, False
    for token in re.findall(r"\d+|[^\W\d_]+", text.lower()):
        if token.isdigit():
            digits, tens = digits + token * repeat, False
        elif token in rules.repeat_words:
            repeat, words = rules.repeat_words[token], True
            continue
        elif token in rules.hundred_words:
            digits, words, tens = digits + "00", True, False
        elif token in rules.digit_words:
            value, words = rules.digit_words[token], True
            if tens and len(value) == 1:
                digits = digits[:-1] + value
            else:
                digits += value * repeat
            tens = len(value) == 2 and value.endswith("0")
        repeat = 1
    return digits, words


def _phones(rules: ContactRules, text: Text) -> Iterator[Flag]:
    body = text.body
    for match in PHONE.finditer(body):
        if "\n" not in match.group(0) and _phone_like(match.group(0)):
            yield flag("contact_details", "high", body, match.start(), match.end(), PHONE_REASON)
    for match in PART_MOBILE.finditer(body):
        reason = "This looks like the start of a mobile number; the rest may be given elsewhere."
        yield flag("contact_details", "warning", body, match.start(), match.end(), reason)
    for start, end in _number_runs(rules, text):
        digits, words = _spoken_digits(rules, body[start:end])
        if words and 9 <= len(digits) <= 15:
            reason = f"A phone number written out in words ({digits})."
            yield flag("contact_details", "high", body, start, end, reason)


def _number_runs(rules: ContactRules, text: Text) -> Iterator[tuple[int, int]]:
    """Stretches of five or more numbers or number words, a space, comma or dash apart."""
    run: list[tuple[int, int]] = []
    for start, end, word in [*text.words, (len(text.body) + 9, 0, "")]:
        number = word.isdigit() and len(word) <= 5
        number = number or word in rules.digit_words or word in rules.repeat_words
        number = number or word in rules.hundred_words
        gap = text.body[run[-1][1] : start] if run else ""
        if number and run and len(gap) <= 3 and all(c in " \t,.-" for c in gap):
            run.append((start, end))
            continue
        if len(run) >= 5:
            yield run[0][0], run[-1][1]
        run = [(start, end)] if number else []


def _spelled_out(rules: ContactRules, text: Text) -> bool:
    """Whether an address may be written out here: "dot", "(at)" or a mail service's name."""
    words = text.places.keys()
    return (
        "dot" in words
        or bool(words & rules.mail_providers)
        or BRACKET_AT.search(text.body) is not None
    )


def _addresses(rules: ContactRules, text: Text) -> Iterator[Flag]:
    body = text.body
    if "@" in body:
        for match in EMAIL.finditer(body):
            yield flag("contact_details", "high", body, *match.span(), EMAIL_REASON)
    for pattern in (LINK, rules.bare_domain):
        for match in pattern.finditer(body):
            end = _trim(body, match.start(), match.end())
            yield flag("contact_details", "high", body, match.start(), end, LINK_REASON)
    if not _spelled_out(rules, text):
        return
    for match in rules.spelled_email.finditer(body):
        labels = re.split(_DOT, match.group("domain").lower())
        if labels[0] in rules.mail_providers or (
            len(labels) > 1 and labels[-1] in rules.top_level_domains
        ):
            reason = "An e-mail address written out to get past checks."
            yield flag("contact_details", "high", body, match.start(), match.end(), reason)
    for match in rules.spelled_domain.finditer(body):
        reason = "A web address written out to get past checks."
        yield flag("contact_details", "high", body, match.start(), match.end(), reason)


def _handles(rules: ContactRules, text: Text) -> Iterator[Flag]:
    body = text.body
    for sign, pattern in (("@", HANDLE), ("#", GAMER_TAG)):
        for match in pattern.finditer(body) if sign in body else ():
            yield flag("contact_details", "warning", body, *match.span(), HANDLE_REASON)
    if not text.places.keys() & rules.platform_words:
        return
    for match in rules.platform.finditer(body):
        after = _HANDLE_AFTER.match(body, match.end())
        if after is not None:
            handle = after.group("handle")
            cue = after.group("cue").lower()
            if (
                handle.startswith("@")
                or re.search(r"[\d_.]", handle.rstrip("."))
                or any(
                    word in cue for word in ("name", "handle", "account", "profile", "id", "tag")
                )
            ):
                end = _trim(body, match.start(), after.end())
                yield flag("contact_details", "warning", body, match.start(), end, HANDLE_REASON)
                continue
        before = _HANDLE_BEFORE.search(body, max(0, match.start() - 40), match.start())
        if before is not None:
            yield flag(
                "contact_details", "warning", body, before.start(), match.end(), HANDLE_REASON
            )
    for match in rules.invitation.finditer(body):
        reason = "An invitation to make contact through social media."
        yield flag("contact_details", "warning", body, match.start(), match.end(), reason)


def _places(rules: ContactRules, text: Text) -> Iterator[Flag]:
    body = text.body
    for match in POSTCODE.finditer(body):
        reason = "This looks like a UK postcode, which can show where someone lives."
        yield flag("location", "high", body, match.start(), match.end(), reason)
    if not text.capitalised & rules.street_words:
        return
    for pattern in (rules.street, rules.street_before):
        for match in pattern.finditer(body):
            words = match.group("name").split()
            if words and words[0] in _STOP_NAMES:
                continue
            if match.group("number"):
                reason = "This looks like a street address."
                yield flag("location", "high", body, match.start(), match.end(), reason)
            elif match.group("type") in rules.streets_alone:
                reason = "A street name can show where someone lives, works or can be found."
                start = match.start("name") if pattern is rules.street else match.start()
                yield flag("location", "warning", body, start, match.end(), reason)


def contact_flags(rules: ContactRules, text: Text) -> list[Flag]:
    """Phone numbers, addresses, links, handles, postcodes and streets in the text."""
    found = [
        *_phones(rules, text),
        *_addresses(rules, text),
        *_handles(rules, text),
        *_places(rules, text),
    ]
    # Keep the widest reading of each stretch: an address, not also the domain inside it.
    found.sort(key=lambda f: (f.start, -f.end))
    kept: list[Flag] = []
    reach = -1
    for candidate in found:
        if candidate.end <= reach:
            continue
        kept.append(candidate)
        reach = candidate.end
    return kept
