"""Moved to :mod:`convsdk.browser`; kept for imports."""

from __future__ import annotations

from .browser.allowlist import RESERVED_EVENTS
from .browser.config import pop_beacon_options
from .browser.endpoint import BeaconEndpoint
from .browser.limits import LIMITS_FILE
from .browser.script import DEFAULT_COLLECT_PATH, DEFAULT_SCRIPT_PATH
from .ratelimit import RateLimiter

__all__ = [
    "DEFAULT_COLLECT_PATH",
    "DEFAULT_SCRIPT_PATH",
    "LIMITS_FILE",
    "RESERVED_EVENTS",
    "BeaconEndpoint",
    "RateLimiter",
    "pop_beacon_options",
]
