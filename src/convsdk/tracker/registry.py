"""The live trackers of the process: each is closed at interpreter exit (``atexit``) or
on SIGTERM/SIGINT, and one dropped without :meth:`~convsdk.Tracker.close` has its worker
stopped by a finalizer."""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Protocol

from .. import shutdown as _shutdown

# (Imported before close_all is registered: atexit runs it first, then the dispatchers'.)
from ..dispatch import Dispatcher as Dispatcher
from ..fanout import FanOut
from . import exits

log = logging.getLogger("convsdk.tracker")


class Closable(Protocol):
    """What the registry needs of a tracker."""

    shutdown_timeout: float

    def close(self) -> bool: ...


live: weakref.WeakSet[Closable] = weakref.WeakSet()


def register(tracker: Closable, dispatcher: FanOut) -> weakref.finalize[[FanOut], Closable]:
    """Count ``tracker`` live; return the finalizer that stops ``dispatcher`` if the
    tracker is dropped without close() (the atexit hook covers interpreter exit)."""
    finalizer = weakref.finalize(tracker, release, dispatcher)
    finalizer.atexit = False
    live.add(tracker)
    exits.watch(close_all)  # processes that end with os._exit (multiprocessing, Celery)
    return finalizer


def watch_signals() -> None:
    """Close the live trackers on SIGTERM/SIGINT: atexit does not run when a signal ends
    the process."""
    _shutdown.install(close_all, lambda: 1.0 + sum(t.shutdown_timeout for t in list(live)))


def closing(starting: bool) -> None:
    """A tracker starts or ends closing on this thread (see
    :func:`convsdk.shutdown.defer_signals`)."""
    _shutdown.defer_signals(starting)


def forget(tracker: Closable) -> None:
    """``tracker`` was closed: nothing left to close at exit."""
    live.discard(tracker)


def release(dispatcher: FanOut) -> None:
    """A tracker was garbage-collected without close(): stop its worker, off this thread."""
    try:
        if dispatcher.worker_alive:
            # close() flushes for up to shutdown_timeout: not in whatever thread ran the GC.
            threading.Thread(target=dispatcher.close, name="convsdk-release", daemon=True).start()
        else:
            dispatcher.close()
    except Exception:
        log.exception("releasing a garbage-collected tracker failed")


@atexit.register
def close_all() -> None:
    """Close every live tracker, each bounded by its ``shutdown_timeout``."""
    # Exit never hangs on a backend. Runs in forked workers too (gunicorn's end with
    # sys.exit; multiprocessing's and Celery's pool processes through exits' hooks).
    for tracker in list(live):
        try:
            tracker.close()
        except Exception:
            log.exception("closing a tracker at exit failed")
