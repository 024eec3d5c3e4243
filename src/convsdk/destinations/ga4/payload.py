"""convsdk events as Measurement Protocol requests: one request per ``client_id`` (and
``user_id``), at most 25 events each.

From Google's guide "Send Measurement Protocol events": the body holds ``client_id``
("a unique identifier for a client"), ``user_id`` ("optional"), and ``events``, "an
array of event items"; "in order for user activity to display in reports like
Realtime, ``engagement_time_msec`` and ``session_id`` must be supplied as part of the
``params`` for an ``event``". Each event carries its own ``timestamp_micros`` (Unix
microseconds), which overrides the request's. "Requests can have a maximum of 25 events."
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...event import Event
from ..events import IDENTIFY, SERVER_ID, chunks, conversion_name, forwardable
from .names import MAX_PARAMS, event_name, param_name, param_value

__all__ = ["MAX_EVENTS", "client_id", "ga4_event", "ga4_event_name", "requests"]

MAX_EVENTS = 25
# Interactions with a recommended GA4 name of their own.
_INTERACTIONS = {"checkout": "begin_checkout"}
# The utm_* values, under GA4's campaign parameter names.
_UTM_PARAMS = ("source", "medium", "campaign", "term", "content")


def client_id(event: Event) -> str:
    """The ``_ga`` cookie's client id, else the visitor id, else the user id, else
    ``"server"`` (an event tracked outside a request)."""
    ga = event.context.get("ga_client_id")
    if isinstance(ga, str) and ga:
        return ga
    return event.visitor_id or event.user_id or SERVER_ID


def ga4_event_name(event: Event, names: Mapping[str, str]) -> str:
    """The GA4 name: ``names``' (the ``events=`` option) for the goal, else
    ``purchase`` for a macro conversion with a transaction id or a value, else the
    goal's (or interaction's) name made valid."""
    name = conversion_name(event)
    if name in names:
        return names[name]
    if event.kind == "macro" and (event.transaction_id or event.value is not None):
        return "purchase"
    if event.kind is None and name in _INTERACTIONS:
        return _INTERACTIONS[name]
    return event_name(name)


def ga4_event(event: Event, names: Mapping[str, str]) -> dict[str, Any]:
    """One item of a request's ``events``."""
    params: dict[str, Any] = {"engagement_time_msec": 1}
    if event.session_id:
        params["session_id"] = event.session_id[:100]
    context = event.context
    _put(params, "page_location", context.get("url"))
    _put(params, "page_referrer", context.get("referrer"))
    utm = context.get("utm")
    if isinstance(utm, dict):
        for key in _UTM_PARAMS:
            _put(params, key, utm.get(key))
    if event.value is not None:
        _put(params, "value", event.value)
        _put(params, "currency", event.currency)
    _put(params, "transaction_id", event.transaction_id)
    for key, value in event.properties.items():
        if len(params) >= MAX_PARAMS:
            break
        name = param_name(str(key))
        if name not in params:
            _put(params, name, value)
    return {
        "name": ga4_event_name(event, names),
        "params": params,
        "timestamp_micros": int(event.timestamp.timestamp() * 1_000_000),
    }


def _put(params: dict[str, Any], name: str, value: Any) -> None:
    if value is None or value == "":
        return
    converted = param_value(name, value)
    if converted is not None:
        params[name] = converted


def requests(events: Sequence[Event], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The request bodies for ``events``: grouped by client and user, in order, at most
    :data:`MAX_EVENTS` a request. Identify events and events that may not be forwarded
    are left out (GA4 learns the user id from the events that follow)."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for event in events:
        if event.name == IDENTIFY or not forwardable(event):
            continue
        key = (client_id(event), event.user_id)
        groups.setdefault(key, []).append(ga4_event(event, names))
    bodies: list[dict[str, Any]] = []
    for (client, user), items in groups.items():
        for part in chunks(items, MAX_EVENTS):
            body: dict[str, Any] = {"client_id": client}
            if user:
                body["user_id"] = user
            body["events"] = list(part)
            bodies.append(body)
    return bodies
