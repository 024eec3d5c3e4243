"""What a collect request's body says, checked: the events and the page they come from.

``{"url": "<page>", "events": [{"name": "scroll_depth", "properties": {"depth": 75}},
...]}``. Only micro events with allowlisted names and their properties; a key the
server decides (a value, an id, a goal) is a forgery attempt, and one bad event
refuses the whole batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlunsplit

from .. import privacy
from .._json import loads
from ..event import check_properties
from ..web.utm import utm_fields
from .allowlist import name_ok
from .answers import Answer, refuse
from .hosts import parse_url

if TYPE_CHECKING:
    from .admission import Visit
    from .hosts import Hosts

__all__ = ["Page", "check_events", "page_of", "parse_body"]

#: (url, path, utm) of the page the events come from
Page = tuple[str | None, str | None, dict[str, str | None] | None]

# Keys of an event the server decides: the browser sending one is a forgery attempt.
SERVER_KEYS = frozenset(
    {
        "value", "currency", "transaction_id", "goal", "visitor_id", "session_id",
        "user_id", "event_id", "timestamp", "context",
    }
)  # fmt: skip
EVENT_KEYS = frozenset({"name", "kind", "properties"})
MAX_URL, MAX_PATH = 4096, 2048


def parse_body(body: bytes, max_events: int) -> Answer | tuple[list[Any], Any]:
    """(the events, the page's url) of a JSON body, not yet checked one by one."""
    try:
        payload = loads(body)
    except ValueError:  # includes UnicodeDecodeError and orjson's JSONDecodeError
        return refuse(400, "body is not JSON")
    if not isinstance(payload, dict):
        return refuse(400, 'expected {"events": [...]}')
    items = payload.get("events")
    if not isinstance(items, list) or not items:
        return refuse(400, "events must be a non-empty list")
    if len(items) > max_events:
        return refuse(413, f"at most {max_events} events per request")
    return items, payload.get("url")


def check_events(
    items: list[Any], names: frozenset[str]
) -> Answer | list[tuple[str, dict[str, Any]]]:
    """(name, properties) of each event, when every one is an allowed micro event."""
    checked: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            return refuse(400, "each event must be an object")
        for key in item:
            if key in SERVER_KEYS:
                return refuse(403, f"{key} cannot come from the browser")
            if key not in EVENT_KEYS:
                return refuse(400, f"unknown event field {str(key)[:64]!r}")
        kind = item.get("kind")
        if kind == "macro":
            return refuse(403, "macro conversions cannot come from the browser")
        if kind not in (None, "micro"):
            return refuse(400, "kind must be micro")
        name = item.get("name")
        if not name_ok(name):
            return refuse(400, "event names are 1-64 letters, digits or underscores")
        if name not in names:
            return refuse(403, f"event {name!r} is not allowed")
        properties = item.get("properties")
        if properties is None:
            properties = {}
        elif not isinstance(properties, dict):
            return refuse(400, "properties must be an object")
        try:
            check_properties(properties)
        except ValueError as exc:
            return refuse(400, str(exc)[:200])
        checked.append((name, properties))
    return checked


def page_of(url: Any, visit: Visit, hosts: Hosts) -> Answer | Page:
    """The page the events come from (the payload's ``url``, else the ``Referer``),
    checked and scrubbed."""
    from_payload = url is not None
    if url is None:
        url = visit.origin_url
        if url is None:
            return None, None, None
    if not isinstance(url, str) or len(url) > MAX_URL:
        return refuse(400, f"url must be a URL of at most {MAX_URL} characters")
    parts = parse_url(url)
    if parts is None:
        if not from_payload:
            return None, None, None
        return refuse(400, "url must be an http(s) URL")
    if not hosts.allows(parts.netloc, visit.request.host):
        if not from_payload:
            return None, None, None
        return refuse(403, "url is not a page of this site")
    path = privacy.scrub_text(parts.path or "/")[:MAX_PATH]
    # The fragment stays out: single-page apps and OAuth flows put tokens there.
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
    utm = utm_fields(parts.query) if "utm_" in parts.query else None
    return privacy.scrub_url(clean)[:MAX_URL], path, utm
