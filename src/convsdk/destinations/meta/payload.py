"""convsdk events as Conversions API server events.

From Meta's "Server Event Parameters": ``event_name`` ("a standard event or custom
event name"), ``event_time`` ("a Unix timestamp in seconds indicating when the actual
event occurred"; "if any event_time in data is greater than 7 days in the past, we
return an error for the entire request"), ``event_id`` (with ``event_name``, what
dedupes the browser pixel's copy of the same event), ``action_source``,
``event_source_url``, ``user_data`` and ``custom_data``. "Website events ... require
the client_user_agent, action_source, and event_source_url parameters."

From "Customer Information Parameters": ``em`` and ``ph`` "hashing required" (SHA-256
of the normalised value: convsdk's identify() stores only those), ``external_id``
"hashing recommended" (the hashed trait, and the user's id hashed here),
``client_ip_address``, ``client_user_agent``, ``fbc`` and ``fbp`` "do not hash".
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ...event import Event
from ..events import conversion_name, hashed_traits, sha256_hex
from .names import meta_event_name

__all__ = ["MAX_AGE", "MAX_EVENTS", "server_event", "too_old"]

MAX_EVENTS = 1000
#: Meta refuses a whole request holding an event older than 7 days.
MAX_AGE = 7 * 24 * 3600


def too_old(event: Event, now: float | None = None) -> bool:
    """Whether Meta would refuse ``event`` as more than 7 days old."""
    return (now or time.time()) - event.timestamp.timestamp() > MAX_AGE


def server_event(event: Event, names: Mapping[str, str], *, send_ip: bool) -> dict[str, Any]:
    """One item of a request's ``data``."""
    context = event.context
    url = context.get("url")
    item: dict[str, Any] = {
        "event_name": meta_event_name(conversion_name(event), names),
        "event_time": int(event.timestamp.timestamp()),
        "event_id": event.event_id,
        # "website" needs event_source_url; an event tracked outside a request (a
        # webhook's purchase) has none.
        "action_source": "website" if url else "other",
        "user_data": user_data(event, send_ip=send_ip),
    }
    if url:
        item["event_source_url"] = url
    custom = custom_data(event)
    if custom:
        item["custom_data"] = custom
    return item


def user_data(event: Event, *, send_ip: bool) -> dict[str, Any]:
    """The customer information Meta matches on: nothing raw but the user agent, the
    click and browser ids and, with ``send_ip``, the IP as stored."""
    context = event.context
    data: dict[str, Any] = {}
    for key, source in (("client_user_agent", "user_agent"), ("fbc", "fbc"), ("fbp", "fbp")):
        value = context.get(source)
        if isinstance(value, str) and value:
            data[key] = value
    ip = context.get("ip")
    if send_ip and isinstance(ip, str) and ip:
        data["client_ip_address"] = ip
    traits = hashed_traits(event)
    for key in ("em", "ph"):
        if key in traits:
            data[key] = [traits[key]]
    external = [traits["external_id"]] if "external_id" in traits else []
    person = event.user_id or event.visitor_id
    if person:
        external.append(sha256_hex(person))
    if external:
        data["external_id"] = external
    return data


def custom_data(event: Event) -> dict[str, Any]:
    """``value``, ``currency``, ``order_id`` (the transaction id) and the event's plain
    properties."""
    data: dict[str, Any] = {
        key: value
        for key, value in event.properties.items()
        if isinstance(value, str | int | float | bool)
    }
    if event.value is not None:
        data["value"] = event.value
        if event.currency:
            data["currency"] = event.currency
    if event.transaction_id:
        data["order_id"] = event.transaction_id
    return data
