"""The browser script in headless Chromium against a Flask site served on a real socket.

Needs Chromium and ChromeDriver (Debian's ``chromium`` and ``chromium-driver``; other
places through ``CONVSDK_CHROMIUM`` / ``CONVSDK_CHROMEDRIVER``) and selenium. Skipped
without them, unless ``CONVSDK_REQUIRE_SERVICES=1``: then it fails.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask, render_template_string, request
from werkzeug.serving import make_server

from convsdk import Event, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.beacon import BeaconEndpoint
from convsdk.integrations.browser import register_flask_template_helper
from convsdk.integrations.wsgi import ConversionMiddleware

# Headless Chromium says "HeadlessChrome", which convsdk rightly takes for a bot.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
BROWSER_EVENTS = ["scroll_depth", "compare_plans", "video_played", "time_on_page"]
PAGE = """<!doctype html>
<html><head><title>Pricing</title>
<script>
  window.convsdk = window.convsdk || function () { (convsdk.q = convsdk.q || []).push(arguments) };
  convsdk('video_played', {video: 'intro'});
</script>
{{ convsdk_script(time=time) }}
</head>
<body>
  <button id="compare" data-convsdk-click="compare_plans"
          data-convsdk-props='{"plan": "pro"}'>Compare plans</button>
  <div style="height: 5000px">Plans</div>
  <p id="end">The end</p>
</body></html>
"""


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CONVSDK_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


class NotifyingBackend(MemoryBackend):
    """A memory backend the test can wait on: each write wakes the waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.written = threading.Condition()

    def write(self, events: Sequence[Event]) -> None:
        super().write(events)
        with self.written:
            self.written.notify_all()

    def wait_for(self, done: Callable[[list[Event]], bool], timeout: float) -> list[Event]:
        with self.written:
            self.written.wait_for(lambda: done(self.events), timeout)
        return self.events


@pytest.fixture
def store() -> NotifyingBackend:
    return NotifyingBackend()


@pytest.fixture
def site(store: NotifyingBackend) -> Iterator[tuple[str, Tracker]]:
    """The Flask site on 127.0.0.1, served by werkzeug in a thread: (base URL, tracker)."""
    tracker = Tracker(backend=store, spool_dir=None, secret_key="e2e", flush_interval=0.05)
    app = Flask(__name__)

    @app.get("/pricing")
    def pricing() -> str:
        # ?time=1: time_on_page after one visible second; else none.
        thresholds = [int(request.args["time"])] if "time" in request.args else False
        return render_template_string(PAGE, time=thresholds)

    @app.get("/thanks")
    def thanks() -> str:
        return "<!doctype html><title>Thanks</title><p>Thanks</p>"

    try:
        middleware = ConversionMiddleware(
            app.wsgi_app, tracker=tracker, browser_events=BROWSER_EVENTS
        )
        endpoint = middleware.beacon
    except TypeError:
        # A middleware that does not route the collect endpoint: route it in front.
        middleware = ConversionMiddleware(app.wsgi_app, tracker=tracker)
        endpoint = BeaconEndpoint(
            tracker, recorder=middleware.recorder, browser_events=BROWSER_EVENTS
        )
        app.wsgi_app = endpoint.wrap_wsgi(middleware)  # type: ignore[method-assign]
    else:
        app.wsgi_app = middleware  # type: ignore[method-assign]
    register_flask_template_helper(app, endpoint)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", tracker
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        tracker.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
    except ImportError:
        unavailable("selenium is not installed")
    chromium = os.environ.get("CONVSDK_CHROMIUM") or shutil.which("chromium")
    chromedriver = os.environ.get("CONVSDK_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not chromedriver or not os.access(chromedriver, os.X_OK):
        # Never let selenium look for a driver itself: it would try to download one.
        unavailable(
            "Chromium and ChromeDriver are not installed (Debian: chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--user-agent={USER_AGENT}",
    ):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(
            options=options, service=webdriver.ChromeService(executable_path=chromedriver)
        )
    except WebDriverException as exc:
        unavailable(f"Chromium did not start: {exc.msg}")
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()


def test_scroll_click_and_custom_events_reach_the_store_with_the_page_view_visitor(
    site: tuple[str, Tracker], browser: Any, store: NotifyingBackend
) -> None:
    base, tracker = site
    browser.get(f"{base}/pricing")
    assert browser.execute_script("return typeof window.convsdk") == "function"
    # Resolves once the page has handled the scroll event (the script's listener runs
    # first: it was added first).
    browser.execute_async_script(
        """
        var done = arguments[arguments.length - 1];
        window.addEventListener('scroll', function () { setTimeout(done, 0); }, {once: true});
        window.scrollTo(0, document.documentElement.scrollHeight);
        """
    )
    browser.find_element("id", "end")  # still on the page
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element("id", "compare").click()
    browser.execute_script("convsdk('video_played', {video: 'demo'})")
    browser.get(f"{base}/thanks")  # pagehide: the queue goes out with sendBeacon

    def arrived(events: list[Event]) -> bool:
        names = [e.name for e in events]
        return (
            names.count("scroll_depth") == 4
            and "compare_plans" in names
            and names.count("video_played") == 2
        )

    events = store.wait_for(arrived, timeout=15)
    assert arrived(events), [e.name for e in events]
    assert tracker.flush(5)
    page_view = next(e for e in events if e.name == "page_view" and e.context["path"] == "/pricing")
    from_browser = [e for e in events if e.context.get("source") == "browser"]
    assert sorted(e.properties["depth"] for e in from_browser if e.name == "scroll_depth") == [
        25,
        50,
        75,
        100,
    ]
    click = next(e for e in from_browser if e.name == "compare_plans")
    assert click.properties == {"plan": "pro"}
    # The call made before the script loaded (through the stub) and the one after.
    videos = [e.properties for e in from_browser if e.name == "video_played"]
    assert sorted(v["video"] for v in videos) == ["demo", "intro"]
    assert "time_on_page" not in {e.name for e in from_browser}  # data-time="off"
    for event in from_browser:
        assert event.kind == "micro"
        assert event.visitor_id == page_view.visitor_id is not None
        assert event.session_id == page_view.session_id is not None
        assert event.context["path"] == "/pricing"
        assert event.context["url"] == f"{base}/pricing"


def test_time_on_page_counts_visible_seconds(
    site: tuple[str, Tracker], browser: Any, store: NotifyingBackend
) -> None:
    base, _ = site
    browser.get(f"{base}/pricing?time=1")
    page_view = store.wait_for(lambda events: any(e.name == "page_view" for e in events), 10)[0]

    def timed(events: list[Event]) -> bool:
        return any(e.name == "time_on_page" for e in events)

    # Ask the page to send what it has until the event shows up (or 15 s pass).
    deadline = time.monotonic() + 15
    events = store.events
    while not timed(events) and time.monotonic() < deadline:
        browser.execute_script("convsdk.flush()")
        events = store.wait_for(timed, timeout=0.25)
    (event,) = [e for e in events if e.name == "time_on_page"]
    assert event.properties == {"seconds": 1}
    assert event.visitor_id == page_view.visitor_id is not None
    assert "scroll_depth" not in {e.name for e in events}  # the page never scrolled
