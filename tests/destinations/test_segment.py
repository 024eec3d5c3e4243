"""The segment:// destination against a stand-in Segment batch endpoint on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("httpx")

import convsdk  # noqa: E402
from convsdk import BackendError, ConfigError  # noqa: E402
from convsdk.backends import from_url  # noqa: E402
from convsdk.destinations.segment import SegmentDestination  # noqa: E402
from convsdk.event import Event  # noqa: E402

from .standin import RAW_EMAIL, Answer, Request, StandIn, refuse, serving  # noqa: E402

KEY = "SeGmEnTwRiTeKeY42"


def check_segment(request: Request) -> Answer:
    """What Segment's /v1/batch requires (else a 400 with its message)."""
    if request.path != "/v1/batch":
        return refuse("not found", 404)
    expected = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return 401, {"success": False, "message": "invalid write key"}, {}
    if RAW_EMAIL.encode() in request.raw.lower():
        return refuse("a raw email in the request")
    if len(request.raw) > 500 * 1024:
        return refuse("batch over 500KB")
    for call in request.body["batch"]:
        if len(json.dumps(call, separators=(",", ":")).encode()) > 32 * 1024:
            return refuse("message over 32KB")
        if not (call.get("userId") or call.get("anonymousId")):
            return refuse("userId or anonymousId is required")
        if call["type"] == "track" and not call.get("event"):
            return refuse("track needs an event")
        if not call.get("messageId") or not call.get("timestamp"):
            return refuse("messageId and timestamp")
        datetime.fromisoformat(call["timestamp"])
    return 200, {"success": True}, {}


@pytest.fixture
def segment() -> Iterator[StandIn]:
    with serving(StandIn(check_segment)) as standin:
        yield standin


def destination(segment: StandIn, **options: object) -> SegmentDestination:
    url = f"segment://{KEY}?endpoint={segment.base}"
    return SegmentDestination.from_url(url, **options)  # type: ignore[arg-type]


def web_event(name: str = "page_view", **fields: object) -> Event:
    context = {
        "url": "https://shop.example.com/pricing",
        "path": "/pricing",
        "referrer": "https://news.example.com/",
        "user_agent": "Mozilla/5.0",
        "ip": "203.0.113.0",
        "utm": {"source": "news", "medium": "email", "campaign": "spring"},
    }
    values: dict[str, object] = {"visitor_id": "v-1", "session_id": "s-1", "context": context}
    values.update(fields)
    return Event(name, **values)  # type: ignore[arg-type]


def test_a_tracker_forwards_an_order_to_segment_as_documented(segment: StandIn) -> None:
    url = f"segment://{KEY}?endpoint={segment.base}"
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        event = tracker.track(
            "checkout", kind="macro", goal="order_completed", value=20.0, currency="EUR",
            transaction_id="T-3", user_id="u-5", properties={"plan": "pro"},
        )  # fmt: skip
        assert event is not None and tracker.flush(timeout=10)
    [body] = segment.bodies()
    [call] = body["batch"]
    assert call["type"] == "track" and call["event"] == "order_completed"
    assert call["messageId"] == event.event_id and call["userId"] == "u-5"
    assert call["properties"] == {
        "plan": "pro", "conversion": "macro", "value": 20.0, "revenue": 20.0,
        "currency": "EUR", "order_id": "T-3",
    }  # fmt: skip
    assert datetime.fromisoformat(call["timestamp"]) == event.timestamp


def test_a_tracker_with_its_spool_delivers_every_conversion_once(
    segment: StandIn, tmp_path: Path
) -> None:
    url = f"segment://{KEY}?endpoint={segment.base}"
    tracker = convsdk.Tracker(backend=url, spool_dir=tmp_path / "spool", batch_size=10)
    try:
        tracked = [tracker.track("order", kind="macro", properties={"n": n}) for n in range(45)]
        assert tracker.flush(timeout=30), tracker.stats()
    finally:
        tracker.close()
    assert tracker.stats()["delivered"] == 45 and tracker.stats()["dropped"] == 0
    received = [call["messageId"] for body in segment.bodies() for call in body["batch"]]
    assert sorted(received) == sorted(e.event_id for e in tracked if e is not None)


def test_context_carries_the_page_campaign_and_client(segment: StandIn) -> None:
    backend = destination(segment, events={"demo_booked": "Demo Booked"})
    backend.write(
        [web_event("x", kind="macro", goal="demo_booked"), web_event("identify", user_id="u")]
    )
    backend.close()
    track, identify = segment.bodies()[0]["batch"]
    assert track["event"] == "Demo Booked" and track["anonymousId"] == "v-1"
    context = track["context"]
    assert context["ip"] == "203.0.113.0" and context["userAgent"] == "Mozilla/5.0"
    assert context["page"] == {
        "url": "https://shop.example.com/pricing", "path": "/pricing",
        "referrer": "https://news.example.com/",
    }  # fmt: skip
    assert context["campaign"] == {"source": "news", "medium": "email", "name": "spring"}
    assert identify["type"] == "identify" and identify["userId"] == "u"
    assert "traits" not in identify


def test_batches_stay_under_500_kb_and_large_calls_are_refused(segment: StandIn) -> None:
    backend = destination(segment)
    events = [web_event(properties={"note": "n" * 20_000}) for _ in range(60)]
    backend.write(events)
    sizes = [len(r.raw) for r in segment.requests]
    assert len(sizes) == 3 and max(sizes) <= 500 * 1024
    assert sum(len(b["batch"]) for b in segment.bodies()) == 60
    huge = web_event(properties={"note": "n" * 40_000})
    with pytest.raises(BackendError) as caught:
        backend.write([web_event(), huge])
    assert caught.value.retryable is False and len(segment.requests) == 3
    backend.close()


def test_a_plain_page_view_is_a_page_call(segment: StandIn) -> None:
    backend = destination(segment)
    backend.write([web_event(), web_event(kind="micro", goal="pricing")])
    backend.close()
    page, track = segment.bodies()[0]["batch"]
    assert page["type"] == "page" and "event" not in page
    assert page["properties"]["url"] == "https://shop.example.com/pricing"
    assert track["type"] == "track" and track["event"] == "pricing"


def test_traits_never_reach_segment(segment: StandIn) -> None:
    backend = destination(segment)
    event = web_event("identify", user_id="u")
    event.context["traits"] = {"em": RAW_EMAIL}
    backend.write([event])
    backend.close()  # the stand-in refuses a request holding the email
    assert len(segment.requests) == 1


def test_identify_is_an_identify_call_with_the_hashed_traits_only(segment: StandIn) -> None:
    em = hashlib.sha256(RAW_EMAIL.encode()).hexdigest()
    event = web_event("identify", user_id="u")
    event.context["traits"] = {"em": em, "ph": "+33612345678"}  # a raw phone never leaves
    backend = destination(segment)
    backend.write([event])
    backend.close()
    [identify] = segment.bodies()[0]["batch"]
    assert identify["type"] == "identify" and identify["userId"] == "u"
    assert identify["traits"] == {"em": em}
    assert b"33612345678" not in segment.requests[0].raw


def test_click_ids_ride_in_the_properties_of_track_and_page_calls(segment: StandIn) -> None:
    clicks = {
        "first": {"name": "gclid", "id": "Cj0K", "at": 1},
        "last": {"name": "fbclid", "id": "IwAR2", "at": 2},
    }
    events = [web_event(), web_event("x", kind="macro", goal="purchase", properties={"a": 1})]
    for event in events:
        event.context["click_ids"] = clicks
    backend = destination(segment)
    backend.write(events)
    backend.close()
    page, track = segment.bodies()[0]["batch"]
    assert page["properties"]["gclid"] == track["properties"]["gclid"] == "Cj0K"
    assert page["properties"]["fbclid"] == track["properties"]["fbclid"] == "IwAR2"
    assert track["properties"]["a"] == 1


def test_refused_consent_is_never_sent(segment: StandIn) -> None:
    backend = destination(segment)
    backend.write([web_event(visitor_id=None)])
    backend.close()
    assert segment.requests == []


def test_an_event_outside_a_request_has_an_anonymous_id(segment: StandIn) -> None:
    backend = destination(segment)
    backend.write([Event("purchase", kind="macro", timestamp=datetime(2026, 1, 1, tzinfo=UTC))])
    backend.close()
    assert segment.bodies()[0]["batch"][0]["anonymousId"] == "server"


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
def test_answers_are_read_as_retryable_or_not(
    segment: StandIn, status: int, retryable: bool
) -> None:
    backend = destination(segment)
    segment.script.append(refuse("no", status))
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    backend.close()
    assert caught.value.retryable is retryable and KEY not in str(caught.value)


def test_a_wrong_write_key_is_retryable_and_never_shown(segment: StandIn) -> None:
    backend = SegmentDestination("OtherKey123", endpoint=segment.base)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    backend.close()
    assert caught.value.retryable is True and "OtherKey123" not in str(caught.value)


def test_a_server_that_hangs_is_a_retryable_timeout(segment: StandIn) -> None:
    segment.hold = threading.Event()
    backend = destination(segment, timeout=0.2)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    segment.hold.set()
    backend.close()
    assert caught.value.retryable is True


def test_configuration_never_shows_the_write_key() -> None:
    backend = from_url(f"segment://{KEY}")
    assert isinstance(backend, SegmentDestination)
    assert backend.batch_url == "https://api.segment.io/v1/batch"
    assert KEY not in repr(backend) and backend.default_forward == "macro"
    for url in (f"segment://{KEY}?timout=2", f"segment://{KEY}?endpoint=nope"):
        with pytest.raises(ConfigError) as caught:
            from_url(url)
        assert KEY not in str(caught.value)
    with pytest.raises(ConfigError, match="write_key"):
        from_url("segment://")
