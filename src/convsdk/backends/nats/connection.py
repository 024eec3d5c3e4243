"""Talking to NATS: connecting (:func:`open_connection`), making sure the JetStream stream
exists (:func:`ensure_stream`), closing, and describing nats-py's errors."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from ...errors import BackendError
from .target import NATSTarget

__all__ = ["BACKEND", "close_quietly", "describe", "ensure_stream", "open_connection"]

logger = logging.getLogger("convsdk.nats")

#: The name errors give the backend.
BACKEND = "nats"


async def open_connection(target: NATSTarget) -> Client:
    """Connect to ``target.server`` within ``target.connect_timeout``.

    The client reconnects by itself after a drop (buffering what is published
    meanwhile); once connected, its errors and state changes are logged on
    ``convsdk.nats``. Raises :class:`~convsdk.BackendError` when it cannot connect.
    """
    client = Client()
    connected = False
    last_error = ""

    async def on_error(exc: Exception) -> None:
        nonlocal last_error
        if connected:
            logger.warning("NATS error: %s", describe(exc))
        else:  # reported by the exception below instead
            last_error = describe(exc)

    async def on_disconnect() -> None:
        if connected and not client.is_closed:  # closing on purpose says nothing
            logger.warning("disconnected from NATS at %s", target.source)

    async def on_reconnect() -> None:
        logger.info("reconnected to NATS at %s", target.source)

    try:
        await asyncio.wait_for(
            client.connect(
                servers=[target.server],
                name="convsdk",
                connect_timeout=target.connect_timeout,  # type: ignore[arg-type]
                max_reconnect_attempts=-1,
                drain_timeout=target.timeout,  # type: ignore[arg-type]
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            ),
            timeout=target.connect_timeout,
        )
        connected = True
    except TimeoutError:
        detail = f" ({last_error})" if last_error else ""
        raise BackendError(
            f"cannot connect to {target.source} within {target.connect_timeout:g}s{detail}",
            backend=BACKEND,
        ) from None
    except Exception as exc:
        raise BackendError(
            f"cannot connect to {target.source}: {describe(exc)}", backend=BACKEND
        ) from exc
    finally:
        if not connected:  # failed, timed out or cancelled: stop its reconnect loop
            await close_quietly(client)
    return client


async def close_quietly(client: Client) -> None:
    try:
        await asyncio.wait_for(client.close(), timeout=2.0)
    except Exception:
        logger.debug("error closing a NATS connection", exc_info=True)


async def ensure_stream(js: JetStreamContext, target: NATSTarget) -> None:
    """Create ``target.stream`` capturing ``target.subject`` if no such stream exists.

    An existing stream is left as it is: publish acknowledgements tell whether it
    captures the subject.
    """
    try:
        await js.stream_info(target.stream)
        return
    except nats.js.errors.NotFoundError:
        pass
    try:
        await js.add_stream(name=target.stream, subjects=[target.subject])
        logger.info("created JetStream stream %s for %s", target.stream, target.subject)
    except nats.js.errors.BadRequestError as exc:
        # Created meanwhile by another process, or the subject already belongs to
        # another stream, which then stores the messages: both are fine to publish to.
        logger.info("JetStream stream %s not created: %s", target.stream, exc.description)


def describe(exc: BaseException) -> str:
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return "no JetStream stream captures the subject (is JetStream enabled?)"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
