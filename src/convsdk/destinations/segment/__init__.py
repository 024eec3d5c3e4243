"""``segment://``: Segment's HTTP Tracking API batch endpoint, or RudderStack's
(extra ``http``).

:mod:`.payload` (events as Segment Spec calls), :mod:`.backend`
(:class:`SegmentDestination`).
"""

from __future__ import annotations

from .backend import SegmentDestination

__all__ = ["SegmentDestination"]
