"""Running a ``before_send`` hook: on a copy of the event (so it cannot change what
another destination, or the caller of ``track()``, sees), an exception logged and
counted, never raised into the app."""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from ..delivery.counters import Warnings
from ..event import Event
from .destination import Hook

__all__ = ["GuardedHook", "copy_event"]

log = logging.getLogger("convsdk.fanout")


def copy_event(event: Event) -> Event:
    """A copy of ``event`` a hook may edit freely, nested ``properties`` and ``context``
    included (their JSON values: dicts and lists copied, the rest shared, immutable).

    Slot by slot: ``copy.copy`` and ``copy.deepcopy`` cost several times more, on the
    request thread of every event a hook sees.
    """
    clone = Event.__new__(Event)
    for name in Event.__slots__:
        setattr(clone, name, getattr(event, name))
    clone.properties = _copy_json(event.properties)
    clone.context = _copy_json(event.context)
    return clone


def _copy_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    return copy.copy(value) if kind not in _IMMUTABLE else value


_IMMUTABLE = frozenset({str, int, float, bool, type(None), tuple})


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
