"""Reading a request body, bounded: from a WSGI input stream, or from ASGI messages.

One loop for each protocol, shared by the middlewares (which give the same bytes back
to the app) and the browser endpoint (which answers a refusal): :class:`Body` says
what was read and how the read ended; each caller decides what that means.
"""

from __future__ import annotations

from typing import Any

from .types import Message, Receive

__all__ = ["CHUNK", "Body", "read_wsgi", "receive_asgi"]

#: Bytes asked of a WSGI stream at a time.
CHUNK = 64 * 1024


class Body:
    """What was read of a body: its chunks (and, from ASGI, the messages as received)."""

    __slots__ = ("chunks", "complete", "disconnected", "error", "messages", "size", "too_large")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        #: Every byte announced (or, unannounced, up to the end of the stream) was read.
        self.complete = False
        #: More than the limit arrived; the read stopped there.
        self.too_large = False
        #: The stream failed (the client went away): the exception, for the app to see.
        self.error: Exception | None = None
        #: ASGI: the client disconnected before the body ended.
        self.disconnected = False
        #: ASGI: the messages read, for an app that must receive them again.
        self.messages: list[Message] = []

    @property
    def data(self) -> bytes:
        """The bytes read."""
        return b"".join(self.chunks)

    def add(self, chunk: bytes, limit: int) -> None:
        """Count ``chunk`` in; over ``limit`` bytes the body is too large."""
        self.chunks.append(chunk)
        self.size += len(chunk)
        self.too_large = self.size > limit


def read_wsgi(stream: Any, length: int | None, limit: int) -> Body:
    """Read ``length`` bytes (``None``: to the end of the stream) of at most ``limit``."""
    body = Body()
    remaining = limit + 1 if length is None else length
    try:
        while remaining > 0 and stream is not None:
            chunk = stream.read(min(remaining, CHUNK))
            if not chunk:
                break
            body.add(chunk, limit)
            remaining -= len(chunk)
            if body.too_large:
                return body
    except Exception as exc:  # the client went away mid-body
        body.error = exc
        return body
    body.complete = remaining <= 0 if length is not None else not body.too_large
    return body


async def receive_asgi(receive: Receive, limit: int, body: Body) -> None:
    """Receive the body's messages into ``body`` until it ends, the client leaves or it
    grows over ``limit`` bytes. ``body`` holds what arrived even if this is cancelled."""
    while True:
        message = await receive()
        body.messages.append(message)
        if message.get("type") != "http.request":
            body.disconnected = True
            return
        body.add(message.get("body") or b"", limit)
        if body.too_large:
            return
        if not message.get("more_body", False):
            body.complete = True
            return
