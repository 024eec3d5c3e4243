"""The ``nats://`` backend: :class:`NATSBackend` publishes each batch to JetStream on an
event loop thread of its own and waits for every acknowledgement."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from ..._urls import url_key
from ...errors import BackendError
from ...event import Event
from .connection import BACKEND, close_quietly, describe, ensure_stream, open_connection
from .loop import EventLoopThread
from .target import NATSTarget

__all__ = ["NATSBackend"]

logger = logging.getLogger("convsdk.nats")


class NATSBackend:
    """Publish events to JetStream, deduplicated by ``Nats-Msg-Id``; see :meth:`from_url`.

    >>> backend = NATSBackend.from_url("nats://broker:4222/convsdk.events?stream=CONVSDK")
    """

    def __init__(self, target: NATSTarget) -> None:
        self._target = target
        self._loop: EventLoopThread | None = None
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NATSBackend:
        """Build from ``nats://host:4222/subject?stream=NAME``; keyword options win."""
        return cls(NATSTarget.from_url(url, **options))

    @property
    def target(self) -> NATSTarget:
        """The server, subject, stream and timeouts in use."""
        return self._target

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one ``nats://host:port/subject`` gives."""
        target = self._target
        return url_key(f"{target.server}/{quote(target.subject)}")

    def write(self, events: Sequence[Event]) -> None:
        """Publish the batch concurrently; raise a retryable BackendError unless all are acked."""
        if not events:
            return
        try:
            messages = [(e.event_id, e.to_json()) for e in events]
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=BACKEND, retryable=False
            ) from exc
        target = self._target
        with self._lock:
            if self._closed:
                raise BackendError("the backend is closed", backend=BACKEND, retryable=False)
            if os.getpid() != self._pid:
                # The loop thread did not survive the fork and the socket is the parent's.
                self._pid = os.getpid()
                self._loop, self._client, self._js = None, None, None
            if self._loop is None:
                self._loop = EventLoopThread("convsdk-nats")
            try:
                # The coroutine bounds each step itself; this is the backstop.
                self._loop.run(self._publish(messages), target.connect_timeout + 3 * target.timeout)
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError(describe(exc), backend=BACKEND) from exc

    def close(self) -> None:
        """Drain the connection (publishes in flight finish) and stop the loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, self._loop = self._loop, None
            if loop is None:
                return
            try:
                loop.run(self._shutdown(), self._target.timeout + 2)
            except Exception as exc:
                logger.warning("NATS connection not drained: %s", describe(exc))
            loop.stop(timeout=5.0)

    # -- on the loop thread -----------------------------------------------------------

    async def _jetstream(self) -> JetStreamContext:
        client = self._client
        if client is None or client.is_closed or self._js is None:
            client = await open_connection(self._target)
            self._client, self._js = client, client.jetstream(timeout=self._target.timeout)
            self._stream_ready = False
        js = self._js
        if not self._stream_ready:
            await ensure_stream(js, self._target)
            self._stream_ready = True
        return js

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        js = await self._jetstream()
        subject = self._target.subject
        futures: list[asyncio.Future[Any]] = []
        try:
            for event_id, data in messages:
                futures.append(
                    await js.publish_async(subject, data, headers={"Nats-Msg-Id": event_id})
                )
            results = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), self._target.timeout
            )
        except TimeoutError:
            raise BackendError(
                f"no acknowledgement within {self._target.timeout:g}s", backend=BACKEND
            ) from None
        finally:
            for future in futures:
                future.cancel()  # no-op when done; frees nats-py's bookkeeping otherwise
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            if any(isinstance(f, nats.js.errors.NoStreamResponseError) for f in failures):
                self._stream_ready = False  # the stream may be gone: make sure again next time
            raise BackendError(
                f"{len(failures)} of {len(messages)} messages not acknowledged: "
                f"{describe(failures[0])}",
                backend=BACKEND,
            )

    async def _shutdown(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is None or client.is_closed:
            return
        try:
            await asyncio.wait_for(client.drain(), self._target.timeout)
        except Exception as exc:
            logger.warning("NATS drain failed (%s); closing", describe(exc))
        if not client.is_closed:
            await close_quietly(client)
