"""``sqlite://`` URLs (the SQLAlchemy spelling): the database path one names."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ...errors import ConfigError
from .schema import MEMORY

__all__ = ["path_from_url"]


def path_from_url(url: str) -> str:
    """The database path of ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or
    ``sqlite://:memory:`` (:data:`~.schema.MEMORY`); a ConfigError for anything else."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise ConfigError(f"not a sqlite:// URL: {url!r}", field="backend", source=url)
    if parts.netloc == MEMORY and parts.path in ("", "/"):
        return MEMORY
    if parts.netloc:
        raise ConfigError(
            "a sqlite URL has no host: use sqlite:///relative.db, sqlite:////absolute.db "
            "or sqlite://:memory:",
            field="path",
            source=url,
        )
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path:
        raise ConfigError(
            "a sqlite URL needs a database path, e.g. sqlite:///convsdk.db",
            field="path",
            source=url,
        )
    return path
