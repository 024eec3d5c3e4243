"""Classifying interactions, matching goals and merging decorator conversions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from convsdk import ConfigError, Event, Goal, Tracker, annotate, track_macro, track_micro
from convsdk.backends.memory import MemoryBackend
from convsdk.context import Request, activate, deactivate
from convsdk.interactions import PathSet, Pending, Recorder, is_form_type, parse_form
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
FORM = "application/x-www-form-urlencoded"

GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing", stage="consideration"),
    Goal.micro("newsletter", event="form_submit", path="/newsletter", role="secondary"),
    Goal.macro(
        "purchase", event="checkout", path="/checkout*", value_from="form:total", currency="EUR"
    ),
    Goal.macro("lead", event="form_submit", path="/contact", value=500.0),
    Goal.micro("promo", event="page_view", path="/promo", value_from="query:price"),
]


@pytest.fixture
def shop(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


def request(method: str = "GET", path: str = "/", **fields: Any) -> Request:
    fields.setdefault("user_agent", CHROME)
    fields.setdefault("remote_addr", "203.0.113.77")
    fields.setdefault("host", "shop.example")
    return Request(method, path, **fields)


def serve(
    recorder: Recorder,
    tracker: Tracker,
    req: Request,
    *,
    status: int = 200,
    content_type: str | None = "text/html; charset=utf-8",
    body: bytes | None = None,
    view: Callable[[], Any] | None = None,
    cache_control: str | None = None,
) -> tuple[Pending | None, list[str]]:
    """What a middleware does around one request."""
    pending = recorder.start(tracker, req)
    if pending is None:
        if view is not None:
            view()
        return None, []
    if pending.wants_body and body is not None:
        recorder.read_form(pending, req.content_type, body)
    token = activate(pending.ctx)
    try:
        if view is not None:
            view()
    finally:
        deactivate(token)
    return pending, recorder.finish(pending, status, content_type, cache_control)


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


# -- helpers ---------------------------------------------------------------------------


def test_path_sets_match_exact_prefix_and_wildcard_globs() -> None:
    paths = PathSet(["/cart", "/checkout*", "/blog/*/edit", "/v?/ping"])
    assert paths("/cart") and not paths("/cart/")
    assert paths("/checkout") and paths("/checkout/pay") and paths("/checkout-now")
    assert paths("/blog/2024/launch/edit") and not paths("/blog/edit")
    assert paths("/v1/ping") and not paths("/v10/ping")
    assert not PathSet([])("/anything")
    with pytest.raises(ConfigError):
        PathSet(["no-slash"])
    with pytest.raises(ConfigError):
        PathSet("/a")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (FORM, True),
        ("application/x-www-form-urlencoded; charset=UTF-8", True),
        ("Multipart/Form-Data; boundary=x", True),
        ("application/json", False),
        (None, False),
        ("", False),
        ("text/plain", False),
    ],
)
def test_form_content_types(content_type: str | None, expected: bool) -> None:
    assert is_form_type(content_type) is expected


def multipart(fields: dict[str, str], files: dict[str, bytes] | None = None) -> tuple[str, bytes]:
    boundary = "----convsdkboundary"
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, data in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="f.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def test_parse_form_reads_urlencoded_and_multipart_fields_but_never_files() -> None:
    assert parse_form(FORM, b"plan=pro&total=49.90&tag=a&tag=b&empty=") == {
        "plan": ["pro"],
        "total": ["49.90"],
        "tag": ["a", "b"],
        "empty": [""],
    }
    content_type, body = multipart({"plan": "pro", "total": "49.90"}, {"upload": b"SECRETFILE"})
    form = parse_form(content_type, body)
    assert form == {"plan": ["pro"], "total": ["49.90"]}
    assert "SECRETFILE" not in repr(form)


def test_parse_form_survives_bad_input() -> None:
    assert parse_form(FORM, b"name=caf\xe9&x=%ff") == {"name": ["caf\ufffd"], "x": ["\ufffd"]}
    content_type, body = multipart({"plan": "pro"})
    assert parse_form(content_type, body[:-10]) is None  # truncated
    assert parse_form("multipart/form-data", body) is None  # no boundary
    assert parse_form(content_type, b"garbage") is None
    assert parse_form(FORM, b"&".join(b"f%d=1" % i for i in range(2000))) is None  # too many
    assert parse_form("application/json", b"{}") is None


def test_recorder_options_are_checked() -> None:
    for options in (
        {"trusted_proxies": -1},
        {"trusted_proxies": "1"},
        {"max_body_size": -1},
        {"dnt": "ignore"},
        {"visitor_cookie": "same", "session_cookie": "same"},
        {"visitor_cookie": "bad name"},
        {"variant_header": "X Bad"},
        {"capture_fields": "plan"},
        {"exclude_paths": ["relative"]},
        {"consent": "yes"},
        {"cookie_domain": "bad domain;"},
        {"visitor_max_age": 0},
    ):
        with pytest.raises(ConfigError):
            Recorder(**options)


def test_sensitive_capture_fields_are_refused_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="convsdk.interactions"):
        recorder = Recorder(capture_fields=["plan", "password", "card_number"])
    assert recorder.capture_fields == ("plan",)
    assert "password" in caplog.text


# -- what is recorded -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/static/app.css"),
        ("GET", "/assets/logo.PNG"),
        ("GET", "/favicon.ico"),
        ("GET", "/robots.txt"),
        ("GET", "/health"),
        ("GET", "/healthz"),
        ("GET", "/ready"),
        ("GET", "/livez"),
        ("GET", "/metrics"),
        ("HEAD", "/pricing"),
        ("OPTIONS", "/checkout"),
        ("GET", "/admin/users"),
    ],
)
def test_assets_health_checks_and_excluded_paths_are_never_recorded(
    shop: Tracker, memory: MemoryBackend, method: str, path: str
) -> None:
    recorder = Recorder(exclude_paths=["/admin/*"])
    pending, cookies = serve(recorder, shop, request(method, path))
    assert pending is None and cookies == []
    assert stored(shop, memory) == []


@pytest.mark.parametrize(
    "path",
    [
        "/healthcare",
        "/health-insurance",
        "/live-demo",
        "/livestream",
        "/ready-to-wear",
        "/metrics-guide",
    ],
)
def test_pages_named_like_health_checks_are_recorded(
    shop: Tracker, memory: MemoryBackend, path: str
) -> None:
    serve(Recorder(), shop, request("GET", path))
    assert [e.name for e in stored(shop, memory)] == ["page_view"]


def test_builtin_exclusions_can_be_dropped(shop: Tracker, memory: MemoryBackend) -> None:
    recorder = Recorder(exclude_defaults=False)
    serve(recorder, shop, request("GET", "/livez"))
    assert [e.name for e in stored(shop, memory)] == ["page_view"]


def test_a_page_view_matches_its_goal_and_carries_the_request(
    shop: Tracker, memory: MemoryBackend
) -> None:
    recorder = Recorder()
    req = request(
        "GET",
        "/pricing",
        query="utm_source=news&utm_campaign=spring&utm_medium=",
        referrer="https://search.example/?q=shop",
    )
    pending, cookies = serve(recorder, shop, req)
    assert pending is not None and len(cookies) == 2
    [event] = stored(shop, memory)
    assert (event.name, event.kind, event.goal) == ("page_view", "micro", "viewed_pricing")
    assert event.visitor_id == pending.ctx.visitor_id and event.session_id
    assert event.properties == {}
    assert event.context == {
        "method": "GET",
        "path": "/pricing",
        "url": "http://shop.example/pricing?utm_source=news&utm_campaign=spring&utm_medium=",
        "referrer": "https://search.example/?q=shop",
        "user_agent": CHROME,
        "ip": "203.0.113.0",
        "status": 200,
        "utm": {
            "source": "news",
            "medium": None,
            "campaign": "spring",
            "term": None,
            "content": None,
        },
    }
    assert "stage" not in event.properties  # goal metadata stays in the goals file


@pytest.mark.parametrize(
    ("status", "content_type"),
    [
        (200, "application/json"),
        (304, "text/html"),
        (404, "text/html"),
        (500, None),
        (302, "text/html"),
        (200, "image/png"),
    ],
)
def test_only_successful_html_gets_count_as_page_views(
    shop: Tracker, memory: MemoryBackend, status: int, content_type: str | None
) -> None:
    serve(Recorder(), shop, request("GET", "/pricing"), status=status, content_type=content_type)
    assert stored(shop, memory) == []


def test_a_get_with_xhtml_is_a_page_view_one_without_content_type_is_not(
    shop: Tracker, memory: MemoryBackend
) -> None:
    # No Content-Type: an empty or unknown answer, no page the visitor saw.
    serve(Recorder(), shop, request("GET", "/a"), content_type=None)
    serve(Recorder(), shop, request("GET", "/b"), content_type="application/xhtml+xml")
    serve(Recorder(), shop, request("GET", "/c"), content_type="")
    assert [(e.name, e.context["path"]) for e in stored(shop, memory)] == [("page_view", "/b")]


def test_unmatched_interactions_are_recorded_without_a_kind(
    shop: Tracker, memory: MemoryBackend
) -> None:
    serve(Recorder(), shop, request("GET", "/about"))
    serve(Recorder(), shop, request("POST", "/feedback", content_type=FORM), status=303)
    events = stored(shop, memory)
    assert [(e.name, e.kind, e.goal) for e in events] == [
        ("page_view", None, None),
        ("form_submit", None, None),
    ]


def test_form_submits_and_checkouts(shop: Tracker, memory: MemoryBackend) -> None:
    recorder = Recorder()
    serve(
        recorder,
        shop,
        request("POST", "/newsletter", content_type=FORM, content_length=20),
        body=b"email=a%40example.com",
    )
    serve(recorder, shop, request("PUT", "/contact", content_type=FORM))
    serve(recorder, shop, request("POST", "/checkout/pay", content_type="application/json"))
    serve(recorder, shop, request("PATCH", "/checkout", content_type="application/json"))
    serve(recorder, shop, request("POST", "/api/things", content_type="application/json"))
    events = stored(shop, memory)
    assert [(e.name, e.kind, e.goal, e.value) for e in events] == [
        ("form_submit", "micro", "newsletter", None),
        ("form_submit", "macro", "lead", 500.0),
        ("checkout", "macro", "purchase", None),  # JSON: no form value to read
    ]
    assert events[1].currency == "USD"  # a fixed value in the tracker's currency


def test_checkout_value_is_read_from_the_form_and_never_stored(
    shop: Tracker, memory: MemoryBackend
) -> None:
    recorder = Recorder()
    body = b"total=%241%2C299.00&card_number=4111111111111111&password=hunter2"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    pending, _ = serve(recorder, shop, req, status=303, body=body)
    assert pending is not None and pending.wants_body
    [event] = stored(shop, memory)
    assert (event.name, event.kind, event.goal) == ("checkout", "macro", "purchase")
    assert (event.value, event.currency) == (1299.0, "EUR")
    assert event.properties == {}
    dumped = repr(event.to_dict())  # the whole number: four digits turn up in random ids
    assert "4111111111111111" not in dumped and "hunter2" not in dumped


def test_a_value_beyond_max_value_is_dropped_and_the_checkout_still_recorded(
    shop: Tracker, memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    huge = b"total=" + b"1" * 30 + b".00"  # a visitor's 1e29 is no revenue
    for body in (huge, huge, b"total=49.90"):
        req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
        serve(recorder, shop, req, status=303, body=body)
    events = stored(shop, memory)
    assert [(e.goal, e.value) for e in events] == [
        ("purchase", None),
        ("purchase", None),
        ("purchase", 49.9),
    ]
    assert shop.stats()["values_dropped"] == 2
    warnings = [r for r in caplog.records if "max_value" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: visitors repeat


def test_the_form_is_read_only_when_something_needs_it(shop: Tracker) -> None:
    plain = Recorder()
    small = request("POST", "/newsletter", content_type=FORM, content_length=10)
    assert plain.start(shop, small).wants_body is False  # type: ignore[union-attr]
    checkout = request("POST", "/checkout", content_type=FORM, content_length=10)
    assert plain.start(shop, checkout).wants_body is True  # type: ignore[union-attr]
    capturing = Recorder(capture_fields=["plan"])
    assert capturing.start(shop, small).wants_body is True  # type: ignore[union-attr]
    for req in (
        request("POST", "/checkout", content_type=FORM, content_length=None),  # chunked
        request("POST", "/checkout", content_type=FORM, content_length=0),
        request("POST", "/checkout", content_type=FORM, content_length=2 * 1024 * 1024),
        request("POST", "/checkout", content_type="application/json", content_length=10),
    ):
        assert plain.start(shop, req).wants_body is False  # type: ignore[union-attr]
    tight = Recorder(max_body_size=5)
    assert tight.start(shop, checkout).wants_body is False  # type: ignore[union-attr]


def test_allowlisted_fields_become_properties(shop: Tracker, memory: MemoryBackend) -> None:
    recorder = Recorder(capture_fields=["plan", "seats", "coupon"])
    body = b"plan=pro&seats=3&coupon=4111+1111+1111+1111&email=a%40b.c"
    req = request("POST", "/signup", content_type=FORM, content_length=len(body))
    serve(recorder, shop, req, status=302, body=body)
    [event] = stored(shop, memory)
    assert event.properties == {"plan": "pro", "seats": "3"}


def test_a_goal_value_can_come_from_the_query_string(shop: Tracker, memory: MemoryBackend) -> None:
    serve(Recorder(), shop, request("GET", "/promo", query="price=19.90&x=1"))
    [event] = stored(shop, memory)
    assert (event.goal, event.value, event.currency) == ("promo", 19.9, "USD")


def test_failed_submissions_are_counted_but_convert_nothing(
    shop: Tracker, memory: MemoryBackend
) -> None:
    body = b"total=49.90"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    serve(Recorder(), shop, req, status=402, body=body)
    [event] = stored(shop, memory)
    assert (event.name, event.kind, event.goal, event.value) == ("checkout", None, None, None)
    assert event.context["status"] == 402


# -- decorators and annotate() -----------------------------------------------------------


def test_a_decorator_and_a_goal_on_one_request_make_one_event(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_macro("purchase", currency="GBP")
    def checkout() -> str:
        annotate(value=99.0, transaction_id="order-7", properties={"items": 2})
        return "ok"

    body = b"total=49.90"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    serve(Recorder(), shop, req, status=303, body=body, view=checkout)
    [event] = stored(shop, memory)
    assert (event.name, event.kind, event.goal) == ("checkout", "macro", "purchase")
    assert (event.value, event.currency, event.transaction_id) == (99.0, "GBP", "order-7")
    assert event.properties == {"items": 2}
    assert event.context["status"] == 303 and event.context["path"] == "/checkout"


def test_the_goal_value_stays_when_the_decorator_gives_none(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_macro("purchase")
    def checkout() -> str:
        annotate(transaction_id="order-8")
        return "ok"

    body = b"total=49.90"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    serve(Recorder(), shop, req, body=body, view=checkout)
    [event] = stored(shop, memory)
    assert (event.value, event.currency, event.transaction_id) == (49.9, "EUR", "order-8")


def test_the_goal_currency_stays_when_the_decorator_gives_a_value_without_one(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_macro("purchase")
    def checkout() -> str:
        annotate(value=10.0)
        return "ok"

    body = b"total=49.90"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    serve(Recorder(), shop, req, body=body, view=checkout)
    [event] = stored(shop, memory)
    assert (event.value, event.currency) == (10.0, "EUR")  # the goal's, not the default USD


def test_the_decorators_currency_applies_to_the_goals_value(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_macro("purchase", currency="GBP")
    def checkout() -> str:
        return "ok"

    body = b"total=20"
    req = request("POST", "/checkout", content_type=FORM, content_length=len(body))
    serve(Recorder(), shop, req, body=body, view=checkout)
    [event] = stored(shop, memory)
    assert (event.value, event.currency) == (20.0, "GBP")


def test_a_decorator_value_without_a_goal_takes_the_default_currency(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_macro("donation", value=5.0)
    def donate() -> str:
        return "ok"

    serve(Recorder(), shop, request("GET", "/donate"), view=donate)
    events = stored(shop, memory)
    [event] = [e for e in events if e.goal == "donation"]
    assert (event.value, event.currency) == (5.0, "USD")


def test_other_decorator_conversions_are_their_own_events_with_the_final_status(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_micro("started_trial")
    @track_macro("purchase", value=10.0)
    def checkout() -> str:
        return "ok"

    req = request("POST", "/checkout", content_type="application/json")
    serve(Recorder(), shop, req, status=201, content_type="application/json", view=checkout)
    events = sorted(stored(shop, memory), key=lambda e: e.name)
    assert [(e.name, e.kind, e.goal, e.value) for e in events] == [
        ("checkout", "macro", "purchase", 10.0),
        ("started_trial", "micro", "started_trial", None),
    ]
    assert all(e.context["status"] == 201 for e in events)
    assert events[0].visitor_id == events[1].visitor_id is not None


def test_a_decorated_json_endpoint_records_only_its_conversion(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_micro("api_signup")
    def api() -> dict[str, str]:
        return {"ok": "yes"}

    serve(
        Recorder(), shop, request("POST", "/api/signup"), content_type="application/json", view=api
    )
    [event] = stored(shop, memory)
    assert (event.name, event.kind) == ("api_signup", "micro")
    assert event.context["status"] == 200


@pytest.mark.parametrize("status", [400, 402, 404, 500])
def test_an_error_answer_records_no_decorator_conversion(
    shop: Tracker, memory: MemoryBackend, status: int
) -> None:
    @track_micro("started_trial")
    @track_macro("purchase", value=10.0)
    def checkout() -> str:
        return "ok"  # the view returned, but the app answered with an error

    req = request("POST", "/checkout", content_type=FORM)
    serve(Recorder(), shop, req, status=status, view=checkout)
    assert [(e.name, e.kind, e.value) for e in stored(shop, memory)] == [("checkout", None, None)]


def test_annotate_outside_a_decorated_view_applies_to_the_matched_goal(
    shop: Tracker, memory: MemoryBackend
) -> None:
    def checkout() -> None:
        annotate(
            value=120.0, transaction_id="order-9", properties={"coupon": "SPRING"}, user_id="user-1"
        )

    req = request("POST", "/checkout/done", content_type="application/json")
    serve(Recorder(), shop, req, view=checkout)
    [event] = stored(shop, memory)
    assert (event.goal, event.value, event.currency) == ("purchase", 120.0, "EUR")
    assert (event.transaction_id, event.user_id) == ("order-9", "user-1")
    assert event.properties == {"coupon": "SPRING"}


def test_invalid_annotations_are_dropped_not_the_interaction(
    shop: Tracker, memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    def view() -> None:
        annotate(value="lots")

    serve(Recorder(), shop, request("GET", "/pricing"), view=view)
    [event] = stored(shop, memory)
    assert (event.goal, event.value) == ("viewed_pricing", None)
    assert "annotate" in caplog.text


def test_card_numbers_from_the_view_never_reach_the_backend(
    shop: Tracker, memory: MemoryBackend
) -> None:
    @track_micro("paid")
    def view() -> str:
        annotate(properties={"note": "card 4111 1111 1111 1111", "ok": 1})
        return "ok"

    def outside() -> None:
        annotate(properties={"pan": "5555555555554444"})
        view()

    serve(Recorder(), shop, request("GET", "/pricing"), view=outside)
    events = stored(shop, memory)
    assert len(events) == 2
    dumped = repr([e.to_dict() for e in events])
    assert "4111 1111" not in dumped and "5555555555554444" not in dumped


# -- privacy and identity ------------------------------------------------------------


@pytest.mark.parametrize("header", [{"gpc": "1"}, {"dnt": "1"}])
def test_do_not_track_records_anonymously_without_cookies(
    shop: Tracker, memory: MemoryBackend, header: dict[str, str]
) -> None:
    @track_macro("purchase", value=10.0)
    def view() -> str:
        annotate(user_id="user-1")
        return "ok"

    req = request(
        "POST", "/checkout", content_type="application/json", cookie="cv_vid=x; cv_sid=y", **header
    )
    pending, cookies = serve(Recorder(), shop, req, view=view)
    assert cookies == []
    assert pending is not None and pending.ctx.anonymous
    [event] = stored(shop, memory)
    assert (event.goal, event.value) == ("purchase", 10.0)
    assert (event.visitor_id, event.session_id, event.user_id) == (None, None, None)


def test_do_not_track_can_skip_the_request_entirely(shop: Tracker, memory: MemoryBackend) -> None:
    pending, cookies = serve(Recorder(dnt="skip"), shop, request("GET", "/pricing", dnt="1"))
    assert pending is not None and not pending.ctx.track and cookies == []
    assert stored(shop, memory) == []


def test_do_not_track_is_ignored_when_the_tracker_says_so(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, spool_dir=None, secret_key="k", respect_dnt=False) as tracker:
        _, cookies = serve(Recorder(), tracker, request("GET", "/", gpc="1"))
        assert len(cookies) == 2
        assert tracker.flush(5)
        assert memory.events[0].visitor_id is not None


def test_bots_are_not_counted(shop: Tracker, memory: MemoryBackend) -> None:
    @track_micro("crawled")
    def view() -> str:
        return "ok"

    req = request("GET", "/pricing", user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)")
    pending, cookies = serve(Recorder(), shop, req, view=view)
    assert pending is not None and not pending.ctx.track and cookies == []
    assert stored(shop, memory) == []


def test_bots_are_counted_when_filtering_is_off(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, spool_dir=None, filter_bots=False) as tracker:
        serve(Recorder(), tracker, request("GET", "/", user_agent="Googlebot/2.1"))
        assert tracker.flush(5)
        assert len(memory.events) == 1


def test_consent_decides_whether_visitors_are_identified(
    shop: Tracker, memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    def consent(req: Request) -> bool:
        if req.cookie == "boom":
            raise RuntimeError("banner service down")
        return req.cookie == "consent=yes"

    recorder = Recorder(consent=consent)
    _, granted = serve(recorder, shop, request("GET", "/a", cookie="consent=yes"))
    _, refused = serve(recorder, shop, request("GET", "/b"))
    _, failed = serve(recorder, shop, request("GET", "/c", cookie="boom"))
    assert len(granted) == 2 and refused == [] and failed == []
    events = stored(shop, memory)
    assert [e.visitor_id is not None for e in events] == [True, False, False]
    assert "consent" in caplog.text


def test_trusted_proxies_give_the_client_address_and_scheme(
    shop: Tracker, memory: MemoryBackend
) -> None:
    req = request(
        "GET",
        "/",
        remote_addr="10.0.0.2",
        forwarded_for="6.6.6.6, 198.51.100.4",
        forwarded_proto="https",
    )
    _, untrusted = serve(Recorder(), shop, req)
    _, trusted = serve(Recorder(trusted_proxies=1), shop, req)
    first, second = stored(shop, memory)
    assert first.context["ip"] == "10.0.0.0" and first.context["url"].startswith("http://")
    assert second.context["ip"] == "198.51.100.0" and second.context["url"].startswith("https://")
    assert not any("Secure" in c for c in untrusted)
    assert all(c.endswith("; Secure") for c in trusted)


def test_a_forwarded_scheme_is_read_whatever_its_case(shop: Tracker, memory: MemoryBackend) -> None:
    req = request("GET", "/", remote_addr="10.0.0.2", forwarded_proto="HTTPS")
    _, cookies = serve(Recorder(trusted_proxies=1), shop, req)
    (event,) = stored(shop, memory)
    assert event.context["url"].startswith("https://")
    assert cookies and all(c.endswith("; Secure") for c in cookies)


def test_ip_anonymisation_can_be_turned_off(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, spool_dir=None, anonymize_ip=False) as tracker:
        serve(Recorder(), tracker, request("GET", "/", remote_addr="203.0.113.77"))
        assert tracker.flush(5)
        assert memory.events[0].context["ip"] == "203.0.113.77"


def test_the_variant_comes_from_a_cookie_or_a_header(shop: Tracker, memory: MemoryBackend) -> None:
    by_cookie = Recorder(variant_cookie="ab_pricing")
    serve(by_cookie, shop, request("GET", "/pricing", cookie="ab_pricing=annual; x=1"))
    by_header = Recorder(variant_header="X-Variant")
    serve(by_header, shop, request("GET", "/pricing", variant="B"))
    serve(by_cookie, shop, request("GET", "/pricing"))
    events = stored(shop, memory)
    assert [e.context.get("variant") for e in events] == ["annual", "B", None]


def test_secrets_in_urls_and_referrers_are_scrubbed(shop: Tracker, memory: MemoryBackend) -> None:
    req = request(
        "GET",
        "/reset/4111111111111111",
        query="token=abc&step=2",
        referrer="https://mail.example/?password=x",
    )
    serve(Recorder(), shop, req)
    [event] = stored(shop, memory)
    assert event.context["path"] == "/reset/[redacted]"
    assert event.context["url"] == "http://shop.example/reset/[redacted]?token=[redacted]&step=2"
    assert event.context["referrer"] == "https://mail.example/?password=[redacted]"


_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXZhbHVl"


def test_tokens_and_session_ids_are_not_stored(shop: Tracker, memory: MemoryBackend) -> None:
    req = request(
        "GET",
        f"/verify/{_JWT}",
        query="sid=s3ss10n&jwt=abc.def&plan=pro",
        referrer=f"https://login.example/cb#id_token={_JWT}&access_token=ya29.x",
    )
    serve(Recorder(), shop, req)
    [event] = stored(shop, memory)
    stored_text = repr(event.context)
    for secret in (_JWT, "s3ss10n", "abc.def", "ya29.x"):
        assert secret not in stored_text
    assert event.context["path"] == "/verify/[redacted]"
    assert event.context["url"].endswith("?sid=[redacted]&jwt=[redacted]&plan=pro")
    assert event.context["referrer"] == (
        "https://login.example/cb#id_token=[redacted]&access_token=[redacted]"
    )


def test_oversized_request_fields_are_cut_to_what_the_schema_accepts(
    shop: Tracker, memory: MemoryBackend
) -> None:
    from convsdk.event import EventSchema

    req = request(
        "GET",
        "/" + "p" * 5000,
        query="utm_source=" + "s" * 500,
        user_agent="U" * 3000,
        referrer="https://r.example/" + "r" * 5000,
    )
    serve(Recorder(exclude_defaults=False), shop, req)
    [event] = stored(shop, memory)
    EventSchema().load(event.to_dict())  # validates


def test_the_same_recorder_serves_several_trackers(memory: MemoryBackend) -> None:
    recorder = Recorder()
    other = MemoryBackend()
    with (
        Tracker(backend=memory, spool_dir=None, secret_key="one") as first,
        Tracker(backend=other, spool_dir=None, secret_key="two") as second,
    ):
        _, cookies_one = serve(recorder, first, request("GET", "/"))
        header = "; ".join(c.split(";", 1)[0] for c in cookies_one)
        # The other tracker's key does not verify the first one's cookies.
        _, cookies_two = serve(recorder, second, request("GET", "/", cookie=header))
        assert len(cookies_two) == 2
        assert first.flush(5) and second.flush(5)
        assert memory.events[0].visitor_id != other.events[0].visitor_id


def test_annotations_on_a_failed_request_are_dropped(shop: Tracker, memory: MemoryBackend) -> None:
    def view() -> None:
        annotate(value=10.0, transaction_id="order-10", user_id="user-1")

    serve(Recorder(), shop, request("POST", "/checkout", content_type=FORM), status=402, view=view)
    [event] = stored(shop, memory)
    assert (event.kind, event.value, event.transaction_id, event.user_id) == (
        None,
        None,
        None,
        None,
    )


# -- what is remembered between requests ------------------------------------------------


def test_repeated_requests_are_recorded_like_the_first(
    shop: Tracker, memory: MemoryBackend
) -> None:
    recorder = Recorder(exclude_paths=["/internal*"])
    req = request("GET", "/pricing", query="utm_source=news", referrer="https://r.example/")
    for _ in range(3):
        serve(recorder, shop, req)
        assert serve(recorder, shop, request("GET", "/internal/stats"))[0] is None
    first, second, third = stored(shop, memory)
    assert first.context == second.context == third.context
    assert first.goal == second.goal == third.goal == "viewed_pricing"
    # Events may be changed after they are built: none shares its UTM dict.
    first.context["utm"]["source"] = "changed"
    assert second.context["utm"]["source"] == "news"
    # Exclusions are the recorder's own: another recorder records the same URL.
    serve(Recorder(), shop, request("GET", "/internal/stats"))
    assert [e.context["path"] for e in stored(shop, memory)][3:] == ["/internal/stats"]


def test_one_recorder_matches_each_trackers_own_goals(memory: MemoryBackend) -> None:
    recorder = Recorder()
    other = MemoryBackend()
    with (
        Tracker(backend=memory, spool_dir=None, secret_key="k", goals=GOALS) as shop,
        Tracker(
            backend=other,
            spool_dir=None,
            secret_key="k",
            goals=[Goal.macro("pricing_seen", event="page_view", path="/pricing")],
        ) as site,
    ):
        for tracker in (shop, site, shop):
            serve(recorder, tracker, request("GET", "/pricing"))
        assert shop.flush(5) and site.flush(5)
    assert [(e.kind, e.goal) for e in memory.events] == [("micro", "viewed_pricing")] * 2
    assert [(e.kind, e.goal) for e in other.events] == [("macro", "pricing_seen")]


def test_more_pages_than_a_recorder_remembers_are_each_recorded_as_they_are(
    shop: Tracker, memory: MemoryBackend
) -> None:
    """Pages and goal matches are remembered up to a bound: past it, each page is still
    stored, excluded and classified as the first time."""
    recorder = Recorder()
    paths = [f"/blog/{n}" for n in range(5000)] + ["/pricing", "/blog/0", "/health", "/pricing"]
    for path in paths:
        serve(recorder, shop, request("GET", path, query=f"utm_source=n{len(path)}"))
    events = stored(shop, memory)
    assert len(events) == len(paths) - 1  # the health check is never recorded
    assert [(e.context["path"], e.goal) for e in events[-3:]] == [
        ("/pricing", "viewed_pricing"),
        ("/blog/0", None),
        ("/pricing", "viewed_pricing"),
    ]
    last = events[-1].context
    assert last["url"] == "http://shop.example/pricing?utm_source=n8"
    assert last["utm"] == {
        "source": "n8",
        "medium": None,
        "campaign": None,
        "term": None,
        "content": None,
    }


def test_response_content_types_are_classified_the_same_every_time(
    shop: Tracker, memory: MemoryBackend
) -> None:
    recorder = Recorder()
    for content_type in ["text/html; charset=utf-8", "application/json", "TEXT/HTML"] * 2:
        serve(recorder, shop, request("GET", "/about"), content_type=content_type)
    assert len(stored(shop, memory)) == 4


def test_a_response_that_records_nothing_signs_no_cookie(
    shop: Tracker, memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convsdk.identity.signing import FastSigner

    signed: list[str] = []
    original = FastSigner.sign
    monkeypatch.setattr(FastSigner, "sign", lambda self, v: signed.append(v) or original(self, v))
    recorder = Recorder()
    # A new visitor's 404, JSON answer and redirect: ids for the view, no signature.
    for status, content_type in [(404, "text/html"), (200, "application/json"), (302, None)]:
        pending, cookies = serve(
            recorder, shop, request("GET", "/api"), status=status, content_type=content_type
        )
        assert pending is not None and pending.ctx.visitor_id and pending.ctx.session_id
        assert cookies == [] and signed == []
    # The page view that records: both cookies, signed once each, for the ids the view saw.
    pending, cookies = serve(recorder, shop, request("GET", "/pricing"))
    assert pending is not None and len(cookies) == 2 and len(signed) == 2
    assert cookies[0].startswith(f"cv_vid={pending.ctx.visitor_id}.")
    assert cookies[1].startswith(f"cv_sid={pending.ctx.session_id}.")
    assert [e.visitor_id for e in stored(shop, memory)] == [pending.ctx.visitor_id]
