"""The process's log: one JSON object a line (or plain text), each tagged with its request id.

Fields of every JSON line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, and
``request_id`` when written while a request is handled. The request log line adds
``method``, ``route`` (the route's name, never the path: paths carry ids and invitation
tokens), ``status``, ``duration_ms`` and ``role`` (the caller's role, when signed in).
Nothing else from a record is copied: its own extras are dropped, so a careless ``extra=``
cannot put a body or a name into the log. Messages themselves are the code's own words; no
log call in Shuttle passes a body, a name or any other personal text (tests/
test_plaintext_at_rest.py plants markers in every such field and searches every log line).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from shuttle.settings import Settings

# The id of the request being handled (set by the middleware), for every line logged meanwhile.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "shuttle_request_id", default=None
)
# The request log's own fields, copied from a record's extras when present.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "role")


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request being handled (or keeps the one it has)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: it only adds ``request_id``."""
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time, level, logger, message, request id and request fields."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id and request_id != "-":
            line["request_id"] = request_id
        for name in REQUEST_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def dress(handler: logging.Handler, *, as_json: bool) -> logging.Handler:
    """Give a handler Shuttle's format (JSON or text) and the request id filter."""
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    return handler


def handler_for(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (standard error) in the format the settings choose."""
    out = stream if stream is not None else sys.stderr
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not (hasattr(out, "isatty") and out.isatty())
    )
    return dress(logging.StreamHandler(out), as_json=as_json)


def configure(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every logger's records to one handler on standard error, at the settings' level."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler_for(settings, stream))
    root.setLevel(settings.log_level)
