"""Tests for shuttle.passwords, using real Argon2id at the production cost (the rest of the
suite hashes at the smallest cost: tests/conftest.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shuttle.passwords import (
    check_password_rules,
    dummy_hash,
    hash_password,
    hash_password_async,
    new_token,
    token_digest,
    verify_or_burn,
    verify_password,
    verify_password_async,
)

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.production_password_hashing


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_round_trip(stored: str) -> None:
    assert verify_password(PASSWORD, stored)


def test_wrong_password(stored: str) -> None:
    assert not verify_password(PASSWORD + "!", stored)
    assert not verify_password("", stored)


def test_hashes_are_salted() -> None:
    assert hash_password(PASSWORD) != hash_password(PASSWORD)


def test_phc_names_argon2id_and_parameters(stored: str) -> None:
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    salt, digest = stored.split("$")[4:6]
    # Unpadded base64: 16-byte salt -> 22 chars, 32-byte hash -> 43 chars.
    assert len(salt) == 22
    assert len(digest) == 43


@pytest.mark.parametrize(
    "phc",
    [
        "",
        "not a hash",
        "$argon2id$",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
        "$argon2id$v=19$m=19456,t=2,p=1$$",
        "$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA",  # salt too short
        "$2b$12$abcdefghijklmnopqrstuu5XjNhDB/W6JxZT4Yx0Ml7wOkJ0eQ7eS",  # bcrypt
        # Absurd cost: must be refused, not attempted (~95 GiB).
        "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "ZXx1GQDXJwUcKV0YYNV+MLtEfBD6tAuCzUmCyJYP+f8",
    ],
)
def test_malformed_phc_is_false(phc: str) -> None:
    assert verify_password(PASSWORD, phc) is False


def test_truncated_phc_is_false(stored: str) -> None:
    assert verify_password(PASSWORD, stored[:-3]) is False


def test_long_password_works() -> None:
    password = "ŵ" * 100 + "a" * 100
    assert len(password) == 200
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert not verify_password(password[:-1], stored)


def test_unicode_normalisation() -> None:
    # Precomposed "ŵ" (U+0175) and "w" + combining circumflex are the same password.
    composed = "Gŵyl Ddewi 2024!"
    decomposed = "Gw\u0302yl Ddewi 2024!"
    assert composed != decomposed
    assert verify_password(decomposed, hash_password(composed))


def test_lone_surrogate_does_not_raise(stored: str) -> None:
    assert verify_password("\ud800bad", stored) is False


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_rules_reject_short(password: str) -> None:
    reason = check_password_rules(password)
    assert reason is not None
    assert "12" in reason


def test_rules_accept_good_passwords() -> None:
    assert check_password_rules("twelve chars") is None
    assert (
        check_password_rules("a long passphrase for the mediation service!!ab" + "x" * 17) is None
    )
    sixty_four = "Ab1-" * 16
    assert len(sixty_four) == 64
    assert check_password_rules(sixty_four) is None
    assert check_password_rules("p" * 255 + "q") is None  # 256 allowed
    assert check_password_rules("p" * 1023 + "q") is None  # 1024 allowed (ASVS 6.2.9: 64+)


def test_rules_reject_too_long() -> None:
    assert check_password_rules("ab" * 513) is not None


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password2026!",
        "iloveyou1234",
        "QWERTYUIOP12",
        "Dragon!2026!!",
        "  superman  1",
    ],
)
def test_rules_refuse_common_and_breached_passwords(password: str) -> None:
    """A password on the offline list, or one with digits and signs around it, is refused."""
    reason = check_password_rules(password)
    assert reason is not None and "common" in reason


def test_common_password_list_is_offline_small_and_normalised() -> None:
    """The shipped list: tens of thousands of entries, under 2 MB, case-folded, licence noted."""
    from shuttle.passwords import COMMON_PASSWORDS

    assert COMMON_PASSWORDS.stat().st_size < 2_000_000
    words = COMMON_PASSWORDS.read_text(encoding="utf-8").split()
    assert len(words) > 40_000 and all(w == w.casefold() for w in words)
    assert "MIT" in (COMMON_PASSWORDS.parent / "README.md").read_text(encoding="utf-8")


def test_rules_reject_one_repeated_character() -> None:
    assert check_password_rules("a" * 20) is not None
    assert check_password_rules(" " * 20) is not None


def test_rules_breached_hook() -> None:
    def breached(password: str) -> bool:
        return password == "password1234"

    assert check_password_rules("password1234", is_breached=breached) is not None
    assert check_password_rules("a better phrase", is_breached=breached) is None


async def test_async_wrappers() -> None:
    stored = await hash_password_async(PASSWORD)
    assert await verify_password_async(PASSWORD, stored)
    assert not await verify_password_async("nope nope nope", stored)


async def test_verify_or_burn(stored: str) -> None:
    assert await verify_or_burn(PASSWORD, stored) is True
    assert await verify_or_burn("wrong password!", stored) is False
    assert await verify_or_burn(PASSWORD, None) is False
    assert await verify_or_burn("", None) is False


def test_dummy_hash_is_cached_argon2id() -> None:
    assert dummy_hash() is dummy_hash()
    assert dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_tokens() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) >= 43
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


def test_token_digest() -> None:
    token = new_token()
    digest = token_digest(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token_digest(token) == digest
    assert token_digest(new_token()) != digest
    assert token not in digest


@given(
    index=st.integers(min_value=0, max_value=5000),
    before=st.text(alphabet="0123456789!@#$%&*._- ", max_size=6),
    after=st.text(alphabet="0123456789!@#$%&*._- ", max_size=8),
    upper=st.booleans(),
)
def test_a_common_password_with_digits_or_signs_around_it_is_still_refused(
    index: int, before: str, after: str, upper: bool
) -> None:
    """Property: any of the top 5,000, in any case, with digits and signs around it."""
    from shuttle.passwords import COMMON_PASSWORDS, is_common_password

    common = COMMON_PASSWORDS.read_text(encoding="utf-8").split()[index]
    assume(len(common) >= 4 and common.isascii())
    word = common.upper() if upper else common
    assert is_common_password(before + word + after)
