"""The collect endpoint: what the browser may record, and everything it may not."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, g, render_template_string
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

from convsdk import ConfigError, Event, Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.beacon import LIMITS_FILE, BeaconEndpoint, RateLimiter, pop_beacon_options
from convsdk.identity import Identity
from convsdk.integrations import asgi as asgi_integration
from convsdk.integrations import wsgi as wsgi_integration
from convsdk.integrations.browser import (
    browser_script,
    register_flask_template_helper,
    render_script_tag,
    script_tag,
)
from convsdk.ratelimit import (
    FallbackStore,
    FileStore,
    Limit,
    MemoryStore,
    network_of,
    store_from_url,
)
from convsdk.runtime import set_default

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SECRET = "s3cret"
COLLECT = "/_convsdk/collect"
ORIGIN = "http://localhost"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.micro("demo_video", event="video_played", source="browser", path="/product*"),
    Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total"),
]
BROWSER_EVENTS = ["scroll_depth", "compare_plans", "time_on_page"]


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    tracker = Tracker(
        backend=memory, spool_dir=None, secret_key=SECRET, goals=GOALS, flush_interval=0.05
    )
    try:
        yield tracker
    finally:
        tracker.close()


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


def browser_events(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    return [e for e in stored(tracker, memory) if e.context.get("source") == "browser"]


# -- a WSGI site: the middleware, the endpoint in front ---------------------------------


class Site:
    """A WSGI shop behind ConversionMiddleware, with the collect endpoint routed in front."""

    def __init__(self, tracker: Tracker, **options: Any) -> None:
        self.seen: list[str] = []
        # The middleware's options (cookies, privacy) reach the endpoint through its recorder.
        recorder_options = {
            key: options.pop(key) for key in ("clock", "dnt", "trusted_proxies") if key in options
        }
        middleware = wsgi_integration.ConversionMiddleware(
            self.app, tracker=tracker, **recorder_options
        )
        options.setdefault("browser_events", BROWSER_EVENTS)
        self.endpoint = BeaconEndpoint(tracker, recorder=middleware.recorder, **options)
        self.client = Client(LintMiddleware(self.endpoint.wrap_wsgi(middleware)))

    @Request.application  # type: ignore[arg-type]
    def app(self, request: Request) -> Response:
        self.seen.append(request.path)
        return Response(f"<h1>{request.path}</h1>", mimetype="text/html")

    def visit(
        self,
        path: str = "/pricing",
        *,
        client: Client | None = None,
        remote_addr: str = "127.0.0.1",
    ) -> None:
        response = (client or self.client).get(
            path, headers={"User-Agent": CHROME}, environ_overrides={"REMOTE_ADDR": remote_addr}
        )
        assert response.status_code == 200

    def beacon(
        self,
        payload: Any,
        *,
        origin: str | None = ORIGIN,
        content_type: str = "text/plain;charset=UTF-8",
        user_agent: str = CHROME,
        client: Client | None = None,
        remote_addr: str = "127.0.0.1",
        **headers: str,
    ) -> Any:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {"User-Agent": user_agent, "Content-Type": content_type, **headers}
        if origin is not None:
            sent["Origin"] = origin
        return (client or self.client).post(
            COLLECT, data=data, headers=sent, environ_overrides={"REMOTE_ADDR": remote_addr}
        )


def call(endpoint: BeaconEndpoint, environ: dict[str, Any]) -> tuple[int, bytes]:
    """Call the endpoint as a server would, with an environ made by hand."""
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    body = b"".join(endpoint.wsgi(environ, start_response))
    return int(statuses[0][:3]), body


@Request.application  # type: ignore[arg-type]
def plain_page(request: Request) -> Response:
    return Response("<h1>page</h1>", mimetype="text/html")


def scroll(depth: int = 75, url: str = "http://localhost/pricing?utm_source=news") -> Any:
    return {"url": url, "events": [{"name": "scroll_depth", "properties": {"depth": depth}}]}


@pytest.fixture
def site(site_tracker: Tracker) -> Site:
    return Site(site_tracker)


def test_allowlisted_events_are_stored_with_the_visit_ids(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site.visit("/pricing")
    payload = {
        "url": "http://localhost/pricing?utm_source=news#access_token=abc",
        "events": [
            {"name": "scroll_depth", "properties": {"depth": 75}},
            {"name": "compare_plans", "kind": "micro"},
        ],
    }
    response = site.beacon(payload)
    assert response.status_code == 204
    assert response.headers["Cache-Control"] == "no-store"
    events = stored(site_tracker, memory)
    page_view = next(e for e in events if e.name == "page_view")
    scrolled, clicked = (e for e in events if e.context.get("source") == "browser")
    assert (scrolled.name, scrolled.kind, scrolled.goal) == (
        "scroll_depth",
        "micro",
        "scroll_depth",
    )
    assert scrolled.properties == {"depth": 75}
    assert (clicked.name, clicked.kind, clicked.goal) == ("compare_plans", "micro", "compare_plans")
    for event in (scrolled, clicked):
        assert event.visitor_id == page_view.visitor_id is not None
        assert event.session_id == page_view.session_id is not None
        assert event.value is None
        assert event.context["path"] == "/pricing"
        # The fragment never reaches the store.
        assert event.context["url"] == "http://localhost/pricing?utm_source=news"
        assert event.context["utm"]["source"] == "news"
        assert event.context["user_agent"] == CHROME
        assert event.context["ip"] == page_view.context["ip"]
    assert COLLECT not in site.seen


def test_a_browser_goal_classifies_its_event_and_allows_it(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site.visit("/product/pro")
    played = {"name": "video_played", "properties": {"video": "demo"}}
    assert (
        site.beacon({"url": "http://localhost/product/pro", "events": [played]}).status_code == 204
    )
    # Allowed by the goal's event name on any page; the goal counts only on its paths.
    assert site.beacon({"url": "http://localhost/blog", "events": [played]}).status_code == 204
    on_product, on_blog = browser_events(site_tracker, memory)
    assert (on_product.kind, on_product.goal) == ("micro", "demo_video")
    assert (on_blog.kind, on_blog.goal) == ("micro", "video_played")


def test_the_referer_is_the_origin_and_the_page_when_the_payload_has_no_url(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site.visit()
    payload = {"events": [{"name": "compare_plans"}]}
    response = site.beacon(payload, origin=None, Referer="http://localhost/pricing?plan=pro")
    assert response.status_code == 204
    (event,) = browser_events(site_tracker, memory)
    assert event.context["path"] == "/pricing"
    assert event.context["url"] == "http://localhost/pricing?plan=pro"
    assert event.context["referrer"] is None


def test_json_content_type_and_a_card_number_in_properties(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site.visit()
    payload = {"events": [{"name": "compare_plans", "properties": {"note": "4111 1111 1111 1111"}}]}
    assert site.beacon(payload, content_type="application/json").status_code == 204
    (event,) = browser_events(site_tracker, memory)
    assert event.properties == {}


REFUSALS = [
    pytest.param(
        {"events": [{"name": "compare_plans", "kind": "macro"}]}, 403, "macro", id="macro-kind"
    ),
    pytest.param(
        {"events": [{"name": "compare_plans", "value": 99.0}]}, 403, "value", id="value-field"
    ),
    pytest.param(
        {"events": [{"name": "compare_plans", "currency": "USD"}]}, 403, "currency", id="currency"
    ),
    pytest.param(
        {"events": [{"name": "compare_plans", "visitor_id": "someone"}]}, 403, "visitor_id",
        id="forged-visitor",
    ),
    pytest.param({"events": [{"name": "purchase"}]}, 403, "not allowed", id="unknown-name"),
    pytest.param({"events": [{"name": "page_view"}]}, 403, "not allowed", id="reserved-name"),
    pytest.param(
        {"events": [{"name": "scroll_depth"}, {"name": "hacked"}]}, 403, "not allowed",
        id="one-bad-event-refuses-the-batch",
    ),
    pytest.param({"events": [{"name": "bad name!"}]}, 400, "event names", id="invalid-name"),
    pytest.param({"events": [{"name": "scroll_depth", "kind": "other"}]}, 400, "kind", id="kind"),
    pytest.param({"events": [{"name": "scroll_depth", "extra": 1}]}, 400, "unknown", id="field"),
    pytest.param(b'{"events": [', 400, "not JSON", id="malformed-json"),
    pytest.param(b"\xff\xfe", 400, "not JSON", id="not-utf8"),
    pytest.param([1, 2], 400, "events", id="not-an-object"),
    pytest.param({"events": []}, 400, "non-empty", id="no-events"),
    pytest.param({"events": ["scroll_depth"]}, 400, "object", id="event-not-an-object"),
    pytest.param(
        {"events": [{"name": "scroll_depth", "properties": [1]}]}, 400, "properties",
        id="properties-not-an-object",
    ),
    pytest.param(
        {"events": [{"name": "scroll_depth", "properties": {"x": "y" * 5000}}]}, 400, "longer",
        id="properties-too-long",
    ),
    pytest.param(
        {"events": [{"name": "scroll_depth"}] * 21}, 413, "at most 20", id="too-many-events"
    ),
    pytest.param(
        {"url": "https://evil.example/pricing", "events": [{"name": "scroll_depth"}]}, 403,
        "not a page", id="foreign-page-url",
    ),
    pytest.param(
        {"url": "javascript:alert(1)", "events": [{"name": "scroll_depth"}]}, 400, "http",
        id="not-a-page-url",
    ),
    pytest.param(b"x" * 16_385, 413, "larger than 16384", id="oversized-body"),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "status", "reason"), REFUSALS)
def test_refused_payloads_store_nothing(
    site: Site,
    site_tracker: Tracker,
    memory: MemoryBackend,
    payload: Any,
    status: int,
    reason: str,
) -> None:
    site.visit()
    response = site.beacon(payload)
    assert response.status_code == status
    assert response.mimetype == "text/plain"
    assert reason in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert browser_events(site_tracker, memory) == []
    assert COLLECT not in site.seen


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"origin": "https://evil.example"}, 403, id="foreign-origin"),
        pytest.param({"origin": "http://localhost.evil.example"}, 403, id="lookalike-origin"),
        pytest.param({"origin": "null"}, 403, id="null-origin"),
        pytest.param({"origin": None}, 403, id="no-origin-nor-referer"),
        pytest.param(
            {"origin": None, "Referer": "https://evil.example/"}, 403, id="foreign-referer"
        ),
        pytest.param({"content_type": "application/x-www-form-urlencoded"}, 415, id="form"),
        pytest.param({"Content-Length": "999999"}, 413, id="announced-oversize"),
    ],
)
def test_refused_requests_store_nothing(
    site: Site, site_tracker: Tracker, memory: MemoryBackend, headers: dict[str, Any], status: int
) -> None:
    site.visit()
    if "Content-Length" in headers:
        # Announced, not sent: refused from the header, before reading anything.
        environ = EnvironBuilder(
            path=COLLECT,
            method="POST",
            headers={"Origin": ORIGIN, "User-Agent": CHROME, "Content-Type": "text/plain"},
            input_stream=io.BytesIO(b""),
        ).get_environ()
        environ["CONTENT_LENGTH"] = headers["Content-Length"]
        got = call(site.endpoint, environ)[0]
    else:
        got = site.beacon(scroll(), **headers).status_code
    assert got == status
    assert browser_events(site_tracker, memory) == []


def test_a_request_without_the_visitor_cookie_is_refused(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    response = site.beacon(scroll())  # no page seen: no cookie
    assert response.status_code == 403
    assert response.get_data(as_text=True) == "no visitor cookie\n"
    forged = Identity("another-secret").resolve(None)[2]
    site.client.set_cookie("cv_vid", forged[0].split(";")[0].split("=", 1)[1])
    assert site.beacon(scroll()).status_code == 403
    assert browser_events(site_tracker, memory) == []


def test_a_flood_from_one_visitor_is_refused(site_tracker: Tracker, memory: MemoryBackend) -> None:
    clock = Clock(0.0)
    site = Site(site_tracker, rate_limit=(60, 60.0), rate_clock=clock)
    site.visit()
    batch = {"events": [{"name": "scroll_depth", "properties": {"depth": 25}}] * 20}
    for _ in range(3):
        assert site.beacon(batch).status_code == 204
    flooded = site.beacon(batch)
    assert flooded.status_code == 429
    assert flooded.headers["Retry-After"] == "20"  # 20 tokens at one a second
    assert len(browser_events(site_tracker, memory)) == 60
    # Another visitor has a bucket of their own.
    other = Client(site.client.application)
    site.visit(client=other)
    assert site.beacon(scroll(), client=other).status_code == 204
    # The bucket refills with time.
    clock.now = 20.0
    assert site.beacon(batch).status_code == 204
    assert len(browser_events(site_tracker, memory)) == 81


def test_a_body_larger_than_announced_is_cut_while_reading(site: Site) -> None:
    site.visit()
    cookies = "; ".join(
        f"{name}={site.client.get_cookie(name).value}" for name in ("cv_vid", "cv_sid")
    )  # type: ignore[union-attr]
    # A chunked body has no Content-Length: the cap applies to what is read.
    environ = EnvironBuilder(
        path=COLLECT,
        method="POST",
        headers={
            "Origin": ORIGIN,
            "User-Agent": CHROME,
            "Content-Type": "text/plain",
            "Cookie": cookies,
        },
        input_stream=io.BytesIO(b"x" * 20_000),
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    assert call(site.endpoint, environ)[0] == 413
    environ["wsgi.input_terminated"] = False
    environ["wsgi.input"] = io.BytesIO(b"{}")
    assert call(site.endpoint, environ)[0] == 411


def test_do_not_track_visitors_are_recorded_anonymously(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    # No cookie is issued under DNT, so none is required.
    response = site.beacon(scroll(), DNT="1")
    assert response.status_code == 204
    assert "Set-Cookie" not in response.headers
    (event,) = browser_events(site_tracker, memory)
    assert event.visitor_id is event.session_id is None
    assert event.context["path"] == "/pricing"


def test_do_not_track_visitors_are_skipped_when_the_site_says_so(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site = Site(site_tracker, dnt="skip")
    assert site.beacon(scroll(), **{"Sec-GPC": "1"}).status_code == 204
    assert browser_events(site_tracker, memory) == []


def test_bots_get_no_content_and_nothing_is_recorded(
    site: Site, site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site.visit()
    assert site.beacon(scroll(), user_agent=GOOGLEBOT).status_code == 204
    assert browser_events(site_tracker, memory) == []


def test_activity_in_the_page_keeps_the_session_going(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    clock = Clock()
    site = Site(site_tracker, clock=clock)
    site.visit()
    clock.now += 20 * 60
    response = site.beacon(scroll())
    assert response.status_code == 204
    assert any(c.startswith("cv_sid=") for c in response.headers.getlist("Set-Cookie"))
    clock.now += 20 * 60  # 40 minutes after the page view, 20 after the beacon
    site.visit()
    page_views = [e for e in stored(site_tracker, memory) if e.name == "page_view"]
    assert page_views[0].session_id == page_views[1].session_id


def test_allowed_hosts_replace_the_own_host(site_tracker: Tracker, memory: MemoryBackend) -> None:
    site = Site(site_tracker, allowed_hosts=["*.example.com", "example.com"])
    site.visit()
    payload = scroll(url="https://www.example.com/pricing")
    assert site.beacon(payload, origin="https://www.example.com").status_code == 204
    assert site.beacon(payload, origin=ORIGIN).status_code == 403
    assert site.beacon(payload, origin="https://example.com.evil.io").status_code == 403
    (event,) = browser_events(site_tracker, memory)
    assert event.context["url"] == "https://www.example.com/pricing"


def test_without_a_tracker_requests_are_answered_and_nothing_recorded() -> None:
    # No default tracker either (a Django project's app makes one when it is set up).
    previous = set_default(None)
    try:
        endpoint = BeaconEndpoint(browser_events=["scroll_depth"], secret_key=SECRET)
        client = Client(endpoint.wrap_wsgi(plain_page))
        headers = {"Origin": ORIGIN, "User-Agent": CHROME}
        response = client.post(COLLECT, data=json.dumps(scroll()), headers=headers)
    finally:
        set_default(previous)
    assert response.status_code == 204


def test_cookieless_sites_count_the_visitor_of_their_page_views(
    memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVSDK_SECRET_KEY", raising=False)
    with Tracker(backend=memory, spool_dir=None) as tracker:
        site = Site(tracker)  # no secret key: no cookies to require
        site.visit()
        assert site.beacon(scroll()).status_code == 204
        page_view, scrolled = stored(tracker, memory)
    assert scrolled.visitor_id == page_view.visitor_id is not None
    assert scrolled.session_id is None


async def test_asgi_slow_and_vanished_clients_record_nothing(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    endpoint = BeaconEndpoint(
        site_tracker, browser_events=["scroll_depth"], secret_key=SECRET, read_timeout=0.05
    )
    _, _, cookies = Identity(SECRET).resolve(None)
    scope = {
        "type": "http",
        "method": "POST",
        "path": COLLECT,
        "headers": [
            (b"host", b"localhost"),
            (b"origin", ORIGIN.encode()),
            (b"user-agent", CHROME.encode()),
            (b"cookie", "; ".join(c.split(";")[0] for c in cookies).encode()),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    never = asyncio.Event()

    async def slow() -> dict[str, Any]:
        await never.wait()
        return {"type": "http.disconnect"}

    await endpoint.asgi(scope, slow, send)
    assert sent[0]["status"] == 408

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    sent.clear()
    await endpoint.asgi(scope, gone, send)
    assert sent == []  # nobody to answer
    assert browser_events(site_tracker, memory) == []


async def test_asgi_headers_that_can_be_read_once_are_read_whole(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    """The endpoint reads a request's headers twice (the origin, then the rest): an
    iterator of them, as ASGI allows and Falcon's test client sends, must still hold
    the cookies the second time."""
    endpoint = BeaconEndpoint(site_tracker, browser_events=["scroll_depth"], secret_key=SECRET)
    _, _, cookies = Identity(SECRET).resolve(None)
    headers = [
        (b"host", b"localhost"),
        (b"origin", ORIGIN.encode()),
        (b"user-agent", CHROME.encode()),
        (b"content-type", b"text/plain;charset=UTF-8"),
        (b"cookie", "; ".join(c.split(";")[0] for c in cookies).encode()),
    ]
    body = json.dumps(scroll(url=f"{ORIGIN}/pricing")).encode()
    scope = {"type": "http", "method": "POST", "path": COLLECT}
    scope["headers"] = iter([iter(pair) for pair in headers])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await endpoint.asgi(scope, receive, send)
    assert sent[0]["status"] == 204
    (event,) = browser_events(site_tracker, memory)
    assert event.visitor_id is not None


def test_get_on_the_collect_path_is_not_allowed(site: Site) -> None:
    response = site.client.get(COLLECT, headers={"Origin": ORIGIN})
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# -- the script ------------------------------------------------------------------------


def test_the_script_is_served_with_cache_headers(site: Site) -> None:
    response = site.client.get("/_convsdk/c.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data()
    assert len(body) < 2048
    assert b'"/_convsdk/collect"' in body
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    etag = response.headers["ETag"]
    again = site.client.get("/_convsdk/c.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    versioned = site.client.get(site.endpoint.script_url())
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    head = site.client.head("/_convsdk/c.js")
    assert head.status_code == 200
    assert head.get_data() == b""
    assert site.client.post("/_convsdk/c.js").status_code == 405
    assert "/_convsdk/c.js" not in site.seen


def test_the_script_of_a_mounted_app_posts_under_its_prefix(site: Site) -> None:
    environ = EnvironBuilder(path="/_convsdk/c.js", base_url="http://localhost/shop").get_environ()
    response = site.client.open(environ)
    assert b'"/shop/_convsdk/collect"' in response.get_data()
    assert site.endpoint.script_url("/shop").startswith("/shop/_convsdk/c.js?v=")


def test_script_settings_are_written_into_the_script() -> None:
    source = browser_script(auto_scroll=False, time_thresholds=(60, 30), collect_path="/c")
    assert 'var o={"c":"/c","s":[],"t":[30,60],"n":20,"a":0};' in source
    # With the endpoint's allowlist: only those names, and no automatic event it refuses.
    allowed = browser_script(events=["video_played", "time_on_page"])
    assert 'var o={"c":"/_convsdk/collect","s":[],"t":[30],"n":20,' in allowed
    assert '"a":["time_on_page","video_played"]};' in allowed
    with pytest.raises(ConfigError):
        browser_script(collect_path="not a path")
    with pytest.raises(ConfigError):
        browser_script(scroll_depths=[150])


def test_the_served_script_sends_only_what_the_endpoint_accepts(site_tracker: Tracker) -> None:
    endpoint = BeaconEndpoint(site_tracker, browser_events=["video_played"], secret_key=SECRET)
    body = endpoint.script().body.decode()
    assert '"s":[],"t":[]' in body and '"a":["video_played"]' in body
    # An empty list of thresholds turns them off (never a threshold of 0).
    tag = str(render_script_tag("/c.js", data={"scroll": [], "time": ()}))
    assert 'data-scroll="off"' in tag and 'data-time="off"' in tag


def test_the_shipped_script_is_the_minified_source() -> None:
    rjsmin = pytest.importorskip("rjsmin", reason="rjsmin regenerates c.min.js")
    static = Path(__file__).parent.parent / "src" / "convsdk" / "static"
    source = (static / "c.js").read_text("utf-8")
    minified = (static / "c.min.js").read_text("utf-8")
    assert rjsmin.jsmin(source) == minified, "run: python -m rjsmin <c.js >c.min.js"
    assert len(minified.encode()) < 2048


# -- the template helpers -----------------------------------------------------------------


def test_the_flask_template_helper_renders_the_script_tag(site_tracker: Tracker) -> None:
    endpoint = BeaconEndpoint(site_tracker, browser_events=["scroll_depth"], secret_key=SECRET)
    app = Flask(__name__)
    register_flask_template_helper(app, endpoint)
    with app.test_request_context("/pricing"):
        assert render_template_string("{{ convsdk_script() }}") == (
            f'<script src="{endpoint.script_url()}" defer></script>'
        )
        g.csp_nonce = 'n0"nce'  # where CSP extensions keep it; escaped like any value
        tag = render_template_string("{{ convsdk_script(scroll=False, time=[30, 60]) }}")
        assert ' nonce="n0&#34;nce"' in tag
        assert ' data-scroll="off" data-time="30,60" ' in tag
    with app.test_request_context("/pricing", base_url="http://localhost/shop"):
        tag = render_template_string("{{ convsdk_script(nonce='abc') }}")
        assert f'src="{endpoint.script_url("/shop")}" nonce="abc"' in tag


def test_the_flask_helper_finds_the_middleware_endpoint(site_tracker: Tracker) -> None:
    endpoint = BeaconEndpoint(
        site_tracker, browser_events=["scroll_depth"], script_path="/js/c.js", secret_key=SECRET
    )
    app = Flask(__name__)
    app.extensions["convsdk"] = SimpleNamespace(beacon=endpoint)  # what the extension installs
    register_flask_template_helper(app)
    with app.test_request_context("/"):
        assert "/js/c.js?v=" in render_template_string("{{ convsdk_script() }}")
    bare = Flask(__name__)
    register_flask_template_helper(bare)
    with bare.test_request_context("/"):
        assert "/_convsdk/c.js?v=" in render_template_string("{{ convsdk_script() }}")


def test_the_starlette_script_tag(site_tracker: Tracker) -> None:
    async def page(request: StarletteRequest) -> HTMLResponse:
        request.state.csp_nonce = "from-state"
        default = script_tag(request)  # finds the middleware's endpoint
        custom = script_tag(request, "given", endpoint=endpoint, scroll=[50, 100])
        return HTMLResponse(f"{default}\n{custom}")

    app = asgi_integration.ConversionMiddleware(
        Starlette(routes=[Route("/", page)]),
        tracker=site_tracker,
        browser_events=["scroll_depth"],
        secret_key=SECRET,
    )
    endpoint = app.beacon
    assert endpoint is not None
    with TestClient(app) as client:
        default, custom = client.get("/").text.splitlines()
        served = client.get(endpoint.script_url())
    assert served.headers["Cache-Control"].endswith("immutable")  # the tag's version is its own
    assert default == (f'<script src="{endpoint.script_url()}" nonce="from-state" defer></script>')
    assert custom == (
        f'<script src="{endpoint.script_url()}" nonce="given" data-scroll="50,100" defer></script>'
    )
    with pytest.raises(ValueError):
        render_script_tag("/c.js", data={"bad name": 1})


# -- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"browser_events": ["checkout"]}, "browser_events"),
        ({"browser_events": "scroll_depth"}, "browser_events"),
        ({"browser_events": ["no spaces"]}, "browser_events"),
        ({"rate_limit": (10, 60.0)}, "rate_limit"),
        ({"rate_limit": (60, 0)}, "rate_limit"),
        ({"network_rate_limit": (10, 60.0)}, "network_rate_limit"),
        ({"network_rate_limit": 600}, "network_rate_limit"),
        ({"rate_limit_url": "mongodb://db"}, "rate_limit_url"),
        ({"max_visitors": 0}, "max_visitors"),
        ({"script_path": COLLECT}, "script_path"),
        ({"path": "collect"}, "path"),
        ({"allowed_hosts": "example.com"}, "allowed_hosts"),
        ({"max_events": 0}, "max_events"),
        ({"time_thresholds": [-1]}, "time_thresholds"),
        ({"recorder": object(), "secret_key": SECRET}, "recorder"),
    ],
)
def test_bad_options_fail_at_construction(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        BeaconEndpoint(**options)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"beacon_rate_limit": (10, 60.0)}, "beacon_rate_limit"),
        ({"beacon_network_rate_limit": (10, 60.0)}, "beacon_network_rate_limit"),
        ({"beacon_rate_limit_url": "mongodb://db"}, "beacon_rate_limit_url"),
        ({"beacon_max_visitors": 0}, "beacon_max_visitors"),
        ({"max_beacon_events": 0}, "max_beacon_events"),
        ({"collect_path": "collect"}, "collect_path"),
    ],
)
def test_a_bad_browser_option_of_the_middleware_is_named_as_given(
    site_tracker: Tracker, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        wsgi_integration.ConversionMiddleware(
            plain_page, tracker=site_tracker, browser_events=BROWSER_EVENTS, **options
        )
    assert raised.value.field == field
    assert str(raised.value).startswith(f"field {field!r}: ")


def test_an_empty_allowlist_is_reported(
    memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = Tracker(backend=memory, spool_dir=None, secret_key=SECRET)
    with caplog.at_level(logging.WARNING, logger="convsdk.beacon"), tracker:
        endpoint = BeaconEndpoint(tracker)
    assert endpoint.allowed_events(tracker) == frozenset()
    assert "every beacon is refused" in caplog.text


def test_middleware_options_are_split_out() -> None:
    options: dict[str, Any] = {"browser_events": ["a"], "max_beacon_events": 5, "dnt": "skip"}
    assert pop_beacon_options(options) == {"browser_events": ["a"], "max_events": 5}
    assert options == {"dnt": "skip"}
    assert pop_beacon_options({"trusted_proxies": 1}) is None
    assert pop_beacon_options({"collect": True}) == {}
    limits = {"beacon_network_rate_limit": (100, 60.0), "beacon_rate_limit_url": "memory:"}
    assert pop_beacon_options(limits) == {
        "network_rate_limit": (100, 60.0),
        "rate_limit_url": "memory:",
    }
    with pytest.raises(ConfigError):
        pop_beacon_options({"collect": False, "browser_events": ["a"]})


def test_the_rate_limiter_keeps_a_bounded_number_of_visitors() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(2, 10.0, max_keys=3, clock=clock)
    assert limiter.take("a", 2) == 0.0
    assert limiter.take("a") == pytest.approx(5.0)
    for key in "bcd":
        limiter.take(key)
    assert len(limiter) == 3
    assert limiter.take("a") == 0.0  # forgotten, so a fresh bucket


# -- rate limits: per network, shared by workers -----------------------------------------

BATCH = {"events": [{"name": "scroll_depth", "properties": {"depth": 25}}] * 20}


def test_fresh_cookies_share_their_network_limit(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site = Site(
        site_tracker, rate_limit=(20, 3600.0), network_rate_limit=(40, 3600.0), rate_clock=Clock()
    )
    answers = []
    for host in (1, 2, 3):
        # A new visitor cookie from each GET: each has a full visitor quota...
        client = Client(site.client.application)
        site.visit(client=client, remote_addr=f"203.0.113.{host}")
        answers.append(site.beacon(BATCH, client=client, remote_addr=f"203.0.113.{host}"))
    assert [a.status_code for a in answers] == [204, 204, 429]  # ...but one network's
    assert answers[2].headers["Retry-After"] == "1800"  # 20 events at one per 90 s
    elsewhere = Client(site.client.application)
    site.visit(client=elsewhere, remote_addr="198.51.100.7")
    assert site.beacon(BATCH, client=elsewhere, remote_addr="198.51.100.7").status_code == 204
    assert len(browser_events(site_tracker, memory)) == 60


@pytest.mark.parametrize("given", ["argument", "environment"])
def test_the_middleware_takes_the_network_limit_and_where_it_is_counted(
    site_tracker: Tracker,
    memory: MemoryBackend,
    monkeypatch: pytest.MonkeyPatch,
    given: str,
) -> None:
    """The options the README gives the middleware reach its collect endpoint."""
    limits: dict[str, Any] = {}
    if given == "argument":
        limits = {"beacon_network_rate_limit": (40, 3600.0), "beacon_rate_limit_url": "memory:"}
    else:
        monkeypatch.setenv("CONVSDK_BEACON_NETWORK_RATE_LIMIT", "40/3600")
        monkeypatch.setenv("CONVSDK_BEACON_RATE_LIMIT_URL", "memory:")
    middleware = wsgi_integration.ConversionMiddleware(
        plain_page, tracker=site_tracker, browser_events=BROWSER_EVENTS, **limits
    )
    assert middleware.beacon is not None and middleware.beacon.rate_limit_url == "memory:"
    client = Client(middleware)
    headers = {"User-Agent": CHROME, "Content-Type": "text/plain", "Origin": ORIGIN}
    statuses = [
        client.post(
            COLLECT,
            data=json.dumps(BATCH),
            headers={**headers, "DNT": "1"},  # anonymous: limited by the network alone
            environ_overrides={"REMOTE_ADDR": f"203.0.113.{host}"},
        ).status_code
        for host in (1, 2, 3)
    ]
    assert statuses == [204, 204, 429]
    assert len(browser_events(site_tracker, memory)) == 40


def test_do_not_track_requests_are_limited_per_network(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site = Site(site_tracker, network_rate_limit=(40, 3600.0), rate_clock=Clock())
    statuses = [
        site.beacon(BATCH, DNT="1", remote_addr=f"203.0.113.{host}").status_code
        for host in (1, 2, 3)
    ]
    assert statuses == [204, 204, 429]
    assert len(browser_events(site_tracker, memory)) == 40


def test_rotating_the_user_agent_without_a_secret_key_keeps_the_network_limit(
    memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVSDK_SECRET_KEY", raising=False)
    with Tracker(backend=memory, spool_dir=None) as tracker:
        site = Site(tracker, network_rate_limit=(40, 3600.0), rate_clock=Clock())
        statuses = [
            site.beacon(BATCH, user_agent=f"{CHROME} rotated/{n}").status_code for n in range(3)
        ]
        assert statuses == [204, 204, 429]
        scrolled = browser_events(tracker, memory)
    assert len({e.visitor_id for e in scrolled}) == 2  # a new visitor each time, still limited


def test_the_network_is_the_client_address_the_middleware_trusts(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    def statuses(site: Site) -> list[int]:
        site.visit()
        # Behind one proxy (127.0.0.1), from three client networks.
        return [
            site.beacon(BATCH, **{"X-Forwarded-For": f"203.0.{net}.9"}).status_code
            for net in (1, 2, 3)
        ]

    limits = {"rate_limit": (60, 3600.0), "network_rate_limit": (20, 3600.0)}
    assert statuses(Site(site_tracker, trusted_proxies=1, rate_clock=Clock(), **limits)) == [
        204,
        204,
        204,
    ]
    # Without trusted_proxies the header is the client's to write: one network, the peer's.
    assert statuses(Site(site_tracker, rate_clock=Clock(), **limits)) == [204, 429, 429]


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.9", "203.0.113.0/24"),
        (" 203.0.113.200 ", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::1]", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "?"),
        (None, "?"),
    ],
)
def test_client_networks(ip: str | None, network: str) -> None:
    assert network_of(ip) == network


def test_a_refused_take_counts_against_no_limit(tmp_path: Path) -> None:
    for store in (MemoryStore(), FileStore(tmp_path / "limits.sqlite3")):
        visitor, network = Limit("v:1", 10, 60.0), Limit("net:x", 15, 60.0)
        assert store.take([visitor, network], 10, 0.0) == 0.0
        # The visitor is spent: the network keeps its last 5.
        assert store.take([visitor, network], 5, 0.0) == pytest.approx(30.0)
        assert store.take([Limit("v:2", 10, 60.0), network], 5, 0.0) == 0.0
        assert store.take([Limit("v:3", 10, 60.0), network], 1, 0.0) == pytest.approx(4.0)
        # Refilling one event every 6 s (visitor) and 4 s (network).
        assert store.take([visitor, network], 1, 6.0) == 0.0
        store.close()


def test_a_limits_file_dropped_unclosed_is_closed_when_collected(tmp_path: Path) -> None:
    """A limits store dropped without close() (an app made per test, an endpoint bound to
    another tracker) leaves no connection open, so Python 3.13 has no ``unclosed
    database`` ResourceWarning to give (an error in a suite run with ``-W error``).
    SQLite removes the write-ahead log once its last connection closes."""
    gc.collect()  # what earlier tests left (a server's pipes, say) warns before, not below
    path = tmp_path / "limits.sqlite3"
    store = FileStore(path)
    assert store.take([Limit("v:1", 10, 60.0)], 1, 0.0) == 0.0
    assert path.with_name(path.name + "-wal").exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del store
        gc.collect()
    unclosed = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [w for w in unclosed if "database" in str(w.message)]
    assert not path.with_name(path.name + "-wal").exists()
    again = FileStore(path)
    assert again.take([Limit("v:1", 10, 60.0)], 10, 1.0) > 0  # the first one counted
    again.close()


def test_endpoints_sharing_a_spool_share_their_limits(
    tmp_path: Path, memory: MemoryBackend
) -> None:
    """Two workers of one site: each its own endpoint, the same spool directory."""
    with Tracker(backend=memory, spool_dir=tmp_path, secret_key=SECRET) as tracker:
        clock = Clock()
        first = Site(tracker, rate_limit=(20, 3600.0), rate_clock=clock)
        second = Site(tracker, rate_limit=(20, 3600.0), rate_clock=clock)
        first.visit()
        second.client = Client(second.client.application)
        for name in ("cv_vid", "cv_sid"):  # the same visitor at both
            cookie = first.client.get_cookie(name)
            assert cookie is not None
            second.client.set_cookie(name, cookie.value)
        assert first.beacon(BATCH).status_code == 204
        assert second.beacon(BATCH).status_code == 429
    assert (tmp_path / LIMITS_FILE).exists()


_WORKER = """
import json, sys
from werkzeug.test import Client
from convsdk import Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.beacon import BeaconEndpoint

spool, secret, collect, attempts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tracker = Tracker(backend=MemoryBackend(), spool_dir=spool, secret_key=secret)
endpoint = BeaconEndpoint(
    tracker, browser_events=["scroll_depth"], secret_key=secret, allowed_hosts=["localhost"],
    rate_limit=(25, 3600.0), network_rate_limit=(1000, 3600.0), max_events=1,
)
client = Client(endpoint.wrap_wsgi(lambda environ, start_response: []))
for cookie in sys.argv[5:]:
    name, value = cookie.split("=", 1)
    client.set_cookie(name, value)
body = json.dumps({"events": [{"name": "scroll_depth", "properties": {"depth": 25}}]})
headers = {"Origin": "http://localhost", "User-Agent": "Mozilla/5.0"}
statuses = [client.post(collect, data=body, headers=headers).status_code for _ in range(attempts)]
tracker.close()
print(json.dumps(statuses))
"""


def test_worker_processes_share_one_limit(tmp_path: Path) -> None:
    """Two processes (two workers of one site) accept 25 events in all for one visitor."""
    cookies = [c.split(";", 1)[0] for c in Identity(SECRET).resolve(None)[2]]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path), SECRET, COLLECT, "20", *cookies],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    statuses = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    answers = statuses[0] + statuses[1]
    # Not 40: each process alone would allow 25.
    assert (answers.count(204), answers.count(429)) == (25, 15)


def test_a_failing_shared_store_falls_back_to_a_limit_per_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Down:
        calls = 0

        def take(self, limits: Any, count: int, now: float) -> float:
            self.calls += 1
            raise ConnectionError("refused")

        def close(self) -> None:
            pass

    down = Down()
    moment = Clock(0.0)
    store = FallbackStore(down, retry_after=30.0, clock=moment)
    limit = [Limit("v:1", 2, 60.0)]
    with caplog.at_level(logging.WARNING, logger="convsdk.ratelimit"):
        assert store.take(limit, 2, 0.0) == 0.0
        assert store.take(limit, 1, 0.0) > 0  # still limited, in memory
    assert down.calls == 1  # left alone for 30 s
    assert caplog.text.count("limiting per process") == 1
    moment.now = 31.0
    store.take(limit, 1, 0.0)
    assert down.calls == 2


def test_rate_limit_stores_from_urls(tmp_path: Path) -> None:
    assert isinstance(store_from_url("memory:"), MemoryStore)
    for url in (f"sqlite:///{tmp_path}/a.sqlite3", str(tmp_path / "b.sqlite3")):
        store = store_from_url(url)
        assert isinstance(store, FileStore)
        store.close()
    assert (tmp_path / "a.sqlite3").exists() and (tmp_path / "b.sqlite3").exists()
    (tmp_path / "file").write_text("")
    for bad in ("mongodb://x", "", f"{tmp_path}/file/under/a/file.sqlite3"):
        with pytest.raises(ConfigError) as raised:
            store_from_url(bad)
        assert raised.value.field == "rate_limit_url"


# -- hosts and the trust model ----------------------------------------------------------


def test_a_forged_host_does_not_pass_the_allowed_hosts(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    site = Site(site_tracker, allowed_hosts=["example.com"])
    site.visit()
    forged = site.beacon(
        scroll(url="http://evil.example/pricing"), origin="http://evil.example", Host="evil.example"
    )
    assert forged.status_code == 403
    assert browser_events(site_tracker, memory) == []


def test_without_allowed_hosts_the_host_header_check_is_reported(
    site_tracker: Tracker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="convsdk.beacon"):
        BeaconEndpoint(site_tracker, browser_events=BROWSER_EVENTS, secret_key=SECRET)
    assert "allowed_hosts is not set" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="convsdk.beacon"):
        BeaconEndpoint(
            site_tracker,
            browser_events=BROWSER_EVENTS,
            allowed_hosts=["example.com"],
            secret_key=SECRET,
        )
    assert "allowed_hosts" not in caplog.text


def test_the_browser_cannot_send_a_macro_goal_by_its_name(
    memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    goals = [Goal.macro("signup", event="form_submit", path="/signup")]
    with Tracker(backend=memory, spool_dir=None, secret_key=SECRET, goals=goals) as tracker:
        with caplog.at_level(logging.WARNING, logger="convsdk.beacon"):
            site = Site(tracker, browser_events=["signup"])
        site.visit()
        answer = site.beacon({"events": [{"name": "signup"}]})
        assert answer.status_code == 403
        assert browser_events(tracker, memory) == []
    assert "'signup' is a macro goal" in caplog.text


def test_browser_events_are_micro_without_a_value_whatever_the_goal_says(
    memory: MemoryBackend,
) -> None:
    goals = [Goal.micro("demo", event="video_played", source="browser", value=5.0)]
    with Tracker(backend=memory, spool_dir=None, secret_key=SECRET, goals=goals) as tracker:
        site = Site(tracker)
        site.visit()
        assert site.beacon({"events": [{"name": "video_played"}]}).status_code == 204
        (event,) = browser_events(tracker, memory)
    assert (event.kind, event.goal, event.value, event.currency) == ("micro", "demo", None, None)
    assert event.context["source"] == "browser"


# -- ASGI --------------------------------------------------------------------------------


def asgi_site(tracker: Tracker, seen: list[str], **options: Any) -> Any:
    async def page(request: StarletteRequest) -> HTMLResponse:
        seen.append(request.url.path)
        return HTMLResponse("<h1>Pricing</h1>")

    async def anything(request: StarletteRequest) -> PlainTextResponse:
        seen.append(request.url.path)
        return PlainTextResponse("app")

    app = Starlette(
        routes=[Route("/pricing", page), Route("/{rest:path}", anything, methods=["GET", "POST"])]
    )
    middleware = asgi_integration.ConversionMiddleware(app, tracker=tracker)
    endpoint = BeaconEndpoint(
        tracker, recorder=middleware.recorder, browser_events=BROWSER_EVENTS, **options
    )
    return endpoint.wrap_asgi(middleware)


def test_asgi_records_and_refuses_like_wsgi(site_tracker: Tracker, memory: MemoryBackend) -> None:
    seen: list[str] = []
    with TestClient(asgi_site(site_tracker, seen), headers={"User-Agent": CHROME}) as client:
        assert client.get("/pricing").status_code == 200
        origin = {"Origin": "http://testserver", "Content-Type": "text/plain;charset=UTF-8"}
        payload = scroll(url="http://testserver/pricing")
        assert client.post(COLLECT, content=json.dumps(payload), headers=origin).status_code == 204
        forged = {"events": [{"name": "compare_plans", "kind": "macro", "value": 10}]}
        assert client.post(COLLECT, content=json.dumps(forged), headers=origin).status_code == 403
        foreign = {**origin, "Origin": "https://evil.example"}
        assert client.post(COLLECT, content=json.dumps(payload), headers=foreign).status_code == 403
        assert client.post(COLLECT, content=b"{", headers=origin).status_code == 400

        def chunks() -> Iterator[bytes]:
            yield from [b"x" * 10_000] * 3

        assert client.post(COLLECT, content=chunks(), headers=origin).status_code == 413
        script = client.get("/_convsdk/c.js")
        assert script.status_code == 200
        assert script.headers["etag"]
    events = stored(site_tracker, memory)
    page_view = next(e for e in events if e.name == "page_view")
    (scrolled,) = (e for e in events if e.context.get("source") == "browser")
    assert scrolled.visitor_id == page_view.visitor_id is not None
    assert scrolled.session_id == page_view.session_id is not None
    assert scrolled.context["path"] == "/pricing"
    assert seen == ["/pricing"]


def test_asgi_root_path_is_understood(site_tracker: Tracker) -> None:
    seen: list[str] = []
    with TestClient(asgi_site(site_tracker, seen), root_path="/shop") as mounted:
        response = mounted.get("/_convsdk/c.js")
        assert response.status_code == 200
        assert b'"/shop/_convsdk/collect"' in response.content
    assert seen == []


# -- through the middlewares' own options, once they route to the endpoint -----------------


def _middleware_routes(module: Any) -> bool:
    try:
        middleware = module.ConversionMiddleware(plain_page, collect=True)
    except TypeError:
        return False
    return getattr(middleware, "beacon", None) is not None


@pytest.mark.skipif(
    not _middleware_routes(wsgi_integration),
    reason="the WSGI ConversionMiddleware has no collect option yet",
)
def test_the_wsgi_middleware_routes_the_collect_path(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    seen: list[str] = []

    @Request.application  # type: ignore[arg-type]
    def app(request: Request) -> Response:
        seen.append(request.path)
        return Response("<h1>page</h1>", mimetype="text/html")

    middleware = wsgi_integration.ConversionMiddleware(
        app, tracker=site_tracker, browser_events=["scroll_depth"]
    )
    client = Client(LintMiddleware(middleware))
    client.get("/pricing", headers={"User-Agent": CHROME})
    headers = {"Origin": ORIGIN, "User-Agent": CHROME, "Content-Type": "text/plain"}
    assert client.post(COLLECT, data=json.dumps(scroll()), headers=headers).status_code == 204
    assert client.get("/_convsdk/c.js").status_code == 200
    assert seen == ["/pricing"]
    (event,) = browser_events(site_tracker, memory)
    assert event.visitor_id is not None


@pytest.mark.skipif(
    not _middleware_routes(asgi_integration),
    reason="the ASGI ConversionMiddleware has no collect option yet",
)
def test_the_asgi_middleware_routes_the_collect_path(
    site_tracker: Tracker, memory: MemoryBackend
) -> None:
    seen: list[str] = []

    async def page(request: StarletteRequest) -> HTMLResponse:
        seen.append(request.url.path)
        return HTMLResponse("<h1>page</h1>")

    app = Starlette(routes=[Route("/{rest:path}", page, methods=["GET", "POST"])])
    app.add_middleware(
        asgi_integration.ConversionMiddleware, tracker=site_tracker, browser_events=["scroll_depth"]
    )
    with TestClient(app, headers={"User-Agent": CHROME}) as client:
        client.get("/pricing")
        headers = {"Origin": "http://testserver", "Content-Type": "text/plain"}
        payload = json.dumps(scroll(url="http://testserver/pricing"))
        assert client.post(COLLECT, content=payload, headers=headers).status_code == 204
        assert client.get("/_convsdk/c.js").status_code == 200
    assert seen == ["/pricing"]
    (event,) = browser_events(site_tracker, memory)
    assert event.visitor_id is not None


# -- the sans-IO endpoint, and the old import paths -----------------------------------


def test_the_endpoint_answers_without_a_server(
    memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convsdk.browser.admission import Visit
    from convsdk.context import Request as ConvRequest

    monkeypatch.delenv("CONVSDK_SECRET_KEY", raising=False)
    with Tracker(backend=memory, spool_dir=None) as tracker:
        endpoint = BeaconEndpoint(
            tracker, browser_events=["scroll_depth"], allowed_hosts=["localhost"]
        )
        environ = EnvironBuilder(
            path=COLLECT,
            method="POST",
            headers={"Origin": ORIGIN, "User-Agent": CHROME},
            content_type="text/plain",
        ).get_environ()
        request = ConvRequest.from_environ(environ, endpoint.recorder.variant_header)
        visit = endpoint.admit(request, ORIGIN)
        assert isinstance(visit, Visit)
        assert endpoint.collect(visit, b"not json").status == 400
        assert endpoint.collect(visit, json.dumps(scroll()).encode()).status == 204
        cross_site = endpoint.admit(request, "http://evil.example")
        assert not isinstance(cross_site, Visit) and cross_site.status == 403
        assert endpoint.script_answer("POST", "", "", None).status == 405
        etag = endpoint.script().etag
        assert endpoint.script_answer("GET", "", "", etag).status == 304
        assert tracker.flush(5)
    assert [event.name for event in memory.events] == ["scroll_depth"]


def test_the_old_modules_re_export_the_browser_package() -> None:
    import convsdk.beacon
    import convsdk.browser
    import convsdk.integrations.browser

    for name in convsdk.beacon.__all__:
        if name != "RateLimiter":
            assert getattr(convsdk.beacon, name) is getattr(convsdk.browser, name)
    for name in convsdk.integrations.browser.__all__:
        assert getattr(convsdk.integrations.browser, name) is getattr(convsdk.browser, name)
