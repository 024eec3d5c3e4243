"""Trackers in the serving child of a development server's reloader default to durable.

The servers themselves, stopped with SIGTERM to the reloader's parent, are in
``tests/services/test_servers_shutdown.py`` (``flask run --debug``) and
``tests/examples/test_django_site.py`` (``manage.py runserver``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from convsdk import Tracker
from convsdk.tracker.reloaders import reloader_child


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WERKZEUG_RUN_MAIN": "true"}, "Werkzeug's reloader (flask run --debug)"),
        ({"RUN_MAIN": "true"}, "Django's autoreloader (manage.py runserver)"),
        ({"WERKZEUG_RUN_MAIN": "false"}, None),
        ({}, None),
    ],
)
def test_the_reloaders_child_is_recognised(environ: dict[str, str], expected: str | None) -> None:
    assert reloader_child(environ) == expected


@pytest.fixture
def werkzeug_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVSDK_DURABLE", raising=False)
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")


@pytest.mark.usefixtures("werkzeug_child")
def test_a_tracker_in_the_child_writes_each_event_to_disk_as_it_is_tracked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="convsdk.tracker")
    db, spool = tmp_path / "events.db", tmp_path / "spool"
    tracker = Tracker(backend=f"sqlite:///{db}", spool_dir=spool, flush_interval=3600)
    try:
        assert tracker.durable
        assert "serving under Werkzeug's reloader" in caplog.text
        tracker.track("signup", kind="macro")
        # In the write-ahead log before the batch is written: a SIGKILL now loses nothing.
        segments = list(spool.glob("*.wal.jsonl"))
        assert any(path.stat().st_size for path in segments), list(spool.iterdir())
    finally:
        tracker.close()
    assert tracker.stats()["delivered"] == 1


@pytest.mark.usefixtures("werkzeug_child")
def test_durable_given_or_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Tracker(backend="memory://", spool_dir=tmp_path / "a", durable=False) as given:
        assert not given.durable
    monkeypatch.setenv("CONVSDK_DURABLE", "0")
    with Tracker(backend="memory://", spool_dir=tmp_path / "b") as from_environ:
        assert not from_environ.durable


@pytest.mark.usefixtures("werkzeug_child")
def test_without_a_spool_the_child_keeps_memory_delivery() -> None:
    with Tracker(backend="memory://", spool_dir=None) as tracker:
        assert not tracker.durable
