"""The decorators in Flask (sync and async) and FastAPI, without any middleware."""

from __future__ import annotations

import inspect

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.testclient import TestClient
from flask import Flask, redirect

from convsdk import Tracker, annotate, track_macro, track_micro
from convsdk.backends.memory import MemoryBackend


def stored(tracker: Tracker, memory: MemoryBackend) -> list:
    assert tracker.flush(timeout=5)
    return memory.events


def make_flask_app() -> Flask:
    app = Flask(__name__)

    @app.post("/checkout")
    @track_macro("purchase", currency="EUR")
    def checkout():  # type: ignore[no-untyped-def]
        annotate(value=49.9, transaction_id="order-1", properties={"items": 3})
        return redirect("/thanks")

    @app.post("/newsletter")
    @track_micro("newsletter", properties={"list": "weekly"})
    async def newsletter():  # type: ignore[no-untyped-def]
        annotate(properties={"source": "footer"})
        return "ok"

    @app.post("/broken")
    @track_macro("purchase")
    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("payment service down")

    @app.post("/declined")
    @track_macro("purchase")
    def declined():  # type: ignore[no-untyped-def]
        return "card declined", 402

    @app.get("/pricing")
    @track_micro("viewed_pricing", value=lambda result: 1.0)
    def pricing():  # type: ignore[no-untyped-def]
        return "pricing"

    return app


def test_flask_sync_view_records_a_macro_conversion_with_annotate(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = make_flask_app().test_client()
    response = client.post(
        "/checkout", headers={"Referer": "https://google.com/", "User-Agent": "Mozilla/5.0"}
    )
    assert response.status_code == 302
    [event] = stored(tracker, memory)
    assert (event.name, event.kind, event.goal) == ("purchase", "macro", "purchase")
    assert (event.value, event.currency, event.transaction_id) == (49.9, "EUR", "order-1")
    assert event.properties == {"items": 3}
    assert event.context["path"] == "/checkout"
    assert event.context["method"] == "POST"
    assert event.context["referrer"] == "https://google.com/"


def test_flask_async_view_records_a_micro_conversion(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    client = make_flask_app().test_client()
    assert client.post("/newsletter").status_code == 200
    [event] = stored(tracker, memory)
    assert (event.name, event.kind) == ("newsletter", "micro")
    assert event.properties == {"list": "weekly", "source": "footer"}


def test_flask_raising_and_4xx_views_record_nothing(
    tracker: Tracker, memory: MemoryBackend
) -> None:
    app = make_flask_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    assert client.post("/broken").status_code == 500
    assert client.post("/declined").status_code == 402
    assert stored(tracker, memory) == []


def test_value_callable_of_the_result(tracker: Tracker, memory: MemoryBackend) -> None:
    make_flask_app().test_client().get("/pricing")
    [event] = stored(tracker, memory)
    assert event.value == 1.0 and event.currency == "USD"


def test_flask_endpoint_names_are_preserved() -> None:
    app = make_flask_app()
    assert {"checkout", "newsletter", "broken", "declined", "pricing"} <= set(app.view_functions)


def test_decorators_work_before_init_and_record_nothing_without_a_tracker(
    memory: MemoryBackend,
) -> None:
    from convsdk.tracker import set_default

    previous = set_default(None)
    try:
        client = make_flask_app().test_client()
        assert client.post("/checkout").status_code == 302
    finally:
        set_default(previous)


def current_user() -> str:
    return "user-7"


def make_fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/signup")
    @track_macro("paid_signup", value=lambda result: result["plan_price"])
    async def signup(plan: str, user: str = Depends(current_user)) -> dict:
        annotate(user_id=user, properties={"plan": plan})
        return {"plan_price": 29.0, "user": user}

    @app.get("/pricing")
    @track_micro("viewed_pricing")
    def pricing(request: Request) -> dict:
        return {"ok": True}

    @app.post("/fail")
    @track_macro("paid_signup")
    async def fail() -> dict:
        raise HTTPException(status_code=409, detail="exists")

    return app


def test_fastapi_async_view_with_depends(tracker: Tracker, memory: MemoryBackend) -> None:
    client = TestClient(make_fastapi_app())
    response = client.post("/signup", params={"plan": "pro"})
    assert response.status_code == 200
    assert response.json() == {"plan_price": 29.0, "user": "user-7"}
    [event] = stored(tracker, memory)
    assert (event.goal, event.kind, event.value) == ("paid_signup", "macro", 29.0)
    assert event.user_id == "user-7"
    assert event.properties == {"plan": "pro"}


def test_fastapi_sync_view_picks_up_the_request(tracker: Tracker, memory: MemoryBackend) -> None:
    client = TestClient(make_fastapi_app())
    client.get("/pricing?utm_source=x", headers={"User-Agent": "Mozilla/5.0 test"})
    [event] = stored(tracker, memory)
    assert event.goal == "viewed_pricing"
    assert event.context["path"] == "/pricing"
    assert event.context["user_agent"] == "Mozilla/5.0 test"


def test_fastapi_http_exception_records_nothing(tracker: Tracker, memory: MemoryBackend) -> None:
    client = TestClient(make_fastapi_app())
    assert client.post("/fail").status_code == 409
    assert stored(tracker, memory) == []


def test_signature_and_coroutine_nature_are_preserved() -> None:
    async def view(a: int, b: str = "x") -> None: ...

    def sync_view(a: int) -> None: ...

    wrapped = track_micro("g")(view)
    assert inspect.iscoroutinefunction(wrapped)
    assert str(inspect.signature(wrapped)) == str(inspect.signature(view))
    assert wrapped.__name__ == "view"
    assert not inspect.iscoroutinefunction(track_macro("g")(sync_view))


def test_bare_decorator_uses_the_view_name(tracker: Tracker, memory: MemoryBackend) -> None:
    @track_micro
    def downloaded_whitepaper() -> str:
        return "ok"

    assert downloaded_whitepaper() == "ok"
    [event] = stored(tracker, memory)
    assert event.goal == "downloaded_whitepaper"


def test_outside_a_request_it_still_records(tracker: Tracker, memory: MemoryBackend) -> None:
    @track_macro("renewal", value=99)
    def renew() -> str:
        return "done"

    renew()
    [event] = stored(tracker, memory)
    assert event.context == {} and event.value == 99


def test_invalid_goal_name_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match="goal"):
        track_macro("not a name")


def test_a_bad_annotation_never_breaks_the_view(
    tracker: Tracker, memory: MemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    @track_macro("purchase")
    def view() -> str:
        annotate(value="not a number")
        return "ok"

    assert view() == "ok"
    assert stored(tracker, memory) == []
    assert "could not record" in caplog.text


def test_a_goal_name_marketers_write_fails_when_the_view_is_defined() -> None:
    from convsdk import ConfigError, track_macro

    with pytest.raises(ConfigError, match="did you mean 'signed_up'") as caught:

        @track_macro("Signed Up")
        def signup() -> str:
            return "ok"

    assert caught.value.field == "goal"
