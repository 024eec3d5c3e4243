"""An asyncio event loop in a daemon thread (:class:`EventLoopThread`): how the synchronous
backend and consumer run nats-py, which is asyncio."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["EventLoopThread"]

logger = logging.getLogger("convsdk.nats")

_T = TypeVar("_T")


class EventLoopThread:
    """An asyncio event loop in a daemon thread, for calling async code from sync code.

    >>> loop = EventLoopThread("convsdk-nats")
    >>> loop.run(asyncio.sleep(0.1, "done"), timeout=1.0)
    'done'
    >>> loop.stop(timeout=1.0)

    The thread starts on the first :meth:`run`.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """Run ``coro`` on the loop and return its result; cancel it after ``timeout``.

        Raises :class:`TimeoutError` when it did not finish in time, and whatever the
        coroutine raised otherwise.
        """
        loop = self._start()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine's own TimeoutError (the same class)
                raise
            future.cancel()
            raise TimeoutError(f"no answer within {timeout:g}s") from None

    def stop(self, timeout: float) -> None:
        """Stop the loop (cancelling what still runs there) and join the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("the %s event loop did not stop within %gs", self._name, timeout)

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._main, args=(loop,), name=self._name)
                thread.daemon = True
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # Let cancelled tasks unwind so nothing is destroyed while pending.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=2.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
