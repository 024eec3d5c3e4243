"""The Flask shop example (``examples/flask_shop``, code in ``convsdk._demo_shop``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

import convsdk
from convsdk import Event, load_goals
from convsdk._demo_shop import GOALS, VARIANT_COOKIE
from convsdk.backends.memory import MemoryBackend
from convsdk.goals import resolve_goals
from convsdk.tracker import set_default
from trackers import default_tracker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_shop"
CARD = "4242 4242 4242 4242"
EMAIL = "ada@example.com"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def _load_example() -> ModuleType:
    # Both examples are called app.py: load each under its own module name.
    spec = importlib.util.spec_from_file_location("flask_shop_example", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return _load_example()


@pytest.fixture
def shop_tracker(memory: MemoryBackend, example: ModuleType) -> Iterator[convsdk.Tracker]:
    """The tracker the example builds (its goals.toml), on memory, made the default."""
    with default_tracker(
        memory, goals=example.GOALS_FILE, secret_key="test-secret", flush_interval=0.05
    ) as tracker:
        yield tracker


@pytest.fixture
def app(example: ModuleType, shop_tracker: convsdk.Tracker) -> Flask:
    app: Flask = example.create_app(shop_tracker)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return _browser(app)


def _browser(app: Flask, user_agent: str = BROWSER, **headers: str) -> FlaskClient:
    """A test client that sends a browser's headers with every request."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    for name, value in headers.items():
        client.environ_base[f"HTTP_{name.upper()}"] = value
    return client


def _events(tracker: convsdk.Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(timeout=5.0)
    return memory.events


def _goals(events: list[Event]) -> list[str | None]:
    return [e.goal for e in events]


def _buy(client: FlaskClient, sku: str = "club-fortnightly", card: str = CARD) -> str:
    """Add ``sku`` to the cart and pay; return the URL the browser ends on."""
    client.post("/cart", data={"sku": sku, "qty": "2"})
    client.get("/checkout")
    response = client.post(
        "/checkout",
        data={
            "total": "84.00",
            "email": EMAIL,
            "card_number": card,
            "expiry": "12/29",
            "cvc": "123",
        },
    )
    return response.headers.get("Location", "")


def test_goal_file_is_the_shop_goals(example: ModuleType) -> None:
    # The example's goals.toml and the packaged shop's goals must not drift apart.
    assert load_goals(example.GOALS_FILE) == resolve_goals(GOALS)


def test_a_purchase_journey_records_each_goal_once(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.get("/blog/pour-over-basics?utm_source=newsletter&utm_medium=email")
    client.get("/pricing")
    _buy(client)

    events = _events(shop_tracker, memory)
    assert _goals(events) == [
        "read_blog",
        "viewed_pricing",
        "added_to_cart",
        "started_checkout",
        "purchase",
    ]
    assert [e.kind for e in events] == ["micro"] * 4 + ["macro"]
    assert len({e.visitor_id for e in events}) == 1 and events[0].visitor_id
    assert len({e.session_id for e in events}) == 1
    assert events[0].context["utm"]["source"] == "newsletter"


def test_decorator_and_goal_make_one_purchase_with_the_views_details(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    location = _buy(client)

    order = parse_qs(urlsplit(location).query)["order"][0]
    purchases = [e for e in _events(shop_tracker, memory) if e.goal == "purchase"]
    assert len(purchases) == 1
    purchase = purchases[0]
    assert purchase.name == "checkout" and purchase.kind == "macro"
    # The view computed the total from the cart (2 x 42.00) and named the order.
    assert (purchase.value, purchase.currency) == (84.0, "USD")
    assert purchase.transaction_id == order
    assert purchase.properties["items"] == 2


def test_a_second_submit_of_the_paid_checkout_is_no_second_purchase(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    _buy(client)
    again = client.post("/checkout", data={"total": "84.00", "email": EMAIL, "card_number": CARD})
    assert again.status_code == 409  # the cart is empty now: nothing was ordered
    purchases = [e for e in _events(shop_tracker, memory) if e.goal == "purchase"]
    assert len(purchases) == 1 and purchases[0].value == 84.0


def test_card_number_and_email_are_never_stored(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.post("/newsletter", data={"email": EMAIL, "next": "/"})
    _buy(client, card="4242-4242-4242-4242")
    _buy(client)

    stored = json.dumps([e.to_dict() for e in _events(shop_tracker, memory)])
    # (Whole numbers only: four digits could turn up inside a random event id.)
    assert "4242-4242" not in stored and "4242424242424242" not in stored
    assert EMAIL not in stored
    assert "card_number" not in stored and "cvc" not in stored


def test_a_failed_payment_is_not_a_purchase(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.post("/cart", data={"sku": "grinder-c2"})
    response = client.post(
        "/checkout", data={"total": "149.00", "email": EMAIL, "card_number": "4242"}
    )

    assert response.status_code == 422
    checkout = _events(shop_tracker, memory)[-1]
    assert checkout.name == "checkout" and checkout.context["status"] == 422
    assert checkout.goal is None and checkout.kind is None


def test_newsletter_is_a_secondary_micro_and_a_demo_booking_a_macro(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.post("/newsletter", data={"email": EMAIL, "next": "/blog/dialing-in"})
    client.post("/demo-request", data={"company": "Acme", "team_size": "25", "email": EMAIL})

    events = {e.goal: e for e in _events(shop_tracker, memory) if e.goal}
    assert events["newsletter"].kind == "micro"
    assert shop_tracker.goals.get("newsletter").role == "secondary"  # type: ignore[union-attr]
    demo = events["demo_booked"]
    assert (demo.kind, demo.value, demo.currency) == ("macro", 250.0, "USD")
    assert demo.properties == {"team_size": 25}


def test_newsletter_redirects_only_within_the_site(client: FlaskClient) -> None:
    response = client.post("/newsletter", data={"email": EMAIL, "next": "//evil.example/"})

    assert response.headers["Location"] == "/"


def test_the_pricing_variant_is_picked_once_and_on_every_event(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.get("/")
    cookie = client.get_cookie(VARIANT_COOKIE)
    assert cookie is not None and cookie.value in ("A", "B")
    client.get("/pricing")
    client.get("/product/kettle-g1")

    assert client.get_cookie(VARIANT_COOKIE).value == cookie.value  # type: ignore[union-attr]
    # The first request, which picked the variant, carries it too.
    assert [e.context.get("variant") for e in _events(shop_tracker, memory)] == [cookie.value] * 3


def test_the_variants_pages_differ(app: Flask) -> None:
    pages = {}
    for variant in ("A", "B"):
        client = _browser(app)
        client.set_cookie(VARIANT_COOKIE, variant)
        pages[variant] = client.get("/pricing").get_data(as_text=True)

    assert "Most popular" in pages["B"] and "Most popular" not in pages["A"]


def test_crawlers_are_not_counted_and_dnt_visitors_are_anonymous(
    app: Flask, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    bot = _browser(app, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    bot.get("/")
    bot.get("/pricing")
    private = _browser(app, DNT="1")
    private.get("/pricing")
    _buy(private)

    events = _events(shop_tracker, memory)
    assert _goals(events) == ["viewed_pricing", "added_to_cart", "started_checkout", "purchase"]
    assert all(e.visitor_id is None and e.session_id is None for e in events)
    assert events[-1].value == 84.0
    assert private.get_cookie("cv_vid") is None


def test_unknown_pages_and_health_checks_record_no_conversion(
    client: FlaskClient, shop_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    assert client.get("/blog/no-such-post").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.post("/cart", data={"sku": "nothing"}).status_code == 400

    events = _events(shop_tracker, memory)
    assert [e.goal for e in events] == [None]  # the rejected add-to-cart form
    assert events[0].context["status"] == 400


def test_create_app_without_a_tracker_builds_one_from_the_environment(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVSDK_BACKEND", "memory://")
    monkeypatch.setenv("CONVSDK_SECRET_KEY", "from-env")
    previous = set_default(None)
    try:
        app = example.create_app()
        tracker = convsdk.get_tracker()
        _browser(app).get("/pricing")
        assert tracker.flush(timeout=5.0)
        backend = tracker.backend
        assert isinstance(backend, MemoryBackend)
        assert [e.goal for e in backend.events] == ["viewed_pricing"]
    finally:
        convsdk.close()
        set_default(previous)
