"""Reading a collect request's body from the server: WSGI's stream, ASGI's messages.

At most ``limit`` bytes are read (a larger body is ``413`` as soon as it shows); a
WSGI body without ``Content-Length`` is read only from a server that ends the stream,
and an ASGI client has ``timeout`` seconds to send it all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..web import body as bodies
from ..web.types import Receive
from .answers import Answer, refuse

__all__ = ["read_asgi", "read_wsgi"]

log = logging.getLogger("convsdk.beacon")


def read_wsgi(environ: dict[str, Any], length: int | None, limit: int) -> bytes | Answer:
    """The body of ``length`` bytes (``None``: unannounced), or a refusal."""
    # Without a length only a server that ends the stream may be read to its end.
    if length is None and not environ.get("wsgi.input_terminated"):
        return refuse(411, "Content-Length required")
    body = bodies.read_wsgi(environ.get("wsgi.input"), length, limit)
    if body.error is not None:
        log.debug("could not read a beacon body", exc_info=body.error)
        return refuse(400, "incomplete body")
    if body.too_large:
        return refuse(413, f"body larger than {limit} bytes")
    if length is not None and not body.complete:
        return refuse(400, "incomplete body")
    return body.data


async def read_asgi(receive: Receive, limit: int, timeout: float) -> bytes | Answer | None:
    """The body, a refusal, or ``None`` when the client left before sending it all."""
    body = bodies.Body()
    try:
        async with asyncio.timeout(timeout):
            await bodies.receive_asgi(receive, limit, body)
    except TimeoutError:
        return refuse(408, "body too slow")
    if body.disconnected:
        return None
    if body.too_large:
        return refuse(413, f"body larger than {limit} bytes")
    return body.data
