"""Ad click ids in a landing URL, and the ad platforms' own first-party cookies.

An ad platform appends its click id to the landing URL (``?gclid=...``); sent back
with a conversion, it lets the platform credit the ad. Meta's browser pixel keeps its
ids in the ``_fbc`` and ``_fbp`` cookies, Google Analytics its client id in ``_ga``.
Pure functions of the request's text; :mod:`convsdk.web.marks` keeps them for the
visitor.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "CLICK_ID_NAMES",
    "Click",
    "clicks_in_query",
    "fbc_from_click",
    "ga_client_id",
    "maybe_click",
    "platform_cookie",
]

#: The click ids read from landing URLs: Google Ads (web, iOS app campaigns), Meta,
#: Microsoft Ads, TikTok.
CLICK_ID_NAMES = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid")

#: One click: ``{"name": "gclid", "id": "...", "at": <unix ms>}``.
Click = dict[str, Any]

_MAX_CLICK_ID = 256
_CLICK_ID = re.compile(r"[A-Za-z0-9._~\-]+")
_MAX_PLATFORM_COOKIE = 256
_FB_COOKIE = re.compile(r"fb\.\d\.\d{1,16}\.[A-Za-z0-9._\-]+")
_GA_COOKIE = re.compile(r"GA\d\.\d+\.(\d+\.\d+)")


def maybe_click(query: str) -> bool:
    """Whether ``query`` may hold a click id: a substring test, cheaper than parsing.

    (``clid=`` covers gclid, fbclid and ttclid; ``braid=`` gbraid and wbraid.)
    """
    return "clid=" in query or "braid=" in query or "clkid=" in query


def clicks_in_query(query: str, now_ms: int) -> list[Click]:
    """The click ids of ``query`` in the URL's order, each stamped ``now_ms``: a landing
    URL tagged by two platforms (``?gclid=...&fbclid=...``) gives both, so the first
    counts as the visit's first click and the fbclid still builds Meta's fbc.

    Ids that are too long or hold characters no platform uses are ignored, and each
    name counts once (its first value).
    """
    found: dict[str, Click] = {}
    for name, value in parse_qsl(query, max_num_fields=64):
        if name in CLICK_ID_NAMES and name not in found:
            value = value.strip()
            if value and len(value) <= _MAX_CLICK_ID and _CLICK_ID.fullmatch(value):
                found[name] = {"name": name, "id": value, "at": now_ms}
    return list(found.values())


def fbc_from_click(click: Click) -> str:
    """Meta's fbc for an fbclid click: ``fb.1.<ms timestamp>.<fbclid>``."""
    return f"fb.1.{click['at']}.{click['id']}"


def platform_cookie(value: str | None) -> str | None:
    """An ``_fbc`` / ``_fbp`` cookie's value when it has Meta's shape, else ``None``."""
    if not value or len(value) > _MAX_PLATFORM_COOKIE or not _FB_COOKIE.fullmatch(value):
        return None
    return value


def ga_client_id(value: str | None) -> str | None:
    """The client id in a ``_ga`` cookie: ``GA1.1.1234567890.1700000000`` gives
    ``1234567890.1700000000``; ``None`` for anything else."""
    if not value or len(value) > _MAX_PLATFORM_COOKIE:
        return None
    match = _GA_COOKIE.fullmatch(value)
    return match.group(1) if match else None
