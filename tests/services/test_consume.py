"""consume(): Redis streams and JetStream into SQLite, against real servers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from convsdk._json import dumps
from convsdk.backends import from_url
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import read_events as sqlite_events
from convsdk.consume import consume
from convsdk.errors import BackendError, ConfigError
from convsdk.event import Event
from convsdk.testing import assert_events_equal, numbered_events, round_trip_events

pytestmark = pytest.mark.services


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/events.db"


def _stored(sqlite_url: str) -> list[Event]:
    return list(sqlite_events(sqlite_url))


class _Flaky(MemoryBackend):
    """Fails ``failures`` times (retryably), then stores; refuses events named ``refuse``."""

    def __init__(self, failures: int = 0, refuse: str | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.refuse = refuse
        self.calls = 0
        self.stored_batch = threading.Event()

    def write(self, events: Sequence[Event]) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise BackendError("down for a moment", backend="flaky")
        if any(e.name == self.refuse for e in events):
            raise BackendError("refused", backend="flaky", retryable=False)
        super().write(events)
        self.stored_batch.set()


# -- Redis ------------------------------------------------------------------------------


@pytest.fixture
def redis_client(redis_url: str) -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _key(stream_url: str) -> str:
    return urlsplit(stream_url).path.split("/", 2)[2]


def _publish_redis(stream_url: str, events: list[Event]) -> None:
    backend = from_url(stream_url)
    try:
        backend.write(events)
    finally:
        backend.close()


def test_redis_into_sqlite(redis_stream_url: str, redis_client: Any, tmp_path: Path) -> None:
    events = round_trip_events() + numbered_events(250)
    _publish_redis(redis_stream_url, events)
    into = _sqlite(tmp_path)
    moved = consume(redis_stream_url, into, batch_size=100, max_events=len(events), idle_timeout=10)
    assert moved == len(events)
    assert_events_equal(events, _stored(into), ordered=False)
    assert redis_client.xpending(_key(redis_stream_url), "convsdk")["pending"] == 0


def test_redis_poison_messages_are_acked_and_skipped(
    redis_stream_url: str, redis_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = _key(redis_stream_url)
    good = numbered_events(6)
    _publish_redis(redis_stream_url, good[:3])
    redis_client.xadd(key, {"event_id": "x1", "data": b"{not json"})
    redis_client.xadd(key, {"event_id": "x2", "data": dumps({"name": "bad name!"})})
    redis_client.xadd(key, {"event_id": "x3", "data": b"[1, 2]"})
    redis_client.xadd(key, {"something": "else"})
    _publish_redis(redis_stream_url, good[3:])
    into = _sqlite(tmp_path)
    moved = consume(redis_stream_url, into, max_events=6, idle_timeout=10)
    assert moved == 6
    assert_events_equal(good, _stored(into), ordered=False)
    assert redis_client.xpending(key, "convsdk")["pending"] == 0
    skipped = [r for r in caplog.records if r.name == "convsdk.consume" and "skipped" in r.message]
    assert len(skipped) == 4


def test_redis_pending_entries_come_back_after_a_crash(
    redis_stream_url: str, redis_client: Any, tmp_path: Path
) -> None:
    key = _key(redis_stream_url)
    events = numbered_events(10)
    _publish_redis(redis_stream_url, events)
    # A consumer read four entries and died before acknowledging them.
    redis_client.xgroup_create(key, "shop", id="0")
    read = redis_client.xreadgroup("shop", "worker-1", {key: ">"}, count=4)
    assert len(read[0][1]) == 4
    assert redis_client.xpending(key, "shop")["pending"] == 4
    into = _sqlite(tmp_path)
    moved = consume(
        redis_stream_url, into, group="shop", consumer="worker-1", max_events=10, idle_timeout=10
    )
    assert moved == 10
    assert_events_equal(events, _stored(into), ordered=False)
    assert redis_client.xpending(key, "shop")["pending"] == 0


def test_redis_entries_a_vanished_consumer_left_are_claimed(
    redis_stream_url: str, redis_client: Any, tmp_path: Path
) -> None:
    key = _key(redis_stream_url)
    events = numbered_events(10)
    _publish_redis(redis_stream_url, events)
    # A consumer on another host read four entries and was never seen again.
    redis_client.xgroup_create(key, "shop", id="0")
    assert len(redis_client.xreadgroup("shop", "gone-host", {key: ">"}, count=4)[0][1]) == 4
    into = _sqlite(tmp_path)
    moved = consume(
        redis_stream_url,
        into,
        group="shop",
        consumer="new-host",
        max_events=10,
        idle_timeout=10,
        claim_idle=0,
    )
    assert moved == 10
    assert_events_equal(events, _stored(into), ordered=False)
    assert redis_client.xpending(key, "shop")["pending"] == 0


def test_redis_destination_failures_are_retried_before_acking(
    redis_stream_url: str, redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    events = numbered_events(5)
    _publish_redis(redis_stream_url, events)
    flaky = _Flaky(failures=2)
    assert consume(redis_stream_url, flaky, max_events=5, idle_timeout=10) == 5
    assert flaky.calls == 3
    assert_events_equal(events, flaky.events)
    assert not flaky.closed  # an instance handed in belongs to the caller
    assert redis_client.xpending(_key(redis_stream_url), "convsdk")["pending"] == 0


def test_an_event_the_destination_refuses_is_skipped_alone(
    redis_stream_url: str, redis_client: Any
) -> None:
    events = numbered_events(7)
    events[4].name = "refused"
    _publish_redis(redis_stream_url, events)
    flaky = _Flaky(refuse="refused")
    assert consume(redis_stream_url, flaky, max_events=6, idle_timeout=10) == 6
    assert_events_equal(events[:4] + events[5:], flaky.events, ordered=False)
    assert redis_client.xpending(_key(redis_stream_url), "convsdk")["pending"] == 0


def _returns(call: Any) -> Any:
    """What ``call()`` returns, run in a thread: a call that never returns fails the
    test (after two minutes, far beyond any idle timeout here) instead of hanging it."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "consume() never returned"
    assert result, "consume() raised (see the thread's traceback)"
    return result[0]


def test_idle_timeout_returns_on_a_quiet_stream(redis_stream_url: str) -> None:
    quiet = _returns(
        lambda: consume(redis_stream_url, MemoryBackend(), idle_timeout=0.3, create_stream=True)
    )
    assert quiet == 0


def test_a_misspelt_redis_stream_is_an_error_naming_the_stream_that_exists(
    redis_stream_url: str, redis_client: Any
) -> None:
    _publish_redis(redis_stream_url, numbered_events(1))
    key = _key(redis_stream_url)
    typo = redis_stream_url.replace(key, key[:-1], 1)
    with pytest.raises(ConfigError, match="did you mean") as caught:
        consume(typo, MemoryBackend(), idle_timeout=5)
    assert caught.value.field == "source"
    assert repr(key) in str(caught.value)
    assert not redis_client.exists(key[:-1])  # no empty stream left behind


def test_create_stream_lets_a_consumer_start_before_the_site(
    redis_stream_url: str, redis_client: Any
) -> None:
    assert consume(redis_stream_url, MemoryBackend(), idle_timeout=0.2, create_stream=True) == 0
    assert redis_client.exists(_key(redis_stream_url))
    _publish_redis(redis_stream_url, numbered_events(2))
    assert consume(redis_stream_url, MemoryBackend(), max_events=2, idle_timeout=10) == 2


def test_stop_ends_a_running_consumer(redis_stream_url: str) -> None:
    _publish_redis(redis_stream_url, numbered_events(3))
    sink = _Flaky()
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(consume(redis_stream_url, sink, stop=stop, idle_timeout=30)),
        daemon=True,
    )
    worker.start()
    assert sink.stored_batch.wait(10)  # then it waits for more, until stopped
    stop.set()
    worker.join(5)
    assert not worker.is_alive()
    assert result == [3]


def test_a_destination_failing_longer_than_idle_timeout_raises(
    redis_stream_url: str, redis_client: Any
) -> None:
    _publish_redis(redis_stream_url, numbered_events(2))
    with pytest.raises(BackendError, match="down for a moment"):
        consume(redis_stream_url, _Flaky(failures=1000), idle_timeout=0.5)
    # Nothing was acknowledged: the next run gets the events again.
    assert redis_client.xpending(_key(redis_stream_url), "convsdk")["pending"] == 2


# -- NATS JetStream ---------------------------------------------------------------------


def _publish_nats(stream_url: str, events: list[Event]) -> None:
    backend = from_url(stream_url)
    try:
        # Retried as the dispatcher would: a nats-server creating this stream while
        # another run deletes the last one can fail once ("error creating store").
        for attempt in range(3):
            try:
                backend.write(events)
                return
            except BackendError as exc:
                if not exc.retryable or attempt == 2:
                    raise
    finally:
        backend.close()


def test_nats_into_sqlite(nats_stream_url: str, tmp_path: Path) -> None:
    events = round_trip_events() + numbered_events(250)
    _publish_nats(nats_stream_url, events)
    into = _sqlite(tmp_path)
    moved = consume(nats_stream_url, into, batch_size=100, max_events=len(events), idle_timeout=10)
    assert moved == len(events)
    assert_events_equal(events, _stored(into), ordered=False)


def test_nats_poison_messages_are_acked_and_skipped(
    nats_stream_url: str, jetstream: Any, tmp_path: Path
) -> None:
    from convsdk.backends.nats import NATSTarget

    target = NATSTarget.from_url(nats_stream_url)
    good = numbered_events(4)
    _publish_nats(nats_stream_url, good[:2])

    async def poison(js: Any) -> None:
        await js.publish(target.subject, b"{not json")
        await js.publish(target.subject, dumps({"name": "x", "timestamp": "yesterday"}))

    jetstream(poison)
    _publish_nats(nats_stream_url, good[2:])
    into = _sqlite(tmp_path)
    assert consume(nats_stream_url, into, group="poison", max_events=4, idle_timeout=10) == 4
    assert_events_equal(good, _stored(into), ordered=False)

    async def pending(js: Any) -> tuple[int, int]:
        info = await js.consumer_info(target.stream, "poison")
        return info.num_pending, info.num_ack_pending

    assert jetstream(pending) == (0, 0)


def test_nats_unacked_messages_are_redelivered_after_a_crash(
    nats_stream_url: str, jetstream: Any, tmp_path: Path
) -> None:
    from nats.js.api import ConsumerConfig

    from convsdk.backends.nats import NATSTarget

    target = NATSTarget.from_url(nats_stream_url)
    events = numbered_events(10)
    _publish_nats(nats_stream_url, events)

    async def crash(js: Any) -> int:
        # A consumer fetches five messages and dies without acknowledging them.
        sub = await js.pull_subscribe(
            target.subject,
            durable="crashy",
            stream=target.stream,
            config=ConsumerConfig(ack_wait=1.0),
        )
        return len(await sub.fetch(5, timeout=5))

    assert jetstream(crash) == 5
    into = _sqlite(tmp_path)
    moved = consume(
        f"{nats_stream_url}&ack_wait=1", into, group="crashy", max_events=10, idle_timeout=10
    )
    assert moved == 10
    assert_events_equal(events, _stored(into), ordered=False)


def test_nats_idle_timeout_returns_on_a_quiet_stream(nats_stream_url: str) -> None:
    quiet = _returns(
        lambda: consume(nats_stream_url, MemoryBackend(), idle_timeout=0.3, create_stream=True)
    )
    assert quiet == 0


def test_a_missing_jetstream_stream_is_an_error_naming_the_stream_that_exists(
    nats_stream_url: str, jetstream: Any
) -> None:
    from convsdk.backends.nats import NATSTarget

    _publish_nats(nats_stream_url, numbered_events(1))
    stream = NATSTarget.from_url(nats_stream_url).stream
    typo = nats_stream_url.replace(f"stream={stream}", f"stream={stream[:-1]}", 1)
    with pytest.raises(ConfigError, match="did you mean") as caught:
        consume(typo, MemoryBackend(), idle_timeout=5)
    assert caught.value.field == "source"
    assert repr(stream) in str(caught.value)

    async def names(js: Any) -> list[str]:
        return [info.config.name for info in await js.streams_info()]

    assert stream[:-1] not in jetstream(names)


def test_a_source_unreachable_for_the_whole_idle_timeout_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(BackendError, match="127.0.0.1:1"):
        consume("redis://127.0.0.1:1/0/convsdk:none", MemoryBackend(), idle_timeout=0.5)
    assert any("reading the source failed" in r.message for r in caplog.records)


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"max_events": -1}, "max_events"),
        ({"group": ""}, "group"),
    ],
)
def test_bad_options_are_config_errors(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        consume("redis://127.0.0.1:6379/0/x", MemoryBackend(), **kwargs)
    assert caught.value.field == field


def test_an_unsupported_source_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        consume("kafka://broker/events", MemoryBackend())
    assert caught.value.field == "source"
    with pytest.raises(ConfigError) as caught:
        consume("nats://127.0.0.1:4222/x", MemoryBackend(), group="has.dots")
    assert caught.value.field == "group"


def test_the_command_says_a_stream_is_missing_in_one_line(
    redis_stream_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from convsdk.cli import main

    status = main(["consume", redis_stream_url, "--into", _sqlite(tmp_path), "--idle-timeout", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("convsdk: error: ") and err.count("\n") == 1
    assert "there is no stream" in err
