"""The ASGI middleware: raw ASGI apps (exact messages) and Starlette (through TestClient)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from asgi_calls import CHROME, Receiver, Sender, http_scope
from convsdk import Event, Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.context import current
from convsdk.integrations.asgi import ConversionMiddleware
from convsdk.interactions import Recorder
from convsdk.tracker import set_default
from trackers import default_tracker

GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.micro("newsletter", event="form_submit", path="/newsletter"),
    Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total"),
]
FORM = b"application/x-www-form-urlencoded"


@pytest.fixture
def shop_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


# -- a Starlette site -------------------------------------------------------------------


async def pricing(request: Request) -> HTMLResponse:
    ctx = current()
    return HTMLResponse(
        f"<h1>Pricing</h1><p>{ctx.visitor_id if ctx else ''}</p>", headers={"X-App": "yes"}
    )


async def form_echo(request: Request) -> JSONResponse:
    fields: dict[str, list[str]] = {}
    async with request.form() as form:
        for key, value in form.multi_items():
            text = value if isinstance(value, str) else "file:" + (await value.read()).decode()
            fields.setdefault(key, []).append(text)
    return JSONResponse({"form": fields})


async def raw(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(body.decode("utf-8", "replace"))


async def api(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> Any:
        for i in range(100):
            yield f"<p>{i}</p>".encode()

    return StreamingResponse(chunks(), media_type="text/html")


def site(tracker: Tracker | None, *, tracked: bool = True, **options: Any) -> Starlette:
    routes = [
        Route("/pricing", pricing),
        Route("/newsletter", form_echo, methods=["POST"]),
        Route("/checkout", form_echo, methods=["POST"]),
        Route("/raw", raw, methods=["POST"]),
        Route("/api", api, methods=["POST"]),
        Route("/stream", stream),
    ]
    middleware = [Middleware(ConversionMiddleware, tracker=tracker, **options)] if tracked else []
    return Starlette(routes=routes, middleware=middleware)


def test_a_page_view_is_recorded_and_the_cookies_added_to_the_apps_headers(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(site(shop_tracker), headers={"User-Agent": CHROME}) as client:
        response = client.get("/pricing?utm_source=news")
        assert response.headers["x-app"] == "yes"
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("HttpOnly" in c for c in cookies)
        again = client.get("/pricing")
        assert again.headers.get_list("set-cookie") == []
    first, second = stored(shop_tracker, memory)
    assert (first.name, first.kind, first.goal) == ("page_view", "micro", "viewed_pricing")
    assert first.context["utm"]["source"] == "news"
    assert first.visitor_id == second.visitor_id and first.session_id == second.session_id
    assert first.visitor_id in response.text  # the view saw the context


def test_form_submits_and_checkouts_are_recorded_and_the_app_reads_the_same_form(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(site(shop_tracker, capture_fields=["plan"])) as client:
        response = client.post("/newsletter", data={"email": "a@example.com", "plan": "pro"})
        assert response.json() == {"form": {"email": ["a@example.com"], "plan": ["pro"]}}
        response = client.post(
            "/checkout",
            data={"total": "49.90"},
            files={"receipt": ("r.txt", b"file contents", "text/plain")},
        )
        assert response.json() == {"form": {"total": ["49.90"], "receipt": ["file:file contents"]}}
    newsletter, checkout = stored(shop_tracker, memory)
    assert (newsletter.name, newsletter.goal, newsletter.properties) == (
        "form_submit",
        "newsletter",
        {"plan": "pro"},
    )
    assert (checkout.name, checkout.kind, checkout.goal, checkout.value) == (
        "checkout",
        "macro",
        "purchase",
        49.9,
    )


def test_json_and_raw_bodies_reach_the_app_intact(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(site(shop_tracker, capture_fields=["x"])) as client:
        assert client.post("/api", json={"a": [1, 2]}).json() == {"a": [1, 2]}
        raw_body = "café ☕ " * 1000
        assert client.post("/raw", content=raw_body.encode()).text == raw_body
    assert stored(shop_tracker, memory) == []  # neither is an interaction


def test_streaming_responses_arrive_byte_for_byte(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(site(None, tracked=False)) as bare_client:
        expected = bare_client.get("/stream").content
    with TestClient(site(shop_tracker)) as client:
        with client.stream("GET", "/stream") as response:
            chunks = list(response.iter_raw())
    assert b"".join(chunks) == expected
    assert [e.name for e in stored(shop_tracker, memory)] == ["page_view"]


def test_starlette_add_middleware_works(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    app = Starlette(routes=[Route("/pricing", pricing)])
    app.add_middleware(ConversionMiddleware, tracker=shop_tracker)
    with TestClient(app) as client:
        assert client.get("/pricing").status_code == 200
    assert [e.goal for e in stored(shop_tracker, memory)] == ["viewed_pricing"]


# -- raw ASGI: the exact messages ------------------------------------------------------------


def body_messages(body: bytes, parts: int) -> list[dict[str, Any]]:
    size = max(1, -(-len(body) // parts))
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]


def reading_app(log: list[Any]) -> Any:
    """An app that reads every request message (and one more), then answers."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            log.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        log.append(await receive())  # what follows the body
        body = b"".join(m.get("body", b"") for m in log if m["type"] == "http.request")
        await send(
            {"type": "http.response.start", "status": 303, "headers": [(b"location", b"/thanks")]}
        )
        await send({"type": "http.response.body", "body": body})

    return app


async def test_the_body_read_for_a_form_is_replayed_message_for_message(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    body = b"total=49.90&email=a%40example.com&notes=" + b"x" * 3000
    messages = body_messages(body, 4)
    seen: list[Any] = []
    headers = [(b"content-type", FORM), (b"content-length", str(len(body)).encode())]
    sender = Sender()
    middleware = ConversionMiddleware(reading_app(seen), tracker=shop_tracker)
    await middleware(http_scope("/checkout", "POST", headers), Receiver(messages), sender)
    assert seen[:-1] == messages and all(a is b for a, b in zip(seen, messages, strict=False))
    assert seen[-1] == {"type": "http.disconnect"}  # from the real receive, after the replay
    assert sender.messages[1]["body"] == body
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value) == ("purchase", 49.9)


async def test_a_body_bigger_than_announced_is_read_no_further_than_the_cap(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    body = b"total=49.90&notes=" + b"y" * 5000
    messages = body_messages(body, 10)
    headers = [(b"content-type", FORM), (b"content-length", b"20")]  # a lie
    seen: list[Any] = []
    receiver = Receiver(messages)
    middleware = ConversionMiddleware(reading_app(seen), tracker=shop_tracker, max_body_size=100)
    await middleware(http_scope("/checkout", "POST", headers), receiver, Sender())
    assert seen[:-1] == messages
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value) == ("purchase", None)


async def test_a_disconnect_while_reading_is_replayed_to_the_app(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    first = {"type": "http.request", "body": b"total=4", "more_body": True}
    headers = [(b"content-type", FORM), (b"content-length", b"11")]
    seen: list[Any] = []
    middleware = ConversionMiddleware(reading_app(seen), tracker=shop_tracker)
    await middleware(http_scope("/checkout", "POST", headers), Receiver([first]), Sender())
    assert seen == [first, {"type": "http.disconnect"}, {"type": "http.disconnect"}]


async def test_a_failing_receive_fails_the_app_the_same_way(shop_tracker: Tracker) -> None:
    error = OSError("connection reset")
    first = {"type": "http.request", "body": b"total=4", "more_body": True}
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return first
        raise error

    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())
        try:
            await receive()
        except OSError as exc:
            seen.append(exc)
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    headers = [(b"content-type", FORM), (b"content-length", b"11")]
    await ConversionMiddleware(app, tracker=shop_tracker)(
        http_scope("/checkout", "POST", headers), receive, Sender()
    )
    assert seen == [first, error] and seen[1] is error


class StallingReceiver:
    """The server's receive: the first part of a body, then nothing until ``resume``."""

    def __init__(self, first: dict[str, Any], rest: dict[str, Any]) -> None:
        self.first, self.rest = first, rest
        self.resume = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            return self.first
        await self.resume.wait()  # a client that stops sending
        return self.rest


STALLED_HEADERS = [(b"content-type", FORM), (b"content-length", b"11")]
FIRST = {"type": "http.request", "body": b"total=4", "more_body": True}
REST = {"type": "http.request", "body": b"9.90", "more_body": False}


async def test_a_stalled_body_does_not_hold_the_apps_answer(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    receiver = StallingReceiver(FIRST, REST)  # resume is never set
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())  # what was read before the stall
        await send({"type": "http.response.start", "status": 303, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sender = Sender()
    middleware = ConversionMiddleware(app, tracker=shop_tracker, body_timeout=0.05)
    async with asyncio.timeout(30):  # a safety net against a hang, not a measurement
        await middleware(http_scope("/checkout", "POST", STALLED_HEADERS), receiver, sender)
    assert seen == [FIRST]
    assert sender.messages[0]["status"] == 303
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value) == ("purchase", None)  # recorded, without the form


async def test_after_a_stall_the_app_reads_the_rest_of_the_body(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    receiver = StallingReceiver(FIRST, REST)
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(await receive())
        receiver.resume.set()  # the client sends the rest
        seen.append(await receive())
        body = b"".join(m["body"] for m in seen)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    sender = Sender()
    middleware = ConversionMiddleware(app, tracker=shop_tracker, body_timeout=0.05)
    async with asyncio.timeout(30):
        await middleware(http_scope("/checkout", "POST", STALLED_HEADERS), receiver, sender)
    assert seen == [FIRST, REST]
    assert sender.messages[1]["body"] == b"total=49.90"


def test_body_timeout_is_checked() -> None:
    from convsdk import ConfigError

    assert Recorder().body_timeout == 5.0
    for bad in (0, -1, float("nan"), float("inf"), "5", True):
        with pytest.raises(ConfigError, match="body_timeout"):
            Recorder(body_timeout=bad)  # type: ignore[arg-type]


async def test_the_body_is_not_touched_when_no_goal_needs_it(shop_tracker: Tracker) -> None:
    receiver = Receiver(body_messages(b"email=a%40b.c", 1))
    seen_receive: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen_receive.append(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    headers = [(b"content-type", FORM), (b"content-length", b"13")]
    await ConversionMiddleware(app, tracker=shop_tracker)(
        http_scope("/newsletter", "POST", headers), receiver, Sender()
    )
    assert seen_receive == [receiver] and receiver.calls == 0


async def test_response_messages_pass_unchanged_apart_from_set_cookie(
    shop_tracker: Tracker,
) -> None:
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/html"), (b"x-app", b"1")],
        "trailers": False,
    }
    bodies = [
        {"type": "http.response.body", "body": b"%d" % i, "more_body": True} for i in range(20)
    ]
    end = {"type": "http.response.body", "body": b"", "more_body": False}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send(start)
        for message in bodies:
            await send(message)
        await send(end)

    sender = Sender()
    await ConversionMiddleware(app, tracker=shop_tracker)(http_scope("/"), Receiver([]), sender)
    sent_start, *rest = sender.messages
    assert all(a is b for a, b in zip(rest, [*bodies, end], strict=True))
    assert sent_start["headers"][:2] == start["headers"]
    assert [name for name, _ in sent_start["headers"][2:]] == [b"set-cookie", b"set-cookie"]
    assert start["headers"] == [(b"content-type", b"text/html"), (b"x-app", b"1")]  # not mutated
    assert sent_start["trailers"] is False


async def test_headers_that_can_be_read_once_reach_the_app_and_the_server_whole(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    """ASGI types headers as an iterable of two-item iterables: Falcon's test client
    sends iterators, and an app may answer with a generator. convsdk reads both, and
    the app and the server still get every header."""
    seen: list[list[tuple[bytes, bytes]]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append([tuple(pair) for pair in scope["headers"]])  # type: ignore[misc]
        headers = [(b"content-type", b"text/html"), (b"x-app", b"1")]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": (iter(pair) for pair in headers),
            }
        )
        await send({"type": "http.response.body", "body": b"<h1>Pricing</h1>"})

    sent = [
        (b"host", b"shop.example"),
        (b"user-agent", CHROME.encode()),
        (b"authorization", b"Bearer 123"),
    ]
    scope = http_scope("/pricing")
    scope["headers"] = iter([iter(sent[0]), list(sent[1]), sent[2]])
    sender = Sender()
    await ConversionMiddleware(app)(scope, Receiver([]), sender)
    assert seen == [sent]
    start = sender.messages[0]
    names = [bytes(name) for name, _ in start["headers"]]
    assert names == [b"content-type", b"x-app", b"set-cookie", b"set-cookie"]
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.goal, event.context["user_agent"]) == (
        "page_view",
        "viewed_pricing",
        CHROME,
    )


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
async def test_websocket_and_lifespan_pass_through_untouched(
    shop_tracker: Tracker, scope_type: str
) -> None:
    seen: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.extend([scope, receive, send, current()])

    scope = {"type": scope_type, "path": "/ws", "headers": []}
    receive, send = Receiver([]), Sender()
    await ConversionMiddleware(app, tracker=shop_tracker)(scope, receive, send)
    assert seen[0] is scope and seen[3] is None
    if scope_type == "websocket":  # lifespan messages are observed (test_asgi_lifespan.py)
        assert seen[1] is receive and seen[2] is send


async def test_a_starlette_websocket_still_works(shop_tracker: Tracker) -> None:
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    app = Starlette(
        routes=[WebSocketRoute("/ws", echo)],
        middleware=[Middleware(ConversionMiddleware, tracker=shop_tracker)],
    )
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("hello")
        assert ws.receive_text() == "hello"


@pytest.mark.parametrize("header", [b"sec-gpc", b"dnt"])
async def test_gpc_and_dnt_set_no_cookie_and_put_no_id_on_the_event(
    shop_tracker: Tracker, memory: MemoryBackend, header: bytes
) -> None:
    html = [(b"content-type", b"text/html")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": html})
        await send({"type": "http.response.body", "body": b"<p>hi</p>"})

    sender = Sender()
    await ConversionMiddleware(app, tracker=shop_tracker)(
        http_scope("/pricing", headers=[(header, b"1")]), Receiver([]), sender
    )
    assert sender.messages[0]["headers"] == html
    [event] = stored(shop_tracker, memory)
    assert event.goal == "viewed_pricing"
    assert (event.visitor_id, event.session_id) == (None, None)


async def test_a_bot_is_not_counted(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sender = Sender()
    scope = http_scope("/pricing")
    scope["headers"] = [(b"user-agent", b"Mozilla/5.0 (compatible; bingbot/2.0)")]
    await ConversionMiddleware(app, tracker=shop_tracker)(scope, Receiver([]), sender)
    assert sender.messages[0]["headers"] == []
    assert stored(shop_tracker, memory) == []


async def test_a_failure_inside_convsdk_leaves_the_response_unchanged_and_is_logged(
    shop_tracker: Tracker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"total=49.90"
    headers = [(b"content-type", FORM), (b"content-length", b"11")]

    async def run(app: Any) -> tuple[list[Any], list[Any]]:
        seen: list[Any] = []
        sender = Sender()
        await app(
            http_scope("/checkout", "POST", headers), Receiver(body_messages(body, 1)), sender
        )
        return seen, sender.messages

    seen: list[Any] = []
    bare_sender = Sender()
    await reading_app(seen)(
        http_scope("/checkout", "POST", headers), Receiver(body_messages(body, 1)), bare_sender
    )

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("convsdk bug")

    for target in ("start", "finish", "read_form"):
        with monkeypatch.context() as patch:
            patch.setattr(Recorder, target, broken)
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="convsdk"):
                got: list[Any] = []
                sender = Sender()
                await ConversionMiddleware(reading_app(got), tracker=shop_tracker)(
                    http_scope("/checkout", "POST", headers),
                    Receiver(body_messages(body, 1)),
                    sender,
                )
            assert got == seen, target
            start = sender.messages[0]
            assert [h for h in start["headers"] if h[0] != b"set-cookie"] == (
                bare_sender.messages[0]["headers"]
            ), target
            assert sender.messages[1:] == bare_sender.messages[1:], target
            assert "convsdk bug" in caplog.text, target


async def test_the_apps_own_exceptions_propagate_unchanged(shop_tracker: Tracker) -> None:
    error = LookupError("no such plan")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert current() is not None
        raise error

    with pytest.raises(LookupError) as raised:
        await ConversionMiddleware(app, tracker=shop_tracker)(
            http_scope("/"), Receiver([]), Sender()
        )
    assert raised.value is error
    assert current() is None


async def test_without_a_tracker_requests_pass_straight_through() -> None:
    previous = set_default(None)
    try:
        seen: list[Any] = []

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.extend([receive, send])

        receive, send = Receiver([]), Sender()
        await ConversionMiddleware(app)(http_scope("/"), receive, send)
        assert seen == [receive, send]
    finally:
        set_default(previous)


def test_passwords_and_card_numbers_never_reach_the_backend(tmp_path: Path) -> None:
    database = tmp_path / "events.db"
    tracker = Tracker(backend=f"sqlite:///{database}", spool_dir=None, secret_key="k", goals=GOALS)
    try:
        app = site(tracker, capture_fields=["plan", "password", "card_number"])
        with TestClient(app, headers={"User-Agent": CHROME}) as client:
            client.post(
                "/checkout?cc=4111111111111111",
                data={
                    "total": "49.90",
                    "plan": "pro",
                    "password": "hunter2",
                    "card_number": "4111 1111 1111 1111",
                    "cvc": "321",
                },
                headers={"Referer": "https://shop.example/?token=tok_live_SECRET"},
            )
        assert tracker.flush(5)
    finally:
        tracker.close()
    stored_bytes = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"purchase" in stored_bytes and b"pro" in stored_bytes
    # Whole values only: a fragment as short as "321" turns up in random ids and times.
    for secret in (b"hunter2", b"4111 1111", b"tok_live_SECRET", b'"321"'):
        assert secret not in stored_bytes, secret


# -- cookies only where something is recorded; page views that reached the visitor ------


def answering(headers: list[tuple[bytes, bytes]], status: int = 200) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"<p>hi</p>"})

    return app


HTML = [(b"content-type", b"text/html; charset=utf-8")]


def cookie_names(sender: Sender) -> list[bytes]:
    start = sender.messages[0]
    return [v.split(b"=")[0] for n, v in start["headers"] if n == b"set-cookie"]


async def test_an_html_page_view_sets_the_cookies(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    sender = Sender()
    await ConversionMiddleware(answering(HTML), tracker=shop_tracker)(
        http_scope("/about"), Receiver([]), sender
    )
    assert cookie_names(sender) == [b"cv_vid", b"cv_sid"]
    [event] = stored(shop_tracker, memory)
    assert event.name == "page_view"


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json")],
        [*HTML, (b"cache-control", b"public, max-age=300")],
        [*HTML, (b"cache-control", b"s-maxage=300")],
    ],
)
async def test_json_and_shared_cache_responses_set_no_cookie(
    shop_tracker: Tracker, headers: list[tuple[bytes, bytes]]
) -> None:
    sender = Sender()
    await ConversionMiddleware(answering(headers), tracker=shop_tracker)(
        http_scope("/pricing"), Receiver([]), sender
    )
    assert sender.messages[0]["headers"] == headers


async def test_excluded_and_api_docs_paths_set_no_cookie(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    middleware = ConversionMiddleware(answering(HTML), tracker=shop_tracker)
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/healthz"):
        sender = Sender()
        await middleware(http_scope(path), Receiver([]), sender)
        assert cookie_names(sender) == [], path
    assert stored(shop_tracker, memory) == []


@pytest.mark.parametrize(
    ("status", "headers"),
    [(204, HTML), (304, HTML), (302, [*HTML, (b"location", b"/")]), (200, [])],
)
async def test_no_page_view_without_a_page(
    shop_tracker: Tracker, memory: MemoryBackend, status: int, headers: list[tuple[bytes, bytes]]
) -> None:
    sender = Sender()
    await ConversionMiddleware(answering(headers, status), tracker=shop_tracker)(
        http_scope("/about"), Receiver([]), sender
    )
    assert cookie_names(sender) == []
    assert stored(shop_tracker, memory) == []


async def test_no_page_view_when_the_client_went_away(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HTML})
        await send({"type": "http.response.body", "body": b"<p>1</p>", "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            return  # what a streaming response does when the visitor left
        await send({"type": "http.response.body", "body": b"<p>2</p>"})

    async def failing_send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            raise OSError("connection reset")

    await ConversionMiddleware(streaming, tracker=shop_tracker)(
        http_scope("/about"), Receiver([]), Sender()
    )
    with pytest.raises(OSError):
        await ConversionMiddleware(answering(HTML), tracker=shop_tracker)(
            http_scope("/about"), Receiver([]), failing_send
        )
    # A streamed page sent in full is a page view.
    await ConversionMiddleware(streaming, tracker=shop_tracker)(
        http_scope("/pricing"), Receiver([{"type": "http.request", "body": b""}]), Sender()
    )
    assert [(e.name, e.context["path"]) for e in stored(shop_tracker, memory)] == [
        ("page_view", "/pricing")
    ]


def test_nested_middlewares_record_a_request_once() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse
    from starlette.routing import Mount, Route
    from starlette.testclient import TestClient

    from convsdk import Tracker
    from convsdk.backends.memory import MemoryBackend

    memory = MemoryBackend()
    with Tracker(backend=memory, spool_dir=None, secret_key="k") as tracker:

        async def page(request: Any) -> HTMLResponse:
            return HTMLResponse("<p>hi</p>")

        inner = Starlette(
            routes=[Route("/page", page)],
            middleware=[Middleware(ConversionMiddleware, tracker=tracker)],
        )
        outer = Starlette(
            routes=[Mount("/sub", app=inner)],
            middleware=[Middleware(ConversionMiddleware, tracker=tracker)],
        )
        with TestClient(outer) as client:
            response = client.get("/sub/page", headers={"User-Agent": "Mozilla/5.0 Firefox/120"})
        assert tracker.flush(5)
    assert [e.name for e in memory.events] == ["page_view"]
    assert len(response.headers.get_list("set-cookie")) == 2
