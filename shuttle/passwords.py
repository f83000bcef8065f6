"""Password hashing (Argon2id), password rules and opaque tokens."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from shuttle.i18n import N_

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_password_rules",
    "dummy_hash",
    "hash_password",
    "hash_password_async",
    "is_common_password",
    "new_token",
    "password_rule_broken",
    "token_digest",
    "verify_or_burn",
    "verify_password",
    "verify_password_async",
]

# OWASP's recommended Argon2id minimum: 19 MiB, 2 passes, 1 lane (~20-40 ms per hash).
MEMORY_COST_KIB = 19456
ITERATIONS = 2
LANES = 1
SALT_SIZE = 16
HASH_SIZE = 32

MIN_PASSWORD_LENGTH = 12
# Long passphrases are welcome (ASVS 6.2.9 asks for at least 64); the cap only stops a
# megabyte "password" from costing a megabyte of hashing on every guess.
MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"
# What may be put around a common password without making it any less common.
_DECORATION_CHARACTERS = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~£€"
_MAX_DECORATION = 10

# Limits on the cost parameters we will honour in a stored PHC string. Without them a
# corrupted or planted row such as "m=99999999" would make one sign-in allocate ~95 GiB.
# They leave room to raise our own parameters later.
_MAX_MEMORY_COST_KIB = 262144  # 256 MiB
_MAX_ITERATIONS = 16
_MAX_LANES = 8
_PHC_RE = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>\d{1,10}),t=(?P<t>\d{1,10}),p=(?P<p>\d{1,10})"
    r"\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)


def _password_bytes(password: str) -> bytes:
    """Encode a password the same way every time it is hashed or checked."""
    # NFKC, as NIST SP 800-63B advises: the same password typed on two keyboards (e.g.
    # a precomposed "ŵ" versus "w" + combining circumflex) must give the same hash.
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id and return the PHC string to store."""
    kdf = Argon2id(
        salt=os.urandom(SALT_SIZE),
        length=HASH_SIZE,
        iterations=ITERATIONS,
        lanes=LANES,
        memory_cost=MEMORY_COST_KIB,
    )
    return kdf.derive_phc_encoded(_password_bytes(password))


def _acceptable_phc(phc: str) -> bool:
    """True if phc is a well-formed Argon2id PHC string with affordable cost parameters."""
    match = _PHC_RE.fullmatch(phc)
    if match is None:
        return False
    return (
        int(match["m"]) <= _MAX_MEMORY_COST_KIB
        and int(match["t"]) <= _MAX_ITERATIONS
        and int(match["p"]) <= _MAX_LANES
    )


def verify_password(password: str, phc: str) -> bool:
    """Return True if password matches the stored PHC string; False if wrong or malformed."""
    if not _acceptable_phc(phc):
        return False
    try:
        password_bytes = _password_bytes(password)
    except UnicodeEncodeError:
        # Lone surrogates cannot have been hashed by hash_password, so they cannot match.
        return False
    try:
        Argon2id.verify_phc_encoded(password_bytes, phc)
    except (InvalidKey, ValueError):
        # InvalidKey: wrong password or a PHC string the library rejects;
        # ValueError: parameters out of range (e.g. a too-short salt).
        return False
    return True


async def hash_password_async(password: str) -> str:
    """hash_password in a worker thread, so the event loop is not blocked for tens of ms."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, phc: str) -> bool:
    """verify_password in a worker thread, so the event loop is not blocked for tens of ms."""
    return await asyncio.to_thread(verify_password, password, phc)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, for burning the same time when an account is unknown."""
    # Computed on first use rather than at import (no module-level side effects). Calling it
    # once at start-up avoids the first unknown-account sign-in costing two hashes.
    return hash_password(secrets.token_urlsafe(32))


def _burn(password: str) -> bool:
    """Verify against the dummy hash purely to spend the same time; always False."""
    verify_password(password, dummy_hash())
    return False


async def verify_or_burn(password: str, phc: str | None) -> bool:
    """Verify password against phc, or spend the same time and return False when phc is None."""
    # Without the burn, "no such account" would answer tens of ms faster than "wrong password",
    # telling an attacker which e-mail addresses have accounts.
    if phc is None:
        return await asyncio.to_thread(_burn, password)
    return await verify_password_async(password, phc)


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The offline list of breached and common passwords (shuttle/data/README.md)."""
    return frozenset(COMMON_PASSWORDS.read_text(encoding="utf-8").split())


def is_common_password(password: str) -> bool:
    """Whether the password is on the list of common and breached passwords (case and spaces
    ignored), or is one of at least 4 characters with up to 10 digits or signs added before
    or after it (``Password2026!``, ``123456000``)."""
    normal = unicodedata.normalize("NFKC", password).casefold()
    common = _common_passwords()
    if normal in common or normal.replace(" ", "") in common:
        return True
    lead = len(normal) - len(normal.lstrip(_DECORATION_CHARACTERS))
    trail = len(normal) - len(normal.rstrip(_DECORATION_CHARACTERS))
    for i in range(min(lead, _MAX_DECORATION) + 1):
        for j in range(min(trail, _MAX_DECORATION) + 1):
            core = normal[i : len(normal) - j]
            if len(core) >= 4 and (core in common or core.replace(" ", "") in common):
                return True
    return False


def check_password_rules(
    password: str, *, is_breached: Callable[[str], bool] | None = is_common_password
) -> str | None:
    """Return None if the password is acceptable, else a plain-English reason it is not.

    By default a password on the offline list of common and breached passwords is refused.
    """
    broken = password_rule_broken(password, is_breached=is_breached)
    return broken[0] % broken[1] if broken else None


def password_rule_broken(
    password: str, *, is_breached: Callable[[str], bool] | None = is_common_password
) -> tuple[str, dict[str, int]] | None:
    """The rule ``password`` breaks, as words marked for translation and their numbers."""
    length = len(unicodedata.normalize("NFKC", password))
    if length < MIN_PASSWORD_LENGTH:
        return N_("Your password must be at least %(n)s characters long."), {
            "n": MIN_PASSWORD_LENGTH
        }
    if length > MAX_PASSWORD_LENGTH:
        return N_("Your password must be at most %(n)s characters long."), {
            "n": MAX_PASSWORD_LENGTH
        }
    if len(set(password)) == 1:
        return N_("Your password must not be one character repeated."), {}
    if is_breached is not None and is_breached(password):
        return N_(
            "This password is too common: it is on lists of passwords from data breaches."
        ), {}
    return None


def new_token() -> str:
    """Return a new random URL-safe token carrying 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Hex SHA-256 of a token: only digests are stored, so a leaked table grants nothing."""
    # Plain SHA-256 (no salt, no stretching) is enough: tokens have 256 bits of entropy,
    # and an unsalted digest lets the database look a token up by its digest.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
