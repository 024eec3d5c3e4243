"""A log's lines, read in large blocks, and the event id each one starts with."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..._json import loads_lenient

__all__ = ["ID_END", "ID_PREFIX", "Handles", "blocks", "event_key", "parse_line"]

#: The files of a log, oldest first: (path, open file, size when opened).
Handles = list[tuple[Path, io.BufferedReader, int]]

#: How a line written by convsdk starts, and where its event id (a UUID) ends.
ID_PREFIX = b'{"event_id":"'
_ID_START = len(ID_PREFIX)
ID_END = _ID_START + 36
_CHUNK = 4 << 20


def event_key(line: bytes) -> bytes | None:
    """The event id of ``line``; ``None`` if it is not an event."""
    # Lines written by convsdk start with the id (Event.to_dict's first key):
    # slicing it out is far cheaper than parsing the line.
    if line[:_ID_START] == ID_PREFIX and line[ID_END : ID_END + 1] == b'"':
        return line[_ID_START:ID_END]
    return _parsed_key(line)


def parse_line(line: bytes) -> Any:
    """The JSON value of ``line``; raises ``ValueError`` if it is not JSON.

    ``NaN``, ``Infinity`` and integers wider than 64 bits are read, as Python's json
    (what a writer's ``json.dumps`` gives, by default) and DuckDB read them.
    """
    return loads_lenient(line)


def _parsed_key(line: bytes) -> bytes | None:
    """The event id of a line that does not start with it; ``None`` if not an event."""
    try:
        data = parse_line(line)
    except ValueError:
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id.encode() if isinstance(event_id, str) else None


def blocks(handle: io.BufferedReader, size: int) -> Iterator[tuple[list[bytes], int, bool]]:
    """``(lines, bytes read, torn)`` blocks of the file's first ``size`` bytes.

    Lines come without their newline. The last block is ``([tail], 0, True)`` when the
    file does not end with a newline (a torn write, or one still in progress). Reading
    stops at ``size``, the size when the file was opened, so both passes see the same
    events while a tracker keeps appending.
    """
    handle.seek(0)
    rest = b""
    left = size
    while left > 0:
        data = handle.read(min(_CHUNK, left))
        if not data:
            break
        left -= len(data)
        lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
        rest = lines.pop()
        yield lines, len(data), False
    if rest:
        yield [rest], 0, True
