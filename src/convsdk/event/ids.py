"""Event ids: time-ordered UUIDs (version 7 layout), formatted only when first read."""

from __future__ import annotations

import os
import random
import time

from ..restore import after_restore

__all__ = ["new_event_id", "random_bits"]

# A generator of convsdk's own: an app that seeds the random module (random.seed(42))
# does not make ids repeat. Seeded again in a forked child, and in an execution
# environment resumed from a Lambda snapshot, which would otherwise draw the same bits.
_random = random.Random()
#: ``random_bits(k)``: ``k`` random bits, for the random part of event ids.
random_bits = _random.getrandbits
_getrandbits = random_bits
_time_ns = time.time_ns


def _reseed() -> None:
    _random.seed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)
after_restore(_reseed)


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
