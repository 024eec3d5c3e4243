"""The one definition of an event: :class:`Event` and its marshmallow :class:`EventSchema`.

An event is built on the request thread, so :func:`make_event` validates with a few
cheap checks and no serialisation; backends serialise in the dispatcher thread with
:meth:`Event.to_dict` (fast, hand-written) or :class:`EventSchema` (the reference,
used to validate untrusted input such as collector batches). A test keeps the two in
step.

Limits on what an event may carry (a :class:`ValueError` naming the field otherwise):

- ``name``, ``goal``: letters, digits and ``_``, 1 to 64 characters;
- ``kind``: ``"micro"``, ``"macro"`` or ``None``;
- ``value``: a finite number (``bool`` is not a number here);
- ``currency``: an ISO 4217 code, three letters (upper-cased);
- ``transaction_id``, ``user_id``, ``visitor_id``, ``session_id``: strings of at most
  128 characters;
- ``properties``: a dict with string keys (at most 128 characters), at most
  :data:`MAX_PROPERTIES` keys at any level, values JSON-compatible (str, int, float,
  bool, None, list, tuple, dict), strings at most :data:`MAX_STRING` characters,
  lists at most :data:`MAX_LIST` items, nesting at most :data:`MAX_DEPTH` deep, and
  at most :data:`MAX_PROPERTIES_CHARS` characters of strings and keys in all.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from marshmallow import Schema, ValidationError, fields, validate

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_LIST",
    "MAX_PROPERTIES",
    "MAX_PROPERTIES_CHARS",
    "MAX_STRING",
    "Event",
    "EventSchema",
    "Kind",
    "fast_event",
    "load_event",
    "make_event",
    "new_event_id",
    "trusted_event",
]

Kind = Literal["micro", "macro"]

MAX_PROPERTIES = 64
MAX_STRING = 4096
MAX_LIST = 256
MAX_DEPTH = 4
MAX_PROPERTIES_CHARS = 32_768
MAX_ID = 128

_NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
_KINDS = frozenset({"micro", "macro", None})
_SCALARS = frozenset({str, int, float, bool, type(None)})
_getrandbits = random.getrandbits
_time_ns = time.time_ns


def new_event_id(ns: int | None = None, rand: int | None = None) -> str:
    """Return a time-ordered UUID (version 7 layout) as a string.

    48 bits of Unix milliseconds, 12 bits of sub-millisecond time, then 62 random
    bits: ids sort by creation time and never collide in practice.
    """
    if ns is None:
        ns = _time_ns()
    if rand is None:
        rand = _getrandbits(62)
    ms, sub = divmod(ns, 1_000_000)
    n = (ms << 80) | (0x7 << 76) | ((sub * 4096 // 1_000_000) << 64) | (0b10 << 62) | rand
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: The fields of a serialised event, in their stored order: the one list that SQL
#: columns, row readers and comparisons derive from.
FIELDS: tuple[str, ...] = (
    "event_id",
    "name",
    "kind",
    "goal",
    "value",
    "currency",
    "transaction_id",
    "timestamp",
    "visitor_id",
    "session_id",
    "user_id",
    "properties",
    "context",
)


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


_second_cache: tuple[int, str] = (-1, "")


def format_ns(ns: int) -> str:
    """``format_timestamp`` for a clock reading, with the date part cached per second."""
    global _second_cache
    sec, us = divmod(ns // 1000, 1_000_000)
    cached = _second_cache
    if cached[0] != sec:
        cached = _second_cache = (
            sec,
            datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        )
    return f"{cached[1]}.{us:06d}+00:00"


def format_timestamp(ts: datetime) -> str:
    """ISO-8601 in UTC with microseconds, so stored timestamps sort as text."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.isoformat(timespec="microseconds")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as UTC."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


# -- validation (request thread: cheap checks, no serialisation) -------------------


_valid_names: set[str] = set()


def check_name(field: str, value: Any) -> None:
    # Sites use a handful of names: remember the valid ones (bounded) to skip the regex.
    if value in _valid_names:
        return
    if not isinstance(value, str) or _NAME.match(value) is None:
        raise ValueError(f"{field} must be 1-64 letters, digits or underscores, got {value!r}")
    if len(_valid_names) < 10_000:
        _valid_names.add(value)


def _check_id(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"{field} must be a non-empty string of at most {MAX_ID} characters")
    return value


def check_value(value: Any) -> float | None:
    """Validate a monetary value: a finite number, returned as ``float``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"value must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("value must be a finite number")
    return number


def check_currency(currency: Any) -> str:
    """Validate an ISO 4217 currency code (three letters) and upper-case it."""
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isascii()
        or not currency.isalpha()
    ):
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {currency!r}")
    return currency.upper()


def check_properties(properties: Any) -> dict[str, Any]:
    """Validate properties against the documented limits; return a copy as a dict.

    A copy, so that the caller changing its dict after ``track()`` changes no event.
    """
    if properties is None:
        return {}
    if type(properties) is not dict:
        if not isinstance(properties, dict):
            raise ValueError("properties must be a dict")
    elif len(properties) <= MAX_PROPERTIES:
        # Fast path for the usual small, flat dict of scalars: no recursion, no budget list.
        chars = 0
        for key, val in properties.items():
            t = type(val)
            if type(key) is not str or len(key) > 128:
                break
            if t is str:
                if len(val) > MAX_STRING:
                    break
                chars += len(val)
            elif t is float:
                if val - val != 0.0:  # inf or nan
                    break
            elif t is not int and t is not bool and val is not None:
                break
            chars += len(key)
        else:
            if chars <= MAX_PROPERTIES_CHARS:
                return properties.copy()  # scalars only: a shallow copy is a whole one
    budget = [MAX_PROPERTIES_CHARS]
    _check_mapping(properties, "properties", 1, budget)
    return _copied(properties)  # type: ignore[no-any-return]


def _copied(val: Any) -> Any:
    """A copy of checked JSON data: new dicts and lists, the same scalars."""
    t = type(val)
    if t is dict or isinstance(val, dict):
        return {key: _copied(item) for key, item in val.items()}
    if t is list:
        return [_copied(item) for item in val]
    if t is tuple:
        return tuple(_copied(item) for item in val)
    return val


def _check_mapping(obj: dict[Any, Any], path: str, depth: int, budget: list[int]) -> None:
    if len(obj) > MAX_PROPERTIES:
        raise ValueError(f"{path} has more than {MAX_PROPERTIES} keys")
    for key, val in obj.items():
        if type(key) is not str or len(key) > 128:
            raise ValueError(f"{path} keys must be strings of at most 128 characters, got {key!r}")
        budget[0] -= len(key)
        _check_json(val, f"{path}.{key}", depth, budget)
    if budget[0] < 0:
        raise ValueError(f"properties exceed {MAX_PROPERTIES_CHARS} characters")


def _check_json(val: Any, path: str, depth: int, budget: list[int]) -> None:
    t = type(val)
    if t is str:
        if len(val) > MAX_STRING:
            raise ValueError(f"{path} is longer than {MAX_STRING} characters")
        budget[0] -= len(val)
    elif t is float:
        if not math.isfinite(val):
            raise ValueError(f"{path} must be a finite number")
    elif t in _SCALARS:
        return
    elif t is dict:
        if depth >= MAX_DEPTH:
            raise ValueError(f"{path} nests deeper than {MAX_DEPTH} levels")
        _check_mapping(val, path, depth + 1, budget)
    elif t is list or t is tuple:
        if depth >= MAX_DEPTH:
            raise ValueError(f"{path} nests deeper than {MAX_DEPTH} levels")
        if len(val) > MAX_LIST:
            raise ValueError(f"{path} has more than {MAX_LIST} items")
        for i, item in enumerate(val):
            _check_json(item, f"{path}[{i}]", depth + 1, budget)
    else:
        raise ValueError(f"{path} is not JSON-serialisable ({t.__name__})")


def make_event(
    name: str,
    *,
    kind: str | None = None,
    goal: str | None = None,
    value: Any = None,
    currency: str | None = None,
    default_currency: str = "USD",
    transaction_id: Any = None,
    visitor_id: Any = None,
    session_id: Any = None,
    user_id: Any = None,
    properties: Any = None,
    context: dict[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> Event:
    """Validate the arguments and build an :class:`Event`; raise ``ValueError`` naming the field.

    A ``value`` given without a ``currency`` takes ``default_currency``.
    """
    check_name("name", name)
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'micro', 'macro' or None, got {kind!r}")
    if goal is not None:
        check_name("goal", goal)
    if value is not None:
        value = check_value(value)
        currency = default_currency if currency is None else check_currency(currency)
    elif currency is not None:
        currency = check_currency(currency)
    if timestamp is not None:
        if not isinstance(timestamp, datetime):
            raise ValueError("timestamp must be a datetime")
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
    if transaction_id is not None:
        transaction_id = _check_id("transaction_id", transaction_id)
    if visitor_id is not None:
        visitor_id = _check_id("visitor_id", visitor_id)
    if session_id is not None:
        session_id = _check_id("session_id", session_id)
    if user_id is not None:
        user_id = _check_id("user_id", user_id)
    return trusted_event(
        name,
        kind,  # type: ignore[arg-type]
        goal,
        value,
        currency,
        transaction_id,
        visitor_id,
        session_id,
        user_id,
        check_properties(properties) if properties is not None else {},
        context if context is not None else {},
        timestamp,
    )


# -- the marshmallow schema: the reference serialised form ---------------------------


class _UTCDateTime(fields.Field[datetime]):
    """ISO-8601 UTC with microseconds on dump; any ISO-8601 on load (naive = UTC)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_timestamp(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError("Not a valid ISO-8601 datetime.")
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError) as exc:
            raise ValidationError("Not a valid ISO-8601 datetime.") from exc


def _validate_properties(value: Any) -> None:
    try:
        check_properties(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _validate_finite(value: float) -> None:
    if not math.isfinite(value):
        raise ValidationError("Must be a finite number.")


class UTMSchema(Schema):
    """UTM parameters of the request that carried an event."""

    source = fields.String(allow_none=True, validate=validate.Length(max=256))
    medium = fields.String(allow_none=True, validate=validate.Length(max=256))
    campaign = fields.String(allow_none=True, validate=validate.Length(max=256))
    term = fields.String(allow_none=True, validate=validate.Length(max=256))
    content = fields.String(allow_none=True, validate=validate.Length(max=256))


class ContextSchema(Schema):
    """The request an event came from; unknown keys are kept (integrations may add some)."""

    class Meta:
        unknown = "include"

    method = fields.String(allow_none=True, validate=validate.Length(max=16))
    path = fields.String(allow_none=True, validate=validate.Length(max=2048))
    url = fields.String(allow_none=True, validate=validate.Length(max=4096))
    referrer = fields.String(allow_none=True, validate=validate.Length(max=4096))
    user_agent = fields.String(allow_none=True, validate=validate.Length(max=1024))
    ip = fields.String(allow_none=True, validate=validate.Length(max=64))
    status = fields.Integer(allow_none=True, strict=True)
    utm = fields.Nested(UTMSchema, allow_none=True)
    variant = fields.String(allow_none=True, validate=validate.Length(max=128))
    source = fields.String(allow_none=True, validate=validate.Length(max=32))


_context_schema = ContextSchema()


def _validate_context(value: Any) -> None:
    errors = _context_schema.validate(value)
    if errors:
        raise ValidationError(errors)


_name_validator = validate.Regexp(
    r"^[A-Za-z0-9_]{1,64}\Z", error="Must be 1-64 letters, digits or underscores."
)
_id_validator = validate.Length(min=1, max=MAX_ID)


class EventSchema(Schema):
    """Marshmallow schema of the serialised event; ``load`` returns an :class:`Event`.

    >>> EventSchema().load({"name": "signup", "kind": "micro", "event_id": "...", ...})
    """

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=_name_validator)
    kind = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf(["micro", "macro"])
    )
    goal = fields.String(allow_none=True, load_default=None, validate=_name_validator)
    value = fields.Float(
        allow_none=True, load_default=None, allow_nan=False, validate=_validate_finite
    )
    currency = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(r"^[A-Za-z]{3}\Z", error="Must be a three-letter ISO 4217 code."),
    )
    transaction_id = fields.String(allow_none=True, load_default=None, validate=_id_validator)
    timestamp = _UTCDateTime(required=True)
    visitor_id = fields.String(allow_none=True, load_default=None, validate=_id_validator)
    session_id = fields.String(allow_none=True, load_default=None, validate=_id_validator)
    user_id = fields.String(allow_none=True, load_default=None, validate=_id_validator)
    properties = fields.Dict(keys=fields.String(), load_default=dict, validate=_validate_properties)
    context = fields.Dict(keys=fields.String(), load_default=dict, validate=_validate_context)

    def load(self, data: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Validate serialised event(s) and return :class:`Event` object(s)."""
        loaded = super().load(data, **kwargs)
        if isinstance(loaded, list):
            return [self._build(item) for item in loaded]
        return self._build(loaded)

    @staticmethod
    def _build(data: dict[str, Any]) -> Event:
        if data.get("currency"):
            data["currency"] = data["currency"].upper()
        return Event(**{k: v for k, v in data.items() if k != "name"}, name=data["name"])


# -- validating serialised events (collector batches, spool lines) ------------------
#
# EventSchema is the reference, but at ~200 µs an event it caps a collector at about
# 5,000 events a second. fast_event runs the same rules as plain checks (~10 µs an
# event) that accept only what EventSchema accepts and build the same events; what they
# do not accept goes through EventSchema, which then decides and names the errors.
# tests/test_collector.py checks the two agree and that the field lists below follow
# the schema.

_EVENT_FIELDS = frozenset(FIELDS)
_ID_FIELDS = ("transaction_id", "visitor_id", "session_id", "user_id")
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
    if type(name) is not str or _NAME.match(name) is None:
        return None
    if kind not in _FAST_KINDS:
        return None
    if goal is not None and (type(goal) is not str or _NAME.match(goal) is None):
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
    for field in _ID_FIELDS:
        v = get(field)
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
    return Event(
        name,
        kind=kind,
        goal=goal,
        value=value,
        currency=currency,
        transaction_id=get("transaction_id"),
        timestamp=when,
        visitor_id=get("visitor_id"),
        session_id=get("session_id"),
        user_id=get("user_id"),
        properties=properties,
        context=context,
        event_id=event_id,
    )


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
