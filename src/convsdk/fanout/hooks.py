"""Running a ``before_send`` hook: on a copy of the event (so it cannot change what
another destination, or the caller of ``track()``, sees), an exception logged and
counted, never raised into the app."""

from __future__ import annotations

import copy
import logging
import threading

from ..delivery.counters import Warnings
from ..event import Event
from .destination import Hook

__all__ = ["GuardedHook", "copy_event"]

log = logging.getLogger("convsdk.fanout")


def copy_event(event: Event) -> Event:
    """A copy of ``event`` a hook may edit freely, nested ``properties`` and ``context``
    included."""
    clone = copy.copy(event)
    clone.properties = copy.deepcopy(event.properties)
    clone.context = copy.deepcopy(event.context)
    return clone


class GuardedHook:
    """A hook and its counters: ``dropped`` (it returned None) and ``errors`` (it raised,
    or returned something that is not an event: that event is dropped, since the hook
    may exist to scrub it).

    >>> guarded = GuardedHook(strip_emails, "meta://PIXEL")
    >>> guarded(event)          # the edited copy, or None
    """

    __slots__ = ("dropped", "errors", "hook", "lock", "warnings", "where")

    def __init__(self, hook: Hook, where: str) -> None:
        self.hook = hook
        self.where = where
        self.dropped = 0
        self.errors = 0
        self.lock = threading.Lock()
        self.warnings = Warnings(log)

    def __call__(self, event: Event) -> Event | None:
        """The event to send (an edited copy), or None when it is dropped."""
        try:
            result = self.hook(copy_event(event))
        except Exception as exc:
            self._failed("before_send of %s raised %r; its events are dropped", exc)
            return None
        if result is None:
            with self.lock:
                self.dropped += 1
            return None
        if not isinstance(result, Event):
            self._failed("before_send of %s returned %r, not an Event or None", result)
            return None
        return result

    def _failed(self, message: str, what: object) -> None:
        with self.lock:
            self.errors += 1
        self.warnings.warn(message, self.where, what)
