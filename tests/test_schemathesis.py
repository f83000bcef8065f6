"""schemathesis against the OpenAPI description the service serves (``GET /api/openapi.json``),
as each kind of caller: a participant, a practitioner, a supervisor, a manager, an admin, and
nobody. The service runs on a real port in a thread of its own, over the access world of
tests/access_world.py; schemathesis generates valid and invalid requests for every operation,
aimed at that caller's own objects, another party's, another case's and missing ones, and sends
them over HTTP. Every answer must:

* not be a server error (5xx);
* conform to the description: a documented status, the documented content type, and the
  documented error shape for every error;
* never be a success where the access table (tests/access_table.py) says the caller is refused
  (no unauthorised success);
* refuse a request that breaks the schema (4xx).

``SHUTTLE_TEST_SCHEMATHESIS_EXAMPLES`` sets the examples per operation and caller (default 4).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import schemathesis
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shuttle.app import create_app
from shuttle.bootstrap import initialise, open_runtime
from shuttle.routes import ROUTES
from tests.access_table import ALLOWED, API, OBJECTS
from tests.access_world import AccessWorld, build_world
from tests.conftest import DatabaseFactory, make_settings

T = TypeVar("T")
EXAMPLES = int(os.environ.get("SHUTTLE_TEST_SCHEMATHESIS_EXAMPLES", "4"))
CALLERS = ("harmed", "practitioner", "supervisor", "manager", "admin", "anonymous")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Operations that end the caller's sessions go last, so the others run signed in.
LAST = ("me.password", "session.delete", "sessions.delete")
ROUTE_BY_NAME = {route.name: route for route in ROUTES}


class Served:
    """The app on a free port of 127.0.0.1, served by an event loop in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=600)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served_world(
    database_factory: DatabaseFactory, tmp_path: Path
) -> Iterator[tuple[str, AccessWorld]]:
    """The service on a real port, with the access world in its database; its base URL."""
    served = Served()
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    url = served.run(database_factory.new_database(data_dir))
    config = make_settings(data_dir=data_dir, database_url=url)

    async def start() -> tuple[TestClient[Any, Any], Any, AccessWorld]:
        await initialise(config, migrate=False)
        runtime = open_runtime(config)
        server = TestServer(create_app(config), host="127.0.0.1", port=free_port())
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        return client, runtime, await build_world(client, runtime)

    async def stop(client: TestClient[Any, Any], runtime: Any) -> None:
        await client.close()
        await runtime.db.dispose()
        await database_factory.drop_database(url)

    client, runtime, world = served.run(start())
    try:
        yield str(client.make_url("")).rstrip("/"), world
    finally:
        served.run(stop(client, runtime))
        served.stop()


def cell(name: str, caller: str, obj: str) -> int:
    """What the access table says ``caller`` gets at route ``name`` aimed at ``obj``."""
    return API[name][caller][OBJECTS.index(obj)]


def test_the_api_answers_as_described_to_every_caller(
    served_world: tuple[str, AccessWorld],
) -> None:
    """No 5xx, nothing outside the OpenAPI description, no success the access table refuses,
    and schema-breaking requests refused; for every operation, as each kind of caller."""
    base, world = served_world
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    # A body over the size limit is refused with 413 before it is read: a rejection too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    operations = [result.ok() for result in schema.get_all_operations()]
    named = {op.definition.raw["operationId"]: op for op in operations}
    assert set(named) == set(ROUTE_BY_NAME), "the served description is not the route table"
    order = sorted(named, key=lambda n: LAST.index(n) + 1 if n in LAST else 0)
    session = requests.Session()
    findings: list[str] = []
    statuses: Counter[int] = Counter()
    for name in order:
        for caller in CALLERS:
            fuzz(Target(base, session, world, named[name], name, caller), findings, statuses)
    sent = sum(statuses.values())
    print(f"\n{sent} requests: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    assert sent >= len(named) * len(CALLERS) * EXAMPLES
    assert len(statuses) > 5, statuses  # successes and every kind of refusal came back
    assert findings == [], "\n".join(findings[:40])


@dataclass
class Target:
    """One operation, as one caller, against the served world."""

    base: str
    session: requests.Session
    world: AccessWorld
    operation: Any
    name: str
    caller: str


def fuzz(target: Target, findings: list[str], statuses: Counter[int]) -> None:
    """A few generated requests (valid and not) at each kind of object; every answer checked."""
    route = ROUTE_BY_NAME[target.name]
    token = target.world.tokens[target.caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    strategies = []
    for obj in OBJECTS:
        names = re.findall(r"{(\w+)}", route.path)
        values = _path_values(route.path, target.world.path(route, target.caller, obj))
        params = dict(zip(names, values, strict=True))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = target.operation.as_strategy(generation_mode=mode, path_parameters=params)
            strategies.append(strategy.map(_tagged(obj, mode)))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(strategies))
    def attempt(tagged: tuple[str, GenerationMode, Any]) -> None:
        obj, mode, case = tagged
        response = case.call(base_url=target.base, session=target.session, headers=headers)
        statuses[response.status_code] += 1
        where = f"{target.caller} {case.method} {case.formatted_path} ({obj}, {mode.value})"
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as failure:  # schemathesis's Failure or FailureGroup
            findings.append(f"{where}: {response.status_code}: {failure}")
        expected = cell(target.name, target.caller, obj)
        if 200 <= response.status_code < 300 and expected != ALLOWED:
            findings.append(
                f"{where}: {response.status_code}, where the access table says {expected} "
                "(an unauthorised success)"
            )

    attempt()


def _tagged(obj: str, mode: GenerationMode) -> Callable[[Any], tuple[str, GenerationMode, Any]]:
    return lambda case: (obj, mode, case)


def _path_values(template: str, path: str) -> list[str]:
    """The values a filled path gives its template's parameters, in order."""
    pattern = re.sub(r"\\{(\w+)\\}", r"([^/]+)", re.escape(template))
    found = re.fullmatch(pattern, path)
    assert found is not None, (template, path)
    return list(found.groups())
