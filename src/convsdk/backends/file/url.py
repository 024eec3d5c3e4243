"""``file://`` URLs: the path and the options (``max_bytes``, ``backups``, ``fsync``) one
names, for the backend and the reader alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from ...errors import ConfigError
from ..options import bool_option, int_option, url_options

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
    opts = url_options(parts.query, options, {"max_bytes", "backups", "fsync"}, url)
    kwargs: dict[str, Any] = {}
    if "max_bytes" in opts:
        kwargs["max_bytes"] = int_option("max_bytes", opts["max_bytes"], url)
    if "backups" in opts:
        kwargs["backups"] = int_option("backups", opts["backups"], url)
    if "fsync" in opts:
        kwargs["fsync"] = bool_option("fsync", opts["fsync"], url)
    return path, kwargs
