"""Reading requests from WSGI environs and ASGI scopes; contexts without the middleware."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from convsdk import Tracker, track_micro
from convsdk.backends.memory import MemoryBackend
from convsdk.context import (
    Request,
    RequestContext,
    activate,
    current,
    deactivate,
    from_environ,
    from_framework,
    from_scope,
)
from convsdk.identity import Identity
from convsdk.web.request import content_length

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def environ(**extra: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/pricing",
        "QUERY_STRING": "",
        "SERVER_NAME": "shop.example",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "203.0.113.77",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
    }
    env.update(extra)
    return env


def scope(headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "path": "/pricing",
        "root_path": "",
        "query_string": b"",
        "server": ("shop.example", 443),
        "client": ("203.0.113.77", 50000),
        "headers": headers or [],
    }
    sc.update(extra)
    return sc


def visitor_cookies(secret: str = "secret") -> tuple[str, str, str]:
    visitor_id, session_id, cookies = Identity(secret).resolve(None)
    header = "; ".join(c.split(";", 1)[0] for c in cookies)
    return visitor_id, session_id or "", header


def test_request_from_environ_reads_what_convsdk_needs() -> None:
    request = Request.from_environ(
        environ(
            REQUEST_METHOD="POST",
            SCRIPT_NAME="/shop",
            PATH_INFO="/caf\xc3\xa9",  # UTF-8 bytes as WSGI passes them (latin-1 text)
            QUERY_STRING="utm_source=news",
            HTTP_HOST="shop.example:8443",
            HTTP_REFERER="https://google.com/",
            HTTP_USER_AGENT=CHROME,
            HTTP_X_FORWARDED_FOR="198.51.100.4",
            HTTP_COOKIE="a=1",
            HTTP_DNT="1",
            HTTP_SEC_GPC="1",
            CONTENT_TYPE="application/x-www-form-urlencoded",
            CONTENT_LENGTH="12",
            HTTP_X_VARIANT="B",
        ),
        variant_header="X-Variant",
    )
    assert request.method == "POST"
    assert request.path == "/shop/café"
    assert request.query == "utm_source=news"
    assert request.host == "shop.example:8443"
    assert (request.referrer, request.user_agent) == ("https://google.com/", CHROME)
    assert (request.remote_addr, request.forwarded_for) == ("203.0.113.77", "198.51.100.4")
    assert (request.cookie, request.dnt, request.gpc) == ("a=1", "1", "1")
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.content_length == 12
    assert request.variant == "B"


def test_request_from_environ_falls_back_to_server_name_and_ignores_bad_lengths() -> None:
    request = Request.from_environ(environ(SERVER_PORT="8080", CONTENT_LENGTH="lots"))
    assert request.host == "shop.example:8080"
    assert request.content_length is None
    assert Request.from_environ(environ(CONTENT_LENGTH="-5")).content_length is None
    assert Request.from_environ(environ(PATH_INFO="")).path == "/"


def test_request_from_scope_reads_headers_once() -> None:
    request = Request.from_scope(
        scope(
            [
                (b"host", b"shop.example"),
                (b"user-agent", CHROME.encode()),
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),  # HTTP/2 splits cookies
                (b"sec-gpc", b"1"),
                (b"content-type", b"multipart/form-data; boundary=x"),
                (b"content-length", b"99"),
                (b"x-variant", b"A"),
            ],
            root_path="/shop",
            query_string=b"q=caf%C3%A9",
        ),
        variant_header="X-Variant",
    )
    assert request.path == "/shop/pricing"
    assert request.scheme == "https"
    assert request.host == "shop.example"
    assert request.cookie == "a=1; b=2"
    assert request.gpc == "1"
    assert request.content_length == 99
    assert request.variant == "A"
    assert request.query == "q=caf%C3%A9"
    assert request.remote_addr == "203.0.113.77"


def test_request_from_scope_reads_only_its_headers_and_joins_repeated_ones() -> None:
    browser = [(f"sec-ch-{i}".encode(), b"?0") for i in range(12)]
    request = Request.from_scope(
        scope(
            [
                *browser,
                (b"x-forwarded-for", b"198.51.100.4"),
                (b"referer", b"https://a.example/"),
                (b"x-forwarded-for", b"10.0.0.1"),
                (b"referer", b"https://b.example/"),  # a repeated header: the first counts
            ]
        ),
        # A header convsdk reads for itself never names the variant.
        variant_header="Referer",
    )
    assert request.forwarded_for == "198.51.100.4, 10.0.0.1"
    assert request.referrer == "https://a.example/"
    assert request.variant is None and request.cookie is None and request.user_agent is None


@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                [b"host", b"referer", b"user-agent", b"cookie", b"x-forwarded-for", b"dnt"]
                + [b"sec-gpc", b"content-type", b"content-length", b"x-variant", b"accept"]
            ),
            st.binary(max_size=12).map(lambda raw: raw.replace(b"\x00", b"")),
        ),
        max_size=12,
    ),
    as_tuple=st.booleans(),
)
def test_request_from_scope_reads_any_headers_as_starlette_does(
    headers: list[tuple[bytes, bytes]], as_tuple: bool
) -> None:
    """Repeated or not: the first value counts, cookies and X-Forwarded-For are joined,
    the variant header's last value counts."""
    request = Request.from_scope(
        scope(tuple(headers) if as_tuple else headers), variant_header="X-Variant"
    )

    def values(name: bytes) -> list[str]:
        return [value.decode("latin-1") for key, value in headers if key == name]

    def first(name: bytes) -> str | None:
        return (values(name) or [None])[0]

    assert request.host == (first(b"host") or "shop.example:443")
    assert request.referrer == first(b"referer")
    assert request.user_agent == first(b"user-agent")
    assert request.dnt == first(b"dnt") and request.gpc == first(b"sec-gpc")
    assert request.content_type == first(b"content-type")
    cookies = values(b"cookie")
    assert request.cookie == ("; ".join(cookies) if cookies else None)
    forwarded = values(b"x-forwarded-for")
    assert request.forwarded_for == (", ".join(forwarded) if forwarded else None)
    assert request.variant == (values(b"x-variant") or [None])[-1]
    assert request.content_length == content_length(first(b"content-length"))


def test_the_request_path_builds_the_context_the_dataclass_would() -> None:
    from dataclasses import fields

    from convsdk.context import new_context

    with Tracker(backend="memory://", spool_dir=None) as tracker:
        args = (
            "GET",
            "/p",
            "https://shop.example/p",
            "https://r.example/",
            CHROME,
            "203.0.113.0",
            {"source": "news"},
            "B",
            True,
            True,
            True,
            tracker,
        )
        fast = new_context(*args)
        built = RequestContext(
            method="GET",
            path="/p",
            url="https://shop.example/p",
            referrer="https://r.example/",
            user_agent=CHROME,
            ip="203.0.113.0",
            utm={"source": "news"},
            variant="B",
            track=True,
            anonymous=True,
            deferred=True,
            tracker=tracker,
        )
        for f in fields(RequestContext):
            assert getattr(fast, f.name) == getattr(built, f.name), f.name
        again = new_context(*args)
    assert again.conversions is not fast.conversions  # per request, never shared
    assert again.annotations is not fast.annotations


def test_request_from_scope_without_host_or_client() -> None:
    request = Request.from_scope(scope(client=None, path="/shop/x", root_path="/shop"))
    assert request.host == "shop.example:443"
    assert request.remote_addr is None
    assert request.path == "/shop/x"  # root_path already included


def test_from_environ_applies_privacy_and_reads_the_visitor_cookie() -> None:
    visitor_id, session_id, cookie = visitor_cookies()
    with Tracker(backend="memory://", spool_dir=None, secret_key="secret") as tracker:
        ctx = from_environ(
            environ(HTTP_COOKIE=cookie, HTTP_USER_AGENT=CHROME, QUERY_STRING="utm_source=x"),
            tracker,
        )
        assert (ctx.visitor_id, ctx.session_id) == (visitor_id, session_id)
        assert ctx.ip == "203.0.113.0"
        assert ctx.url == "http://shop.example/pricing?utm_source=x"
        assert ctx.utm == {
            "source": "x",
            "medium": None,
            "campaign": None,
            "term": None,
            "content": None,
        }
        assert not ctx.deferred
        # No cookie: nothing can be issued without the response, so no ids.
        assert from_environ(environ(), tracker).visitor_id is None
        dnt = from_environ(environ(HTTP_COOKIE=cookie, HTTP_DNT="1"), tracker)
        assert dnt.anonymous and dnt.visitor_id is None
        bot = from_environ(environ(HTTP_USER_AGENT="Googlebot/2.1"), tracker)
        assert not bot.track


def test_from_scope_without_any_tracker_still_applies_privacy_defaults() -> None:
    ctx = from_scope(scope([(b"user-agent", CHROME.encode())]), None)
    assert ctx.ip == "203.0.113.0"
    assert ctx.visitor_id is None
    assert ctx.url == "https://shop.example:443/pricing"


def test_activate_and_deactivate_nest() -> None:
    outer, inner = RequestContext(path="/a"), RequestContext(path="/b")
    token = activate(outer)
    try:
        token2 = activate(inner)
        assert current() is inner
        deactivate(token2)
        assert current() is outer
    finally:
        deactivate(token)
    assert current() is None


def test_event_context_carries_variant_and_status() -> None:
    ctx = RequestContext(method="GET", path="/", variant="B", status=200)
    assert ctx.event_context()["variant"] == "B"
    assert ctx.event_context()["status"] == 200
    assert "variant" not in RequestContext().event_context()


def test_from_framework_finds_flask_and_starlette_requests(tracker: Tracker) -> None:
    assert from_framework((), {}, tracker) is None
    app = Flask(__name__)
    with app.test_request_context("/pricing", headers={"User-Agent": CHROME}):
        ctx = from_framework((), {}, tracker)
        assert ctx is not None and ctx.path == "/pricing" and ctx.user_agent == CHROME
    starlette_request = StarletteRequest(scope([(b"user-agent", CHROME.encode())]))
    ctx = from_framework((starlette_request,), {}, tracker)
    assert ctx is not None and ctx.path == "/pricing"
    ctx = from_framework((), {"request": starlette_request}, tracker)
    assert ctx is not None and ctx.url == "https://shop.example:443/pricing"


def test_decorators_without_middleware_carry_the_visitor_from_its_cookie(
    memory: MemoryBackend,
) -> None:
    from convsdk.tracker import set_default

    visitor_id, session_id, cookie = visitor_cookies("s3cret")
    tracker = Tracker(backend=memory, spool_dir=None, secret_key="s3cret")
    previous = set_default(tracker)
    try:
        app = Flask(__name__)

        @app.post("/newsletter")
        @track_micro("newsletter")
        def newsletter() -> str:
            return "ok"

        async def signup(request: StarletteRequest) -> PlainTextResponse:
            return await _signup(request)

        @track_micro("signup")
        async def _signup(request: StarletteRequest) -> PlainTextResponse:
            return PlainTextResponse("ok")

        star = Starlette(routes=[Route("/signup", signup, methods=["POST"])])
        headers = {"Cookie": cookie, "User-Agent": CHROME}
        client = app.test_client(use_cookies=False)
        assert client.post("/newsletter", headers=headers).status_code == 200
        with TestClient(star) as star_client:
            assert star_client.post("/signup", headers=headers).status_code == 200
        assert tracker.flush(5)
        events = {e.name: e for e in memory.events}
        for name in ("newsletter", "signup"):
            assert (events[name].visitor_id, events[name].session_id) == (visitor_id, session_id)
            assert events[name].context["user_agent"] == CHROME
    finally:
        set_default(previous)
        tracker.close()


@pytest.mark.parametrize("header", ["DNT", "Sec-GPC"])
def test_decorators_without_middleware_honour_dnt(memory: MemoryBackend, header: str) -> None:
    from convsdk.tracker import set_default

    _, _, cookie = visitor_cookies("s3cret")
    tracker = Tracker(backend=memory, spool_dir=None, secret_key="s3cret")
    previous = set_default(tracker)
    try:
        app = Flask(__name__)

        @app.post("/newsletter")
        @track_micro("newsletter")
        def newsletter() -> str:
            return "ok"

        client = app.test_client(use_cookies=False)
        client.post("/newsletter", headers={"Cookie": cookie, header: "1"})
        assert tracker.flush(5)
        [event] = memory.events
        assert event.visitor_id is None and event.session_id is None
    finally:
        set_default(previous)
        tracker.close()
