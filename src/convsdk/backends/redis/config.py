"""What a ``redis://`` URL says: the client to build (redis-py's own URL, with convsdk's
defaults), the stream and its cap; each checked, a bad one a ConfigError naming it."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ...adapters import parse_url
from ...errors import ConfigError
from ...options import did_you_mean

__all__ = [
    "DEFAULT_MAXLEN",
    "DEFAULT_STREAM",
    "check_maxlen",
    "check_stream",
    "make_client",
    "split_url",
]

DEFAULT_STREAM = "convsdk:events"
DEFAULT_MAXLEN = 1_000_000
_OUR_OPTIONS = ("stream", "maxlen")
_UNKNOWN_OPTION = re.compile(r"unexpected keyword argument '(\w+)'")


def _client_defaults() -> dict[str, Any]:
    return {
        "socket_timeout": 10.0,
        "socket_connect_timeout": 5.0,
        # A stale pooled connection (server restarted) is reopened once, at once; longer
        # outages surface as a BackendError and the dispatcher's backoff takes over.
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 30,
        "client_name": "convsdk",
    }


def split_url(
    url: str, options: MutableMapping[str, Any], source: str
) -> tuple[str, dict[str, Any]]:
    """redis-py's URL for the client (``/db``, its own query parameters), and convsdk's
    options (``stream``, ``maxlen``) from the path, the query and ``options``, which
    loses them (keywords win over the URL)."""
    parts = urlsplit(url)
    # Checked when the backend is built (check_stream, check_maxlen); the other query
    # parameters are redis-py's.
    parsed = parse_url(url, dict.fromkeys(_OUR_OPTIONS, str), passthrough=True)
    query = list(parsed.extra)
    ours: dict[str, Any] = parsed.options
    db, _, path_stream = parts.path.lstrip("/").partition("/")
    if path_stream:
        if "stream" in ours and ours["stream"] != unquote(path_stream):
            raise ConfigError(
                "the stream is named twice, in the path and in ?stream=",
                field="stream",
                source=source,
            )
        ours["stream"] = unquote(path_stream)
    if db and not db.isdigit():
        raise ConfigError(
            f"the path is /db/stream with a numeric db, got {parts.path!r}",
            field="db",
            source=source,
        )
    for key in _OUR_OPTIONS:
        if key in options:
            ours[key] = options.pop(key)
    client_url = urlunsplit(
        parts._replace(path=f"/{db or 0}", query=urlencode(query, quote_via=quote))
    )
    return client_url, ours


def make_client(client_url: str, options: MutableMapping[str, Any], source: str) -> redis.Redis:
    """A redis-py client for ``client_url``: convsdk's defaults, then ``options``.

    redis-py checks the connection options only when it first connects; this checks
    them now, so that a typo is a ConfigError naming it.
    """
    kwargs = _client_defaults()
    kwargs.update(options)
    try:
        client = redis.Redis.from_url(client_url, **kwargs)
        # Build one connection object (it does not connect) so a typo fails here.
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as exc:
        unknown = _UNKNOWN_OPTION.search(str(exc))
        field = unknown.group(1) if unknown else "backend"
        hint = did_you_mean(field, _OUR_OPTIONS) if unknown else ""
        message = f"unknown option{hint}" if hint else str(exc)
        raise ConfigError(message, field=field, source=source) from exc
    return client


def check_stream(stream: Any, source: str | None) -> str:
    """``stream`` if it is a usable key name, else a ConfigError."""
    if not isinstance(stream, str) or not stream or len(stream) > 512:
        raise ConfigError(
            f"stream must be a non-empty key name, got {stream!r}", field="stream", source=source
        )
    return stream


def check_maxlen(maxlen: Any, source: str | None) -> int:
    """``maxlen`` as a whole number >= 0 (0: no cap), else a ConfigError."""
    try:
        value = int(maxlen)
    except (TypeError, ValueError):
        value = -1
    if value < 0 or isinstance(maxlen, bool):
        raise ConfigError(
            f"maxlen must be a whole number >= 0 (0: no cap), got {maxlen!r}",
            field="maxlen",
            source=source,
        )
    return value
