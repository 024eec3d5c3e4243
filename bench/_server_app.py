"""The hello-world apps ``bench_server.py`` serves: ``wsgi`` (Flask) and ``asgi`` (Starlette).

A server imports ``_server_app:wsgi`` or ``_server_app:asgi``; the environment says
what wraps the app:

- ``BENCH_VARIANT``: ``bare``, ``convsdk`` (the middleware, events to
  ``BENCH_BACKEND``, spool in ``BENCH_SPOOL``, ``BENCH_BATCH_SIZE`` events a write:
  100, the default, unless set), ``otel`` (OpenTelemetry's middleware,
  spans dropped by the exporter) or ``cookies`` (bare, answering with two ``Set-Cookie``
  headers a new visitor's shape, signed once at startup: what carrying convsdk's
  cookies costs the server and the client, without convsdk).

``/healthz`` answers the number of pages served at ``/`` (convsdk leaves it out by
default): the readiness probe, and what the parent compares with the events stored.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

SECRET = "bench-secret"
PAGE = "<!doctype html><title>hello</title><h1>hello</h1>"
VARIANT = os.environ.get("BENCH_VARIANT", "bare")

_served: list[None] = []  # append and len are atomic under the GIL: safe from threads


def _tracker() -> Any:
    import convsdk

    return convsdk.Tracker(
        backend=os.environ["BENCH_BACKEND"],
        spool_dir=os.environ["BENCH_SPOOL"],
        secret_key=SECRET,
        max_queue_size=1_000_000,  # never full: the run measures delivery, not shedding
        batch_size=int(os.environ.get("BENCH_BATCH_SIZE", "100")),
        shutdown_timeout=60.0,
    )


def _wrap(app: Any, kind: str) -> Any:
    if VARIANT == "convsdk":
        if kind == "wsgi":
            from convsdk.integrations.wsgi import ConversionMiddleware
        else:
            from convsdk.integrations.asgi import ConversionMiddleware
        return ConversionMiddleware(app, tracker=TRACKER)
    if VARIANT == "otel":
        if kind == "wsgi":
            from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
        else:
            from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        return OpenTelemetryMiddleware(app, tracer_provider=PROVIDER)
    if VARIANT == "cookies":
        return _with_cookies(app, kind)
    return app


def _with_cookies(app: Any, kind: str) -> Any:
    """``app`` answering every request with the two cookies of a new visitor."""
    from convsdk.identity import Identity

    cookies = Identity(SECRET).resolve(None)[2]
    if kind == "wsgi":
        extra = [("Set-Cookie", cookie) for cookie in cookies]

        def wsgi_app(environ: Any, start_response: Any) -> Any:
            def start(status: str, headers: list[Any], exc_info: Any = None) -> Any:
                return start_response(status, headers + extra, exc_info)

            return app(environ, start)

        return wsgi_app
    raw = [(b"set-cookie", cookie.encode()) for cookie in cookies]

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        async def with_cookies(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *raw]}
            await send(message)

        await app(scope, receive, with_cookies if scope["type"] == "http" else send)

    return asgi_app


TRACKER = _tracker() if VARIANT == "convsdk" else None
if VARIANT == "otel":
    from _util import otel_provider

    PROVIDER = otel_provider()

# -- WSGI: Flask ------------------------------------------------------------------------

flask_app = Flask("bench")


@flask_app.get("/")
def home() -> str:
    _served.append(None)
    return PAGE


@flask_app.get("/healthz")
def healthz() -> str:
    return str(len(_served))


wsgi = _wrap(flask_app.wsgi_app, "wsgi")

# -- ASGI: Starlette --------------------------------------------------------------------


async def starlette_home(request: Any) -> HTMLResponse:
    _served.append(None)
    return HTMLResponse(PAGE)


async def starlette_healthz(request: Any) -> PlainTextResponse:
    return PlainTextResponse(str(len(_served)))


asgi = _wrap(
    Starlette(
        routes=[Route("/", starlette_home), Route("/healthz", starlette_healthz)],
    ),
    "asgi",
)
