"""convsdk events as Segment Spec messages (``track``; ``page`` for a plain page view,
``identify`` for the identify event), which RudderStack takes as well.

From Segment's HTTP Tracking API: each call has ``type``, ``userId`` and/or
``anonymousId`` ("the HTTP API requires that each payload has a userId and/or
anonymousId"), ``messageId`` (Segment "deduplicates events using the messageId
field"), ``timestamp`` (ISO-8601) and ``context``; a track call has ``event`` ("all
Track events sent to Segment must have an event field") and ``properties``.
``revenue``, ``currency`` and ``order_id`` are the Spec's names for an order.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ...event import Event
from ..events import IDENTIFY, SERVER_ID, conversion_name

__all__ = ["PAGE_VIEW", "message"]

#: The interaction sent as a ``page`` call when no goal made it a conversion.
PAGE_VIEW = "page_view"

try:
    _LIBRARY = {"name": "convsdk", "version": version("convsdk")}
except PackageNotFoundError:  # running from a source tree that is not installed
    _LIBRARY = {"name": "convsdk", "version": "0"}

# utm_* -> the Spec's context.campaign names.
_CAMPAIGN = {"source": "source", "medium": "medium", "campaign": "name", "term": "term",
             "content": "content"}  # fmt: skip


def message(event: Event, names: Mapping[str, str]) -> dict[str, Any]:
    """The Segment call for ``event``: ``identify`` for the identify event (no traits:
    raw ones are never stored), ``page`` for a page view that is no conversion, else
    ``track``, named by ``names`` (the ``events=`` option) or the goal's (or
    interaction's) name."""
    call: dict[str, Any] = {"messageId": event.event_id}
    if event.user_id:
        call["userId"] = event.user_id
    if event.visitor_id or not event.user_id:
        call["anonymousId"] = event.visitor_id or SERVER_ID
    call["timestamp"] = event.timestamp.isoformat()
    call["context"] = _context(event.context)
    if event.name == IDENTIFY:
        call["type"] = "identify"
        return call
    if event.name == PAGE_VIEW and event.kind is None:
        call["type"] = "page"
        call["properties"] = {**event.properties, **call["context"].get("page", {})}
        return call
    name = conversion_name(event)
    call["type"] = "track"
    call["event"] = names.get(name, name)
    call["properties"] = _properties(event)
    return call


def _properties(event: Event) -> dict[str, Any]:
    properties = dict(event.properties)
    if event.kind:
        properties["conversion"] = event.kind
    if event.value is not None:
        properties["value"] = event.value
        if event.kind == "macro":
            properties["revenue"] = event.value
    if event.currency and event.value is not None:
        properties["currency"] = event.currency
    if event.transaction_id:
        properties["order_id"] = event.transaction_id
    return properties


def _context(context: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"library": _LIBRARY}
    if context.get("ip"):
        out["ip"] = context["ip"]
    if context.get("user_agent"):
        out["userAgent"] = context["user_agent"]
    page = {key: context[key] for key in ("url", "path", "referrer") if context.get(key)}
    if page:
        out["page"] = page
    utm = context.get("utm")
    if isinstance(utm, dict):
        campaign = {name: utm[key] for key, name in _CAMPAIGN.items() if utm.get(key)}
        if campaign:
            out["campaign"] = campaign
    return out
