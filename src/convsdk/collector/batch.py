"""Decoding a batch: gzip, JSON, the events' schema and bounds; all or nothing."""

from __future__ import annotations

import zlib
from typing import Any

from marshmallow import ValidationError

from .._json import loads
from ..event import Event, EventSchema, fast_event
from .bounds import Bounds
from .request import Refused

__all__ = ["gunzip", "load_events", "parse_batch"]


def parse_batch(body: bytes, encoding: str, cap: int, bounds: Bounds) -> list[Event]:
    """Decode and validate a batch (in a worker thread: it is CPU work)."""
    if encoding == "gzip":
        body = gunzip(body, cap)
    try:
        payload = loads(body)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise Refused(
            422,
            "the body must be an object with an 'events' list",
            errors={"events": ["Not a valid list."]},
        )
    try:
        events = load_events(payload["events"])
    except ValidationError as exc:
        raise Refused(422, "invalid events; nothing was stored", errors=exc.messages) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date that overflows in UTC
        raise Refused(422, f"invalid events; nothing was stored: {exc}") from None
    problems = bounds.problems(events)
    if problems:
        raise Refused(422, "events out of bounds; nothing was stored", errors=problems)
    return events


def gunzip(data: bytes, cap: int) -> bytes:
    """``data`` inflated, refused past ``cap`` bytes or when not whole, valid gzip."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # Bounded output: a small body that inflates past the cap stops here.
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise Refused(400, f"the body is not valid gzip: {exc}") from None
    if len(out) > cap or inflater.unconsumed_tail:
        raise Refused(413, f"the decompressed body is larger than {cap} bytes")
    if not inflater.eof or inflater.unused_data:
        raise Refused(400, "the body is not valid gzip: truncated or trailing data")
    return out


def load_events(items: Any) -> list[Event]:
    """Validate a list of serialised events as ``EventSchema(many=True).load`` does.

    Raises :class:`marshmallow.ValidationError` (errors keyed by index) when any event
    is invalid.
    """
    if type(items) is list:
        events = []
        for item in items:
            event = fast_event(item)
            if event is None:
                break
            events.append(event)
        else:
            return events
    return EventSchema(many=True).load(items)  # type: ignore[no-any-return]
