"""The spool's writes from an asyncio app whose tests forbid blocking calls on its loop.

Starlette's and FastAPI's own test suites run under blockbuster, which raises in the
event loop's thread on a blocking call (a file write, ``os.stat``): so do the suites of
apps that follow them. Two writes happen on the loop: in durable mode the middleware
appends each event to the write-ahead log before the request goes on; with a full
queue, an event goes to the spool. Refused that way, neither may lose an event
uncounted: a refused append leaves the event in memory (delivered), a refused spool
write counts it dropped, and the refusal is said.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from asgi_calls import Receiver, Sender, http_scope
from convsdk import Event, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations.asgi import ConversionMiddleware

blockbuster = pytest.importorskip("blockbuster")


async def page(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"<h1>Pricing</h1>"})


async def get(app: Any, path: str) -> int:
    """One GET of ``path`` through ``app``; its status."""
    send = Sender()
    await app(http_scope(path), Receiver([{"type": "http.request"}]), send)
    return int(send.messages[0]["status"])


def durable_tracker(folder: Path) -> Tracker:
    """A durable tracker storing into ``folder``'s events.db, its spool beside it."""
    return Tracker(
        backend=f"sqlite:///{folder / 'events.db'}",
        spool_dir=folder / "spool",
        durable=True,
        secret_key="s3cret",
    )


def test_a_durable_append_refused_on_the_event_loop_keeps_the_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "events.db"
    tracker = durable_tracker(tmp_path)
    app = ConversionMiddleware(page, tracker=tracker)

    async def visit() -> list[int]:
        with blockbuster.blockbuster_ctx():
            return [await get(app, f"/pricing/{n}") for n in range(3)]

    try:
        with caplog.at_level(logging.WARNING, logger="convsdk"):
            assert asyncio.run(visit()) == [200, 200, 200]
        assert tracker.flush(10)
        stats = tracker.stats()
    finally:
        tracker.close()
    with sqlite3.connect(database) as conn:
        paths = [row[0] for row in conn.execute("SELECT context FROM convsdk_events")]
    conn.close()
    assert len(paths) == 3  # every page view stored, none lost
    assert stats["dropped"] == 0
    assert "cannot append to the write-ahead log" in caplog.text
    assert "BlockingError" in caplog.text


class Gated(MemoryBackend):
    """A backend whose writes wait until :attr:`gate` opens (a backend that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.gate.wait(30)
        super().write(events)


def test_a_spool_write_refused_on_the_event_loop_counts_the_event_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Gated()
    tracker = Tracker(
        backend=backend,
        spool_dir=tmp_path / "spool",
        backpressure="spool",
        max_queue_size=2,
        batch_size=1,
        secret_key="s3cret",
    )
    app = ConversionMiddleware(page, tracker=tracker)

    async def visit() -> list[int]:
        with blockbuster.blockbuster_ctx():
            return [await get(app, f"/pricing/{n}") for n in range(10)]

    try:
        with caplog.at_level(logging.WARNING, logger="convsdk"):
            assert asyncio.run(visit()) == [200] * 10
        backend.gate.set()
        assert tracker.flush(10)
        stats = tracker.stats()
    finally:
        backend.gate.set()
        tracker.close()
    # Each of the ten page views is stored or counted: none lost uncounted.
    assert stats["dropped"] > 0
    assert len(backend.events) + stats["dropped"] + stats["spooled"] == 10
    assert "cannot write to the spool" in caplog.text
    assert "BlockingError" in caplog.text


def test_appends_refused_again_and_again_keep_every_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused append must not fail either when it cleans up after itself: removing
    the empty segment it had just opened is a blocking call too. One tracker for many
    tests, as an app module keeps it, a flush between them."""
    database = tmp_path / "events.db"
    tracker = durable_tracker(tmp_path)
    app = ConversionMiddleware(page, tracker=tracker)

    async def visit(test: int) -> list[int]:
        # A segment that opens, then a write and the empty segment's removal refused:
        # what Starlette's suite (its guard scanning only its own modules) made of it.
        guard = blockbuster.BlockBuster()
        for name in set(guard.functions) - {"os.write", "os.unlink"}:
            del guard.functions[name]
        guard.activate()
        try:
            return [await get(app, f"/pricing/{test}/{n}") for n in range(3)]
        finally:
            guard.deactivate()

    try:
        with caplog.at_level(logging.WARNING, logger="convsdk"):
            for test in range(4):
                assert asyncio.run(visit(test)) == [200, 200, 200]
                assert tracker.flush(10)
        stats = tracker.stats()
        # A segment whose removal was refused is closed all the same: at most the
        # write-ahead log's current segment is open, not one more a refused append.
        spool = str(tmp_path / "spool")
        opened = [fd for fd in Path("/proc/self/fd").iterdir() if _target(fd).startswith(spool)]
        assert len(opened) <= 1
    finally:
        tracker.close()
    with sqlite3.connect(database) as conn:
        (stored,) = conn.execute("SELECT COUNT(*) FROM convsdk_events").fetchone()
    conn.close()
    assert stored == 12 and stats["enqueued"] == 12 and stats["dropped"] == 0
    assert "could not record a request" not in caplog.text


def _target(fd: Path) -> str:
    """What the descriptor ``fd`` (under ``/proc/self/fd``) is open on; "" once closed."""
    try:
        return os.readlink(fd)
    except OSError:
        return ""
