"""Domain errors. They know nothing of HTTP; ``middleware`` maps them to answers."""

from __future__ import annotations

from typing import Any


class ShuttleError(Exception):
    """Base of every error a service raises on purpose.

    ``message`` is marked for translation where it is raised (``N_``) and may name
    ``%(name)s`` placeholders filled from ``params``: the API answers in English
    (``.message``); pages show it in the reader's language (``i18n.error_text``).
    """

    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, params: dict[str, Any] | None = None
    ) -> None:
        self.template = message
        self.params = dict(params or {})
        self.message = message % self.params if self.params else message
        super().__init__(self.message)
        if code is not None:
            self.code = code


class NotFound(ShuttleError):
    """The thing does not exist, or the caller may not know that it exists (the same answer)."""

    code = "not_found"

    def __init__(self, what: str = "That was not found.", *, code: str | None = None) -> None:
        super().__init__(what, code=code)


class NotSignedIn(ShuttleError):
    """No valid session: sign in first."""

    code = "not_signed_in"


class ReauthenticationRequired(NotSignedIn):
    """Signed in, but not recently enough for a sensitive action: prove it is you again."""

    code = "reauthentication_required"


class Forbidden(ShuttleError):
    """Signed in, but this role may not do this at all."""

    code = "forbidden"


class Conflict(ShuttleError):
    """The request clashes with the current state (wrong state, stale version, duplicate)."""

    code = "conflict"


class Invalid(ShuttleError):
    """Well-formed but not acceptable (a rule of the practice or a field's constraint)."""

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, params=params)
        self.fields = fields or {}


class Malformed(ShuttleError):
    """The request could not be read (not JSON, not an object)."""

    code = "malformed"


class TooLarge(ShuttleError):
    """The request body is over the configured limit."""

    code = "too_large"


class RateLimited(ShuttleError):
    """Too many attempts; try again in ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)
