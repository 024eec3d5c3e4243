"""Readers of other stores: run-time registration, entry points, and ``convsdk report``."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from convsdk import BackendError, ConfigError
from convsdk.cli import main
from convsdk.event import Event
from convsdk.report import (
    load_report,
    open_reader,
    register_reader,
    unregister_reader,
)
from convsdk.report.dataset import Dataset
from convsdk.report.progress import ProgressCallback
from convsdk.report.sql import SQLiteReader

from .conftest import GOALS, T0, scenario, write_sqlite
from .test_reader import check_scenario

#: What the "memstore://NAME" stores of these tests hold.
STORES: dict[str, list[Event]] = {}


class MemStore:
    """A reader plugin that yields events: the simple way."""

    calls: list[tuple[datetime | None, datetime | None]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_url(cls, url: str) -> MemStore:
        name = url.split("://", 1)[1]
        if name not in STORES:
            raise ValueError(f"no store called {name!r}")
        return cls(name)

    def read_events(self, since: datetime | None, until: datetime | None) -> Iterable[Event]:
        MemStore.calls.append((since, until))
        return iter(STORES[self.name])


class PushDown:
    """A full reader plugin (it would count in its store): here, SQLite's under a name."""

    def __init__(self, url: str) -> None:
        self.inner = SQLiteReader(url.split("://", 1)[1])
        self.source = "pushdown store"

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        step_goals: Collection[str] = (),
        progress: ProgressCallback | None = None,
        goal_kinds: Mapping[str, str] | None = None,
        include_bots: bool = False,
    ) -> Dataset:
        return self.inner.read(
            since=since,
            until=until,
            step_goals=step_goals,
            progress=progress,
            goal_kinds=goal_kinds,
            include_bots=include_bots,
        )


@pytest.fixture
def memstore() -> Iterator[None]:
    STORES["shop"] = scenario()
    MemStore.calls.clear()
    register_reader("MemStore", MemStore)
    try:
        yield
    finally:
        unregister_reader("memstore")
        STORES.clear()


def _figures(source: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_report(source, GOALS, since=T0).to_json())
    del data["meta"]
    return data


def test_an_events_reader_gives_the_same_report_as_sqlite(memstore: None, tmp_path: Path) -> None:
    figures = _figures("memstore://shop")
    assert figures == _figures(write_sqlite(tmp_path / "e.db", scenario()))
    check_scenario(figures)
    assert MemStore.calls == [(T0, None)]
    assert load_report("memstore://shop").to_dict()["meta"]["source"] == "memstore://shop"


def test_a_full_reader_is_used_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    write_sqlite(db, scenario())
    register_reader("pushdown", PushDown)
    try:
        reader = open_reader(f"pushdown://{db}")
        assert isinstance(reader, PushDown)
        check_scenario(_figures(f"pushdown://{db}"))
        assert load_report(f"pushdown://{db}").to_dict()["meta"]["source"] == "pushdown store"
    finally:
        unregister_reader("pushdown")


def test_a_plain_function_can_be_the_factory(memstore: None) -> None:
    class Events:
        source = "named by the plugin"

        def read_events(self, since: datetime | None, until: datetime | None) -> list[Event]:
            return STORES["shop"]

    register_reader("fn", lambda url: Events())
    try:
        reader = open_reader("fn://anything")
        assert reader.source == "named by the plugin"
        assert reader.read().events == 16
    finally:
        unregister_reader("fn")


def test_convsdk_report_reads_a_registered_store(
    memstore: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "memstore://shop", "--since", T0.isoformat(), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["source"] == "memstore://shop"
    assert (data["summary"]["visitors"], data["summary"]["converters"]) == (4, 2)


def test_errors_of_a_plugin_are_config_or_backend_errors(memstore: None) -> None:
    with pytest.raises(ConfigError, match="no store called 'nope'") as info:
        open_reader("memstore://nope")
    assert info.value.field == "source"

    register_reader("empty", lambda url: object())
    try:
        with pytest.raises(ConfigError, match="neither read_events"):
            open_reader("empty://x")
    finally:
        unregister_reader("empty")

    def broken(since: datetime | None, until: datetime | None) -> Iterator[Event]:
        raise OSError("disk on fire")
        yield  # a generator

    class Broken:
        read_events = staticmethod(broken)

    register_reader("broken", lambda url: Broken())
    try:
        with pytest.raises(BackendError, match="disk on fire"):
            load_report("broken://user:secret@x")
    finally:
        unregister_reader("broken")


def test_an_unknown_scheme_lists_the_known_ones_and_says_how_to_add_one(memstore: None) -> None:
    with pytest.raises(ConfigError) as info:
        open_reader("kafka://user:secret@host/topic")
    message = str(info.value)
    assert "cannot report from kafka:// stores" in message
    known = message.split("known: ", 1)[1].split(". ", 1)[0].split(", ")
    assert {"file://", "memstore://", "postgres://", "postgresql://", "sqlite://"} <= set(known)
    assert known == sorted(known)
    assert "convsdk.readers" in message and "register_reader" in message
    assert "secret" not in message


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tiny installed distribution naming a reader under the ``convsdk.readers`` group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "convsdk_sqlcopy.py").write_text(
        textwrap.dedent(
            '''
            """Reads sqlcopy://PATH: an events-yielding reader over a SQLite file."""
            from convsdk.backends.sqlite import read_events


            class SQLCopyReader:
                def __init__(self, path):
                    self.path = path
                    self.source = "sqlcopy " + path

                @classmethod
                def from_url(cls, url):
                    return cls(url.split("://", 1)[1])

                def read_events(self, since, until):
                    return read_events(self.path, since=since, until=until)
            '''
        )
    )
    info = site / "convsdk_sqlcopy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: convsdk-sqlcopy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[convsdk.readers]\n"
        "sqlcopy = convsdk_sqlcopy:SQLCopyReader\n"
        "missing = convsdk_sqlcopy_gone:Reader\n"
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("convsdk_sqlcopy", None)


def test_an_entry_point_reader_is_found_and_used(
    installed_plugin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "e.db"
    write_sqlite(db, scenario())
    reader = open_reader(f"sqlcopy://{db}")
    assert reader.source == f"sqlcopy {db}"
    check_scenario(_figures(f"sqlcopy://{db}"))
    assert main(["report", f"sqlcopy://{db}", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["source"] == f"sqlcopy {db}"
    with pytest.raises(ConfigError) as info:
        open_reader("nosuch://x")
    assert "sqlcopy://" in str(info.value)


def test_an_entry_point_that_fails_to_load_is_a_config_error(installed_plugin: Path) -> None:
    with pytest.raises(ConfigError, match="reader plugin 'convsdk_sqlcopy_gone:Reader'"):
        open_reader("missing://x")
