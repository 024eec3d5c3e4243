"""Click ids, Meta's and Google's cookies, and identify(), through real Flask and Starlette
apps: what the events carry, and what the visitor's cookies keep across requests."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

import convsdk
from convsdk import Event, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations.asgi import ConversionMiddleware as AsgiMiddleware
from convsdk.integrations.wsgi import ConversionMiddleware as WsgiMiddleware
from convsdk.runtime import set_default
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
EMAIL = "Ada.Lovelace@Example.com"
EMAIL_HASH = hashlib.sha256(b"ada.lovelace@example.com").hexdigest()
PHONE_HASH = hashlib.sha256(b"442079460958").hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def home() -> str:
        return "<h1>Home</h1>"

    @app.post("/login")
    def login() -> dict[str, bool]:
        convsdk.identify(request.form["user"], {"email": EMAIL, "phone": "(020) 7946-0958"})
        return {"ok": True}

    @app.post("/logout")
    def logout() -> dict[str, bool]:
        return {"forgot": convsdk.forget()}

    app.wsgi_app = WsgiMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


@pytest.fixture
def tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", phone_country_code="44") as tracker:
        yield tracker


def events(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


def set_cookies(response: Any) -> list[str]:
    return list(response.headers.getlist("Set-Cookie"))


def test_a_click_id_is_kept_first_and_last_across_requests(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    first = client.get("/?gclid=Cj0KCQ-abc_1&utm_source=google", headers={"User-Agent": CHROME})
    assert any(c.startswith("cv_clk=") for c in set_cookies(first))
    client.get("/", headers={"User-Agent": CHROME})
    client.get("/?fbclid=IwAR2xyz", headers={"User-Agent": CHROME})
    client.get("/", headers={"User-Agent": CHROME})
    landing, later, facebook, after = events(tracker, memory)
    first_click = landing.context["click_ids"]["first"]
    assert first_click["name"] == "gclid" and first_click["id"] == "Cj0KCQ-abc_1"
    assert isinstance(first_click["at"], int)
    assert landing.context["click_ids"]["last"] == first_click
    assert later.context["click_ids"] == landing.context["click_ids"]
    assert facebook.context["click_ids"]["first"] == first_click
    last_click = facebook.context["click_ids"]["last"]
    assert last_click["name"] == "fbclid" and last_click["id"] == "IwAR2xyz"
    assert after.context["click_ids"] == facebook.context["click_ids"]
    # Meta's documented format: fb.1.<ms timestamp of the click>.<fbclid>
    assert after.context["fbc"] == f"fb.1.{last_click['at']}.IwAR2xyz"
    assert "fbc" not in landing.context


def test_meta_and_google_cookies_go_into_the_context(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    client.set_cookie("_ga", "GA1.1.1234567890.1700000000")
    client.set_cookie("_fbp", "fb.1.1596403881668.1116446470")
    client.set_cookie("_fbc", "fb.1.1554763741205.AbCdEfGh")
    client.get("/?fbclid=IwAR-other", headers={"User-Agent": CHROME})
    (event,) = events(tracker, memory)
    assert event.context["ga_client_id"] == "1234567890.1700000000"
    assert event.context["fbp"] == "fb.1.1596403881668.1116446470"
    assert event.context["fbc"] == "fb.1.1554763741205.AbCdEfGh"  # the cookie wins


def test_a_tampered_or_oversized_click_cookie_is_ignored(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    client.get("/?gclid=real", headers={"User-Agent": CHROME})
    value = client.get_cookie("cv_clk")
    assert value is not None
    signed = value.value
    client.set_cookie("cv_clk", signed[:5] + ("A" if signed[5] != "A" else "B") + signed[6:])
    client.get("/", headers={"User-Agent": CHROME})
    client.set_cookie("cv_clk", "x" * 2000)
    client.get("/", headers={"User-Agent": CHROME})
    landing, tampered, oversized = events(tracker, memory)
    assert landing.context["click_ids"]["last"]["id"] == "real"
    assert "click_ids" not in tampered.context
    assert "click_ids" not in oversized.context
    assert tampered.visitor_id == landing.visitor_id  # the visitor is still known


def test_identify_links_the_visitor_and_later_requests(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    client.get("/", headers={"User-Agent": CHROME})
    login = client.post("/login", data={"user": "u-42"}, headers={"User-Agent": CHROME})
    assert any(c.startswith("cv_uid=") for c in set_cookies(login))
    client.get("/", headers={"User-Agent": CHROME})
    before, identify, submit, after = events(tracker, memory)
    assert before.user_id is None and "traits" not in before.context
    assert submit.name == "form_submit" and submit.user_id == "u-42"  # the same request
    assert identify.name == "identify" and identify.kind is None
    assert identify.user_id == "u-42" and identify.properties == {}
    assert identify.visitor_id == before.visitor_id
    assert identify.context["traits"] == {"em": EMAIL_HASH, "ph": PHONE_HASH}
    assert after.user_id == "u-42"
    assert after.context["traits"] == {"em": EMAIL_HASH, "ph": PHONE_HASH}
    assert after.visitor_id == before.visitor_id


def test_forget_at_logout_unlinks_the_visitor_and_removes_the_user_cookie(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    client.post("/login", data={"user": "u-42"}, headers={"User-Agent": CHROME})
    assert client.get_cookie("cv_uid") is not None
    logout = client.post("/logout", headers={"User-Agent": CHROME})
    assert logout.json == {"forgot": True}
    [removal] = [c for c in set_cookies(logout) if c.startswith("cv_uid=")]
    assert removal.startswith("cv_uid=;") and "Max-Age=0" in removal
    assert client.get_cookie("cv_uid") is None  # the browser dropped it
    client.get("/", headers={"User-Agent": CHROME})
    identify, login, after = events(tracker, memory)
    assert (identify.name, login.name, after.name) == ("identify", "form_submit", "page_view")
    assert login.user_id == "u-42" and "traits" in login.context
    assert after.user_id is None and "traits" not in after.context
    assert after.visitor_id == identify.visitor_id  # still the same browser


def test_forget_outside_a_request_does_nothing(tracker: Tracker, memory: MemoryBackend) -> None:
    assert convsdk.forget() is False
    assert events(tracker, memory) == []


def test_no_raw_email_or_phone_in_stored_rows_or_cookies(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    tracker = Tracker(
        backend=f"sqlite:///{db}", spool_dir=None, secret_key="s3cret", phone_country_code="44"
    )
    previous = set_default(tracker)
    try:
        client = Client(flask_app())
        login = client.post("/login", data={"user": "u-42"}, headers={"User-Agent": CHROME})
        client.get("/", headers={"User-Agent": CHROME})
        assert tracker.flush(5)
    finally:
        set_default(previous)
        tracker.close()
    headers = " ".join(set_cookies(login))
    with closing(sqlite3.connect(db)) as conn:
        rows = repr(conn.execute("SELECT * FROM convsdk_events").fetchall())
    assert "u-42" in rows and EMAIL_HASH in rows
    for text in (rows, headers, db.read_bytes().decode("latin-1")):
        # The phone's digits as a whole (four of them alone turn up in random ids).
        for raw in (EMAIL, EMAIL.lower(), "7946-0958", "79460958", "lovelace"):
            assert raw not in text.lower()


def test_visitors_under_gpc_get_no_click_ids_no_user_and_no_cookie(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = Client(flask_app())
    headers = {"User-Agent": CHROME, "Sec-GPC": "1"}
    page = client.get("/?gclid=abc", headers=headers)
    login = client.post("/login", data={"user": "u-42"}, headers=headers)
    assert set_cookies(page) == [] and set_cookies(login) == []
    recorded = events(tracker, memory)  # identify records nothing
    assert [e.name for e in recorded] == ["page_view", "form_submit"]
    for event in recorded:
        assert event.visitor_id is None and event.user_id is None
        assert "click_ids" not in event.context and "traits" not in event.context


def test_identify_outside_a_request_carries_the_user_id_only(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    event = convsdk.identify("u-7", {"email": EMAIL})
    assert event is not None
    (stored,) = events(tracker, memory)
    assert stored.name == "identify" and stored.user_id == "u-7"
    assert stored.visitor_id is None and stored.context == {}


def test_an_unknown_trait_is_refused_by_name(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="'mail'.*did you mean email"):
        tracker.identify("u-1", {"mail": EMAIL})


async def asgi_home(request: Request) -> HTMLResponse:
    return HTMLResponse("<h1>Home</h1>")


async def asgi_login(request: Request) -> HTMLResponse:
    form = await request.form()
    convsdk.identify(str(form["user"]), {"email": EMAIL})
    return HTMLResponse("<p>welcome</p>")


def test_starlette_keeps_click_ids_and_the_user_across_requests(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    app = Starlette(routes=[Route("/", asgi_home), Route("/login", asgi_login, methods=["POST"])])
    app.add_middleware(AsgiMiddleware)
    with TestClient(app, base_url="http://shop.test", headers={"User-Agent": CHROME}) as client:
        client.get("/?msclkid=ms-1")
        client.post("/login", data={"user": "u-9"})
        client.get("/")
    landing, identify, submit, after = events(tracker, memory)
    assert landing.context["click_ids"]["first"]["name"] == "msclkid"
    assert identify.name == "identify" and identify.user_id == "u-9"
    assert after.user_id == "u-9" and after.context["traits"] == {"em": EMAIL_HASH}
    assert after.context["click_ids"]["last"]["id"] == "ms-1"
    assert submit.name == "form_submit" and submit.user_id == "u-9"


def test_cookieless_mode_reads_click_ids_and_platform_cookies_but_keeps_nothing(
    memory: MemoryBackend,
) -> None:
    tracker = Tracker(backend=memory, spool_dir=None, secret_key=None)
    previous = set_default(tracker)
    try:
        client = Client(flask_app())
        client.set_cookie("_ga", "GA1.1.42.1700000000")
        landing = client.get("/?ttclid=tt-1", headers={"User-Agent": CHROME})
        client.get("/", headers={"User-Agent": CHROME})
        first, later = events(tracker, memory)
    finally:
        set_default(previous)
        tracker.close()
    assert set_cookies(landing) == []
    assert first.context["click_ids"]["first"]["id"] == "tt-1"
    assert first.context["ga_client_id"] == later.context["ga_client_id"] == "42.1700000000"
    assert "click_ids" not in later.context  # no cookie to keep it in
