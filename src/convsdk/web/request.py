"""Reading a request: the parts convsdk needs of a WSGI environ or an ASGI scope."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Request", "content_length", "reusable_headers"]

_new_object = object.__new__


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


# ASGI header name -> its place in what _read_headers returns (names are lower-case bytes
# in ASGI); the variant header, when there is one, comes last.
_HEADERS = {
    b"host": 0,
    b"referer": 1,
    b"user-agent": 2,
    b"x-forwarded-for": 3,
    b"x-forwarded-proto": 4,
    b"dnt": 5,
    b"sec-gpc": 6,
    b"content-type": 7,
    b"content-length": 8,
    b"cookie": 9,
}
_FORWARDED_FOR, _COOKIE, _VARIANT = 3, 9, 10


@functools.cache
def _headers_with(variant_key: bytes) -> dict[bytes, int]:
    # A header convsdk reads for itself never names the variant.
    return {variant_key: _VARIANT, **_HEADERS}


def _read_headers(headers: Iterable[Any], variant_key: bytes | None) -> list[str | None]:
    """The values of the headers :data:`_HEADERS` names (and of the variant header), in
    its order: a repeated header's first value counts (as in Starlette's
    ``Headers.get``), except ``X-Forwarded-For``, a list spread over several headers,
    ``Cookie`` (HTTP/2 may split it) and the variant header, whose last value counts.
    """
    places = _HEADERS if variant_key is None else _headers_with(variant_key)
    found: list[str | None] = [None] * 11
    # Browsers send a dozen headers or more, convsdk reads a few: one dict lookup lets
    # the others go by.
    for name, value in headers:
        place = places.get(name)
        if place is None:
            continue
        seen = found[place]
        if seen is None or place == _VARIANT:
            found[place] = value.decode("latin-1")
        elif place == _FORWARDED_FOR:
            found[place] = f"{seen}, {value.decode('latin-1')}"
        elif place == _COOKIE:
            found[place] = f"{seen}; {value.decode('latin-1')}"
    return found


def reusable_headers(headers: Iterable[Any]) -> Iterable[Any]:
    """ASGI headers (a scope's, or a response start's) that can be read more than once:
    ``headers`` itself when it is a list or a tuple (what servers and frameworks send),
    else its pairs as a new list of tuples.

    ASGI types the headers as an iterable of two-item iterables, so an iterator is
    allowed (Falcon's test client sends one, of iterators): read by convsdk first, it
    would reach the app, or the server, used up. The pairs of a list are taken as they
    are (no server sends a list of iterators): checking each would cost every request.
    """
    if type(headers) is list or type(headers) is tuple:
        return headers
    return [tuple(pair) for pair in headers]


def content_length(text: str | None) -> int | None:
    """A ``Content-Length`` header's value as a size; ``None`` when absent or not one."""
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
        path = get("PATH_INFO") or ""
        script = get("SCRIPT_NAME")
        if script:
            path = script + path
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
        if query and not query.isascii():
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
        request.content_length = content_length(length) if length else None
        request.variant = get(_environ_key(variant_header)) if variant_header else None
        return request

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], variant_header: str | None = None) -> Request:
        """Read an ASGI HTTP scope (``variant_header``: the experiment header's name, if any)."""
        variant_key = _scope_key(variant_header) if variant_header else None
        (
            host, referrer, user_agent, forwarded_for, forwarded_proto, dnt, gpc,
            content_type, length, cookie, variant,
        ) = _read_headers(scope.get("headers") or (), variant_key)  # fmt: skip
        path = scope.get("path") or "/"
        root_path = scope.get("root_path") or ""
        if root_path and not path.startswith(root_path):
            path = root_path + path
        scheme = scope.get("scheme") or "http"
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
        request.referrer = referrer
        request.user_agent = user_agent
        request.remote_addr = client[0] if client else None
        request.forwarded_for = forwarded_for
        request.forwarded_proto = forwarded_proto
        request.cookie = cookie
        request.dnt = dnt
        request.gpc = gpc
        request.content_type = content_type
        request.content_length = content_length(length) if length else None
        request.variant = variant
        return request
