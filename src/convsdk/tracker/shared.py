"""Trackers built from a configuration, shared by their resolved options.

Fifty apps made by one factory (or a Flask and a Django configuration read again) share
one tracker and one worker thread. The registry is weak: a tracker goes with its apps.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable
from typing import Any

from .core import Tracker

__all__ = ["shared_tracker"]

_shared: weakref.WeakValueDictionary[Hashable, Tracker] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def _freeze(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        value = tuple(_freeze(item) for item in value)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value  # type: ignore[no-any-return]


def shared_tracker(options: dict[str, Any]) -> Tracker:
    """The live tracker built from these options, or a new one built from them."""
    key = tuple(sorted((name, _freeze(value)) for name, value in options.items()))
    with _lock:
        tracker = _shared.get(key)
        if tracker is None or tracker.closed:
            tracker = _shared[key] = Tracker(**options)
        return tracker
