"""New visitor and session ids, minted in bulk from the system's random source.

A new visitor needs two ids; reading the random source and base64-encoding it cost
more than the ids themselves, so both are done for a batch of visitors at once and
the pairs handed out one by one (``deque.popleft`` is atomic: thread-safe). A forked
child drops the pairs it inherited: they are its parent's to hand out; so does an
execution environment resumed from a Lambda snapshot (see :mod:`convsdk.restore`).
"""

from __future__ import annotations

import os
import re
from binascii import b2a_base64
from collections import deque

from ..restore import after_restore

__all__ = ["new_ids"]

_URLSAFE = bytes.maketrans(b"+/", b"-_")
# 30 random bytes a pair: 40 base64 characters (no padding, no character shared with
# the next pair's bytes), the two ids and 2 characters left over.
_PAIR_BYTES = 30
_PAIRS = re.compile(r"(.{22})(.{16})..", re.DOTALL)
_BATCH = 128

_pool: deque[tuple[str, str]] = deque()


def new_ids() -> tuple[str, str]:
    """A new visitor id and session id: 22 and 16 URL-safe characters (132 and 96
    random bits), shaped as ``secrets.token_urlsafe(16)`` and ``token_urlsafe(12)``."""
    while True:
        try:
            return _pool.popleft()
        except IndexError:
            _refill()


def _refill() -> None:
    raw = os.urandom(_PAIR_BYTES * _BATCH)
    text = b2a_base64(raw, newline=False).translate(_URLSAFE).decode("ascii")
    _pool.extend(_PAIRS.findall(text))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.clear)
# Likewise in an execution environment resumed from a Lambda snapshot (a request made
# while the function was initialised had the pool filled before the snapshot).
after_restore(_pool.clear)
