"""FastAPI: the ASGI middleware with decorated views, dependencies and forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from convsdk import Event, Goal, Tracker, annotate, track_macro, track_micro
from convsdk.backends.memory import MemoryBackend
from convsdk.context import RequestContext
from convsdk.integrations.fastapi import ConversionMiddleware, RequestContextDep
from convsdk.tracker import set_default

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
    Goal.micro("trial_started", event="form_submit", path="/trial"),
    Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total"),
]


class Order(BaseModel):
    plan: str
    total: float


def current_user(token: str = "") -> str:
    if token != "ok":
        raise HTTPException(status_code=401, detail="sign in first")
    return "user-1"


def make_app(tracker: Tracker | None, *, tracked: bool = True) -> FastAPI:
    app = FastAPI()
    if tracked:
        app.add_middleware(ConversionMiddleware, tracker=tracker)

    @app.get("/pricing", response_class=HTMLResponse)
    async def pricing(ctx: RequestContextDep) -> str:
        return f"<h1>Pricing</h1><p>{ctx.visitor_id if ctx else ''}</p>"

    @app.post("/trial")
    @track_micro("trial_started")
    async def trial(email: Annotated[str, Form()]) -> RedirectResponse:
        annotate(user_id="user-1", properties={"source": "pricing"})
        return RedirectResponse("/welcome", status_code=303)

    @app.post("/checkout")
    @track_macro("purchase", currency="EUR")
    def checkout(total: Annotated[str, Form()]) -> RedirectResponse:  # runs in the thread pool
        annotate(value=float(total) * 2, transaction_id="order-1")
        return RedirectResponse("/thanks", status_code=303)

    @app.post("/api/orders")
    @track_macro("api_order", value=lambda order: order["total"])
    async def api_order(
        order: Order, user: Annotated[str, Depends(current_user)]
    ) -> dict[str, Any]:
        return {"plan": order.plan, "total": order.total, "user": user}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for i in range(30):
                yield f"<li>{i}</li>".encode()

        return StreamingResponse(chunks(), media_type="text/html")

    return app


@pytest.fixture
def shop_tracker(memory: MemoryBackend) -> Iterator[Tracker]:
    tracker = Tracker(backend=memory, spool_dir=None, secret_key="s3cret", goals=GOALS)
    previous = set_default(tracker)
    try:
        yield tracker
    finally:
        set_default(previous)
        tracker.close()


def stored(tracker: Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(5)
    return memory.events


def test_page_views_form_submits_and_checkouts(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(make_app(shop_tracker), headers={"User-Agent": CHROME}) as client:
        page = client.get("/pricing")
        trial = client.post("/trial", data={"email": "a@example.com"}, follow_redirects=False)
        checkout = client.post("/checkout", data={"total": "10.5"}, follow_redirects=False)
    assert page.status_code == 200 and trial.status_code == checkout.status_code == 303
    viewed, started, purchase = stored(shop_tracker, memory)
    assert (viewed.name, viewed.goal) == ("page_view", "viewed_pricing")
    assert viewed.visitor_id and viewed.visitor_id in page.text  # the dependency saw it
    # Decorator + goal on the same request: one event, the decorator's details win.
    assert (started.name, started.kind, started.goal) == ("form_submit", "micro", "trial_started")
    assert (started.user_id, started.properties) == ("user-1", {"source": "pricing"})
    assert (purchase.name, purchase.kind, purchase.goal) == ("checkout", "macro", "purchase")
    assert (purchase.value, purchase.currency, purchase.transaction_id) == (21.0, "EUR", "order-1")
    assert {e.visitor_id for e in (viewed, started, purchase)} == {viewed.visitor_id}


def test_json_views_record_their_conversion_with_the_final_status(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(make_app(shop_tracker)) as client:
        response = client.post("/api/orders?token=ok", json={"plan": "pro", "total": 49})
        assert response.json() == {"plan": "pro", "total": 49.0, "user": "user-1"}
    [event] = stored(shop_tracker, memory)
    assert (event.name, event.kind, event.value) == ("api_order", "macro", 49.0)
    assert event.context["status"] == 200
    assert event.context["url"].endswith("/api/orders?token=[redacted]")


def test_http_exceptions_and_validation_errors_record_no_conversion(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(make_app(shop_tracker)) as client:
        assert client.post("/api/orders", json={"plan": "pro", "total": 1}).status_code == 401
        assert client.post("/api/orders?token=ok", json={"plan": "pro"}).status_code == 422
        assert client.post("/trial", data={}).status_code == 422
    assert stored(shop_tracker, memory) == []


def test_streaming_is_byte_for_byte(shop_tracker: Tracker, memory: MemoryBackend) -> None:
    with TestClient(make_app(None, tracked=False)) as bare:
        expected = bare.get("/stream").content
    with TestClient(make_app(shop_tracker)) as client:
        with client.stream("GET", "/stream") as response:
            assert b"".join(response.iter_raw()) == expected
    assert [e.name for e in stored(shop_tracker, memory)] == ["page_view"]


def test_without_the_middleware_the_dependency_reads_the_request(shop_tracker: Tracker) -> None:
    seen: list[RequestContext | None] = []
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: RequestContextDep) -> dict[str, str]:
        seen.append(ctx)
        return {}

    with TestClient(app, headers={"User-Agent": CHROME}) as client:
        client.get("/me?utm_source=ads")
    [ctx] = seen
    assert ctx is not None and not ctx.deferred
    assert ctx.path == "/me" and ctx.utm is not None and ctx.utm["source"] == "ads"
    assert ctx.visitor_id is None  # no cookie, and nothing can be issued without a response
