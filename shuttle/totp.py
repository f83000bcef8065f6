"""Time-based one-time passwords (RFC 6238) and recovery codes: the second factor.

Pure functions: the service (``shuttle.mfa``) stores the secret sealed, remembers the last
time step accepted so that no code is accepted twice, and keeps recovery codes only as digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote, urlencode

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
PERIOD = 30
# One step either side of now: a phone's clock a little out, or a code typed as it changes.
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 16  # 16 characters of 31: about 79 bits each


def new_secret() -> str:
    """A new shared secret, in the base32 form authenticator apps accept."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def _totp(secret: str) -> TOTP:
    # SHA-1, 6 digits, 30 s: what every authenticator app supports (RFC 6238's default).
    return TOTP(_key(secret), DIGITS, SHA1(), PERIOD, enforce_key_length=False)  # noqa: S303


def step_at(unix_time: float) -> int:
    """The RFC 6238 time step counter at ``unix_time``."""
    return int(unix_time // PERIOD)


def code_at(secret: str, unix_time: float) -> str:
    """The code an authenticator shows at ``unix_time``."""
    return _totp(secret).generate(int(unix_time)).decode("ascii")


def accepted_step(secret: str, code: str, unix_time: float, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for, near ``unix_time`` and after ``last_step``; else None.

    A code already accepted (its step at or before ``last_step``) is refused: one use only
    (RFC 6238 section 5.2).
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_at(unix_time)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        expected = _totp(secret).generate(step * PERIOD)
        # Compare every candidate (no early exit), so timing says nothing about which matched.
        if hmac.compare_digest(expected, code.encode("ascii")) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def provisioning_uri(secret: str, account: str, issuer: str = "Shuttle") -> str:
    """The otpauth:// URI an authenticator app reads (as text, or from a QR code)."""
    label = quote(f"{issuer}:{account}", safe="")
    fields = {"secret": secret, "issuer": issuer, "algorithm": "SHA1"}
    query = urlencode({**fields, "digits": DIGITS, "period": PERIOD})
    return f"otpauth://totp/{label}?{query}"


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh recovery codes, shown once: ``xxxx-xxxx-xxxx-xxxx``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_digest(code: str) -> str:
    """SHA-256 of a recovery code as typed (spaces, dashes and case ignored).

    Unsalted SHA-256 is enough: each code carries about 79 random bits, beyond guessing.
    """
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"shuttle recovery code|{normal}".encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    """Whether ``code`` has the shape of a recovery code rather than an authenticator's."""
    return len("".join(ch for ch in code if ch.isalnum())) == _RECOVERY_LENGTH
