"""A Falcon site, WSGI and ASGI, wrapped in convsdk's middleware and driven by Falcon's own
test client, as a Falcon user tests it.

Falcon's client sends an ASGI app its headers as an iterator of iterators (ASGI allows
any iterable), and runs the app's lifespan around each request: the app must still see
every header, and every request must be recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon
import falcon.asgi
import pytest
from falcon import testing

from convsdk import Goal, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations import asgi, wsgi
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.macro("purchase", event="checkout", path="/checkout", value_from="form:total"),
]
PAGE = "<h1>Pricing</h1>"


class Pricing:
    """An HTML page; it keeps the Authorization header it was sent."""

    def __init__(self) -> None:
        self.auth: list[str | None] = []

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.auth.append(req.auth)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE


class Checkout:
    """Takes the checkout form; it keeps the total it read."""

    def __init__(self) -> None:
        self.totals: list[str] = []

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.totals.append(req.get_media()["total"])
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "<h1>Thank you</h1>"


class AsyncPricing(Pricing):
    async def on_get(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        self.auth.append(req.auth)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = PAGE


class AsyncCheckout(Checkout):
    async def on_post(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        self.totals.append((await req.get_media())["total"])
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "<h1>Thank you</h1>"


@pytest.fixture
def shop(memory: MemoryBackend) -> Iterator[Tracker]:
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


def site(kind: str, tracker: Tracker) -> tuple[testing.TestClient, Pricing, Checkout]:
    """Falcon's test client on the site (``wsgi`` or ``asgi``) in convsdk's middleware."""
    if kind == "wsgi":
        pricing, checkout = Pricing(), Checkout()
        app: Any = falcon.App()
        middleware: Any = wsgi.ConversionMiddleware
    else:
        pricing, checkout = AsyncPricing(), AsyncCheckout()
        app = falcon.asgi.App()
        middleware = asgi.ConversionMiddleware
    app.add_route("/pricing", pricing)
    app.add_route("/checkout", checkout)
    headers = {"User-Agent": CHROME, "Authorization": "Bearer 123"}
    return testing.TestClient(middleware(app, tracker=tracker), headers=headers), pricing, checkout


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_every_request_is_recorded_and_the_app_sees_every_header(
    kind: str, shop: Tracker, memory: MemoryBackend
) -> None:
    client, pricing, checkout = site(kind, shop)
    first = client.simulate_get("/pricing")
    assert first.status_code == 200 and first.text == PAGE
    assert {cookie.name for cookie in first.cookies.values()} == {"cv_vid", "cv_sid"}
    cookie = "; ".join(f"{c.name}={c.value}" for c in first.cookies.values())
    again = client.simulate_get("/pricing", headers={"Cookie": cookie})
    bought = client.simulate_post(
        "/checkout",
        body="total=49.90&email=ada%40example.com",
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == bought.status_code == 200
    assert pricing.auth == ["Bearer 123", "Bearer 123"]  # the app read every header
    assert checkout.totals == ["49.90"]  # and the form convsdk read for the goal
    assert shop.flush(5)
    events = [(e.name, e.goal, e.value) for e in memory.events]
    assert events == [
        ("page_view", "viewed_pricing", None),
        ("page_view", "viewed_pricing", None),
        ("checkout", "purchase", 49.9),
    ]
    assert len({e.visitor_id for e in memory.events}) == 1  # one visitor throughout
    assert not shop.closed and shop.stats()["dropped"] == 0
