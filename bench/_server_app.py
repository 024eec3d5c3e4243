"""The hello-world apps ``bench_server.py`` serves: ``wsgi`` (Flask) and ``asgi`` (Starlette).

A server imports ``_server_app:wsgi`` or ``_server_app:asgi``; the environment says
what wraps the app:

- ``BENCH_VARIANT``: ``bare``, ``convsdk`` (the middleware, events to
  ``BENCH_BACKEND``, spool in ``BENCH_SPOOL``) or ``otel`` (OpenTelemetry's middleware,
  spans dropped by the exporter).

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
    return app


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
