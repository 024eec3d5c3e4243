from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from convsdk.backends.memory import MemoryBackend
from convsdk.dispatch import Dispatcher
from convsdk.event import Event
from faults import BlockingBackend


class RecordingBackend(MemoryBackend):
    """Remembers the size of each batch and signals every write."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.wrote = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        super().write(events)
        self.batches.append(len(events))
        self.wrote.set()


def test_batches_by_size() -> None:
    backend = RecordingBackend()
    # An interval far longer than the test: only the batch size can trigger a write.
    d = Dispatcher(backend, batch_size=10, flush_interval=3600)
    try:
        for _ in range(10):
            d.put(Event("x"))
        assert backend.wrote.wait(5), "a full batch was not written without a flush"
        assert backend.batches == [10]
    finally:
        d.close(timeout=5)


def test_batches_by_interval() -> None:
    backend = RecordingBackend()
    d = Dispatcher(backend, batch_size=1000, flush_interval=0.05)
    try:
        d.put(Event("x"))
        d.put(Event("y"))
        # Far fewer than batch_size: only the interval can trigger this write.
        assert backend.wrote.wait(5)
        assert [e.name for e in backend.events] == ["x", "y"]
    finally:
        d.close(timeout=5)


def test_flush_writes_everything_in_order_in_batches_of_at_most_batch_size() -> None:
    backend = RecordingBackend()
    d = Dispatcher(backend, batch_size=7, flush_interval=3600)
    events = [Event(f"e{i}") for i in range(50)]
    for e in events:
        d.put(e)
    assert d.flush(timeout=5) is True
    assert [e.event_id for e in backend.events] == [e.event_id for e in events]
    assert max(backend.batches) <= 7
    stats = d.stats()
    assert stats["enqueued"] == 50 and stats["delivered"] == 50 and stats["queued"] == 0
    d.close()


def test_flush_times_out_on_a_blocking_backend() -> None:
    backend = BlockingBackend()
    d = Dispatcher(backend, batch_size=1, flush_interval=0.01)
    try:
        d.put(Event("x"))
        assert backend.entered.wait(5)
        started = time.monotonic()
        assert d.flush(timeout=0.3) is False
        # Loose: the backend blocks for 30 s, a loaded machine is never that slow.
        assert time.monotonic() - started < 20
    finally:
        backend.release.set()
        d.close(timeout=5)


def test_close_returns_within_its_timeout_on_a_blocking_backend() -> None:
    backend = BlockingBackend()
    d = Dispatcher(backend, batch_size=1, flush_interval=0.01)
    d.put(Event("x"))
    assert backend.entered.wait(5)
    started = time.monotonic()
    d.close(timeout=0.3)
    assert time.monotonic() - started < 20  # loose: the backend blocks for 30 s
    backend.release.set()


def test_full_queue_drops_and_counts() -> None:
    backend = BlockingBackend()
    d = Dispatcher(backend, batch_size=1, flush_interval=0.01, max_queue_size=5)
    try:
        d.put(Event("first"))
        assert backend.entered.wait(5)  # the worker holds "first"; the queue is empty
        accepted = [d.put(Event("x")) for _ in range(8)]
        assert accepted == [True] * 5 + [False] * 3
        assert d.stats()["dropped"] == 3
    finally:
        backend.release.set()
        d.close(timeout=5)


def test_put_never_blocks_on_the_backend() -> None:
    backend = BlockingBackend()
    d = Dispatcher(backend, batch_size=1, flush_interval=0.01)
    try:
        d.put(Event("x"))
        assert backend.entered.wait(5)
        for _ in range(1000):
            assert d.put(Event("y"))
        # All of them returned while the worker is still inside the blocked write.
        assert not backend.release.is_set() and d.stats()["delivered"] == 0
    finally:
        backend.release.set()
        d.close(timeout=5)


@pytest.mark.parametrize("retryable", [True, False])
def test_failed_writes_are_retried_unless_marked_final(retryable: bool) -> None:
    from convsdk.errors import BackendError

    class Flaky(MemoryBackend):
        calls = 0

        def write(self, events: Sequence[Event]) -> None:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise BackendError("down", retryable=retryable)
            super().write(events)

    backend = Flaky()
    d = Dispatcher(backend, batch_size=10, flush_interval=3600)
    d.put(Event("x"))
    delivered = d.flush(timeout=5)
    d.close()
    assert delivered is retryable
    assert len(backend.events) == (1 if retryable else 0)


# -- retries ---------------------------------------------------------------------------


class Scripted(MemoryBackend):
    """Raises the scripted errors in order, then stores; records when each call came."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.errors = list(errors)
        self.calls: list[float] = []

    def write(self, events: Sequence[Event]) -> None:
        self.calls.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        super().write(events)


def test_retry_after_is_honoured() -> None:
    from convsdk.errors import BackendError

    backend = Scripted(BackendError("slow down", retry_after=0.3))
    d = Dispatcher(backend, batch_size=1, flush_interval=3600, retry_max_delay=5)
    d.put(Event("x"))
    assert d.flush(timeout=5)
    d.close()
    first, second = backend.calls
    assert second - first >= 0.29
    assert d.stats()["retried"] == 1


def test_retry_after_is_capped_by_retry_max_delay() -> None:
    from convsdk.errors import BackendError

    backend = Scripted(BackendError("come back tomorrow", retry_after=86_400))
    d = Dispatcher(backend, batch_size=1, flush_interval=3600, retry_max_delay=0.1)
    d.put(Event("x"))
    assert d.flush(timeout=5)
    d.close()
    first, second = backend.calls
    assert second - first < 2


def test_retries_are_bounded_in_attempts() -> None:
    backend = Scripted(*[ConnectionError("down")] * 10)
    d = Dispatcher(
        backend, batch_size=5, flush_interval=3600, max_retries=3, retry_base_delay=0.001
    )
    for _ in range(5):
        d.put(Event("x"))
    assert d.flush(timeout=5) is False
    d.close()
    assert len(backend.calls) == 4
    stats = d.stats()
    assert stats["retried"] == 3 and stats["dropped"] == 5 and stats["delivered"] == 0


def test_retries_are_bounded_in_time() -> None:
    from convsdk.errors import BackendError

    backend = Scripted(*[BackendError("busy", retry_after=0.1)] * 50)
    d = Dispatcher(backend, batch_size=1, flush_interval=3600, max_retries=50, retry_timeout=2.0)
    d.put(Event("x"))
    assert d.flush(timeout=30) is False
    d.close()
    # Each wait is at least the 0.1 s asked for, so 2 s of retries allow at most 21
    # writes, far from the 51 the retry count allows (and at least one retry happened).
    assert 2 <= len(backend.calls) <= 21


def test_close_cuts_a_retry_wait_short_and_spools_the_batch(tmp_path) -> None:
    from convsdk.errors import BackendError
    from convsdk.spool import Spool

    backend = Scripted(*[BackendError("busy", retry_after=30)] * 5)
    d = Dispatcher(
        backend, batch_size=1, flush_interval=0.01, retry_max_delay=30, spool=Spool(tmp_path)
    )
    event = Event("x")
    d.put(event)
    assert d.flush(timeout=0.2) is False  # the worker is waiting 30 s before its retry
    started = time.monotonic()
    assert d.close(timeout=0.5) is False
    assert time.monotonic() - started < 15  # loose: the retry wait it cut short is 30 s
    assert d.stats()["spooled"] == 1
    claim = Spool(tmp_path).claim_next()
    assert claim is not None
    assert [e.event_id for b in claim.batches(10) for _, e in b] == [event.event_id]
    claim.finish()


class RefusingBad(MemoryBackend):
    """Refuses for good any batch holding an event named "bad"; records every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def write(self, events: Sequence[Event]) -> None:
        from convsdk.errors import BackendError

        self.calls.append([str(e.properties.get("i")) for e in events])
        if any(e.name == "bad" for e in events):
            raise BackendError("400 bad payload", retryable=False)
        super().write(events)


def test_only_the_events_a_backend_refuses_for_good_are_dead_lettered(tmp_path) -> None:
    from convsdk._json import loads
    from convsdk.spool import Spool

    backend = RefusingBad()
    d = Dispatcher(backend, batch_size=4, flush_interval=3600, spool=Spool(tmp_path))
    events = [Event("bad" if i in (1, 6) else "good", properties={"i": i}) for i in range(8)]
    for e in events:
        d.put(e)
    d.flush(timeout=5)  # False, unless the worker took the batches before the flush
    d.close()
    good = [e for e in events if e.name == "good"]
    assert sorted(e.event_id for e in backend.events) == sorted(e.event_id for e in good)
    [path] = list((tmp_path / "dead-letter").glob("*.jsonl"))
    records = [loads(raw) for raw in path.read_bytes().splitlines()]
    assert [r["event"]["properties"]["i"] for r in records] == [1, 6]
    assert {r["error"] for r in records} == {"400 bad payload"}
    stats = d.stats()
    assert stats["dead_lettered"] == 2 and stats["delivered"] == 6 and stats["dropped"] == 0
    # Halves, not retries: no write is repeated.
    assert len(backend.calls) == len({tuple(c) for c in backend.calls}) == 10


# -- backpressure ----------------------------------------------------------------------


def test_drop_oldest_keeps_the_newest_events() -> None:
    backend = BlockingBackend()
    d = Dispatcher(
        backend, batch_size=1, flush_interval=0.01, max_queue_size=5, backpressure="drop_oldest"
    )
    try:
        d.put(Event("first"))
        assert backend.entered.wait(5)
        newest = [Event(f"e{i}") for i in range(8)]
        assert all(d.put(e) for e in newest)
        assert d.stats()["dropped"] == 3
        backend.release.set()
        assert d.flush(timeout=5)
        assert [e.name for e in backend.events] == ["first"] + [e.name for e in newest[3:]]
    finally:
        backend.release.set()
        d.close(timeout=5)


def test_drop_oldest_still_drops_the_oldest_behind_a_flush_marker() -> None:
    backend = BlockingBackend()
    d = Dispatcher(
        backend, batch_size=1, flush_interval=0.01, max_queue_size=5, backpressure="drop_oldest"
    )
    try:
        d.put(Event("first"))
        assert backend.entered.wait(5)
        assert all(d.put(Event(f"old{i}")) for i in range(3))
        assert d.flush(timeout=0.05) is False  # leaves its marker at the head of the queue
        newest = [Event(f"e{i}") for i in range(8)]
        assert all(d.put(e) for e in newest)
        backend.release.set()
        assert d.flush(timeout=5)
        names = [e.name for e in backend.events]
        assert names[0] == "first" and names[-1] == "e7"
        assert not any(n.startswith("old") for n in names), names
        assert d.stats()["dropped"] == 1 + 8 + 3 - len(names)
    finally:
        backend.release.set()
        d.close(timeout=5)


def test_spool_backpressure_keeps_every_event(tmp_path) -> None:
    from convsdk.spool import Spool

    backend = BlockingBackend()
    d = Dispatcher(
        backend, batch_size=1, flush_interval=0.01, max_queue_size=5, spool=Spool(tmp_path)
    )
    try:
        first = Event("first")
        d.put(first)
        assert backend.entered.wait(5)
        rest = [Event(f"e{i}") for i in range(20)]
        assert all(d.put(e) for e in rest)
        stats = d.stats()
        assert stats["queued"] <= 6 and stats["spooled"] == 15 and stats["dropped"] == 0
        backend.release.set()
        assert d.flush(timeout=5) is True  # the spool is replayed with the flush
        ids = [e.event_id for e in backend.events]
        assert sorted(ids) == sorted(e.event_id for e in [first, *rest])
        assert d.stats()["replayed"] == 15
    finally:
        backend.release.set()
        d.close(timeout=5)


def test_events_put_after_close_wait_in_the_spool(tmp_path) -> None:
    from convsdk.spool import Spool

    d = Dispatcher(MemoryBackend(), spool=Spool(tmp_path))
    d.close()
    late = Event("late")
    assert d.put(late) is True
    backend = MemoryBackend()
    d2 = Dispatcher(backend, spool=Spool(tmp_path))
    assert d2.flush(timeout=5)
    d2.close()
    assert [e.event_id for e in backend.events] == [late.event_id]


def test_without_a_spool_late_events_are_dropped_and_counted() -> None:
    d = Dispatcher(MemoryBackend())
    d.close()
    assert d.put(Event("late")) is False
    assert d.stats()["dropped"] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backpressure": "panic"}, "backpressure"),
        ({"backpressure": "spool"}, "spool"),
        ({"durable": True}, "durable"),
    ],
)
def test_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dispatcher(MemoryBackend(), **options)


def test_stats_add_up() -> None:
    backend = RecordingBackend()
    d = Dispatcher(backend, batch_size=10, flush_interval=3600, max_queue_size=50)
    for _ in range(30):
        d.put(Event("x"))
    before = d.stats()
    assert before["enqueued"] == 30
    assert before["delivered"] + before["queued"] == 30
    assert d.flush(timeout=5)
    after = d.stats()
    assert after["enqueued"] == after["delivered"] == 30 and after["queued"] == 0
    d.close()
