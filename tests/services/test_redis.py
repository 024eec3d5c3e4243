"""RedisBackend against a real Redis server: stream entries, MAXLEN, failures."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from convsdk._json import loads
from convsdk.backends import from_url
from convsdk.errors import BackendError, ConfigError
from convsdk.event import Event
from convsdk.testing import assert_events_equal, numbered_events, round_trip_events

pytest.importorskip("redis")

import redis  # noqa: E402

from convsdk.backends.redis import RedisBackend  # noqa: E402

pytestmark = pytest.mark.services


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _key(stream_url: str) -> str:
    return urlsplit(stream_url).path.split("/", 2)[2]


def test_round_trip_of_every_field(redis_stream_url: str, client: redis.Redis) -> None:
    events = round_trip_events()
    backend = from_url(redis_stream_url)
    try:
        backend.write(events)
    finally:
        backend.close()
    entries = client.xrange(_key(redis_stream_url), "-", "+")
    assert [set(fields) for _, fields in entries] == [{b"event_id", b"data"}] * len(events)
    assert [fields[b"event_id"].decode() for _, fields in entries] == [e.event_id for e in events]
    back = [Event.from_dict(loads(fields[b"data"])) for _, fields in entries]
    assert_events_equal(events, back)


def test_query_string_form_is_the_same_stream(
    redis_url: str, redis_stream_url: str, client: redis.Redis
) -> None:
    key = _key(redis_stream_url)
    backend = from_url(f"{redis_url}?stream={key}&maxlen=0")
    try:
        backend.write(numbered_events(3))
    finally:
        backend.close()
    assert client.xlen(key) == 3


def test_maxlen_caps_the_stream(redis_stream_url: str, client: redis.Redis) -> None:
    backend = from_url(f"{redis_stream_url}?maxlen=100")
    try:
        for _ in range(10):
            backend.write(numbered_events(100))
    finally:
        backend.close()
    # "MAXLEN ~" trims whole radix-tree nodes: the stream keeps at least the cap and at
    # most one node more.
    node = int(client.config_get("stream-node-max-entries")["stream-node-max-entries"])
    assert 100 <= client.xlen(_key(redis_stream_url)) <= 100 + node


def test_maxlen_zero_means_no_cap(redis_stream_url: str, client: redis.Redis) -> None:
    backend = RedisBackend.from_url(redis_stream_url, maxlen=0)
    try:
        for _ in range(3):
            backend.write(numbered_events(500))
    finally:
        backend.close()
    assert client.xlen(_key(redis_stream_url)) == 1500


def test_a_killed_connection_is_replaced(redis_stream_url: str, client: redis.Redis) -> None:
    name = f"convsdk-test-{_key(redis_stream_url)[-12:]}"
    backend = from_url(redis_stream_url, client_name=name)
    first, second = numbered_events(10, tag="first"), numbered_events(10, tag="second")
    try:
        backend.write(first)
        killed = [c for c in client.client_list() if c.get("name") == name]
        assert len(killed) == 1
        client.client_kill_filter(_id=killed[0]["id"])
        backend.write(second)  # the pool notices the closed socket and reconnects
    finally:
        backend.close()
    entries = client.xrange(_key(redis_stream_url), "-", "+")
    assert [f[b"event_id"].decode() for _, f in entries] == [e.event_id for e in first + second]


def test_unreachable_server_raises_a_retryable_error() -> None:
    backend = from_url("redis://127.0.0.1:1/0/convsdk:none")
    try:
        with pytest.raises(BackendError) as caught:
            backend.write(numbered_events(1))
    finally:
        backend.close()
    assert caught.value.retryable and caught.value.backend == "redis"


def test_a_key_of_another_type_is_retryable_and_the_batch_goes_through_once_fixed(
    redis_stream_url: str, client: redis.Redis
) -> None:
    # A store misconfigured at run time keeps the events (spooled, retried), rather
    # than dead-lettering every batch until someone notices.
    client.set(_key(redis_stream_url), "not a stream")
    backend = from_url(redis_stream_url)
    try:
        with pytest.raises(BackendError) as caught:
            backend.write(numbered_events(3))
        assert caught.value.retryable
        assert "WRONGTYPE" in str(caught.value)
        client.delete(_key(redis_stream_url))
        backend.write(numbered_events(3))  # the connection is still usable
        assert client.xlen(_key(redis_stream_url)) == 3
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("redis://127.0.0.1:6379/0/a?stream=b", "stream"),
        ("redis://127.0.0.1:6379/0?maxlen=-1", "maxlen"),
        ("redis://127.0.0.1:6379/0?maxlen=lots", "maxlen"),
        ("redis://127.0.0.1:6379/x/stream", "db"),
        ("redis://127.0.0.1:6379/0/s?socket_timout=3", "socket_timout"),
    ],
)
def test_bad_urls_are_config_errors(url: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_url(url)
    assert caught.value.field == field


def test_an_unknown_keyword_option_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        from_url("redis://127.0.0.1:6379/0/s", bogus=1)
    assert caught.value.field == "bogus"


def test_a_server_refusing_the_connection_is_a_backend_error(redis_url: str) -> None:
    parts = urlsplit(redis_url)
    backend = from_url(parts._replace(path="/9999/convsdk:none").geturl())  # no such db
    try:
        with pytest.raises(BackendError, match="DB index"):
            backend.write(numbered_events(1))
    finally:
        backend.close()


def test_defaults() -> None:
    backend = RedisBackend.from_url("redis://127.0.0.1:6379")
    try:
        assert backend.stream == "convsdk:events"
    finally:
        backend.close()
