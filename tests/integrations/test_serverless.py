"""Serverless platforms freeze the process once a response is returned: each request's
events are delivered before it leaves.

The handlers are the real adapters users deploy with: Mangum (ASGI: Starlette, Django)
and apig-wsgi (WSGI: Flask, Django), called with API Gateway events as AWS Lambda calls
them. The trackers' own delivery never runs on its own here (a flush interval of an
hour and a batch no test fills), so what the store holds when a handler returns is
what was delivered before the response left. The last test runs a function process,
freezes it with SIGSTOP after a response as Lambda does, reads the store, and kills it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from apig_wsgi import make_lambda_handler
from flask import Flask
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

import convsdk
from convsdk import Goal, Tracker, runtime
from convsdk.integrations.asgi import ConversionMiddleware as ASGIMiddleware
from convsdk.integrations.flask import ConvSDK
from convsdk.tracker.serverless import serverless_platform, temporary_spool_dir
from faults import BlockingBackend

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.macro("demo_booked", event="form_submit", path="/demo"),
]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def api_gateway_event(
    method: str,
    path: str,
    form: str = "",
    host: str = "shop.example",
    cookies: list[str] | None = None,
    **headers: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda hands it to a handler:
    ``form`` is the body (URL-encoded, unless ``content_type`` says otherwise)."""
    headers = {"host": host, "user-agent": CHROME, "accept": "text/html", **headers}
    if form:
        headers.setdefault("content_type", "application/x-www-form-urlencoded")
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "cookies": cookies or [],
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": host,
            "domainPrefix": "shop",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": CHROME,
            },
            "requestId": "request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "08/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796724000000,
        },
        "body": base64.b64encode(form.encode()).decode() if form else "",
        "isBase64Encoded": bool(form),
    }


def stored(db: Path) -> list[tuple[str, str | None]]:
    """The events in the SQLite store: (name, goal), in the order written."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT name, goal FROM convsdk_events ORDER BY rowid").fetchall()


@pytest.fixture(autouse=True)
def event_loop() -> Iterator[None]:
    """Mangum runs each call on the thread's event loop (made on first use, as on
    Lambda, where it lives as long as the process): here, one closed after the test."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop")
    monkeypatch.delenv("CONVSDK_FLUSH_AFTER_REQUEST", raising=False)


@pytest.fixture
def tracker(on_lambda: None, tmp_path: Path) -> Iterator[Tracker]:
    """A tracker as on Lambda, into SQLite, that never delivers on its own."""
    t = Tracker(
        backend=f"sqlite:///{tmp_path / 'events.db'}",
        spool_dir=tmp_path / "spool",
        goals=GOALS,
        secret_key="s3cret",
        flush_interval=3600,
        batch_size=1000,
    )
    previous = runtime.set_default(t)
    yield t
    runtime.set_default(previous)
    t.close()


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.get("/pricing")
    def pricing() -> str:
        return "<h1>Pricing</h1>"

    @app.post("/demo")
    def demo() -> str:
        return "<p>Booked</p>"

    return app


def starlette_app() -> Starlette:
    async def pricing(request: Request) -> HTMLResponse:
        return HTMLResponse("<h1>Pricing</h1>")

    async def demo(request: Request) -> HTMLResponse:
        await request.form()
        return HTMLResponse("<p>Booked</p>")

    return Starlette(routes=[Route("/pricing", pricing), Route("/demo", demo, methods=["POST"])])


def apig_wsgi_flask(tracker: Tracker) -> Handler:
    app = flask_app()
    ConvSDK(app, tracker=tracker)
    return make_lambda_handler(app.wsgi_app)


def mangum_starlette(tracker: Tracker) -> Handler:
    # No lifespan: the app's shutdown would deliver too, and Mangum runs one per call.
    return Mangum(ASGIMiddleware(starlette_app(), tracker=tracker), lifespan="off")


def django_project() -> None:
    """The test Django project (its middleware follows the default tracker)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import django_project

    django_project.setup()


def apig_wsgi_django() -> Handler:
    django_project()
    from django.core.wsgi import get_wsgi_application

    return make_lambda_handler(get_wsgi_application())


def mangum_django() -> Handler:
    django_project()
    from django.core.asgi import get_asgi_application

    return Mangum(get_asgi_application(), lifespan="off")


@pytest.mark.parametrize(
    ("platform", "environ"),
    [
        ("AWS Lambda", {"AWS_LAMBDA_FUNCTION_NAME": "shop"}),
        ("Vercel", {"VERCEL": "1"}),
        ("Google Cloud Functions", {"FUNCTION_TARGET": "handler"}),
        (None, {"VERCEL": ""}),
        (None, {}),
    ],
)
def test_the_platforms_are_recognised(platform: str | None, environ: dict[str, str]) -> None:
    assert serverless_platform(environ) == platform


@pytest.mark.usefixtures("on_lambda")
def test_on_lambda_a_tracker_delivers_per_request_and_spools_where_it_may_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="convsdk.tracker")
    with Tracker(backend="memory://") as tracker:
        assert tracker.flush_after_request
        # The deployed code is read-only there: the default spool goes where it may write.
        assert tracker.spool_dir == os.path.join(tempfile.gettempdir(), "convsdk-spool")
        assert tracker.spool_dir == temporary_spool_dir()
    assert "running on AWS Lambda" in caplog.text


def test_an_option_given_wins_over_the_platforms_default(
    on_lambda: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Tracker(backend="memory://", flush_after_request=False, spool_dir=tmp_path) as tracker:
        assert not tracker.flush_after_request
        assert tracker.spool_dir == str(tmp_path)
    monkeypatch.setenv("CONVSDK_FLUSH_AFTER_REQUEST", "0")
    with Tracker(backend="memory://") as tracker:
        assert not tracker.flush_after_request
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    monkeypatch.delenv("CONVSDK_FLUSH_AFTER_REQUEST")
    with Tracker(backend="memory://", spool_dir=None) as tracker:
        assert not tracker.flush_after_request  # a server: its own thread delivers


@pytest.mark.parametrize("handler", [apig_wsgi_flask, mangum_starlette])
def test_the_requests_events_are_stored_when_the_handler_returns(
    tracker: Tracker, tmp_path: Path, handler: Callable[[Tracker], Handler]
) -> None:
    call = handler(tracker)
    page = call(api_gateway_event("GET", "/pricing"), None)
    assert page["statusCode"] == 200
    assert stored(tmp_path / "events.db") == [("page_view", "viewed_pricing")]
    booked = call(api_gateway_event("POST", "/demo", "name=Ada&email=ada%40example.com"), None)
    assert booked["statusCode"] == 200
    assert stored(tmp_path / "events.db") == [
        ("page_view", "viewed_pricing"),
        ("form_submit", "demo_booked"),
    ]
    # The visitor's cookies go back with the response, as on a server.
    cookies = page.get("cookies") or page.get("multiValueHeaders", {}).get("set-cookie", [])
    assert any(cookie.startswith("cv_vid=") for cookie in cookies), page


@pytest.mark.usefixtures("tracker")
@pytest.mark.parametrize("handler", [apig_wsgi_django, mangum_django])
def test_django_on_lambda_stores_the_requests_events_when_the_handler_returns(
    tmp_path: Path, handler: Callable[[], Handler]
) -> None:
    call = handler()
    response = call(api_gateway_event("GET", "/pricing/", host="testserver"), None)
    assert response["statusCode"] == 200
    assert stored(tmp_path / "events.db") == [("page_view", "viewed_pricing")]


def test_the_browser_scripts_events_are_stored_when_the_handler_returns(
    tracker: Tracker, tmp_path: Path
) -> None:
    app = flask_app()
    ConvSDK(app, tracker=tracker, collect=True, browser_events=["scroll_depth"])
    call = make_lambda_handler(app.wsgi_app)
    page = call(api_gateway_event("GET", "/pricing", x_forwarded_proto="https"), None)
    cookies = [cookie.split(";")[0] for cookie in page["cookies"]]
    payload = {"url": "https://shop.example/pricing", "events": [{"name": "scroll_depth"}]}
    beacon = api_gateway_event(
        "POST",
        "/_convsdk/collect",
        json.dumps(payload),
        cookies=cookies,
        content_type="text/plain;charset=UTF-8",
        origin="https://shop.example",
        x_forwarded_proto="https",
    )
    assert call(beacon, None)["statusCode"] == 204
    assert stored(tmp_path / "events.db") == [
        ("page_view", "viewed_pricing"),
        ("scroll_depth", "scroll_depth"),
    ]


@pytest.mark.usefixtures("on_lambda")
def test_a_backend_that_does_not_answer_holds_one_response_not_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The host app must not feel a hung backend: the first response waits for it (at
    # most shutdown_timeout), the next ones not (each waited before), while the
    # delivery thread keeps trying; nothing is lost once the backend answers again.
    backend = BlockingBackend()
    tracker = Tracker(
        backend=backend,
        spool_dir=tmp_path / "spool",
        flush_interval=3600,
        batch_size=1000,
        shutdown_timeout=0.2,
        retry_max_delay=60,
    )
    try:
        app = flask_app()
        ConvSDK(app, tracker=tracker)
        call = make_lambda_handler(app.wsgi_app)
        with caplog.at_level(logging.WARNING, logger="convsdk.interactions"):
            for _ in range(3):
                assert call(api_gateway_event("GET", "/pricing"), None)["statusCode"] == 200
        assert caplog.text.count("could not deliver this request's events") == 1
        backend.release.set()
        assert tracker.flush(10)
        assert [event.name for event in backend.events] == ["page_view"] * 3
    finally:
        backend.release.set()
        tracker.close()


@pytest.mark.usefixtures("tracker")
def test_a_function_without_a_web_framework_stores_each_event_as_it_is_tracked(
    tmp_path: Path,
) -> None:
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        # A payment webhook: no middleware, no request context.
        convsdk.track("purchase", kind="macro", value=49.0, transaction_id=event["order"])
        return {"statusCode": 204}

    handler({"order": "o-1"}, None)
    assert stored(tmp_path / "events.db") == [("purchase", "purchase")]


FUNCTION = """
import json, sys
from apig_wsgi import make_lambda_handler
from flask import Flask
from convsdk import Goal, Tracker
from convsdk.integrations.flask import ConvSDK

app = Flask(__name__)
app.get("/pricing")(lambda: "<h1>Pricing</h1>")
tracker = Tracker(backend=sys.argv[1], goals=[Goal.micro("viewed_pricing", path="/pricing")])
ConvSDK(app, tracker=tracker)
handler = make_lambda_handler(app.wsgi_app)
for line in sys.stdin:  # the runtime's loop: one invocation a line
    response = handler(json.loads(line), None)
    print(response["statusCode"], flush=True)
"""


def test_a_function_frozen_after_its_response_then_killed_loses_nothing(tmp_path: Path) -> None:
    # Lambda freezes the process once the handler returns, and later throws it away
    # without a signal. The tracker runs with its defaults, as a user deploys it.
    db = tmp_path / "events.db"
    script = tmp_path / "function.py"
    script.write_text(textwrap.dedent(FUNCTION))
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "shop", "TMPDIR": str(tmp_path)}
    env.pop("CONVSDK_FLUSH_AFTER_REQUEST", None)
    function = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{db}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert function.stdin is not None and function.stdout is not None
    try:
        for invocation in range(1, 4):
            function.stdin.write(json.dumps(api_gateway_event("GET", "/pricing")) + "\n")
            function.stdin.flush()
            assert function.stdout.readline().strip() == "200"
            function.send_signal(signal.SIGSTOP)  # frozen until the next invocation
            assert stored(db) == [("page_view", "viewed_pricing")] * invocation
            function.send_signal(signal.SIGCONT)
        function.send_signal(signal.SIGSTOP)
    finally:
        function.kill()  # thrown away, frozen: no handler, no atexit
        function.wait()
        function.stdin.close()
        function.stdout.close()
    assert stored(db) == [("page_view", "viewed_pricing")] * 3


SNAPSHOT = """
import ctypes, json, os
import snapshot_restore_py
from convsdk.event.ids import random_bits
from convsdk.identity.ids import new_ids

new_ids()  # a request while the function was initialised filled the pool of ids
fork = ctypes.CDLL(None).fork
read, write = os.pipe()
for environment in range(2):
    if fork() == 0:  # the process copied as it is, as a snapshot is: no at-fork hook
        for renew, args, kwargs in snapshot_restore_py.get_after_restore():
            renew(*args, **kwargs)  # as Lambda's runtime does when it resumes one
        os.write(write, json.dumps([new_ids(), random_bits(62)]).encode() + b"\\n")
        os._exit(0)
    os.wait()
os.close(write)
with os.fdopen(read) as lines:
    print(json.dumps([json.loads(line) for line in lines]))
"""


def test_environments_resumed_from_one_snapshot_mint_ids_of_their_own() -> None:
    # Lambda SnapStart resumes every new execution environment from one snapshot of
    # the initialised process: ids minted ahead, and the random generator's state,
    # would be the same in each, and their visitors would share ids.
    output = subprocess.run(
        [sys.executable, "-c", SNAPSHOT], capture_output=True, text=True, check=True
    ).stdout
    (first_ids, first_bits), (second_ids, second_bits) = json.loads(output)
    assert first_ids != second_ids
    assert first_bits != second_bits
