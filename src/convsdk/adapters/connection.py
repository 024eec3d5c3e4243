"""A connection opened on first use, once per process: :class:`LazyConnection`.

A backend is built when the app starts (often in a parent process that then forks its
workers: gunicorn ``--preload``, uWSGI, Celery) and writes from the dispatcher thread.
So it should not connect in its constructor, and a forked child must open its own
connection: a socket shared with the parent would interleave both processes' bytes.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..errors import BackendError

__all__ = ["LazyConnection"]

C = TypeVar("C")

_log = logging.getLogger("convsdk.adapters")
# Every holder, so that a forked child can replace their locks: one held by another
# thread of the parent at the fork would stay held in the child for ever.
_holders: weakref.WeakSet[LazyConnection[Any]] = weakref.WeakSet()


class LazyConnection(Generic[C]):
    """Holds a connection made by ``connect()`` on the first :meth:`get`.

    Thread-safe. In a forked child, :meth:`get` connects anew and leaves the parent's
    connection alone (closing it from the child would close it under the parent).
    :meth:`reset` drops a connection that failed, so the next :meth:`get` reconnects.
    After :meth:`close`, :meth:`get` raises a :class:`convsdk.BackendError` with
    ``retryable=False``: a write after close fails loudly instead of reconnecting.

    >>> import sqlite3
    >>> db = LazyConnection(lambda: sqlite3.connect(":memory:"), lambda conn: conn.close())
    >>> db.get().execute("SELECT 1").fetchone()
    (1,)
    >>> db.close()
    """

    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self._connect = connect
        self._close = close
        self.name = name
        """The backend's name in errors (``BackendError.backend``)."""
        self._lock = threading.Lock()
        self._conn: C | None = None
        self._pid = 0
        self._closed = False
        _holders.add(self)

    @property
    def connected(self) -> bool:
        """Whether this process holds an open connection now."""
        return self._conn is not None and self._pid == os.getpid()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def get(self) -> C:
        """The connection, made now if this process has none; raises after :meth:`close`.

        What ``connect()`` raises goes through unchanged (the backend turns it into a
        :class:`~convsdk.BackendError`); the next call tries again.
        """
        with self._lock:
            if self._closed:
                raise BackendError(
                    "the connection is closed: nothing can be written after close()",
                    backend=self.name,
                    retryable=False,
                )
            pid = os.getpid()
            if self._conn is None or self._pid != pid:
                self._conn = None  # a parent's connection is abandoned, never closed here
                self._conn = self._connect()
                self._pid = pid
            return self._conn

    def reset(self) -> None:
        """Close this process's connection (after an error), so :meth:`get` reconnects."""
        with self._lock:
            self._release()

    def close(self) -> None:
        """Close the connection, if this process made one; calling it again does nothing.

        An error from ``close`` is logged on the ``convsdk.adapters`` logger, not raised.
        """
        with self._lock:
            self._closed = True
            self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or self._pid != os.getpid() or self._close is None:
            return
        try:
            self._close(conn)
        except Exception:
            _log.warning("closing the %s connection failed", self.name or "backend", exc_info=True)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()


def _renew_locks() -> None:
    for holder in list(_holders):
        holder._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_renew_locks)
