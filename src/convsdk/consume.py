"""Move events from a Redis stream or a JetStream stream into a database: ``convsdk consume``.

Sites that publish to a broker (``redis://`` or ``nats://`` backends) run a consumer that
stores the events where reports can read them::

    from convsdk.consume import consume

    consume("redis://cache:6379/0/convsdk:events", into="postgresql://app@db/analytics")

A message is acknowledged only after the destination stored it, so a consumer that
crashes loses nothing: what it read but did not acknowledge is delivered again (Redis:
the consumer's own pending entries are read first on restart; JetStream: redelivery
after ``ack_wait``). Delivery is therefore at-least-once; SQLite and PostgreSQL drop the
duplicates by ``event_id``.

Messages are untrusted input: each is validated with :class:`~convsdk.event.EventSchema`.
One that does not decode to a valid event (a poison message) is logged, acknowledged
and skipped, so it never blocks the stream.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, ValidationError

from ._json import loads
from .backends import Backend, from_url
from .errors import BackendError, ConfigError
from .event import Event, EventSchema

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

__all__ = ["consume"]

logger = logging.getLogger("convsdk.consume")

_POLL = 0.5  # longest wait for messages before looking at stop / idle_timeout again
_BACKOFF_FIRST = 0.2
_BACKOFF_MAX = 5.0
_DURABLE = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")


def consume(
    source_url: str,
    into: str | Backend,
    *,
    group: str = "convsdk",
    consumer: str | None = None,
    batch_size: int = 500,
    idle_timeout: float | None = None,
    max_events: int | None = None,
    stop: threading.Event | None = None,
    claim_idle: float = 300.0,
) -> int:
    """Move events from ``source_url`` into ``into``; return how many were stored.

    ``source_url`` is a ``redis://`` stream URL (read through the consumer group
    ``group`` as ``consumer``, by default this host's name: a restarted consumer of the
    same name first takes back what it read but did not acknowledge, and entries any
    other consumer left unacknowledged for ``claim_idle`` seconds are claimed, so a
    consumer that never comes back strands nothing) or a ``nats://``
    JetStream URL (read through the durable pull consumer ``group``; ``consumer`` is not
    used). The URLs are those of the matching backends. ``into`` is a backend URL or a
    :class:`~convsdk.backends.Backend`; one built from a URL is closed on return.

    Returns after ``idle_timeout`` seconds without a message, once ``max_events`` events
    were stored, or when ``stop`` is set (within half a second); otherwise it runs
    until interrupted. A source or destination failure is retried with backoff (the
    messages stay unacknowledged meanwhile); with ``idle_timeout`` set, failing for
    longer than that raises the last error instead. A destination that refuses an
    event outright (``BackendError(retryable=False)``) gets the batch in halves until
    the culprit is found; that one event is logged and skipped.

    >>> stop = threading.Event()
    >>> consume("nats://broker:4222/convsdk.events", "sqlite:///events.db", stop=stop)
    """
    _check_options(group, consumer, batch_size, idle_timeout, max_events, claim_idle)
    source = _open_source(source_url, group, consumer, claim_idle)
    try:
        backend, owned = (from_url(into), True) if isinstance(into, str) else (into, False)
        try:
            mover = _Mover(source, backend, stop or threading.Event(), idle_timeout)
            return mover.run(batch_size, max_events)
        finally:
            if owned:
                backend.close()
    finally:
        source.close()


def _check_options(
    group: Any,
    consumer: Any,
    batch_size: Any,
    idle_timeout: Any,
    max_events: Any,
    claim_idle: Any,
) -> None:
    if not isinstance(group, str) or not group:
        raise ConfigError(f"group must be a non-empty string, got {group!r}", field="group")
    if consumer is not None and (not isinstance(consumer, str) or not consumer):
        raise ConfigError(
            f"consumer must be a non-empty string, got {consumer!r}", field="consumer"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(
            f"batch_size must be a whole number >= 1, got {batch_size!r}", field="batch_size"
        )
    if idle_timeout is not None and (
        isinstance(idle_timeout, bool)
        or not isinstance(idle_timeout, int | float)
        or not idle_timeout > 0
    ):
        raise ConfigError(
            f"idle_timeout must be a number of seconds > 0, got {idle_timeout!r}",
            field="idle_timeout",
        )
    if max_events is not None and (
        isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0
    ):
        raise ConfigError(
            f"max_events must be a whole number >= 0, got {max_events!r}", field="max_events"
        )
    if isinstance(claim_idle, bool) or not isinstance(claim_idle, int | float) or claim_idle < 0:
        raise ConfigError(
            f"claim_idle must be a number of seconds >= 0, got {claim_idle!r}",
            field="claim_idle",
        )


# -- the loop shared by every source ------------------------------------------------------


@dataclass(slots=True)
class _Message:
    """One message read from a source: what acknowledges it, and its payload."""

    ref: Any
    data: bytes | None  # None: the entry's content is gone (trimmed from the stream)
    label: str  # for log lines: stream entry id / stream sequence


class _Source(Protocol):
    def read(self, count: int, wait: float) -> list[_Message]:
        """Up to ``count`` messages, waiting at most ``wait`` seconds for the first."""
        ...

    def ack(self, messages: Sequence[_Message]) -> None:
        """Acknowledge ``messages``: they are not delivered again."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class _Mover:
    """Read, validate, store, acknowledge; until idle, enough, or stopped."""

    def __init__(
        self, source: _Source, backend: Backend, stop: threading.Event, idle: float | None
    ) -> None:
        self._source = source
        self._backend = backend
        self._stop = stop
        self._idle = idle
        # Unknown top-level keys are left out rather than refused: a newer producer
        # adding a field must not turn every message into poison for older consumers.
        self._schema = EventSchema(unknown=EXCLUDE)

    def run(self, batch_size: int, max_events: int | None) -> int:
        moved = 0
        last_message = time.monotonic()
        failures = 0
        error: BackendError | None = None
        while not self._stop.is_set():
            want = batch_size if max_events is None else min(batch_size, max_events - moved)
            if want <= 0:
                break
            wait = _POLL
            if self._idle is not None:
                left = self._idle - (time.monotonic() - last_message)
                if left <= 0:
                    if failures and error is not None:
                        raise error  # not idle: unreachable all along, as the caller hears
                    break
                wait = min(wait, left)
            try:
                messages = self._source.read(want, wait)
            except BackendError as exc:
                if not exc.retryable:
                    raise
                error = exc
                # An unreachable source is like a quiet one: idle_timeout still applies.
                delay = min(_BACKOFF_FIRST * 2**failures, _BACKOFF_MAX)
                failures += 1
                logger.warning("reading the source failed (%s); retrying in %.1fs", exc, delay)
                self._stop.wait(delay if self._idle is None else min(delay, wait))
                continue
            failures = 0
            if not messages:
                continue
            last_message = time.monotonic()
            events = [e for e in map(self._decode, messages) if e is not None]
            if events:
                stored = self._deliver(events)
                if stored is None:  # stopped while the destination was failing
                    break
                moved += stored
            if not self._retry(partial(self._source.ack, messages), "acknowledging"):
                break
            logger.debug("moved %d events (%d so far)", len(events), moved)
        return moved

    def _decode(self, message: _Message) -> Event | None:
        if message.data is None:
            logger.warning("skipped message %s: its content is gone", message.label)
            return None
        try:
            data = loads(message.data)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            event: Event = self._schema.load(data)
        except (ValueError, TypeError, ValidationError) as exc:
            logger.warning("skipped message %s: not a valid event: %.300s", message.label, exc)
            return None
        return event

    def _deliver(self, events: list[Event]) -> int | None:
        """Store ``events``; the number stored, or None when stopped first."""
        try:
            done = self._retry(lambda: self._backend.write(events), f"storing {len(events)} events")
        except BackendError as exc:
            if exc.retryable:
                raise
            if len(events) == 1:
                logger.error(
                    "skipped event %s: the destination refuses it: %s", events[0].event_id, exc
                )
                return 0
            half = len(events) // 2
            first = self._deliver(events[:half])
            if first is None:
                return None
            second = self._deliver(events[half:])
            return None if second is None else first + second
        return len(events) if done else None

    def _retry(self, attempt: Callable[[], None], what: str) -> bool:
        """Call ``attempt`` until it succeeds (True) or ``stop`` is set (False).

        A non-retryable BackendError is raised at once; other failures are retried
        with backoff, and raised once they have lasted ``idle_timeout`` (when set).
        """
        delay = _BACKOFF_FIRST
        started = time.monotonic()
        while True:
            try:
                attempt()
                return True
            except BackendError as exc:
                if not exc.retryable:
                    raise
                error: Exception = exc
            except Exception as exc:  # a destination may fail in its own ways
                error = exc
            if self._idle is not None and time.monotonic() - started >= self._idle:
                raise error
            logger.warning("%s failed (%s); retrying in %.1fs", what, error, delay)
            if self._stop.wait(delay):
                return False
            delay = min(delay * 2, _BACKOFF_MAX)


# -- sources ------------------------------------------------------------------------------


def _open_source(url: Any, group: str, consumer: str | None, claim_idle: float) -> _Source:
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme in ("redis", "rediss"):
        try:
            return _RedisSource(url, group, consumer or socket.gethostname(), claim_idle)
        except ImportError as exc:
            raise _missing("redis", exc, url) from exc
    if scheme == "nats":
        if not _DURABLE.match(group):
            raise ConfigError(
                f"a JetStream consumer name is letters, digits, '-' and '_', got {group!r}",
                field="group",
            )
        try:
            return _NATSSource(url, group)
        except ImportError as exc:
            raise _missing("nats", exc, url) from exc
    raise ConfigError(
        f"consume reads redis://, rediss:// or nats:// URLs, got {url!r}", field="source"
    )


def _missing(extra: str, exc: ImportError, url: str) -> ConfigError:
    return ConfigError(
        f"reading {extra} needs a package that is not installed ({exc.name or exc}); "
        f"run: pip install 'convsdk[{extra}]'",
        field="source",
        source=url,
    )


class _RedisSource:
    """A Redis stream read through a consumer group (``XREADGROUP`` / ``XACK``)."""

    def __init__(self, url: str, group: str, consumer: str, claim_idle: float) -> None:
        import redis

        from .backends.redis import RedisBackend

        self._errors = redis
        self._backend = RedisBackend.from_url(url)
        self._client = self._backend.client
        self._key = self._backend.stream
        self._group = group
        self._consumer = consumer
        self._group_ready = False
        # Entries this consumer read before and never acknowledged come first: "0"
        # asks for its pending list, ">" for entries nobody was given yet.
        self._pending_after: str | None = "0"
        # Entries another consumer read and left unacknowledged for claim_idle seconds
        # (it died, or was renamed) are claimed (XAUTOCLAIM): they would wait for ever.
        self._claim_idle_ms = max(0, int(claim_idle * 1000))
        self._claim_from = "0-0"
        self._next_claim = 0.0

    def read(self, count: int, wait: float) -> list[_Message]:
        try:
            if not self._group_ready:
                self._create_group()
            if self._pending_after is not None:
                messages = self._xreadgroup(self._pending_after, count, None)
                if messages:
                    self._pending_after = messages[-1].ref
                    return messages
                self._pending_after = None
            if time.monotonic() >= self._next_claim:
                claimed = self._claim(count)
                if claimed:
                    return claimed
            return self._xreadgroup(">", count, max(1, int(wait * 1000)))
        except self._errors.ResponseError as exc:
            if str(exc).startswith("NOGROUP"):  # the key was deleted (or Redis restarted)
                self._group_ready = False
                self._pending_after = "0"
                raise BackendError(str(exc), backend="redis") from exc
            raise BackendError(str(exc), backend="redis", retryable=False) from exc
        except self._errors.RedisError as exc:
            raise BackendError(str(exc), backend="redis") from exc

    def ack(self, messages: Sequence[_Message]) -> None:
        try:
            self._client.xack(self._key, self._group, *(m.ref for m in messages))
        except self._errors.RedisError as exc:
            raise BackendError(str(exc), backend="redis") from exc

    def close(self) -> None:
        self._backend.close()

    def _create_group(self) -> None:
        try:
            # From "0": events the site wrote before the first consumer started count too.
            self._client.xgroup_create(self._key, self._group, id="0", mkstream=True)
            logger.info("created consumer group %s on %s", self._group, self._key)
        except self._errors.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise
        self._group_ready = True

    def _claim(self, count: int) -> list[_Message]:
        try:
            reply: Any = self._client.xautoclaim(
                self._key,
                self._group,
                self._consumer,
                self._claim_idle_ms,
                start_id=self._claim_from,
                count=count,
            )
        except self._errors.ResponseError as exc:
            if "unknown command" not in str(exc).lower():
                raise
            logger.warning(
                "Redis before 6.2 has no XAUTOCLAIM: entries other consumers "
                "left unacknowledged are not claimed"
            )
            self._next_claim = float("inf")
            return []
        cursor, entries = reply[0], reply[1]
        self._claim_from = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_from == "0-0":  # went through the whole pending list: rest a while
            self._next_claim = time.monotonic() + max(1.0, min(60.0, self._claim_idle_ms / 1000))
        messages = self._messages([entries])
        if messages:
            logger.warning("claimed %d entries another consumer left unacknowledged", len(messages))
        return messages

    def _xreadgroup(self, after: str, count: int, block_ms: int | None) -> list[_Message]:
        reply: Any = self._client.xreadgroup(
            self._group, self._consumer, {self._key: after}, count=count, block=block_ms
        )
        if not reply:
            return []
        # RESP2: [[key, entries]]; RESP3 (redis-py): {key: [entries]}
        if isinstance(reply, dict):
            streams = [wrapped[0] if wrapped else [] for wrapped in reply.values()]
        else:
            streams = [item[1] for item in reply]
        return self._messages(streams)

    def _messages(self, streams: Sequence[Any]) -> list[_Message]:
        messages = []
        for entries in streams:
            for entry_id, fields in entries:
                ref = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                data = fields.get(b"data") if fields else None
                messages.append(_Message(ref, data, f"{self._key}/{ref}"))
        return messages


class _NATSSource:
    """A JetStream stream read through a durable pull consumer."""

    def __init__(self, url: str, group: str) -> None:
        import nats.errors

        from .backends.nats import EventLoopThread, NATSTarget

        self._timeout_error = nats.errors.TimeoutError
        self._target = NATSTarget.from_url(url)
        self._group = group
        self._loop = EventLoopThread("convsdk-consume")
        self._client: Client | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None

    def read(self, count: int, wait: float) -> list[_Message]:
        target = self._target
        messages: list[_Message] = self._run(
            self._fetch(count, max(wait, 0.1)), wait + target.connect_timeout + 10
        )
        return messages

    def ack(self, messages: Sequence[_Message]) -> None:
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
        except BackendError:
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

        from .backends.nats import ensure_stream, open_connection

        if self._subscription is not None and self._client is not None:
            if not self._client.is_closed:
                return self._subscription
        target = self._target
        client = await open_connection(target)
        self._client = client
        js = client.jetstream(timeout=target.timeout)
        await ensure_stream(js, target)
        self._subscription = await js.pull_subscribe(
            target.subject,
            durable=self._group,
            stream=target.stream,
            config=ConsumerConfig(ack_wait=target.ack_wait),
        )
        return self._subscription

    async def _fetch(self, count: int, wait: float) -> list[_Message]:
        subscription = await self._connect()
        try:
            messages = await subscription.fetch(count, timeout=wait)
        except self._timeout_error:
            return []
        stream = self._target.stream
        return [_Message(m, m.data, f"{stream}#{m.metadata.sequence.stream}") for m in messages]

    async def _ack(self, messages: Sequence[_Message]) -> None:
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
