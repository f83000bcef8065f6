"""Prometheus metrics at ``/metrics``: request latency by route, the vetting queue, relays and
decisions.

Each app process keeps its own registry and serves its own figures: with several processes the
scraper scrapes each one (their counters add up in the query). Nothing here is shared between
processes, so there is no multiprocess mode to set up.

What is measured never names a person or carries text: routes by their canonical name (the
router's, never the path with its ids), decisions by kind, counts and ages.

The endpoint answers only the addresses in ``SHUTTLE_METRICS_ALLOWED_NETWORKS`` (loopback by
default), or a caller with ``Authorization: Bearer <SHUTTLE_METRICS_TOKEN>`` when a token is
set; everyone else gets 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlmodel import col, select

from shuttle.api.http import RUNTIME, SETTINGS, address_within, bearer_token
from shuttle.models import Item, utcnow

# The states of an item waiting for a practitioner's (or a supervisor's) decision.
QUEUE_STATES = ("submitted", "escalated")
DECISION_PREFIX = "item:decision:"
RELAY = "item:relay:deliver"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One process's metrics, in a registry of its own (never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._latency = Histogram(
            "shuttle_request_duration_seconds",
            "Time to answer a request, by route name.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._responses = Counter(
            "shuttle_responses",
            "Answers by status class (2xx, 3xx, 4xx, 5xx).",
            ["status"],
            registry=self.registry,
        )
        self._relays = Counter(
            "shuttle_relays", "Items passed on to a recipient.", registry=self.registry
        )
        self._decisions = Counter(
            "shuttle_decisions",
            "Decisions on items, by kind (approve, withhold, return, escalate).",
            ["decision"],
            registry=self.registry,
        )
        self._queue_depth = Gauge(
            "shuttle_queue_depth",
            "Items waiting for a decision, by state (read from the database at scrape time).",
            ["state"],
            registry=self.registry,
        )
        self._queue_oldest = Gauge(
            "shuttle_queue_oldest_age_seconds",
            "How long the oldest item waiting for a decision has waited (0 when none waits).",
            registry=self.registry,
        )
        # Children by label, kept here: labels() takes a lock and builds a key each time.
        self._routes: dict[str, Histogram] = {}
        self._statuses = {n: self._responses.labels(f"{n}xx") for n in (1, 2, 3, 4, 5)}

    def request(self, route: str, status: int, seconds: float) -> None:
        """One answered request (called by the middleware for every request)."""
        child = self._routes.get(route)
        if child is None:
            child = self._routes[route] = self._latency.labels(route)
        child.observe(seconds)
        counter = self._statuses.get(status // 100)
        if counter is not None:
            counter.inc()

    def committed(self, actions: Sequence[str]) -> None:
        """A write committed with these audit actions: count its relays and decisions."""
        for action in actions:
            if action == RELAY:
                self._relays.inc()
            elif action.startswith(DECISION_PREFIX):
                self._decisions.labels(action.removeprefix(DECISION_PREFIX)).inc()

    def queue(self, depth: dict[str, int], oldest: datetime | None, now: datetime) -> None:
        """The queue as just read from the database."""
        for state in QUEUE_STATES:
            self._queue_depth.labels(state).set(depth.get(state, 0))
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        self._queue_oldest.set(max(age, 0.0))

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


def allowed(request: web.Request) -> bool:
    """Whether the caller may read the metrics: the right bearer token, or an allowed address."""
    settings = request.app[SETTINGS]
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if expected:
        sent = bearer_token(request)
        if sent is not None and hmac.compare_digest(sent.encode(), expected.encode()):
            return True
    # The peer itself, never X-Forwarded-For: a proxy in front should not pass /metrics on.
    return address_within(request.remote, settings.metrics_allowed_networks)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: this process's metrics, with the queue read from the database now."""
    if not allowed(request):
        return web.Response(status=403, text="Forbidden\n")
    rt = request.app[RUNTIME]
    query = (
        select(col(Item.state), func.count(), func.min(col(Item.submitted_at)))
        .where(col(Item.state).in_(QUEUE_STATES))
        .group_by(col(Item.state))
    )
    async with rt.read() as tx:
        rows = (await tx.session.exec(query)).all()
    depth = {state: count for state, count, _ in rows}
    oldest = min((first for _, _, first in rows if first is not None), default=None)
    found = request.app[METRICS]
    found.queue(depth, oldest, utcnow())
    body = found.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
