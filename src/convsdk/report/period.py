"""Report time ranges from what people type (``2026-11-01``, ``2026-11-01T09:30``, ``7d``),
and the time zone the report's days are in.

>>> parse_moment("2026-11-01")
datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_moment("2026-11-30", end=True)       # a day given as an end includes that day
datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_moment("2026-11-01", zone=parse_zone("America/New_York"))  # midnight there
datetime.datetime(2026, 11, 1, 4, 0, tzinfo=datetime.timezone.utc)
>>> parse_moment("7d") < datetime.now(UTC) - timedelta(days=6)   # seven days before now
True
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..errors import ConfigError

__all__ = ["local_day", "parse_moment", "parse_zone", "span_before", "zone_name"]

_AGO = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+\Z")
_AGO_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNIT = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def parse_moment(
    value: datetime | date | str,
    *,
    end: bool = False,
    now: datetime | None = None,
    field: str = "since",
    zone: tzinfo | None = None,
) -> datetime:
    """An aware UTC datetime from a datetime, a date, an ISO-8601 text or a duration ago.

    - ``"2026-11-01"`` (a day): its midnight in ``zone`` (default UTC); with
      ``end=True`` the next midnight, so that ``--until 2026-11-30`` includes the 30th
      (ends are exclusive).
    - ``"2026-11-01T09:30:00+01:00"``: that moment; without an offset, in ``zone``.
    - ``"7d"``, ``"24h"``, ``"90m"``, ``"2w"``, ``"1d12h"``: that long before ``now``.

    Raises :class:`convsdk.ConfigError` naming ``field`` for anything else.
    """
    if isinstance(value, datetime):
        return _in_utc(value if value.tzinfo is not None else value.replace(tzinfo=zone or UTC))
    if isinstance(value, date):
        if end and value == date.max:
            return datetime.max.replace(tzinfo=UTC)  # the end of time is end enough
        if end:
            value += timedelta(days=1)
        # The wall-clock midnight of the day where the report's days are (on a day a
        # clock skips midnight, the moment an hour later: zoneinfo's fold rules).
        return _in_utc(datetime(value.year, value.month, value.day, tzinfo=zone or UTC))
    if not isinstance(value, str):
        raise ConfigError(
            f"expected a date, a time or a duration, got {type(value).__name__}", field=field
        )
    text = value.strip()
    lower = text.lower()
    if _AGO.match(lower):
        seconds = sum(float(n) * _UNIT[u] for n, u in _AGO_PART.findall(lower))
        try:
            return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
        except OverflowError:
            raise ConfigError(f"{value!r} ago is before the year 1", field=field) from None
    try:
        if _DATE.match(text):
            return parse_moment(date.fromisoformat(text), end=end, zone=zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"not a date, time or duration: {value!r} (use 2026-11-01, "
            "2026-11-01T09:30:00Z, or a duration ago such as 7d, 24h, 30m)",
            field=field,
        ) from None
    return parse_moment(moment, zone=zone)


def _in_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; at the ends of the calendar, the end it would pass."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        end = datetime.max if moment.year == datetime.max.year else datetime.min
        return end.replace(tzinfo=UTC)


def parse_zone(value: str | tzinfo | None, *, field: str = "timezone") -> tzinfo | None:
    """The time zone a report's days are in, from an IANA name (``"Europe/Paris"``) or a
    ``tzinfo``; ``None`` for UTC (``None``, ``"UTC"``, ``"Z"``), whose days need no
    conversion.

    Raises :class:`convsdk.ConfigError` naming ``field`` for a name the time zone
    database does not know, with the closest it does.
    """
    if value is None:
        return None
    if isinstance(value, tzinfo):
        return None if value is UTC else value
    if not isinstance(value, str):
        raise ConfigError(
            f"expected a time zone name such as 'Europe/Paris', got {type(value).__name__}",
            field=field,
        )
    name = value.strip()
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", a folder
        known = available_timezones()
    if not known:
        raise ConfigError(
            f"no time zone database to look {name!r} up in: install tzdata (pip install tzdata)",
            field=field,
        ) from None
    from ..goals.validation import suggest

    by_case = {zone.lower(): zone for zone in known}
    hint = by_case.get(name.lower().replace(" ", "_"))
    hint_text = f" (did you mean {hint!r}?)" if hint else suggest(name, known)
    raise ConfigError(
        f"unknown time zone {name!r}{hint_text}: use an IANA name such as "
        "'America/New_York' or 'Europe/Paris'",
        field=field,
    ) from None


def zone_name(zone: tzinfo | None) -> str:
    """How the report names ``zone``: its IANA name, ``UTC`` for ``None``."""
    return "UTC" if zone is None else str(getattr(zone, "key", None) or zone)


def local_day(moment: datetime, zone: tzinfo | None) -> date:
    """The calendar day of the aware ``moment`` in ``zone`` (``None``: UTC; at the ends
    of the calendar, where the zone's day would not exist, UTC's)."""
    if zone is None:
        return moment.date()
    try:
        return moment.astimezone(zone).date()
    except OverflowError:
        return moment.date()


def span_before(start: datetime, end: datetime, zone: tzinfo | None) -> datetime:
    """The start of the period as long as ``[start, end)``, just before it: as many of
    ``zone``'s days when both bounds are its midnights (a day its clocks change on has
    23 or 25 hours, and is still a day), else as long in time."""
    if zone is not None:
        first, last = start.astimezone(zone), end.astimezone(zone)
        if first.time() == last.time() == datetime.min.time():
            days = (last.date() - first.date()).days
            return parse_moment(first.date() - timedelta(days=days), zone=zone)
    return start - (end - start)
