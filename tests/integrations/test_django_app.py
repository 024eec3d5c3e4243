"""The Django app: the template tag and the browser endpoint, the checks, the report command."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import django_project  # noqa: E402

django_project.setup()

from django.core import checks  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

import convsdk  # noqa: E402
from convsdk.backends.memory import MemoryBackend  # noqa: E402
from convsdk.tracker import set_default  # noqa: E402

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def messages() -> dict[str, str]:
    """``manage.py check``'s convsdk messages: id -> text."""
    found = checks.run_checks(include_deployment_checks=False)
    return {m.id: m.msg for m in found if m.id and m.id.startswith("convsdk.")}


def test_the_template_tag_without_the_endpoint(tracker: convsdk.Tracker):
    page = Client(headers={"user-agent": BROWSER}).get("/tagged/").content.decode()
    assert '<script src="/_convsdk/c.js?v=' in page and 'data-scroll="off" defer>' in page


@override_settings(
    CONVSDK_COLLECT=True,
    CONVSDK_BROWSER_EVENTS=["video_played"],
    CONVSDK_ALLOWED_HOSTS=["testserver"],
)
def test_the_browser_script_and_its_events(tracker: convsdk.Tracker, memory: MemoryBackend):
    client = Client(headers={"user-agent": BROWSER})
    page = client.get("/tagged/").content.decode()
    src = page.split('<script src="', 1)[1].split('"', 1)[0]
    script = client.get(src)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    payload = {"url": "http://testserver/tagged/", "events": [{"name": "video_played"}]}
    headers = {"origin": "http://testserver", "content-type": "text/plain;charset=UTF-8"}
    sent = client.post(
        "/_convsdk/collect",
        json.dumps(payload),
        content_type=headers["content-type"],
        headers={"origin": headers["origin"]},
    )
    assert sent.status_code == 204
    refused = client.post(
        "/_convsdk/collect",
        json.dumps(payload),
        content_type=headers["content-type"],
        headers={"origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert tracker.flush(timeout=5.0)
    events = memory.events
    assert [e.name for e in events] == ["page_view", "video_played"]
    assert events[1].visitor_id == events[0].visitor_id is not None
    assert events[1].context["source"] == "browser"


def test_checks_pass_on_a_good_configuration():
    assert messages() == {}


def test_checks_report_a_bad_configuration():
    with override_settings(CONVSDK_BATCH_SIZ=10):
        assert "did you mean CONVSDK_BATCH_SIZE" in messages()["convsdk.E001"]
    with override_settings(CONVSDK_BATCH_SIZE="lots"):
        assert "whole number" in messages()["convsdk.E001"]
    with override_settings(CONVSDK_GOALS="missing-goals.toml"):
        assert "missing-goals.toml" in messages()["convsdk.E002"]


def test_checks_warn_about_the_secret_key_and_the_middleware(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CONVSDK_SECRET_KEY", raising=False)
    previous = set_default(None)
    try:
        with override_settings(CONVSDK_SECRET_KEY=None):
            assert "without cookies" in messages()["convsdk.W001"]
            with convsdk.Tracker(backend="memory://", spool_dir=None, secret_key="k") as keyed:
                set_default(keyed)
                assert "convsdk.W001" not in messages()
    finally:
        set_default(previous)
    with override_settings(CONVSDK_SECRET_KEY="django-only-secret"):
        assert "convsdk.W002" in messages()
    with override_settings(MIDDLEWARE=[]):
        assert "convsdk.W003" in messages()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    """A SQLite store holding one visitor's page view and signup."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        tracker.track("signup", kind="macro", properties={})
    yield url


@pytest.mark.parametrize("several", [False, True])
def test_the_report_command(store: str, several: bool):
    out = io.StringIO()
    # With several backends the report reads the first: the store.
    with override_settings(CONVSDK_BACKEND=f"{store}, memory://" if several else store):
        previous = set_default(None)
        try:
            call_command("convsdk_report", "--format", "json", "--tz", "Europe/Paris", stdout=out)
        finally:
            set_default(previous)
    report = json.loads(out.getvalue())
    assert "signup" in json.dumps(report)
    assert report["meta"]["timezone"] == "Europe/Paris"


def test_the_report_commands_days_are_the_projects(store: str):
    # Without --tz, the report's days are those the project shows its times in.
    for zone in ("Asia/Kolkata", "UTC"):
        out = io.StringIO()
        with override_settings(CONVSDK_BACKEND=store, TIME_ZONE=zone):
            previous = set_default(None)
            try:
                call_command("convsdk_report", "--format", "json", stdout=out)
            finally:
                set_default(previous)
        assert json.loads(out.getvalue())["meta"]["timezone"] == zone


def test_the_report_command_names_a_bad_source(tmp_path: Path):
    with pytest.raises(CommandError):
        call_command("convsdk_report", str(tmp_path / "missing.db"), stdout=io.StringIO())


def test_the_forget_command_erases_from_the_projects_store(tmp_path: Path):
    from convsdk.event import Event

    url = f"sqlite:///{tmp_path / 'events.db'}"
    people = [("v-1", "1042"), ("v-2", "1042"), ("v-3", None)]
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        for visitor, user in people:
            tracker.emit(Event("page_view", visitor_id=visitor, user_id=user))
    spool = tmp_path / "spool"  # the project's tracker's spool: events still waiting
    spool.mkdir()
    waiting = Event("page_view", visitor_id="v-1").to_dict()
    (spool / "00017323860009876543-4242-0b7d6e11.seg.jsonl").write_text(json.dumps(waiting))
    out = io.StringIO()
    with override_settings(CONVSDK_BACKEND=url, CONVSDK_SPOOL_DIR=str(spool)):
        previous = set_default(None)
        try:
            call_command("convsdk_forget", "--user", "1042", stdout=out)
        finally:
            set_default(previous)
    assert out.getvalue().splitlines() == [
        "erased 2 events of 2 visitor ids (user 1042)",
        "1 event of theirs wait in the spool: its trackers leave them out when they "
        "replay it (a tracker of an earlier convsdk stores them: erase again once it has)",
    ]
    with convsdk.Tracker(backend=url, spool_dir=None) as tracker:
        left = [e.visitor_id for e in tracker.backend.read()]  # type: ignore[attr-defined]
    assert left == ["v-3"]
    with pytest.raises(CommandError, match="name the people"):
        with override_settings(CONVSDK_BACKEND=url):
            call_command("convsdk_forget", stdout=io.StringIO())
