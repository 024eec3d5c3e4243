"""WSGI middleware: page views, form submits and checkouts recorded with no other code.

::

    from convsdk.integrations.wsgi import ConversionMiddleware

    app.wsgi_app = ConversionMiddleware(app.wsgi_app, tracker=tracker)   # Flask
    application = ConversionMiddleware(application)                       # any WSGI app

The response is never touched beyond the ``Set-Cookie`` headers of the visitor and
session cookies (sent only with a response that records something, and never with one
a shared cache may store: ``Cache-Control: public`` or ``s-maxage``): the app's
iterable is returned as it is (a ``wsgi.file_wrapper`` keeps its identity,
``close()`` is the server's to call, streaming is untouched), and
the request is recorded when the app calls ``start_response``. (So a page view is
recorded even if the client goes away while the body is written: watching the
iteration would mean wrapping the iterable, losing ``wsgi.file_wrapper``'s identity and
the server's ``sendfile``, and most pages fit the socket buffer in one write, where a
server sees no disconnect anyway.) A form body is read
only when a goal needs one of its fields (or ``capture_fields`` is set), only when
``CONTENT_LENGTH`` is given and at most ``max_body_size``; the app then reads exactly
the same body: from its own stream put back where it was, when that stream can seek,
else from a copy of the bytes read, given as ``wsgi.input``.

Tracking never breaks the site: an error inside convsdk is logged on the ``convsdk``
logger and the request is served as if the middleware were not there; the app's own
exceptions propagate unchanged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .. import runtime
from ..browser.templates import register_flask_template_helper
from ..context import Request
from ..interactions import Pending, Recorder
from ..tracker import Tracker
from ..web.body import read_wsgi
from ..web.per_request import FlushedBody, flush_request
from ..web.types import StartResponse, WSGIApp
from ._common import check_app, prepare

__all__ = ["ConversionMiddleware"]

log = logging.getLogger("convsdk.integrations.wsgi")

if TYPE_CHECKING:
    from ..browser.endpoint import BeaconEndpoint

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

_new_object = object.__new__
_current_request = runtime.current_request


class ConversionMiddleware:
    """Records the interactions of a WSGI app and sets the visitor/session cookies.

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

    >>> app.wsgi_app = ConversionMiddleware(app.wsgi_app, tracker=tracker,
    ...                                     exclude_paths=["/admin/*"], trusted_proxies=1)
    """

    def __init__(self, app: WSGIApp, tracker: Tracker | None = None, **options: Any) -> None:
        check_app(app, "wsgi")
        self.app = app
        self._tracker = tracker
        self.recorder, beacon = prepare(tracker, options)
        #: The collect endpoint of browser events, or None when ``collect`` is off.
        self.beacon = beacon
        if beacon is not None:
            _offer_flask_template_helper(app, beacon)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        beacon = self.beacon
        if beacon is not None and beacon.handles(environ.get("PATH_INFO") or "/"):
            return beacon.wsgi(environ, start_response)
        tracker = self._tracker
        if tracker is None:
            tracker = runtime.default
        # Nested inside another convsdk middleware (a mounted sub-app with its own, or
        # one added twice): the outer one records this request, once. A closed tracker
        # still records: a server drains its last requests after the stop signal
        # closed the trackers, and their events go to the spool (or count as dropped).
        if tracker is None or _current_request.get() is not None:
            return self.app(environ, start_response)
        recorder = self.recorder
        try:
            request = Request.from_environ(environ, recorder.variant_header)
            pending = recorder.start(tracker, request)
            if pending is not None and pending.wants_body:
                _read_form(environ, request, recorder, pending)
        except Exception:
            log.exception("convsdk could not read the request; serving it untracked")
            pending = None
        if pending is None:
            return self.app(environ, start_response)
        # _StartResponse(recorder, pending, start_response), without the cost of calling
        # a class (a third of this object's price on CPython 3.11).
        responder = _new_object(_StartResponse)
        responder.recorder = recorder
        responder.pending = pending
        responder.start_response = start_response
        responder.cookies = None
        token = _current_request.set(pending.ctx)
        try:
            # Its bound __call__: cheaper to call than the object (no type slot lookup).
            body = self.app(environ, responder.__call__)
        except BaseException:
            if tracker.flush_after_request:
                flush_request(tracker)  # what the view tracked before it failed
            raise
        finally:
            _current_request.reset(token)
        if tracker.flush_after_request:  # a serverless platform: see web.per_request
            return FlushedBody(body, tracker)
        return body

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


class _StartResponse:
    """The ``start_response`` the app sees: records the request, adds the cookies.

    (The middleware builds it field by field: a new field goes there too.)
    """

    __slots__ = ("cookies", "pending", "recorder", "start_response")

    def __init__(self, recorder: Recorder, pending: Pending, start_response: StartResponse) -> None:
        self.recorder = recorder
        self.pending = pending
        self.start_response = start_response
        self.cookies: list[str] | None = None

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: _ExcInfo | None = None,
    ) -> Callable[[bytes], object]:
        cookies = self.cookies
        if cookies is None:
            # Recorded once, at the first call; a second call (with exc_info, to
            # replace the headers of a failed response) gets the same cookies.
            try:
                code = _status_codes.get(status)
                if code is None:
                    code = _status_code(status)
                content_type = cache_control = None
                for name, value in headers:
                    # lower() only the names that could be these two.
                    size = len(name)
                    if size == 12 and (name == "Content-Type" or name.lower() == "content-type"):
                        content_type = value
                    elif size == 13 and (
                        name == "Cache-Control" or name.lower() == "cache-control"
                    ):
                        cache_control = value
                cookies = self.recorder.finish(self.pending, code, content_type, cache_control)
            except Exception:
                log.exception("convsdk could not record a request")
                cookies = []
            self.cookies = cookies
        if cookies:
            headers = list(headers)  # a new list: the app may keep and reuse its own
            for cookie in cookies:
                headers.append(("Set-Cookie", cookie))
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)


def _status_code(status: str) -> int:
    """The code of a WSGI status line (``"200 OK"`` -> 200), remembered in ``_status_codes``."""
    code = int(status[:3])
    if len(_status_codes) < 256 and len(status) <= 64:
        _status_codes[status] = code
    return code


# An app answers with a few dozen status lines: their codes, remembered (bounded).
_status_codes: dict[str, int] = {}


def _read_form(
    environ: dict[str, Any], request: Request, recorder: Recorder, pending: Pending
) -> None:
    """Read the form body, and leave the app the same bytes to read.

    A stream that can seek (a test client's ``BytesIO``) is put back where it was and
    stays the app's ``wsgi.input``: whoever else holds it (Werkzeug's test client
    sends it again to follow a 307 or 308 redirect) finds it as the app leaves it, as
    without convsdk. A server's socket stream cannot seek: the app gets a copy of the
    bytes read instead.
    """
    stream = environ.get("wsgi.input")
    length = request.content_length
    if stream is None or not length:
        return
    start = _position(stream)
    # The length was checked against max_body_size: read it all, as the app would.
    body = read_wsgi(stream, length, length)
    data = body.data
    error = body.error  # the client went away: the app must see the same failure
    if error is not None:
        environ["wsgi.input"] = _FailingInput(data, error)
    elif start is None or not _seek(stream, start):
        environ["wsgi.input"] = io.BytesIO(data)
    if error is None and body.complete:
        recorder.read_form(pending, request.content_type, data)


def _position(stream: Any) -> int | None:
    """Where a stream that can seek stands; ``None`` for one that cannot."""
    seekable = getattr(stream, "seekable", None)
    if seekable is None:  # a server's stream, mostly
        return None
    try:
        return stream.tell() if seekable() else None  # type: ignore[no-any-return]
    except Exception:  # a stream that refuses to tell
        return None


def _seek(stream: Any, position: int) -> bool:
    """Put ``stream`` back at ``position``; whether it went."""
    try:
        return stream.seek(position) == position  # type: ignore[no-any-return]
    except Exception:
        return False


class _FailingInput(io.BytesIO):
    """The bytes read before the input stream failed, then the same failure."""

    def __init__(self, data: bytes, error: Exception) -> None:
        super().__init__(data)
        self._error = error

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if not data and size != 0:
            raise self._error
        return data

    def read1(self, size: int | None = -1, /) -> bytes:
        return self.read(size)

    def readline(self, size: int | None = -1, /) -> bytes:
        data = super().readline(size)
        if not data and size != 0:
            raise self._error
        return data

    def readlines(self, hint: int | None = -1, /) -> list[bytes]:
        lines = super().readlines(hint)
        if not lines:
            raise self._error
        return lines

    def __next__(self) -> bytes:
        return self.readline()


def _offer_flask_template_helper(app: WSGIApp, beacon: BeaconEndpoint) -> None:
    """Give a wrapped Flask app's templates ``{{ convsdk_script() }}``, as the extension does.

    ``app`` is the Flask app itself, or its bound ``wsgi_app`` (``app.wsgi_app =
    ConversionMiddleware(app.wsgi_app, collect=True)``, the usual way to wrap one).
    Without this, a template calling the helper would fail with ``UndefinedError``.
    """
    owner: Any = getattr(app, "__self__", app)
    if callable(getattr(owner, "add_template_global", None)) and hasattr(owner, "extensions"):
        register_flask_template_helper(owner, beacon)
