"""WSGI and ASGI around the endpoint: read the request, ask the endpoint, send its answer.

The endpoint decides without I/O (:class:`SansIOEndpoint`); these read the headers
the checks need, the body once the headers pass (:mod:`convsdk.browser.io`), and
write the :class:`~convsdk.browser.answers.Answer`. An error in the endpoint is logged
and answered ``500``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from ..context import Request
from ..web.per_request import flush_request, flush_request_async
from ..web.request import reusable_headers
from ..web.types import ASGIApp, Receive, Scope, Send, StartResponse, WSGIApp
from .answers import Answer, refuse
from .io import read_asgi, read_wsgi

if TYPE_CHECKING:
    from ..interactions import Recorder
    from .admission import Visit

__all__ = [
    "SansIOEndpoint",
    "route_asgi",
    "route_wsgi",
    "serve_asgi",
    "serve_wsgi",
]

log = logging.getLogger("convsdk.beacon")


class SansIOEndpoint(Protocol):
    """What the adapters need of an endpoint (:class:`~convsdk.browser.BeaconEndpoint`)."""

    path: str
    max_body_bytes: int
    read_timeout: float
    recorder: Recorder

    def handles(self, path: str, root_path: str = "") -> bool:
        """Whether ``path`` is one of the endpoint's."""

    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The endpoint as a WSGI app."""

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as an ASGI app."""

    def relative(self, path: str, root_path: str) -> str:
        """``path`` inside an app mounted at ``root_path``."""

    def script_answer(
        self, method: str, prefix: str, query: str, if_none_match: str | None
    ) -> Answer:
        """The answer to a request for the script."""

    def admit(self, request: Request, origin: str | None) -> Answer | Visit:
        """A collect request's headers checked."""

    def collect(self, visit: Visit, body: bytes) -> Answer:
        """A collect request's body checked and recorded."""


def serve_wsgi(
    endpoint: SansIOEndpoint, environ: dict[str, Any], start_response: StartResponse
) -> Iterable[bytes]:
    """Answer a request for one of the endpoint's paths, as a WSGI app."""
    try:
        answer = _answer_wsgi(endpoint, environ)
    except Exception:
        log.exception("the convsdk collect endpoint failed")
        answer = refuse(500, "internal error")
    start_response(answer.status_line(), answer.headers)
    tracker = answer.recorded_by
    if tracker is not None and tracker.flush_after_request:  # see web.per_request
        flush_request(tracker)
    if environ.get("REQUEST_METHOD") == "HEAD" or not answer.body:
        return []
    return [answer.body]


def _answer_wsgi(endpoint: SansIOEndpoint, environ: dict[str, Any]) -> Answer:
    path = environ.get("PATH_INFO") or "/"
    method = environ.get("REQUEST_METHOD") or "GET"
    if path != endpoint.path:
        prefix = (environ.get("SCRIPT_NAME") or "").rstrip("/")
        query = environ.get("QUERY_STRING") or ""
        return endpoint.script_answer(method, prefix, query, environ.get("HTTP_IF_NONE_MATCH"))
    request = Request.from_environ(environ, endpoint.recorder.variant_header)
    admitted = endpoint.admit(request, environ.get("HTTP_ORIGIN"))
    if isinstance(admitted, Answer):
        return admitted
    body = read_wsgi(environ, request.content_length, endpoint.max_body_bytes)
    if isinstance(body, Answer):
        return body
    return endpoint.collect(admitted, body)


async def serve_asgi(endpoint: SansIOEndpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request for one of the endpoint's paths, as an ASGI app."""
    try:
        answer = await _answer_asgi(endpoint, scope, receive)
    except Exception:
        log.exception("the convsdk collect endpoint failed")
        answer = refuse(500, "internal error")
    if answer is None:
        return  # the client left before sending the body
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in answer.headers
            ],
        }
    )
    body = b"" if scope.get("method") == "HEAD" else answer.body
    await send({"type": "http.response.body", "body": body})
    tracker = answer.recorded_by
    if tracker is not None and tracker.flush_after_request:  # see web.per_request
        await flush_request_async(tracker)


async def _answer_asgi(endpoint: SansIOEndpoint, scope: Scope, receive: Receive) -> Answer | None:
    root_path = scope.get("root_path") or ""
    path = endpoint.relative(scope.get("path") or "/", root_path)
    method = scope.get("method") or "GET"
    origin = if_none_match = None
    headers = scope.get("headers") or ()
    reusable = reusable_headers(headers)
    if reusable is not headers:  # read here, then by Request.from_scope
        scope["headers"] = headers = reusable
    for name, value in headers:
        if name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1")
    if path != endpoint.path:
        query = (scope.get("query_string") or b"").decode("latin-1")
        return endpoint.script_answer(method, root_path.rstrip("/"), query, if_none_match)
    request = Request.from_scope(scope, endpoint.recorder.variant_header)
    admitted = endpoint.admit(request, origin)
    if isinstance(admitted, Answer):
        return admitted
    body = await read_asgi(receive, endpoint.max_body_bytes, endpoint.read_timeout)
    if body is None or isinstance(body, Answer):
        return body
    return endpoint.collect(admitted, body)


def route_wsgi(endpoint: SansIOEndpoint, app: WSGIApp) -> WSGIApp:
    """A WSGI app answering the endpoint's paths and handing every other request to ``app``."""

    def routed(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if endpoint.handles(environ.get("PATH_INFO") or "/"):
            return endpoint.wsgi(environ, start_response)
        return app(environ, start_response)

    return routed


def route_asgi(endpoint: SansIOEndpoint, app: ASGIApp) -> ASGIApp:
    """An ASGI app answering the endpoint's paths and handing everything else to ``app``."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and endpoint.handles(scope["path"], scope.get("root_path", "")):
            await endpoint.asgi(scope, receive, send)
        else:
            await app(scope, receive, send)

    return routed
