"""Time ranges as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from convsdk import ConfigError
from convsdk.report.period import local_day, parse_moment, parse_zone, zone_name

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


NEW_YORK = parse_zone("America/New_York")


def test_dates_are_the_midnights_of_the_reports_time_zone() -> None:
    # 2026-11-01 is the Sunday New York leaves summer time: a day of 25 hours.
    assert parse_moment("2026-11-01", zone=NEW_YORK) == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert parse_moment("2026-11-01", end=True, zone=NEW_YORK) == datetime(
        2026, 11, 2, 5, tzinfo=UTC
    )
    assert parse_moment(date(2026, 7, 4), zone=NEW_YORK) == datetime(2026, 7, 4, 4, tzinfo=UTC)
    # A time without an offset is the zone's; one with an offset, or a duration, is not.
    assert parse_moment("2026-11-01T09:30", zone=NEW_YORK) == datetime(
        2026, 11, 1, 14, 30, tzinfo=UTC
    )
    assert parse_moment(datetime(2026, 11, 1, 9, 30), zone=NEW_YORK) == datetime(
        2026, 11, 1, 14, 30, tzinfo=UTC
    )
    assert parse_moment("2026-11-01T09:30Z", zone=NEW_YORK) == datetime(
        2026, 11, 1, 9, 30, tzinfo=UTC
    )
    assert parse_moment("7d", now=NOW, zone=NEW_YORK) == NOW - timedelta(days=7)
    # The calendar's ends stay ends.
    tokyo = parse_zone("Asia/Tokyo")
    assert parse_moment("0001-01-01", zone=tokyo) == datetime.min.replace(tzinfo=UTC)
    assert parse_moment("9999-12-31T23:00", zone=NEW_YORK) == datetime.max.replace(tzinfo=UTC)


def test_a_moments_day_is_the_zones() -> None:
    late = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 22:00 on the 1st in New York
    assert local_day(late, NEW_YORK) == date(2026, 11, 1)
    assert local_day(late, None) == date(2026, 11, 2)
    assert local_day(datetime.min.replace(tzinfo=UTC), NEW_YORK) == date(1, 1, 1)


@pytest.mark.parametrize("name", [None, "UTC", "utc", "Z", "Etc/UTC", UTC])
def test_utc_is_no_zone_to_convert_to(name: object) -> None:
    assert parse_zone(name) is None  # type: ignore[arg-type]
    assert zone_name(parse_zone(name)) == "UTC"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("america/new_york", "did you mean 'America/New_York'"),
        ("Europe/Pariss", "did you mean 'Europe/Paris'"),
        ("US Eastern", "did you mean 'US/Eastern'"),
        ("Mars/Olympus_Mons", "use an IANA name"),
        ("../../etc/passwd", "use an IANA name"),
        ("America", "use an IANA name"),
        ("", "use an IANA name"),
    ],
)
def test_an_unknown_zone_is_a_config_error_with_the_closest(name: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint) as info:
        parse_zone(name)
    assert info.value.field == "timezone"


def test_a_zone_is_named_as_the_database_names_it() -> None:
    assert zone_name(parse_zone(" Europe/Paris ")) == "Europe/Paris"
    fixed = timezone(timedelta(hours=2))
    assert parse_zone(fixed) is fixed
    with pytest.raises(ConfigError, match="time zone name"):
        parse_zone(7)  # type: ignore[arg-type]
