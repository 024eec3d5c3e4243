"""The collector's one writer thread: backend calls one at a time, each within a timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..backends import Backend
from ..errors import BackendError
from ..event import Event

__all__ = ["Writer"]

log = logging.getLogger("convsdk.collector")

T = TypeVar("T")


class Writer:
    """Runs backend calls one at a time in one dedicated thread."""

    def __init__(self, backend: Backend, timeout: float) -> None:
        self._backend = backend
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="convsdk-collector")

    async def write(self, events: list[Event]) -> None:
        """Store ``events`` (BackendError when the backend fails or takes too long)."""
        await self._call(self._backend.write, events)

    async def close(self) -> None:
        """Close the backend, then the thread."""
        try:
            await self._call(self._backend.close)
        except Exception:
            log.exception("closing the collector's backend failed")
        finally:
            self._executor.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        done, _ = await asyncio.wait({future}, timeout=self._timeout)
        if not done:
            # A call still queued never starts; one running finishes later, and the
            # sender's retry of its batch is then a duplicate the sink drops by event_id.
            future.cancel()
            raise BackendError(
                f"the backend did not finish within {self._timeout} s", retryable=True
            )
        return future.result()
