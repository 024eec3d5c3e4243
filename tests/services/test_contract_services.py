"""The backend contract kit run on the backends that talk to a server: HTTP (through the
collector, on loopback), and PostgreSQL, Redis and NATS (the service fixtures of
conftest.py, which skip or fail per CONVSDK_REQUIRE_SERVICES)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from convsdk.backends.memory import MemoryBackend
from convsdk.errors import BackendError
from convsdk.event import Event
from convsdk.testing import BackendContract

# -- HTTP: HTTPBackend -> collector (uvicorn, loopback) -> memory ----------------------


class _Sink(MemoryBackend):
    """The collector's store; ``broken`` makes it fail as a database that went away."""

    broken = False

    def write(self, events: Sequence[Event]) -> None:
        if self.broken:
            raise BackendError("the store is down", backend="sink")
        super().write(events)


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        ready = threading.Event()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets=sockets)
            finally:
                self.ready.set()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="none", timeout_graceful_shutdown=2
    )
    server = Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(10) and server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[str, _Sink]]:
    """The collector on loopback, storing in a :class:`_Sink`: (ingest URL, sink)."""
    pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    from convsdk.collector import Bounds, create_app

    sink = _Sink()
    # The contract's events reach 2099 and 1e15: wider than a collector's default bounds.
    wide = Bounds(
        max_value=1e300,
        max_future=timedelta(days=365 * 200),
        earliest=datetime.min.replace(tzinfo=UTC),
    )
    with _serving(create_app(sink, bounds=wide)) as base:
        yield f"{base}/ingest", sink


class TestHTTPBackend(BackendContract):
    supports_dedupe = False  # the collector stores what it is sent; sinks drop duplicates
    preserves_order = True
    url_query_is_passed_on = True  # other query parameters are the endpoint's

    @pytest.fixture(autouse=True)
    def _collector(self, collector: tuple[str, _Sink]) -> None:
        self.ingest, self.sink = collector
        self.sink.clear()
        self.sink.broken = False

    def make_backend(self, tmp_path: Path) -> Any:
        from convsdk.backends.http import HTTPBackend

        return HTTPBackend(self.ingest, timeout=10)

    def read_back(self, backend: Any) -> list[Event]:
        return self.sink.events

    def break_backend(self, backend: Any) -> None:
        self.sink.broken = True

    def repair_backend(self, backend: Any) -> None:
        self.sink.broken = False

    def make_url(self, tmp_path: Path) -> str:
        return f"{self.ingest}?gzip=1"


# -- PostgreSQL ---------------------------------------------------------------------------


class TestPostgresBackend(BackendContract):
    supports_dedupe = True
    preserves_order = False  # read back ordered by timestamp

    @pytest.fixture(autouse=True)
    def _table(self, postgres_url: str, postgres_events_url: str) -> None:
        from convsdk.backends.postgres import migrate

        # A table of the test's own (dropped by the fixture), created up front so that
        # reading back before any write finds it empty.
        self.server, self.url = postgres_url, postgres_events_url
        self.table = parse_qs(urlsplit(self.url).query)["table"][0]
        migrate(self.url)

    def make_backend(self, tmp_path: Path) -> Any:
        from convsdk.backends.postgres import PostgresBackend

        return PostgresBackend.from_url(self.url)

    def read_back(self, backend: Any) -> list[Event]:
        from convsdk.backends.postgres import read_events

        return list(read_events(self.url))

    def break_backend(self, backend: Any) -> None:
        import psycopg

        # The table vanishes under the backend's open connection.
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'DROP TABLE "{self.table}"')

    def repair_backend(self, backend: Any) -> None:
        from convsdk.backends.postgres import migrate

        migrate(self.url)

    def make_url(self, tmp_path: Path) -> str:
        return self.url


# -- Redis (a stream) ---------------------------------------------------------------------


class TestRedisBackend(BackendContract):
    supports_dedupe = False  # consumers drop duplicates by event_id
    preserves_order = True

    @pytest.fixture(autouse=True)
    def _stream(self, redis_url: str, redis_stream_url: str) -> Iterator[None]:
        import redis

        self.url = redis_stream_url  # /db/key: a stream of the test's own
        self.stream = unquote(urlsplit(self.url).path.split("/", 2)[2])
        self.client = redis.Redis.from_url(redis_url)
        yield
        self.client.close()

    def make_backend(self, tmp_path: Path) -> Any:
        from convsdk.backends.redis import RedisBackend

        return RedisBackend.from_url(self.url)

    def read_back(self, backend: Any) -> list[Event]:
        from convsdk._json import loads

        entries = self.client.xrange(self.stream, "-", "+")
        return [Event.from_dict(loads(fields[b"data"])) for _, fields in entries]

    def break_backend(self, backend: Any) -> None:
        # The key holds a string now: every XADD to it is refused (WRONGTYPE).
        self.client.delete(self.stream)
        self.client.set(self.stream, "not a stream")

    def repair_backend(self, backend: Any) -> None:
        self.client.delete(self.stream)

    def make_url(self, tmp_path: Path) -> str:
        return self.url


# -- NATS JetStream -----------------------------------------------------------------------


async def _stream_events(js: Any, stream: str, subject: str) -> list[Event]:
    """Every message of ``stream``, read by an ephemeral pull consumer, as events."""
    import nats.js.errors
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    from convsdk._json import loads

    try:
        total = (await js.stream_info(stream)).state.messages
    except nats.js.errors.NotFoundError:
        return []  # nothing was ever written
    if not total:
        return []
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    messages: list[Any] = []
    while len(messages) < total:
        messages += await sub.fetch(min(total - len(messages), 500), timeout=10)
    await sub.unsubscribe()
    return [Event.from_dict(loads(message.data)) for message in messages]


class TestNATSBackend(BackendContract):
    supports_dedupe = True  # Nats-Msg-Id: JetStream drops a message sent again
    preserves_order = True

    @pytest.fixture(autouse=True)
    def _stream(self, nats_stream_url: str, jetstream: Any) -> None:
        from convsdk.backends.nats import NATSTarget

        self.url, self.jetstream = nats_stream_url, jetstream  # a stream of the test's own
        target = NATSTarget.from_url(self.url)
        self.stream, self.subject = target.stream, target.subject

    def make_backend(self, tmp_path: Path) -> Any:
        from convsdk.backends.nats import NATSBackend

        return NATSBackend.from_url(self.url)

    def read_back(self, backend: Any) -> list[Event]:
        events: list[Event] = self.jetstream(
            lambda js: _stream_events(js, self.stream, self.subject), timeout=30
        )
        return events

    def break_backend(self, backend: Any) -> None:
        # The stream vanishes: nothing acknowledges what the backend publishes.
        self.jetstream(lambda js: js.delete_stream(self.stream))

    def repair_backend(self, backend: Any) -> None:
        pass  # the backend creates the stream again when it finds it missing

    def make_url(self, tmp_path: Path) -> str:
        return self.url
