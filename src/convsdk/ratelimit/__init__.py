"""Rate limits every worker of a site shares: in memory, in a SQLite file, or in Redis.

A limit allows ``events`` per ``per`` seconds for a key (a visitor, a client network).
It is a token bucket kept as one number per key, the time its bucket will be full
again (GCRA, the "generic cell rate algorithm"): a burst of up to ``events`` at once,
then ``events / per`` a second. It slides with time: unlike a fixed window, no window
boundary lets twice the limit through in a moment.

Where the numbers live decides who shares them:

- :class:`MemoryStore`: one process (its threads share it). With several workers,
  each allows the whole limit.
- :class:`FileStore`: a SQLite file; every process on the host that opens the same
  file shares the counts (a check is one ``BEGIN IMMEDIATE`` transaction).
- ``RedisStore`` (:mod:`convsdk.ratelimit.redis`, extra ``redis``): every host using
  the same Redis; a check is one Lua script, atomic on the server.

:func:`store_from_url` builds one from ``memory:``, ``sqlite:///path``, a file path or
``redis://...``. :class:`FallbackStore` keeps limiting, per process, while a shared store
fails::

    store = FallbackStore(store_from_url("redis://cache:6379/0"))
    wait = store.take([Limit("visitor:42", 60, 60.0)], 1, time.time())
    # 0.0: allowed (and counted); else the seconds until it would be

The modules, one job each: :mod:`~convsdk.ratelimit.gcra` (a :class:`Limit` and its
maths, the :class:`RateStore` interface), :mod:`~convsdk.ratelimit.memory`,
:mod:`~convsdk.ratelimit.sqlite` and :mod:`~convsdk.ratelimit.redis` (the stores),
:mod:`~convsdk.ratelimit.limiter` (:class:`RateLimiter`, :class:`FallbackStore`),
:mod:`~convsdk.ratelimit.urls` (:func:`store_from_url`) and
:mod:`~convsdk.ratelimit.network` (:func:`network_of`).
"""

from __future__ import annotations

from .gcra import EPSILON, Limit, RateStore, advance, check_limit
from .limiter import FallbackStore, RateLimiter
from .memory import MemoryStore
from .network import network_of
from .sqlite import FileStore
from .urls import store_from_url

__all__ = [
    "EPSILON",
    "FallbackStore",
    "FileStore",
    "Limit",
    "MemoryStore",
    "RateLimiter",
    "RateStore",
    "advance",
    "check_limit",
    "network_of",
    "store_from_url",
]
