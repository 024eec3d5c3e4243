"""Fixtures for tests against real servers: PostgreSQL, Redis and NATS with JetStream.

The server fixtures check that the server answers (a TCP connect plus a protocol ping,
two seconds at most, once per session) and skip the test when it does not, or fail it
when ``CONVSDK_REQUIRE_SERVICES=1`` (CI, where the servers must be up). Addresses come
from ``CONVSDK_TEST_POSTGRES_URL``, ``CONVSDK_TEST_REDIS_URL`` and ``CONVSDK_TEST_NATS_URL``
and default to the usual ports on 127.0.0.1.

``postgres_url``, ``redis_url``, ``nats_url``
    the server, as a URL without table, stream or subject;
``postgres_events_url``, ``redis_stream_url``, ``nats_stream_url``
    a backend URL naming a table / stream key / subject and stream of the test's own,
    removed after the test;
``jetstream``
    runs ``async def f(js)`` against the NATS server (for reading back, cleaning up).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "CONVSDK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CONVSDK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("CONVSDK_TEST_NATS_URL", "nats://127.0.0.1:4222")
PING_TIMEOUT = 2.0

_checked: dict[str, str | None] = {}  # service -> why it is unusable (None: fine)


def _tcp(url: str, default_port: int) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection(
        (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=PING_TIMEOUT
    )


def _ping_postgres() -> None:
    import psycopg

    _tcp(POSTGRES_URL, 5432).close()
    with psycopg.connect(POSTGRES_URL, connect_timeout=int(PING_TIMEOUT)) as conn:
        conn.execute("SELECT 1").fetchone()


def _ping_redis() -> None:
    import redis

    _tcp(REDIS_URL, 6379).close()
    client = redis.Redis.from_url(
        REDIS_URL, socket_timeout=PING_TIMEOUT, socket_connect_timeout=PING_TIMEOUT
    )
    try:
        if not client.ping():
            raise ConnectionError("PING was not answered with PONG")
    finally:
        client.close()


def _ping_nats() -> None:
    pytest.importorskip("nats")
    with _tcp(NATS_URL, 4222) as sock:
        reader = sock.makefile("rb")
        line = reader.readline(65536)
        if not line.startswith(b"INFO "):
            raise ConnectionError(f"not a NATS server: {line[:40]!r}")
        if not json.loads(line[5:]).get("jetstream"):
            raise ConnectionError("the NATS server runs without JetStream (start it with -js)")
        sock.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        answer = reader.readline(1024)
        if answer != b"PONG\r\n":
            raise ConnectionError(f"PING was answered with {answer[:40]!r}")


#: A stream the tests keep on the server and never delete. The server removes its store
#: folder of streams with the last stream, and a stream another run of the tests creates
#: at that moment (two runs at once: CI beside a developer's) fails: "could not create
#: storage directory". With this one there, the folder stays.
ANCHOR_STREAM = "CONVSDK_TEST_ANCHOR"


def _ping_nats_and_anchor() -> None:
    _ping_nats()
    import nats

    async def anchor() -> None:
        client = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
        try:  # the same stream again is no error: runs at once may both ask for it
            await client.jetstream().add_stream(name=ANCHOR_STREAM, subjects=["convsdk.anchor"])
        finally:
            await client.close()

    asyncio.run(anchor())


def _require(service: str, url: str, ping: Callable[[], None]) -> None:
    if service not in _checked:
        try:
            ping()
            _checked[service] = None
        except Exception as exc:
            _checked[service] = f"{type(exc).__name__}: {exc}"
    reason = _checked[service]
    if reason is None:
        return
    where = urlsplit(url)
    message = f"{service} not reachable on {where.hostname}:{where.port} ({reason})"
    if os.environ.get("CONVSDK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; CONVSDK_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{message}; set CONVSDK_REQUIRE_SERVICES=1 to fail instead")


def unique(prefix: str) -> str:
    """A name no other test (or test run) uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# -- the servers ------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL server, e.g. ``postgresql://postgres@127.0.0.1:5432/test``."""
    _require("PostgreSQL", POSTGRES_URL, _ping_postgres)
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    """The Redis server and database, e.g. ``redis://127.0.0.1:6379/0``."""
    _require("Redis", REDIS_URL, _ping_redis)
    return REDIS_URL


@pytest.fixture
def nats_url() -> str:
    """The NATS server (JetStream enabled), e.g. ``nats://127.0.0.1:4222``."""
    _require("NATS", NATS_URL, _ping_nats_and_anchor)
    return NATS_URL


# -- names of the test's own ------------------------------------------------------------


@pytest.fixture
def postgres_events_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` with ``?table=`` a new table, dropped after the test."""
    import psycopg

    table = unique("convsdk_test_")
    yield f"{postgres_url}{'&' if '?' in postgres_url else '?'}table={table}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture
def redis_stream_url(redis_url: str) -> Iterator[str]:
    """``redis_url`` naming a new stream key (``/db/key``), deleted after the test."""
    import redis

    key = unique("convsdk:test:")
    parts = urlsplit(redis_url)
    db = parts.path.strip("/") or "0"
    yield parts._replace(path=f"/{db}/{key}").geturl()
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(key)
    finally:
        client.close()


class JetStreamTool:
    """Runs coroutines against the NATS server, each on a fresh connection."""

    def __init__(self, server: str) -> None:
        self.server = server

    def __call__(self, work: Callable[[Any], Awaitable[T]], timeout: float = 10.0) -> T:
        """``work(js)`` with ``js`` a JetStream context; its result."""
        import nats

        async def main() -> T:
            client = await nats.connect(self.server, connect_timeout=2, allow_reconnect=False)
            try:
                return await asyncio.wait_for(work(client.jetstream()), timeout)
            finally:
                await client.close()

        return asyncio.run(main())


@pytest.fixture
def jetstream(nats_url: str) -> JetStreamTool:
    """Run ``async def work(js)`` against the NATS server: ``jetstream(work)``."""
    return JetStreamTool(nats_url)


@pytest.fixture
def nats_stream_url(nats_url: str, jetstream: JetStreamTool) -> Iterator[str]:
    """``nats_url`` with a new subject and ``?stream=`` a new stream, deleted after."""
    import nats.js.errors

    token = uuid.uuid4().hex[:12]
    stream = f"CONVSDK_TEST_{token.upper()}"
    yield f"{nats_url.rstrip('/')}/convsdk.test.{token}?stream={stream}"

    async def delete(js: Any) -> None:
        try:
            await js.delete_stream(stream)
        except nats.js.errors.NotFoundError:
            pass

    jetstream(delete)
