"""The real server as a subprocess (``shuttle serve``) on a test's own database.

Used by the API walkthrough and the browser tests: they talk to the service exactly as an
integrator or a person would, over real HTTP to a real process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from shuttle.settings import Settings

SHUTTLE = str(Path(sys.executable).with_name("shuttle"))


def free_port() -> int:
    """A TCP port nobody listens on just now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """The real server, running as a subprocess on this test's database."""

    process: subprocess.Popen[bytes]
    base: str
    env: dict[str, str]
    log: Path

    def log_text(self) -> str:
        """What the server wrote so far."""
        return self.log.read_text(errors="replace")

    async def ready(self, within: float = 90.0) -> None:
        """Wait until ``/healthz`` answers; fail with the server's log if it died."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    pytest.fail(
                        f"the server exited ({self.process.returncode}):\n{self.log_text()}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(self.base + "/healthz") as response:
                        if response.status == 200:
                            return
                if loop.time() > deadline:
                    pytest.fail(f"the server did not come up:\n{self.log_text()}")
                await asyncio.sleep(0.1)

    async def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run the real ``shuttle`` command on the same data; returns its standard output."""
        process = await asyncio.create_subprocess_exec(
            SHUTTLE,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        out, err = await process.communicate(stdin.encode() if stdin is not None else b"")
        assert process.returncode == 0, f"shuttle {' '.join(args)}: {err.decode()}"
        return out.decode()

    def wait_until_ready(self, within: float = 90.0) -> None:
        """``ready`` for code without an event loop (the browser tests)."""
        deadline = time.monotonic() + within
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited ({self.process.returncode}):\n{self.log_text()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not come up:\n{self.log_text()}")
            time.sleep(0.1)


def shuttle_env(settings: Settings) -> dict[str, str]:
    """The environment for ``shuttle`` commands on ``settings``' data, and no other SHUTTLE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUTTLE_")}
    env.update(
        SHUTTLE_DATA_DIR=str(settings.data_dir),
        SHUTTLE_DATABASE_URL=settings.effective_database_url,
        SHUTTLE_ENVIRONMENT="test",
        SHUTTLE_LOG_LEVEL="WARNING",
    )
    return env


@contextlib.contextmanager
def serving(settings: Settings, folder: Path, **extra_env: str) -> Iterator[Server]:
    """``shuttle serve --port <free port>``, stopped at the end whatever happens."""
    env = {**shuttle_env(settings), **extra_env}
    log = folder / "server.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SHUTTLE, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Server(process, f"http://127.0.0.1:{port}", env, log)
    try:
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"--- server log ---\n{running.log_text()}")
