"""The forwarding feature end to end: a Flask shop served on 127.0.0.1, tracked into
SQLite and forwarded to GA4 and Meta (their stand-ins), through a visitor's whole
journey: an ad click, browsing, a login with identify(), a purchase.

What a shop owner relies on: the purchase reaches each platform once, as the row
stored, with the click id and the hashed email the platform matches on; nothing raw
leaves or is kept; page views stay home; an opted-out visitor is counted and never
forwarded; a platform that fails or hangs delays and loses nothing, and what it
missed is replayed to it, once, by the next process.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
flask = pytest.importorskip("flask")

from werkzeug.serving import make_server  # noqa: E402

import convsdk  # noqa: E402
from convsdk import Event, Tracker, annotate, track_macro  # noqa: E402
from convsdk.backends.sqlite.reader import read_events  # noqa: E402
from convsdk.integrations.flask import ConvSDK  # noqa: E402

from .standin import Answer, Request, StandIn, refuse, serving  # noqa: E402
from .test_ga4 import MID, SECRET, check_ga4  # noqa: E402
from .test_meta import PIXEL, TOKEN, check_meta  # noqa: E402

EMAIL = "Jane.Doe@Example.com "
RAW = b"jane.doe@example.com"
EM = hashlib.sha256(RAW).hexdigest()
GCLID = "Cj0KCQiA-journey"
FBCLID = "IwAR2journey"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


def no_raw_email(check: Any) -> Any:
    """The service's check, refusing any request that holds the raw email."""

    def checked(request: Request) -> Answer:
        if RAW in request.raw.lower():
            return refuse("a raw email in the request")
        answer: Answer = check(request)
        return answer

    return checked


def shop() -> flask.Flask:
    """A shop: pages, a login that identifies the customer, a checkout that converts."""
    app = flask.Flask("shop")

    @app.get("/")
    def home() -> str:
        return "<html>Bean & Burr</html>"

    @app.get("/beans")
    def beans() -> str:
        return "<html>Ethiopian beans, 250 g</html>"

    @app.post("/login")
    def login() -> str:
        convsdk.identify("user-7", traits={"email": EMAIL})
        return "welcome back"

    @app.post("/checkout")
    @track_macro("purchase")
    def checkout() -> str:
        annotate(value=49.5, currency="EUR", transaction_id=flask.request.form["order"])
        return "thank you"

    return app


@contextmanager
def served(app: flask.Flask, tracker: Tracker, **options: Any) -> Iterator[str]:
    """``app``, tracked by ``tracker`` (and the middleware's ``options``), served by a
    real server on a free port."""
    ConvSDK(app, tracker=tracker, **options)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="journey-shop", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def journey(base: str, order: str, headers: dict[str, str] | None = None) -> list[str]:
    """A visitor's journey: an ad click lands on the home page, browses, logs in and
    buys. Returns every ``Set-Cookie`` the shop sent."""
    cookies: list[str] = []
    with httpx.Client(base_url=base, headers={**BROWSER, **(headers or {})}) as browser:
        for method, path, form in (
            ("GET", f"/?gclid={GCLID}&fbclid={FBCLID}", None),
            ("GET", "/beans", None),
            ("POST", "/login", {"user": "jane"}),
            ("POST", "/checkout", {"order": order}),
        ):
            response = browser.request(method, path, data=form)
            assert response.status_code == 200, (path, response.text)
            cookies += response.headers.get_list("set-cookie")
    return cookies


def backends(path: Path, ga4: StandIn, meta: StandIn, meta_options: str = "") -> list[str]:
    return [
        f"sqlite:///{path / 'shop.db'}",
        f"ga4://{MID}?api_secret={SECRET}&endpoint={ga4.base}",
        f"meta://{PIXEL}?access_token={TOKEN}&endpoint={meta.base}{meta_options}",
    ]


def stored(path: Path) -> list[Event]:
    return list(read_events(f"sqlite:///{path / 'shop.db'}"))


def lanes(tracker: Tracker) -> dict[str, dict[str, int]]:
    """Each destination's counters, by scheme."""
    each = tracker.stats()["destinations"]
    return {name.split(":", 1)[0]: counters for name, counters in each.items()}


def meta_events(meta: StandIn) -> list[dict[str, Any]]:
    return [item for body in meta.bodies() for item in body["data"]]


def ga4_events(ga4: StandIn) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(body, event) for body in ga4.bodies() for event in body["events"]]


@pytest.fixture
def init(tmp_path: Path) -> Iterator[Any]:
    """``convsdk.init`` for the shop (the default tracker identify() uses), closed after."""

    def build(urls: list[str], **options: Any) -> Tracker:
        options.setdefault("spool_dir", str(tmp_path / "spool"))
        return convsdk.init(backend=urls, secret_key="k" * 32, **options)

    yield build
    convsdk.close()


def test_a_purchase_reaches_ga4_and_meta_as_stored_with_click_ids_and_hashed_email(
    tmp_path: Path, init: Any
) -> None:
    with (
        serving(StandIn(no_raw_email(check_ga4))) as ga4,
        serving(StandIn(no_raw_email(check_meta))) as meta,
    ):
        tracker = init(backends(tmp_path, ga4, meta))
        with served(shop(), tracker) as base:
            cookies = journey(base, order="T-1001")
        assert tracker.flush(timeout=10)
        counts = lanes(tracker)

    rows = stored(tmp_path)
    [purchase] = [e for e in rows if e.kind == "macro"]
    page_views = [e for e in rows if e.name == "page_view"]
    assert len(page_views) == 2 and "identify" in [e.name for e in rows]
    assert purchase.goal == "purchase" and purchase.transaction_id == "T-1001"
    assert purchase.user_id == "user-7" and purchase.visitor_id is not None
    clicks = purchase.context["click_ids"]
    assert (clicks["first"]["name"], clicks["first"]["id"]) == ("gclid", GCLID)
    assert (clicks["last"]["name"], clicks["last"]["id"]) == ("fbclid", FBCLID)
    assert purchase.context["traits"]["em"] == EM

    # Meta: the purchase only, under the stored event_id, with fbc and the hashed email.
    [item] = meta_events(meta)
    assert item["event_name"] == "Purchase" and item["event_id"] == purchase.event_id
    assert item["user_data"]["fbc"] == f"fb.1.{clicks['last']['at']}.{FBCLID}"
    assert re.fullmatch(rf"fb\.1\.\d{{13}}\.{FBCLID}", item["user_data"]["fbc"])
    assert item["user_data"]["em"] == [EM]
    assert item["custom_data"]["order_id"] == "T-1001"
    assert (item["custom_data"]["value"], item["custom_data"]["currency"]) == (49.5, "EUR")

    # GA4: a purchase with the order's id, value and currency, for the user. (GA4's
    # Measurement Protocol has no event id: it dedupes purchases by transaction_id.)
    [(body, event)] = ga4_events(ga4)
    assert body["user_id"] == "user-7"
    assert event["name"] == "purchase"
    assert event["timestamp_micros"] == int(purchase.timestamp.timestamp() * 1_000_000)
    params = event["params"]
    assert (params["transaction_id"], params["value"], params["currency"]) == (
        "T-1001",
        49.5,
        "EUR",
    )

    # Nothing raw anywhere: requests (the stand-ins refuse it), rows, cookies.
    assert counts["ga4"]["delivered"] == counts["meta"]["delivered"] == 1
    assert counts["ga4"]["dead_lettered"] == counts["meta"]["dead_lettered"] == 0
    assert counts["sqlite"]["delivered"] == len(rows)
    assert counts["ga4"]["filtered"] == counts["meta"]["filtered"] == len(rows) - 1
    assert not any(RAW in cookie.lower().encode() for cookie in cookies)
    assert any(cookie.startswith("cv_clk=") for cookie in cookies)
    assert any(cookie.startswith("cv_uid=") for cookie in cookies)
    with closing(sqlite3.connect(tmp_path / "shop.db")) as db:
        dump = "\n".join(db.iterdump()).lower()
    assert RAW.decode() not in dump and EM in dump


@pytest.mark.parametrize(
    ("headers", "options"),
    [
        ({"Sec-GPC": "1"}, {}),
        ({"DNT": "1"}, {}),
        ({}, {"consent": lambda request: False}),
    ],
    ids=["gpc", "dnt", "consent-refused"],
)
def test_an_opted_out_visitors_purchase_is_stored_anonymously_and_forwarded_nowhere(
    tmp_path: Path, init: Any, headers: dict[str, str], options: dict[str, Any]
) -> None:
    with (
        serving(StandIn(check_ga4)) as ga4,
        serving(StandIn(check_meta)) as meta,
    ):
        tracker = init(backends(tmp_path, ga4, meta))
        with served(shop(), tracker, **options) as base:
            cookies = journey(base, order="T-2002", headers=headers)
        assert tracker.flush(timeout=10)
        counts = lanes(tracker)

    rows = stored(tmp_path)
    [purchase] = [e for e in rows if e.kind == "macro"]
    assert purchase.transaction_id == "T-2002" and purchase.value == 49.5
    assert purchase.visitor_id is None and purchase.user_id is None
    assert purchase.context and "click_ids" not in purchase.context
    assert "traits" not in purchase.context and "identify" not in [e.name for e in rows]
    assert cookies == []
    assert ga4.requests == [] and meta.requests == []
    assert counts["ga4"]["delivered"] == counts["meta"]["delivered"] == 0
    assert counts["ga4"]["filtered"] == counts["meta"]["filtered"] == len(rows)


def failing(request: Request) -> Answer:
    return 500, {"error": {"message": "internal error", "code": 2}}, {}


def test_a_failing_destination_delays_no_other_and_the_next_process_replays_it_once(
    tmp_path: Path, init: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="convsdk")
    spool = str(tmp_path / "spool")
    with (
        serving(StandIn(check_ga4)) as ga4,
        serving(StandIn(failing)) as meta,
    ):
        tracker = init(backends(tmp_path, ga4, meta), max_retries=1, retry_max_delay=0.05)
        with served(shop(), tracker) as base:
            journey(base, order="T-3003")
        assert not tracker.flush(timeout=5)  # Meta keeps answering 500; the others are done
        counts = lanes(tracker)
        rows = stored(tmp_path)
        assert counts["sqlite"]["delivered"] == len(rows) >= 5
        assert counts["ga4"]["delivered"] == 1 and len(ga4_events(ga4)) == 1
        assert counts["meta"]["delivered"] == 0 and meta.requests
        # The warning names the destination as stats() does, its token hidden.
        failing_lane = next(name for name in tracker.stats()["destinations"] if "meta:" in name)
        warned = [r.getMessage() for r in caplog.records if "failing" in r.getMessage()]
        assert any(failing_lane in message for message in warned), warned
        assert not any(TOKEN in record.getMessage() for record in caplog.records)
        assert convsdk.close() is False  # what Meta missed went to its spool
        failed = len(meta.requests)

    [purchase] = [e for e in rows if e.kind == "macro"]
    with (
        serving(StandIn(check_ga4)) as ga4_back,
        serving(StandIn(check_meta)) as meta_back,
    ):
        urls = backends(tmp_path, ga4_back, meta_back)
        for _ in range(2):  # the second process has nothing left to replay
            with Tracker(backend=urls, spool_dir=spool, secret_key="k" * 32) as later:
                assert later.flush(timeout=10)
        [item] = meta_events(meta_back)
        assert item["event_id"] == purchase.event_id and item["event_name"] == "Purchase"
        assert ga4_back.requests == []  # GA4 had it already
    assert len(meta.requests) == failed
    assert len(stored(tmp_path)) == len(rows)  # the store had it: not written again


def test_a_hanging_destination_delays_neither_the_store_nor_the_other_destination(
    tmp_path: Path, init: Any
) -> None:
    release = threading.Event()
    with (
        serving(StandIn(check_ga4)) as ga4,
        serving(StandIn(check_meta, hold=release)) as meta,
    ):
        # Meta's client waits longer than the test: the held request is answered, not
        # abandoned and sent again.
        tracker = init(backends(tmp_path, ga4, meta, "&timeout=60"))
        with served(shop(), tracker) as base:
            journey(base, order="T-4004")
        assert meta.held.wait(10)  # Meta has the purchase and does not answer
        assert not tracker.flush(timeout=5)  # the store and GA4 are done, Meta still holds it
        counts = lanes(tracker)
        rows = stored(tmp_path)
        assert counts["sqlite"]["delivered"] == len(rows) >= 5
        assert counts["ga4"]["delivered"] == 1 and len(ga4_events(ga4)) == 1
        assert counts["meta"]["delivered"] == 0 and meta.requests == []

        release.set()
        assert tracker.flush(timeout=10)
        [purchase] = [e for e in rows if e.kind == "macro"]
        [item] = meta_events(meta)
        assert item["event_id"] == purchase.event_id
        assert lanes(tracker)["meta"]["delivered"] == 1
