"""ASGI middleware: page views, form submits and checkouts recorded with no other code.

::

    from convsdk.integrations.asgi import ConversionMiddleware

    app.add_middleware(ConversionMiddleware, tracker=tracker)   # FastAPI / Starlette
    app = ConversionMiddleware(app, tracker=tracker)            # any ASGI app

A pure ASGI middleware: ``websocket`` scopes go straight to the app with the very
same ``receive`` and ``send``; ``lifespan`` messages pass unchanged too, and at
``lifespan.shutdown`` the tracker delivers what it holds before the server is told the
shutdown is complete (what it cannot deliver in ``shutdown_timeout`` is spooled, and the
tracker closed; else it stays open, for the app to start again in the same process).
For HTTP, ``send`` is observed: the
``http.response.start`` message gives the status, content type and cache control,
records the request and gains the ``Set-Cookie`` headers of the visitor and session
cookies (only when something is recorded, and never on a response a shared cache may
store: ``Cache-Control: public`` or ``s-maxage``); every other message (the body,
streamed or not) passes as it is. A page view is recorded once its last body message
was sent without error and ``receive`` said no ``http.disconnect``: a visitor who
went away saw no page.

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
from typing import Any

from .. import runtime
from ..context import Request
from ..interactions import Pending, Recorder
from ..tracker import Tracker
from ..web.body import Body, receive_asgi
from ..web.per_request import flush_request_async, in_thread
from ..web.request import reusable_headers
from ..web.types import ASGIApp, Message, Receive, Scope, Send
from ._common import check_app, prepare

__all__ = ["ConversionMiddleware"]

log = logging.getLogger("convsdk.integrations.asgi")


_new_object = object.__new__
_current_request = runtime.current_request


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
        check_app(app, "asgi")
        self.app = app
        self._tracker = tracker
        self.recorder, beacon = prepare(tracker, options)
        #: The collect endpoint of browser events, or None when ``collect`` is off.
        self.beacon = beacon

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(self, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers")
        if type(headers) is not list and headers is not None:
            # Read here and by the app: an iterator would reach the app used up.
            scope["headers"] = reusable_headers(headers)
        beacon = self.beacon
        if beacon is not None:
            if beacon.handles(scope["path"], scope.get("root_path", "")):
                await beacon.asgi(scope, receive, send)
                return
            # For script_tag(request): the script URL of this endpoint's own script.
            scope = {**scope, "convsdk.beacon": beacon}
        tracker = self._tracker or runtime.default
        # Nested in another convsdk middleware (a mounted sub-app's, or one added twice):
        # the outer one records this request, once. A closed tracker still records: a
        # server drains its last requests after the stop signal closed the trackers,
        # and their events go to the spool (or count as dropped).
        if tracker is None or _current_request.get() is not None:
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
        # _Responder(recorder, pending, send), minus a third of its cost (CPython 3.11).
        responder = _new_object(_Responder)
        responder.recorder = recorder
        responder.pending = pending
        responder._send = send
        responder.started = False
        responder.disconnected = False
        if pending.wants_body:
            receive = await _read_form(receive, request, recorder, pending)
        responder._receive = receive
        if pending.ctx.method == "GET" and pending.ctx.track:
            # A page view may wait for its body to be delivered: watch for the client
            # going away (form submits and other requests keep the receive they had).
            receive = responder.receive
        # The router records the matched route in the scope: the decorators read it.
        pending.ctx.scope = scope
        token = _current_request.set(pending.ctx)
        try:
            await self.app(scope, receive, responder.send)
        finally:
            _current_request.reset(token)
            if tracker.flush_after_request:  # a serverless platform: see web.per_request
                await flush_request_async(tracker)

    @property
    def tracker(self) -> Tracker | None:
        """The tracker in use: the one given, else the current default tracker."""
        tracker = self._tracker
        return tracker if tracker is not None else runtime.default

    @tracker.setter
    def tracker(self, tracker: Tracker | None) -> None:
        self._tracker = tracker

    def __repr__(self) -> str:
        return f"<ConversionMiddleware app={self.app!r} tracker={self.tracker!r}>"


class _Responder:
    """Per-request state: watches ``send`` for the response start.

    (The middleware builds it field by field: a new field goes there too.)
    """

    __slots__ = ("_receive", "_send", "disconnected", "pending", "recorder", "started")

    def __init__(self, recorder: Recorder, pending: Pending, receive: Receive, send: Send) -> None:
        self.recorder = recorder
        self.pending = pending
        self._receive = receive
        self._send = send
        self.started = False
        self.disconnected = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message.get("type") == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: Message) -> None:
        if not self.started and message["type"] == "http.response.start":
            self.started = True
            headers = message.get("headers")
            if type(headers) is not list and headers is not None:
                # Read below, then by the server: an iterator would reach it used up.
                message = {**message, "headers": reusable_headers(headers)}
            cookies = self._finish(message)
            if cookies:
                # A new message: the app may keep and reuse its own.
                headers = list(message.get("headers", ()))
                for cookie in cookies:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
        await self._send(message)
        if self.pending.held is not None and not self.disconnected:
            kind = message["type"]
            if kind == "http.response.pathsend" or (
                kind == "http.response.body" and not message.get("more_body", False)
            ):
                try:
                    self.recorder.complete(self.pending)
                except Exception:
                    log.exception("convsdk could not record a request")

    def _finish(self, message: Message) -> list[str]:
        try:
            content_type = cache_control = None
            for name, value in message.get("headers", ()):
                # Header names are lower-case in ASGI; lower() only what could differ.
                size = len(name)
                if size == 12 and (name == b"content-type" or name.lower() == b"content-type"):
                    content_type = value.decode("latin-1")
                elif size == 13 and (name == b"cache-control" or name.lower() == b"cache-control"):
                    cache_control = value.decode("latin-1")
            return self.recorder.finish(
                self.pending, int(message["status"]), content_type, cache_control, True
            )
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
    body = Body()
    error: Exception | None = None
    try:
        # An asyncio timeout: under another event loop (trio) the read is not bounded.
        asyncio.get_running_loop()
        bound: Any = asyncio.timeout(recorder.body_timeout)
    except RuntimeError:
        bound = contextlib.nullcontext()
    try:
        async with bound:
            # Cancelled by the timeout while waiting: servers keep the body they have
            # not handed out yet, so the app's own receive gets it. A disconnect, or a
            # body bigger than announced, is left for the app to see.
            await receive_asgi(receive, recorder.max_body_size, body)
    except TimeoutError:
        log.debug(
            "a form body was still arriving after %g s: recorded without its fields",
            recorder.body_timeout,
        )
    except Exception as exc:  # the server's receive failed: the app sees the same
        error = exc
    if body.complete:
        try:
            recorder.read_form(pending, request.content_type, body.data)
        except Exception:
            log.exception("convsdk could not read a form")
    return _Replay(body.messages, receive, error)


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


_SHUTDOWN_DONE = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})


async def _lifespan(
    middleware: ConversionMiddleware, scope: Scope, receive: Receive, send: Send
) -> None:
    """Pass the lifespan protocol through, delivering the tracker's events at shutdown.

    The app sees the very same messages. Once it has received ``lifespan.shutdown``,
    the tracker delivers what it holds (:func:`_deliver`) after the app's own shutdown
    code ran, before the server hears ``lifespan.shutdown.complete`` (or ``.failed``)
    and stops the process. An app that does not speak lifespan (it raises, or returns)
    is left to do so: the server sees what it would have seen, and the signal handler
    or ``atexit`` closes the tracker.
    """
    shutting_down = False
    delivered = False

    async def observe_receive() -> Message:
        nonlocal shutting_down
        message = await receive()
        if message.get("type") == "lifespan.shutdown":
            shutting_down = True
        return message

    async def observe_send(message: Message) -> None:
        nonlocal delivered
        if shutting_down and not delivered and message.get("type") in _SHUTDOWN_DONE:
            delivered = True
            await _deliver(middleware.tracker)
        await send(message)

    try:
        await middleware.app(scope, observe_receive, observe_send)
    finally:
        if shutting_down and not delivered:  # the app ended without answering the shutdown
            delivered = True
            await _deliver(middleware.tracker)


async def _deliver(tracker: Tracker | None) -> None:
    """Deliver what ``tracker`` (or the default one) holds, in a thread: the event loop
    keeps running.

    A flush for at most ``shutdown_timeout``; what it could not deliver by then goes to
    the spool, and the tracker is closed. Otherwise it stays open: the app may start
    again in this process (a test client runs a lifespan for each test, Falcon's for
    each request), and the process's exit closes it (the signal handler, or ``atexit``).
    """
    if tracker is None:
        tracker = runtime.default
    if tracker is None or tracker.closed:
        return

    def deliver() -> None:
        if not tracker.flush(tracker.shutdown_timeout):
            tracker.close(timeout=0)

    try:
        await in_thread(deliver)  # bounded by shutdown_timeout
    except Exception:
        log.exception("convsdk could not deliver the events at lifespan shutdown")
