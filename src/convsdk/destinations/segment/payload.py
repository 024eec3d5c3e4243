"""convsdk events as Segment Spec messages (``track``; ``page`` for a plain page view,
``identify`` for the identify event), which RudderStack takes as well.

From Segment's HTTP Tracking API: each call has ``type``, ``userId`` and/or
``anonymousId`` ("the HTTP API requires that each payload has a userId and/or
anonymousId"), ``messageId`` (Segment "deduplicates events using the messageId
field"), ``timestamp`` (ISO-8601) and ``context``; a track call has ``event`` ("all
Track events sent to Segment must have an event field") and ``properties``.
``revenue``, ``currency`` and ``order_id`` are the Spec's names for an order.

The Spec has no field for ad click ids: a call's ``properties`` carry the visitor's
first and last (``gclid``, ``fbclid``... under their own names, the last one winning),
where the ad destinations' mappings can read them. An identify call's ``traits`` hold
the hashed traits only (``em``, ``ph``, ``external_id``: SHA-256 hex, as stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ...event import Event
from ..events import IDENTIFY, SERVER_ID, conversion_name, hashed_traits

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
    """The Segment call for ``event``: ``identify`` for the identify event (its hashed
    traits only: raw ones are never stored), ``page`` for a page view that is no conversion, else
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
        traits = hashed_traits(event)
        if traits:
            call["traits"] = traits
        return call
    if event.name == PAGE_VIEW and event.kind is None:
        call["type"] = "page"
        page = call["context"].get("page", {})
        call["properties"] = {**_click_ids(event.context), **event.properties, **page}
        return call
    name = conversion_name(event)
    call["type"] = "track"
    call["event"] = names.get(name, name)
    call["properties"] = _properties(event)
    return call


def _click_ids(context: Mapping[str, Any]) -> dict[str, str]:
    """The visitor's first and last click ids by name (the last wins a shared name)."""
    clicks = context.get("click_ids")
    if not isinstance(clicks, dict):
        return {}
    found: dict[str, str] = {}
    for click in (clicks.get("first"), clicks.get("last")):
        if isinstance(click, dict) and isinstance(click.get("name"), str):
            if isinstance(click.get("id"), str):
                found[click["name"]] = click["id"]
    return found


def _properties(event: Event) -> dict[str, Any]:
    properties = {**_click_ids(event.context), **event.properties}
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
