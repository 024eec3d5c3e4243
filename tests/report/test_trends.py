"""Trends by day, week and month, worked out by hand from ``conftest.scenario()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.event import Event
from convsdk.report import load_report, render_html, render_text, report_from_events

from .conftest import GOALS, T0, Store, make, scenario, write_jsonl, write_sqlite


@pytest.fixture
def source(tmp_path: Path) -> str:
    return write_sqlite(tmp_path / "events.db", scenario())


def test_by_day_every_day_from_the_first_to_the_last(source: str, tmp_path: Path) -> None:
    report = load_report(source, GOALS, since=T0, interval="day")
    assert report.trend is not None and report.trend.interval == "day"
    rows = [
        (p.period, p.visitors, p.converters, p.conversions, p.conversion_rate, p.revenue)
        for p in report.trend.points
    ]
    # alice, bob and carol arrive on the 2nd (alice buys once, bob twice); nobody new on
    # the 3rd; dave on the 4th, without buying.
    assert rows == [
        ("2026-11-02", 3, 2, 3, 2 / 3, {"EUR": 35.0, "USD": 30.0}),
        ("2026-11-03", 0, 0, 0, None, {}),
        ("2026-11-04", 1, 0, 0, 0.0, {}),
    ]
    log = load_report(
        write_jsonl(tmp_path / "e.jsonl", scenario()), GOALS, since=T0, interval="day"
    )
    assert log.trend == report.trend


def test_by_week_and_month(source: str) -> None:
    week = load_report(source, GOALS, since=T0, interval="week").trend
    month = load_report(source, GOALS, since=T0, interval="month").trend
    assert week is not None and month is not None
    assert [(p.period, p.start, p.visitors) for p in week.points] == [("2026-W45", "2026-11-02", 4)]
    assert [(p.period, p.start, p.converters) for p in month.points] == [
        ("2026-11", "2026-11-01", 2)
    ]


def test_shown_in_text_and_html_and_a_bad_interval_is_refused(source: str) -> None:
    report = load_report(source, GOALS, since=T0, interval="day")
    assert "Trend by day" in render_text(report)
    page = render_html(report)
    assert 'id="trend"' in page and "2026-11-03" in page
    assert "Trend by" not in render_text(load_report(source, GOALS, since=T0))
    with pytest.raises(ConfigError, match="did you mean 'week'"):
        load_report(source, GOALS, interval="weeks")


def test_compared_with_the_period_before(source: str) -> None:
    until = T0 + timedelta(days=3)
    report = load_report(source, GOALS, since=T0, until=until, compare="previous")
    comparison = report.comparison
    assert comparison is not None
    assert comparison.since == (T0 - timedelta(days=3)).isoformat()
    assert comparison.until == T0.isoformat()
    changes = {c.figure: (c.current, c.previous, c.delta, c.relative) for c in comparison.changes}
    # Before T0 only erin came (a page view); from T0, four visitors and two buyers.
    assert changes["visitors"] == (4, 1, 3, 3.0)
    assert changes["converters"] == (2, 0, 2, None)  # no relative change from 0
    assert changes["conversion_rate"] == (0.5, 0.0, 0.5, None)
    assert changes["revenue EUR"] == (35.0, 0.0, 35.0, None)
    text = render_text(report)
    assert "Compared with the period before" in text and "+300.0%" in text
    assert 'id="comparison"' in render_html(report)
    with pytest.raises(ConfigError, match="needs a start"):
        load_report(source, GOALS, compare="previous")


def test_goals_and_funnels_by_a_property_of_the_first_visit(source: str) -> None:
    report = load_report(source, GOALS, since=T0, by="variant")
    segments = report.segments
    assert segments is not None and segments.by == "variant"
    groups = {g.value: g for g in segments.groups}
    # alice is in B, bob and dave in A, carol in none (conftest.scenario()).
    assert {v: g.visitors for v, g in groups.items()} == {"A": 2, "B": 1, "(none)": 1}
    purchase = {v: next(r for r in g.goals if r.goal == "purchase") for v, g in groups.items()}
    assert (purchase["A"].visitors, purchase["B"].visitors, purchase["(none)"].visitors) == (
        1,
        1,
        0,
    )
    assert [g.value for g in segments.groups][0] == "A"  # the largest group first
    (funnel,) = groups["B"].funnels
    assert funnel.completed == 1
    text = render_text(report)
    assert "Goals by variant" in text
    assert 'id="segments"' in render_html(report)
    devices = load_report(source, GOALS, since=T0, by="device").segments
    assert devices is not None and [g.value for g in devices.groups] == ["desktop"]
    with pytest.raises(ConfigError, match="did you mean 'channel'"):
        load_report(source, GOALS, by="chanel")


def test_revenue_in_one_currency_at_the_rates_given(source: str, tmp_path: Path) -> None:
    rates = tmp_path / "rates.toml"
    rates.write_text('currency = "EUR"\n[rates]\nUSD = 0.5\n', encoding="utf-8")
    report = load_report(source, GOALS, since=T0, rates=rates)
    # EUR 35 stays, USD 30 is EUR 15; the anonymous USD 50 order is EUR 25.
    assert report.summary.revenue == {"EUR": 50.0}
    assert report.summary.anonymous.revenue == {"EUR": 25.0}
    rates.write_text('currency = "EUR"\n[rates]\nGBP = 1.2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="no rate for USD"):
        load_report(source, GOALS, since=T0, rates=rates)
    rates.write_text("[rates]\nUSD = 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match='currency = "EUR"'):
        load_report(source, GOALS, since=T0, rates=rates)


NEW_YORK = "America/New_York"


def _at(moment: datetime, name: str, visitor: str, **fields: Any) -> Event:
    return make(name, (moment - T0).total_seconds(), visitor, **fields)


def _new_york_evenings() -> list[Event]:
    """Three visitors of a New York shop, two of them in its evening (UTC's next day)."""

    def buy(moment: datetime, visitor: str, amount: float) -> Event:
        return _at(moment, "checkout", visitor, path="/checkout", kind="macro",
                   goal="purchase", value=amount, currency="USD")  # fmt: skip

    return [
        # 22:00 on Sunday the 1st in New York (summer time ended that morning).
        _at(datetime(2026, 11, 2, 3, 0, tzinfo=UTC), "page_view", "ana"),
        buy(datetime(2026, 11, 2, 3, 10, tzinfo=UTC), "ana", 20.0),
        # 10:00 on the 2nd.
        _at(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "page_view", "ben"),
        # 23:30 on the 2nd.
        _at(datetime(2026, 11, 3, 4, 30, tzinfo=UTC), "page_view", "cy"),
        buy(datetime(2026, 11, 3, 4, 40, tzinfo=UTC), "cy", 30.0),
    ]


def _days(report: Any) -> list[tuple[str, int, int, dict[str, float]]]:
    assert report.trend is not None
    return [(p.period, p.visitors, p.converters, p.revenue) for p in report.trend.points]


def test_days_are_those_of_the_reports_time_zone(store: Any, tmp_path: Path) -> None:
    events = _new_york_evenings()
    s: Store = store(events)
    utc = load_report(s.url, GOALS, interval="day", rollups=False)
    assert utc.meta.timezone == "UTC"
    assert _days(utc) == [("2026-11-02", 2, 1, {"USD": 20.0}), ("2026-11-03", 1, 1, {"USD": 30.0})]
    local = load_report(s.url, GOALS, interval="day", timezone=NEW_YORK, rollups=False)
    assert local.meta.timezone == NEW_YORK
    assert _days(local) == [
        ("2026-11-01", 1, 1, {"USD": 20.0}),
        ("2026-11-02", 2, 1, {"USD": 30.0}),
    ]
    # Every store and engine counts the same days; the rest of the report is unchanged.
    log = write_jsonl(tmp_path / "events.jsonl", events)
    for engine in ("python", "duckdb"):
        assert load_report(log, GOALS, interval="day", timezone=NEW_YORK, engine=engine).trend == (
            local.trend
        )
    assert report_from_events(events, GOALS, interval="day", timezone=NEW_YORK).trend == (
        local.trend
    )
    assert local.summary == utc.summary and local.goals == utc.goals
    # Weeks start on the zone's Monday: ana's Sunday evening ends the week before.
    weeks = load_report(s.url, GOALS, interval="week", timezone=NEW_YORK, rollups=False)
    assert _days(weeks) == [("2026-W44", 1, 1, {"USD": 20.0}), ("2026-W45", 2, 1, {"USD": 30.0})]
    utc_weeks = load_report(s.url, GOALS, interval="week", rollups=False)
    assert _days(utc_weeks) == [("2026-W45", 3, 2, {"USD": 50.0})]
    # Shown with the zone: the events' times and the trend's days.
    text = render_text(local)
    assert "2026-11-01 22:00:00 → 2026-11-02 23:40:00 America/New_York" in text
    assert "days in America/New_York" in text
    page = render_html(local)
    assert "2026-11-01 22:00 → 2026-11-02 23:40 America/New_York" in page
    assert "days in America/New_York" in page


def test_dates_given_are_midnights_in_the_reports_time_zone(store: Any) -> None:
    s: Store = store(_new_york_evenings())
    # The 2nd in New York starts at 05:00 UTC: ana's evening of the 1st is before it.
    day = load_report(s.url, GOALS, since="2026-11-02", until="2026-11-02", timezone=NEW_YORK)
    assert (day.summary.visitors, day.summary.converters) == (2, 1)
    assert day.meta.since == "2026-11-02T05:00:00+00:00"
    assert day.meta.until == "2026-11-03T05:00:00+00:00"
    first = load_report(s.url, GOALS, until="2026-11-01", timezone=NEW_YORK)
    assert (first.summary.visitors, first.summary.revenue) == (1, {"USD": 20.0})
    # In UTC the 2nd holds ana and ben; cy came on the 3rd.
    utc = load_report(s.url, GOALS, since="2026-11-02", until="2026-11-02")
    assert (utc.summary.visitors, utc.summary.converters) == (2, 1)
    assert utc.summary.revenue == {"USD": 20.0}
    # Compared with the day before, in the zone: the 1st, ana's day.
    compared = load_report(
        s.url, GOALS, since="2026-11-02", until="2026-11-02", timezone=NEW_YORK, compare="previous"
    )
    assert compared.comparison is not None
    # The day before is the calendar day, though it had 25 hours.
    assert compared.comparison.since == "2026-11-01T04:00:00+00:00"
    assert "2026-11-01 00:00:00 → 2026-11-02 00:00:00 America/New_York" in render_text(compared)
    before = {c.figure: c.previous for c in compared.comparison.changes}
    assert before["visitors"] == 1


def test_an_unknown_time_zone_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'Europe/Paris'") as info:
        load_report(tmp_path / "missing.db", GOALS, timezone="Europe/Pari")
    assert info.value.field == "timezone"
