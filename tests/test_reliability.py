"""Fault injection: no event that ``track()`` returned for is lost.

Each test asserts the exact set of delivered event ids. SQLite (``INSERT OR IGNORE`` on
``event_id``) shows at-least-once delivery ends with no duplicates; memory backends are
used where deduplication is not the point.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import pytest

from convsdk import BackendError, Destination, Event, Tracker
from convsdk._json import dumps
from convsdk.backends.memory import MemoryBackend
from faults import FullDisk


class Flaky(MemoryBackend):
    """Fails the first ``failures`` writes, then stores."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    def write(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"backend down (call {self.calls})")
        super().write(events)


class Down:
    """A backend that is down for the whole run: the store ``destination_key`` names (by
    default the one :class:`Store` stands for), so the next tracker replays its spool
    into that store."""

    def __init__(self, destination_key: str = "the-store") -> None:
        self.destination_key = destination_key

    def write(self, events: Sequence[Event]) -> None:
        raise BackendError("connection refused", backend="down")

    def close(self) -> None:
        pass


class Store(MemoryBackend):
    """The store :class:`Down` and :class:`Hung` stand for, up."""

    destination_key = "the-store"


class Hung(MemoryBackend):
    """A backend whose write never returns (until the test ends): :class:`Store`, hung."""

    destination_key = "the-store"

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.entered.set()
        self.release.wait(60)


def tracker(backend: object, spool: Path | None, **options: object) -> Tracker:
    options = {"flush_interval": 0.02, "retry_max_delay": 0.05, **options}
    return Tracker(backend=backend, spool_dir=spool, **options)  # type: ignore[arg-type]


def flush_until(t: Tracker, seconds: float) -> bool:
    """Flush until everything is delivered (each flush probes the backend) or time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if t.flush(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
            return True
    return False


def ids_of(events: Sequence[Event | None]) -> list[str]:
    return [e.event_id for e in events if e is not None]


def sqlite_ids(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT event_id FROM convsdk_events")]


def segments(spool: Path) -> list[str]:
    return [n for n in os.listdir(spool) if n.endswith(".jsonl")] if spool.exists() else []


# -- backend failures --------------------------------------------------------------------


def test_a_backend_that_fails_a_few_times_is_retried(tmp_path: Path) -> None:
    backend = Flaky(failures=3)
    t = tracker(backend, tmp_path / "spool", batch_size=1000, retry_max_delay=0.02)
    sent = [t.track("x", properties={"i": i}) for i in range(100)]
    assert t.flush(timeout=10)
    t.close()
    assert ids_of(backend.events) == ids_of(sent)
    stats = t.stats()
    assert stats["retried"] == 3 and stats["spooled"] == 0 and stats["delivered"] == 100


class Cancelling(MemoryBackend):
    """Raises CancelledError (a BaseException) from its first ``failures`` writes, as an
    adapter wrapping an asyncio client may."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def write(self, events: Sequence[Event]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise asyncio.CancelledError()
        super().write(events)


def test_a_write_raising_a_base_exception_is_a_failed_write_not_a_dead_worker(
    tmp_path: Path,
) -> None:
    backend = Cancelling(failures=2)
    t = tracker(backend, None, batch_size=10, retry_max_delay=0.01)
    sent = [t.track("x", properties={"i": i}) for i in range(100)]
    assert t.flush(timeout=10)
    more = [t.track("y", properties={"i": i}) for i in range(100)]
    assert t.flush(timeout=10)
    t.close()
    assert ids_of(backend.events) == ids_of(sent + more)
    assert t.stats()["retried"] == 2 and t.stats()["dropped"] == 0


def test_many_retries_never_overflow_the_backoff(tmp_path: Path) -> None:
    backend = Flaky(failures=1100)
    t = tracker(backend, None, max_retries=2000, retry_max_delay=1e-6, retry_timeout=60)
    sent = [t.track("x")]
    assert t.flush(timeout=30)
    t.close()
    assert ids_of(backend.events) == ids_of(sent)
    assert t.stats()["retried"] == 1100


def test_a_backend_down_for_longer_than_the_retries_recovers_from_the_spool(
    tmp_path: Path,
) -> None:
    backend = Flaky(failures=25)
    t = tracker(backend, tmp_path / "spool", batch_size=10, max_retries=1)
    sent = []
    for i in range(300):
        sent.append(t.track("x", properties={"i": i}))
    assert flush_until(t, 20)
    t.close()
    # Failed writes stored nothing, so every event arrives exactly once.
    assert sorted(ids_of(backend.events)) == sorted(ids_of(sent))
    stats = t.stats()
    assert stats["spooled"] > 0 and stats["replayed"] == stats["spooled"]
    assert stats["delivered"] == 300 and stats["dropped"] == 0
    assert segments(tmp_path / "spool") == []


@pytest.mark.parametrize("durable", [False, True])
def test_a_backend_down_all_run_delivers_with_the_next_tracker(
    tmp_path: Path, durable: bool
) -> None:
    spool, db = tmp_path / "spool", tmp_path / "events.db"
    url = f"sqlite:///{db}"
    down = Down(Destination(url).spool_name())  # that database, down all run
    t = tracker(down, spool, durable=durable, batch_size=50, max_retries=1)
    sent = [t.track("x", properties={"i": i}) for i in range(1000)]
    assert t.close() is False
    assert t.stats()["delivered"] == 0 and t.stats()["dropped"] == 0

    t2 = tracker(url, spool)
    assert t2.flush(timeout=20)
    t2.close()
    stored = sqlite_ids(db)
    assert sorted(stored) == sorted(ids_of(sent))
    assert segments(spool) == []


def test_warnings_come_at_most_once_a_minute_while_degraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t = tracker(Down(), tmp_path / "spool", batch_size=5, max_retries=0)
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        for _ in range(200):
            t.track("x")
        t.flush(timeout=5)
        t.close()
    failing = [r for r in caplog.records if "failing" in r.getMessage()]
    assert len(failing) == 1
    assert "spool" in failing[0].getMessage()


# -- backpressure --------------------------------------------------------------------------


def test_50k_events_through_a_queue_of_100_and_a_slow_backend_lose_nothing(
    tmp_path: Path,
) -> None:
    class Slow(MemoryBackend):
        def __init__(self) -> None:
            super().__init__()
            self.ids: set[str] = set()
            self.max_queued = 0
            self.sampling = True
            self.pause = threading.Event()
            # Shut until thousands were tracked: that the queue overflows into the spool
            # does not depend on how fast this machine runs the worker.
            self.gate = threading.Event()

        def write(self, events: Sequence[Event]) -> None:
            assert self.gate.wait(60)
            self.pause.wait(0.002)  # a slow network round trip
            if self.sampling:  # while emitting (a flush marker may go past the bound)
                self.max_queued = max(
                    self.max_queued, len(t._dispatcher.lanes[0].dispatcher._queue)
                )
            self.ids.update(e.event_id for e in events)

    backend = Slow()
    t = tracker(backend, tmp_path / "spool", max_queue_size=100, batch_size=100)
    n = 50_000
    sent: list[str] = []
    tracemalloc.start()
    try:
        for i in range(n):
            event = t.track("x", properties={"i": i, "note": f"event number {i:08d}" * 4})
            assert event is not None
            sent.append(event.event_id)
            if i % 5000 == 0:
                backend.max_queued = max(
                    backend.max_queued, len(t._dispatcher.lanes[0].dispatcher._queue)
                )
            if i == 2000:
                backend.gate.set()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    backend.sampling = False
    assert t.flush(timeout=30)
    t.close()
    assert backend.ids == set(sent)
    stats = t.stats()
    # The backend could not keep up: thousands went through the spool (at least the 1,800
    # tracked while it was shut and the queue held 100), none dropped.
    assert stats["dropped"] == 0 and stats["spooled"] >= 1800
    assert stats["replayed"] == stats["spooled"] and stats["delivered"] == n
    assert backend.max_queued <= 100
    # Holding 50k of these events would take well over 50 MB; the ids alone take ~5 MB.
    assert peak < 30 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_the_spool_stays_within_max_spool_bytes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    limit = 64 * 1024
    t = tracker(Down(), spool, max_spool_bytes=limit, max_retries=0, batch_size=50)
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        for i in range(2000):
            t.track("x", properties={"i": i})
        t.flush(timeout=5)
        stats = t.stats()
        t.close()
    assert stats["spool_bytes"] <= limit
    assert stats["dropped"] > 0, "what no longer fits is counted, never silently lost"
    assert sum(f.stat().st_size for f in spool.glob("*.jsonl")) <= limit
    assert any("over its limit" in r.getMessage() for r in caplog.records)


# -- crashes -----------------------------------------------------------------------------

EMITTER = """
import sys
import convsdk

class Down:
    def __init__(self, destination_key):
        self.destination_key = destination_key  # the database, down in this process
    def write(self, events):
        raise convsdk.BackendError("down")
    def close(self):
        pass

url, spool = sys.argv[1], sys.argv[2]
down = url.startswith("down:")
backend = Down(convsdk.Destination(url[5:]).spool_name()) if down else url
t = convsdk.Tracker(
    backend=backend, spool_dir=spool, durable=True,
    flush_interval=0.01, batch_size=50, max_retries=1, retry_max_delay=0.05,
)
out = sys.stdout
out.write("ready\\n")
out.flush()
for i in range(2_000_000):
    event = t.track("step", properties={"i": i})
    out.write(event.event_id + "\\n")
    out.flush()
"""


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for raw in stream:  # type: ignore[attr-defined]
        into.put(raw.rstrip("\n"))
    into.put(None)


@pytest.mark.parametrize("backend", ["down", "sqlite"])
def test_sigkill_in_durable_mode_loses_nothing_track_returned(tmp_path: Path, backend: str) -> None:
    script = tmp_path / "emit.py"
    script.write_text(EMITTER)
    spool, db = tmp_path / "spool", tmp_path / "events.db"
    url = f"sqlite:///{db}"
    proc = subprocess.Popen(
        [sys.executable, str(script), f"down:{url}" if backend == "down" else url, str(spool)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    kill_after = random.randint(1, 5000)
    printed: list[str] = []
    deadline = time.monotonic() + 20
    try:
        assert lines.get(timeout=20) == "ready"
        while len(printed) < kill_after:
            item = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert item is not None, "the emitter stopped on its own"
            printed.append(item)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        while (item := lines.get(timeout=10)) is not None:
            if len(item) == 36:  # a line cut by the kill was never fully printed
                printed.append(item)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    t = tracker(url, spool)
    assert t.flush(timeout=20)
    t.close()
    stored = sqlite_ids(db)
    missing = set(printed) - set(stored)
    assert not missing, f"killed after {kill_after} ids: {len(missing)} events lost"
    # At most the one event whose id was not printed yet; and no duplicate rows.
    assert len(set(stored) - set(printed)) <= 1
    assert len(stored) == len(set(stored))
    assert segments(spool) == []


# -- hangs -----------------------------------------------------------------------------


def test_durable_events_refused_by_a_full_spool_wait_in_the_write_ahead_log(
    tmp_path: Path,
) -> None:
    class Gated(Hung):
        def write(self, events: Sequence[Event]) -> None:
            super().write(events)
            MemoryBackend.write(self, events)

    backend = Gated()
    t = tracker(
        backend,
        tmp_path / "spool",
        durable=True,
        batch_size=1,
        max_queue_size=5,
        max_spool_bytes=8192,
    )
    sent = [t.track("x", properties={"i": i, "pad": "p" * 200}) for i in range(60)]
    assert all(e is not None for e in sent)
    kept = t.stats()
    backend.release.set()
    assert flush_until(t, 10)
    t.close()
    # Whatever the full spool refused is still in the write-ahead log: nothing lost.
    assert set(ids_of(backend.events)) == set(ids_of(sent))
    assert kept["spooled"] > 0


def test_track_returns_none_for_an_event_the_full_queue_dropped() -> None:
    backend = Hung()
    t = tracker(backend, None, batch_size=1, max_queue_size=3, backpressure="drop_newest")
    try:
        assert t.track("first") is not None
        assert backend.entered.wait(5)
        results = [t.track("x", properties={"i": i}) for i in range(10)]
        assert results[0] is not None and results[-1] is None
        assert t.stats()["dropped"] == sum(r is None for r in results)
    finally:
        backend.release.set()
        t.close()


def test_a_hung_backend_never_hangs_flush_or_close(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    hung = Hung()
    t = tracker(hung, spool, shutdown_timeout=1.0, batch_size=10)
    try:
        sent = [t.track("x", properties={"i": i}) for i in range(95)]
        assert hung.entered.wait(5)
        # The backend hangs for 60 s: returning long before that is the point, so the
        # bounds are loose (a loaded machine may be slow, never 30 s slow).
        started = time.monotonic()
        assert t.flush(timeout=1) is False
        assert time.monotonic() - started < 30
        started = time.monotonic()
        assert t.close() is False
        assert time.monotonic() - started < 30
    finally:
        hung.release.set()

    backend = Store()
    t2 = tracker(backend, spool)
    assert t2.flush(timeout=10)
    t2.close()
    # The batch inside the hung write was spooled too: delivered by the next tracker.
    assert sorted(ids_of(backend.events)) == sorted(ids_of(sent))


HUNG_AT_EXIT = """
import sys, threading
import convsdk

class Hung:
    destination_key = "the-store"  # the store, hung in this process
    def write(self, events):
        threading.Event().wait(3600)
    def close(self):
        pass

t = convsdk.init(backend=Hung(), spool_dir=sys.argv[1], shutdown_timeout=1.0,
                 flush_interval=0.01, batch_size=10)
for i in range(55):
    print(t.track("x").event_id)
print("exiting", flush=True)
"""


def test_interpreter_exit_with_a_hung_backend_is_bounded(tmp_path: Path) -> None:
    script = tmp_path / "hung.py"
    script.write_text(HUNG_AT_EXIT)
    spool = tmp_path / "spool"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(script), str(spool)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    *ids, last = result.stdout.split()
    assert last == "exiting"
    # Interpreter start-up + shutdown_timeout (1 s), against a write hung for an hour:
    # the bound is loose so a loaded machine never fails it.
    assert elapsed < 60, f"exit took {elapsed:.1f} s"

    backend = Store()
    t = tracker(backend, spool)
    assert t.flush(timeout=10)
    t.close()
    assert sorted(ids_of(backend.events)) == sorted(ids)


# -- damaged spools ----------------------------------------------------------------------


def test_a_corrupted_segment_replays_its_valid_events_and_reports_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    good = [Event("good", properties={"i": i}) for i in range(5)]
    lines = [dumps(e.to_dict()) + b"\n" for e in good]
    (spool / f"{1:020d}-99999999-0badf00d.seg.jsonl").write_bytes(
        lines[0]
        + b"{garbage\n"
        + lines[1]
        + b"\xff\xfe\x00\n"
        + lines[2]
        + b'{"valid": "json", "but": "no event"}\n'
        + lines[3][:25]  # torn by a crash
    )
    (spool / f"{2:020d}-99999999-0badf00e.wal.jsonl").write_bytes(lines[4])

    backend = MemoryBackend()
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        t = tracker(backend, spool)
        assert t.flush(timeout=10)
        t.close()
    assert sorted(ids_of(backend.events)) == sorted(ids_of([good[0], good[1], good[2], good[4]]))
    assert t.stats()["corrupt"] == 4
    [report] = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert "3 unreadable lines and 1 torn" in report
    assert segments(spool) == []


def spool_with_one_invalid_event(spool: Path) -> tuple[list[Event], dict[str, object]]:
    """A crashed process's segment: 99 good events and, among them, one whose value is
    text ("12,50", a decimal comma): readable, but not an event."""
    spool.mkdir()
    good = [
        Event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=float(i),
            currency="EUR",
            properties={"i": i},
        )
        for i in range(99)
    ]
    bad = Event("purchase", kind="macro", goal="purchase", currency="EUR").to_dict()
    bad["value"] = "12,50"
    lines = [dumps(e.to_dict()) + b"\n" for e in good]
    lines.insert(42, dumps(bad) + b"\n")
    (spool / f"{1:020d}-99999999-0badf00d.seg.jsonl").write_bytes(b"".join(lines))
    return good, bad


def dead_letters(spool: Path) -> list[dict[str, object]]:
    from convsdk._json import loads

    return [
        loads(raw)
        for path in sorted((spool / "dead-letter").glob("*.jsonl"))
        for raw in path.read_bytes().splitlines()
    ]


def test_an_invalid_spooled_event_is_set_aside_alone_on_sqlite(tmp_path: Path) -> None:
    spool, db = tmp_path / "spool", tmp_path / "events.db"
    good, bad = spool_with_one_invalid_event(spool)
    t = tracker(f"sqlite:///{db}", spool, batch_size=100)
    t.flush(timeout=10)  # every claimable segment is replayed before it returns
    t.close()
    assert sorted(sqlite_ids(db)) == sorted(ids_of(good))
    [letter] = dead_letters(spool)
    assert letter["event"] == bad and "value" in str(letter["error"])
    stats = t.stats()
    assert (stats["dead_lettered"], stats["corrupt"], stats["delivered"]) == (1, 0, 99)
    assert segments(spool) == []


def test_a_clean_durable_run_leaves_no_files(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    backend = MemoryBackend()
    t = tracker(backend, spool, durable=True)
    sent = [t.track("x") for _ in range(500)]
    assert t.close()
    assert ids_of(backend.events) == ids_of(sent)
    assert segments(spool) == []


def test_durable_write_ahead_segments_rotate_and_retire_while_running(tmp_path: Path) -> None:
    from convsdk.dispatch import Dispatcher
    from convsdk.spool import Spool

    spool_dir = tmp_path / "spool"
    backend = MemoryBackend()
    d = Dispatcher(
        backend,
        spool=Spool(spool_dir, segment_bytes=4096),
        durable=True,
        flush_interval=0.01,
        batch_size=20,
    )
    sent = [Event("x", properties={"i": i}) for i in range(300)]
    for e in sent:
        assert d.put(e)
    assert d.flush(timeout=5)
    # Full segments were retired as their events were delivered: at most the open one is left.
    assert len([n for n in segments(spool_dir) if ".wal." in n]) <= 1
    assert d.close()
    assert ids_of(backend.events) == ids_of(sent)
    assert segments(spool_dir) == []


def test_the_worker_probes_a_recovered_backend_and_replays_on_its_own(tmp_path: Path) -> None:
    class Recovering(Flaky):
        def __init__(self, failures: int, expected: int) -> None:
            super().__init__(failures)
            self.expected = expected
            self.all_in = threading.Event()

        def write(self, events: Sequence[Event]) -> None:
            super().write(events)
            if len(self.events) >= self.expected:
                self.all_in.set()

    backend = Recovering(failures=8, expected=100)
    t = tracker(backend, tmp_path / "spool", batch_size=10, max_retries=0)
    sent = [t.track("x", properties={"i": i}) for i in range(100)]
    # No flush: the worker spools, backs off, probes and replays by itself.
    assert backend.all_in.wait(15)
    t.close()
    assert sorted(ids_of(backend.events)) == sorted(ids_of(sent))
    assert t.stats()["replayed"] > 0


def test_close_does_not_wait_for_a_backend_whose_close_hangs() -> None:
    class HangsOnClose(MemoryBackend):
        def __init__(self) -> None:
            super().__init__()
            self.release = threading.Event()

        def close(self) -> None:
            self.release.wait(60)

    backend = HangsOnClose()
    t = tracker(backend, None, shutdown_timeout=0.5)
    sent = [t.track("x") for _ in range(10)]
    started = time.monotonic()
    try:
        assert t.close() is True, "everything was delivered before the backend hung"
        assert time.monotonic() - started < 30, "close() waited for the hung close (60 s)"
    finally:
        backend.release.set()
    assert ids_of(backend.events) == ids_of(sent)


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"backpressure": "panic"}, "backpressure"),
        ({"backpressure": "spool", "spool_dir": None}, "backpressure"),
        ({"durable": True, "spool_dir": None}, "durable"),
        ({"fsync": "always"}, "fsync"),
        ({"max_retries": -1}, "max_retries"),
        ({"retry_max_delay": 0}, "retry_max_delay"),
        ({"retry_timeout": float("inf")}, "retry_timeout"),
        ({"max_spool_bytes": 0}, "max_spool_bytes"),
        ({"durable": "yes"}, "durable"),
        ({"spool_dir": 123}, "spool_dir"),
        ({"spool_dir": b"spool"}, "spool_dir"),
        ({"anonymize_ip": "no"}, "anonymize_ip"),
        ({"respect_dnt": None}, "respect_dnt"),
        ({"filter_bots": 0}, "filter_bots"),
    ],
)
def test_bad_reliability_options_fail_at_construction(
    tmp_path: Path, options: dict[str, object], field: str
) -> None:
    from convsdk import ConfigError

    options.setdefault("spool_dir", tmp_path / "spool")
    with pytest.raises(ConfigError) as info:
        Tracker(backend="memory://", **options)  # type: ignore[arg-type]
    assert info.value.field == field


def test_backpressure_defaults_to_the_spool_when_there_is_one(tmp_path: Path) -> None:
    with Tracker(backend="memory://", spool_dir=tmp_path / "spool") as t:
        assert t.backpressure == "spool"
    with Tracker(backend="memory://", spool_dir=None) as t:
        assert t.backpressure == "drop_newest"


def test_durable_with_fsync_batch_syncs_off_the_calling_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_from: set[str] = set()
    real = os.fsync

    def fsync(fd: int) -> None:
        synced_from.add(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    backend = MemoryBackend()
    t = tracker(backend, tmp_path / "spool", durable=True, fsync=True)
    synced_from.clear()  # setting the spool up (its destination record) may sync once
    sent = [t.track("x") for _ in range(50)]
    assert not synced_from - {"convsdk-dispatch"}, "track() never waits for an fsync"
    assert t.close()
    assert "convsdk-dispatch" in synced_from
    assert ids_of(backend.events) == ids_of(sent)


def test_durable_mode_refuses_a_spool_dir_it_cannot_write(tmp_path: Path) -> None:
    from convsdk import ConfigError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError) as info:
        Tracker(backend="memory://", spool_dir=blocker / "spool", durable=True)
    assert info.value.field == "spool_dir"


# -- full disks ----------------------------------------------------------------------


class Gated(MemoryBackend):
    """Every write blocks until ``release`` is set, then stores the batch."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.entered.set()
        assert self.release.wait(60), "the test never released the backend"
        super().write(events)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def spooled_ids(spool: Path) -> list[str]:
    """The ids of the readable events in the spool's segment files (dead letters aside)."""
    from convsdk.spool import parse_line

    ids = []
    for path in spool.glob("*.jsonl"):
        for raw in path.read_bytes().splitlines():
            event = parse_line(raw)
            if event is not None:
                ids.append(event.event_id)
    return ids


def assert_every_event_accounted_for(
    t: Tracker,
    backend: MemoryBackend,
    spool: Path,
    sent: Sequence[Event | None],
    *,
    lost_later: bool = False,
) -> None:
    """Each tracked event is delivered, on disk or counted in ``dropped``: exactly.

    Unless ``lost_later`` (a failing backend handed batches back to a full disk), the
    events lost are those track() returned None for.
    """
    kept = set(ids_of(backend.events)) | set(spooled_ids(spool))
    dropped = t.stats()["dropped"]
    assert kept <= set(ids_of(sent)), "nothing appears that was not tracked"
    assert len(kept) + dropped == len(sent)
    if not lost_later:
        assert set(ids_of(sent)) <= kept, "an event track() returned is neither sent nor stored"
        assert dropped == sum(e is None for e in sent), "track() returns None when it drops"
    empty = [p.name for p in spool.glob("*.jsonl") if p.stat().st_size == 0]
    assert not empty, f"empty segment files left behind: {empty}"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a disk that is full after a few hundred events."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, check=False)


def test_durable_mode_on_a_full_disk_holds_descriptors_and_counts_every_event(
    tiny_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tiny_disk / "spool"
    backend = Gated()
    t = tracker(
        backend, spool, durable=True, max_queue_size=100, batch_size=10, shutdown_timeout=30
    )
    before = open_fds()
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        sent = [t.track("x", properties={"i": i, "pad": "p" * 100}) for i in range(1500)]
        grown = open_fds() - before
        backend.release.set()
        t.flush(timeout=30)  # False: events were lost on the full disk, and counted
        t.close()
    assert grown < 64, f"{grown} more open files after 1,500 track() calls on a full disk"
    assert t.stats()["dropped"] > 0, "the disk was full and the queue too: some were lost"
    assert_every_event_accounted_for(t, backend, spool, sent)
    messages = [r.getMessage() for r in caplog.records]
    assert any("disk full" in m and "[Errno 28]" in m for m in messages), messages
    assert not any("over its limit" in m or "spool full" in m for m in messages), messages


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
@pytest.mark.parametrize("durable", [False, True])
def test_a_disk_filling_mid_write_counts_exactly_what_was_lost(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    durable: bool,
) -> None:
    class Outage(MemoryBackend):
        """Down until ``up`` is set: failed batches go to the spool, five events a write."""

        def __init__(self) -> None:
            super().__init__()
            self.up = threading.Event()

        def write(self, events: Sequence[Event]) -> None:
            if not self.up.is_set():
                raise BackendError("connection refused", backend="outage")
            super().write(events)

    spool = tmp_path / "spool"
    backend = Outage()
    # Not durable, the queue holds every event, so what reaches the spool comes in
    # failed batches of five: the write that fills the disk stores some lines of one
    # whole and tears the next. Durable, the queue is small and overflows too.
    t = tracker(
        backend,
        spool,
        durable=durable,
        max_queue_size=20 if durable else 10_000,
        batch_size=5,
        max_retries=0,
    )
    disk = FullDisk(spool, room=12_345)  # a few dozen events, one of them torn
    monkeypatch.setattr(os, "write", disk)
    before = open_fds()
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        sent = [t.track("x", properties={"i": i, "pad": "p" * 100}) for i in range(1500)]
        grown = open_fds() - before
        t.flush(timeout=30)  # every batch tried and stored, or counted lost
        monkeypatch.undo()  # the disk has room again and the backend is back
        backend.up.set()
        assert flush_until(t, 30)
        t.close()
    assert grown < 64, f"{grown} more open files after 1,500 track() calls on a full disk"
    assert_every_event_accounted_for(t, backend, spool, sent, lost_later=True)
    stats = t.stats()
    assert stats["dropped"] > 0, "a disk with room for a few dozen events loses the rest"
    if not durable:  # (durable: the write-ahead log may take all the room first)
        assert stats["spooled"] > 0
    messages = [r.getMessage() for r in caplog.records]
    assert any("disk full" in m and "[Errno 28]" in m for m in messages), messages
    assert not any("over its limit" in m or "spool full" in m for m in messages), messages


def test_a_directory_named_like_a_segment_is_not_replayed(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    stray = spool / f"{1:020d}-4242-0badf00d.seg.jsonl"
    stray.mkdir(parents=True)
    (spool / f"{2:020d}-4242-0badf00e.seg.jsonl").write_bytes(
        dumps(Event("waiting").to_dict()) + b"\n"
    )
    backend = MemoryBackend()
    t = tracker(backend, spool)
    assert t.flush(timeout=30) is True
    t.close()
    assert [e.name for e in backend.events] == ["waiting"]
    assert stray.is_dir(), "left alone, under its own name"
