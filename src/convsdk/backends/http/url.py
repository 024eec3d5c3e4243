"""Options in an ``http(s)://`` backend URL (``gzip``, ``gzip_level``, ``timeout``,
``connect_timeout``, ``token``): read, and removed from the URL posted to."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from ..._urls import redact_url
from ...errors import ConfigError
from ..options import FALSE, TRUE

__all__ = ["split_url"]

# Query parameters read as options and removed from the URL posted to.
_URL_OPTIONS = frozenset({"gzip", "gzip_level", "timeout", "connect_timeout", "token"})


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
    if key == "token":
        return value  # sent as "Authorization: Bearer ...", never in the URL
    if key == "gzip":
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise ConfigError(
            f"gzip must be 1 or 0, got {value!r}", field="gzip", source=redact_url(url)
        )
    try:
        return int(value) if key == "gzip_level" else float(value)
    except ValueError:
        raise ConfigError(
            f"{key} must be a number, got {value!r}", field=key, source=redact_url(url)
        ) from None
