"""Erasing people's events from a JSON Lines log: each file rewritten without their lines.

The current file's lock is held exclusively throughout (:mod:`.locking`), so writers of
this version wait, and neither append nor rotate meanwhile; they then follow the path to
the file that replaced it. Each file holding a line of theirs is written again beside
it, synced, and put in its place (``os.replace``); the old file's bytes are overwritten
with zeros before it goes. Lines that are not events, or not theirs, are kept byte for
byte.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from ..._json import loads_lenient
from ...errors import ConfigError
from .locking import LOCKS, exclusive
from .rotation import fsync_dir, rotated_files

__all__ = ["erase_log", "spool_links", "waiting"]

_CHUNK = 1 << 20


def erase_log(
    path: Path, users: Collection[str], visitors: Collection[str], dry_run: bool
) -> tuple[list[str], int]:
    """Delete the lines of ``users`` (each with every visitor id linked to it) and of
    ``visitors`` from the log at ``path`` and its rotated files; ``(visitor ids linked,
    events deleted)``. ``dry_run`` counts them and changes nothing."""
    if not LOCKS and not dry_run:
        raise ConfigError(
            "erasing a log a tracker may be writing to needs POSIX file locks (flock)",
            field="url",
            source=str(path),
        )
    files = [p for _, p in sorted(rotated_files(path).items(), reverse=True)]
    if path.exists():
        files.append(path)
    if not files:
        raise ConfigError(
            "no event log here (nor rotated files of it)", field="url", source=str(path)
        )
    # A dry run changes nothing, and lets writers go on.
    with contextlib.nullcontext(None) if dry_run else exclusive(path) as current:
        linked = sorted(_linked(files, set(users)))
        ids = set(visitors) | set(linked)
        events = 0
        for file in files:
            found = _erase_file(file, set(users), ids, dry_run, current if file == path else None)
            events += found
    return linked, events


def waiting(directory: Path, users: Collection[str], visitors: Collection[str]) -> int:
    """How many events of ``users`` and ``visitors`` the JSON Lines files under
    ``directory`` hold: a tracker's spool (segments, claimed ones, dead letters, whose
    lines hold the event under ``"event"``). Read only; the spool's owner may be
    writing to it."""
    found = 0
    who, ids = set(users), set(visitors)
    marks = _marks(who | ids)
    for file in sorted(directory.rglob("*.jsonl")):
        try:
            handle = open(file, "rb")  # noqa: SIM115 (closed below)
        except OSError:  # replayed and deleted meanwhile
            continue
        with handle:
            for line in handle:
                if any(mark in line for mark in marks):
                    data = _event(line)
                    if data is not None and isinstance(data.get("event"), dict):
                        data = data["event"]  # a dead letter
                    found += data is not None and _matches(data, who, ids)
    return found


def spool_links(directory: Path, users: Collection[str]) -> list[str]:
    """The visitor ids the events waiting in the spool ``directory`` link to ``users``
    (a login from a browser the store has not heard of yet). Read only."""
    found: set[str] = set()
    for file in sorted(directory.rglob("*.jsonl")):
        try:
            found.update(_linked([file], set(users)))
        except FileNotFoundError:  # replayed and deleted meanwhile
            continue
    return sorted(found)


def _linked(files: list[Path], users: set[str]) -> Iterator[str]:
    """The visitor ids the lines link to ``users``."""
    marks = _marks(users)
    seen: set[str] = set()
    for file in files:
        for line in _lines(file):
            if not any(mark in line for mark in marks):
                continue
            data = _event(line)
            if data is None:
                continue
            visitor_id = data.get("visitor_id")
            if _text(data.get("user_id")) in users and type(visitor_id) is str:
                if visitor_id not in seen:
                    seen.add(visitor_id)
                    yield visitor_id


def _erase_file(
    file: Path, users: set[str], ids: set[str], dry_run: bool, held: io.FileIO | None
) -> int:
    """Rewrite ``file`` without the lines of ``ids`` and ``users``; how many it had.
    ``held``: the current file, open and locked (its bytes are overwritten through it)."""
    marks = _marks(users | ids)

    def theirs(line: bytes) -> bool:
        return any(mark in line for mark in marks) and _theirs(line, users, ids)

    found = sum(1 for line in _lines(file) if theirs(line))  # read twice: memory stays flat
    if not found or dry_run:
        return found
    fd, name = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with open(fd, "wb") as out:
            out.writelines(line for line in _lines(file) if not theirs(line))
            out.flush()
            os.fsync(out.fileno())
        shutil.copymode(file, name)
        old = held if held is not None else io.FileIO(os.fspath(file), "r+")
        try:
            os.replace(name, file)
            _overwrite(old)
        finally:
            if held is None:
                old.close()
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    fsync_dir(file.parent)
    return found


def _theirs(line: bytes, users: set[str], ids: set[str]) -> bool:
    data = _event(line)
    return data is not None and _matches(data, users, ids)


def _matches(data: dict[str, Any], users: set[str], ids: set[str]) -> bool:
    return data.get("visitor_id") in ids or _text(data.get("user_id")) in users


def _overwrite(file: io.FileIO) -> None:
    """Zeros over every byte of ``file`` (replaced, it is gone once closed)."""
    size = os.fstat(file.fileno()).st_size
    file.seek(0)
    zeros = bytes(min(size, _CHUNK))
    while size > 0:
        size -= file.write(zeros[: min(size, _CHUNK)]) or 0
    os.fsync(file.fileno())


def _lines(file: Path) -> Iterator[bytes]:
    """The lines of ``file``, each with its newline (a torn last one without)."""
    with open(file, "rb") as handle:
        yield from handle


def _event(line: bytes) -> dict[str, Any] | None:
    try:
        data = loads_lenient(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _text(value: object) -> str | None:
    """An id as the report reads it: text, or an integer as text."""
    if type(value) is str:
        return value
    return str(value) if type(value) is int else None


def _marks(ids: Collection[str]) -> list[bytes]:
    """What a line holding one of ``ids`` contains: the id as UTF-8, or as ASCII JSON."""
    marks = {text.encode() for text in ids}
    marks |= {json.dumps(text)[1:-1].encode() for text in ids}
    return [mark for mark in marks if mark]
