"""The Django middleware and decorators with Django's own test client and real settings."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import django_project  # noqa: E402

django_project.setup()

from django.test import AsyncClient, Client, override_settings  # noqa: E402

import convsdk  # noqa: E402
from convsdk import Event, Goal  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.errors import ConfigError  # noqa: E402
from convsdk.testing import CapturedEvents  # noqa: E402
from convsdk.tracker import set_default  # noqa: E402

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"

GOALS = [
    Goal.micro("viewed_pricing", event="page_view", path="/pricing/"),
    Goal.micro("contacted", event="form_submit", path="/contact/", status="3xx"),
    Goal.macro("uploaded", event="form_submit", path="/upload/", value_from="form:total"),
]


@pytest.fixture
def tracker(memory: MemoryBackend) -> Iterator[convsdk.Tracker]:
    """An in-memory tracker with the goals, made the default (the middleware follows it)."""
    t = convsdk.Tracker(backend=memory, goals=GOALS, spool_dir=None, flush_interval=0.05)
    previous = set_default(t)
    try:
        yield t
    finally:
        set_default(previous)
        t.close()


@pytest.fixture
def client(tracker: convsdk.Tracker) -> Client:
    return Client(headers={"user-agent": BROWSER})


def recorded(tracker: convsdk.Tracker, memory: MemoryBackend) -> list[Event]:
    assert tracker.flush(timeout=5.0)
    return list(memory.events)


def names(events: list[Event]) -> list[str]:
    return [event.name for event in events]


def test_page_view_with_cookies(client: Client, tracker: convsdk.Tracker, memory: MemoryBackend):
    response = client.get("/")
    assert response.status_code == 200
    assert {"cv_vid", "cv_sid"} <= set(response.cookies)
    morsel = response.cookies["cv_vid"]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    headers = [c.output(header="").strip() for c in response.cookies.values()]
    assert any(h.startswith("cv_vid=") and "HttpOnly" in h for h in headers)
    client.get("/pricing/")
    events = recorded(tracker, memory)
    assert names(events) == ["page_view", "page_view"]
    assert (events[1].goal, events[1].kind) == ("viewed_pricing", "micro")
    assert events[1].context["path"] == "/pricing/"
    # The second request sent the cookies back: one visitor, one session.
    assert events[0].visitor_id == events[1].visitor_id is not None
    assert events[0].session_id == events[1].session_id is not None


def test_the_cookie_django_holds_has_the_value_and_attributes_written_out(
    client: Client, tracker: convsdk.Tracker
):
    import pickle

    response = client.get("/")
    morsel = response.cookies["cv_vid"]
    written = morsel.output(header="").strip()
    assert written.startswith(f"cv_vid={morsel.value};") and morsel.key == "cv_vid"
    assert morsel.value == morsel.coded_value and morsel.value.count(".") == 1
    # Copied or pickled (a cache middleware), Morsel itself writes out the same cookie.
    for again in (morsel.copy(), pickle.loads(pickle.dumps(morsel))):
        assert (again.key, again.value, again["max-age"]) == ("cv_vid", morsel.value, "63072000")
        assert set(again.output(header="").strip().split("; ")) == set(written.split("; "))


def test_click_ids_are_kept_across_requests(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    landing = client.get("/?gclid=Cj0-django")
    assert "cv_clk" in landing.cookies
    client.get("/pricing/")
    first, later = recorded(tracker, memory)
    assert first.context["click_ids"]["last"]["id"] == "Cj0-django"
    assert later.context["click_ids"] == first.context["click_ids"]


def test_same_rules_as_the_other_middlewares(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    assert client.get("/api/ping").status_code == 200  # JSON: no page
    assert client.get("/static/site.css").status_code == 200  # an asset
    assert client.get("/broken/").status_code == 500
    assert client.head("/").status_code == 200
    assert client.get("/pricing").status_code == 301  # CommonMiddleware's APPEND_SLASH
    bot = Client(headers={"user-agent": "curl/8.5.0"})
    assert bot.get("/").status_code == 200
    dnt = Client(headers={"user-agent": BROWSER, "dnt": "1"})
    response = dnt.get("/")
    assert "cv_vid" not in response.cookies
    events = recorded(tracker, memory)
    assert names(events) == ["page_view"]
    assert events[0].visitor_id is None  # counted anonymously
    assert tracker.stats()["bots"] == 1


def test_post_redirect_get_counts_once_with_a_goal(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    client.get("/contact/")
    client.post("/contact/", {"email": ""})  # shown again with 200: no conversion
    response = client.post("/contact/", {"email": "ada@example.com"}, follow=True)
    assert response.redirect_chain == [("/contact/thanks/", 302)]
    events = recorded(tracker, memory)
    assert [e.goal for e in events if e.goal] == ["contacted"]
    assert names(events) == ["page_view", "form_submit", "form_submit", "page_view"]


def test_a_post_to_a_url_missing_its_slash_converts_nobody(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    """APPEND_SLASH answers it with a 301 no view made; the browser follows it with a
    GET, and the form is lost: a 3xx goal must not take it for a Post/Redirect/Get."""
    response = client.post("/contact", {"email": "ada@example.com"})
    assert (response.status_code, response["Location"]) == (301, "/contact/")
    response = client.post("/contact/", {"email": "ada@example.com"})  # the form, sent right
    assert response.status_code == 302
    events = recorded(tracker, memory)
    assert [(e.context["path"], e.context["status"], e.goal) for e in events] == [
        ("/contact", 301, None),
        ("/contact/", 302, "contacted"),
    ]


def test_post_redirect_get_counts_once_with_a_decorator(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    client.get("/quote/")  # a function view: taken for a form page
    client.post("/quote/", {"email": ""})
    client.post("/quote/", {"email": "ada@example.com"})
    events = recorded(tracker, memory)
    assert [(e.goal, e.kind) for e in events if e.goal] == [("quote_requested", "micro")]


def test_function_view_overrides(client: Client, tracker: convsdk.Tracker, memory: MemoryBackend):
    client.post("/subscribe/", {"email": "ada@example.com"})
    client.get("/brochure/")
    goals = [e.goal for e in recorded(tracker, memory) if e.goal]
    assert goals == ["subscribed", "brochure_viewed"]


def test_class_based_views_convert_on_the_submission(
    client: Client, tracker: convsdk.Tracker, memory: MemoryBackend
):
    client.get("/signup/")
    client.post("/signup/", {"username": ""})
    client.post("/signup/", {"username": "ada"})
    client.get("/demo/")
    client.post("/demo/", {})
    client.post("/newsletter/", {"email": "ada@example.com"})
    events = recorded(tracker, memory)
    assert [(e.goal, e.kind) for e in events if e.goal] == [
        ("signup", "macro"),
        ("demo_booked", "macro"),
        ("newsletter", "micro"),
    ]


def test_annotate_and_cancel(client: Client, tracker: convsdk.Tracker, memory: MemoryBackend):
    client.post("/checkout/", {"total": "49.90"})
    client.post("/invite/", {"email": "bot@example.test"})
    client.post("/invite/", {"email": "ada@example.com"})
    everything = recorded(tracker, memory)
    assert names(everything)[0] == "checkout"  # a POST to /checkout*
    events = [e for e in everything if e.goal]
    assert [e.goal for e in events] == ["purchase", "invited"]
    assert (events[0].value, events[0].currency, events[0].transaction_id) == (
        49.9,
        "EUR",
        "order-7",
    )


def test_reading_the_form_leaves_post_files_and_csrf_intact(
    tracker: convsdk.Tracker, memory: MemoryBackend
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_project import views

    client = Client(enforce_csrf_checks=True, headers={"user-agent": BROWSER})
    client.get("/contact/")
    token = client.cookies["csrftoken"].value
    upload = SimpleUploadedFile("cv.txt", b"file body")
    response = client.post(
        "/upload/", {"csrfmiddlewaretoken": token, "total": "12.5", "cv": upload}
    )
    assert response.status_code == 302
    assert views.seen["files"] == {"cv": b"file body"}
    assert views.seen["post"] == {"csrfmiddlewaretoken": token, "total": "12.5"}
    refused = client.post("/upload/", {"total": "1"})  # no token: CSRF still refuses
    assert refused.status_code == 403
    events = recorded(tracker, memory)
    assert [(e.goal, e.value) for e in events if e.goal] == [("uploaded", 12.5)]


def test_async_client_and_async_view(tracker: convsdk.Tracker, memory: MemoryBackend):
    async def visit() -> None:
        client = AsyncClient(headers={"user-agent": BROWSER})
        assert (await client.get("/async/")).status_code == 200
        assert (await client.get("/pricing/")).status_code == 200
        response = await client.post("/signup/", {"username": "ada"})
        assert response.status_code == 302

        assert (await client.get("/callback/")).status_code == 200
        assert (await client.post("/callback/", {"phone": "555"})).status_code == 302

    asyncio.run(visit())
    events = recorded(tracker, memory)
    assert names(events) == [
        "page_view",
        "page_view",
        "form_submit",
        "signup",
        "page_view",
        "form_submit",
        "callback_requested",
    ]
    assert [e.goal for e in events if e.goal] == ["viewed_pricing", "signup", "callback_requested"]


def test_convsdk_events_fixture(convsdk_events: CapturedEvents):
    client = Client(headers={"user-agent": BROWSER})
    client.get("/")
    client.post("/signup/", {"username": "ada"})
    assert convsdk_events.macro("signup").context["path"] == "/signup/"
    assert convsdk_events.names() == ["page_view", "form_submit", "signup"]


def test_settings_build_the_tracker(tmp_path: Path):
    previous = set_default(None)
    try:
        with override_settings(
            CONVSDK_BACKEND="memory://",
            CONVSDK_GOALS=[Goal.micro("viewed_pricing", event="page_view", path="/pricing/")],
            CONVSDK_SPOOL_DIR=str(tmp_path / "spool"),
            CONVSDK_FILTER_BOTS="off",
        ):
            client = Client()
            client.get("/pricing/")
            tracker = convsdk.get_tracker()
            assert tracker.filter_bots is False
            assert tracker.flush(timeout=5.0)
            assert [e.goal for e in tracker.backend.events] == ["viewed_pricing"]
            tracker.close()
    finally:
        set_default(previous)


def test_misspelt_setting_is_a_config_error(tracker: convsdk.Tracker):
    with override_settings(CONVSDK_BACKND="memory://"):
        with pytest.raises(ConfigError, match="did you mean CONVSDK_BACKEND"):
            Client().get("/")


def test_decorators_without_the_middleware(tracker: convsdk.Tracker, memory: MemoryBackend):
    middleware = ["django.middleware.csrf.CsrfViewMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        client = Client(headers={"user-agent": BROWSER})
        client.get("/quote/")
        client.post("/quote/", {"email": ""})
        client.post("/quote/", {"email": "ada@example.com"})
        client.get("/signup/")
        client.post("/signup/", {"username": "ada"})
    events = recorded(tracker, memory)
    assert [(e.goal, e.context["path"]) for e in events] == [
        ("quote_requested", "/quote/"),
        ("signup", "/signup/"),
    ]


def test_secure_cookies_on_https_under_both_handlers(tracker: convsdk.Tracker):
    response = Client(headers={"user-agent": BROWSER}).get("/", secure=True)
    assert response.cookies["cv_vid"]["secure"] is True

    async def visit() -> bool:
        client = AsyncClient(headers={"user-agent": BROWSER})
        answer = await client.get("/", secure=True)
        plain = await client.get("/pricing/")
        return bool(answer.cookies["cv_vid"]["secure"]) and "cv_vid" not in plain.cookies

    assert asyncio.run(visit())
    plain = Client(headers={"user-agent": BROWSER}).get("/")
    assert not plain.cookies["cv_vid"]["secure"]
    assert "Secure" not in plain.cookies["cv_vid"].output()


def test_excluded_paths_from_settings(tracker: convsdk.Tracker, memory: MemoryBackend):
    with override_settings(CONVSDK_EXCLUDE_PATHS=["/pricing/*"]):
        client = Client(headers={"user-agent": BROWSER})
        client.get("/pricing/")
        client.get("/")
    assert [e.context["path"] for e in recorded(tracker, memory)] == ["/"]
