"""The one definition of an event: :class:`Event` and its marshmallow :class:`EventSchema`.

An event is built on the request thread, so :func:`make_event` validates with a few
cheap checks and no serialisation; backends serialise in the dispatcher thread with
:meth:`Event.to_dict` (fast, hand-written), :meth:`Event.to_json` (its bytes) or
:class:`EventSchema` (the reference, used to validate untrusted input such as collector
batches). A test keeps them in step. A table of events has the :data:`COLUMNS` (the
:data:`FIELDS`, in order); :meth:`Event.to_row` and :meth:`Event.from_row` convert.

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

The package, one job a module: ``model`` (the :class:`Event` and its fast constructor),
``fields`` (the field list and limits), ``validation`` (checks on the request thread),
``build`` (:func:`make_event`), ``ids``, ``timestamps``, ``schema`` (the marshmallow
schemas) and ``loading`` (validating serialised events quickly).
"""

from __future__ import annotations

from .build import make_event
from .fields import (
    COLUMNS,
    FIELDS,
    MAX_DEPTH,
    MAX_ID,
    MAX_LIST,
    MAX_PROPERTIES,
    MAX_PROPERTIES_CHARS,
    MAX_STRING,
    Kind,
)
from .ids import new_event_id
from .loading import fast_event, load_event
from .model import Event, trusted_event
from .schema import ContextSchema, EventSchema, UTMSchema
from .timestamps import format_ns, format_timestamp, parse_timestamp
from .validation import (
    check_currency,
    check_id,
    check_name,
    check_properties,
    check_value,
    name_hint,
)

__all__ = [
    "COLUMNS",
    "FIELDS",
    "MAX_DEPTH",
    "MAX_ID",
    "MAX_LIST",
    "MAX_PROPERTIES",
    "MAX_PROPERTIES_CHARS",
    "MAX_STRING",
    "ContextSchema",
    "Event",
    "EventSchema",
    "Kind",
    "UTMSchema",
    "check_currency",
    "check_id",
    "check_name",
    "name_hint",
    "check_properties",
    "check_value",
    "fast_event",
    "format_ns",
    "format_timestamp",
    "load_event",
    "make_event",
    "new_event_id",
    "parse_timestamp",
    "trusted_event",
]
