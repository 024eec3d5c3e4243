"""The :class:`Tracker` and the module-level default-tracker functions.

>>> tracker = convsdk.init(backend="sqlite:///convsdk.db", goals="goals.toml")
>>> tracker.track("video_played", kind="micro", properties={"video": "demo"})
>>> tracker.flush(timeout=5.0)
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, TypedDict, Unpack

from . import context as _context
from . import options as _options
from . import runtime
from . import shutdown as _shutdown
from ._urls import redact_url
from .backends import Backend, from_url
from .dispatch import Backpressure, Dispatcher
from .errors import ConfigError, ConvSDKError
from .event import Event, make_event
from .goals import Funnel, Goal, GoalSet, resolve_goals
from .spool import Spool

__all__ = ["Tracker", "TrackerOptions", "close", "flush", "get_tracker", "init", "track"]

log = logging.getLogger("convsdk.tracker")

GoalsArg = str | os.PathLike[str] | GoalSet | Iterable[Goal | Funnel]

# While a test captures events (convsdk.testing), every tracker emits into this one.


def _check_writable(directory: str | None) -> None:
    assert directory is not None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {directory}: {exc.strerror or exc}", field="spool_dir"
        ) from exc
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"{directory} is not a writable directory", field="spool_dir")


_STATS = (
    "enqueued",
    "delivered",
    "retried",
    "spooled",
    "replayed",
    "dead_lettered",
    "dropped",
    "queued",
    "spool_bytes",
    "corrupt",
)


class _NoBackend:
    """The backend of a tracker that records nothing: it stores nothing."""

    def write(self, events: object) -> None:
        pass

    def close(self) -> None:
        pass


class _Off:
    """The dispatcher of a tracker that records nothing (``enabled=False``, or built
    while :func:`redirect_events` captures): no thread, no file, no write."""

    def put(self, event: Event) -> bool:
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        return True

    def stats(self) -> dict[str, int]:
        return dict.fromkeys(_STATS, 0)

    def close(self, timeout: float | None = None) -> bool:
        return True


def _release(dispatcher: Dispatcher) -> None:
    """A tracker was garbage-collected without close(): stop its worker, off this thread."""
    try:
        thread = dispatcher._thread
        if thread is not None and thread.is_alive():
            # close() flushes for up to shutdown_timeout: not in whatever thread ran the GC.
            threading.Thread(target=dispatcher.close, name="convsdk-release", daemon=True).start()
        else:
            dispatcher.close()
    except Exception:
        log.exception("releasing a garbage-collected tracker failed")


class Tracker:
    """Records events and ships them in batches to a backend from a background thread.

    All options are keyword-only::

        tracker = Tracker(
            backend="sqlite:///convsdk.db",   # a URL (see convsdk.backends) or a Backend
            goals=[Goal.macro("purchase", event="checkout", path="/checkout")],
            secret_key="change-me",           # signs visitor/session cookies
        )

    ``backend``: URL or :class:`~convsdk.backends.Backend` instance.
    ``goals``: goals and funnels, or the path of a ``goals.toml`` / ``goals.json``.
    ``secret_key``: signs the visitor and session cookies (default: env
    ``CONVSDK_SECRET_KEY``; without one the middleware runs cookieless).
    ``batch_size``, ``flush_interval`` (seconds): a batch is written when either is reached.
    ``max_queue_size``: events held in memory before the backpressure policy applies.
    ``spool_dir``: where undeliverable events wait on disk (``None`` disables it); the
    next tracker opened on the same directory delivers what is left there, and
    processes (pre-forked workers) may share one.
    ``durable``: append every event to the spool's write-ahead log (one unbuffered
    write, no fsync) before ``track()`` returns, so a killed process loses nothing
    ``track()`` returned; needs ``spool_dir``.
    ``fsync``: ``"never"`` (default; survives a killed process, not a power cut) or
    ``"batch"`` (spool files are flushed to disk once per dispatcher cycle, so at most
    ``flush_interval`` seconds of events are at risk in a power cut); ``True`` /
    ``False`` mean ``"batch"`` / ``"never"``.
    ``backpressure``: when the queue is full, ``"spool"`` (default with a spool),
    ``"drop_newest"`` (default without) or ``"drop_oldest"``; each counted in
    :meth:`stats`.
    ``max_spool_bytes``: disk the spool may use (default 512 MiB); past it the oldest
    segments are deleted, their events counted as dropped.
    ``max_retries``, ``retry_max_delay``, ``retry_timeout``: a failing batch is retried
    up to ``max_retries`` times with exponential backoff and full jitter, each wait at
    most ``retry_max_delay`` seconds (also the cap on a backend's ``retry_after`` and on
    the probe interval while the backend is down), all in at most ``retry_timeout``
    seconds; then it goes to the spool, replayed once the backend answers again. A batch
    the backend refuses for good (``BackendError(retryable=False)``) is not retried: it
    goes to ``<spool_dir>/dead-letter/`` with the error.
    ``shutdown_timeout``: how long ``close()`` (and interpreter exit) may flush; what
    is not delivered by then goes to the spool.
    ``anonymize_ip``, ``respect_dnt``, ``filter_bots``: privacy defaults, all on.
    ``session_timeout``: seconds of inactivity that end a session.
    ``currency``: the ISO 4217 code for values given without one.
    ``max_value``: the largest conversion value (in absolute terms) an event may carry
    (default 1e9). Values come from visitors (``value_from="form:total"``); one out of
    range is dropped from its event, which is still recorded, with a warning (at most
    once a minute) and counted in :meth:`stats` as ``values_dropped``.
    ``enabled``: ``False`` records nothing: no backend is built, no spool directory
    created, no thread started; :meth:`track` still builds and returns the event (so
    code using it behaves the same), :meth:`flush` returns True and :meth:`stats` zeros.
    Middleware and decorators keep running (cookies are still set).

    Every option may also come from a ``CONVSDK_<NAME>`` environment variable
    (``CONVSDK_BACKEND``, ``CONVSDK_BATCH_SIZE``, ``CONVSDK_DISABLED=1``, ...); a keyword
    argument wins. See :mod:`convsdk.options`. An unknown option is a
    :class:`~convsdk.ConfigError` with "did you mean". The worker thread starts with the
    first event (or :meth:`flush` / :meth:`close` when the spool holds events a previous
    process left); a tracker dropped without :meth:`close` stops it.
    """

    def __init__(self, **options: Unpack[TrackerOptions]) -> None:
        # Keyword argument > CONVSDK_* environment variable > default (convsdk.options).
        values = {
            **_options.defaults(_options.TRACKER),
            **_options.resolve([_options.TRACKER], options),
        }
        self.enabled: bool = values["enabled"]
        self.batch_size: int = values["batch_size"]
        self.flush_interval: float = values["flush_interval"]
        self.max_queue_size: int = values["max_queue_size"]
        self.shutdown_timeout: float = values["shutdown_timeout"]
        self.session_timeout: int = values["session_timeout"]
        self.currency: str = values["currency"]
        self.secret_key: str | bytes | None = values["secret_key"]
        self.max_value = float(values["max_value"])
        self._values_dropped = 0
        self._value_warned_at = -math.inf
        spool_dir = values["spool_dir"]
        self.spool_dir = os.path.abspath(spool_dir) if spool_dir is not None else None
        self.durable: bool = values["durable"]
        self.max_retries: int = values["max_retries"]
        self.retry_max_delay: float = values["retry_max_delay"]
        self.retry_timeout: float = values["retry_timeout"]
        self.max_spool_bytes: int = values["max_spool_bytes"]
        self.fsync: str = values["fsync"]
        backpressure = values["backpressure"]
        if backpressure is None:
            backpressure = "spool" if self.spool_dir is not None else "drop_newest"
        if backpressure == "spool" and self.spool_dir is None:
            raise ConfigError("'spool' needs a spool_dir", field="backpressure")
        if self.durable and self.spool_dir is None:
            raise ConfigError("durable=True needs a spool_dir", field="durable")
        self.backpressure: Backpressure = backpressure
        self.anonymize_ip: bool = values["anonymize_ip"]
        self.respect_dnt: bool = values["respect_dnt"]
        self.filter_bots: bool = values["filter_bots"]
        self.goals: GoalSet = resolve_goals(values["goals"])
        backend = values["backend"]
        self._closed = False
        # Captured (a test): this tracker's events go to the capture; it builds nothing.
        off = not self.enabled or runtime.redirect is not None
        if off:
            self.backend: Backend = _NoBackend()
            self._dispatcher: Dispatcher | _Off = _Off()
            if not self.enabled:
                log.info("convsdk is disabled (enabled=False): nothing is recorded")
            return
        if self.durable:
            _check_writable(self.spool_dir)  # durability must not fail at the first track()
        self.backend = from_url(backend) if isinstance(backend, str) else backend
        spool = None
        if self.spool_dir is not None:
            spool = Spool(
                self.spool_dir, max_bytes=self.max_spool_bytes, fsync=self.fsync == "batch"
            )
        dispatcher = self._dispatcher = Dispatcher(
            self.backend,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            max_queue_size=self.max_queue_size,
            max_retries=self.max_retries,
            retry_max_delay=self.retry_max_delay,
            retry_timeout=self.retry_timeout,
            spool=spool,
            durable=self.durable,
            backpressure=self.backpressure,
            shutdown_timeout=self.shutdown_timeout,
        )
        # Dropped without close(): its worker stops (the atexit hooks cover interpreter exit).
        self._finalizer = weakref.finalize(self, _release, dispatcher)
        self._finalizer.atexit = False
        _live.add(self)
        log.info(
            "convsdk records to %s with %d goals",
            redact_url(backend) if isinstance(backend, str) else type(backend).__name__,
            len(self.goals),
        )
        # atexit does not run when a signal ends the process.
        _shutdown.install(_close_all, lambda: 1.0 + sum(t.shutdown_timeout for t in list(_live)))

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
        :meth:`stats`).

        >>> tracker.track("video_played", kind="micro", properties={"video": "demo"})
        """
        # Positional calls and no emit() layer: this is the hot path (about 2 µs).
        event = self._build(
            name,
            kind,
            goal,
            value,
            currency,
            transaction_id,
            properties,
            user_id,
            timestamp,
            runtime.current_request.get(),
        )
        if event is not None:
            value = event.value
            if value is not None and not -self.max_value <= value <= self.max_value:
                self._drop_value(event)
            target = runtime.redirect  # a test capturing every tracker's events
            dispatcher = self._dispatcher if target is None else target._dispatcher
            if not dispatcher.put(event):
                return None  # dropped by the backpressure policy (counted in stats())
        return event

    def build_event(
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
        ctx: _context.RequestContext | None = None,
    ) -> Event | None:
        """Build (without emitting) the event :meth:`track` would record, or ``None``.

        ``ctx`` defaults to the active request context.
        """
        return self._build(
            name,
            kind,
            goal,
            value,
            currency,
            transaction_id,
            properties,
            user_id,
            timestamp,
            runtime.current_request.get() if ctx is None else ctx,
        )

    def _build(
        self,
        name: str,
        kind: str | None,
        goal: str | None,
        value: Any,
        currency: str | None,
        transaction_id: Any,
        properties: dict[str, Any] | None,
        user_id: Any,
        timestamp: datetime | None,
        ctx: _context.RequestContext | None,
    ) -> Event | None:
        if ctx is not None and not ctx.track:
            return None
        if kind is None:
            matched = None
            if goal is not None:
                # A goal named without a kind: the configured goal says what it is.
                matched = self.goals.get(goal)
                if matched is None:
                    raise ValueError(
                        f"kind: {goal!r} is not a configured goal; give kind='micro' or 'macro'"
                    )
            elif self.goals:
                path, method = (ctx.path, ctx.method) if ctx else (None, None)
                matched = self.goals.match(name, path, method)
            if matched is not None:
                kind, goal = matched.kind, matched.name
                if value is None:
                    value = matched.extract_value(properties=properties)
                if currency is None:
                    currency = matched.currency
        elif goal is None:
            goal = name
        if ctx is None:
            return make_event(
                name,
                kind=kind,
                goal=goal,
                value=value,
                currency=currency,
                default_currency=self.currency,
                transaction_id=transaction_id,
                user_id=user_id,
                properties=properties,
                timestamp=timestamp,
            )
        anonymous = ctx.anonymous
        return make_event(
            name,
            kind=kind,
            goal=goal,
            value=value,
            currency=currency,
            default_currency=self.currency,
            transaction_id=transaction_id,
            visitor_id=None if anonymous else ctx.visitor_id,
            session_id=None if anonymous else ctx.session_id,
            user_id=user_id if user_id is not None else (None if anonymous else ctx.user_id),
            properties=properties,
            context=ctx.event_context(),
            timestamp=timestamp,
        )

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
        target = runtime.redirect  # a test capturing every tracker's events
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

    # -- lifecycle ------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for every event so far to reach the backend.

        Events waiting in the spool are replayed too. Returns True when everything was
        delivered; always returns within the timeout, whatever the backend does.
        """
        return self._dispatcher.flush(timeout)

    def stats(self) -> dict[str, int]:
        """Counters since start: ``enqueued``, ``delivered``, ``retried``, ``spooled``,
        ``replayed``, ``dead_lettered``, ``dropped``, ``queued``, ``spool_bytes`` and
        ``corrupt`` (see :meth:`convsdk.dispatch.Dispatcher.stats`), ``bots``: requests
        the middleware did not record because a bot sent them, and ``values_dropped``
        (values beyond ``max_value`` left out of their events).
        """
        return {
            **self._dispatcher.stats(),
            "bots": self._bots,
            "values_dropped": self._values_dropped,
        }

    #: Requests dropped as bots (see count_bot); per instance once one is counted.
    _bots = 0

    def count_bot(self) -> None:
        """Count one request not recorded because a bot sent it (``stats()["bots"]``)."""
        self._bots += 1

    def close(self) -> bool:
        """Flush for at most ``shutdown_timeout`` seconds, then stop the worker.

        What is not delivered by then goes to the spool (the next tracker on the same
        ``spool_dir`` delivers it). Returns True when everything was delivered. Safe to
        call more than once.
        """
        if self._closed:
            return True
        self._closed = True
        _live.discard(self)
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()
        return self._dispatcher.close(self.shutdown_timeout)

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


# -- the default tracker ------------------------------------------------------------

_live: weakref.WeakSet[Tracker] = weakref.WeakSet()


class TrackerOptions(TypedDict, total=False):
    """The keyword options of :class:`Tracker` (and :func:`init`), for type checkers.

    (Written out for mypy; a test checks it lists exactly the tracker options of
    :mod:`convsdk.options`.)
    """

    enabled: bool
    backend: str | Backend
    goals: GoalsArg
    secret_key: str | bytes | None
    batch_size: int
    flush_interval: float
    max_queue_size: int
    spool_dir: str | os.PathLike[str] | None
    durable: bool
    fsync: bool | str
    backpressure: Backpressure | None
    max_spool_bytes: int
    max_retries: int
    retry_max_delay: float
    retry_timeout: float
    shutdown_timeout: float
    anonymize_ip: bool
    respect_dnt: bool
    filter_bots: bool
    session_timeout: int
    currency: str
    max_value: float


def init(**options: Unpack[TrackerOptions]) -> Tracker:
    """Build a :class:`Tracker` with ``options`` and make it the default one.

    A previous default tracker is closed first. Decorators and the module-level
    :func:`track` use the default tracker. Options not given come from ``CONVSDK_*``
    environment variables (see :mod:`convsdk.options`), so ``convsdk.init()`` alone
    configures from the environment.

    >>> tracker = convsdk.init(backend="sqlite:///convsdk.db", secret_key="...")
    """
    tracker = Tracker(**options)
    previous = runtime.set_default(tracker)
    # (A test's capturing tracker stays open: it keeps receiving every tracker's events.)
    if previous is not None and previous is not tracker and previous is not runtime.redirect:
        previous.close()
    return tracker


def redirect_events(target: Tracker | None) -> Tracker | None:
    """Send every tracker's events to ``target`` (``None`` stops); return the previous one.

    For tests (:func:`convsdk.testing.capture_events` uses it): trackers built while a
    target is set build no backend, spool or thread, so nothing reaches a real store.
    """
    return runtime.set_redirect(target)


def get_tracker() -> Tracker:
    """The default tracker; raises :class:`ConvSDKError` before :func:`init`."""
    tracker = runtime.default
    if tracker is None:
        raise ConvSDKError("no default tracker: call convsdk.init(...) first")
    return tracker


set_default = runtime.set_default


def track(name: str, **fields: Any) -> Event | None:
    """Record an event with the default tracker (see :meth:`Tracker.track`).

    Before :func:`init` nothing is recorded and a warning is logged once.
    """
    tracker = runtime.default
    if tracker is None:
        runtime.warn_no_tracker()
        return None
    return tracker.track(name, **fields)


def flush(timeout: float = 5.0) -> bool:
    """Flush the default tracker; True when there is none or everything was delivered."""
    tracker = runtime.default
    return True if tracker is None else tracker.flush(timeout)


def close() -> bool:
    """Close the default tracker and forget it."""
    tracker = set_default(None)
    return True if tracker is None else tracker.close()


@atexit.register
def _close_all() -> None:
    # Bounded by each tracker's shutdown_timeout: exit never hangs on a backend. Runs in
    # forked workers too (gunicorn, Celery prefork end with sys.exit), delivering theirs.
    for tracker in list(_live):
        try:
            tracker.close()
        except Exception:
            log.exception("closing a tracker at exit failed")
