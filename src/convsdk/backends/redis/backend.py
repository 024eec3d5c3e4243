"""The ``redis://`` backend: :class:`RedisBackend` appends each batch to a stream with
``XADD`` in one round trip."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import redis

from ..._urls import redact_url, url_key
from ...errors import BackendError
from ...event import Event
from .config import (
    DEFAULT_MAXLEN,
    DEFAULT_STREAM,
    check_maxlen,
    check_stream,
    make_client,
    split_url,
)
from .protocol import BACKEND, pack, send, xadd_head

__all__ = ["RedisBackend"]

logger = logging.getLogger("convsdk.redis")


class RedisBackend:
    """Append events to a Redis stream with ``XADD``; build it with :meth:`from_url`.

    >>> backend = RedisBackend.from_url("redis://cache:6379/0/convsdk:events")

    Or hand it a client you already have::

        RedisBackend(redis.Redis(host="cache"), stream="convsdk:events", maxlen=0)
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        stream: str = DEFAULT_STREAM,
        maxlen: int = DEFAULT_MAXLEN,
        source: str | None = None,
    ) -> None:
        self._client = client
        self._stream = check_stream(stream, source)
        self._maxlen = check_maxlen(maxlen, source)
        self._head = xadd_head(self._stream, self._maxlen)
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisBackend:
        """Build from ``redis://host:port/db/stream`` or ``redis://host:port/db?stream=...``.

        Keyword options ``stream`` and ``maxlen`` win over the URL; any other keyword
        goes to :meth:`redis.Redis.from_url`.
        """
        source = redact_url(url)
        client_url, ours = split_url(url, options, source)
        return cls(
            make_client(client_url, options, source),
            stream=ours.get("stream", DEFAULT_STREAM),
            maxlen=ours.get("maxlen", DEFAULT_MAXLEN),
            source=source,
        )

    @property
    def client(self) -> redis.Redis:
        """The redis-py client (its connection pool is shared with this backend)."""
        return self._client

    @property
    def stream(self) -> str:
        """The key of the stream events are appended to."""
        return self._stream

    @property
    def destination_key(self) -> str:
        """The key of its spool: the one ``redis://host:port/db/stream`` gives (a Unix
        socket's: ``unix://path/db/stream``)."""
        pool = self._client.connection_pool
        kwargs = pool.connection_kwargs
        stream = quote(self._stream, safe=":")
        if "path" in kwargs:
            return url_key(f"unix://{quote(str(kwargs['path']))}/{kwargs.get('db', 0)}/{stream}")
        scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
        where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        return url_key(f"{scheme}://{where}/{kwargs.get('db', 0)}/{stream}")

    def check(self) -> None:
        """Raise :class:`convsdk.BackendError` unless the server answers now (``PING``)."""
        with self._lock:
            if self._closed:
                raise BackendError("the backend is closed", backend=BACKEND, retryable=False)
            try:
                self._client.ping()
            except redis.RedisError as exc:
                raise BackendError(f"cannot connect: {exc}", backend=BACKEND) from exc

    def write(self, events: Sequence[Event]) -> None:
        """``XADD`` every event in one round trip; raise a BackendError if any failed."""
        if not events:
            return
        try:
            payload = pack(self._head, events)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=BACKEND, retryable=False
            ) from exc
        with self._lock:
            if self._closed:
                raise BackendError("the backend is closed", backend=BACKEND, retryable=False)
            send(self._client.connection_pool, payload, len(events))

    def close(self) -> None:
        """Disconnect the client's connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._client.close()
            except Exception:
                logger.debug("error closing the Redis client", exc_info=True)
