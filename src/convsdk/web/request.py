"""Reading a request: the parts convsdk needs of a WSGI environ or an ASGI scope."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

__all__ = ["Request", "content_length"]

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
        request.content_length = content_length(length) if length else None
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
        request.content_length = content_length(length) if length else None
        request.variant = variant
        return request
