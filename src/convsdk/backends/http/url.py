"""Options in an ``http(s)://`` backend URL (``gzip``, ``gzip_level``, ``timeout``,
``connect_timeout``, ``token``): read, and removed from the URL posted to."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from ..._urls import redact_url
from ...adapters import OptionType, convert_option

__all__ = ["split_url"]

# Query parameters read as options (and their types), removed from the URL posted to;
# the others are kept as written: re-encoding could change what the server sees.
_URL_OPTIONS: dict[str, OptionType] = {
    "gzip": bool,
    "gzip_level": int,
    "timeout": float,
    "connect_timeout": float,
    "token": str,
}


def split_url(url: str) -> tuple[str, dict[str, Any]]:
    """The URL to post to (other query parameters kept as written) and the options its
    query gave."""
    parts = urlsplit(url)
    kept: list[str] = []
    from_query: dict[str, Any] = {}
    for piece in parts.query.split("&") if parts.query else ():
        raw_key, _, raw_value = piece.partition("=")
        key = unquote_plus(raw_key)
        if key not in _URL_OPTIONS:
            kept.append(piece)  # as written: re-encoding could change what the server sees
            continue
        from_query[key] = _parse_option(key, unquote_plus(raw_value), url)
    return urlunsplit(parts._replace(query="&".join(kept))), from_query


def _parse_option(key: str, value: str, url: str) -> Any:
    # "token" is sent as "Authorization: Bearer ...", never in the URL.
    return convert_option(key, _URL_OPTIONS[key], value, redact_url(url))
