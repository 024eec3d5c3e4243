"""A batch as the rows ``COPY`` writes, and those rows cleaned of the NUL characters
PostgreSQL refuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._json import dumps_str, loads
from ...event import Event

__all__ = ["Row", "scrub", "to_rows"]

#: One event as the values of :data:`~.schema.COLUMNS`, JSON columns as text.
Row = tuple[Any, ...]


def to_rows(events: Sequence[Event]) -> list[Row]:
    """The rows of ``events``; raises ``TypeError`` or ``ValueError`` for one that cannot
    be serialised."""
    return [e.to_row(json_text=True) for e in events]


def scrub(row: Row) -> Row:
    """The row with NUL characters replaced (U+FFFD) in text and in JSON escapes."""
    out = []
    for value in row[:-2]:
        out.append(value.replace("\x00", "\ufffd") if isinstance(value, str) else value)
    for doc in row[-2:]:
        out.append(dumps_str(_scrub_json(loads(doc))) if "\\u0000" in doc else doc)
    return tuple(out)


def _scrub_json(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_scrub_json(k): _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value
