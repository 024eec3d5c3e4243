"""File-system helpers shared by the spool and the file backend."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(directory: str | os.PathLike[str] | Path) -> None:
    """``fsync`` a directory, so that new files and renames in it survive a power cut.

    Best effort: not every platform can open a directory, and there it does nothing.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
