"""UTM campaign parameters read from a query string, scrubbed and bounded."""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl

from .. import privacy
from .bounds import MAX_UTM

__all__ = ["UTM_KEYS", "utm_fields", "utm_of"]

UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def utm_fields(query: str) -> dict[str, str | None] | None:
    """The UTM parameters of a query string (a copy of its own), or ``None``."""
    if "utm_" not in query:
        return None
    # Callers get their own copy since events may be changed after they are built.
    utm = utm_of(query)
    return None if utm is None else dict(utm)


def utm_of(query: str) -> dict[str, str | None] | None:
    """The UTM parameters of a query string, shared (cached): copy before changing."""
    # Campaign links repeat: parse each query string once (bounded cache).
    return _utm_cached(query) if len(query) <= 512 else _parse_utm(query)


def _parse_utm(query: str) -> dict[str, str | None] | None:
    utm: dict[str, str | None] = {}
    for key, value in parse_qsl(query, errors="replace"):
        if key.startswith("utm_"):
            name = key[4:]
            if name in UTM_KEYS and name not in utm and value:
                utm[name] = privacy.scrub_text(value)[:MAX_UTM]  # scrubbed, then cut
    if not utm:
        return None
    return {name: utm.get(name) for name in UTM_KEYS}


_utm_cached = functools.lru_cache(maxsize=4096)(_parse_utm)
