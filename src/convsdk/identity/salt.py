"""Cookieless visitor ids: a keyed hash under a random salt that changes every UTC day."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["DailySalt", "cookieless_hash"]


class DailySalt:
    """A random salt that changes every UTC day, kept in memory only."""

    __slots__ = ("_clock", "_day", "_lock", "_salt")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day = -1
        self._salt = b""

    def current(self) -> bytes:
        """Today's salt (a new random one the first time it is asked for each day)."""
        day = int(self._clock() // 86400)
        if day != self._day:
            with self._lock:
                if day != self._day:
                    # The previous salt is dropped here: ids of past days can no
                    # longer be linked to an IP address and user agent.
                    self._salt = secrets.token_bytes(32)
                    self._day = day
        return self._salt


def cookieless_hash(salt: bytes, ip: str | None, user_agent: str | None, host: str | None) -> str:
    """The visitor id of cookieless mode: a keyed hash of the IP, user agent and host."""
    data = f"{ip or ''}\x00{user_agent or ''}\x00{host or ''}".encode("utf-8", "replace")
    return hashlib.blake2b(data, key=salt, digest_size=16).hexdigest()
