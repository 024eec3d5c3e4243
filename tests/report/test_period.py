"""Time ranges as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from convsdk import ConfigError
from convsdk.report.period import parse_moment

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_days_times_and_durations() -> None:
    assert parse_moment("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_moment("2026-11-30", end=True) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_moment(date(2026, 11, 30), end=True) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_moment("2026-11-01T09:30:00+01:00") == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    assert parse_moment("2026-11-01T09:30Z", end=True) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert parse_moment("2026-11-01 09:30") == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert parse_moment("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_moment("1d12h", now=NOW) == NOW - timedelta(hours=36)
    assert parse_moment("90M", now=NOW) == NOW - timedelta(minutes=90)
    eastern = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_moment(eastern) == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "7 days", "2026-13-01", "", "-7d"])
def test_nonsense_is_a_config_error_naming_the_field(text: str) -> None:
    with pytest.raises(ConfigError, match="field 'until'"):
        parse_moment(text, field="until")


def test_the_ends_of_the_calendar_are_not_crashes() -> None:
    assert parse_moment("9999-12-31", end=True) == datetime.max.replace(tzinfo=UTC)
    with pytest.raises(ConfigError) as info:
        parse_moment("99999999d", field="since")
    assert info.value.field == "since"
