"""Reports from an iterable of events: the same figures as from any store."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.report import Report, load_report, report_from_events

from .conftest import GOALS, T0, scenario, write_sqlite
from .test_reader import check_scenario


def _figures(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.to_json())
    del data["meta"]
    return data


def test_the_same_figures_as_the_sqlite_reader(tmp_path: Path) -> None:
    events = scenario()
    expected = _figures(load_report(write_sqlite(tmp_path / "e.db", events), GOALS, since=T0))
    # Any order, and an event delivered twice (at-least-once) counts once.
    given = [*events, events[3], events[0]]
    random.Random(7).shuffle(given)
    figures = _figures(report_from_events(given, GOALS, since=T0))
    assert figures == expected
    check_scenario(figures)


def test_serialised_events_are_accepted() -> None:
    figures = _figures(report_from_events([e.to_dict() for e in scenario()], GOALS, since=T0))
    check_scenario(figures)


def test_the_period_leaves_events_out(tmp_path: Path) -> None:
    events = scenario()
    until = T0 + timedelta(seconds=200)
    db = write_sqlite(tmp_path / "e.db", events)
    expected = _figures(load_report(db, GOALS, since=T0, until=until))
    assert _figures(report_from_events(iter(events), GOALS, since=T0, until=until)) == expected


def test_meta_names_the_source_and_period() -> None:
    report = report_from_events(scenario(), since="2026-11-02", source="warehouse")
    meta = json.loads(report.to_json())["meta"]
    assert meta["source"] == "warehouse"
    assert meta["since"] == "2026-11-02T00:00:00+00:00"
    assert json.loads(report_from_events([]).to_json())["summary"]["events"] == 0


def test_bad_input_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        report_from_events(scenario(), since="last tuesday")
    assert info.value.field == "since"
    with pytest.raises(KeyError):
        report_from_events([{"name": "page_view"}])
