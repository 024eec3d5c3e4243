"""The meta:// destination against a stand-in Conversions API server on loopback."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("httpx")

import convsdk  # noqa: E402
from convsdk import BackendError, ConfigError, Goal  # noqa: E402
from convsdk.backends import from_url  # noqa: E402
from convsdk.destinations.meta import DEFAULT_VERSION, MetaDestination  # noqa: E402
from convsdk.event import Event  # noqa: E402
from convsdk.integrations.wsgi import ConversionMiddleware  # noqa: E402

from .standin import RAW_EMAIL as EMAIL
from .standin import Answer, Request, StandIn, refuse, serving  # noqa: E402

TOKEN = "EAAB-meta-access-token"
PIXEL = "1234567890"
EM = hashlib.sha256(EMAIL.encode()).hexdigest()
PH = hashlib.sha256(b"33612345678").hexdigest()
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SOURCES = {"website", "email", "app", "phone_call", "chat", "physical_store",
            "system_generated", "business_messaging", "other"}  # fmt: skip


def check_meta(request: Request) -> Answer:
    """What the Conversions API requires of a request (else its error answer)."""
    if request.path != f"/{DEFAULT_VERSION}/{PIXEL}/events":
        return refuse(f"unknown path {request.path}", 404)
    body = request.body
    if body.get("access_token") != TOKEN:
        return 400, {"error": {"type": "OAuthException", "code": 190, "message": "bad"}}, {}
    if EMAIL.encode() in request.raw.lower():
        return refuse("raw email in the request")
    data = body.get("data")
    if not isinstance(data, list) or not 1 <= len(data) <= 1000:
        return refuse("1 to 1000 events in data")
    for item in data:
        for key in ("event_name", "event_time", "event_id", "action_source", "user_data"):
            if key not in item:
                return refuse(f"{key} is required")
        if not isinstance(item["event_time"], int) or time.time() - item["event_time"] > 7 * 86400:
            return refuse("event_time is Unix seconds within 7 days")
        if item["action_source"] not in _SOURCES:
            return refuse("bad action_source")
        user = item["user_data"]
        if item["action_source"] == "website" and not (
            item.get("event_source_url") and user.get("client_user_agent")
        ):
            return refuse("website events need event_source_url and client_user_agent")
        for key in ("em", "ph", "external_id"):
            if key in user and not all(_HEX64.fullmatch(v) for v in user[key]):
                return refuse(f"{key} must be SHA-256 hex")
    return 200, {"events_received": len(data), "messages": [], "fbtrace_id": "A1"}, {}


@pytest.fixture
def meta() -> Iterator[StandIn]:
    with serving(StandIn(check_meta)) as standin:
        yield standin


def destination(meta: StandIn, **options: object) -> MetaDestination:
    url = f"meta://{PIXEL}?access_token={TOKEN}&endpoint={meta.base}"
    return MetaDestination.from_url(url, **options)  # type: ignore[arg-type]


def web_event(name: str = "page_view", **fields: object) -> Event:
    context = {
        "url": "https://shop.example.com/thanks",
        "user_agent": "Mozilla/5.0",
        "ip": "203.0.113.0",
        "fbc": "fb.1.1700000000000.AbCdEf",
        "fbp": "fb.1.1700000000000.987654321",
        "traits": {"em": EM, "ph": PH},
    }
    values: dict[str, object] = {"visitor_id": "v-1", "session_id": "s-1", "context": context}
    values.update(fields)
    return Event(name, **values)  # type: ignore[arg-type]


def test_a_tracker_forwards_a_purchase_to_meta_as_documented(meta: StandIn) -> None:
    url = f"meta://{PIXEL}?access_token={TOKEN}&endpoint={meta.base}&test_event_code=TEST1"
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        event = tracker.track(
            "checkout", kind="macro", goal="purchase", value=99.0, currency="EUR",
            transaction_id="T-7", user_id="u-1",
        )  # fmt: skip
        assert event is not None and tracker.flush(timeout=10)
    [body] = meta.bodies()
    assert body["test_event_code"] == "TEST1"
    [item] = body["data"]
    assert item["event_name"] == "Purchase" and item["event_id"] == event.event_id
    assert item["action_source"] == "other"  # tracked outside a request: no page
    assert item["custom_data"] == {"value": 99.0, "currency": "EUR", "order_id": "T-7"}
    assert item["user_data"]["external_id"] == [hashlib.sha256(b"u-1").hexdigest()]


def test_a_page_conversion_carries_what_meta_matches_on(meta: StandIn) -> None:
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    def app(environ: dict[str, object], start_response: object) -> object:
        return Response("<html>booked</html>", mimetype="text/html")(environ, start_response)

    url = f"meta://{PIXEL}?access_token={TOKEN}&endpoint={meta.base}"
    goals = [Goal.macro("demo_booked", event="page_view", path="/booked")]
    with convsdk.Tracker(backend=url, goals=goals, spool_dir=None, secret_key="k" * 32) as t:
        Client(ConversionMiddleware(app, tracker=t)).get(
            "/booked", headers={"User-Agent": "Mozilla/5.0 (X11)"}
        )
        assert t.flush(timeout=10)
    [item] = meta.bodies()[0]["data"]
    assert item["event_name"] == "Schedule" and item["action_source"] == "website"
    assert item["event_source_url"].endswith("/booked")
    assert item["user_data"]["client_user_agent"] == "Mozilla/5.0 (X11)"
    assert "client_ip_address" not in item["user_data"]  # send_ip is off by default
    assert len(item["user_data"]["external_id"][0]) == 64


def test_hashed_traits_click_ids_and_ip_reach_user_data(meta: StandIn) -> None:
    backend = destination(meta, send_ip=True)
    event = web_event("lead", kind="macro", goal="lead", user_id="u-2")
    crm_id = hashlib.sha256(b"crm-77").hexdigest()
    event.context["traits"] = {"em": EM, "ph": PH, "external_id": crm_id}
    backend.write([event])
    backend.close()
    [item] = meta.bodies()[0]["data"]
    user = item["user_data"]
    assert user["em"] == [EM] and user["ph"] == [PH]
    assert user["fbc"] == "fb.1.1700000000000.AbCdEf" and user["fbp"].startswith("fb.1.")
    assert user["client_ip_address"] == "203.0.113.0"
    assert user["external_id"] == [crm_id, hashlib.sha256(b"u-2").hexdigest()]
    assert item["event_id"] == event.event_id and item["event_name"] == "Lead"


def test_raw_traits_are_never_sent(meta: StandIn) -> None:
    backend = destination(meta)
    event = web_event("lead", kind="macro", goal="lead")
    event.context["traits"] = {"em": EMAIL, "ph": "+33 6 12 34 56 78"}  # not hashed: dropped
    backend.write([event])
    backend.close()
    [item] = meta.bodies()[0]["data"]
    assert "em" not in item["user_data"] and "ph" not in item["user_data"]


def test_goal_names_map_to_standard_custom_or_chosen_events(meta: StandIn) -> None:
    backend = destination(meta, events={"quote": "Lead"})
    goals = ["signup", "Registration", "add_to_cart", "quote", "newsletter_joined"]
    backend.write([web_event("x", kind="macro", goal=g) for g in goals])
    backend.close()
    names = [item["event_name"] for item in meta.bodies()[0]["data"]]
    assert names == ["CompleteRegistration", "CompleteRegistration", "AddToCart", "Lead",
                     "newsletter_joined"]  # fmt: skip


def test_a_batch_over_1000_events_is_split(meta: StandIn) -> None:
    backend = destination(meta)
    backend.write([web_event() for _ in range(2001)])
    backend.close()
    assert [len(b["data"]) for b in meta.bodies()] == [1000, 1000, 1]


def test_events_older_than_seven_days_are_refused_before_sending(meta: StandIn) -> None:
    backend = destination(meta)
    old = web_event(timestamp=datetime.now(UTC) - timedelta(days=8))
    with pytest.raises(BackendError) as caught:
        backend.write([web_event(), old])
    assert caught.value.retryable is False and meta.requests == []
    backend.write([web_event()])
    backend.close()
    assert len(meta.requests) == 1


def test_identify_and_refused_consent_are_never_sent(meta: StandIn) -> None:
    backend = destination(meta)
    backend.write([web_event("identify", user_id="u-1"), web_event(visitor_id=None)])
    backend.close()
    assert meta.requests == []


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        ((500, {"error": {"message": "down"}}, {}), True),
        ((429, {"error": {"message": "slow down"}}, {"Retry-After": "3"}), True),
        ((400, {"error": {"message": "Invalid parameter", "code": 100}}, {}), False),
        ((400, {"error": {"message": "limit", "code": 17}}, {}), True),
        ((400, {"error": {"message": "later", "is_transient": True}}, {}), True),
    ],
)
def test_answers_are_read_as_retryable_or_not(
    meta: StandIn, answer: tuple[int, object, dict[str, str]], retryable: bool
) -> None:
    backend = destination(meta)
    meta.script.append(answer)  # type: ignore[arg-type]
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    backend.close()
    assert caught.value.retryable is retryable and TOKEN not in str(caught.value)


def test_a_bad_token_waits_for_a_fix_instead_of_dropping_events(meta: StandIn) -> None:
    backend = MetaDestination(PIXEL, access_token="wrong-token", endpoint=meta.base)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    backend.close()
    assert caught.value.retryable is True and "wrong-token" not in str(caught.value)


def test_a_server_that_hangs_is_a_retryable_timeout(meta: StandIn) -> None:
    meta.hold = threading.Event()
    backend = destination(meta, timeout=0.2)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    meta.hold.set()
    backend.close()
    assert caught.value.retryable is True


def test_configuration() -> None:
    backend = from_url(f"meta://{PIXEL}?access_token={TOKEN}&version=24.0&events=a:Lead")
    assert isinstance(backend, MetaDestination)
    assert backend.events_url == f"https://graph.facebook.com/v24.0/{PIXEL}/events"
    assert TOKEN not in repr(backend) and backend.default_forward == "macro"
    with pytest.raises(ConfigError, match="access_token"):
        from_url(f"meta://{PIXEL}")
    with pytest.raises(ConfigError, match="pixel_id"):
        from_url(f"meta://pixel?access_token={TOKEN}")
    with pytest.raises(ConfigError, match="version"):
        from_url(f"meta://{PIXEL}?access_token={TOKEN}&version=latest")
    with pytest.raises(ConfigError, match="events"):
        from_url(f"meta://{PIXEL}?access_token={TOKEN}&events=a:Bad!Name")
    with pytest.raises(ConfigError) as caught:
        from_url(f"meta://{PIXEL}?access_token={TOKEN}&send_ip=maybe")
    assert TOKEN not in str(caught.value)
