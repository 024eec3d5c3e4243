"""Moved to :mod:`convsdk.delivery` (:mod:`~convsdk.delivery.spool` and its parts); kept
for imports."""

from __future__ import annotations

from .delivery.claim import MAX_LINE, Claim, parse_line
from .delivery.files import Segment, SpoolWriteError
from .delivery.spool import DEFAULT_MAX_BYTES, SEGMENT_BYTES, Spool

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_LINE",
    "SEGMENT_BYTES",
    "Claim",
    "Segment",
    "Spool",
    "SpoolWriteError",
    "parse_line",
]
