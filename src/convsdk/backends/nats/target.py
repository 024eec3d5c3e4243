"""Where a ``nats://`` URL points: :class:`NATSTarget` (server, subject, stream, timeouts)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ...adapters import OptionType, parse_url
from ...errors import ConfigError

__all__ = ["DEFAULT_STREAM", "DEFAULT_SUBJECT", "NATSTarget"]

DEFAULT_SUBJECT = "convsdk.events"
DEFAULT_STREAM = "CONVSDK"

_SUBJECT = re.compile(r"[^\s.*>]+(\.[^\s.*>]+)*\Z")
_STREAM = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")


@dataclass(frozen=True)
class NATSTarget:
    """Where a ``nats://`` URL points: server, subject, stream and timeouts (seconds)."""

    server: str
    subject: str = DEFAULT_SUBJECT
    stream: str = DEFAULT_STREAM
    timeout: float = 10.0
    connect_timeout: float = 5.0
    ack_wait: float = 30.0
    source: str = ""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> NATSTarget:
        """Parse ``nats://[user:pass@]host:port/subject?stream=...``; keywords win."""
        parsed = parse_url(url, _OPTIONS, overrides=options)
        parts = urlsplit(url)
        if parsed.scheme != "nats" or not parsed.host:
            raise ConfigError(
                "a NATS URL looks like nats://host:4222/subject",
                field="backend",
                source=parsed.source,
            )
        subject = unquote(parts.path.lstrip("/")) or DEFAULT_SUBJECT
        if not _SUBJECT.match(subject):
            raise ConfigError(
                "subject must be dot-separated tokens without spaces or wildcards, "
                f"got {subject!r}",
                field="subject",
                source=parsed.source,
            )
        server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return cls(server=server, subject=subject, source=parsed.source, **parsed.options)


def _stream(value: Any) -> str:
    if not isinstance(value, str) or not _STREAM.match(value):
        raise ValueError("must be letters, digits, '-' and '_'")
    return value


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ValueError("must be a number of seconds, more than 0 and at most 3600")
    return seconds


_OPTIONS: dict[str, OptionType] = {
    "stream": _stream,
    "timeout": _seconds,
    "connect_timeout": _seconds,
    "ack_wait": _seconds,
}
