"""SIGTERM / SIGINT close the trackers, then the process stops as it would have."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import partial
from pathlib import Path
from types import FrameType

import pytest

from convsdk import Tracker, shutdown
from convsdk.backends.memory import MemoryBackend
from convsdk.tracker import registry
from faults import BlockingBackend


@pytest.fixture(autouse=True)
def handlers() -> Iterator[None]:
    """Put back the process's handlers after each test."""
    saved = {sig: signal.getsignal(sig) for sig in shutdown.SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def recorder(calls: list[str], name: str) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        calls.append(f"{name} {signal.Signals(signum).name}")

    return handler


def test_closes_then_hands_the_signal_to_the_handler_that_was_there() -> None:
    calls: list[str] = []
    signal.signal(signal.SIGTERM, recorder(calls, "server"))
    assert shutdown.install(lambda: calls.append("close"))
    signal.raise_signal(signal.SIGTERM)
    assert calls == ["close", "server SIGTERM"]


def test_sigint_still_raises_keyboard_interrupt_after_closing() -> None:
    calls: list[str] = []
    signal.signal(signal.SIGINT, signal.default_int_handler)
    shutdown.install(lambda: calls.append("close"))
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    assert calls == ["close"]


def test_a_signal_during_a_close_on_the_main_thread_waits_for_that_close() -> None:
    # The interrupted close may hold a lock that closing needs (waking the worker
    # thread): the handler closed again and waited, the two waited for each other,
    # and a pool terminated with SIGTERM lost what its workers were delivering.
    calls: list[str] = []
    signal.signal(signal.SIGTERM, recorder(calls, "server"))
    shutdown.install(lambda: calls.append("close"))
    shutdown.defer_signals(True)
    try:
        signal.raise_signal(signal.SIGTERM)
        assert calls == []  # deferred: the close on this thread goes on
        calls.append("the close ends")
    finally:
        shutdown.defer_signals(False)
    assert calls == ["the close ends", "close", "server SIGTERM"]


def test_installing_again_wraps_once() -> None:
    calls: list[str] = []
    signal.signal(signal.SIGTERM, recorder(calls, "server"))
    for _ in range(3):
        shutdown.install(lambda: calls.append("close"))
    signal.raise_signal(signal.SIGTERM)
    assert calls == ["close", "server SIGTERM"]


def test_an_ignored_signal_stays_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    shutdown.install(lambda: None)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_a_handler_the_server_installs_afterwards_is_left_alone() -> None:
    calls: list[str] = []
    shutdown.install(lambda: calls.append("close"))
    server = recorder(calls, "server")
    signal.signal(signal.SIGTERM, server)
    shutdown.install(lambda: calls.append("close"))  # another tracker: wraps the server's
    signal.raise_signal(signal.SIGTERM)
    assert calls == ["close", "server SIGTERM"]
    shutdown.uninstall()
    assert signal.getsignal(signal.SIGTERM) is server


def test_nothing_is_installed_from_another_thread() -> None:
    before = {sig: signal.getsignal(sig) for sig in shutdown.SIGNALS}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    before[signal.SIGTERM] = signal.SIG_DFL
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(shutdown.install(lambda: None)))
    thread.start()
    thread.join()
    assert results == [False]
    assert {sig: signal.getsignal(sig) for sig in shutdown.SIGNALS} == before


def test_a_failing_close_is_logged_and_the_signal_still_handed_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []
    signal.signal(signal.SIGTERM, recorder(calls, "server"))

    def broken() -> None:
        raise OSError("disk gone")

    shutdown.install(broken)
    with caplog.at_level(logging.ERROR, logger="convsdk.shutdown"):
        signal.raise_signal(signal.SIGTERM)
    assert calls == ["server SIGTERM"]
    assert "closing the trackers on signal" in caplog.text


def test_uninstall_puts_back_what_was_there() -> None:
    calls: list[str] = []
    server = recorder(calls, "server")
    signal.signal(signal.SIGTERM, server)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    shutdown.install(lambda: None)
    shutdown.uninstall()
    assert signal.getsignal(signal.SIGTERM) is server
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


SCRIPT = """
import os, signal, sys
import convsdk

# A process started from a background job inherits SIGINT ignored, and convsdk rightly
# leaves an ignored signal alone: give it Python's usual handler, as in a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)

convsdk.init(backend="sqlite:///" + sys.argv[1], spool_dir=sys.argv[2], flush_interval=30.0)
for n in range(30):
    convsdk.track("queued", kind="micro", properties={"n": n})
# raise_signal runs the handlers before it returns; os.kill may reach another thread
# first, and the main thread print before its handler ran.
signal.raise_signal(getattr(signal, "SIG" + sys.argv[3]))
print("survived the signal")
"""


@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_a_signal_with_its_default_action_delivers_then_still_ends_the_process(
    tmp_path: Path, name: str
) -> None:
    db = tmp_path / "events.db"
    # SIGTERM's default action kills the process, where atexit never runs; SIGINT's
    # handler raises KeyboardInterrupt, and an uncaught one ends by the signal too.
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(db), str(tmp_path / "spool"), name],
        capture_output=True,
        timeout=30,
    )
    assert b"survived" not in proc.stdout
    assert proc.returncode == -getattr(signal, "SIG" + name), proc.stderr.decode()
    with closing(sqlite3.connect(db)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM convsdk_events").fetchone()
    assert count == 30


def test_a_close_held_up_by_the_interrupted_code_does_not_hang_the_signal() -> None:
    calls: list[str] = []
    signal.signal(signal.SIGTERM, recorder(calls, "server"))
    held = threading.Lock()
    closed = threading.Event()

    def close() -> None:
        with held:  # e.g. a lock the interrupted track() holds
            closed.set()

    shutdown.install(close, wait=lambda: 0.05)
    with held:
        signal.raise_signal(signal.SIGTERM)
        assert calls == ["server SIGTERM"] and not closed.is_set()
    assert closed.wait(10)  # and the close finishes once the lock is free


def test_signal_handlers_off_leaves_the_signals_alone() -> None:
    from convsdk import Tracker
    from convsdk.backends.memory import MemoryBackend

    mine = recorder([], "app")
    for sig in shutdown.SIGNALS:
        signal.signal(sig, mine)
    tracker = Tracker(backend=MemoryBackend(), spool_dir=None, signal_handlers=False)
    try:
        assert all(signal.getsignal(sig) is mine for sig in shutdown.SIGNALS)
    finally:
        tracker.close()
    watched = Tracker(backend=MemoryBackend(), spool_dir=None)
    try:
        assert all(signal.getsignal(sig) is not mine for sig in shutdown.SIGNALS)  # wrapped
    finally:
        watched.close()


def test_closing_again_while_a_close_runs_waits_for_its_delivery() -> None:
    # A signal coming while the trackers close (multiprocessing terminating a pool whose
    # workers close at their end) has its handler close them again, then end the
    # process: that second close must not return before the first delivered.
    backend = BlockingBackend()
    tracker = Tracker(backend=backend, spool_dir=None, flush_interval=3600)
    tracker.track("purchase", kind="macro")
    first = threading.Thread(target=tracker.close, kwargs={"timeout": 30})
    first.start()
    assert backend.entered.wait(10)
    assert tracker in registry.live  # still closing: the signal handler finds it
    results: list[bool] = []
    second = threading.Thread(target=lambda: results.append(tracker.close(timeout=30)))
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second close returned before anything was delivered"
    backend.release.set()
    second.join(10)
    first.join(10)
    assert results == [True]
    assert [event.name for event in backend.events] == ["purchase"]
    assert tracker not in registry.live


def lines_run(call: Callable[[], object], signal_at: int = 0) -> int:
    """Run ``call`` on this thread, counting the Python lines it runs (the library's
    included); SIGTERM comes just before line ``signal_at``, as a signal comes between
    two bytecodes, whatever lock the running code holds."""
    seen = 0

    def trace(frame: FrameType, event: str, arg: object) -> object:
        nonlocal seen
        if event == "line":
            seen += 1
            if seen == signal_at:
                signal.raise_signal(signal.SIGTERM)
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return seen


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "durable"])
def test_a_signal_anywhere_in_track_is_handled_with_nothing_left_in_memory(
    tmp_path: Path, durable: bool
) -> None:
    # A gunicorn sync worker or an event loop tracks on the main thread, where signals
    # land. Whatever line of track() the signal interrupts (one holding the worker's
    # wake-up lock, or the write-ahead log's), the trackers are closed before the
    # signal goes on to the server's handler, which may end the process at once; and
    # the event is delivered, or left on disk for the next start.
    def server(signum: int, frame: FrameType | None) -> None:
        closing = [t for t in threading.enumerate() if t.name == "convsdk-shutdown"]
        seen.append((tracker.stats()["queued"], len(closing)))

    signal.signal(signal.SIGTERM, server)
    lines = 0
    signal_at = 0
    while signal_at <= lines:
        seen: list[tuple[int, int]] = []
        tracker = Tracker(
            backend=MemoryBackend(),
            batch_size=1,
            durable=durable,
            spool_dir=str(tmp_path / f"spool-{signal_at}"),
            shutdown_timeout=0.5,
        )
        tracker.track("pricing_viewed", user_id="u1")
        assert tracker.flush()
        count = lines_run(partial(tracker.track, "purchase", user_id="u1"), signal_at)
        tracker.close()
        # What the close left on disk, the next tracker on the spool delivers.
        memory = MemoryBackend()
        with Tracker(backend=memory, spool_dir=str(tmp_path / f"spool-{signal_at}")) as after:
            assert after.flush()
        stats = tracker.stats()
        where = f"SIGTERM at line {signal_at} of {count}"
        assert (stats["delivered"] + len(memory.events), stats["dropped"]) == (2, 0), where
        # (the worker's timing can add or spare a line or two: the loop covers the most)
        interrupted = 0 < signal_at <= count
        assert seen == ([(0, 0)] if interrupted else []), where  # nothing queued, closed
        lines = max(lines, count)
        signal_at += 1
    assert lines > 20
