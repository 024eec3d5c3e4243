"""``redis://``: events appended to a Redis stream (extra ``redis``).

::

    redis://cache.internal:6379/0/convsdk:events
    redis://:password@cache.internal:6379/0?stream=convsdk:events&maxlen=1000000
    rediss://cache.internal:6380/0/convsdk:events          (TLS)

The path is ``/db/stream``; ``stream`` may be given in the query instead (default
``convsdk:events``). ``maxlen`` caps the stream at about that many entries
(``XADD MAXLEN ~``; default 1,000,000, ``0`` for no cap). Other query parameters go to
redis-py (``socket_timeout``, ``ssl_cert_reqs``...).

Each event is one stream entry with two fields: ``event_id`` and ``data`` (the JSON of
:meth:`Event.to_dict <convsdk.event.Event.to_dict>`). A batch is one round trip: every
``XADD`` is sent at once and the replies read after. Delivery is at-least-once: a batch
sent again after a failure may add entries twice, which consumers drop by ``event_id``
(``convsdk consume`` into SQLite or PostgreSQL does). Move the stream into a database
with :func:`convsdk.consume.consume`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .._json import dumps
from .._urls import redact_url
from ..errors import BackendError, ConfigError
from ..event import Event

__all__ = ["DEFAULT_MAXLEN", "DEFAULT_STREAM", "RedisBackend"]

logger = logging.getLogger("convsdk.redis")

DEFAULT_STREAM = "convsdk:events"
DEFAULT_MAXLEN = 1_000_000
_BACKEND = "redis"
_OUR_OPTIONS = ("stream", "maxlen")
_UNKNOWN_OPTION = re.compile(r"unexpected keyword argument '(\w+)'")

# Error replies that mean "not now" rather than "never": the server is loading, out of
# memory, read-only during a failover...
_TRANSIENT_REPLIES = ("OOM", "LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")


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
        self._stream = _check_stream(stream, source)
        self._maxlen = _check_maxlen(maxlen, source)
        self._head = _xadd_head(self._stream, self._maxlen)
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisBackend:
        """Build from ``redis://host:port/db/stream`` or ``redis://host:port/db?stream=...``.

        Keyword options ``stream`` and ``maxlen`` win over the URL; any other keyword
        goes to :meth:`redis.Redis.from_url`.
        """
        parts = urlsplit(url)
        source = redact_url(url)
        query: list[tuple[str, str]] = []
        ours: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in _OUR_OPTIONS:
                ours[key] = value
            else:
                query.append((key, value))
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
        kwargs = _client_defaults()
        kwargs.update(options)
        try:
            client = redis.Redis.from_url(client_url, **kwargs)
            # redis-py checks the connection options only when it first connects: build
            # one connection object (it does not connect) so a typo fails here instead.
            pool = client.connection_pool
            pool.connection_class(**pool.connection_kwargs)
        except (TypeError, ValueError) as exc:
            unknown = _UNKNOWN_OPTION.search(str(exc))
            field = unknown.group(1) if unknown else "backend"
            raise ConfigError(str(exc), field=field, source=source) from exc
        return cls(
            client,
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

    def write(self, events: Sequence[Event]) -> None:
        """``XADD`` every event in one round trip; raise a BackendError if any failed."""
        if not events:
            return
        try:
            payload = self._pack(events)
        except (TypeError, ValueError) as exc:
            raise BackendError(
                f"an event cannot be serialised: {exc}", backend=_BACKEND, retryable=False
            ) from exc
        with self._lock:
            if self._closed:
                raise BackendError("the backend is closed", backend=_BACKEND, retryable=False)
            self._send(payload, len(events))

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

    # -- internals --------------------------------------------------------------------

    def _pack(self, events: Sequence[Event]) -> bytes:
        # The RESP encoding of XADD, written by hand: the command never changes shape,
        # and redis-py's generic packer would take more time than everything else here
        # put together.
        head = self._head
        parts: list[bytes] = []
        append = parts.append
        for event in events:
            eid = event.event_id.encode()
            data = dumps(event.to_dict())
            append(
                b"%s$%d\r\n%s\r\n$4\r\ndata\r\n$%d\r\n%s\r\n"
                % (head, len(eid), eid, len(data), data)
            )
        return b"".join(parts)

    def _send(self, payload: bytes, count: int) -> None:
        pool = self._client.connection_pool
        try:
            # Typed as Any: redis-py leaves the Connection methods used here unannotated.
            conn: Any = pool.get_connection()
        except redis.RedisError as exc:  # refused, timed out, or the server said no
            raise BackendError(f"cannot connect: {exc}", backend=_BACKEND) from exc
        try:
            conn.send_packed_command([payload])
            error: redis.ResponseError | None = None
            failed = 0
            for _ in range(count):
                try:
                    conn.read_response()
                except redis.ResponseError as exc:  # the reply was read: carry on reading
                    error = error or exc
                    failed += 1
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            # Replies may be left unread on the socket: never reuse this connection.
            conn.disconnect()
            raise BackendError(f"connection lost: {exc}", backend=_BACKEND) from exc
        except Exception:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)
        if error is not None:
            message = str(error)
            raise BackendError(
                f"{failed} of {count} XADD failed: {message}",
                backend=_BACKEND,
                retryable=message.startswith(_TRANSIENT_REPLIES),
            )


def _xadd_head(stream: str, maxlen: int) -> bytes:
    """The RESP bytes every XADD of this backend starts with, up to the event id value."""
    args = [b"XADD", stream.encode()]
    if maxlen:
        args += [b"MAXLEN", b"~", str(maxlen).encode()]
    args += [b"*", b"event_id"]
    # + 3: the event id value, "data" and the data value complete the command.
    head = b"*%d\r\n" % (len(args) + 3)
    return head + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _check_stream(stream: Any, source: str | None) -> str:
    if not isinstance(stream, str) or not stream or len(stream) > 512:
        raise ConfigError(
            f"stream must be a non-empty key name, got {stream!r}", field="stream", source=source
        )
    return stream


def _check_maxlen(maxlen: Any, source: str | None) -> int:
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
