"""Each request's events delivered before its response leaves, for the middlewares of a
tracker with ``flush_after_request`` (on by default on serverless platforms, which
freeze the process once the response is returned: see
:mod:`convsdk.tracker.serverless`).

The WSGI middleware delivers once the response body has been read to its end or
closed (:class:`FlushedBody`), the ASGI one once the app returns, the Django one once
the response is built, the browser script's collect endpoint once it has answered: in
each case before the platform's adapter (Mangum, apig-wsgi, Zappa, serverless-wsgi)
returns the response as the invocation's result. A backend that does not answer holds
one response at most the tracker's ``shutdown_timeout``, then none for a while (see
:func:`flush_request`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracker import Tracker

__all__ = ["FlushedBody", "flush_request", "flush_request_async", "in_thread"]

log = logging.getLogger("convsdk.interactions")


# The trackers whose backend did not answer a request's delivery, and when.
_hung: weakref.WeakKeyDictionary[Tracker, float] = weakref.WeakKeyDictionary()


def flush_request(tracker: Tracker) -> None:
    """Deliver what ``tracker`` holds, for at most its ``shutdown_timeout``.

    When the backend did not answer within that time, the responses of the next
    ``retry_max_delay`` seconds do not wait for it (their events wait in the queue, the
    delivery thread retrying meanwhile); the first response after that tries again.
    """
    hung_at = _hung.get(tracker)
    if hung_at is not None and time.monotonic() - hung_at < tracker.retry_max_delay:
        return
    timeout = tracker.shutdown_timeout
    started = time.monotonic()
    try:
        delivered = tracker.flush(timeout)
    except Exception:
        log.exception("convsdk could not deliver this request's events")
        return
    if delivered:
        _hung.pop(tracker, None)
        return
    now = time.monotonic()
    if now - started >= 0.9 * timeout:  # no answer in time (not an event refused)
        _hung[tracker] = now
        log.warning(
            "convsdk could not deliver this request's events in %.1f s; they wait in its "
            "queue, and responses do not wait for the backend in the next %.0f s",
            timeout,
            tracker.retry_max_delay,
        )


async def flush_request_async(tracker: Tracker) -> None:
    """:func:`flush_request` in a thread: the event loop runs meanwhile."""
    await in_thread(partial(flush_request, tracker))


async def in_thread(work: Callable[[], object]) -> None:
    """Run ``work`` (a delivery, bounded by a timeout) in a thread of the running
    asyncio loop's executor; without asyncio (trio), here."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        work()
        return
    await loop.run_in_executor(None, work)


class FlushedBody:
    """A WSGI response body that delivers the request's events once it has been read to
    its end, and again when it is closed if something was tracked meanwhile (a
    framework's teardown): an adapter may do either first, or only one."""

    __slots__ = ("_body", "_iterator", "_tracker")

    def __init__(self, body: Iterable[bytes], tracker: Tracker) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._tracker = tracker

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        iterator = self._iterator
        if iterator is None:
            iterator = self._iterator = iter(self._body)
        try:
            return next(iterator)
        except StopIteration:
            flush_request(self._tracker)
            raise

    def close(self) -> None:
        """Close the app's body (as the server would have), then deliver what is left."""
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            tracker = self._tracker
            if self._iterator is None or tracker.stats()["queued"]:
                flush_request(tracker)
