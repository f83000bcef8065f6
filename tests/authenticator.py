"""A member of staff's authenticator app, for tests: it enrols from the secret the service
offers, and answers sign-in challenges with codes computed from it (RFC 6238).

The service accepts each time step once, and one step either side of now. So an app can give
at most three fresh codes in a burst; after that this one spends a recovery code, as a person
signing in again and again within a minute would have to. Apps are kept per database and
e-mail address, so tests never share one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shuttle import totp


@dataclass
class Authenticator:
    """One enrolled app: its secret, the last time step it gave, the unused recovery codes."""

    secret: str
    last_step: int | None = None
    recovery_codes: list[str] = field(default_factory=list)

    def code(self) -> str:
        """A code the service will accept now: a fresh time step, else a recovery code."""
        now = totp.step_at(time.time())
        for step in range(now - totp.DRIFT_STEPS, now + totp.DRIFT_STEPS + 1):
            if self.last_step is None or step > self.last_step:
                self.last_step = step
                return totp.code_at(self.secret, step * totp.PERIOD)
        assert self.recovery_codes, "signed in too often: no time step or recovery code left"
        return self.recovery_codes.pop()


APPS: dict[tuple[str, str], Authenticator] = {}


def app_for(database: str, email: str) -> Authenticator | None:
    """The app enrolled for ``email`` on ``database``, if any."""
    return APPS.get((database, email.strip().lower()))


def answer(database: str, email: str, challenge: dict[str, Any]) -> dict[str, str]:
    """The body of ``POST /api/v1/session/mfa`` for a sign-in's challenge (enrolling if asked)."""
    key = (database, email.strip().lower())
    if challenge.get("enrolment_required"):
        APPS[key] = Authenticator(challenge["totp"]["secret"])
    return {"challenge": challenge["challenge"], "code": APPS[key].code()}


def keep_recovery_codes(database: str, email: str, signed_in: dict[str, Any]) -> None:
    """Remember the recovery codes a first sign-in showed."""
    app = app_for(database, email)
    if app is not None and signed_in.get("recovery_codes"):
        app.recovery_codes = list(signed_in["recovery_codes"])


Call = Callable[[str, str, Any], Awaitable[Any]]


async def sign_in(call: Call, database: str, email: str, password: str) -> dict[str, Any]:
    """Sign in through the API with ``call(method, path, body) -> JSON`` (which checks the
    status is 200), answering the second-factor challenge when there is one."""
    first: dict[str, Any] = await call(
        "POST", "/api/v1/session", {"email": email, "password": password}
    )
    if not first.get("mfa_required"):
        return first
    done: dict[str, Any] = await call("POST", "/api/v1/session/mfa", answer(database, email, first))
    keep_recovery_codes(database, email, done)
    return done
