"""One line of a log as an event: its fields, id and timestamp in the stored form."""

from __future__ import annotations

from typing import Any

from ..._json import loads
from ...event import format_timestamp, parse_timestamp

__all__ = ["canonical", "parse_event"]


def parse_event(line: bytes) -> tuple[dict[str, Any], str, str]:
    """``(fields, event id, timestamp)`` of a line; raises if it is not an event."""
    data = loads(line)
    event_id = data["event_id"]
    moment = canonical(data["timestamp"])
    if type(data["name"]) is not str:
        raise TypeError("name is not a string")
    return data, event_id, moment


def canonical(timestamp: object) -> str:
    """A timestamp in the form convsdk stores, whose text order is time order."""
    if (
        type(timestamp) is str
        and len(timestamp) == 32
        and timestamp[10] == "T"
        and timestamp[26:] == "+00:00"
    ):
        return timestamp
    if not isinstance(timestamp, str):
        raise TypeError(f"timestamp is not a string: {timestamp!r}")
    return format_timestamp(parse_timestamp(timestamp))
