"""ASGI middleware: page views, form submits and checkouts recorded with no other code.

::

    from convsdk.integrations.asgi import ConversionMiddleware

    app.add_middleware(ConversionMiddleware, tracker=tracker)   # FastAPI / Starlette
    app = ConversionMiddleware(app, tracker=tracker)            # any ASGI app

A pure ASGI middleware: ``lifespan`` and ``websocket`` scopes go straight to the app
with the very same ``receive`` and ``send``. For HTTP, only ``send`` is observed: the
``http.response.start`` message gives the status and content type, records the
request and gains the ``Set-Cookie`` headers of the visitor and session cookies;
every other message (the body, streamed or not) passes as it is.

A form body is read only when a goal needs one of its fields (or ``capture_fields``
is set), only with a ``Content-Length`` of at most ``max_body_size``. Every
``http.request`` message read is then replayed to the app unchanged, followed by the
real ``receive`` (for ``http.disconnect`` and anything else): nothing is drained
behind the app's back. A body still arriving after ``body_timeout`` seconds (default
5) is left to the app: the request is recorded without its form fields.

Tracking never breaks the site: an error inside convsdk is logged on the ``convsdk``
logger and the request is served as if the middleware were not there; the app's own
exceptions (and cancellation) propagate unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .. import tracker as _tracker
from ..context import Request, _current
from ..interactions import Pending, Recorder
from ..tracker import Tracker
from ._common import prepare

__all__ = ["ConversionMiddleware"]

log = logging.getLogger("convsdk.integrations.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_new_object = object.__new__


class ConversionMiddleware:
    """Records the interactions of an ASGI app and sets the visitor/session cookies.

    ``tracker``: the :class:`~convsdk.Tracker` to record with; ``None`` looks the
    default tracker up on each request (requests pass through untouched while there
    is none). ``options`` are those of :class:`convsdk.interactions.Recorder`
    (``trusted_proxies``, ``checkout_paths``, ``exclude_paths``, ``capture_fields``,
    ``max_body_size``, ``variant_cookie``, ``variant_header``, ``consent``, ``dnt``,
    cookie settings, ``clock``); a bad one raises :class:`convsdk.ConfigError`.

    ``collect=True`` (or ``browser_events=[...]``) also answers the browser script's
    events at ``/_convsdk/collect`` and serves the script at ``/_convsdk/c.js``, before
    the app sees the request (see :class:`convsdk.beacon.BeaconEndpoint` and
    :func:`convsdk.beacon.pop_beacon_options` for its options).

    >>> app.add_middleware(ConversionMiddleware, tracker=tracker, variant_cookie="ab_pricing")
    """

    def __init__(self, app: ASGIApp, tracker: Tracker | None = None, **options: Any) -> None:
        self.app = app
        self.tracker = tracker
        self.recorder, beacon = prepare(tracker, options)
        #: The collect endpoint of browser events, or None when ``collect`` is off.
        self.beacon = beacon

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        beacon = self.beacon
        if beacon is not None:
            if beacon.handles(scope["path"], scope.get("root_path", "")):
                await beacon.asgi(scope, receive, send)
                return
            # For script_tag(request): the script URL of this endpoint's own script.
            scope = {**scope, "convsdk.beacon": beacon}
        tracker = self.tracker
        if tracker is None:
            tracker = _tracker._default
        if tracker is None or tracker.closed:
            await self.app(scope, receive, send)
            return
        recorder = self.recorder
        try:
            request = Request.from_scope(scope, recorder.variant_header)
            pending = recorder.start(tracker, request)
        except Exception:
            log.exception("convsdk could not read the request; serving it untracked")
            pending = None
        if pending is None:
            await self.app(scope, receive, send)
            return
        # _Responder(recorder, pending, send), without the cost of calling a class (a
        # third of this object's price on CPython 3.11).
        responder = _new_object(_Responder)
        responder.recorder = recorder
        responder.pending = pending
        responder._send = send
        responder.started = False
        if pending.wants_body:
            receive = await _read_form(receive, request, recorder, pending)
        token = _current.set(pending.ctx)
        try:
            await self.app(scope, receive, responder.send)
        finally:
            _current.reset(token)

    def __repr__(self) -> str:
        return f"<ConversionMiddleware app={self.app!r} tracker={self.tracker!r}>"


class _Responder:
    """Per-request state: watches ``send`` for the response start.

    (The middleware builds it field by field: a new field goes there too.)
    """

    __slots__ = ("_send", "pending", "recorder", "started")

    def __init__(self, recorder: Recorder, pending: Pending, send: Send) -> None:
        self.recorder = recorder
        self.pending = pending
        self._send = send
        self.started = False

    async def send(self, message: Message) -> None:
        if not self.started and message["type"] == "http.response.start":
            self.started = True
            cookies = self._finish(message)
            if cookies:
                # A new message: the app may keep and reuse its own.
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", ()),
                        *[(b"set-cookie", cookie.encode("latin-1")) for cookie in cookies],
                    ],
                }
        await self._send(message)

    def _finish(self, message: Message) -> list[str]:
        try:
            content_type = None
            for name, value in message.get("headers", ()):
                # Header names are lower-case in ASGI; lower() only what could differ.
                if name == b"content-type" or (len(name) == 12 and name.lower() == b"content-type"):
                    content_type = value.decode("latin-1")
                    break
            return self.recorder.finish(self.pending, int(message["status"]), content_type)
        except Exception:
            log.exception("convsdk could not record a request")
            return []


async def _read_form(
    receive: Receive, request: Request, recorder: Recorder, pending: Pending
) -> Receive:
    """Read the form body; return the ``receive`` that replays it to the app.

    A client that stalls mid-body must not hold the app's answer back: past
    ``recorder.body_timeout`` seconds the request goes on without its form fields, and
    the app reads what is left from the real ``receive``.
    """
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    complete = False
    error: Exception | None = None
    try:
        # An asyncio timeout: under another event loop (trio) the read is not bounded.
        asyncio.get_running_loop()
        bound: Any = asyncio.timeout(recorder.body_timeout)
    except RuntimeError:
        bound = contextlib.nullcontext()
    try:
        async with bound:
            while True:
                # Cancelled by the timeout while waiting: servers keep the body they
                # have not handed out yet, so the app's own receive gets it.
                message = await receive()
                messages.append(message)
                if message.get("type") != "http.request":
                    break  # a disconnect: the app will see it too
                body = message.get("body") or b""
                chunks.append(body)
                size += len(body)
                if size > recorder.max_body_size:
                    break  # bigger than announced: leave the rest to the app
                if not message.get("more_body", False):
                    complete = True
                    break
    except TimeoutError:
        log.debug(
            "a form body was still arriving after %g s: recorded without its fields",
            recorder.body_timeout,
        )
    except Exception as exc:  # the server's receive failed: the app sees the same
        error = exc
    if complete:
        try:
            recorder.read_form(pending, request.content_type, b"".join(chunks))
        except Exception:
            log.exception("convsdk could not read a form")
    return _Replay(messages, receive, error)


class _Replay:
    """A ``receive`` that returns the messages already read, then defers to the real one."""

    __slots__ = ("_error", "_messages", "_receive")

    def __init__(self, messages: list[Message], receive: Receive, error: Exception | None) -> None:
        self._messages = deque(messages)
        self._receive = receive
        self._error = error

    async def __call__(self) -> Message:
        if self._messages:
            return self._messages.popleft()
        error = self._error
        if error is not None:
            self._error = None
            raise error
        return await self._receive()
