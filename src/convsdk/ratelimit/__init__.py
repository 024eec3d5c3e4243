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
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError

__all__ = [
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

log = logging.getLogger("convsdk.ratelimit")

#: Rounding slack, in seconds: ``7 * (60 / 7)`` may come out a hair above 60.
EPSILON = 1e-6


class Limit(NamedTuple):
    """``events`` per ``per`` seconds for ``key``."""

    key: str
    events: int
    per: float


def advance(full_at: float | None, now: float, count: int, limit: Limit) -> tuple[float, float]:
    """(when the bucket would be full after taking ``count``, seconds over the limit).

    ``full_at`` is the key's stored time (``None``: never seen, a full bucket). The
    take is allowed when the second number is not positive.

    >>> advance(None, 100.0, 60, Limit("k", 60, 60.0))
    (160.0, 0.0)
    """
    start = now if full_at is None or full_at < now else full_at
    new = start + count * (limit.per / limit.events)
    return new, new - now - limit.per


class RateStore(Protocol):
    """Where the limits' numbers live."""

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """Take ``count`` from every limit at once: ``0.0`` when each allows it, else the
        seconds until all would. A refused take counts against none of them."""

    def close(self) -> None:
        """Release the store's connection, if any."""


# -- one process -------------------------------------------------------------------


class MemoryStore:
    """The limits of one process, for the ``max_keys`` keys used most recently.

    A key seen again after being dropped starts with a full bucket. Thread-safe.
    """

    __slots__ = ("_full_at", "_lock", "max_keys")

    def __init__(self, max_keys: int = 10_000) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys <= 0:
            raise ConfigError(
                f"must be a positive whole number, got {max_keys!r}", field="max_visitors"
            )
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._full_at: OrderedDict[str, float] = OrderedDict()

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        with self._lock:
            full_at = self._full_at
            over = 0.0
            updates = []
            for key, events, per in limits:
                start = full_at.get(key, now)  # advance(), inlined: this is per request
                if start < now:
                    start = now
                new = start + count * (per / events)
                if new - now - per > over:
                    over = new - now - per
                updates.append((key, new))
            if over > EPSILON:
                return over
            for key, new in updates:
                if key in full_at:
                    full_at.move_to_end(key)
                elif len(full_at) >= self.max_keys:
                    full_at.popitem(last=False)
                full_at[key] = new
            return 0.0

    def close(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._full_at)

    def __repr__(self) -> str:
        return f"<MemoryStore keys={len(self)}>"


# -- one host ----------------------------------------------------------------------

_UPSERT = (
    "INSERT INTO rate_limits (key, full_at) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET full_at = excluded.full_at"
)
_PRUNE_EVERY = 4096  # takes between removals of the keys whose bucket is full again


class FileStore:
    """The limits in a SQLite file, shared by every process on the host that opens it.

    A check is one ``BEGIN IMMEDIATE`` transaction, so two workers never both take the
    last event of a bucket. The file is WAL-journalled and not synced: a crash may
    forget the last counts, which is harmless for a rate limit. Keys whose bucket is
    full again are removed now and then, so the file stays small.

    >>> store = FileStore(".convsdk-spool/beacon-limits.sqlite3")
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 2.0) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._takes = 0
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with self._lock:
                self._connection()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the rate limit file {self.path}: {exc}", field="rate_limit_url"
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._conn is None or self._pid != pid:
            # A forked worker opens its own: a connection must not cross a fork.
            self._conn, self._pid = self._open(), pid
        return self._conn

    def _open(self) -> sqlite3.Connection:
        # Switching a new file to WAL needs it alone: SQLite answers "database is
        # locked" at once, without waiting, when another worker is opening it too.
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS rate_limits "
                    "(key TEXT PRIMARY KEY, full_at REAL NOT NULL) WITHOUT ROWID"
                )
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                over = 0.0
                updates = []
                for limit in limits:
                    row = conn.execute(
                        "SELECT full_at FROM rate_limits WHERE key = ?", (limit.key,)
                    ).fetchone()
                    new, excess = advance(row[0] if row else None, now, count, limit)
                    over = max(over, excess)
                    updates.append((limit.key, new))
                if over <= EPSILON:
                    conn.executemany(_UPSERT, updates)
                    self._takes += 1
                    if self._takes % _PRUNE_EVERY == 0:
                        conn.execute("DELETE FROM rate_limits WHERE full_at < ?", (now,))
                conn.execute("COMMIT")
            except Exception:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return over if over > EPSILON else 0.0

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __len__(self) -> int:
        with self._lock:
            row = self._connection().execute("SELECT count(*) FROM rate_limits").fetchone()
        return int(row[0])

    def __repr__(self) -> str:
        return f"<FileStore {self.path!r}>"


# -- when the shared store fails ------------------------------------------------------


class FallbackStore:
    """A shared store that, while it fails, gives way to a :class:`MemoryStore`.

    An error is logged (at most once a minute) and the shared store is left alone
    for ``retry_after`` seconds: a site whose Redis is down keeps a limit per process
    instead of waiting on timeouts or letting everything through.
    """

    def __init__(
        self,
        shared: RateStore,
        fallback: MemoryStore | None = None,
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.fallback = fallback if fallback is not None else MemoryStore()
        self.retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._logged_at: float | None = None

    def take(self, limits: Sequence[Limit], count: int, now: float) -> float:
        """See :meth:`RateStore.take`."""
        if self._down_until:
            if self._clock() < self._down_until:
                return self.fallback.take(limits, count, now)
            self._down_until = 0.0
        try:
            return self.shared.take(limits, count, now)
        except Exception as exc:
            moment = self._clock()
            self._down_until = moment + self.retry_after
            if self._logged_at is None or moment - self._logged_at >= 60.0:
                self._logged_at = moment
                log.warning(
                    "the shared rate limit store %r failed (%s: %s): limiting per process "
                    "for %.0f s",
                    self.shared,
                    type(exc).__name__,
                    exc,
                    self.retry_after,
                )
            return self.fallback.take(limits, count, now)

    def close(self) -> None:
        """Close the shared store."""
        self.shared.close()

    def __repr__(self) -> str:
        return f"<FallbackStore {self.shared!r}>"


# -- building one ------------------------------------------------------------------


def store_from_url(url: str, *, max_keys: int = 10_000) -> RateStore:
    """The store a URL names.

    ``memory:`` (this process only, the ``max_keys`` most recent keys),
    ``sqlite:///var/run/site/limits.sqlite3`` or a plain file path (shared by the
    host's processes), ``redis://host:6379/0`` / ``rediss://...`` (shared by every host;
    ``?prefix=`` names the keys' prefix, default ``convsdk:limit:``).

    >>> store_from_url("memory:")
    <MemoryStore keys=0>
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(
            f"must be a store URL or a file path, got {url!r}", field="rate_limit_url"
        )
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("memory:") else ""
    if scheme == "memory":
        return MemoryStore(max_keys)
    if scheme in ("redis", "rediss", "unix"):
        from .redis import RedisStore  # redis is imported only when asked for

        return RedisStore.from_url(url)
    if scheme in ("sqlite", "file"):
        path = unquote(urlsplit(url).path)
        if not path:
            raise ConfigError(f"names no file: {url!r}", field="rate_limit_url")
        return FileStore(path)
    if scheme:
        raise ConfigError(
            f"unknown store {scheme!r}: use memory:, sqlite:///path, a path or redis://...",
            field="rate_limit_url",
        )
    return FileStore(url)


@functools.lru_cache(maxsize=4096)
def network_of(ip: str | None) -> str:
    """The client network an address belongs to: its IPv4 /24 or IPv6 /64.

    One visitor is easy to multiply (a new cookie, a new User-Agent); a network is
    not. Anything that is not an address (no socket peer, a forged header) is ``"?"``.

    >>> network_of("203.0.113.9"), network_of("2001:db8:1:2:3::9")
    ('203.0.113.0/24', '2001:db8:1:2::/64')
    """
    if not ip:
        return "?"
    text = ip.strip()
    if text.startswith("["):  # "[2001:db8::1]" (some proxies write the brackets)
        text = text[1 : text.find("]")]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return "?"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class RateLimiter:
    """One limit per key: ``events`` per ``per`` seconds, in bursts of ``events``.

    Kept in ``store`` (default: a :class:`MemoryStore` of ``max_keys`` keys).

    >>> limiter = RateLimiter(60, 60.0)
    >>> limiter.take("visitor", 5)   # 0.0: allowed; else the seconds to wait
    0.0
    """

    def __init__(
        self,
        events: int,
        per: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.time,
        store: RateStore | None = None,
    ) -> None:
        check_limit("rate_limit", (events, per))
        self.events = events
        self.per = float(per)
        self.store: RateStore = store if store is not None else MemoryStore(max_keys)
        self._clock = clock

    def take(self, key: str, count: int = 1) -> float:
        """Take ``count`` events: ``0.0`` when allowed, else seconds until they would be.

        A refused request takes nothing.
        """
        return self.store.take([Limit(key, self.events, self.per)], count, self._clock())

    def __len__(self) -> int:
        return len(self.store)  # type: ignore[arg-type]


def check_limit(option: str, limit: object) -> tuple[int, float]:
    """``(events, seconds)`` checked: a :class:`~convsdk.ConfigError` naming ``option``."""
    if not isinstance(limit, tuple | list) or len(limit) != 2:
        raise ConfigError(f"must be (events, seconds) or None, got {limit!r}", field=option)
    events, per = limit
    if isinstance(events, bool) or not isinstance(events, int) or events <= 0:
        raise ConfigError(f"events must be a positive whole number, got {events!r}", field=option)
    if isinstance(per, bool) or not isinstance(per, int | float) or not per > 0:
        raise ConfigError(f"the period must be positive seconds, got {per!r}", field=option)
    return events, float(per)
