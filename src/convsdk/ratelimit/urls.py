"""The store a URL names: ``memory:``, ``sqlite:///path`` (or a path), ``redis://...``."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..errors import ConfigError
from .gcra import RateStore
from .memory import MemoryStore
from .sqlite import FileStore

__all__ = ["store_from_url"]


def store_from_url(url: str, *, max_keys: int = 10_000) -> RateStore:
    """The store a URL names.

    ``memory:`` (this process only, the ``max_keys`` most recent keys),
    ``sqlite:///var/run/site/limits.sqlite3`` or a plain file path (shared by the
    host's processes), ``redis://host:6379/0`` / ``rediss://...`` (shared by every host;
    ``?prefix=`` names the keys' prefix, default ``convsdk:limit:``).

    >>> store_from_url("memory:")
    <MemoryStore keys=0>
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(
            f"must be a store URL or a file path, got {url!r}", field="rate_limit_url"
        )
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("memory:") else ""
    if scheme == "memory":
        return MemoryStore(max_keys)
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisStore  # redis is imported only when asked for

        return RedisStore.from_url(url)
    if scheme in ("sqlite", "file"):
        path = unquote(urlsplit(url).path)
        if not path:
            raise ConfigError(f"names no file: {url!r}", field="rate_limit_url")
        return FileStore(path)
    if scheme:
        raise ConfigError(
            f"unknown store {scheme!r}: use memory:, sqlite:///path, a path or redis://...",
            field="rate_limit_url",
        )
    return FileStore(url)
