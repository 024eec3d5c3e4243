"""The ``POST /ingest`` endpoint: a request in, a batch stored, the status that says so."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from ..errors import BackendError
from .batch import parse_batch
from .bounds import Bounds
from .request import Refused, authorised, content_encoding, read_body
from .writer import Writer

__all__ = ["ingest_endpoint", "unavailable"]

log = logging.getLogger("convsdk.collector")


def ingest_endpoint(
    writer: Writer,
    name: str,
    *,
    expected: bytes | None,
    cap: int,
    limits: Bounds,
    retry_after: int,
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint storing batches through ``writer`` (``name``: the backend, for logs).

    ``expected`` is the ``Authorization`` header required (None: none), ``cap`` the
    largest body, compressed or not, ``retry_after`` the least a 503 asks senders to wait.
    """

    async def ingest(request: Request) -> Response:
        try:
            if expected is not None and not authorised(request, expected):
                raise Refused(401, "a valid bearer token is required")
            encoding = content_encoding(request)
            body = await read_body(request, cap)
            events = await run_in_threadpool(parse_batch, body, encoding, cap, limits)
        except Refused as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return JSONResponse(exc.body, status_code=exc.status, headers=headers)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        if events:
            try:
                await writer.write(events)
            except BackendError as exc:
                if not exc.retryable:
                    log.error("%s refused a batch of %d events: %s", name, len(events), exc)
                    return JSONResponse({"error": "the backend refused the batch"}, 422)
                return unavailable(name, exc, retry_after, exc.retry_after)
            except Exception as exc:
                return unavailable(name, exc, retry_after, None)
        return JSONResponse({"accepted": len(events)})

    return ingest


def unavailable(name: str, exc: Exception, retry_after: int, asked: float | None) -> Response:
    """The 503 telling the sender when to retry (``asked``: the backend's own wish)."""
    log.warning("cannot store a batch in %s: %s: %s", name, type(exc).__name__, exc)
    if asked is not None and math.isfinite(asked):
        retry_after = max(retry_after, math.ceil(asked))
    return JSONResponse(
        {"error": "the backend is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": str(retry_after)},
    )
