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

The package: :mod:`.config` (the URL, the client), :mod:`.protocol` (``XADD`` on the
wire), :mod:`.backend` (:class:`RedisBackend`).
"""

from __future__ import annotations

from .backend import RedisBackend
from .config import DEFAULT_MAXLEN, DEFAULT_STREAM

__all__ = ["DEFAULT_MAXLEN", "DEFAULT_STREAM", "RedisBackend"]
