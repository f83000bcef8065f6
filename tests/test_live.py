"""shuttle.live.PostgresNotifier when PostgreSQL cannot be reached: streams still open (and
hear nothing), the process keeps trying with growing pauses, and its log says only the kind
of failure (never the address or password of the database).

Needs no PostgreSQL server, so it runs on both backends; the notifier working against a real
one is in tests/test_multi_process.py and tests/test_claims.py.
"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from shuttle import live
from tests.served import free_port


async def test_an_unreachable_database_is_retried_with_growing_pauses(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(live, "READY_SECONDS", 0.2)
    monkeypatch.setattr(live, "FIRST_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(live, "LAST_RETRY_SECONDS", 0.8)
    caplog.set_level(logging.WARNING, logger="shuttle.live")
    port = free_port()  # nobody listens there
    notifier = live.PostgresNotifier(
        f"postgresql+asyncpg://shuttle:a-secret-password@127.0.0.1:{port}/nowhere"
    )
    try:
        async with notifier.listen() as listener:  # given after READY_SECONDS, not stuck
            await asyncio.sleep(1.5)
            assert notifier.connections == 0
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):
                    await listener.changed()
    finally:
        await notifier.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "shuttle.live"]
    assert len(lines) >= 4, lines
    pauses = [float(re.search(r"again in ([\d.]+) s", line)[1]) for line in lines]  # type: ignore[index]
    assert pauses[:4] == [0.1, 0.2, 0.4, 0.8] and max(pauses) == 0.8
    assert not [line for line in lines if "a-secret-password" in line or str(port) in line]
    assert notifier._task is None  # stopped: nothing left running
