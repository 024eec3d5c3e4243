"""Process lifecycle of the dispatchers: a clean slate in a forked child, and a bounded
close of every dispatcher still open at interpreter exit."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Protocol

__all__ = ["Restartable", "register", "start_lock"]

log = logging.getLogger("convsdk.dispatch")


class Restartable(Protocol):
    """What the hooks need of a dispatcher."""

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""

    def close(self, timeout: float | None = None) -> bool:
        """Deliver what is left (bounded), stop, close the backend."""

    def forked(self) -> None:
        """In a forked child: forget the parent's queue, thread and files."""


_registered: weakref.WeakSet[Restartable] = weakref.WeakSet()
# Serialises starting worker threads; replaced in a forked child, where a copy held at
# the fork would stay held.
_start_lock = threading.Lock()


def register(dispatcher: Restartable) -> None:
    """Reset ``dispatcher`` in forked children and close it at exit (held weakly)."""
    _registered.add(dispatcher)


def start_lock() -> threading.Lock:
    """The lock that serialises starting a worker thread, in this process."""
    return _start_lock


def _after_fork_in_child() -> None:
    global _start_lock
    _start_lock = threading.Lock()
    for dispatcher in list(_registered):
        try:
            dispatcher.forked()
        except Exception:
            log.exception("resetting a dispatcher after fork failed")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    # Dispatchers whose Tracker is gone (or used directly); each close is bounded.
    for dispatcher in list(_registered):
        if not dispatcher.closed:
            try:
                dispatcher.close()
            except Exception:
                log.exception("closing a dispatcher at exit failed")
