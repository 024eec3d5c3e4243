"""Rows of a server-side cursor fetched ahead, on a thread of their own: :class:`Ahead`.

The PostgreSQL reader streams its people from three server-side cursors read side by
side. Fetched from the report's own thread, each ``FETCH`` waits for the server while
the report waits with it (about a second and a half of a million events' report).
Fetched ahead by a thread, the server makes the next rows while the report counts the
last ones. A psycopg connection may be shared by threads (its operations take turns);
each cursor is used by one thread at a time: executed by the reader, then fetched only
by its own thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Ahead", "ReadAhead"]

#: Batches fetched ahead of the one being read: enough for the server to stay busy,
#: few enough that memory holds a handful of batches whatever the number of rows.
AHEAD = 1


class Ahead:
    """The rows ``fetch`` gives, a batch a call (an empty batch: the end), fetched ahead
    by a thread; iterate once. An error while fetching is raised where the rows are
    read. :meth:`stop` ends the fetching (the reader is done, or gone halfway)."""

    def __init__(self, fetch: Callable[[], list[Any]], name: str) -> None:
        self._batches: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=AHEAD)
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._fetch, args=(fetch,), name=f"convsdk-report-{name}", daemon=True
        )
        self._thread.start()

    def _fetch(self, fetch: Callable[[], list[Any]]) -> None:
        try:
            while not self._stopped.is_set():
                rows = fetch()
                self._batches.put(rows)  # stop() makes room for it
                if not rows:
                    return
        except BaseException as exc:  # handed to the reader, which raises it
            self._batches.put(exc)

    def __iter__(self) -> Iterator[Any]:
        while True:
            batch = self._batches.get()
            if isinstance(batch, BaseException):
                raise batch
            if not batch:
                return
            yield from batch

    def stop(self) -> None:
        """Stop fetching and wait for the thread to let the connection go (it finishes
        the batch it is fetching, if any); a second call does nothing."""
        self._stopped.set()
        while self._thread.is_alive():
            # Room for the one batch the thread may still put, then wait for it.
            try:
                while True:
                    self._batches.get_nowait()
            except queue.Empty:
                pass
            if self._thread is threading.current_thread():
                return
            self._thread.join(timeout=1.0)


class ReadAhead:
    """The server-side cursors of one read and the threads fetching them, closed
    together: the threads first (they fetch with the cursors), then the cursors."""

    def __init__(self) -> None:
        self.cursors: list[Any] = []
        self.fetching: list[Ahead] = []

    def rows(self, cursor: Any, size: int, name: str) -> Iterator[Any]:
        """The rows of ``cursor`` (executed, and :meth:`held`), fetched ``size`` at a time
        by a thread of their own, which stops when they end or are dropped."""
        ahead = Ahead(lambda: cursor.fetchmany(size), name)
        self.fetching.append(ahead)
        try:
            yield from ahead
        finally:
            ahead.stop()

    def held(self, cursor: Any) -> Any:
        """``cursor``, to close with the others."""
        self.cursors.append(cursor)
        return cursor

    def close(self) -> None:
        """Stop the threads, then close the cursors (a second call does nothing)."""
        fetching, self.fetching = self.fetching, []
        for ahead in fetching:
            ahead.stop()
        cursors, self.cursors = self.cursors, []
        for cursor in cursors:
            cursor.close()
