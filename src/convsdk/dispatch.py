"""Moved to :mod:`convsdk.delivery`; kept for imports."""

from __future__ import annotations

from .delivery.dispatcher import BACKPRESSURE_POLICIES, Backpressure, Dispatcher

__all__ = ["BACKPRESSURE_POLICIES", "Backpressure", "Dispatcher"]
