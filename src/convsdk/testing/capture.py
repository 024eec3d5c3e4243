"""Capturing the events an app records: :func:`capture_events` makes an in-memory tracker
the default one (and every tracker's destination) for a ``with`` block, and
:class:`CapturedEvents` reads them back for assertions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import runtime
from ..backends.memory import MemoryBackend
from ..event import Event
from ..tracker import Tracker, redirect_events, set_default

__all__ = ["CapturedEvents", "capture_events"]

_KINDS = ("micro", "macro")
# Settings a capturing tracker takes from the default tracker it replaces.
_INHERITED = (
    "goals",
    "secret_key",
    "currency",
    "anonymize_ip",
    "respect_dnt",
    "session_timeout",
)


class CapturedEvents:
    """The events a test recorded, read from an in-memory tracker.

    Reading methods flush the tracker first, so an assertion never races the dispatcher
    thread. ``tracker`` is the capturing :class:`~convsdk.Tracker`, to hand to middleware
    built in the test.

    >>> assert convsdk_events.macro("purchase").value == 49.9
    >>> assert [e.goal for e in convsdk_events.conversions(kind="micro")] == ["signup"]
    """

    def __init__(
        self, tracker: Tracker, backend: MemoryBackend, *, flush_timeout: float = 5.0
    ) -> None:
        self.tracker = tracker
        self.backend = backend
        self.flush_timeout = flush_timeout

    def all(self) -> list[Event]:
        """Every event recorded so far, in the order it was recorded."""
        __tracebackhide__ = True
        if not self.tracker.flush(self.flush_timeout):
            raise AssertionError(
                f"convsdk could not deliver every event within {self.flush_timeout}s "
                f"(tracker stats: {self.tracker.stats()})"
            )
        return self.backend.events

    def __iter__(self) -> Iterator[Event]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.all())

    def names(self) -> list[str]:
        """The names of the events recorded so far, in order: ``["page_view", "purchase"]``."""
        return [event.name for event in self.all()]

    def conversions(self, kind: str | None = None, goal: str | None = None) -> list[Event]:
        """The micro and macro conversions recorded, optionally only of ``kind`` / ``goal``.

        Plain interactions (``kind`` ``None``, such as an unmatched page view) are left out.
        """
        if kind is not None and kind not in _KINDS:
            raise ValueError(f"kind must be 'micro', 'macro' or None, got {kind!r}")
        return [
            event
            for event in self.all()
            if event.kind is not None
            and (kind is None or event.kind == kind)
            and (goal is None or event.goal == goal)
        ]

    def macro(self, goal: str | None = None) -> Event:
        """The one macro conversion (of ``goal``) recorded; AssertionError unless exactly one."""
        __tracebackhide__ = True
        return self._single("macro", goal)

    def micro(self, goal: str | None = None) -> Event:
        """The one micro conversion (of ``goal``) recorded; AssertionError unless exactly one."""
        __tracebackhide__ = True
        return self._single("micro", goal)

    def clear(self) -> None:
        """Forget what was recorded so far (after delivering what is in flight)."""
        self.all()
        self.backend.clear()

    def _single(self, kind: str, goal: str | None) -> Event:
        __tracebackhide__ = True
        recorded = self.all()
        found = [
            event
            for event in recorded
            if event.kind == kind and (goal is None or event.goal == goal)
        ]
        if len(found) == 1:
            return found[0]
        wanted = f"{kind} conversion" + (f" for goal {goal!r}" if goal is not None else "")
        lines = [f"expected exactly one {wanted}, found {len(found)}."]
        if recorded:
            lines.append(f"Recorded events ({len(recorded)}):")
            lines.extend(f"  {i}. {_describe(event)}" for i, event in enumerate(recorded, 1))
        else:
            lines.append(
                "No events were recorded. If the app uses a tracker of its own, give it "
                "convsdk_events.tracker instead (e.g. ConvSDK(app, "
                "tracker=convsdk_events.tracker)); the decorators and module-level "
                "convsdk.track() use the default tracker, which this fixture replaced."
            )
        raise AssertionError("\n".join(lines))

    def __repr__(self) -> str:
        return f"<CapturedEvents {len(self.backend.events)} events>"


def _describe(event: Event) -> str:
    parts = [event.name]
    if event.kind is not None:
        parts.append(f"{event.kind} goal={event.goal!r}")
    if event.value is not None:
        parts.append(f"value={event.value!r} {event.currency or ''}".rstrip())
    if event.transaction_id is not None:
        parts.append(f"transaction_id={event.transaction_id!r}")
    path = event.context.get("path")
    if path:
        parts.append(f"{event.context.get('method') or ''} {path}".strip())
    return ", ".join(parts)


@contextmanager
def capture_events(*, flush_timeout: float = 5.0, **options: Any) -> Iterator[CapturedEvents]:
    """Make an in-memory tracker the default one for the ``with`` block.

    ``options`` are :class:`~convsdk.Tracker` keyword arguments; what they leave out is
    taken from the current default tracker (goals, secret key, currency, privacy
    settings). Bots are not filtered unless ``filter_bots=True``. On exit the previous
    default comes back and the capturing tracker is closed.

    >>> with capture_events() as events:
    ...     convsdk.track("signup", kind="micro")
    Event(name='signup', kind='micro', ...)
    >>> events.names()
    ['signup']
    """
    if "backend" in options:
        raise TypeError("capture_events() always records into memory; backend= is not allowed")
    settings: dict[str, Any] = {}
    previous = runtime.default
    if previous is not None:
        settings.update({name: getattr(previous, name) for name in _INHERITED})
    settings.update(spool_dir=None, filter_bots=False, enabled=True)
    settings.update(options)
    backend = MemoryBackend()
    outer = redirect_events(None)  # built for real, even inside another capture
    try:
        tracker = Tracker(backend=backend, **settings)
    finally:
        redirect_events(outer)
    replaced = set_default(tracker)
    redirected = redirect_events(tracker)
    try:
        yield CapturedEvents(tracker, backend, flush_timeout=flush_timeout)
    finally:
        redirect_events(redirected)
        set_default(replaced)
        tracker.close()
