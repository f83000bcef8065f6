"""create_app(settings): the aiohttp application. Nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from shuttle import disclosure, middleware, routes
from shuttle.api.http import RUNTIME, SETTINGS
from shuttle.bootstrap import open_runtime
from shuttle.metrics import METRICS, Metrics
from shuttle.pages.web import TEMPLATES, templates
from shuttle.passwords import dummy_hash
from shuttle.settings import Settings

__all__ = ["SETTINGS", "create_app"]


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    runtime = open_runtime(app[SETTINGS], observer=app[METRICS])
    app[RUNTIME] = runtime
    # PDFs of released records still to make (the service stopped while making them).
    runtime.spawn(disclosure.make_waiting_pdfs(runtime), name="records-pdf-waiting")
    # Built once now, so the first unknown-account sign-in costs no more than any other.
    dummy_hash()
    yield
    await runtime.close()


async def _end_live_streams(app: web.Application) -> None:
    """On shutdown, end every live-update stream so the server need not wait for them."""
    if RUNTIME in app:
        app[RUNTIME].notifier.close()


def create_app(settings: Settings) -> web.Application:
    """The application for ``settings``; its database and keys open on start-up."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middleware.headers, middleware.errors, middleware.pages],
    )
    app[SETTINGS] = settings
    app[TEMPLATES] = templates(settings)
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_runtime)
    app.on_shutdown.append(_end_live_streams)
    routes.add_routes(app, settings)
    return app
