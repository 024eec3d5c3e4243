"""``file://`` URLs: the path and the options (``max_bytes``, ``backups``, ``fsync``) one
names, for the backend and the reader alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ...adapters import parse_url as parse_backend_url
from ...errors import ConfigError
from ...options import integer

__all__ = ["parse_url"]


def parse_url(url: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The path and the checked keyword options ``file:///abs/events.jsonl?backups=5`` names.

    Keyword ``options`` override the query parameters. A bad or unknown option raises
    :class:`convsdk.ConfigError` naming it.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise ConfigError(f"not a file:// URL: {url!r}", field="backend", source=url)
    path = unquote(parts.netloc + parts.path)
    if not path:
        raise ConfigError(
            "a file URL needs a path, e.g. file:///var/log/events.jsonl or file://events.jsonl",
            field="path",
            source=url,
        )
    count = integer(0)
    parsed = parse_backend_url(
        url, {"max_bytes": count, "backups": count, "fsync": bool}, overrides=options
    )
    return path, parsed.options
