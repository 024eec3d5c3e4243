"""Events at the documented size limits (``convsdk.event.MAX_*``): :func:`large_events`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..event import (
    MAX_DEPTH,
    MAX_ID,
    MAX_LIST,
    MAX_PROPERTIES,
    MAX_PROPERTIES_CHARS,
    MAX_STRING,
    Event,
    check_properties,
    make_event,
)
from .events import T0

__all__ = ["large_events", "large_properties"]


def _chars(value: Any) -> int:
    """Characters of strings and keys in a JSON value, as the event limits count them."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(k) + _chars(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_chars(v) for v in value)
    return 0


def large_properties(tag: int) -> dict[str, Any]:
    """Properties at the documented limits: as many keys, as long a string and list, as
    deep a nesting and as many characters in all as an event may carry."""
    deepest: Any = "deep"
    for level in range(MAX_DEPTH, 1, -1):
        deepest = {f"level{level}": deepest}
    props: dict[str, Any] = {
        "tag": tag,
        "nested": deepest,
        "list": list(range(MAX_LIST)),
        # Four code points of 1 to 4 UTF-8 bytes each: MAX_STRING characters, 2.5x the bytes.
        "wide": ("aé€🛒" * MAX_STRING)[:MAX_STRING],
    }
    # Spread what is left of the character budget over the remaining keys, so that both
    # the key count and the character count end exactly at their limits.
    budget = MAX_PROPERTIES_CHARS - _chars(props)
    slots = MAX_PROPERTIES - len(props)
    for index in range(slots):
        key = f"k{index:03d}"
        size = min(MAX_STRING, budget // (slots - index) - len(key))
        props[key] = (f"{tag}-{index}-" + "x" * size)[: max(size, 0)]
        budget -= len(key) + len(props[key])
    return check_properties(props)


def large_events(count: int = 3) -> list[Event]:
    """Events carrying the largest properties, ids and request context allowed."""
    context = {
        "method": "OPTIONS",
        "path": "/" + "p" * 2047,
        "url": "https://shop.example/" + "u" * (4096 - 21),
        "referrer": "https://ref.example/" + "r" * (4096 - 20),
        "user_agent": "Mozilla/5.0 " + "a" * (1024 - 12),
        "ip": "2001:db8:85a3::",
        "status": 599,
        "utm": {key: key[0] * 256 for key in ("source", "medium", "campaign", "term", "content")},
        "variant": "v" * 128,
    }
    return [
        make_event(
            "large",
            kind="macro",
            goal="g" * 64,
            value=1e15,
            currency="USD",
            transaction_id=f"{i}".ljust(MAX_ID, "t"),
            visitor_id=f"{i}".ljust(MAX_ID, "v"),
            session_id=f"{i}".ljust(MAX_ID, "s"),
            user_id=f"{i}".ljust(MAX_ID, "u"),
            properties=large_properties(i),
            context=context,
            timestamp=T0 + timedelta(seconds=i),
        )
        for i in range(count)
    ]
