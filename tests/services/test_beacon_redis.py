"""The collect endpoint's rate limits in a real Redis: shared by workers, atomic, expiring."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from convsdk import Tracker
from convsdk.backends import from_url
from convsdk.backends.memory import MemoryBackend
from convsdk.beacon import BeaconEndpoint
from convsdk.identity import Identity
from convsdk.ratelimit import FallbackStore, Limit, store_from_url

pytest.importorskip("redis")

import redis  # noqa: E402

from convsdk.ratelimit.redis import RedisStore  # noqa: E402

pytestmark = pytest.mark.services

SECRET = "s3cret"
COLLECT = "/_convsdk/collect"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted after the test."""
    name = f"convsdk:test:limit:{uuid.uuid4().hex[:12]}:"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=name + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def worker(tracker: Tracker, **options: object) -> Client:
    """One worker's collect endpoint, its own store and connections."""
    endpoint = BeaconEndpoint(
        tracker,
        browser_events=["scroll_depth"],
        secret_key=SECRET,
        allowed_hosts=["localhost"],
        **options,  # type: ignore[arg-type]
    )
    return Client(endpoint.wrap_wsgi(lambda environ, start_response: []))


def send(client: Client, cookies: list[str], events: int) -> int:
    for cookie in cookies:
        name, value = cookie.split("=", 1)
        client.set_cookie(name, value)
    body = json.dumps({"events": [{"name": "scroll_depth", "properties": {"depth": 25}}] * events})
    headers = {"Origin": "http://localhost", "User-Agent": "Mozilla/5.0 (X11) Firefox/126.0"}
    return client.post(COLLECT, data=body, headers=headers).status_code


def test_workers_share_one_limit_through_redis(redis_url: str, prefix: str) -> None:
    cookies = [c.split(";", 1)[0] for c in Identity(SECRET).resolve(None)[2]]
    url = f"{redis_url}?prefix={prefix}"
    with Tracker(backend=MemoryBackend(), spool_dir=None, secret_key=SECRET) as tracker:
        first = worker(tracker, rate_limit_url=url, rate_limit=(20, 3600.0))
        second = worker(tracker, rate_limit_url=url, rate_limit=(20, 3600.0))
        assert send(first, cookies, 15) == 204
        assert send(second, cookies, 10) == 429  # 25 > 20, whichever worker counts
        assert send(second, cookies, 5) == 204
        assert send(first, cookies, 1) == 429


def test_a_redis_backend_is_reused_for_the_limits(redis_stream_url: str) -> None:
    cookies = [c.split(";", 1)[0] for c in Identity(SECRET).resolve(None)[2]]
    backend = from_url(redis_stream_url)
    with Tracker(backend=backend, spool_dir=None, secret_key=SECRET) as tracker:
        workers = [worker(tracker, rate_limit=(20, 3600.0)) for _ in range(2)]
        assert send(workers[0], cookies, 20) == 204
        assert send(workers[1], cookies, 1) == 429


def test_a_take_is_atomic_over_its_keys_and_expires(redis_url: str, prefix: str) -> None:
    store = store_from_url(f"{redis_url}?prefix={prefix}")
    assert isinstance(store, RedisStore)
    client = redis.Redis.from_url(redis_url)
    try:
        visitor, network = Limit("v:1", 10, 60.0), Limit("net:x", 15, 60.0)
        assert store.take([visitor, network], 10, 1000.0) == 0.0
        # The visitor is spent: the refused take leaves the network's count alone.
        assert store.take([visitor, network], 5, 1000.0) == pytest.approx(30.0)
        assert store.take([Limit("v:2", 10, 60.0), network], 5, 1000.0) == 0.0
        assert store.take([Limit("v:3", 10, 60.0), network], 1, 1000.0) == pytest.approx(4.0)
        assert store.take([visitor, network], 1, 1006.0) == 0.0
        # Each key lives until its bucket is full again, no longer.
        assert 0 < client.pttl(prefix + "v:1") <= 60_001  # rounded up, plus 1 ms
    finally:
        client.close()
        store.close()


def test_an_unreachable_redis_leaves_a_limit_per_process() -> None:
    store = FallbackStore(store_from_url("redis://127.0.0.1:9/0"))  # the discard port
    limit = [Limit("v:1", 2, 60.0)]
    assert store.take(limit, 2, 0.0) == 0.0
    assert store.take(limit, 1, 0.0) > 0
