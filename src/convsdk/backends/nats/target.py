"""Where a ``nats://`` URL points: :class:`NATSTarget` (server, subject, stream, timeouts)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ..._urls import redact_url
from ...errors import ConfigError

__all__ = ["DEFAULT_STREAM", "DEFAULT_SUBJECT", "NATSTarget"]

DEFAULT_SUBJECT = "convsdk.events"
DEFAULT_STREAM = "CONVSDK"

_SUBJECT = re.compile(r"[^\s.*>]+(\.[^\s.*>]+)*\Z")
_STREAM = re.compile(r"[A-Za-z0-9_-]{1,255}\Z")
_SECONDS = ("timeout", "connect_timeout", "ack_wait")


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
        parts = urlsplit(url)
        source = redact_url(url)
        if parts.scheme != "nats" or not parts.hostname:
            raise ConfigError(
                "a NATS URL looks like nats://host:4222/subject", field="backend", source=source
            )
        given: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        given.update(options)
        known = {"stream", *_SECONDS}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                field=unknown[0],
                source=source,
            )
        subject = unquote(parts.path.lstrip("/")) or DEFAULT_SUBJECT
        if not _SUBJECT.match(subject):
            raise ConfigError(
                "subject must be dot-separated tokens without spaces or wildcards, "
                f"got {subject!r}",
                field="subject",
                source=source,
            )
        stream = given.get("stream", DEFAULT_STREAM)
        if not isinstance(stream, str) or not _STREAM.match(stream):
            raise ConfigError(
                f"stream must be letters, digits, '-' and '_', got {stream!r}",
                field="stream",
                source=source,
            )
        seconds = {name: _seconds(given[name], name, source) for name in _SECONDS if name in given}
        server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return cls(server=server, subject=subject, stream=stream, source=source, **seconds)


def _seconds(value: Any, name: str, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(
            f"{name} must be a number of seconds, got {value!r}", field=name, source=source
        )
    return seconds
