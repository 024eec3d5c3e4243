"""Event ids: time-ordered UUIDs (version 7 layout), formatted only when first read."""

from __future__ import annotations

import random
import time

__all__ = ["new_event_id"]

_getrandbits = random.getrandbits
_time_ns = time.time_ns


def new_event_id(ns: int | None = None, rand: int | None = None) -> str:
    """Return a time-ordered UUID (version 7 layout) as a string.

    48 bits of Unix milliseconds, 12 bits of sub-millisecond time, then 62 random
    bits: ids sort by creation time and never collide in practice.
    """
    if ns is None:
        ns = _time_ns()
    if rand is None:
        rand = _getrandbits(62)
    ms, sub = divmod(ns, 1_000_000)
    n = (ms << 80) | (0x7 << 76) | ((sub * 4096 // 1_000_000) << 64) | (0b10 << 62) | rand
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
