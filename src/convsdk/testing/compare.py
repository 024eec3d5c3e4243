"""Comparing events field by field: :func:`assert_events_equal`, whose AssertionError names
the event and the field that differ."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..event import FIELDS, Event

__all__ = ["assert_events_equal"]

_MAX_REPORTED = 8


def assert_events_equal(
    expected: Sequence[Event], actual: Iterable[Event], *, ordered: bool = True
) -> None:
    """Assert ``actual`` holds the ``expected`` events, field by field.

    Timestamps must be timezone-aware and equal to the microsecond; values compare as
    floats (a ``Decimal`` or ``int`` read back is fine); properties and context compare
    as JSON data. With ``ordered=False`` events are matched by ``event_id`` and each must
    appear exactly once. The AssertionError names the event and field that differ.
    """
    __tracebackhide__ = True
    got = list(actual)
    problems: list[str] = []
    if ordered:
        if [e.event_id for e in got] != [e.event_id for e in expected]:
            _compare_ids(expected, got, problems)
            if not problems:
                problems.append(
                    "the events came back in another order than they were written: "
                    f"first difference at position {_first_mismatch(expected, got)}"
                )
        else:
            for index, (want, have) in enumerate(zip(expected, got, strict=True)):
                where = f"event {index} {want.name} ({want.event_id})"
                problems.extend(f"{where}: {p}" for p in _diff_event(want, have))
    else:
        _compare_ids(expected, got, problems)
        if not problems:
            by_id = {event.event_id: event for event in got}
            for want in expected:
                problems.extend(
                    f"event {want.event_id} ({want.name}): {p}"
                    for p in _diff_event(want, by_id[want.event_id])
                )
    if problems:
        shown = problems[:_MAX_REPORTED]
        if len(problems) > _MAX_REPORTED:
            shown.append(f"... and {len(problems) - _MAX_REPORTED} more differences")
        raise AssertionError(
            f"{len(got)} events read back, {len(expected)} written; differences:\n  "
            + "\n  ".join(shown)
        )


def _first_mismatch(expected: Sequence[Event], got: Sequence[Event]) -> int:
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want.event_id != have.event_id:
            return index
    return min(len(expected), len(got))


def _compare_ids(expected: Sequence[Event], got: Sequence[Event], problems: list[str]) -> None:
    want = [e.event_id for e in expected]
    counts: dict[str, int] = {}
    for event in got:
        counts[event.event_id] = counts.get(event.event_id, 0) + 1
    written = set(want)
    missing = [i for i in want if i not in counts]
    extra = [i for i in counts if i not in written]
    doubled = [i for i, n in counts.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} events missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} events that were not written, e.g. {extra[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} events stored more than once, e.g. {doubled[:3]}")


def _diff_event(want: Event, have: Any) -> list[str]:
    if not isinstance(have, Event):
        return [f"read_back() returned {type(have).__name__}, not an Event"]
    problems = []
    for field in FIELDS:
        expected, actual = getattr(want, field), getattr(have, field)
        if field == "value":
            if expected is None:
                same = actual is None
            else:
                same = _is_number(actual) and float(actual) == float(expected)
        elif field == "timestamp":
            same = (
                isinstance(actual, datetime)
                and actual.utcoffset() is not None
                and actual == expected
            )
            if not same:
                problems.append(
                    f"timestamp: expected {expected.isoformat()}, got "
                    f"{actual.isoformat() if isinstance(actual, datetime) else repr(actual)}"
                    + (" (naive)" if isinstance(actual, datetime) and not actual.tzinfo else "")
                )
                continue
        elif field in ("properties", "context"):
            where = _first_difference(expected, actual, field)
            if where is not None:
                problems.append(where)
            continue
        else:
            same = type(actual) is type(expected) and actual == expected
        if not same:
            problems.append(f"{field}: expected {expected!r}, got {actual!r}")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _first_difference(expected: Any, actual: Any, path: str) -> str | None:
    """Where two JSON values differ first, as ``path: expected ..., got ...``; None if equal."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected a dict, got {actual!r:.200}"
        for key in expected:
            if key not in actual:
                return f"{path}: key {key!r} is missing"
            found = _first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        for key in actual:
            if key not in expected:
                return f"{path}: unexpected key {key!r}"
        return None
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            return f"{path}: expected a list of {len(expected)} items, got {actual!r:.200}"
        for index, (want, have) in enumerate(zip(expected, actual, strict=True)):
            found = _first_difference(want, have, f"{path}[{index}]")
            if found:
                return found
        return None
    same_kind = isinstance(actual, bool) == isinstance(expected, bool) and (
        type(actual) is type(expected) or {type(actual), type(expected)} <= {int, float}
    )
    if not same_kind or actual != expected:
        return f"{path}: expected {expected!r:.200}, got {actual!r:.200}"
    return None
