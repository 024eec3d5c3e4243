"""The FastAPI SaaS example (``examples/fastapi_saas``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import convsdk
from convsdk import Event, load_goals
from convsdk.backends.memory import MemoryBackend
from trackers import default_tracker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_saas"
EMAIL = "grace@example.com"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"


def _load_example() -> ModuleType:
    # Both examples are called app.py: load each under its own module name.
    spec = importlib.util.spec_from_file_location("fastapi_saas_example", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return _load_example()


@pytest.fixture
def saas_tracker(memory: MemoryBackend, example: ModuleType) -> Iterator[convsdk.Tracker]:
    """The tracker the example builds (its goals.toml), on memory, made the default."""
    with default_tracker(
        memory, goals=example.GOALS_FILE, secret_key="test-secret", flush_interval=0.05
    ) as tracker:
        yield tracker


@pytest.fixture
def app(example: ModuleType, saas_tracker: convsdk.Tracker) -> FastAPI:
    app: FastAPI = example.create_app(saas_tracker)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # Lower-case "user-agent": TestClient adds its own unless that exact key is given.
    with TestClient(app, headers={"user-agent": BROWSER}) as client:
        yield client


def _events(tracker: convsdk.Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(timeout=5.0)
    return memory.events


def _conversions(events: list[Event]) -> list[tuple[str | None, str | None]]:
    return [(e.goal, e.kind) for e in events if e.goal is not None]


def _start_trial(client: TestClient, plan: str = "pro") -> str:
    response = client.post("/trial", data={"email": EMAIL, "plan": plan}, follow_redirects=False)
    assert response.status_code == 303
    return response.cookies["ledgerly_uid"]


def _onboard(client: TestClient) -> None:
    fields = {
        "profile": {"business_name": "Hopper & Co"},
        "connect_bank": {"bank": "Mondo"},
        "first_invoice": {"amount": "1200"},
    }
    for step, form in fields.items():
        assert client.post(f"/onboarding/{step}", data=form).status_code == 200


def test_goal_file_loads_with_its_funnel(example: ModuleType) -> None:
    goals = load_goals(example.GOALS_FILE)

    assert goals.get("paid_signup").kind == "macro"  # type: ignore[union-attr]
    assert [f.name for f in goals.funnels] == ["trial_to_paid"]
    assert all(step in goals for step in goals.funnels[0].steps)


def test_trial_onboarding_and_paid_signup_journey(
    client: TestClient, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    client.get("/pricing?utm_source=google&utm_medium=cpc&utm_campaign=freelancers")
    user_id = _start_trial(client)
    _onboard(client)
    assert client.post("/subscribe", data={"plan": "team"}).status_code == 200

    events = _events(saas_tracker, memory)
    assert _conversions(events) == [
        ("viewed_pricing", "micro"),
        ("trial_started", "micro"),
        ("onboarding_profile", "micro"),
        ("onboarding_connect_bank", "micro"),
        ("onboarding_first_invoice", "micro"),
        ("paid_signup", "macro"),
    ]
    assert len({e.visitor_id for e in events}) == 1 and events[0].visitor_id
    assert events[0].context["utm"]["campaign"] == "freelancers"
    # From the trial on, every event carries the app's own user id.
    trial = next(i for i, e in enumerate(events) if e.goal == "trial_started")
    assert {e.user_id for e in events[trial:]} == {user_id}
    assert events[0].user_id is None


def test_paid_signup_is_one_event_with_the_plan_price(
    client: TestClient, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    user_id = _start_trial(client)
    _onboard(client)
    client.post("/subscribe", data={"plan": "pro"})

    signups = [e for e in _events(saas_tracker, memory) if e.goal == "paid_signup"]
    assert len(signups) == 1
    signup = signups[0]
    assert (signup.value, signup.currency) == (29.0, "USD")
    assert signup.transaction_id == f"sub_{user_id}"
    assert signup.properties == {"plan": "pro", "onboarding_steps": 3}


def test_onboarding_events_carry_the_step_number(
    client: TestClient, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    _start_trial(client)
    _onboard(client)

    steps = [e for e in _events(saas_tracker, memory) if (e.goal or "").startswith("onboarding_")]
    assert [e.properties["step_number"] for e in steps] == [1, 2, 3]


def test_requests_without_a_user_or_with_a_bad_plan_record_no_conversion(
    client: TestClient, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    assert client.post("/subscribe", data={"plan": "pro"}).status_code == 401
    assert client.post("/onboarding/profile", data={"business_name": "x"}).status_code == 401
    _start_trial(client)
    assert client.post("/subscribe", data={"plan": "platinum"}).status_code == 422
    assert client.post("/onboarding/nope", data={"x": "1"}).status_code == 404

    events = _events(saas_tracker, memory)
    assert _conversions(events) == [("trial_started", "micro")]
    assert [e.context["status"] for e in events if e.goal is None] == [401, 401, 422, 404]


def test_the_trial_email_is_never_stored(
    client: TestClient, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    _start_trial(client)

    stored = json.dumps([e.to_dict() for e in _events(saas_tracker, memory)])
    assert EMAIL not in stored and "grace" not in stored


def test_crawlers_are_not_counted(
    app: FastAPI, saas_tracker: convsdk.Tracker, memory: MemoryBackend
) -> None:
    bot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    with TestClient(app, headers={"user-agent": bot}) as crawler:
        assert crawler.get("/pricing").status_code == 200
        assert crawler.get("/").status_code == 200

    assert _events(saas_tracker, memory) == []
