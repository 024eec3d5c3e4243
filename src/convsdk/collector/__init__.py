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

Modules: :mod:`~convsdk.collector.app` (the app, :func:`serve`),
:mod:`~convsdk.collector.ingest` (the endpoint), :mod:`~convsdk.collector.request`
(token, content type, body cap), :mod:`~convsdk.collector.batch` (decoding and
validating a batch), :mod:`~convsdk.collector.bounds` (:class:`Bounds`),
:mod:`~convsdk.collector.writer` (the writer thread).
"""

from __future__ import annotations

from .app import create_app, serve
from .batch import load_events
from .bounds import DEFAULT_EARLIEST, Bounds

__all__ = ["DEFAULT_EARLIEST", "Bounds", "create_app", "load_events", "serve"]
