"""The fan-out: one :class:`~convsdk.dispatch.Dispatcher` per destination (its own
queue, thread, retries, spool and counters) behind the dispatcher's own interface, so
the tracker hands each event to one object.

:meth:`FanOut.put` applies, per destination, the consent rule and ``forward=`` filter,
page-view sampling and the destination's ``before_send`` (after the tracker's own,
applied once); :meth:`FanOut.flush` and :meth:`FanOut.close` wait on every destination
at once, so a hung one cannot eat the others' time.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypedDict, cast

from ..dispatch import Dispatcher
from ..event import Event
from .destination import Route
from .hooks import GuardedHook

__all__ = ["COUNTERS", "DeliveryStats", "FanOut", "Lane"]

log = logging.getLogger("convsdk.fanout")


class DeliveryStats(TypedDict):
    """What :meth:`FanOut.stats` returns: the dispatchers' counters summed over the
    destinations (see :meth:`~convsdk.dispatch.Dispatcher.stats`), and ``destinations``:
    each destination's name to its own counters plus ``filtered`` (left out by the
    consent rule or ``forward=``), ``sampled`` (page views sampling left out),
    ``hook_dropped`` and ``hook_errors`` (a ``before_send``, the tracker's or its own,
    returned None or failed). ``orphaned_spool_bytes``: what waits in the spool
    directories no configured destination replays (their destination left ``backend=``),
    as found at start; a warning named them (see :mod:`~convsdk.fanout.spools`)."""

    enqueued: int
    delivered: int
    retried: int
    spooled: int
    replayed: int
    dead_lettered: int
    dropped: int
    erased: int
    queued: int
    spool_bytes: int
    corrupt: int
    orphaned_spool_bytes: int
    destinations: dict[str, dict[str, int]]


#: The counters of :class:`DeliveryStats` (a dispatcher's, and the orphaned spools'), in order.
COUNTERS = tuple(name for name in DeliveryStats.__annotations__ if name != "destinations")


class Lane:
    """One destination in the fan-out: its name (for stats), dispatcher, route (None:
    every event) and hook, and what the fan-out kept from it."""

    __slots__ = ("dispatcher", "filtered", "hook", "lock", "name", "route", "sampled")

    def __init__(
        self, name: str, dispatcher: Dispatcher, route: Route | None, hook: GuardedHook | None
    ) -> None:
        self.name = name
        self.dispatcher = dispatcher
        self.route = route
        self.hook = hook
        self.filtered = 0
        self.sampled = 0
        self.lock = threading.Lock()

    def counts(self, shared: GuardedHook | None) -> dict[str, int]:
        """The fan-out's counters of this lane; ``shared`` is the tracker's own hook."""
        hooks = [hook for hook in (shared, self.hook) if hook is not None]
        return {
            "filtered": self.filtered,
            "sampled": self.sampled,
            "hook_dropped": sum(hook.dropped for hook in hooks),
            "hook_errors": sum(hook.errors for hook in hooks),
        }


class FanOut:
    """Several dispatchers as one, with the dispatcher's interface.

    ``put(event)`` queues ``event`` on every destination that takes it, without
    blocking; False when every destination it was for dropped it (backpressure,
    counted). With one destination that takes everything and no hook, ``put`` *is*
    that dispatcher's ``put``: one destination costs what it did before the fan-out.
    ``orphaned``: the spool directories no destination replays, with their bytes.
    """

    def __init__(
        self,
        lanes: Sequence[Lane],
        before_send: GuardedHook | None,
        shutdown_timeout: float,
        *,
        orphaned: Mapping[str, int] | None = None,
    ) -> None:
        self.lanes = tuple(lanes)
        self.orphaned = dict(orphaned or {})
        self.before_send = before_send
        self.shutdown_timeout = shutdown_timeout
        first = self.lanes[0]
        single = len(self.lanes) == 1 and first.route is None and first.hook is None
        self.put: Callable[[Event], bool] = (
            first.dispatcher.put if single and before_send is None else self._put
        )

    def _put(self, event: Event) -> bool:
        shared = self.before_send
        if shared is not None:
            edited = shared(event)
            if edited is None:
                return True  # the app's hook dropped it on purpose (counted)
            event = edited
        kept = handed = False
        for lane in self.lanes:
            route = lane.route
            if route is not None:
                if not route.admits(event):
                    with lane.lock:
                        lane.filtered += 1
                    continue
                if route.sampled_out(event):
                    with lane.lock:
                        lane.sampled += 1
                    continue
            sent = event
            if lane.hook is not None:
                edited = lane.hook(event)
                if edited is None:
                    continue
                sent = edited
            handed = True
            if lane.dispatcher.put(sent):
                kept = True
        return kept or not handed

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for every destination to deliver what it was
        given; True when all did. Returns within the timeout."""
        calls = [functools.partial(lane.dispatcher.flush, timeout) for lane in self.lanes]
        return _together(calls, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Close every destination at once, each for at most ``timeout`` seconds
        (default ``shutdown_timeout``); what is not delivered goes to each one's spool.
        True when everything was delivered."""
        wait = self.shutdown_timeout if timeout is None else timeout
        calls = [functools.partial(lane.dispatcher.close, wait) for lane in self.lanes]
        return _together(calls, wait + 1.0)  # close() may pass its timeout by a little

    @property
    def worker_alive(self) -> bool:
        """Whether any destination's background thread runs in this process."""
        return any(lane.dispatcher.worker_alive for lane in self.lanes)

    def stats(self) -> DeliveryStats:
        """The counters summed over the destinations, and each one's own (see
        :class:`DeliveryStats`)."""
        totals = dict.fromkeys(COUNTERS, 0)
        each: dict[str, dict[str, int]] = {}
        for lane in self.lanes:
            counters = lane.dispatcher.stats()
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value
            each[lane.name] = {**counters, **lane.counts(self.before_send)}
        totals["orphaned_spool_bytes"] = sum(self.orphaned.values())
        return cast(DeliveryStats, {**totals, "destinations": each})

    def __repr__(self) -> str:
        return f"<FanOut {', '.join(lane.name for lane in self.lanes)}>"


def _together(calls: Sequence[Callable[[], bool]], wait: float) -> bool:
    """Run ``calls`` at once (the first in this thread); True when each returned True
    within ``wait`` seconds."""
    results = [False] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception:
            log.exception("a destination failed to flush or close")

    deadline = time.monotonic() + wait
    threads = []
    for index in range(1, len(calls)):
        thread = threading.Thread(target=run, args=(index,), name="convsdk-fanout", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no new thread at interpreter shutdown: one after the other
            run(index)
            continue
        threads.append(thread)
    run(0)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return all(results) and not any(thread.is_alive() for thread in threads)
