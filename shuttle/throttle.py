"""Guessing throttled: failed sign-ins counted per account and per address, growing delays.

Counters live in the database, so several app processes share them. An account's key is a
keyed hash of the e-mail address as typed (normalised), whether or not an account has it, so
a throttled unknown address answers exactly as a throttled real one. Addresses are hashed the
same way: neither is stored in clear.
"""

from __future__ import annotations

import math
from datetime import timedelta

from shuttle.errors import RateLimited
from shuttle.i18n import N_
from shuttle.models import SignInThrottle
from shuttle.runtime import SERVICE_SLOT, Tx

# Failures older than this are forgotten: the count starts again.
FORGET_AFTER = timedelta(hours=24)
TOO_MANY = N_("Too many attempts to sign in. Wait a little, then try again.")


async def keys_for(tx: Tx, account_lookup: str | None, address: str | None) -> list[str]:
    """The throttle keys of one attempt: the account's (by e-mail lookup hash), the address's."""
    keys = []
    if account_lookup is not None:
        keys.append(f"account:{account_lookup}")
    if address:
        cipher = await tx.cipher(SERVICE_SLOT)
        keys.append(f"address:{cipher.lookup_hash('address|' + address)}")
    return keys


async def check(tx: Tx, keys: list[str]) -> None:
    """Raise RateLimited (with the seconds to wait) while any of ``keys`` is held back."""
    wait = 0.0
    for key in keys:
        row = await tx.session.get(SignInThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > tx.now:
            wait = max(wait, (row.blocked_until - tx.now).total_seconds())
    if wait > 0:
        raise RateLimited(TOO_MANY, retry_after=math.ceil(wait), code="too_many_attempts")


def _free(tx: Tx, key: str) -> int:
    if key.startswith("account:"):
        return tx.settings.sign_in_free_failures_account
    return tx.settings.sign_in_free_failures_address


async def failed(tx: Tx, keys: list[str]) -> None:
    """Count one failure against each key; past the free ones, hold it back 1 s, 2 s, 4 s..."""
    for key in keys:
        row = await tx.session.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failure_at=tx.now)
        elif row.last_failure_at + FORGET_AFTER <= tx.now:
            row.failures, row.blocked_until = 0, None
        row.failures += 1
        row.last_failure_at = tx.now
        over = row.failures - _free(tx, key)
        if over >= 0:
            delay = min(2 ** min(over, 30), tx.settings.sign_in_max_delay_seconds)
            row.blocked_until = tx.now + timedelta(seconds=delay)
        tx.session.add(row)


async def succeeded(tx: Tx, account_key: str) -> None:
    """A successful sign-in: the account's count starts again (the address's does not)."""
    row = await tx.session.get(SignInThrottle, account_key)
    if row is not None:
        await tx.session.delete(row)
