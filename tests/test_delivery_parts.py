"""The small parts of convsdk.delivery on their own: retry policy, health, counters."""

from __future__ import annotations

import threading

from convsdk.delivery import Counters, RetryPolicy, retryable
from convsdk.delivery.controls import Marker
from convsdk.delivery.health import BackendHealth
from convsdk.errors import BackendError


def test_retry_delays_grow_with_full_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, max_retries=5, timeout=10.0)
    for attempt in range(80):
        delay = policy.delay(attempt, RuntimeError("down"))
        assert 0.0 <= delay <= min(1.0, 0.1 * 2**attempt)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.0, max_delay=2.0)
    error = BackendError("slow down", backend="x", retry_after=1.5)
    assert policy.delay(0, error) == 1.5
    error.retry_after = 60
    assert policy.delay(0, error) == 2.0
    error.retry_after = float("nan")
    assert policy.delay(0, error) == 0.0


def test_retryable_is_false_only_for_errors_refused_for_good() -> None:
    assert retryable(RuntimeError("boom"))
    assert retryable(BackendError("down", backend="x"))
    assert not retryable(BackendError("bad event", backend="x", retryable=False))
    assert RetryPolicy().in_time(59.0, 1.0)
    assert not RetryPolicy().in_time(59.5, 1.0)


def test_health_backs_off_while_down_and_recovers() -> None:
    health = BackendHealth(max_delay=4.0)
    assert not health.waiting(0.0)
    assert not health.succeeded()
    delays = []
    for _ in range(5):
        health.failed()
        delays.append(health.probe_delay)
    assert delays == [2.0, 4.0, 4.0, 4.0, 4.0]
    assert not health.healthy
    assert health.succeeded()
    assert health.healthy


def test_counters_snapshot_counts_events_not_controls() -> None:
    counters = Counters(threading.Lock())
    counters.taken, counters.delivered, counters.dropped = 5, 4, 1
    items: list[object] = ["event", Marker(0.0, 0), "event"]
    stats = counters.snapshot(items, 1, None)
    assert stats["queued"] == 3
    assert stats["enqueued"] == 5 + 3 - 1
    assert stats["delivered"] == 4 and stats["dropped"] == 1
    assert counters.losses(None) == 1
