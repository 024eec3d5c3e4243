"""The WSGI middleware around a bare WSGI app, with werkzeug's LintMiddleware on both sides."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import FileWrapper

import pytest
from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

import convsdk
from convsdk import Event, Goal, GoalSet, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import read_events as read_sqlite
from convsdk.context import current
from convsdk.integrations.wsgi import ConversionMiddleware
from convsdk.interactions import Recorder
from convsdk.tracker import set_default
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.micro("newsletter", event="form_submit", path="/newsletter"),
    Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total"),
]
T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@Request.application  # type: ignore[arg-type]
def shop(request: Request) -> Response:
    """A tiny site: pages, a form echo, a raw body echo."""
    if request.path in ("/", "/pricing", "/about"):
        ctx = current()
        page = f"<h1>{request.path}</h1>"
        if request.path == "/pricing":  # shows what the view sees of the visitor
            page += f"<p>{ctx.visitor_id if ctx else ''}</p>"
        return Response(page, mimetype="text/html")
    if request.path in ("/newsletter", "/checkout", "/signup"):
        fields = {key: request.form.getlist(key) for key in request.form}
        files = {key: f.read().decode() for key, f in request.files.items()}
        return Response(json.dumps({"form": fields, "files": files}), mimetype="application/json")
    if request.path == "/raw":
        return Response(request.get_data(), mimetype="application/octet-stream")
    return Response("not found", status=404)


def lint(app: Any) -> Any:
    return LintMiddleware(app)


def wrap(app: Any, tracker: Tracker | None, **options: Any) -> Any:
    """The middleware between two linters: checks what it gives the server and the app."""
    return lint(ConversionMiddleware(lint(app), tracker=tracker, **options))


def serve(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call ``app`` the way a WSGI server does: start, iterate, close."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


def build(path: str = "/", **kwargs: Any) -> dict[str, Any]:
    headers = kwargs.pop("headers", {})
    headers.setdefault("User-Agent", CHROME)
    environ = EnvironBuilder(path=path, headers=headers, **kwargs).get_environ()
    environ["REMOTE_ADDR"] = "203.0.113.77"
    return environ


def set_cookies(headers: list[tuple[str, str]]) -> list[str]:
    return [value for name, value in headers if name.lower() == "set-cookie"]


def without_cookies(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if n.lower() != "set-cookie"]


@pytest.fixture
def shop_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


# -- interactions -----------------------------------------------------------------------


def test_a_page_view_is_recorded_and_the_response_is_untouched(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    bare = serve(lint(shop), build("/pricing?utm_source=news"))
    status, headers, body = serve(wrap(shop, shop_tracker), build("/pricing?utm_source=news"))
    assert (status, body.replace(body[body.index(b"<p>") :], b"")) == (
        bare[0],
        bare[2].replace(bare[2][bare[2].index(b"<p>") :], b""),
    )
    assert without_cookies(headers)[:1] == bare[1][:1]
    assert len(set_cookies(headers)) == 2
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.goal) == ("page_view", "micro", "viewed_pricing")
    assert event.context["utm"]["source"] == "news"
    assert event.context["status"] == 200
    assert event.visitor_id and event.visitor_id.encode() in body  # the view saw the context


def test_a_form_submit_is_recorded_and_the_app_reads_the_same_form(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    app = wrap(shop, shop_tracker, capture_fields=["plan"])
    data = {"email": "ada@example.com", "plan": "pro"}
    _, _, body = serve(app, build("/newsletter", method="POST", data=data))
    assert json.loads(body)["form"] == {"email": ["ada@example.com"], "plan": ["pro"]}
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.goal) == ("form_submit", "micro", "newsletter")
    assert event.properties == {"plan": "pro"}


def test_a_multipart_checkout_gets_its_value_and_the_app_gets_fields_and_files(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    data = {"total": "49.90", "sku": "A1", "receipt": (io.BytesIO(b"file contents"), "r.txt")}
    _, _, body = serve(wrap(shop, shop_tracker), build("/checkout", method="POST", data=data))
    assert json.loads(body) == {
        "form": {"total": ["49.90"], "sku": ["A1"]},
        "files": {"receipt": "file contents"},
    }
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.goal, event.value) == (
        "checkout",
        "macro",
        "purchase",
        49.9,
    )


def test_json_and_raw_bodies_reach_the_app_unread(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["wsgi.input"])
        return shop(environ, start_response)  # type: ignore[no-any-return]

    environ = build("/checkout", method="POST", json={"total": 10})
    original = environ["wsgi.input"]
    serve(ConversionMiddleware(app, tracker=shop_tracker), environ)
    assert seen == [original]  # the very same stream: nothing was read
    raw = build("/raw", method="POST", data=b"\x00\xffbinary", content_type="text/plain")
    assert serve(wrap(shop, shop_tracker), raw)[2] == b"\x00\xffbinary"
    [checkout] = stored(shop_tracker, memory)
    assert (checkout.name, checkout.goal, checkout.value) == ("checkout", "purchase", None)


def test_a_stream_that_can_seek_stays_the_apps_from_where_it_was(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    """Whoever else holds the stream (a test client sending it again for a 307 or 308
    redirect) finds it as the app leaves it, as without convsdk."""
    seen: list[tuple[Any, int]] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        seen.append((stream, stream.tell()))
        if environ["PATH_INFO"] == "/checkout/unread":  # answered without reading the body
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return shop(environ, start_response)  # type: ignore[no-any-return]

    environ = build("/checkout", method="POST", data={"total": "49.90"})
    original = environ["wsgi.input"]
    _, _, body = serve(ConversionMiddleware(app, tracker=shop_tracker), environ)
    assert json.loads(body)["form"] == {"total": ["49.90"]}
    assert seen == [(original, 0)]  # its own stream, unread
    assert original.read() == b""  # and the app read it to the end
    # A stream the app leaves unread is left unread, wherever it started.
    unread = build("/checkout/unread", method="POST", data={"total": "5"})
    unread["wsgi.input"] = stream = io.BytesIO(b"ignored&total=5")
    stream.seek(8)
    unread["CONTENT_LENGTH"] = "7"
    assert serve(ConversionMiddleware(app, tracker=shop_tracker), unread)[2] == b"ok"
    assert stream.tell() == 8 and stream.read() == b"total=5"
    values = [event.value for event in stored(shop_tracker, memory)]
    assert values == [49.9, 5.0]


def test_a_stream_that_cannot_seek_is_replaced_by_the_bytes_read(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    class SocketInput(io.RawIOBase):
        """A server's input stream: it reads, and nothing more."""

        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int | None = -1) -> bytes:
            size = len(self.data) if size is None or size < 0 else size
            chunk, self.data = self.data[:size], self.data[size:]
            return chunk

    environ = build("/checkout", method="POST", data={"total": "49.90", "sku": "A1"})
    environ["wsgi.input"] = original = SocketInput(environ["wsgi.input"].read())
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["wsgi.input"])
        return shop(environ, start_response)  # type: ignore[no-any-return]

    _, _, body = serve(ConversionMiddleware(app, tracker=shop_tracker), environ)
    assert json.loads(body)["form"] == {"total": ["49.90"], "sku": ["A1"]}
    assert seen[0] is not original
    [event] = stored(shop_tracker, memory)
    assert event.value == 49.9


def test_a_form_over_the_size_cap_is_not_read_but_still_counted(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    data = {"total": "49.90", "notes": "x" * 5000}
    app = wrap(shop, shop_tracker, max_body_size=1000)
    _, _, body = serve(app, build("/checkout", method="POST", data=data))
    assert json.loads(body)["form"]["notes"] == ["x" * 5000]
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value) == ("purchase", None)


def test_a_chunked_body_without_content_length_is_never_read(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    reads: list[Any] = []

    class Chunked(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            reads.append(size)
            return super().read(size)

    environ = build("/checkout", method="POST", data={"total": "5"})
    body = environ["wsgi.input"].read()
    environ.update({"wsgi.input": Chunked(body), "wsgi.input_terminated": True})
    del environ["CONTENT_LENGTH"]

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [data]

    assert serve(ConversionMiddleware(app, tracker=shop_tracker), environ)[2] == body
    assert reads == [-1]  # only the app's own read
    [event] = stored(shop_tracker, memory)
    assert (event.goal, event.value) == ("purchase", None)


def test_a_client_that_disconnects_mid_body_fails_the_app_the_same_way(
    shop_tracker: Tracker,
) -> None:
    class Dropped(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            data = super().read(min(size or 0, 4))
            if not data:
                raise ConnectionResetError("client went away")
            return data

    environ = build("/checkout", method="POST", data={"total": "49.90"})
    environ["CONTENT_LENGTH"] = "100"  # more than will ever arrive
    environ["wsgi.input"] = Dropped(environ["wsgi.input"].read())
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        got = b""
        try:
            while True:
                got += stream.read(100 - len(got))
        except ConnectionResetError as exc:
            seen.append((got, exc))
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"incomplete"]

    serve(ConversionMiddleware(app, tracker=shop_tracker), environ)
    [(got, exc)] = seen
    assert got == b"total=49.90"
    assert str(exc) == "client went away"


# -- responses: streaming, close(), file wrappers -------------------------------------


class Closing:
    """A response iterable that counts its close() calls."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.iterator = iter(chunks)
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return self.iterator

    def close(self) -> None:
        self.closed += 1
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def make_app(result: Callable[[], Iterable[bytes]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return result()

    return app


@pytest.mark.parametrize("kind", ["list", "generator", "file"])
def test_close_is_called_exactly_once_and_bytes_pass_unchanged(
    shop_tracker: Tracker, memory: MemoryBackend, kind: str, tmp_path: Path
) -> None:
    chunks = [b"<h1>", b"stream", b"ing", b"</h1>" * 1000]
    responses: list[Closing] = []

    def generator() -> Iterator[bytes]:
        yield from chunks

    def result() -> Iterable[bytes]:
        if kind == "list":
            inner: Iterable[bytes] = list(chunks)
        elif kind == "generator":
            inner = generator()
        else:
            path = tmp_path / "page.html"
            path.write_bytes(b"".join(chunks))
            inner = FileWrapper(path.open("rb"), 7)
        responses.append(Closing(inner))
        return responses[-1]

    status, headers, body = serve(wrap(make_app(result), shop_tracker), build("/"))
    assert body == b"".join(chunks)
    assert [r.closed for r in responses] == [1]
    assert len(stored(shop_tracker, memory)) == 1


def test_a_file_wrapper_response_keeps_its_identity(shop_tracker: Tracker, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF")
    returned: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/pdf")])
        returned.append(environ["wsgi.file_wrapper"](path.open("rb")))
        return returned[0]

    environ = build("/report")
    environ["wsgi.file_wrapper"] = FileWrapper
    result = ConversionMiddleware(app, tracker=shop_tracker)(environ, lambda s, h, e=None: None)
    try:
        assert result is returned[0]
    finally:
        result.close()


def test_start_response_called_lazily_from_a_generator_still_records_and_sets_cookies(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        yield b"<p>late</p>"

    status, headers, body = serve(wrap(app, shop_tracker), build("/pricing"))
    assert body == b"<p>late</p>" and len(set_cookies(headers)) == 2
    assert [e.goal for e in stored(shop_tracker, memory)] == ["viewed_pricing"]


def test_start_response_with_exc_info_keeps_the_cookies(shop_tracker: Tracker) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise ValueError("template failed")
        except ValueError:
            import sys

            start_response(
                "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
            )
        return [b"error"]

    status, headers, _ = serve(ConversionMiddleware(app, tracker=shop_tracker), build("/"))
    assert status.startswith("500")
    assert len(set_cookies(headers)) == 2


def test_the_apps_own_exceptions_propagate_unchanged(shop_tracker: Tracker) -> None:
    error = RuntimeError("database down")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise error

    with pytest.raises(RuntimeError) as raised:
        serve(ConversionMiddleware(app, tracker=shop_tracker), build("/"))
    assert raised.value is error
    assert current() is None  # the context does not leak out of the request


# -- identity -------------------------------------------------------------------------


def test_the_visitor_is_stable_across_requests_and_new_after_tampering(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(wrap(shop, shop_tracker))
    first = client.get("/", headers={"User-Agent": CHROME})
    assert len(first.headers.getlist("Set-Cookie")) == 2
    second = client.get("/pricing", headers={"User-Agent": CHROME})
    assert second.headers.getlist("Set-Cookie") == []  # same minute: nothing to refresh
    visitor = client.get_cookie("cv_vid")
    assert visitor is not None
    flipped = "A" if visitor.value[-5] != "A" else "B"  # a signature character
    client.set_cookie("cv_vid", visitor.value[:-5] + flipped + visitor.value[-4:])
    client.get("/about", headers={"User-Agent": CHROME})
    events = stored(shop_tracker, memory)
    assert events[0].visitor_id == events[1].visitor_id
    assert events[0].session_id == events[1].session_id
    assert events[2].visitor_id not in (None, events[0].visitor_id)
    assert events[2].session_id != events[0].session_id


def test_the_session_rolls_over_after_the_timeout(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    clock = Clock()
    client = Client(wrap(shop, shop_tracker, clock=clock))
    client.get("/", headers={"User-Agent": CHROME})
    clock.now += 29 * 60
    client.get("/pricing", headers={"User-Agent": CHROME})
    clock.now += 29 * 60  # active 29 minutes ago: still the same session
    client.get("/about", headers={"User-Agent": CHROME})
    clock.now += 31 * 60
    client.get("/", headers={"User-Agent": CHROME})
    events = stored(shop_tracker, memory)
    assert len({e.visitor_id for e in events}) == 1
    sessions = [e.session_id for e in events]
    assert sessions[0] == sessions[1] == sessions[2] != sessions[3]


def test_cookies_are_secure_on_https(shop_tracker: Tracker) -> None:
    environ = build("/", base_url="https://shop.example")
    _, headers, _ = serve(wrap(shop, shop_tracker), environ)
    cookies = set_cookies(headers)
    assert len(cookies) == 2
    assert all("; Secure" in c and "; HttpOnly" in c and "SameSite=Lax" in c for c in cookies)


def test_without_a_secret_key_the_middleware_runs_cookieless(memory: MemoryBackend) -> None:
    with Tracker(backend=memory, spool_dir=None, secret_key=None) as tracker:
        tracker.secret_key = None  # whatever the environment says
        app = wrap(shop, tracker)
        _, first, _ = serve(app, build("/"))
        _, second, _ = serve(app, build("/pricing"))
        assert set_cookies(first) == set_cookies(second) == []
        assert tracker.flush(5)
        one, two = memory.events
        assert one.visitor_id == two.visitor_id is not None
        assert one.session_id is None


# -- privacy ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Sec-GPC", "DNT"])
def test_gpc_and_dnt_set_no_cookie_and_put_no_id_on_the_event(
    shop_tracker: Tracker, memory: MemoryBackend, header: str
) -> None:
    client = Client(wrap(shop, shop_tracker))
    response = client.get("/pricing", headers={"User-Agent": CHROME, header: "1"})
    assert response.headers.getlist("Set-Cookie") == []
    [event] = stored(shop_tracker, memory)
    assert event.goal == "viewed_pricing"
    assert (event.visitor_id, event.session_id, event.user_id) == (None, None, None)


def test_opted_out_visitors_are_not_counted_at_all_with_dnt_skip(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    _, headers, _ = serve(wrap(shop, shop_tracker, dnt="skip"), build("/", headers={"DNT": "1"}))
    assert set_cookies(headers) == []
    assert stored(shop_tracker, memory) == []


def test_a_bot_is_not_counted(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    _, headers, _ = serve(wrap(shop, shop_tracker), build("/pricing", headers={"User-Agent": bot}))
    assert set_cookies(headers) == []
    assert stored(shop_tracker, memory) == []


def test_static_assets_and_health_checks_pass_straight_through(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    for path in ("/static/site.css", "/img/logo.png", "/healthz", "/favicon.ico"):
        _, headers, _ = serve(wrap(shop, shop_tracker), build(path))
        assert set_cookies(headers) == []
    assert stored(shop_tracker, memory) == []


def test_passwords_and_card_numbers_never_reach_the_backend(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tracker = Tracker(backend=f"file://{path}", spool_dir=None, secret_key="k", goals=GOALS)
    try:
        app = wrap(shop, tracker, capture_fields=["plan", "password", "card", "note"])
        serve(
            app,
            build(
                "/checkout?card=4111111111111111&token=tok_live_SECRET",
                method="POST",
                data={
                    "total": "49.90",
                    "plan": "pro",
                    "password": "hunter2",
                    "card": "4111 1111 1111 1111",
                    "note": "5555-5555-5555-4444",
                    "cvv": "123",
                },
                headers={
                    "Referer": "https://shop.example/cart?pan=4111111111111111",
                    "User-Agent": CHROME,
                },
            ),
        )
        serve(app, build("/pricing?password=hunter2"))
        assert tracker.flush(5)
    finally:
        tracker.close()
    stored_bytes = path.read_bytes()
    assert stored_bytes.count(b"\n") == 2
    # Whole numbers, in every spelling sent: four digits alone also turn up by chance
    # in a generated id or a timestamp.
    secrets = (b"hunter2", b"tok_live_SECRET", b"cvv", b"4111111111111111", b"4111 1111")
    for secret in (*secrets, b"5555-5555", b"5555555555554444"):
        assert secret not in stored_bytes
    assert b'"plan": "pro"' in stored_bytes or b'"plan":"pro"' in stored_bytes


# -- tracking never breaks the site --------------------------------------------------------


def test_a_failure_inside_convsdk_leaves_the_response_unchanged_and_is_logged(
    shop_tracker: Tracker,
    memory: MemoryBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {"total": "49.90", "email": "a@b.c"}
    expected = serve(lint(shop), build("/checkout", method="POST", data=data))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("convsdk bug")

    for target in ("finish", "start", "read_form"):
        with monkeypatch.context() as patch:
            patch.setattr(Recorder, target, broken)
            with caplog.at_level(logging.ERROR, logger="convsdk"):
                caplog.clear()
                got = serve(wrap(shop, shop_tracker), build("/checkout", method="POST", data=data))
            assert (got[0], without_cookies(got[1]), got[2]) == expected, target
            assert "convsdk bug" in caplog.text, target


def test_a_goal_or_backend_that_raises_changes_nothing_for_the_visitor(
    shop_tracker: Tracker,
    memory: MemoryBackend,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected = serve(lint(shop), build("/about"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("broken goal")

    monkeypatch.setattr(GoalSet, "match", broken)
    got = serve(wrap(shop, shop_tracker), build("/about"))
    assert (got[0], got[2]) == (expected[0], expected[2])
    monkeypatch.undo()
    monkeypatch.setattr(shop_tracker, "emit", broken)
    got = serve(wrap(shop, shop_tracker), build("/about"))
    assert (got[0], got[2]) == (expected[0], expected[2])
    assert "broken goal" in caplog.text


def test_without_a_tracker_requests_pass_through_until_there_is_a_default(
    memory: MemoryBackend,
) -> None:
    previous = set_default(None)
    try:
        app = wrap(shop, None)
        _, headers, _ = serve(app, build("/"))
        assert set_cookies(headers) == []
        tracker = convsdk.Tracker(backend=memory, spool_dir=None, secret_key="k")
        set_default(tracker)
        _, headers, _ = serve(app, build("/"))
        assert len(set_cookies(headers)) == 2
        assert tracker.flush(5) and len(memory.events) == 1
    finally:
        set_default(previous)
        tracker.close()


def test_a_request_served_after_the_tracker_closed_waits_in_the_spool(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    # A server drains its last requests after SIGTERM closed the trackers.
    spool = tmp_path / "spool"
    store = f"sqlite:///{tmp_path / 'events.db'}"
    tracker = convsdk.Tracker(backend=store, spool_dir=spool, secret_key="k")
    app = wrap(shop, tracker)
    serve(app, build("/"))
    tracker.close()
    serve(app, build("/"))
    assert tracker.stats()["dropped"] == 0
    with convsdk.Tracker(backend=store, spool_dir=spool, secret_key="k") as later:
        assert later.flush(10)
    assert [e.name for e in read_sqlite(tmp_path / "events.db")] == ["page_view", "page_view"]


def test_decorator_records_with_the_middleware_tracker_when_there_is_no_default() -> None:
    """A tracker given to the middleware only (no convsdk.init) records decorator goals."""
    from werkzeug.test import Client

    from convsdk import Tracker, track_macro
    from convsdk.backends.memory import MemoryBackend
    from convsdk.integrations.wsgi import ConversionMiddleware
    from convsdk.tracker import set_default

    backend = MemoryBackend()
    tracker = Tracker(backend=backend, spool_dir=None, secret_key="k")

    @track_macro("purchase", value=10)
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    previous = set_default(None)
    try:
        Client(ConversionMiddleware(app, tracker=tracker)).post("/buy")
        assert tracker.flush(timeout=5)
        assert [e.goal for e in backend.events if e.kind == "macro"] == ["purchase"]
    finally:
        set_default(previous)
        tracker.close()


# -- cookies only where something is recorded, never on shared-cache responses ----------


def answer(status: str = "200 OK", headers: list[tuple[str, str]] | None = None) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response(status, headers if headers is not None else [])
        return [b"body"]

    return app


HTML = [("Content-Type", "text/html; charset=utf-8")]


def test_an_html_page_view_sets_the_cookies(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    _, headers, _ = serve(wrap(answer(headers=HTML), shop_tracker), build("/about"))
    assert [c.split("=")[0] for c in set_cookies(headers)] == ["cv_vid", "cv_sid"]
    [event] = stored(shop_tracker, memory)
    assert event.name == "page_view" and event.visitor_id and event.session_id


def test_a_json_response_records_nothing_and_sets_no_cookie(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    json_app = answer(headers=[("Content-Type", "application/json")])
    _, headers, _ = serve(wrap(json_app, shop_tracker), build("/api/plans"))
    assert set_cookies(headers) == []
    assert stored(shop_tracker, memory) == []


def test_an_excluded_path_sets_no_cookie(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    app = wrap(answer(headers=HTML), shop_tracker, exclude_paths=["/admin/*"])
    for path in ("/admin/users", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        _, headers, _ = serve(app, build(path))
        assert set_cookies(headers) == [], path
    assert stored(shop_tracker, memory) == []


@pytest.mark.parametrize(
    "cache_control", ["public, max-age=600", "max-age=60, s-maxage=600", "Public"]
)
def test_a_response_a_shared_cache_may_store_sets_no_cookie(
    memory: MemoryBackend, cache_control: str
) -> None:
    with Tracker(backend=memory, spool_dir=None, secret_key="s3cret", goals=GOALS) as tracker:
        cached = wrap(answer(headers=[*HTML, ("Cache-Control", cache_control)]), tracker)
        _, headers, _ = serve(cached, build("/pricing"))
        assert set_cookies(headers) == []
        # A returning visitor is still known by the cookies the browser sent.
        _, headers, _ = serve(wrap(answer(headers=HTML), tracker), build("/about"))
        cookie = "; ".join(c.split(";")[0] for c in set_cookies(headers))
        serve(cached, build("/pricing", headers={"Cookie": cookie}))
        first, known, again = stored(tracker, memory)
    # Without cookies the visitor is counted as in cookieless mode: a daily hash.
    assert first.goal == "viewed_pricing" and first.visitor_id and first.session_id is None
    assert first.visitor_id != known.visitor_id
    assert (again.visitor_id, again.session_id) == (known.visitor_id, known.session_id)


def test_private_cache_control_keeps_the_cookies(shop_tracker: Tracker) -> None:
    private = answer(headers=[*HTML, ("Cache-Control", "private, max-age=60")])
    _, headers, _ = serve(wrap(private, shop_tracker), build("/about"))
    assert len(set_cookies(headers)) == 2


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        ("204 No Content", HTML),
        ("304 Not Modified", HTML),
        ("302 Found", [*HTML, ("Location", "/pricing")]),
        ("200 OK", []),
    ],
)
def test_no_page_view_without_a_page(
    shop_tracker: Tracker, memory: MemoryBackend, status: str, headers: list[tuple[str, str]]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response(status, headers)
        return [] if status[0] in "23" and status[:3] != "200" else [b"body"]

    _, sent, _ = serve(ConversionMiddleware(app, tracker=shop_tracker), build("/about"))
    assert set_cookies(sent) == []
    assert stored(shop_tracker, memory) == []


def test_a_dropped_bot_is_counted_and_explained_once(
    shop_tracker: Tracker, memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    app = wrap(answer(headers=HTML), shop_tracker)
    with caplog.at_level(logging.DEBUG, logger="convsdk.interactions"):
        for _ in range(3):
            # (No other test sends HTTPie: its family is reported here first.)
            serve(app, build("/pricing", headers={"User-Agent": "HTTPie/3.2.2"}))
    assert shop_tracker.stats()["bots"] == 3
    said = [r.getMessage() for r in caplog.records if "bots" in r.getMessage()]
    assert len(said) == 1 and "httpie" in said[0]
    assert stored(shop_tracker, memory) == []


def test_a_middleware_wrapped_twice_records_a_request_once() -> None:
    from convsdk import Tracker
    from convsdk.backends.memory import MemoryBackend

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>hi</p>"]

    memory = MemoryBackend()
    with Tracker(backend=memory, spool_dir=None, secret_key="k") as tracker:
        wrapped = ConversionMiddleware(ConversionMiddleware(app, tracker=tracker), tracker=tracker)
        response = Client(wrapped).get("/", headers={"User-Agent": "Mozilla/5.0 Firefox/120"})
        assert tracker.flush(5)
    assert [e.name for e in memory.events] == ["page_view"]
    assert len(response.headers.getlist("Set-Cookie")) == 2
