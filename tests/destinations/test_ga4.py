"""The ga4:// destination against a stand-in Measurement Protocol server on loopback."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

pytest.importorskip("httpx")

import convsdk  # noqa: E402
from convsdk import BackendError, ConfigError, Goal  # noqa: E402
from convsdk.backends import from_url  # noqa: E402
from convsdk.destinations.ga4 import GA4Destination  # noqa: E402
from convsdk.event import Event  # noqa: E402
from convsdk.integrations.wsgi import ConversionMiddleware  # noqa: E402

from .standin import RAW_EMAIL, Answer, Request, StandIn, refuse, serving  # noqa: E402

SECRET = "mp-s3cret-value"
MID = "G-TEST123"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_LONG = {"page_location": 1000, "page_referrer": 420, "page_title": 300}


def check_ga4(request: Request) -> Answer:
    """What Google's collect endpoint requires of a request (else a 400 naming it)."""
    if request.path not in ("/mp/collect", "/debug/mp/collect"):
        return refuse(f"no such path {request.path}", 404)
    if request.query.get("measurement_id") != MID or request.query.get("api_secret") != SECRET:
        return refuse("bad measurement_id or api_secret", 403)
    if not request.headers.get("Content-Type", "").startswith("application/json"):
        return refuse("not JSON")
    if RAW_EMAIL.encode() in request.raw.lower():
        return refuse("a raw email in the request")
    body = request.body
    if not isinstance(body.get("client_id"), str) or not body["client_id"]:
        return refuse("client_id is required")
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= 25:
        return refuse(f"1 to 25 events a request, got {len(events or [])}")
    for event in events:
        name = event["name"]
        if not _NAME.fullmatch(name) or name.startswith(("ga_", "google_", "firebase_")):
            return refuse(f"bad event name {name!r}")
        params = event["params"]
        if len(params) > 25 or "engagement_time_msec" not in params:
            return refuse(f"bad params {params}")
        for key, value in params.items():
            if not _NAME.fullmatch(key):
                return refuse(f"bad parameter name {key!r}")
            if isinstance(value, str) and len(value) > _LONG.get(key, 100):
                return refuse(f"parameter {key} longer than allowed")
        if len(str(event["timestamp_micros"])) != 16:
            return refuse("timestamp_micros is microseconds")
    if request.path.startswith("/debug"):
        return 200, {"validationMessages": []}, {}
    return 204, None, {}


@pytest.fixture
def ga4() -> Iterator[StandIn]:
    with serving(StandIn(check_ga4)) as standin:
        yield standin


def destination(ga4: StandIn, **options: object) -> GA4Destination:
    url = f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}"
    return GA4Destination.from_url(url, **options)  # type: ignore[arg-type]


def web_event(name: str = "page_view", **fields: object) -> Event:
    context = {
        "url": "https://shop.example.com/pricing?utm_source=news",
        "referrer": "https://news.example.com/",
        "user_agent": "Mozilla/5.0",
        "ip": "203.0.113.0",
        "utm": {"source": "news", "medium": "email", "campaign": "spring"},
    }
    values: dict[str, object] = {
        "visitor_id": "v-1",
        "session_id": "s-1",
        "context": context,
        "timestamp": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    }
    values.update(fields)
    return Event(name, **values)  # type: ignore[arg-type]


def test_a_tracker_forwards_a_purchase_through_ga4_as_documented(ga4: StandIn) -> None:
    url = f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}"
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        tracker.track(
            "checkout", kind="macro", goal="order", value=49.5, currency="EUR",
            transaction_id="T-1", properties={"plan": "pro"},
        )  # fmt: skip
        assert tracker.flush(timeout=10)
        assert tracker.stats()["delivered"] == 1
    [body] = ga4.bodies()
    assert ga4.requests[0].path == "/mp/collect"
    assert body["client_id"] == "server"  # tracked outside a request, with no user
    [event] = body["events"]
    assert event["name"] == "purchase"
    assert event["params"]["transaction_id"] == "T-1"
    assert event["params"]["value"] == 49.5 and event["params"]["currency"] == "EUR"
    assert event["params"]["plan"] == "pro"


def test_the_middleware_visitor_becomes_the_client_id(ga4: StandIn) -> None:
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    def app(environ: dict[str, object], start_response: object) -> object:
        return Response("<html>thanks</html>", mimetype="text/html")(environ, start_response)

    url = f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}"
    goals = [Goal.macro("Demo_Booked", event="page_view", path="/thanks")]
    with convsdk.Tracker(backend=url, goals=goals, spool_dir=None, secret_key="k" * 32) as t:
        Client(ConversionMiddleware(app, tracker=t)).get(
            "/thanks?utm_source=ads", headers={"User-Agent": "Mozilla/5.0 (X11)"}
        )
        assert t.flush(timeout=10)
    [body] = ga4.bodies()
    [event] = body["events"]
    assert event["name"] == "demo_booked"
    assert body["client_id"] and body["client_id"] != "server"
    assert event["params"]["session_id"]
    assert event["params"]["page_location"].endswith("/thanks?utm_source=ads")
    assert event["params"]["source"] == "ads"


def test_client_id_comes_from_the_ga_cookie_and_user_id_is_sent(ga4: StandIn) -> None:
    backend = destination(ga4)
    e1 = web_event(context={"ga_client_id": "1234567890.1700000000"}, user_id="u-9")
    e2 = web_event("signup", kind="macro", goal="signup")
    backend.write([e1, e2])
    backend.close()
    bodies = sorted(ga4.bodies(), key=lambda b: b["client_id"])
    assert [b["client_id"] for b in bodies] == ["1234567890.1700000000", "v-1"]
    assert bodies[0]["user_id"] == "u-9" and "user_id" not in bodies[1]
    assert bodies[1]["events"][0]["name"] == "signup"


def test_a_batch_is_split_in_requests_of_25_per_client(ga4: StandIn) -> None:
    backend = destination(ga4)
    events = [web_event(visitor_id="a") for _ in range(60)] + [web_event(visitor_id="b")]
    backend.write(events)
    backend.close()
    sizes = sorted((b["client_id"], len(b["events"])) for b in ga4.bodies())
    assert sizes == [("a", 10), ("a", 25), ("a", 25), ("b", 1)]


def test_names_and_values_follow_ga4_rules(ga4: StandIn) -> None:
    backend = destination(ga4)
    long_name = "A goal with a very long name, longer than forty characters!"
    props = {f"prop {i}": "x" * 300 for i in range(40)} | {"google_thing": 1, "ok": True}
    backend.write(
        [
            web_event("x", kind="micro", goal=long_name, properties=props),
            web_event("x", kind="micro", goal="session_start"),
            web_event("x", kind="micro", goal="2fa enabled"),
            web_event(url_field := "page_view", context={"url": "https://e.com/" + "p" * 2000}),
        ]
    )
    del url_field
    backend.close()
    [body] = ga4.bodies()  # the stand-in refused anything out of the rules
    names = [e["name"] for e in body["events"]]
    assert names == [
        "a_goal_with_a_very_long_name_longer_than",
        "x_session_start",
        "event_2fa_enabled",
        "page_view",
    ]
    first = body["events"][0]["params"]
    assert len(first) == 25 and first["prop_0"] == "x" * 100
    assert len(body["events"][3]["params"]["page_location"]) == 1000


def test_goal_names_can_be_mapped_and_a_macro_with_value_is_a_purchase(ga4: StandIn) -> None:
    backend = destination(ga4, events={"demo": "generate_lead"})
    backend.write(
        [
            web_event("x", kind="macro", goal="demo", value=10.0, currency="USD"),
            web_event("x", kind="macro", goal="order", value=5.0, currency="USD"),
            web_event("x", kind="macro", goal="trial"),
            web_event("checkout"),
        ]
    )
    backend.close()
    names = [e["name"] for e in ga4.bodies()[0]["events"]]
    assert names == ["generate_lead", "purchase", "trial", "begin_checkout"]


def test_traits_never_reach_ga4(ga4: StandIn) -> None:
    backend = destination(ga4)
    backend.write([web_event(context={"traits": {"em": RAW_EMAIL}, "url": "https://e.com/"})])
    backend.close()  # the stand-in refuses a request holding the email
    assert len(ga4.requests) == 1


def test_identify_and_refused_consent_are_never_sent(ga4: StandIn) -> None:
    backend = destination(ga4)
    backend.write([web_event("identify", user_id="u-1"), web_event(visitor_id=None)])
    backend.close()
    assert ga4.requests == []


def test_region_validate_and_the_events_option_from_the_url(ga4: StandIn) -> None:
    url = f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}&validate=1&events=a:b_c"
    backend = from_url(url)
    assert isinstance(backend, GA4Destination) and backend.events == {"a": "b_c"}
    backend.write([web_event("x", kind="micro", goal="a")])
    assert ga4.requests[0].path == "/debug/mp/collect"
    ga4.script.append(
        (200, {"validationMessages": [{"fieldPath": "events", "description": "bad"}]}, {})
    )
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    assert caught.value.retryable is False and "bad" in str(caught.value)
    backend.close()
    eu = GA4Destination(MID, api_secret=SECRET, region="eu")
    assert eu.collect_url == "https://region1.google-analytics.com/mp/collect"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (413, False)]
)
def test_answers_are_read_as_retryable_or_not(ga4: StandIn, status: int, retryable: bool) -> None:
    backend = destination(ga4)
    ga4.script.append(refuse(f"answer {status}", status))
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    backend.close()
    assert caught.value.retryable is retryable
    assert SECRET not in str(caught.value)


def test_a_server_that_hangs_is_a_retryable_timeout(ga4: StandIn) -> None:
    ga4.hold = threading.Event()
    backend = destination(ga4, timeout=0.2)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    ga4.hold.set()
    backend.close()
    assert caught.value.retryable is True and SECRET not in str(caught.value)


def test_bad_configuration_names_the_option() -> None:
    with pytest.raises(ConfigError, match="api_secret"):
        from_url(f"ga4://{MID}")
    with pytest.raises(ConfigError, match="region"):
        from_url(f"ga4://{MID}?api_secret=s&region=mars")
    with pytest.raises(ConfigError, match="did you mean api_secret"):
        from_url(f"ga4://{MID}?api_secet=s")
    with pytest.raises(ConfigError, match="events"):
        from_url(f"ga4://{MID}?api_secret=s&events=demo:google_lead")
    with pytest.raises(ConfigError, match="endpoint"):
        from_url(f"ga4://{MID}?api_secret=s&endpoint=ftp://x")
    with pytest.raises(ConfigError, match="measurement_id"):
        from_url("ga4://?api_secret=s")
    with pytest.raises(ConfigError, match="measurement_id"):
        from_url(f"ga4://{MID}/stream?api_secret=s")


def test_the_secret_stays_out_of_httpx_log(ga4: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    backend = destination(ga4)
    with caplog.at_level(logging.DEBUG):
        backend.write([web_event()])
    backend.close()
    assert ga4.requests[0].query["api_secret"] == SECRET
    assert "HTTP Request: POST" in caplog.text and SECRET not in caplog.text


def test_the_secret_stays_out_of_repr_and_errors() -> None:
    backend = GA4Destination(MID, api_secret=SECRET, endpoint="http://127.0.0.1:9")
    assert SECRET not in repr(backend)
    with pytest.raises(BackendError) as caught:
        backend.write([web_event()])
    assert SECRET not in str(caught.value) and caught.value.retryable
    backend.close()
    with pytest.raises(BackendError) as after:
        backend.write([web_event()])
    assert after.value.retryable is False
    assert GA4Destination.default_forward == "macro"
