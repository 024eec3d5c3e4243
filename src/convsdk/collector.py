"""A small HTTP collector: receives :class:`~convsdk.backends.http.HTTPBackend` batches
and stores them in any backend, so app servers need no database driver::

    app servers ──HTTP──▶ collector ──▶ PostgreSQL

    from convsdk.collector import create_app, serve
    app = create_app("postgresql://convsdk@db/analytics", token="s3cret")  # any ASGI server
    serve("postgresql://convsdk@db/analytics", host="0.0.0.0", token="s3cret")  # uvicorn

It needs Starlette, and uvicorn for :func:`serve`, and an asyncio event loop.

``POST /ingest`` takes ``{"events": [...]}`` (the serialised form of
:class:`convsdk.event.EventSchema`) as ``application/json``, plain or
``Content-Encoding: gzip``, and answers:

- ``200 {"accepted": n}`` once the backend's ``write`` returned: the events are stored;
- ``400`` a body that is not gzip or JSON; ``401`` a missing or wrong bearer token
  (when ``token`` is set); ``413`` a body over ``max_body_bytes``, compressed or
  decompressed (refused from its ``Content-Length`` before reading it, or as soon as
  the bytes read pass the cap); ``415`` another content type or encoding;
- ``422 {"error": ..., "errors": {index: {field: [messages]}}}`` when any event does not
  validate, or is out of bounds: a ``value`` beyond ``max_value`` (default 1e9, either
  sign), a ``timestamp`` before ``earliest`` (default 2000-01-01) or more than
  ``max_future`` ahead (default 7 days). **The whole batch is rejected**: nothing of it
  is written, so a client never has to work out which part was stored (a convsdk sender
  then isolates the refused events and dead-letters them alone). A batch the backend
  itself refuses as unstorable (``BackendError(retryable=False)``) is a 422 too;
- ``503`` with ``Retry-After`` when the backend fails (or takes longer than
  ``write_timeout``), so the sender retries; the sink drops duplicates by ``event_id``.

``GET /health`` answers ``200 {"status": "ok"}``.

Backends are single-writer: every ``write`` (and the final ``close``, at shutdown) runs
in one dedicated thread, one batch at a time, so a backend that keeps a connection per
thread (SQLite) works as it does behind a tracker, and the event loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import zlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from marshmallow import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._json import loads
from ._urls import redact_url
from .backends import Backend, from_url
from .errors import BackendError, ConfigError
from .event import Event, EventSchema, fast_event

__all__ = ["DEFAULT_EARLIEST", "Bounds", "create_app", "load_events", "serve"]

log = logging.getLogger("convsdk.collector")

_T = TypeVar("_T")

#: The earliest timestamp the collector accepts by default.
DEFAULT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the collector accepts of an event beyond its schema: sane values and times.

    >>> Bounds(max_value=1e6, max_future=timedelta(hours=1))
    """

    max_value: float = 1e9
    """The largest ``value``, either sign."""
    max_future: timedelta = timedelta(days=7)
    """How far ahead of the collector's clock a ``timestamp`` may be."""
    earliest: datetime = DEFAULT_EARLIEST
    """The earliest ``timestamp``."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_value, bool)
            or not isinstance(self.max_value, int | float)
            or not 0 < self.max_value < math.inf
        ):
            raise ConfigError(f"must be a number > 0, got {self.max_value!r}", field="max_value")
        if not isinstance(self.max_future, timedelta) or self.max_future < timedelta(0):
            raise ConfigError(
                f"must be a timedelta of 0 or more, got {self.max_future!r}", field="max_future"
            )
        if not isinstance(self.earliest, datetime) or self.earliest.tzinfo is None:
            raise ConfigError(
                f"must be a timezone-aware datetime, got {self.earliest!r}", field="earliest"
            )

    def problems(self, events: list[Event]) -> dict[int, dict[str, list[str]]]:
        """The out-of-bounds fields of ``events``, by index (empty: all in bounds)."""
        errors: dict[int, dict[str, list[str]]] = {}
        latest = datetime.now(UTC) + self.max_future
        limit = self.max_value
        for i, event in enumerate(events):
            value = event.value
            if value is not None and not -limit <= value <= limit:
                errors.setdefault(i, {})["value"] = [f"Must be at most {limit:g} either way."]
            when = event.timestamp
            if when < self.earliest:
                errors.setdefault(i, {})["timestamp"] = [
                    f"Must not be before {self.earliest.isoformat()}."
                ]
            elif when > latest:
                errors.setdefault(i, {})["timestamp"] = [
                    f"Must not be more than {_span(self.max_future)} ahead of the "
                    "collector's clock."
                ]
        return errors


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds and seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} days"
    return f"{seconds:g} seconds"


class _Refused(Exception):
    """A request answered with an error status (caught by the endpoint)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


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
    if not path.startswith("/") or path == "/health":
        raise ConfigError(
            f"path must start with '/' and not be '/health', got {path!r}", field="path"
        )
    if token is not None and not token:
        raise ConfigError("token is empty", field="token")
    if max_body_bytes < 1:
        raise ConfigError("max_body_bytes must be positive", field="max_body_bytes")
    sink = from_url(backend) if isinstance(backend, str) else backend
    name = redact_url(backend) if isinstance(backend, str) else type(backend).__name__
    writer = _Writer(sink, write_timeout)
    limits = bounds if bounds is not None else Bounds()
    expected = f"Bearer {token}".encode() if token is not None else None

    async def ingest(request: Request) -> Response:
        try:
            if expected is not None and not _authorised(request, expected):
                raise _Refused(401, "a valid bearer token is required")
            encoding = _encoding(request)
            body = await _read_body(request, max_body_bytes)
            events = await run_in_threadpool(_parse_batch, body, encoding, max_body_bytes, limits)
        except _Refused as exc:
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
                return _unavailable(name, exc, retry_after, exc.retry_after)
            except Exception as exc:
                return _unavailable(name, exc, retry_after, None)
        return JSONResponse({"accepted": len(events)})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

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
        raise ConfigError(
            "the collector needs uvicorn; run: pip install 'convsdk[collector]'"
        ) from exc
    app_keys = {"max_body_bytes", "path", "retry_after", "write_timeout", "bounds"}
    app_options = {k: v for k, v in options.items() if k in app_keys}
    server_options = {k: v for k, v in options.items() if k not in app_keys}
    server_options.setdefault("server_header", False)
    app = create_app(backend_url, token=token, **app_options)
    uvicorn.run(app, host=host, port=port, lifespan="on", ws="none", **server_options)


# -- the request --------------------------------------------------------------------


def _authorised(request: Request, expected: bytes) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(f"Bearer {credentials.strip()}".encode(), expected)


def _encoding(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise _Refused(415, "the body must be application/json")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise _Refused(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return encoding


async def _read_body(request: Request, cap: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _Refused(400, "invalid Content-Length")
        if int(length) > cap:
            raise _Refused(413, f"the body is larger than {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked body has no Content-Length
        size += len(chunk)
        if size > cap:
            raise _Refused(413, f"the body is larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_batch(body: bytes, encoding: str, cap: int, bounds: Bounds) -> list[Event]:
    """Decode and validate a batch (in a worker thread: it is CPU work)."""
    if encoding == "gzip":
        body = _gunzip(body, cap)
    try:
        payload = loads(body)
    except (ValueError, RecursionError) as exc:
        raise _Refused(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise _Refused(
            422,
            "the body must be an object with an 'events' list",
            errors={"events": ["Not a valid list."]},
        )
    try:
        events = load_events(payload["events"])
    except ValidationError as exc:
        raise _Refused(422, "invalid events; nothing was stored", errors=exc.messages) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date that overflows in UTC
        raise _Refused(422, f"invalid events; nothing was stored: {exc}") from None
    problems = bounds.problems(events)
    if problems:
        raise _Refused(422, "events out of bounds; nothing was stored", errors=problems)
    return events


def _gunzip(data: bytes, cap: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # Bounded output: a small body that inflates past the cap stops here.
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise _Refused(400, f"the body is not valid gzip: {exc}") from None
    if len(out) > cap or inflater.unconsumed_tail:
        raise _Refused(413, f"the decompressed body is larger than {cap} bytes")
    if not inflater.eof or inflater.unused_data:
        raise _Refused(400, "the body is not valid gzip: truncated or trailing data")
    return out


def _unavailable(name: str, exc: Exception, retry_after: int, asked: float | None) -> Response:
    log.warning("cannot store a batch in %s: %s: %s", name, type(exc).__name__, exc)
    if asked is not None and math.isfinite(asked):
        retry_after = max(retry_after, math.ceil(asked))
    return JSONResponse(
        {"error": "the backend is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": str(retry_after)},
    )


class _Writer:
    """Runs backend calls one at a time in one dedicated thread."""

    def __init__(self, backend: Backend, timeout: float) -> None:
        self._backend = backend
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="convsdk-collector")

    async def write(self, events: list[Event]) -> None:
        await self._call(self._backend.write, events)

    async def close(self) -> None:
        try:
            await self._call(self._backend.close)
        except Exception:
            log.exception("closing the collector's backend failed")
        finally:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        done, _ = await asyncio.wait({future}, timeout=self._timeout)
        if not done:
            # A call still queued never starts; one running finishes later, and the
            # sender's retry of its batch is then a duplicate the sink drops by event_id.
            future.cancel()
            raise BackendError(
                f"the backend did not finish within {self._timeout} s", retryable=True
            )
        return future.result()


# -- validation ---------------------------------------------------------------------


def load_events(items: Any) -> list[Event]:
    """Validate a list of serialised events as ``EventSchema(many=True).load`` does.

    Raises :class:`marshmallow.ValidationError` (errors keyed by index) when any event
    is invalid.
    """
    if type(items) is list:
        events = []
        for item in items:
            event = fast_event(item)
            if event is None:
                break
            events.append(event)
        else:
            return events
    return EventSchema(many=True).load(items)  # type: ignore[no-any-return]
