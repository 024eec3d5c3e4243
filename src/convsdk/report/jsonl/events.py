"""One line of a log as an event: its fields, id and timestamp in the stored form."""

from __future__ import annotations

import sys
from typing import Any

from ...event import format_timestamp, parse_timestamp
from .lines import parse_line

__all__ = ["canonical", "checked", "finite", "parse_event"]

_LARGEST = sys.float_info.max


def parse_event(line: bytes) -> tuple[dict[str, Any], str, str]:
    """``(fields, event id, timestamp)`` of a line; raises if it is not an event."""
    data = checked(parse_line(line))
    return data, data["event_id"], canonical(data["timestamp"])


def finite(value: object) -> float | int | None:
    """A conversion's value as the report counts it: a finite number, else none (text,
    NaN, Infinity, an integer beyond floats)."""
    if type(value) is float:
        return value if -_LARGEST <= value <= _LARGEST else None  # NaN compares false
    if type(value) is int and -_LARGEST <= value <= _LARGEST:
        return value
    return None


def checked(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` if its fields have the types a report reads (raises ``TypeError`` if
    not: it is no event), with a number given as an order or user id as text, as a SQL
    store keeps it (a copy then: ``data`` is left as it is).

    Text or null: ``visitor_id`` and, for a conversion, ``goal`` and ``currency``; a
    conversion's ``kind`` is text.
    """
    if type(data["event_id"]) is not str or type(data["name"]) is not str:
        raise TypeError("event_id and name must be strings")
    get = data.get
    visitor_id, kind, user_id = get("visitor_id"), get("kind"), get("user_id")
    if visitor_id is not None and type(visitor_id) is not str:
        raise TypeError(f"visitor_id is not a string: {visitor_id!r}")
    if user_id is not None and type(user_id) is not str:
        data = {**data, "user_id": _id_text("user_id", user_id)}
    if kind is None:
        return data
    if type(kind) is not str:
        raise TypeError(f"kind is not a string: {kind!r}")
    for field in ("goal", "currency"):
        value = get(field)
        if value is not None and type(value) is not str:
            raise TypeError(f"{field} is not a string: {value!r}")
    transaction = get("transaction_id")
    if transaction is not None and type(transaction) is not str:
        data = {**data, "transaction_id": _id_text("transaction_id", transaction)}
    return data


def _id_text(field: str, value: object) -> str:
    """An integer id as the text a SQL store keeps it as; anything else is no id."""
    if type(value) is not int:
        raise TypeError(f"{field} is neither text nor an integer: {value!r}")
    return str(value)


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
