"""The loop shared by every source: read, validate, store, acknowledge."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from marshmallow import EXCLUDE, ValidationError

from .._json import loads
from ..backends import Backend
from ..errors import BackendError
from ..event import Event, EventSchema
from .message import Message, Source

__all__ = ["Mover"]

logger = logging.getLogger("convsdk.consume")

POLL = 0.5  # longest wait for messages before looking at stop / idle_timeout again
BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0


class Mover:
    """Read, validate, store, acknowledge; until idle, enough, or stopped."""

    def __init__(
        self, source: Source, backend: Backend, stop: threading.Event, idle: float | None
    ) -> None:
        self._source = source
        self._backend = backend
        self._stop = stop
        self._idle = idle
        # Unknown top-level keys are left out rather than refused: a newer producer
        # adding a field must not turn every message into poison for older consumers.
        self._schema = EventSchema(unknown=EXCLUDE)

    def run(self, batch_size: int, max_events: int | None) -> int:
        """Move batches of up to ``batch_size``; return how many events were stored."""
        moved = 0
        last_message = time.monotonic()
        failures = 0
        error: BackendError | None = None
        while not self._stop.is_set():
            want = batch_size if max_events is None else min(batch_size, max_events - moved)
            if want <= 0:
                break
            wait = POLL
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
                delay = min(BACKOFF_FIRST * 2**failures, BACKOFF_MAX)
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

    def _decode(self, message: Message) -> Event | None:
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
        delay = BACKOFF_FIRST
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
            delay = min(delay * 2, BACKOFF_MAX)
