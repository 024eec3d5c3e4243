"""Rate limits in Redis, shared by every worker on every host (extra ``redis``).

::

    redis://cache.internal:6379/0
    rediss://:password@cache.internal:6380/0?prefix=shop:limit:

Each key holds the time its bucket is full again (see :mod:`convsdk.ratelimit`) and
expires then, so Redis keeps only the keys in use. A check is one Lua script run on the
server, so two workers never both take the last event of a bucket; the time comes from
the worker (hosts' clocks should agree to within a second, as NTP keeps them). Under
Redis Cluster the keys of one check may live on different shards: give the limits a
hash tag in ``prefix`` (``{convsdk}:limit:``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from .._urls import redact_url
from ..errors import ConfigError
from .gcra import EPSILON, Limit

__all__ = ["DEFAULT_PREFIX", "RedisStore"]

DEFAULT_PREFIX = "convsdk:limit:"

# KEYS: the limits' keys. ARGV: now, count, then (seconds per event, period) per key.
# Returns "0" when allowed (and counted), else the seconds over the limit.
_TAKE = """
local now = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local over = 0
local news = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  local start = tonumber(redis.call('GET', key) or '0')
  if start < now then start = now end
  local new = start + count * interval
  news[i] = new
  if new - now - period > over then over = new - now - period end
end
if over > tonumber(ARGV[#ARGV]) then return string.format('%.6f', over) end
for i, key in ipairs(KEYS) do
  local ttl = math.ceil((news[i] - now) * 1000) + 1
  redis.call('SET', key, string.format('%.6f', news[i]), 'PX', ttl)
end
return '0'
"""


class RedisStore:
    """The limits in Redis; build it with :meth:`from_url`, or hand it a client.

    >>> store = RedisStore(redis.Redis(host="cache"), prefix="shop:limit:")
    """

    def __init__(self, client: redis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_TAKE)
        self._owned = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Build from ``redis://host:port/db?prefix=...``; other query parameters and
        ``options`` go to :meth:`redis.Redis.from_url` (short timeouts by default: a
        slow Redis must not hold up the collect endpoint)."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = DEFAULT_PREFIX
        rest = []
        for key, value in query:
            if key == "prefix":
                prefix = value
            else:
                rest.append((key, value))
        settings: dict[str, Any] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
        settings.update(options)
        try:
            client = redis.Redis.from_url(
                urlunsplit(parts._replace(query=urlencode(rest))), **settings
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(str(exc), field="rate_limit_url", source=redact_url(url)) from exc
        store = cls(client, prefix=prefix)
        store._owned = True
        return store

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`convsdk.ratelimit.RateStore.take`."""
        keys = [self.prefix + limit.key for limit in limits]
        args: list[Any] = [repr(now), count]
        for limit in limits:
            args += [repr(limit.per / limit.events), repr(limit.per)]
        args.append(repr(EPSILON))
        answer = self._script(keys=keys, args=args)
        return float(answer)

    def close(self) -> None:
        """Close the client when this store made it."""
        if self._owned:
            self.client.close()

    def __repr__(self) -> str:
        pool = getattr(self.client, "connection_pool", None)
        where = pool.connection_kwargs.get("host", "?") if pool is not None else "?"
        return f"<RedisStore host={where!r} prefix={self.prefix!r}>"
