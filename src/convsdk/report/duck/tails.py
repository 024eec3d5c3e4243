"""The last line of each file of a log, looked at before DuckDB reads it.

A file that does not end with a newline has a torn last line (a crash mid-write, or a
write in progress), which the streaming reader skips whatever it holds. DuckDB reads it
as any other line: when it is not JSON, as a line that is not an event, which the
reader can allow for; when it happens to be a whole event, as that event, which the
streaming reader would not count, so the reader must hand the log over to it.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from ..jsonl.lines import parse_line

__all__ = ["Tails", "look_at_tails"]

# A torn line longer than this is not looked for (the reader then hands over).
_MAX_TAIL = 1 << 20


@dataclass(slots=True)
class Tails:
    """What the files' last lines mean for the DuckDB reader."""

    torn: list[Path]
    """Files whose torn last line DuckDB will read as a line that is not an event."""
    readable: Path | None = None
    """A file whose torn last line is whole JSON (DuckDB would count it): hand over."""


def look_at_tails(handles: list[tuple[Path, io.BufferedReader]]) -> Tails:
    """Look at the end of each open file of a log."""
    found = Tails(torn=[])
    for path, handle in handles:
        tail = _tail(handle)
        if tail is None:
            continue
        if not tail.strip() or _is_json(tail):
            found.readable = path
            return found
        found.torn.append(path)
    return found


def _tail(handle: io.BufferedReader) -> bytes | None:
    """The bytes after the last newline; ``None`` if the file ends with one (or is empty),
    empty if the line is too long to look at."""
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        return None
    start = max(0, size - _MAX_TAIL)
    handle.seek(start)
    data = handle.read(size - start)
    if data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n")
    if cut < 0 and start > 0:
        return b""  # longer than we look for: handed over, to be safe
    return data[cut + 1 :]


def _is_json(data: bytes) -> bool:
    try:
        parse_line(data)
    except ValueError:
        return False
    return True
