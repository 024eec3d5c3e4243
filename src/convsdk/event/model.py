"""The :class:`Event` object, and :func:`trusted_event`, its fast constructor.

An event is built on the request thread, so building one only reads the clock: its id
and timestamp are formatted on first use, usually in the dispatcher thread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._json import dumps, dumps_str, loads
from .fields import COLUMNS, Kind
from .ids import new_event_id, random_bits
from .timestamps import format_ns, format_timestamp, parse_timestamp

__all__ = ["Event", "trusted_event"]

_getrandbits = random_bits  # convsdk's own generator (see .ids)
_time_ns = time.time_ns


class Event:
    """One recorded interaction or conversion.

    Build events with :meth:`convsdk.Tracker.track` (or :func:`make_event`), which
    validate their input; the constructor trusts its arguments.

    ``kind`` is ``"micro"`` or ``"macro"`` for a conversion and ``None`` for a plain
    interaction (a page view no goal matched: reports need those as denominators).
    ``context`` holds the request: ``method``, ``path``, ``url``, ``referrer``,
    ``user_agent``, ``ip``, ``status``, ``utm`` (``source``, ``medium``,
    ``campaign``, ``term``, ``content``), and where known ``variant`` and ``source``.
    """

    __slots__ = (
        "_event_id",
        "_ns",
        "_rand",
        "_timestamp",
        "context",
        "currency",
        "goal",
        "kind",
        "name",
        "properties",
        "session_id",
        "transaction_id",
        "user_id",
        "value",
        "visitor_id",
    )

    def __init__(
        self,
        name: str,
        *,
        kind: Kind | None = None,
        goal: str | None = None,
        value: float | None = None,
        currency: str | None = None,
        transaction_id: str | None = None,
        timestamp: datetime | None = None,
        visitor_id: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        properties: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> None:
        # The id and timestamp are formatted on first use (usually in the dispatcher
        # thread): the request thread only reads the clock.
        self._ns = _time_ns() if timestamp is None else int(timestamp.timestamp() * 1e9)
        self._rand = _getrandbits(62)
        self._event_id = event_id
        self._timestamp = timestamp
        self.name = name
        self.kind = kind
        self.goal = goal
        self.value = value
        self.currency = currency
        self.transaction_id = transaction_id
        self.visitor_id = visitor_id
        self.session_id = session_id
        self.user_id = user_id
        self.properties = properties if properties is not None else {}
        self.context = context if context is not None else {}

    @property
    def event_id(self) -> str:
        """Unique, time-ordered id (UUID version 7 layout); duplicates are dropped by it."""
        eid = self._event_id
        if eid is None:
            eid = self._event_id = new_event_id(self._ns, self._rand)
        return eid

    @event_id.setter
    def event_id(self, value: str) -> None:
        self._event_id = value

    @property
    def timestamp(self) -> datetime:
        """When the event happened, timezone-aware UTC."""
        ts = self._timestamp
        if ts is None:
            sec, us = divmod(self._ns // 1000, 1_000_000)
            ts = self._timestamp = datetime.fromtimestamp(sec, UTC).replace(microsecond=us)
        return ts

    @timestamp.setter
    def timestamp(self, value: datetime) -> None:
        self._timestamp = value
        self._ns = int(value.timestamp() * 1e9)

    def __repr__(self) -> str:
        return (
            f"Event(name={self.name!r}, kind={self.kind!r}, goal={self.goal!r}, "
            f"value={self.value!r}, currency={self.currency!r}, event_id={self.event_id!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The serialised form (the same as ``EventSchema().dump(event)``), JSON-ready."""
        return {
            "event_id": self.event_id,
            "name": self.name,
            "kind": self.kind,
            "goal": self.goal,
            "value": self.value,
            "currency": self.currency,
            "transaction_id": self.transaction_id,
            "timestamp": format_ns(self._ns)
            if self._timestamp is None
            else format_timestamp(self._timestamp),
            "visitor_id": self.visitor_id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "properties": self.properties,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Rebuild an event from its serialised form, trusting it (stored events).

        Use ``EventSchema().load(data)`` for input that needs validating.
        """
        ts = data.get("timestamp")
        return cls(
            data["name"],
            kind=data.get("kind"),
            goal=data.get("goal"),
            value=data.get("value"),
            currency=data.get("currency"),
            transaction_id=data.get("transaction_id"),
            timestamp=parse_timestamp(ts) if isinstance(ts, str) else ts,
            visitor_id=data.get("visitor_id"),
            session_id=data.get("session_id"),
            user_id=data.get("user_id"),
            properties=dict(data.get("properties") or {}),
            context=dict(data.get("context") or {}),
            event_id=data.get("event_id"),
        )

    def to_json(self) -> bytes:
        """The serialised form as compact UTF-8 JSON (orjson when installed).

        >>> Event("signup", event_id="e1").to_json()[:25]
        b'{"event_id":"e1","name":"'
        """
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """Rebuild an event from :meth:`to_json`'s bytes (or text), trusting them."""
        return cls.from_dict(loads(data))

    def to_row(self, *, json_text: bool = False, timestamp_text: bool = False) -> tuple[Any, ...]:
        """The event as the values of :data:`~convsdk.event.COLUMNS`, in that order.

        The timestamp is a timezone-aware UTC ``datetime``, or with ``timestamp_text=True``
        ISO-8601 text in UTC to the microsecond (``2026-11-02T10:00:00.000000+00:00``:
        text that sorts as the times do), for a store without a time type: SQLite's
        driver converts a ``datetime`` only through an adapter deprecated since Python
        3.12. ``properties`` and ``context`` are dicts, or compact JSON text with
        ``json_text=True`` (for a column that stores text).

        >>> Event("signup", event_id="e1").to_row(json_text=True)[-2:]
        ('{}', '{}')
        """
        ts: Any = self.timestamp
        if ts.tzinfo is not UTC:
            ts = ts.astimezone(UTC)
        if timestamp_text:
            ts = format_timestamp(ts)
        properties: Any = self.properties
        context: Any = self.context
        if json_text:
            properties, context = dumps_str(properties), dumps_str(context)
        return (
            self.event_id,
            self.name,
            self.kind,
            self.goal,
            self.value,
            self.currency,
            self.transaction_id,
            ts,
            self.visitor_id,
            self.session_id,
            self.user_id,
            properties,
            context,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Event:
        """Rebuild an event from the values of :data:`~convsdk.event.COLUMNS`, trusting them.

        The timestamp may be a ``datetime`` (a naive one is UTC) or ISO-8601 text; it
        comes back timezone-aware UTC. ``properties`` and ``context`` may be dicts or
        JSON text (or bytes); ``None`` is an empty dict. Raises ``ValueError`` for a row
        of the wrong length or a timestamp that is neither.

        >>> Event.from_row(("e1", "signup", None, None, None, None, None,
        ...     "2026-11-02T10:00:00", None, None, None, "{}", {})).timestamp.isoformat()
        '2026-11-02T10:00:00+00:00'
        """
        if len(row) != len(COLUMNS):
            raise ValueError(f"a row has {len(COLUMNS)} values ({', '.join(COLUMNS)})")
        return cls(
            row[1],
            event_id=row[0],
            kind=row[2],
            goal=row[3],
            value=row[4],
            currency=row[5],
            transaction_id=row[6],
            timestamp=_utc(row[7]),
            visitor_id=row[8],
            session_id=row[9],
            user_id=row[10],
            properties=_document(row[11], "properties"),
            context=_document(row[12], "context"),
        )


def _utc(value: Any) -> datetime:
    """A row's timestamp (a datetime, naive meaning UTC, or ISO-8601 text) in aware UTC."""
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise ValueError(f"timestamp must be a datetime or ISO-8601 text, got {value!r}")


def _document(value: Any, column: str) -> dict[str, Any]:
    """A JSON column's value (a dict, JSON text or bytes, or None) as a new dict."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)  # the row's own stays the row's
    if isinstance(value, str | bytes | bytearray | memoryview):
        value = loads(value if isinstance(value, str | bytes) else bytes(value))
        if isinstance(value, dict):
            return value
    raise ValueError(f"{column} must be a JSON object, got {value!r}")


_new_object = object.__new__


def trusted_event(
    name: str,
    kind: Kind | None,
    goal: str | None,
    value: float | None,
    currency: str | None,
    transaction_id: str | None,
    visitor_id: str | None,
    session_id: str | None,
    user_id: str | None,
    properties: dict[str, Any],
    context: dict[str, Any],
    timestamp: datetime | None = None,
) -> Event:
    """An :class:`Event` from values already checked, built on the request path.

    The same event as ``Event(name, kind=kind, ...)``, about twice as fast: calling a
    class with keyword arguments packs them into a dict on the way to ``__init__``,
    which costs more than the rest of building the event. Positional, no defaults
    but ``timestamp``; nothing is validated (use :func:`make_event` for that).
    """
    event = _new_object(Event)
    if timestamp is None:
        event._ns = _time_ns()
    else:
        event._ns = int(timestamp.timestamp() * 1e9)
    event._timestamp = timestamp
    event._rand = _getrandbits(62)
    event._event_id = None
    event.name = name
    event.kind = kind
    event.goal = goal
    event.value = value
    event.currency = currency
    event.transaction_id = transaction_id
    event.visitor_id = visitor_id
    event.session_id = session_id
    event.user_id = user_id
    event.properties = properties
    event.context = context
    return event
