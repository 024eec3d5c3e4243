"""Rotation of a JSON Lines log: the numbered files ``<name>.1`` (newest) to ``<name>.N``
(oldest), shifting them up by one, and making the renames durable."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from ..._fs import fsync_dir

__all__ = ["fsync_dir", "numbered", "rotate", "rotated_files"]

_log = logging.getLogger("convsdk.backends.file")


def numbered(base: Path, index: int) -> Path:
    """The path of rotated file number ``index`` of ``base``."""
    return base.with_name(f"{base.name}.{index}")


def rotated_files(base: Path) -> dict[int, Path]:
    """``{n: path}`` of the rotated files ``<base>.<n>`` that exist."""
    pattern = re.compile(re.escape(base.name) + r"\.([1-9][0-9]*)\Z")
    found: dict[int, Path] = {}
    try:
        entries = list(os.scandir(base.parent))
    except FileNotFoundError:
        return found
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_file():
            found[int(match.group(1))] = Path(entry.path)
    return found


def rotate(path: Path, backups: int, fsync: bool) -> None:
    """Move ``path`` to ``<path>.1`` (each older file one number up, deleting those past
    ``backups``); with ``backups`` 0, delete it. The caller has closed it."""
    # Highest number first, so each rename goes to a name already moved away.
    for index, rotated in sorted(rotated_files(path).items(), reverse=True):
        try:
            if index >= backups:
                rotated.unlink()
            else:
                os.replace(rotated, numbered(path, index + 1))
        except FileNotFoundError:
            pass  # another process rotated it first
    try:
        if backups:
            os.replace(path, numbered(path, 1))
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    if fsync:
        fsync_dir(path.parent)
    _log.debug("rotated %s", path)
