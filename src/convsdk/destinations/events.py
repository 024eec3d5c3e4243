"""What every destination reads from an event the same way: whether it may be
forwarded, its conversion's name, its identities and hashed traits."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from ..event import Event

__all__ = [
    "IDENTIFY",
    "SERVER_ID",
    "chunks",
    "conversion_name",
    "forwardable",
    "hashed_traits",
    "sha256_hex",
]

#: The name of the event ``convsdk.identify()`` records.
IDENTIFY = "identify"
#: The stand-in visitor of events tracked outside a request with no user id either
#: (a webhook's purchase): services that need an id get this one.
SERVER_ID = "server"

_SHA256 = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


def forwardable(event: Event) -> bool:
    """Whether ``event`` may leave for a destination.

    A visitor under Do-Not-Track / Global Privacy Control, or refused by the consent
    callback, is recorded with no visitor id but with its request's context: those
    events are never forwarded (the fan-out already holds them back; this is the
    destination's own guard). An event tracked outside a request has no context and is.
    """
    return event.visitor_id is not None or not event.context


def conversion_name(event: Event) -> str:
    """The goal's name for a conversion, else the event's (``page_view``...)."""
    return event.goal or event.name


def sha256_hex(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8) as 64 lower-case hex digits."""
    return hashlib.sha256(text.encode()).hexdigest()


def hashed_traits(event: Event) -> dict[str, str]:
    """The hashed traits identify() left in the context (``em``, ``ph``,
    ``external_id``), only those that are SHA-256 hex digests: nothing raw ever leaves."""
    traits: Any = event.context.get("traits")
    if not isinstance(traits, dict):
        return {}
    return {
        key: value
        for key in ("em", "ph", "external_id")
        if isinstance(value := traits.get(key), str) and _SHA256.fullmatch(value)
    }


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
