"""Opening the source a URL names, with a clear error when its package is missing."""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, missing_extra
from .message import Source
from .nats import NATSSource
from .redis import RedisSource

__all__ = ["open_source"]

DURABLE = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")


def open_source(
    url: Any, group: str, consumer: str | None, claim_idle: float, *, create: bool = False
) -> Source:
    """The source ``url`` names (``redis://``, ``rediss://`` or ``nats://``).

    Its stream must exist when reading starts, unless ``create`` is true.
    """
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme in ("redis", "rediss"):
        try:
            return RedisSource(
                url, group, consumer or socket.gethostname(), claim_idle, create=create
            )
        except ImportError as exc:
            raise missing_package("redis", exc, url) from exc
    if scheme == "nats":
        if not DURABLE.match(group):
            raise ConfigError(
                f"a JetStream consumer name is letters, digits, '-' and '_', got {group!r}",
                field="group",
            )
        try:
            return NATSSource(url, group, create=create)
        except ImportError as exc:
            raise missing_package("nats", exc, url) from exc
    raise ConfigError(
        f"consume reads redis://, rediss:// or nats:// URLs, got {url!r}", field="source"
    )


def missing_package(extra: str, exc: ImportError, url: str) -> ConfigError:
    """The error telling which extra to install to read ``url``."""
    return missing_extra(f"reading {extra}", extra, exc, field="source", source=url)
