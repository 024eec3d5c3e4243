"""The worker's wake-up call, safe to make from a signal handler."""

from __future__ import annotations

import queue

__all__ = ["Wake"]


class Wake:
    """A flag one thread waits on, as :class:`threading.Event`, but set without a lock.

    ``threading.Event.set()`` runs Python code holding a lock. A signal handler runs
    on the main thread between two bytecodes, so it can interrupt a ``set()`` there
    (a ``track()`` waking the worker) and close the trackers while that lock is held:
    the close could not wake the worker, and the worker could not return from its
    wait, until the handler gave up. Here ``set()`` puts a token in a
    :class:`queue.SimpleQueue`, whose ``put()`` is reentrant, then raises a plain flag;
    a token left over from an earlier ``set()`` only wakes the worker once more for
    nothing.
    """

    __slots__ = ("_flag", "_tokens")

    def __init__(self) -> None:
        self._flag = False
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()

    def is_set(self) -> bool:
        """Whether :meth:`set` was called since the last :meth:`clear`."""
        return self._flag

    def set(self) -> None:
        """Wake the waiting thread (now, or at its next :meth:`wait`)."""
        if not self._flag:
            # The token first: a set() interrupted between the two lines by a signal
            # handler that sets it again must not leave the flag up and no token.
            self._tokens.put(None)
            self._flag = True

    def clear(self) -> None:
        """Forget the calls so far (a :meth:`set` meanwhile is not lost: it set the flag)."""
        self._flag = False
        tokens = self._tokens
        while not tokens.empty():
            try:
                tokens.get_nowait()
            except queue.Empty:
                break

    def wait(self, timeout: float) -> bool:
        """Return once set, or after ``timeout`` seconds; True when set."""
        if self._flag:
            return True
        try:
            self._tokens.get(timeout=timeout)
        except queue.Empty:
            return self._flag
        return True
