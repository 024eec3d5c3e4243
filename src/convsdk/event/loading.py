"""Validating serialised events (collector batches, spool lines): :func:`load_event`.

:class:`~convsdk.event.schema.EventSchema` is the reference, but at ~200 µs an event it
caps a collector at about 5,000 events a second. :func:`fast_event` runs the same rules
as plain checks (~10 µs an event) that accept only what ``EventSchema`` accepts and build
the same events; what they do not accept goes through ``EventSchema``, which then
decides and names the errors. tests/test_collector.py checks the two agree and that the
field lists below follow the schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .fields import FIELDS, NAME
from .model import Event, trusted_event
from .schema import EventSchema
from .timestamps import parse_timestamp
from .validation import check_properties

__all__ = ["fast_event", "load_event"]

_EVENT_FIELDS = frozenset(FIELDS)
_CONTEXT_STRINGS: Mapping[str, int] = {
    "method": 16,
    "path": 2048,
    "url": 4096,
    "referrer": 4096,
    "user_agent": 1024,
    "ip": 64,
    "variant": 128,
    "source": 32,
}
_UTM_FIELDS = frozenset({"source", "medium", "campaign", "term", "content"})
_CURRENCY = re.compile(r"[A-Za-z]{3}\Z")
_FAST_KINDS = (None, "micro", "macro")
_EXACT_FLOAT = 2**53
_MISSING: Any = object()


def load_event(data: Any) -> Event:
    """Validate one serialised event (as ``EventSchema().load`` does) and build it.

    Raises :class:`marshmallow.ValidationError` naming the fields (or ``ValueError`` for
    a date that overflows in UTC).

    >>> load_event({"event_id": "...", "name": "signup", "timestamp": "2026-11-02T10:00:00Z"})
    """
    event = fast_event(data)
    if event is None:
        event = EventSchema().load(data)
    return event


def fast_event(data: Any) -> Event | None:
    """The event serialised ``data`` describes, or ``None`` to leave the decision to
    :class:`EventSchema` (which accepts everything this accepts, and builds the same
    event)."""
    if type(data) is not dict or not data.keys() <= _EVENT_FIELDS:
        return None
    get = data.get
    event_id, name, timestamp = get("event_id"), get("name"), get("timestamp")
    kind, goal, value, currency = get("kind"), get("goal"), get("value"), get("currency")
    if type(event_id) is not str or not 0 < len(event_id) <= 64:
        return None
    if type(name) is not str or NAME.match(name) is None:
        return None
    if kind not in _FAST_KINDS:
        return None
    if goal is not None and (type(goal) is not str or NAME.match(goal) is None):
        return None
    if value is not None:
        if type(value) is int and -_EXACT_FLOAT <= value <= _EXACT_FLOAT:
            value = float(value)
        elif type(value) is not float or not math.isfinite(value):
            return None
    if currency is not None:
        if type(currency) is not str or _CURRENCY.match(currency) is None:
            return None
        currency = currency.upper()
    ids = get("transaction_id"), get("visitor_id"), get("session_id"), get("user_id")
    for v in ids:
        if v is not None and (type(v) is not str or not 0 < len(v) <= 128):
            return None
    if type(timestamp) is not str:
        return None
    try:
        when = parse_timestamp(timestamp)
    except (ValueError, OverflowError):
        return None
    properties, context = get("properties", _MISSING), get("context", _MISSING)
    if properties is _MISSING:
        properties = {}
    elif type(properties) is not dict:
        return None
    else:
        try:
            check_properties(properties)
        except ValueError:
            return None
    if context is _MISSING:
        context = {}
    elif type(context) is not dict or not _context_ok(context):
        return None
    # Positional, the fastest way to build the event (see trusted_event).
    tid, vid, sid, uid = ids
    event = trusted_event(
        name, kind, goal, value, currency, tid, vid, sid, uid, properties, context, when
    )
    event.event_id = event_id
    return event


def _context_ok(context: dict[Any, Any]) -> bool:
    for key in context:
        if type(key) is not str:
            return False
    for key, limit in _CONTEXT_STRINGS.items():
        v = context.get(key)
        if v is not None and (type(v) is not str or len(v) > limit):
            return False
    status = context.get("status")
    if status is not None and type(status) is not int:
        return False
    utm = context.get("utm")
    if utm is not None:
        if type(utm) is not dict or not utm.keys() <= _UTM_FIELDS:
            return False
        for v in utm.values():
            if v is not None and (type(v) is not str or len(v) > 256):
                return False
    return True
