"""Reading a JetStream stream through a durable pull consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, ConfigError
from .message import Message, missing_stream

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

__all__ = ["NATSSource"]

logger = logging.getLogger("convsdk.consume")


class NATSSource:
    """A JetStream stream read through a durable pull consumer."""

    def __init__(self, url: str, group: str, *, create: bool = False) -> None:
        import nats.errors

        from ..backends.nats import EventLoopThread, NATSTarget

        # A fetch that runs out of time raises nats' TimeoutError, or asyncio's plain
        # one when its first probe took most of the time (a busy machine): both are a
        # quiet stream, not a failure.
        self._timeout_error = (nats.errors.TimeoutError, asyncio.TimeoutError)
        self._target = NATSTarget.from_url(url)
        self._group = group
        self._loop = EventLoopThread("convsdk-consume")
        self._client: Client | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None
        # The stream must exist when the consumer starts, unless asked to create it;
        # after that, a reconnect creates it again (a server that lost its state).
        self._may_create = create

    def read(self, count: int, wait: float) -> list[Message]:
        target = self._target
        messages: list[Message] = self._run(
            self._fetch(count, max(wait, 0.1)), wait + target.connect_timeout + 10
        )
        return messages

    def ack(self, messages: Sequence[Message]) -> None:
        self._run(self._ack(messages), self._target.timeout + 1)

    def close(self) -> None:
        try:
            self._loop.run(self._disconnect(), self._target.timeout + 1)
        except Exception as exc:
            logger.warning("NATS connection not closed cleanly: %s", exc)
        self._loop.stop(timeout=5.0)

    def _run(self, coro: Any, timeout: float) -> Any:
        try:
            return self._loop.run(coro, timeout)
        except (BackendError, ConfigError):
            raise
        except Exception as exc:
            # The connection or the consumer may be gone: start afresh next time.
            try:
                self._loop.run(self._disconnect(), self._target.timeout + 1)
            except Exception:
                logger.debug("error dropping the NATS connection", exc_info=True)
            raise BackendError(f"{type(exc).__name__}: {exc}", backend="nats") from exc

    async def _connect(self) -> JetStreamContext.PullSubscription:
        from nats.js.api import ConsumerConfig

        from ..backends.nats import ensure_stream, open_connection

        if self._subscription is not None and self._client is not None:
            if not self._client.is_closed:
                return self._subscription
        target = self._target
        client = await open_connection(target)
        self._client = client
        js = client.jetstream(timeout=target.timeout)
        if not self._may_create:
            await self._check_stream(js)
        await ensure_stream(js, target)
        self._may_create = True
        self._subscription = await js.pull_subscribe(
            target.subject,
            durable=self._group,
            stream=target.stream,
            config=ConsumerConfig(ack_wait=target.ack_wait),
        )
        return self._subscription

    async def _check_stream(self, js: JetStreamContext) -> None:
        import nats.js.errors

        try:
            await js.stream_info(self._target.stream)
        except nats.js.errors.NotFoundError:
            names = [info.config.name or "" for info in await js.streams_info()]
            raise missing_stream(self._target.stream, self._target.source, names) from None

    async def _fetch(self, count: int, wait: float) -> list[Message]:
        subscription = await self._connect()
        try:
            messages = await subscription.fetch(count, timeout=wait)
        except self._timeout_error:
            return []
        stream = self._target.stream
        return [Message(m, m.data, f"{stream}#{m.metadata.sequence.stream}") for m in messages]

    async def _ack(self, messages: Sequence[Message]) -> None:
        for message in messages:
            if not message.ref.is_acked:  # a retried ack skips what already went out
                await message.ref.ack()
        if self._client is not None:
            await self._client.flush(timeout=max(1, int(self._target.timeout)))

    async def _disconnect(self) -> None:
        client, self._client, self._subscription = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                await client.close()
            except Exception:
                logger.debug("error closing a NATS connection", exc_info=True)
