"""FastAPI: the ASGI middleware with decorated views, dependencies and forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Form, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

import convsdk
from convsdk import Event, Goal, Tracker, annotate, track_macro, track_micro
from convsdk.backends.memory import MemoryBackend
from convsdk.context import RequestContext
from convsdk.integrations.fastapi import ConversionMiddleware, RequestContextDep
from trackers import default_tracker

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
BROWSER = {"User-Agent": CHROME}
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
    with default_tracker(memory, secret_key="s3cret", goals=GOALS) as tracker:
        yield tracker


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


# -- which requests convert: a form view --------------------------------------------


def register_app(tracker: Tracker, *, decorated: bool) -> FastAPI:
    """GET shows the form; a failed POST shows it again (200); success redirects (303)."""
    app = FastAPI()
    app.add_middleware(ConversionMiddleware, tracker=tracker)
    users: set[str] = set()

    @app.get("/register", response_class=HTMLResponse)
    async def register_form() -> str:
        return "<form method=post><input name=username></form>"

    async def register(username: Annotated[str, Form()] = "") -> Any:
        if not username or username in users:
            return HTMLResponse("<form method=post>pick another name</form>")
        users.add(username)
        return RedirectResponse("/login", status_code=303)

    view = track_macro("signup")(register) if decorated else register
    app.post("/register")(view)
    return app


def register_once(client: TestClient) -> None:
    assert client.get("/register").status_code == 200
    assert client.post("/register", data={"username": ""}).status_code == 200
    done = client.post("/register", data={"username": "ada"}, follow_redirects=False)
    assert done.status_code == 303


def test_a_decorated_form_view_records_one_signup_for_one_registration(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    with TestClient(register_app(shop_tracker, decorated=True), headers=BROWSER) as client:
        register_once(client)
    events = stored(shop_tracker, memory)
    assert [(e.name, e.context["status"]) for e in events if e.goal == "signup"] == [
        ("signup", 303)
    ]
    assert [(e.name, e.kind) for e in events] == [
        ("page_view", None),
        ("form_submit", None),
        ("form_submit", None),
        ("signup", "macro"),
    ]


def test_a_form_goal_with_status_3xx_records_one_signup_for_one_registration(
    memory: MemoryBackend,
) -> None:
    goals = [Goal.macro("signup", event="form_submit", path="/register", status="3xx")]
    with Tracker(backend=memory, spool_dir=None, secret_key="s3cret", goals=goals) as tracker:
        with TestClient(register_app(tracker, decorated=False), headers=BROWSER) as client:
            register_once(client)
        events = stored(tracker, memory)
    assert [(e.name, e.kind, e.context["status"]) for e in events] == [
        ("page_view", None, 200),
        ("form_submit", None, 200),
        ("form_submit", "macro", 303),
    ]


def test_a_starlette_route_with_get_and_post_converts_on_the_redirecting_post(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.routing import Route

    @track_macro("signup")
    async def register(request: Request) -> Any:
        if request.method == "POST":
            form = await request.form()
            if form.get("username"):
                return RedirectResponse("/login", status_code=303)
        return HTMLResponse("<form method=post></form>")

    app = Starlette(
        routes=[Route("/register", register, methods=["GET", "POST"])],
        middleware=[Middleware(ConversionMiddleware, tracker=shop_tracker)],
    )
    with TestClient(app, headers=BROWSER) as client:
        register_once(client)
    events = stored(shop_tracker, memory)
    assert [(e.name, e.context["status"]) for e in events if e.kind] == [("signup", 303)]


def test_a_form_sent_again_to_the_trailing_slash_counts_once(
    shop_tracker: Tracker, memory: MemoryBackend
) -> None:
    """Starlette answers a route's missing trailing slash with 307 (redirect_slashes):
    the client sends the form again, and only the request that reaches the view counts."""
    app = FastAPI()
    app.add_middleware(ConversionMiddleware, tracker=shop_tracker)

    @app.post("/checkout/confirm/", response_class=HTMLResponse)
    async def confirm(total: Annotated[str, Form()]) -> str:
        return f"<p>total {total}</p>"

    with TestClient(app, headers=BROWSER) as client:
        response = client.post("/checkout/confirm", data={"total": "12.50"})
    assert (response.status_code, response.text) == (200, "<p>total 12.50</p>")
    assert [r.status_code for r in response.history] == [307]
    events = stored(shop_tracker, memory)
    assert [(e.context["status"], e.goal, e.value) for e in events] == [
        (307, None, None),
        (200, "purchase", 12.5),
    ]


@pytest.mark.parametrize("middleware", [True, False])
def test_cancel_conversion_in_async_and_sync_views(
    shop_tracker: Tracker, memory: MemoryBackend, middleware: bool
) -> None:
    app = FastAPI()
    if middleware:
        app.add_middleware(ConversionMiddleware, tracker=shop_tracker)

    @app.post("/api/async")
    @track_micro("async_goal")
    async def async_view(ok: bool = True) -> dict[str, bool]:
        if not ok:
            convsdk.cancel_conversion()
        return {"ok": ok}

    @app.post("/api/sync")
    @track_micro("sync_goal")
    def sync_view(ok: bool = True) -> dict[str, bool]:  # runs in the thread pool
        if not ok:
            convsdk.cancel_conversion()
        return {"ok": ok}

    with TestClient(app, headers=BROWSER) as client:
        for path in ("/api/async", "/api/sync"):
            client.post(path, params={"ok": "false"})
            client.post(path, params={"ok": "true"})
    assert [e.goal for e in stored(shop_tracker, memory)] == ["async_goal", "sync_goal"]
