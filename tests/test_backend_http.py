"""HTTPBackend against real servers on loopback: the collector, and a scripted one."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

import convsdk  # noqa: E402
from convsdk import BackendError, ConfigError  # noqa: E402
from convsdk.backends import from_url  # noqa: E402
from convsdk.backends.http import USER_AGENT, HTTPBackend, parse_retry_after  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.collector import Bounds, create_app  # noqa: E402
from convsdk.event import Event, make_event  # noqa: E402
from convsdk.testing import BackendContract  # noqa: E402

TOKEN = "s3cret-token-value"


class _Server(uvicorn.Server):
    """uvicorn that signals when it listens (or failed to start)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every response waits for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="none", timeout_graceful_shutdown=2
    )
    server = _Server(config)
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


@pytest.fixture
def collector(memory: MemoryBackend) -> Iterator[str]:
    """The collector, storing in ``memory``; yields its ingest URL."""
    with serving(create_app(memory)) as base:
        yield f"{base}/ingest"


class Recorder:
    """A scripted server: records what it receives, answers what a test asks for."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/record", self.record, methods=["POST"]),
                Route("/status/{code:int}", self.status, methods=["POST"]),
            ]
        )

    async def record(self, request: Request) -> Response:
        self.requests.append(
            {
                "headers": dict(request.headers),
                "body": await request.body(),
                "url": str(request.url),
                "port": request.client.port if request.client else None,
            }
        )
        return JSONResponse({"accepted": 1})

    async def status(self, request: Request) -> Response:
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        if "location" in request.query_params:
            headers["Location"] = request.query_params["location"]
        return Response(
            "scripted failure", status_code=request.path_params["code"], headers=headers
        )


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with serving(recorder.app) as base:
        yield recorder, base


@pytest.fixture
def recorder(scripted: tuple[Recorder, str]) -> tuple[Recorder, str]:
    recorder, base = scripted
    recorder.requests.clear()
    return recorder, base


@pytest.fixture
def backends() -> Iterator[list[HTTPBackend]]:
    """Backends a test opens; closed afterwards."""
    opened: list[HTTPBackend] = []
    yield opened
    for backend in opened:
        backend.close()


def open_backend(backends: list[HTTPBackend], url: str, **options: Any) -> HTTPBackend:
    backend = HTTPBackend.from_url(url, **options)
    backends.append(backend)
    return backend


def rich_events() -> list[Event]:
    """Events using every field: unicode, nested properties, value, utm context."""
    return [
        make_event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=129.99,
            currency="eur",
            transaction_id="order-Ωmega-1",
            visitor_id="v-1",
            session_id="s-1",
            user_id="usér-42",
            properties={
                "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-😀", "qty": 1}],
                "coupon": None,
                "gift": True,
                "note": "Grüße aus Zürich — 東京",
            },
            context={
                "method": "POST",
                "path": "/checkout/ünïcode",
                "url": "https://shop.example.com/checkout/%C3%BC",
                "referrer": "https://search.example.com/?q=caf%C3%A9",
                "user_agent": "Mozilla/5.0",
                "ip": "203.0.113.0",
                "status": 303,
                "utm": {
                    "source": "newsletter",
                    "medium": "email",
                    "campaign": "été",
                    "term": None,
                    "content": "hero",
                },
            },
        ),
        make_event("viewed_pricing", kind="micro", goal="viewed_pricing"),
        make_event("page_view", context={"path": "/"}),
    ]


# -- delivery through the collector ---------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_every_field_survives_the_round_trip(
    collector: str, memory: MemoryBackend, backends: list[HTTPBackend], compress: bool
) -> None:
    backend = open_backend(backends, collector, gzip=compress)
    sent = rich_events()
    backend.write(sent)
    assert [e.to_dict() for e in memory.events] == [e.to_dict() for e in sent]


def test_a_tracker_delivers_through_the_collector(collector: str, memory: MemoryBackend) -> None:
    with convsdk.Tracker(backend=f"{collector}?gzip=1", spool_dir=None) as tracker:
        tracker.track("signup", kind="micro", properties={"plan": "pro"})
        assert tracker.flush(timeout=5)
    assert [(e.name, e.properties) for e in memory.events] == [("signup", {"plan": "pro"})]


def test_the_right_token_is_accepted(memory: MemoryBackend, backends: list[HTTPBackend]) -> None:
    with serving(create_app(memory, token=TOKEN)) as base:
        open_backend(backends, f"{base}/ingest", token=TOKEN).write(rich_events())
    assert len(memory.events) == 3


def test_a_wrong_token_is_not_retryable_and_never_shown(
    memory: MemoryBackend, backends: list[HTTPBackend], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-value"
    with serving(create_app(memory, token=TOKEN)) as base:
        backend = open_backend(backends, f"{base}/ingest", token=wrong)
        with pytest.raises(BackendError) as info:
            backend.write(rich_events())
    assert info.value.retryable is False
    assert info.value.backend == "http"
    assert "401" in str(info.value)
    assert wrong not in str(info.value) + repr(backend) + caplog.text
    assert memory.events == []


def test_an_invalid_batch_is_refused_whole(
    collector: str, memory: MemoryBackend, backends: list[HTTPBackend]
) -> None:
    backend = open_backend(backends, collector)
    invalid = Event("not a valid name!")  # the constructor trusts its input
    with pytest.raises(BackendError) as info:
        backend.write([make_event("signup"), invalid])
    assert info.value.retryable is False
    assert "422" in str(info.value)
    assert memory.events == []


def test_a_single_event_over_the_cap_is_not_retryable(
    memory: MemoryBackend, backends: list[HTTPBackend]
) -> None:
    with serving(create_app(memory, max_body_bytes=2_000)) as base:
        backend = open_backend(backends, f"{base}/ingest")
        with pytest.raises(BackendError) as info:
            backend.write([make_event("upload", properties={"blob": "x" * 4_000})])
    assert info.value.retryable is False
    assert "413" in str(info.value)
    assert memory.events == []


def test_a_batch_over_the_cap_is_split_until_it_fits(
    memory: MemoryBackend, backends: list[HTTPBackend]
) -> None:
    events = [make_event("step", properties={"pad": "x" * 500, "i": i}) for i in range(10)]
    with serving(create_app(memory, max_body_bytes=2_500)) as base:
        open_backend(backends, f"{base}/ingest").write(events)
    assert [e.event_id for e in memory.events] == [e.event_id for e in events]


def test_a_large_body_is_refused_with_413_not_a_broken_connection(
    memory: MemoryBackend, backends: list[HTTPBackend]
) -> None:
    # The collector answers before reading the body; the client must still see the 413.
    with serving(create_app(memory, max_body_bytes=1_000)) as base:
        backend = open_backend(backends, f"{base}/ingest")
        with pytest.raises(BackendError) as info:
            backend.write([Event("upload", properties={"blob": "x" * 4_000_000})])
    assert info.value.retryable is False
    assert "413" in str(info.value)


# -- what is sent ----------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_the_body_is_json_gzipped_on_request(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend], compress: bool
) -> None:
    rec, base = recorder
    sent = rich_events()
    open_backend(backends, f"{base}/record", gzip=compress).write(sent)
    [request] = rec.requests
    body = request["body"]
    if compress:
        assert request["headers"]["content-encoding"] == "gzip"
        body = gzip.decompress(body)
    else:
        assert "content-encoding" not in request["headers"]
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(body) == {"events": [e.to_dict() for e in sent]}


def test_headers_token_and_user_agent(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    rec, base = recorder
    backend = open_backend(backends, f"{base}/record", token=TOKEN, headers={"X-Tenant": "acme"})
    backend.write([make_event("signup")])
    headers = rec.requests[0]["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-tenant"] == "acme"
    assert headers["user-agent"] == USER_AGENT == f"convsdk/{convsdk.__version__}"
    assert TOKEN not in repr(backend)


def test_options_in_the_query_are_applied_and_not_posted(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    rec, base = recorder
    backend = from_url(f"{base}/record?gzip=1&tenant=a%20b&timeout=2&connect_timeout=0.5")
    assert isinstance(backend, HTTPBackend)
    backends.append(backend)
    assert (backend.gzip, backend.timeout, backend.connect_timeout) == (True, 2.0, 0.5)
    backend.write([make_event("signup")])
    [request] = rec.requests
    assert request["url"] == f"{base}/record?tenant=a%20b"
    assert request["headers"]["content-encoding"] == "gzip"


def test_a_keyword_option_wins_over_the_query() -> None:
    backend = HTTPBackend.from_url("https://collector.example.com/ingest?gzip=1", gzip=False)
    assert backend.gzip is False
    assert backend.url == "https://collector.example.com/ingest"


def test_one_connection_is_kept_alive_across_batches(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    rec, base = recorder
    backend = open_backend(backends, f"{base}/record")
    for _ in range(3):
        backend.write([make_event("signup")])
    assert len({r["port"] for r in rec.requests}) == 1


def test_an_empty_batch_sends_nothing(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    rec, base = recorder
    open_backend(backends, f"{base}/record").write([])
    assert rec.requests == []


# -- failures ------------------------------------------------------------------------


def test_503_with_retry_after_seconds_is_retryable(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    _, base = recorder
    backend = open_backend(backends, f"{base}/status/503?retry_after=7")
    with pytest.raises(BackendError) as info:
        backend.write([make_event("signup")])
    assert (info.value.retryable, info.value.retry_after) == (True, 7.0)
    assert "503" in str(info.value) and "scripted failure" in str(info.value)


def test_429_with_an_http_date_is_retryable(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    _, base = recorder
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    backend = open_backend(backends, f"{base}/status/429?retry_after={quote(when)}")
    with pytest.raises(BackendError) as info:
        backend.write([make_event("signup")])
    assert info.value.retryable is True
    assert info.value.retry_after is not None and 20 < info.value.retry_after <= 30


@pytest.mark.parametrize("code", [500, 502, 504, 408])
def test_server_errors_are_retryable(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend], code: int
) -> None:
    _, base = recorder
    with pytest.raises(BackendError) as info:
        open_backend(backends, f"{base}/status/{code}").write([make_event("signup")])
    assert info.value.retryable is True
    assert info.value.retry_after is None


@pytest.mark.parametrize("code", [400, 404, 422, 302])
def test_client_errors_are_not_retryable(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend], code: int
) -> None:
    _, base = recorder
    url = f"{base}/status/{code}?location=https://elsewhere.example.com/ingest"
    with pytest.raises(BackendError) as info:
        open_backend(backends, url).write([make_event("signup")])
    assert info.value.retryable is False
    assert str(code) in str(info.value)
    if code == 302:
        assert "https://elsewhere.example.com/ingest" in str(info.value)


def test_connection_refused_is_retryable(backends: list[HTTPBackend]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = open_backend(backends, f"http://127.0.0.1:{port}/ingest", timeout=2)
    with pytest.raises(BackendError) as info:
        backend.write([make_event("signup")])
    assert info.value.retryable is True
    assert "cannot reach" in str(info.value)


def test_a_timeout_is_retryable(backends: list[HTTPBackend]) -> None:
    # A listening socket nobody accepts on: the connection opens, no answer ever comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        port = sock.getsockname()[1]
        backend = open_backend(backends, f"http://127.0.0.1:{port}/ingest?timeout=0.2")
        with pytest.raises(BackendError) as info:
            backend.write([make_event("signup")])
        backend.close()
    assert info.value.retryable is True
    assert "did not answer in time" in str(info.value)


# -- configuration and helpers --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http:///no-host",
        "http://collector.example.com/ingest?gzip=maybe",
        "http://collector.example.com/ingest?timeout=soon",
        "http://collector.example.com/ingest?timeout=0",
        "http://collector.example.com/ingest?gzip_level=12",
    ],
)
def test_bad_configuration_fails_at_construction(url: str) -> None:
    with pytest.raises(ConfigError):
        from_url(url)


def test_an_empty_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="token"):
        HTTPBackend("https://collector.example.com/ingest", token="")


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("-5") == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(unreadable) is None


def test_a_forked_child_opens_its_own_connection(
    recorder: tuple[Recorder, str], backends: list[HTTPBackend]
) -> None:
    rec, base = recorder
    backend = open_backend(backends, f"{base}/record")
    backend.write([make_event("signup")])
    inherited = backend._client
    assert inherited is not None
    backend._pid = -1  # what the child of a fork sees: the client is the parent's
    try:
        backend.write([make_event("signup")])
        backend.close()
        assert not inherited.is_closed  # the parent's sockets are left alone
    finally:
        inherited.close()
    assert rec.requests[0]["port"] != rec.requests[1]["port"]


# -- the backend contract, through the collector ----------------------------------------


class Breakable(MemoryBackend):
    """The collector's store; ``broken`` makes its writes fail."""

    broken = False

    def write(self, events: Sequence[Event]) -> None:
        if self.broken:
            raise OSError("the store is down")
        super().write(events)


@pytest.fixture(scope="module")
def contract_collector() -> Iterator[tuple[Breakable, str]]:
    store = Breakable()
    # The contract's events reach 2099 and 1e15: a store takes them, whatever a
    # collector's default bounds would accept from the internet.
    wide = Bounds(
        max_value=1e300,
        max_future=timedelta(days=365 * 200),
        earliest=datetime.min.replace(tzinfo=UTC),
    )
    with serving(create_app(store, bounds=wide)) as base:
        yield store, f"{base}/ingest"


class TestHTTPBackendContract(BackendContract):
    """HTTPBackend -> collector -> memory passes the contract every backend passes."""

    url_query_is_passed_on = True  # other query parameters are the endpoint's

    @pytest.fixture(autouse=True)
    def _store(self, contract_collector: tuple[Breakable, str]) -> None:
        self.store, self.ingest_url = contract_collector
        self.store.clear()
        self.store.broken = False

    def make_backend(self, tmp_path: Path) -> HTTPBackend:
        return HTTPBackend(self.ingest_url, gzip=True)

    def read_back(self, backend: HTTPBackend) -> Iterable[Event]:
        return self.store.events

    def break_backend(self, backend: HTTPBackend) -> None:
        self.store.broken = True

    def repair_backend(self, backend: HTTPBackend) -> None:
        self.store.broken = False

    def make_url(self, tmp_path: Path) -> str:
        return f"{self.ingest_url}?timeout=5"
