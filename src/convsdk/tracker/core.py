"""The :class:`Tracker`: builds events (classified by its goals, with the request's
visitor and session) and hands them to its dispatcher, which ships them in batches to a
backend from a background thread.

>>> tracker = Tracker(backend="sqlite:///convsdk.db", goals="goals.toml")
>>> tracker.track("video_played", kind="micro", properties={"video": "demo"})
>>> tracker.flush(timeout=5.0)
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Unpack

from ..backends import Backend
from ..dispatch import Backpressure
from ..event import Event
from ..fanout import FanOut
from ..goals import GoalSet, resolve_goals
from ..web.context import current_request
from . import parts, registry
from .building import EventBuilder
from .config import TrackerOptions, TrackerStats, settings
from .identify import identify_event
from .standins import NoBackend, Off

__all__ = ["Tracker", "redirected", "set_redirect"]

log = logging.getLogger("convsdk.tracker")

# The tracker every tracker's events go to instead of their backend (tests), or None.
# Kept here, next to the only code that reads it on every event.
_redirect: Tracker | None = None
_redirect_lock = threading.Lock()


def redirected() -> Tracker | None:
    """The tracker every tracker's events go to instead of their backend, or ``None``."""
    return _redirect


def set_redirect(target: Tracker | None) -> Tracker | None:
    """Send every tracker's events to ``target`` (``None`` stops); return the previous one."""
    global _redirect
    with _redirect_lock:
        previous, _redirect = _redirect, target
    return previous


class Tracker(EventBuilder):
    """Records events and ships them in batches to a backend from a background thread.

    All options are keyword-only (each one is described in :class:`TrackerOptions`)::

        tracker = Tracker(
            backend="sqlite:///convsdk.db",   # a URL (see convsdk.backends) or a Backend
            goals=[Goal.macro("purchase", event="checkout", path="/checkout")],
            secret_key="change-me",           # signs visitor/session cookies
        )

    Every option may also come from a ``CONVSDK_<NAME>`` environment variable
    (``CONVSDK_BACKEND``, ``CONVSDK_BATCH_SIZE``, ``CONVSDK_DISABLED=1``, ...); a keyword
    argument wins. See :mod:`convsdk.options`. An unknown option is a
    :class:`~convsdk.ConfigError` with "did you mean". ``enabled=False`` records
    nothing (no backend, spool directory or thread) while :meth:`track` still builds
    and returns the event. The worker thread starts with the first event (or
    :meth:`flush` / :meth:`close` when the spool holds events a previous process
    left); a tracker dropped without :meth:`close` stops it.
    """

    def __init__(self, **options: Unpack[TrackerOptions]) -> None:
        # Keyword argument > CONVSDK_* environment variable > default (convsdk.options).
        values = settings(options)
        self.enabled: bool = values["enabled"]
        self.batch_size: int = values["batch_size"]
        self.flush_interval: float = values["flush_interval"]
        self.max_queue_size: int = values["max_queue_size"]
        self.shutdown_timeout: float = values["shutdown_timeout"]
        self.session_timeout: int = values["session_timeout"]
        self.currency: str = values["currency"]
        self.secret_key: str | bytes | None = values["secret_key"]
        self.max_value = float(values["max_value"])
        self.phone_country_code: str | None = values["phone_country_code"]
        self._values_dropped = 0
        self._value_warned_at = -math.inf
        self.spool_dir: str | None = values["spool_dir"]
        self.durable: bool = values["durable"]
        self.flush_after_request: bool = values["flush_after_request"]
        self.max_retries: int = values["max_retries"]
        self.retry_max_delay: float = values["retry_max_delay"]
        self.retry_timeout: float = values["retry_timeout"]
        self.max_spool_bytes: int = values["max_spool_bytes"]
        self.fsync: str = values["fsync"]
        self.backpressure: Backpressure = values["backpressure"]
        self.anonymize_ip: bool = values["anonymize_ip"]
        self.respect_dnt: bool = values["respect_dnt"]
        self.filter_bots: bool = values["filter_bots"]
        self.goals: GoalSet = resolve_goals(values["goals"])
        self._closed = False
        # Captured (a test): this tracker's events go to the capture; it builds nothing.
        off = not self.enabled or _redirect is not None
        if off:
            self.backend: Backend = NoBackend()
            #: Every backend events go to, in the order given (``backend`` is the first).
            self.backends: tuple[Backend, ...] = (self.backend,)
            self._dispatcher: FanOut | Off = Off()
            if not self.enabled:
                log.info("convsdk is disabled (enabled=False): nothing is recorded")
            return
        backends, dispatcher = parts.build(values)
        self.backend, self.backends = backends[0], tuple(backends)
        self._dispatcher = dispatcher
        # Dropped without close(): its workers stop (the atexit hooks cover interpreter exit).
        self._finalizer = registry.register(self, dispatcher)
        log.info(
            "convsdk records to %s with %d goals",
            ", ".join(lane.name for lane in dispatcher.lanes),
            len(self.goals),
        )
        if values["signal_handlers"]:
            registry.watch_signals()  # atexit does not run when a signal ends the process.

    # -- recording ------------------------------------------------------------------

    def track(
        self,
        name: str,
        *,
        kind: str | None = None,
        goal: str | None = None,
        value: Any = None,
        currency: str | None = None,
        transaction_id: Any = None,
        properties: dict[str, Any] | None = None,
        user_id: Any = None,
        timestamp: datetime | None = None,
    ) -> Event | None:
        """Record an event; return it, or ``None`` when it is not recorded.

        Inside a request handled by the middleware (or a framework integration) the
        event carries the visitor, session and request details. A configured goal
        whose ``event`` is ``name`` classifies it (kind, goal, value, currency) unless
        those are given. Invalid arguments raise ``ValueError`` naming the field; an
        event from a bot or a visitor who opted out returns ``None``, and so does one
        the backpressure policy dropped (a full queue without a spool: counted in
        :meth:`stats`). With ``flush_after_request`` (serverless platforms), an event
        tracked outside a request is delivered before this returns.

        >>> tracker.track("video_played", kind="micro", properties={"video": "demo"})
        """
        # Positional calls and no emit() layer: this is the hot path (about 2 µs).
        ctx = current_request.get()
        event = self._build(
            name, kind, goal, value, currency, transaction_id, properties, user_id, timestamp, ctx
        )
        if event is not None:
            value = event.value
            if value is not None and not -self.max_value <= value <= self.max_value:
                self._drop_value(event)
            target = _redirect  # a test capturing every tracker's events
            dispatcher = self._dispatcher if target is None else target._dispatcher
            if not dispatcher.put(event):
                return None  # dropped by the backpressure policy (counted in stats())
            if self.flush_after_request and ctx is None:
                # No middleware delivers at the end of a request: deliver now.
                dispatcher.flush(self.shutdown_timeout)
        return event

    def emit(self, event: Event) -> bool:
        """Hand a built event to the dispatcher; never blocks on I/O to the backend.

        With ``durable=True`` the event is in the write-ahead log when this returns.
        Returns False when the event was dropped (counted in :meth:`stats`); an event
        spooled because the queue was full counts as kept. A value beyond ``max_value``
        is dropped from the event (counted in :meth:`stats` as ``values_dropped``).
        """
        value = event.value
        if value is not None and not -self.max_value <= value <= self.max_value:
            self._drop_value(event)
        target = _redirect  # a test capturing every tracker's events
        return (self._dispatcher if target is None else target._dispatcher).put(event)

    def _drop_value(self, event: Event) -> None:
        """Record ``event`` without its out-of-range value (a visitor's 1e29 is no revenue)."""
        value = event.value
        event.value = event.currency = None
        self._values_dropped += 1
        now = time.monotonic()
        if now - self._value_warned_at >= 60.0:  # at most once a minute: visitors repeat
            self._value_warned_at = now
            log.warning(
                "%s: value %r is beyond max_value (%g) and was dropped; %d so far",
                event.goal or event.name,
                value,
                self.max_value,
                self._values_dropped,
            )

    def identify(self, user_id: Any, traits: Mapping[str, Any] | None = None) -> Event | None:
        """Link the current visitor to ``user_id``; record and return the identify event.

        Later events of the visitor (this request's, and later requests' through a
        signed cookie) carry ``user_id`` and the hashed ``traits`` (``email``,
        ``phone``, ``external_id``: normalised and SHA-256 hashed, never kept raw) in
        ``context["traits"]``. Outside a request the event carries the user id only;
        a visitor under Do-Not-Track / GPC is not linked (``None``). An unknown trait
        is a :class:`~convsdk.ConfigError` naming it.

        >>> tracker.identify("user-42", {"email": "Ada@Example.com"})
        """
        event = identify_event(user_id, traits, self.phone_country_code)
        if event is None or not self.emit(event):
            return None
        return event

    # -- lifecycle ------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for every event so far to reach the backend.

        Events waiting in the spool are replayed too. Returns True when everything was
        delivered; always returns within the timeout, whatever the backend does.
        """
        return self._dispatcher.flush(timeout)

    def stats(self) -> TrackerStats:
        """Counters since start: ``enqueued``, ``delivered``, ``retried``, ``spooled``,
        ``replayed``, ``dead_lettered``, ``dropped``, ``queued``, ``spool_bytes`` and
        ``corrupt`` (see :meth:`convsdk.dispatch.Dispatcher.stats`), summed over the
        backends; ``bots``: requests the middleware did not record because a bot sent
        them; ``values_dropped`` (values beyond ``max_value`` left out of their events);
        and ``destinations``: each backend's name (its URL without secrets) to its own
        counters, with ``filtered``, ``sampled``, ``hook_dropped`` and ``hook_errors``
        (see :class:`convsdk.fanout.DeliveryStats`).
        """
        stats = self._dispatcher.stats()
        return {**stats, "bots": self._bots, "values_dropped": self._values_dropped}

    #: Requests dropped as bots (see count_bot); per instance once one is counted.
    _bots = 0

    def count_bot(self) -> None:
        """Count one request not recorded because a bot sent it (``stats()["bots"]``)."""
        self._bots += 1

    def close(self, timeout: float | None = None) -> bool:
        """Flush for at most ``timeout`` seconds (default ``shutdown_timeout``), then stop
        the worker.

        What is not delivered by then goes to the spool (the next tracker on the same
        ``spool_dir`` delivers it). Returns True when everything was delivered. Safe to
        call more than once: a call while another is closing (another thread, or a
        signal handler interrupting it) waits for that close, within ``timeout``.
        """
        wait = self.shutdown_timeout if timeout is None else timeout
        if self._closed:
            return self._dispatcher.close(wait)
        self._closed = True
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
        registry.closing(True)
        try:
            return self._dispatcher.close(wait)
        finally:
            # Live until closed: a signal coming meanwhile finds it; on the main
            # thread, the signal is handled now (see convsdk.shutdown.defer_signals).
            registry.forget(self)
            registry.closing(False)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Tracker backend={type(self.backend).__name__} goals={len(self.goals)}>"
