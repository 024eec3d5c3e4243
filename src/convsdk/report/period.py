"""Report time ranges from what people type: ``2026-11-01``, ``2026-11-01T09:30``, ``7d``.

>>> parse_moment("2026-11-01")
datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_moment("2026-11-30", end=True)       # a day given as an end includes that day
datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_moment("7d") < datetime.now(UTC) - timedelta(days=6)   # seven days before now
True
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from ..errors import ConfigError

__all__ = ["parse_moment"]

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
) -> datetime:
    """An aware UTC datetime from a datetime, a date, an ISO-8601 text or a duration ago.

    - ``"2026-11-01"`` (a day): its midnight, UTC; with ``end=True`` the next midnight,
      so that ``--until 2026-11-30`` includes the 30th (ends are exclusive).
    - ``"2026-11-01T09:30:00+01:00"``: that moment; without an offset, UTC.
    - ``"7d"``, ``"24h"``, ``"90m"``, ``"2w"``, ``"1d12h"``: that long before ``now``.

    Raises :class:`convsdk.ConfigError` naming ``field`` for anything else.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        day = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if end and day.date() == date.max:
            return datetime.max.replace(tzinfo=UTC)  # the end of time is end enough
        return day + timedelta(days=1) if end else day
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
            return parse_moment(date.fromisoformat(text), end=end)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"not a date, time or duration: {value!r} (use 2026-11-01, "
            "2026-11-01T09:30:00Z, or a duration ago such as 7d, 24h, 30m)",
            field=field,
        ) from None
    return parse_moment(moment)
