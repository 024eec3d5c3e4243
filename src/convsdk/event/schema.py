"""The marshmallow :class:`EventSchema`: the reference serialised form of an event.

Backends serialise with the faster :meth:`Event.to_dict` (a test keeps the two in
step); the schema validates untrusted input, such as collector batches, and names
every field at fault.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .fields import MAX_ID
from .model import Event
from .timestamps import format_timestamp, parse_timestamp
from .validation import check_properties

__all__ = ["ContextSchema", "EventSchema", "UTMSchema"]


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

    >>> event = EventSchema().load(
    ...     {"event_id": "3f2a9c", "name": "signup", "kind": "macro",
    ...      "timestamp": "2026-12-01T09:30:00+00:00"}
    ... )
    >>> event.name, event.kind, event.timestamp.isoformat()
    ('signup', 'macro', '2026-12-01T09:30:00+00:00')
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
