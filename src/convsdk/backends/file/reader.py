"""Reading a JSON Lines log back: rotated files oldest first, torn or garbage lines skipped,
re-sent events returned once."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from ..._json import loads
from ...event import Event
from .rotation import rotated_files
from .url import parse_url

__all__ = ["read_events"]

_log = logging.getLogger("convsdk.backends.file")

# A line longer than this is garbage (an event is at most a few hundred KiB): the
# reader skips it instead of holding it in memory.
_MAX_LINE = 16 * 1024 * 1024


def read_events(path: str | os.PathLike[str], *, dedupe: bool = True) -> Iterator[Event]:
    """Stream the events of a JSON Lines log: rotated files oldest first, then the current one.

    >>> for event in read_events("events.jsonl"):
    ...     print(event.name)

    ``path`` is the current file's path (or a ``file://`` URL). Files are read a line
    at a time. A line that is not an event (torn by a crash, garbage) is skipped with a
    warning on the ``convsdk.backends.file`` logger. With ``dedupe`` an event re-sent
    after a failed delivery is returned once; that keeps a set of the ids seen (about
    100 bytes an event), so pass ``dedupe=False`` for logs of many millions of events.
    Raises ``FileNotFoundError`` when neither the file nor a rotated one exists.
    """
    if isinstance(path, str) and path.lower().startswith("file://"):
        path = os.path.abspath(parse_url(path, {})[0])  # as the backend takes it
    base = Path(path)
    rotated = rotated_files(base)
    files = [rotated[index] for index in sorted(rotated, reverse=True)]
    if base.exists():
        files.append(base)
    if not files:
        raise FileNotFoundError(f"no event log at {base} (nor rotated files of it)")
    return _read_files(files, dedupe)


def _read_files(files: list[Path], dedupe: bool) -> Iterator[Event]:
    handles: list[tuple[Path, io.BufferedReader]] = []
    try:
        for name in files:
            try:
                handles.append((name, open(name, "rb")))
            except FileNotFoundError:
                continue  # rotated away since it was listed; its events moved to an older name
        seen: set[str] | None = set() if dedupe else None
        for name, handle in handles:
            for event in _read_lines(name, handle):
                if seen is not None:
                    event_id = event.event_id
                    if event_id in seen:
                        continue
                    seen.add(event_id)
                yield event
    finally:
        for _, handle in handles:
            handle.close()


def _read_lines(name: Path, handle: io.BufferedReader) -> Iterator[Event]:
    lineno = 0
    while line := handle.readline(_MAX_LINE):
        lineno += 1
        if not line.endswith(b"\n"):
            if len(line) == _MAX_LINE:
                while (rest := handle.readline(_MAX_LINE)) and not rest.endswith(b"\n"):
                    pass
                _log.warning("%s:%d: skipped a line longer than %d bytes", name, lineno, _MAX_LINE)
            elif line.strip():
                _log.warning("%s:%d: skipped a torn last line (no newline)", name, lineno)
            continue
        if not line.strip():
            continue  # left by a writer that repaired a torn line
        try:
            data = loads(line)
            if not (
                isinstance(data, dict)
                and isinstance(data.get("event_id"), str)
                and isinstance(data.get("name"), str)
                and isinstance(data.get("timestamp"), str)
            ):
                raise ValueError("not an event (event_id, name and timestamp are required)")
            event = Event.from_dict(data)
        except Exception as exc:
            _log.warning("%s:%d: skipped a line that is not an event: %s", name, lineno, exc)
            continue
        yield event
