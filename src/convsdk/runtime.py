"""The process's shared state: the default tracker and the request being handled.

Every module that needs either reads it here, so no module reaches into another's
globals. :func:`convsdk.init` sets the default tracker; the middlewares set the
current request for the time a view runs.

>>> from convsdk import runtime
>>> runtime.default is None or runtime.default.closed in (True, False)
True
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .web.context import current_request

if TYPE_CHECKING:
    from .tracker.core import Tracker

__all__ = [
    "current_request",
    "default",
    "set_default",
    "set_redirect",
    "warn_no_tracker",
]

log = logging.getLogger("convsdk.tracker")

#: The default tracker (:func:`convsdk.init`), or ``None``. Read it; set it with
#: :func:`set_default`.
default: Tracker | None = None

_lock = threading.Lock()
_warned = False


def set_default(tracker: Tracker | None) -> Tracker | None:
    """Make ``tracker`` the default (``None`` clears it); return the previous one."""
    global default
    with _lock:
        previous, default = default, tracker
    return previous


def set_redirect(target: Tracker | None) -> Tracker | None:
    """Send every tracker's events to ``target`` (``None`` stops); return the previous one."""
    from .tracker import core

    return core.set_redirect(target)


def __getattr__(name: str) -> Tracker | None:
    # ``redirect`` is kept by the tracker, which reads it on every event.
    if name == "redirect":
        from .tracker import core

        return core.redirected()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn_no_tracker() -> None:
    """Log, once per process, that events are not recorded before ``convsdk.init()``."""
    global _warned
    if not _warned:
        _warned = True
        log.warning("convsdk.init() has not been called: events are not recorded")
