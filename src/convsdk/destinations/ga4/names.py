"""GA4's rules for names and values, and turning convsdk's names into names GA4 takes.

Google's collection limits (support.google.com/analytics/answer/9267744): "Length of
event name: 40 characters", "Event parameters per event: 25", "Event parameter name
length: 40 characters", "Event parameter value length: 100 characters" (longer for
``page_location``: 1000, ``page_referrer``: 420, ``page_title``: 300). Names "must start
with an alphabetic character" and hold only "alphanumeric characters and underscores";
the prefixes ``ga_``, ``google_`` and ``firebase_`` and a list of event names
(``session_start``, ``first_visit``...) are reserved for Google's own use.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = [
    "MAX_NAME",
    "MAX_PARAMS",
    "check_event_name",
    "event_name",
    "param_name",
    "param_value",
]

MAX_NAME = 40
MAX_PARAMS = 25
_MAX_VALUE = 100
_LONG_VALUES = {"page_location": 1000, "page_referrer": 420, "page_title": 300}
_RESERVED_PREFIXES = ("ga_", "google_", "firebase_")
_RESERVED_EVENTS = frozenset(
    {
        "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query",
        "ad_reward", "adunit_exposure", "app_background", "app_clear_data",
        "app_exception", "app_install", "app_remove", "app_store_refund",
        "app_store_subscription_cancel", "app_store_subscription_convert",
        "app_store_subscription_renew", "app_update", "app_upgrade",
        "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open",
        "error", "first_open", "first_visit", "in_app_purchase", "notification_dismiss",
        "notification_foreground", "notification_open", "notification_receive",
        "os_update", "screen_view", "session_start", "session_start_with_rollout",
        "user_engagement",
    }
)  # fmt: skip
_RESERVED_PARAMS = frozenset({"firebase_conversion"})
_VALID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_OTHER = re.compile(r"[^a-z0-9]+")


def _sanitise(text: str, fallback: str) -> str:
    """``text`` lower-cased, accents dropped, other characters runs as one ``_``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = _OTHER.sub("_", plain.lower()).strip("_") or fallback
    if not name[0].isalpha():
        name = f"{fallback}_{name}"
    return name


def _unreserved(name: str, reserved: frozenset[str]) -> str:
    if name.startswith(_RESERVED_PREFIXES) or name in reserved:
        name = f"x_{name}"
    return name[:MAX_NAME].rstrip("_")


def event_name(text: str) -> str:
    """A GA4 event name for ``text``: ``"Demo booked!"`` gives ``"demo_booked"``.

    >>> event_name("Demo booked!"), event_name("page_view"), event_name("session_start")
    ('demo_booked', 'page_view', 'x_session_start')
    """
    return _unreserved(_sanitise(text, "event"), _RESERVED_EVENTS)


def param_name(text: str) -> str:
    """A GA4 parameter name for ``text`` (a property's key), by the same rules."""
    return _unreserved(_sanitise(text, "param"), _RESERVED_PARAMS)


def check_event_name(name: str) -> str:
    """``name`` if GA4 takes it as an event name, else ``ValueError`` saying why (for
    names the user gives, which are sent as written)."""
    if not _VALID.fullmatch(name) or len(name) > MAX_NAME:
        raise ValueError(
            f"a GA4 event name is letters, digits and underscores, starting with a "
            f"letter, at most {MAX_NAME} characters: got {name!r}"
        )
    if name.lower().startswith(_RESERVED_PREFIXES) or name in _RESERVED_EVENTS:
        raise ValueError(f"{name!r} is reserved by Google Analytics")
    return name


def param_value(name: str, value: Any) -> str | int | float | None:
    """``value`` as GA4 takes a parameter: text cut to its length limit, numbers as they
    are, booleans as ``"true"``/``"false"``; ``None`` for what GA4 has no type for."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        return value[: _LONG_VALUES.get(name, _MAX_VALUE)]
    return None
