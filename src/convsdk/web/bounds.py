"""Lengths the event schema accepts for context fields: longer values are cut to these,
so a stored event always validates."""

from __future__ import annotations

__all__ = ["MAX_CACHED_PAGE", "MAX_IP", "MAX_PATH", "MAX_UA", "MAX_URL", "MAX_UTM", "MAX_VARIANT"]

MAX_PATH, MAX_URL, MAX_UA, MAX_UTM, MAX_VARIANT = 2048, 4096, 1024, 256, 128
MAX_IP = 64  # "[ffff:...:ffff%zone]:65535" fits; longer is not an address
# Requests whose host, path and query add up to more are not cached (memory bound).
MAX_CACHED_PAGE = 1024
