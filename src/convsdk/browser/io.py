"""Reading a collect request's body from the server: WSGI's stream, ASGI's messages.

At most ``limit`` bytes are read (a larger body is ``413`` as soon as it shows); a
WSGI body without ``Content-Length`` is read only from a server that ends the stream,
and an ASGI client has ``timeout`` seconds to send it all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .answers import Answer, refuse

__all__ = ["read_asgi", "read_wsgi"]

log = logging.getLogger("convsdk.beacon")

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

CHUNK = 64 * 1024


def read_wsgi(environ: dict[str, Any], length: int | None, limit: int) -> bytes | Answer:
    """The body of ``length`` bytes (``None``: unannounced), or a refusal."""
    stream = environ.get("wsgi.input")
    if length is None:
        # Without a length only a server that ends the stream may be read to its end.
        if not environ.get("wsgi.input_terminated"):
            return refuse(411, "Content-Length required")
        remaining = limit + 1
    else:
        remaining = length
    chunks: list[bytes] = []
    size = 0
    try:
        while remaining > 0 and stream is not None:
            chunk = stream.read(min(remaining, CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            remaining -= len(chunk)
            if size > limit:
                return refuse(413, f"body larger than {limit} bytes")
    except Exception:  # the client went away mid-body
        log.debug("could not read a beacon body", exc_info=True)
        return refuse(400, "incomplete body")
    if length is not None and size < length:
        return refuse(400, "incomplete body")
    return b"".join(chunks)


async def read_asgi(receive: Receive, limit: int, timeout: float) -> bytes | Answer | None:
    """The body, a refusal, or ``None`` when the client left before sending it all."""
    try:
        async with asyncio.timeout(timeout):
            return await _receive(receive, limit)
    except TimeoutError:
        return refuse(408, "body too slow")


async def _receive(receive: Receive, limit: int) -> bytes | Answer | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return None  # http.disconnect
        chunk = message.get("body") or b""
        size += len(chunk)
        if size > limit:
            return refuse(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
