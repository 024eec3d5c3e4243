"""The collector app: protocol, limits, auth, failures, and its validation fast path."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import threading
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import httpx  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from marshmallow import ValidationError  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from convsdk import BackendError, ConfigError  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.collector import create_app, load_events  # noqa: E402
from convsdk.event import ContextSchema, Event, EventSchema, UTMSchema, make_event  # noqa: E402
from convsdk.event import loading as event_module  # noqa: E402

TOKEN = "s3cret"


def batch(*events: Event) -> dict[str, Any]:
    return {"events": [e.to_dict() for e in events]}


def full_event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "kind": "macro",
        "goal": "purchase",
        "value": 49.5,
        "currency": "usd",
        "transaction_id": "t-1",
        "visitor_id": "v-1",
        "session_id": "s-1",
        "user_id": "ü-1",
        "properties": {"items": [{"sku": "A", "qty": 2}], "note": "café"},
        "context": {
            "method": "POST",
            "path": "/checkout",
            "url": "https://x.example/checkout",
            "referrer": None,
            "user_agent": "UA",
            "ip": "198.51.100.0",
            "status": 200,
            "utm": {
                "source": "ads",
                "medium": "cpc",
                "campaign": "spring",
                "term": None,
                "content": None,
            },
            "variant": "B",
            "extra_key_from_an_integration": [1, 2],
        },
    }
    fields.update(overrides)
    return make_event("purchase", **fields)


@pytest.fixture
def client(memory: MemoryBackend) -> Iterator[TestClient]:
    with TestClient(create_app(memory)) as c:
        yield c


def post(client: TestClient, body: bytes, path: str = "/ingest", **headers: str) -> Any:
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


# -- accepting -----------------------------------------------------------------------


def test_a_batch_is_stored_and_counted(client: TestClient, memory: MemoryBackend) -> None:
    sent = [full_event(), make_event("page_view")]
    response = client.post("/ingest", json=batch(*sent))
    assert response.status_code == 200
    assert response.json() == {"accepted": 2}
    assert [e.to_dict() for e in memory.events] == [e.to_dict() for e in sent]


def test_a_gzip_batch_is_stored(client: TestClient, memory: MemoryBackend) -> None:
    body = gzip.compress(json.dumps(batch(full_event())).encode())
    response = post(client, body, **{"content-encoding": "gzip"})
    assert response.json() == {"accepted": 1}
    assert memory.events[0].properties["note"] == "café"


def test_an_empty_batch_writes_nothing(client: TestClient) -> None:
    class Refusing(MemoryBackend):
        def write(self, events: Sequence[Event]) -> None:
            raise AssertionError("an empty batch reached the backend")

    with TestClient(create_app(Refusing())) as c:
        assert c.post("/ingest", json={"events": []}).json() == {"accepted": 0}


def test_a_backend_url_is_accepted_and_closed_on_shutdown() -> None:
    app = create_app("memory://")
    with TestClient(app) as c:
        assert c.post("/ingest", json=batch(make_event("signup"))).status_code == 200


def test_the_backend_is_closed_on_shutdown(memory: MemoryBackend) -> None:
    with TestClient(create_app(memory)):
        assert not memory.closed
    assert memory.closed


def test_a_custom_path(memory: MemoryBackend) -> None:
    with TestClient(create_app(memory, path="/v1/events")) as c:
        assert c.post("/v1/events", json=batch(make_event("signup"))).status_code == 200
        assert c.post("/ingest", json=batch(make_event("signup"))).status_code == 404


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_only_post_ingests(client: TestClient) -> None:
    assert client.get("/ingest").status_code == 405


# -- authentication ------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Basic czNjcmV0", "Bearer", "s3cret"]
)
def test_a_missing_or_wrong_token_is_401(memory: MemoryBackend, authorization: str | None) -> None:
    headers = {"authorization": authorization} if authorization else {}
    with TestClient(create_app(memory, token=TOKEN)) as c:
        response = c.post("/ingest", json=batch(make_event("signup")), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert memory.events == []


def test_the_right_token_is_accepted(memory: MemoryBackend) -> None:
    with TestClient(create_app(memory, token=TOKEN)) as c:
        response = c.post(
            "/ingest",
            json=batch(make_event("signup")),
            headers={"authorization": f"bearer {TOKEN}"},
        )
    assert response.status_code == 200
    assert len(memory.events) == 1


# -- refusing ------------------------------------------------------------------------


def test_an_invalid_event_rejects_the_whole_batch(
    client: TestClient, memory: MemoryBackend
) -> None:
    bad = make_event("signup").to_dict() | {"name": "not valid!", "currency": "dollars"}
    response = client.post("/ingest", json={"events": [make_event("ok").to_dict(), bad]})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"1"}
    assert set(errors["1"]) == {"name", "currency"}
    assert memory.events == []


@pytest.mark.parametrize("payload", [[], {"events": "x"}, {"event": []}, "text"])
def test_a_body_without_an_events_list_is_422(client: TestClient, payload: Any) -> None:
    assert client.post("/ingest", json=payload).status_code == 422


def test_a_date_out_of_range_is_422(client: TestClient) -> None:
    event = make_event("signup").to_dict() | {"timestamp": "0001-01-01T00:00:00+01:00"}
    assert client.post("/ingest", json={"events": [event]}).status_code == 422


@pytest.mark.parametrize(
    ("field", "raw", "reason"),
    [
        ("value", 1e15, "at most 1e+09"),
        ("value", -1e15, "at most 1e+09"),
        ("timestamp", "9999-12-31T23:59:59+00:00", "ahead of the collector's clock"),
        ("timestamp", "1999-12-31T23:59:59+00:00", "before 2000-01-01"),
    ],
)
def test_an_event_out_of_bounds_is_422_with_the_reason(
    client: TestClient, memory: MemoryBackend, field: str, raw: Any, reason: str
) -> None:
    good = full_event().to_dict()
    response = client.post("/ingest", json={"events": [good, good | {field: raw}]})
    assert response.status_code == 422
    body = response.json()
    assert "out of bounds" in body["error"]
    assert list(body["errors"]) == ["1"] and list(body["errors"]["1"]) == [field]
    assert reason in body["errors"]["1"][field][0]
    assert memory.events == []  # the whole batch, as for any invalid event


def test_bounds_are_configurable(memory: MemoryBackend) -> None:
    from datetime import UTC, datetime, timedelta

    from convsdk.collector import Bounds

    bounds = Bounds(
        max_value=100, max_future=timedelta(0), earliest=datetime(2026, 1, 1, tzinfo=UTC)
    )
    now = datetime.now(UTC)
    with TestClient(create_app(memory, bounds=bounds)) as c:
        assert c.post("/ingest", json=batch(make_event("x", value=100))).status_code == 200
        assert c.post("/ingest", json=batch(make_event("x", value=100.5))).status_code == 422
        ahead = make_event("x", timestamp=now + timedelta(hours=1))
        assert c.post("/ingest", json=batch(ahead)).status_code == 422
        old = make_event("x", timestamp=datetime(2025, 12, 31, tzinfo=UTC))
        assert c.post("/ingest", json=batch(old)).status_code == 422
    with pytest.raises(ConfigError, match="max_value"):
        Bounds(max_value=0)
    with pytest.raises(ConfigError, match="earliest"):
        Bounds(earliest=datetime(2020, 1, 1))


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b"{not json", None),
        (b"[" * 100_000, None),
        (b"not gzip at all", "gzip"),
        (gzip.compress(b'{"events": []}')[:-6], "gzip"),  # truncated
        (gzip.compress(b'{"events": []}') + b"junk", "gzip"),
    ],
    ids=["json", "deep-json", "gzip", "truncated-gzip", "trailing-data"],
)
def test_an_undecodable_body_is_400(client: TestClient, body: bytes, encoding: str | None) -> None:
    headers = {"content-encoding": encoding} if encoding else {}
    assert post(client, body, **headers).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/json", "content-encoding": "br"},
    ],
)
def test_other_content_types_and_encodings_are_415(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = json.dumps(batch(make_event("signup"))).encode()
    assert client.post("/ingest", content=body, headers=headers).status_code == 415


def test_a_body_over_the_cap_is_413(memory: MemoryBackend) -> None:
    body = json.dumps(batch(*[make_event("step") for _ in range(50)])).encode()
    with TestClient(create_app(memory, max_body_bytes=len(body) - 1)) as c:
        assert post(c, body).status_code == 413
    assert memory.events == []


def test_a_gzip_body_inflating_over_the_cap_is_413(memory: MemoryBackend) -> None:
    padding = " " * 5_000_000  # whitespace is valid JSON and compresses ~1000:1
    body = gzip.compress(f'{{"events": []{padding}}}'.encode())
    assert len(body) < 100_000
    with TestClient(create_app(memory, max_body_bytes=1_000_000)) as c:
        assert post(c, body, **{"content-encoding": "gzip"}).status_code == 413


async def test_a_chunked_body_is_refused_without_reading_it_all(memory: MemoryBackend) -> None:
    app = create_app(memory, max_body_bytes=10_000)
    chunks_read = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 4_000, "more_body": chunks_read < 1_000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/ingest",
        "raw_path": b"/ingest",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert chunks_read <= 3


# -- backend failures ----------------------------------------------------------------


class Failing(MemoryBackend):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def write(self, events: Sequence[Event]) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "retry_after"),
    [
        (OSError("disk full"), "1"),
        (BackendError("down", retryable=True), "1"),
        (BackendError("slow down", retryable=True, retry_after=6.5), "7"),
    ],
)
def test_a_backend_failure_is_503_with_retry_after(error: Exception, retry_after: str) -> None:
    with TestClient(create_app(Failing(error))) as c:
        response = c.post("/ingest", json=batch(make_event("signup")))
    assert response.status_code == 503
    assert response.headers["retry-after"] == retry_after


def test_a_batch_the_backend_cannot_store_is_422() -> None:
    backend = Failing(BackendError("value too long for column", retryable=False))
    with TestClient(create_app(backend)) as c:
        assert c.post("/ingest", json=batch(make_event("signup"))).status_code == 422


def test_a_write_slower_than_write_timeout_is_503() -> None:
    release = threading.Event()

    class Stuck(MemoryBackend):
        def write(self, events: Sequence[Event]) -> None:
            release.wait(60)  # far past write_timeout, however loaded the machine

    with TestClient(create_app(Stuck(), write_timeout=0.1)) as c:
        try:
            response = c.post("/ingest", json=batch(make_event("signup")))
        finally:
            release.set()
    assert response.status_code == 503


async def test_writes_and_close_run_one_at_a_time_in_one_thread() -> None:
    class Recording(MemoryBackend):
        def __init__(self) -> None:
            super().__init__()
            self.threads: set[int] = set()
            self.active = self.most_active = 0

        def write(self, events: Sequence[Event]) -> None:
            self.threads.add(threading.get_ident())
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            super().write(events)
            self.active -= 1

        def close(self) -> None:
            self.threads.add(threading.get_ident())
            super().close()

    backend = Recording()
    app = create_app(backend)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as c:
        responses = await asyncio.gather(
            *(c.post("/ingest", json=batch(make_event("signup"))) for _ in range(20))
        )
    assert [r.status_code for r in responses] == [200] * 20
    async with app.router.lifespan_context(app):
        pass  # startup and shutdown: closes the backend
    assert len(backend.events) == 20
    assert backend.most_active == 1
    assert len(backend.threads) == 1 and threading.get_ident() not in backend.threads
    assert backend.closed


@pytest.mark.parametrize(
    "options",
    [{"path": "ingest"}, {"path": "/health"}, {"token": ""}, {"max_body_bytes": 0}],
)
def test_bad_configuration_fails_at_creation(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        create_app(MemoryBackend(), **options)


def test_an_unknown_backend_scheme_fails_at_creation() -> None:
    with pytest.raises(ConfigError, match="unknown backend scheme"):
        create_app("nope://x")


def test_a_store_that_cannot_take_events_fails_at_creation(tmp_path: Any) -> None:
    # Not at the first batch: /health would say ok while every batch failed.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(BackendError, match="cannot open"):
        create_app(f"sqlite:///{blocker}/events.db")
    with pytest.raises(BackendError, match="cannot open"):
        create_app(f"file://{blocker}/events.jsonl")


def test_a_closed_port_fails_at_creation() -> None:
    pytest.importorskip("redis")
    with pytest.raises(BackendError, match="cannot connect"):
        create_app("redis://127.0.0.1:1/0/convsdk:events?socket_connect_timeout=2")


def test_the_command_exits_1_in_one_line_when_the_store_is_unreachable(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from convsdk.cli import main

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert main(["collect", f"sqlite:///{blocker}/events.db", "--insecure"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("convsdk: error: ") and "cannot open" in err[-1]


# -- the validation fast path agrees with EventSchema --------------------------------


def test_the_fast_path_knows_every_schema_field() -> None:
    # When EventSchema gains or loses a field, the fast path must follow.
    assert set(EventSchema().fields) == event_module._EVENT_FIELDS
    assert set(ContextSchema().fields) == set(event_module._CONTEXT_STRINGS) | {"status", "utm"}
    assert set(UTMSchema().fields) == event_module._UTM_FIELDS


def test_the_fast_path_takes_ordinary_events() -> None:
    for event in (full_event(), make_event("page_view"), make_event("x", value=3)):
        assert event_module.fast_event(event.to_dict()) is not None


def test_load_events_names_the_invalid_events() -> None:
    good = make_event("ok").to_dict()
    with pytest.raises(ValidationError) as info:
        load_events([good, good | {"kind": "mega"}, good | {"unknown": 1}])
    assert set(info.value.messages) == {1, 2}


def test_load_events_accepts_what_only_the_schema_accepts() -> None:
    # Numeric strings are valid for marshmallow's Float: the schema decides.
    data = make_event("x").to_dict() | {"value": "12.5", "currency": "eur"}
    [event] = load_events([data])
    assert (event.value, event.currency) == (12.5, "EUR")


_VALID = full_event().to_dict()
_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "",
            "x",
            "micro",
            "macro",
            "usd",
            "EURO",
            "é" * 3,
            "a b",
            "x" * 64,
            "x" * 65,
            "x" * 128,
            "x" * 129,
            "2026-01-01T00:00:00Z",
            "2026-01-01",
            "not a date",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "12.5",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(
        st.sampled_from(["a", "source", "medium", "status", "utm"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=3)),
        max_size=3,
    ),
)
_CONTEXT_KEYS = sorted(set(ContextSchema().fields) | {"custom"})


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid serialised event with some fields removed or replaced by odd values."""
    data: dict[str, Any] = json.loads(json.dumps(_VALID))
    for key in draw(st.lists(st.sampled_from(sorted(_VALID) + ["extra"]), max_size=3)):
        if draw(st.booleans()) and key in data:
            del data[key]
        else:
            data[key] = draw(_ODD_VALUES)
    if isinstance(data.get("context"), dict):
        for key in draw(st.lists(st.sampled_from(_CONTEXT_KEYS), max_size=2)):
            data["context"][key] = draw(_ODD_VALUES)
    if isinstance(data.get("properties"), dict) and draw(st.booleans()):
        data["properties"]["odd"] = draw(_ODD_VALUES)
    return data


@settings(max_examples=400, deadline=None)
@given(event_dicts())
def test_the_fast_path_accepts_only_what_the_schema_accepts(data: dict[str, Any]) -> None:
    fast = event_module.fast_event(data)
    try:
        reference = EventSchema().load(data)
    except (ValidationError, ValueError, OverflowError):
        assert fast is None, f"fast path accepted what EventSchema refuses: {data}"
        return
    if fast is not None:
        assert fast.to_dict() == reference.to_dict()
        assert fast.value is None or (type(fast.value) is float and math.isfinite(fast.value))


def test_a_backend_timing_out_itself_is_503() -> None:
    with TestClient(create_app(Failing(TimeoutError("socket timed out")))) as c:
        response = c.post("/ingest", json=batch(make_event("signup")))
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
