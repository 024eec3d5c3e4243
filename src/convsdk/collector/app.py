"""Building the collector's ASGI app, and serving it with uvicorn."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._urls import redact_url
from ..backends import Backend, from_url
from ..errors import BackendError, ConfigError, missing_extra
from .bounds import Bounds
from .ingest import ingest_endpoint
from .writer import Writer

__all__ = ["create_app", "serve"]


def create_app(
    backend: str | Backend,
    *,
    token: str | None = None,
    max_body_bytes: int = 5_000_000,
    path: str = "/ingest",
    retry_after: int = 1,
    write_timeout: float = 30.0,
    bounds: Bounds | None = None,
) -> Starlette:
    """Build the collector: an ASGI app storing the batches it receives in ``backend``.

    ``backend`` is a URL (``"postgresql://..."``) or a :class:`~convsdk.backends.Backend`
    the app then owns: it is closed when the app shuts down. ``token`` requires
    ``Authorization: Bearer <token>``; ``max_body_bytes`` caps a request body, compressed
    and decompressed; ``retry_after`` (seconds) is what a 503 asks senders to wait;
    ``write_timeout`` bounds one backend write; ``bounds`` (:class:`Bounds`) what values
    and timestamps are accepted. Without ``token`` anyone who reaches the app can store
    events: keep such a collector on a private network (``convsdk collect`` refuses to
    start without a token unless ``--insecure``).

    >>> app = create_app("sqlite:///events.db", token=os.environ["COLLECTOR_TOKEN"])
    """
    _check_options(path, token, max_body_bytes)
    sink = from_url(backend) if isinstance(backend, str) else backend
    name = redact_url(backend) if isinstance(backend, str) else type(backend).__name__
    check = getattr(sink, "check", None)
    if callable(check):
        # Now, not at the first batch: a collector whose store is unreachable must
        # not answer /health with "ok" while every sender's batch fails.
        try:
            check()
        except BackendError as exc:
            sink.close()
            raise BackendError(f"{name}: {exc}", backend=exc.backend) from exc
    writer = Writer(sink, write_timeout)
    ingest = ingest_endpoint(
        writer,
        name,
        expected=f"Bearer {token}".encode() if token is not None else None,
        cap=max_body_bytes,
        limits=bounds if bounds is not None else Bounds(),
        retry_after=retry_after,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await writer.close()

    return Starlette(
        routes=[
            Route(path, ingest, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _check_options(path: str, token: str | None, max_body_bytes: int) -> None:
    if not path.startswith("/") or path == "/health":
        raise ConfigError(
            f"path must start with '/' and not be '/health', got {path!r}", field="path"
        )
    if token is not None and not token:
        raise ConfigError("token is empty", field="token")
    if max_body_bytes < 1:
        raise ConfigError("max_body_bytes must be positive", field="max_body_bytes")


async def health(request: Request) -> Response:
    """``GET /health``: the collector is up."""
    return JSONResponse({"status": "ok"})


def serve(
    backend_url: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    **options: Any,
) -> None:
    """Run the collector with uvicorn until interrupted (the ``convsdk collect`` command).

    ``options`` go to :func:`create_app` (``max_body_bytes``, ``path``, ``retry_after``,
    ``write_timeout``, ``bounds``), the others to ``uvicorn.run`` (``log_level``, ``access_log``,
    ``ssl_certfile``...). One process serves; the backend stores one batch at a time.

    >>> serve("postgresql://convsdk@db/analytics", host="0.0.0.0", token="s3cret")
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise missing_extra("the collector", "collector", exc) from exc
    app_keys = {"max_body_bytes", "path", "retry_after", "write_timeout", "bounds"}
    app_options = {k: v for k, v in options.items() if k in app_keys}
    server_options = {k: v for k, v in options.items() if k not in app_keys}
    server_options.setdefault("server_header", False)
    app = create_app(backend_url, token=token, **app_options)  # checks the store first
    path = app_options.get("path", "/ingest")
    sys.stdout.write(f"collecting at http://{host}:{port}{path} into {redact_url(backend_url)}\n")
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, lifespan="on", ws="none", **server_options)
