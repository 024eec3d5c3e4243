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

Modules: :mod:`~convsdk.consume.mover` (the loop every source shares),
:mod:`~convsdk.consume.redis` and :mod:`~convsdk.consume.nats` (the sources),
:mod:`~convsdk.consume.sources` (which source a URL names),
:mod:`~convsdk.consume.message` (what a source gives the loop).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..backends import Backend, from_url
from ..checks import is_int, is_number
from ..errors import ConfigError
from .mover import Mover
from .sources import open_source

__all__ = ["consume"]

logger = logging.getLogger("convsdk.consume")


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
    create_stream: bool = False,
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

    The stream must exist: a misspelt name is a :class:`~convsdk.errors.ConfigError`
    (with the closest existing name), not a new empty stream read for ever. With
    ``create_stream`` a missing stream is created, and the consumer waits for events
    (a consumer deployed before the site wrote anything).

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
    source = open_source(source_url, group, consumer, claim_idle, create=bool(create_stream))
    try:
        backend, owned = (from_url(into), True) if isinstance(into, str) else (into, False)
        try:
            mover = Mover(source, backend, stop or threading.Event(), idle_timeout)
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
    if not is_int(batch_size) or batch_size < 1:
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
    if max_events is not None and (not is_int(max_events) or max_events < 0):
        raise ConfigError(
            f"max_events must be a whole number >= 0, got {max_events!r}", field="max_events"
        )
    if not is_number(claim_idle) or claim_idle < 0:
        raise ConfigError(
            f"claim_idle must be a number of seconds >= 0, got {claim_idle!r}",
            field="claim_idle",
        )
