"""Reading an ingest request: the bearer token, the content type, the body within its cap.

What is wrong with a request is raised as :class:`Refused`, which the endpoint answers.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request

__all__ = ["Refused", "authorised", "content_encoding", "read_body"]


class Refused(Exception):
    """A request answered with an error status (caught by the endpoint)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def authorised(request: Request, expected: bytes) -> bool:
    """Whether ``request`` carries the bearer token (``expected``: ``b"Bearer <token>"``)."""
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(f"Bearer {credentials.strip()}".encode(), expected)


def content_encoding(request: Request) -> str:
    """The body's encoding (identity or gzip); refused unless the body is JSON."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise Refused(415, "the body must be application/json")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise Refused(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return encoding


async def read_body(request: Request, cap: int) -> bytes:
    """The body, refused as soon as it is known to pass ``cap`` bytes."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise Refused(400, "invalid Content-Length")
        if int(length) > cap:
            raise Refused(413, f"the body is larger than {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # a chunked body has no Content-Length
        size += len(chunk)
        if size > cap:
            raise Refused(413, f"the body is larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
