"""The request an event belongs to, carried in a context variable.

The middleware (or a framework integration) builds one :class:`RequestContext` per
request and activates it; ``track()`` and the decorators inside the view read it to
attach the visitor, session and request details to their events.

Conversions declared by decorators while a middleware handles the request are not
emitted at once: they wait in :attr:`RequestContext.conversions` until the response
status is known, so that a 4xx/5xx answer records nothing and a middleware goal that
names the same goal becomes one event (the decorator's details win).

:class:`Request` holds the raw parts of a request read from a WSGI environ or an ASGI
scope; :func:`from_environ` / :func:`from_scope` turn one into a context with the
privacy rules applied, for code running without the middleware.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from contextvars import Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .runtime import current_request

if TYPE_CHECKING:
    from .event import Event
    from .tracker import Tracker

__all__ = [
    "Request",
    "RequestContext",
    "activate",
    "current",
    "deactivate",
    "from_environ",
    "from_framework",
    "from_scope",
]


#: Request methods that are no visit (a link checker's HEAD, a CORS preflight): never
#: recorded, by the middleware or by a decorator.
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})


@dataclass(slots=True, eq=False)
class RequestContext:
    """What convsdk knows about the request being served.

    ``track`` is False when nothing may be recorded for this request (a bot, or a
    visitor whose consent says no and the site chose not to count them at all);
    ``anonymous`` is True when events are recorded without visitor or session ids
    (Do-Not-Track / Global Privacy Control).
    """

    method: str | None = None
    path: str | None = None
    url: str | None = None
    referrer: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    utm: dict[str, str | None] | None = None
    variant: str | None = None
    visitor_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    track: bool = True
    anonymous: bool = False
    status: int | None = None
    source: str | None = None
    #: True while a middleware owns the request: conversions wait for the response.
    deferred: bool = False
    #: The tracker the middleware records this request with (None: the default one).
    tracker: Tracker | None = None
    #: goal name -> conversion declared by a decorator, emitted by the middleware.
    conversions: dict[str, Event] = field(default_factory=dict)
    #: values given to ``annotate()`` outside a decorated view (for middleware goals).
    annotations: dict[str, Any] = field(default_factory=dict)
    #: goal name -> the statuses a decorator conversion needs (when not "below 400").
    statuses: dict[str, frozenset[int]] | None = None
    #: ``cancel_conversion()`` was called: this request converts nobody.
    cancelled: bool = False
    #: The ASGI scope the app sees (its router records the matched route there).
    scope: Mapping[str, Any] | None = None

    def event_context(self) -> dict[str, Any]:
        """The ``context`` dict stored with an event."""
        ctx: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "url": self.url,
            "referrer": self.referrer,
            "user_agent": self.user_agent,
            "ip": self.ip,
            "status": self.status,
            "utm": self.utm,
        }
        if self.variant is not None:
            ctx["variant"] = self.variant
        if self.source is not None:
            ctx["source"] = self.source
        return ctx


_new_object = object.__new__


def new_context(
    method: str | None,
    path: str | None,
    url: str | None,
    referrer: str | None,
    user_agent: str | None,
    ip: str | None,
    utm: dict[str, str | None] | None,
    variant: str | None,
    track: bool,
    anonymous: bool,
    deferred: bool,
    tracker: Tracker | None,
) -> RequestContext:
    """``RequestContext(method=method, ...)`` (other fields at their defaults), built
    on the request path at half the cost: calling a class with keyword arguments packs
    them into a dict on the way to ``__init__`` (CPython 3.11)."""
    ctx = _new_object(RequestContext)
    ctx.method = method
    ctx.path = path
    ctx.url = url
    ctx.referrer = referrer
    ctx.user_agent = user_agent
    ctx.ip = ip
    ctx.utm = utm
    ctx.variant = variant
    ctx.visitor_id = None
    ctx.session_id = None
    ctx.user_id = None
    ctx.track = track
    ctx.anonymous = anonymous
    ctx.status = None
    ctx.source = None
    ctx.deferred = deferred
    ctx.tracker = tracker
    ctx.conversions = {}
    ctx.annotations = {}
    ctx.statuses = None
    ctx.cancelled = False
    ctx.scope = None
    return ctx


def current() -> RequestContext | None:
    """The active request context, or ``None`` outside a request."""
    return current_request.get()


def activate(ctx: RequestContext) -> Token[RequestContext | None]:
    """Make ``ctx`` the active request context; pass the token to :func:`deactivate`."""
    return current_request.set(ctx)


def deactivate(token: Token[RequestContext | None]) -> None:
    """Restore the request context that was active before :func:`activate`."""
    current_request.reset(token)


# -- reading a request ----------------------------------------------------------------


def _wsgi_text(text: str) -> str:
    # WSGI hands over raw bytes as latin-1 text (PEP 3333); URLs are UTF-8.
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a server that already decoded it
        return text


@functools.cache
def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@functools.cache
def _scope_key(header: str) -> bytes:
    return header.lower().encode("latin-1")


# ASGI header name -> Request slot (headers are lower-case bytes in ASGI).
_SCOPE_HEADERS = {
    b"host": "host",
    b"referer": "referrer",
    b"user-agent": "user_agent",
    b"x-forwarded-for": "forwarded_for",
    b"x-forwarded-proto": "forwarded_proto",
    b"dnt": "dnt",
    b"sec-gpc": "gpc",
    b"content-type": "content_type",
    b"content-length": "content_length",
}

_WANTED_HEADERS = frozenset([*_SCOPE_HEADERS, b"cookie"])


@functools.cache
def _wanted_headers(variant_key: bytes) -> frozenset[bytes]:
    return _WANTED_HEADERS | {variant_key}


def _content_length(text: str | None) -> int | None:
    if not text:
        return None
    try:
        length = int(text)
    except ValueError:
        return None
    return length if length >= 0 else None


class Request:
    """The parts of an HTTP request convsdk reads, taken from a WSGI environ or an ASGI scope.

    Built once per request by the middleware (:meth:`from_environ`, :meth:`from_scope`)
    before anything is decided about it; :class:`RequestContext` is what the rest of
    convsdk sees. ``path`` is the full path the visitor asked for (``SCRIPT_NAME`` +
    ``PATH_INFO`` in WSGI, ``root_path`` included in ASGI), decoded as UTF-8;
    ``remote_addr`` is the socket peer; ``variant`` the value of the experiment header
    asked for, when there is one.
    """

    __slots__ = (
        "content_length",
        "content_type",
        "cookie",
        "dnt",
        "forwarded_for",
        "forwarded_proto",
        "gpc",
        "host",
        "method",
        "path",
        "query",
        "referrer",
        "remote_addr",
        "scheme",
        "user_agent",
        "variant",
    )

    def __init__(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        query: str = "",
        scheme: str = "http",
        host: str = "localhost",
        referrer: str | None = None,
        user_agent: str | None = None,
        remote_addr: str | None = None,
        forwarded_for: str | None = None,
        forwarded_proto: str | None = None,
        cookie: str | None = None,
        dnt: str | None = None,
        gpc: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        variant: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.scheme = scheme
        self.host = host
        self.referrer = referrer
        self.user_agent = user_agent
        self.remote_addr = remote_addr
        self.forwarded_for = forwarded_for
        self.forwarded_proto = forwarded_proto
        self.cookie = cookie
        self.dnt = dnt
        self.gpc = gpc
        self.content_type = content_type
        self.content_length = content_length
        self.variant = variant

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], variant_header: str | None = None) -> Request:
        """Read a WSGI environ (``variant_header``: the experiment header's name, if any)."""
        get = environ.get
        path = get("SCRIPT_NAME", "") + get("PATH_INFO", "")
        if not path.isascii():
            path = _wsgi_text(path)
        host = get("HTTP_HOST")
        scheme = get("wsgi.url_scheme") or "http"
        if not host:
            host = get("SERVER_NAME") or "localhost"
            port = get("SERVER_PORT")
            if port and port != ("443" if scheme == "https" else "80"):
                host = f"{host}:{port}"
        query = get("QUERY_STRING") or ""
        if not query.isascii():
            query = _wsgi_text(query)
        length = get("CONTENT_LENGTH")
        request = _new_object(cls)
        request.method = get("REQUEST_METHOD") or "GET"
        request.path = path or "/"
        request.query = query
        request.scheme = scheme
        request.host = host
        request.referrer = get("HTTP_REFERER")
        request.user_agent = get("HTTP_USER_AGENT")
        request.remote_addr = get("REMOTE_ADDR")
        request.forwarded_for = get("HTTP_X_FORWARDED_FOR")
        request.forwarded_proto = get("HTTP_X_FORWARDED_PROTO")
        request.cookie = get("HTTP_COOKIE")
        request.dnt = get("HTTP_DNT")
        request.gpc = get("HTTP_SEC_GPC")
        request.content_type = get("CONTENT_TYPE") or None
        request.content_length = _content_length(length) if length else None
        request.variant = get(_environ_key(variant_header)) if variant_header else None
        return request

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], variant_header: str | None = None) -> Request:
        """Read an ASGI HTTP scope (``variant_header``: the experiment header's name, if any)."""
        found: dict[str, str] = {}
        cookie = None
        variant_key = _scope_key(variant_header) if variant_header else None
        wanted = _WANTED_HEADERS if variant_key is None else _wanted_headers(variant_key)
        variant = None
        for name, value in scope.get("headers") or ():
            # Browsers send a dozen headers or more, convsdk reads a few: one set
            # lookup lets the others go by.
            if name not in wanted:
                continue
            slot = _SCOPE_HEADERS.get(name)
            if slot is not None:
                # A repeated header: the first counts (as in Starlette's Headers.get),
                # except X-Forwarded-For, a list spread over several headers.
                if slot not in found:
                    found[slot] = value.decode("latin-1")
                elif slot == "forwarded_for":
                    found[slot] += ", " + value.decode("latin-1")
            elif name == b"cookie":
                # HTTP/2 may split cookies over several headers.
                text = value.decode("latin-1")
                cookie = text if cookie is None else f"{cookie}; {text}"
            else:
                variant = value.decode("latin-1")
        path = scope.get("path") or "/"
        root_path = scope.get("root_path") or ""
        if root_path and not path.startswith(root_path):
            path = root_path + path
        scheme = scope.get("scheme") or "http"
        host = found.get("host")
        if not host:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server and server[1] is not None else "localhost"
        client = scope.get("client")
        query = scope.get("query_string") or b""
        request = _new_object(cls)
        request.method = scope.get("method") or "GET"
        request.path = path
        request.query = query.decode("utf-8", "replace") if query else ""
        request.scheme = "https" if scheme == "wss" else scheme
        request.host = host
        request.referrer = found.get("referrer")
        request.user_agent = found.get("user_agent")
        request.remote_addr = client[0] if client else None
        request.forwarded_for = found.get("forwarded_for")
        request.forwarded_proto = found.get("forwarded_proto")
        request.cookie = cookie
        request.dnt = found.get("dnt")
        request.gpc = found.get("gpc")
        request.content_type = found.get("content_type")
        length = found.get("content_length")
        request.content_length = _content_length(length) if length else None
        request.variant = variant
        return request


def from_environ(environ: Mapping[str, Any], tracker: Tracker | None = None) -> RequestContext:
    """A :class:`RequestContext` for a WSGI environ, without the middleware.

    Applies the tracker's privacy settings (IP anonymisation, Do-Not-Track, bots) and
    reads, but never issues, the visitor and session cookies (a missing or expired
    cookie gives no id). ``tracker`` defaults to the default tracker.
    """
    from .interactions import default_recorder

    return default_recorder().read_context(Request.from_environ(environ), tracker)


def from_scope(scope: Mapping[str, Any], tracker: Tracker | None = None) -> RequestContext:
    """A :class:`RequestContext` for an ASGI scope, without the middleware.

    See :func:`from_environ`.
    """
    from .interactions import default_recorder

    return default_recorder().read_context(Request.from_scope(scope), tracker)


def from_framework(
    args: tuple[Any, ...], kwargs: dict[str, Any], tracker: Tracker
) -> RequestContext | None:
    """A context for a decorated view running without the middleware.

    Flask's request is found through ``flask.request``; a Starlette / FastAPI view
    passes its ``Request`` among its arguments. Framework modules are looked up in
    ``sys.modules``, never imported here. The context carries the request details and
    the visitor and session ids when the browser sent valid cookies (nothing can be
    issued without the response); privacy settings apply as with the middleware.
    """
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        return from_environ(flask.request.environ, tracker)
    starlette_requests = sys.modules.get("starlette.requests")
    if starlette_requests is not None:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, starlette_requests.HTTPConnection):
                return from_scope(arg.scope, tracker)
    return None
