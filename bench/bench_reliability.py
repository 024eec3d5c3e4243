"""What reliability costs: ``track()`` with the disk spool and ``durable=True``, and replay.

Run: ``python bench/bench_reliability.py [--events 50000] [--repeats 5]``.

1. Cost of one ``Tracker.track()`` on the calling thread, in µs (median over
   ``--repeats`` runs of the mean over ``--events`` calls), for:
   in memory only (``spool_dir=None``); with a spool (same hot path: the spool is only
   touched on failure); ``durable=True`` (one unbuffered ``os.write`` of the serialised
   event to the write-ahead log per call, no fsync); ``durable=True, fsync="batch"``
   (the dispatcher fsyncs once a cycle, off the calling thread); and the backpressure
   path, when the queue is full and each event is written to the spool instead.
   The backend accepts and discards, so only convsdk's own cost shows.
2. Replay throughput, in events/s: ``--events`` events waiting in a spool directory,
   delivered by a new tracker (``flush()``) into ``memory://`` and into a fresh
   ``sqlite://`` database, in batches of 100 and 1,000.
3. Replay of many small segments (``--segments 1000,8000``: one event each, as a full
   disk or a busy pre-forked server leaves them): seconds and µs per segment for a new
   tracker's ``flush()`` into ``memory://``. Linear replay keeps µs per segment flat.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import NOTE, table  # noqa: E402

from convsdk import Event, Tracker  # noqa: E402
from convsdk._json import dumps  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.spool import Spool  # noqa: E402


class Null:
    """Accepts every batch and keeps nothing."""

    def write(self, events: Sequence[Event]) -> None:
        pass

    def close(self) -> None:
        pass


class Stuck:
    """Never finishes a batch until released: the queue fills and backpressure applies."""

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.release.wait(60)

    def close(self) -> None:
        pass


def track_cost(
    make: Callable[[Path], tuple[Tracker, Callable[[], None]]], n: int, repeats: int
) -> float:
    """Median over ``repeats`` of the mean µs per ``track()`` call."""
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tracker, done = make(Path(tmp))
            track = tracker.track
            props = {"plan": "pro", "video": "demo"}
            gc.collect()
            start = time.perf_counter()
            for _ in range(n):
                track("video_played", kind="micro", properties=props)
            results.append((time.perf_counter() - start) / n * 1e6)
            done()
            tracker.close()
    return statistics.median(results)


def _plain(options: dict[str, Any]) -> Callable[[Path], tuple[Tracker, Callable[[], None]]]:
    def make(tmp: Path) -> tuple[Tracker, Callable[[], None]]:
        spool = options.pop("spool", False)
        t = Tracker(
            backend=Null(),
            spool_dir=tmp / "spool" if spool else None,
            max_queue_size=10_000_000,
            batch_size=1000,
            flush_interval=0.05,
            **options,
        )
        options["spool"] = spool
        return t, lambda: None

    return make


def _backpressure(tmp: Path) -> tuple[Tracker, Callable[[], None]]:
    stuck = Stuck()
    t = Tracker(
        backend=stuck,
        spool_dir=tmp / "spool",
        max_queue_size=10,
        batch_size=10,
        flush_interval=0.01,
        shutdown_timeout=60,
    )
    # Fill the queue first, so every measured call takes the spool path.
    for _ in range(50):
        t.track("warm_up")
    return t, stuck.release.set


def replay_rate(backend_url: str | None, n: int, batch_size: int, repeats: int) -> float:
    """Median events/s delivering ``n`` spooled events with a fresh tracker."""
    events = [
        Event("page_view", properties={"i": i}, context={"path": f"/p/{i % 50}"}) for i in range(n)
    ]
    lines = [dumps(e.to_dict()) + b"\n" for e in events]
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            spool_dir = Path(tmp) / "spool"
            spool = Spool(spool_dir)
            for i in range(0, n, 1000):
                spool.append(lines[i : i + 1000])
            spool.close()
            backend: Any = MemoryBackend() if backend_url is None else backend_url.format(tmp=tmp)
            gc.collect()
            start = time.perf_counter()
            t = Tracker(backend=backend, spool_dir=spool_dir, batch_size=batch_size)
            ok = t.flush(timeout=120)
            elapsed = time.perf_counter() - start
            replayed = t.stats()["replayed"]
            t.close()
            if not ok or replayed != n:
                raise SystemExit(f"replay incomplete: {replayed} of {n}")
            results.append(n / elapsed)
    return statistics.median(results)


def segment_replay(files: int, repeats: int) -> tuple[float, float]:
    """Median seconds for a fresh tracker to replay ``files`` one-event segments."""
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            spool_dir = Path(tmp) / "spool"
            spool_dir.mkdir()
            for i in range(files):
                line = dumps(Event("page_view", properties={"i": i}).to_dict()) + b"\n"
                (spool_dir / f"{i + 1:020d}-4242-{i:08x}.seg.jsonl").write_bytes(line)
            backend = MemoryBackend()
            gc.collect()
            start = time.perf_counter()
            t = Tracker(backend=backend, spool_dir=spool_dir)
            ok = t.flush(timeout=600)
            elapsed = time.perf_counter() - start
            t.close()
            if not ok or len(backend.events) != files:
                raise SystemExit(f"replay incomplete: {len(backend.events)} of {files}")
            results.append(elapsed)
    seconds = statistics.median(results)
    return seconds, seconds / files * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--segments",
        default="1000,8000",
        help="comma-separated counts of one-event segments to replay",
    )
    parser.add_argument(
        "--only-segments", action="store_true", help="run only the segment replay part"
    )
    args = parser.parse_args()
    n, repeats = args.events, args.repeats
    counts = [int(c) for c in args.segments.split(",") if c]
    if args.only_segments:
        print_segment_replay(counts, repeats)
        return 0

    rows = []
    memory = track_cost(_plain({}), n, repeats)
    for label, make in [
        ("in memory (spool_dir=None)", _plain({})),
        ("with a spool (not durable)", _plain({"spool": True})),
        ("durable=True", _plain({"spool": True, "durable": True})),
        ('durable=True, fsync="batch"', _plain({"spool": True, "durable": True, "fsync": "batch"})),
        ("queue full, backpressure='spool'", _backpressure),
    ]:
        cost = memory if label.startswith("in memory") else track_cost(make, n, repeats)
        rows.append((label, cost, cost / memory, cost - memory))
    print(f"track() on the calling thread, µs per call, median of {repeats} x {n:,} {NOTE}")
    print(table(["", "µs/call", "x memory", "+µs"], rows))

    rows = []
    for label, url in [("memory://", None), ("sqlite://", "sqlite:///{tmp}/events.db")]:
        for batch_size in (100, 1000):
            rows.append((f"{label}  batch {batch_size}", replay_rate(url, n, batch_size, repeats)))
    print(f"\nreplaying {n:,} spooled events, events/s, median of {repeats}")
    print(table(["", "events/s"], rows))
    print_segment_replay(counts, repeats)
    return 0


def print_segment_replay(counts: Sequence[int], repeats: int) -> None:
    rows = []
    base: float | None = None
    for files in counts:
        seconds, per = segment_replay(files, repeats)
        base = per if base is None else base
        rows.append((f"{files:,} segments", seconds, per, per / base))
    print(
        f"\nreplaying one-event segments into memory://, median of {repeats} "
        "(linear: µs/segment stays flat)"
    )
    print(table(["", "seconds", "µs/segment", "x first"], rows))


if __name__ == "__main__":
    raise SystemExit(main())
