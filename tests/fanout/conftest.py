"""Stand-ins for the fan-out's tests: a forwarding destination (``default_forward =
"macro"``, as an ad platform's backend declares), one that always fails and one that
hangs until released, events of visitors in and out of a request, and a tracker
that gives a failing write up quickly."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from convsdk import BackendError, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.event import Event, make_event


class Forwarder(MemoryBackend):
    """A forwarding destination: macro conversions only, unless ``forward=`` says more."""

    default_forward = "macro"


class Failing(MemoryBackend):
    """Refuses every batch (a platform that is down) while :attr:`down`."""

    def __init__(self, *, down: bool = True) -> None:
        super().__init__()
        self.down = down

    def write(self, events: Sequence[Event]) -> None:
        if self.down:
            raise BackendError("the platform is down", backend="failing")
        super().write(events)


class Hanging(MemoryBackend):
    """Blocks every write until :attr:`released` is set (a platform that never answers)."""

    def __init__(self, released: threading.Event) -> None:
        super().__init__()
        self.released = released

    def write(self, events: Sequence[Event]) -> None:
        self.released.wait()
        super().write(events)


class Filling(MemoryBackend):
    """A store that sets :attr:`full` once it holds ``expected`` events (a test waits on
    that, not on time)."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.full = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        super().write(events)
        if len(self.events) >= self.expected:
            self.full.set()


@pytest.fixture
def released() -> Iterator[threading.Event]:
    """Set after the test: hung writes finish and their threads end."""
    event = threading.Event()
    yield event
    event.set()


def visit(name: str = "page_view", visitor: str | None = "v1", **fields: Any) -> Event:
    """An event of a request by ``visitor`` (None: one who opted out, DNT/GPC)."""
    return make_event(
        name,
        visitor_id=visitor,
        session_id=None if visitor is None else f"s-{visitor}",
        context={"path": "/", "method": "GET"},
        **fields,
    )


def names(backend: MemoryBackend) -> list[str]:
    """The names of the events ``backend`` stored, in order."""
    return [event.name for event in backend.events]


def open_tracker(backends: list[object], spool: Path, shutdown_timeout: float = 10.0) -> Tracker:
    """A tracker on ``spool`` that gives a failing write up quickly; its ``close()`` waits
    ``shutdown_timeout`` for a hung destination (and no longer than needed for the rest)."""
    return Tracker(
        backend=backends,  # type: ignore[arg-type]
        spool_dir=spool,
        flush_interval=0.05,
        max_retries=1,
        retry_timeout=0.2,
        shutdown_timeout=shutdown_timeout,
    )
