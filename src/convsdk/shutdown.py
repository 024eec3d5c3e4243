"""Deliver (or spool) queued events when the process is stopped by SIGTERM or SIGINT.

``atexit`` does not run when a process dies of a signal's default action, and some
servers end that way on a normal stop: uvicorn, for one, restores the handlers it
found and raises the signal again once its graceful shutdown is done. So the first
tracker built in the main thread installs a handler for ``SIGTERM`` and ``SIGINT``
that closes every live tracker (each bounded by its ``shutdown_timeout``; what is not
delivered goes to the spool) and then hands the signal on, so the process stops
exactly as it would have:

- to the handler that was there before (a server's own: its graceful shutdown runs;
  Python's ``default_int_handler``: ``KeyboardInterrupt``);
- to the default action when there was none: the handler is reset and the signal
  raised again, so the process still dies of it (exit status included).

A signal that is ignored (``SIG_IGN``, e.g. SIGINT in hypercorn's workers) stays
ignored, and a handler not set from Python is left alone. A handler a server installs
after ours replaces it and is never touched; installing again (another tracker) wraps
whatever is there then, once. Events tracked after the close are written to the spool
(``Tracker.close`` contract), so a server's graceful drain loses nothing either.

What each server does on a normal stop (SIGTERM to the process you started):

- uvicorn, one process: its handler runs the graceful shutdown (ASGI lifespan
  included), then it restores the handler it found and raises the signal again.
- uvicorn ``--workers N``: the parent sends SIGTERM to its spawned children, each one
  as above; the parent holds no tracker.
- hypercorn: the parent tells its spawned worker through an event; the worker ends
  normally (lifespan, then ``atexit``).
- Granian: the parent stops each spawned worker, which runs the lifespan shutdown and
  ends normally.
- Daphne: Twisted's handler, installed after ours, stops the reactor; the process
  ends normally (no lifespan: ``atexit``).
- gunicorn: the arbiter sends SIGTERM to its workers; sync and gthread workers end
  with ``sys.exit`` (``atexit`` runs); the uvicorn worker behaves like uvicorn. gevent
  workers run signal handlers in gevent's hub, where nothing may wait: ours closes
  and hands the signal on from a greenlet of its own.
- Waitress: no handler of its own; ours delivers, then the signal's default action
  ends the process (``atexit`` never runs).
- ``flask run --debug`` and ``manage.py runserver``: the reloader's parent kills the
  serving child with SIGKILL, where no handler runs; the child's trackers are durable
  (:mod:`convsdk.tracker.reloaders`).

The handler runs on the main thread between bytecodes, so it blocks that thread (an
event loop included) while it delivers: at most ``shutdown_timeout`` per tracker. The
closing itself runs in a thread that the handler waits for, so a close that needs a
lock held by the interrupted code cannot hang the process: the signal goes on once
that wait is over. ``track()`` holds no such lock: it wakes the worker without one
(:class:`convsdk.delivery.wake.Wake`), and a durable ``track()`` writing its event,
like a close, has a signal wait until it is done (:func:`defer_signals`). An event
queued while a signal's close ran is spooled, or counted as dropped.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["SIGNALS", "defer_signals", "install", "uninstall"]

log = logging.getLogger("convsdk.shutdown")

#: The signals a normal stop sends.
SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)

_lock = threading.Lock()
# Sections running on the main thread (see defer_signals()), and the signals that came
# meanwhile.
_deferring = 0
_deferred: list[tuple[_Handler, int, FrameType | None]] = []


class _Handler:
    """Close the trackers, then hand the signal to what was there before."""

    __slots__ = ("close", "previous", "wait")

    def __init__(
        self,
        previous: Callable[[int, FrameType | None], Any] | int,
        close: Callable[[], object],
        wait: Callable[[], float],
    ) -> None:
        self.previous = previous
        self.close = close
        self.wait = wait

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if _deferring:
            # The main thread was closing a tracker, or writing an event, when the
            # signal came, and may hold a lock that closing needs: waiting for a close
            # here would wait for this very thread. It goes on; the signal is handled
            # as it ends.
            _deferred.append((self, signum, frame))
            return
        spawn = _hub_spawn()
        if spawn is not None:
            spawn(self._handle, signum, frame)
            return
        self._handle(signum, frame)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._close(signum)
        previous = self.previous
        if callable(previous):
            previous(signum, frame)
            return
        # SIG_DFL: the process must still die of the signal, as it would have.
        if signal.getsignal(signum) is self:
            signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    def _close(self, signum: int) -> None:
        # In a thread, waited for at most wait(): the code this handler interrupted may
        # hold a lock the close needs (a track() on the main thread), and a signal
        # handler that waits for it would wait forever.
        def close() -> None:
            try:
                self.close()
            except Exception:
                log.exception("closing the trackers on signal %s failed", signum)

        try:
            wait = self.wait()
            thread = threading.Thread(target=close, name="convsdk-shutdown", daemon=True)
            thread.start()
        except Exception:  # e.g. no new thread at interpreter shutdown
            log.exception("cannot close the trackers on signal %s", signum)
            return
        thread.join(wait)
        if thread.is_alive():
            log.warning(
                "closing the trackers on signal %s took over %.1f s; going on", signum, wait
            )

    def __repr__(self) -> str:
        return f"<convsdk signal handler, then {self.previous!r}>"


def defer_signals(starting: bool) -> None:
    """Code that holds a lock a close needs starts (``True``) or ends on this thread: a
    tracker's close, or a durable ``track()`` writing its event. On the main thread, a
    signal that comes meanwhile is handled once the last such section ends."""
    global _deferring
    if threading.current_thread() is not threading.main_thread():
        return
    if starting:
        _deferring += 1
        return
    _deferring = max(0, _deferring - 1)
    while not _deferring and _deferred:
        handler, signum, frame = _deferred.pop(0)
        handler._handle(signum, frame)


def _hub_spawn() -> Callable[..., object] | None:
    """gevent's ``spawn`` when this runs in gevent's hub, else None.

    gevent (gunicorn's ``-k gevent`` workers) runs signal handlers in its hub, where
    nothing may wait: there the handler closes and hands the signal on from a
    greenlet of its own, which may.
    """
    hub = sys.modules.get("gevent.hub")
    gevent = sys.modules.get("gevent")
    if hub is None or gevent is None:
        return None
    try:
        if isinstance(hub.getcurrent(), hub.Hub):
            return gevent.spawn  # type: ignore[no-any-return]
    except Exception:  # another gevent than the one known here: wait as anywhere
        log.debug("cannot tell whether this is gevent's hub", exc_info=True)
    return None


def install(close: Callable[[], object], wait: Callable[[], float] = lambda: 10.0) -> bool:
    """Run ``close`` on SIGTERM / SIGINT, then the handler found there (or the default).

    ``close`` runs in a thread; the handler waits for it at most ``wait()`` seconds.

    Only from the main thread, only over a handler set from Python or the default
    (never over ``SIG_IGN``), and at most once over the same handler. Returns True
    when at least one signal is watched by a convsdk handler afterwards.

    >>> install(close_every_tracker)   # Tracker() does this for you
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    watched = False
    with _lock:
        for sig in SIGNALS:
            try:
                current = signal.getsignal(sig)
                if isinstance(current, _Handler):
                    watched = True
                    continue
                if current is None or current == signal.SIG_IGN:
                    continue  # not set from Python, or ignored on purpose: leave it
                signal.signal(sig, _Handler(current, close, wait))
                watched = True
            except (ValueError, OSError):  # e.g. an embedded interpreter
                log.debug("cannot watch signal %s", sig, exc_info=True)
    return watched


def uninstall() -> None:
    """Put back the handlers convsdk replaced, where convsdk's is still the one set."""
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        for sig in SIGNALS:
            current = root = signal.getsignal(sig)
            while isinstance(root, _Handler):
                root = root.previous
            if root is not current:
                signal.signal(sig, root)
