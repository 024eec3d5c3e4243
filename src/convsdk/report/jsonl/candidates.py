"""The first pass over a log: which event ids may occur twice."""

from __future__ import annotations

from ..progress import ProgressCallback, report_progress
from .lines import Handles, blocks, event_key
from .parts import Links

__all__ = ["candidates"]


def candidates(
    handles: Handles, progress: ProgressCallback | None, links: Links | None = None
) -> set[bytes]:
    """First pass: the ids that may occur twice (a superset of the repeated ones);
    ``links``, for a log read in parts, is given every line too."""
    total = sum(size for _, _, size in handles)
    # About 16 bits per event (an event line is 150 bytes or more), so that a few
    # percent of the ids are false candidates, which costs a set entry each.
    bits = 1 << max(16, (total * 16 // 150).bit_length())
    mask = bits - 1
    seen = bytearray(bits >> 3)
    found: set[bytes] = set()
    done = 0
    report_progress(progress, "scanning", 0, total)
    for _, handle, size in handles:
        for lines, read, torn in blocks(handle, size):
            done += read
            report_progress(progress, "scanning", done, total)
            if torn:
                continue
            if links is not None:
                for line in lines:
                    links.line(line)
            for line in lines:
                key = event_key(line)
                if key is None:
                    continue
                h = hash(key) & mask
                byte, bit = h >> 3, 1 << (h & 7)
                if seen[byte] & bit:
                    found.add(key)
                else:
                    seen[byte] |= bit
    return found
