"""The lock writers and an eraser share on the current log file (POSIX ``flock``).

A writer holds the current file's lock *shared* while it checks that the path still
names the file it holds open, rotates it if need be, and appends one batch: writers
never wait for each other. An eraser (``convsdk forget``) holds it *exclusively* while
it rewrites the files: writers wait for it, then find that the path names a new file,
and follow it, as they follow a rotation. Where ``flock`` is missing (Windows) or
refused (some network file systems), writers go on without it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCKS", "exclusive", "shared"]

#: Whether this platform has the lock (``flock``).
LOCKS = fcntl is not None


@contextlib.contextmanager
def shared(file: io.FileIO) -> Iterator[None]:
    """Hold ``file``'s lock shared (a writer's), when the file system takes locks."""
    locked = _lock(file.fileno(), shared=True)
    try:
        yield
    finally:
        if locked:
            # A rotation inside closed the file, which let the lock go with it.
            with contextlib.suppress(OSError, ValueError):
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[io.FileIO | None]:
    """Hold the lock of the file at ``path`` exclusively (an eraser's); yields the file
    open for reading and writing (``None`` when there is none), kept open until the
    end so that the lock holds on it even once the path names another file."""
    try:
        file = io.FileIO(os.fspath(path), "r+")
    except FileNotFoundError:
        yield None
        return
    try:
        _lock(file.fileno(), shared=False)
        yield file
    finally:
        file.close()  # which releases the lock


def _lock(fd: int, *, shared: bool) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    except OSError:  # a file system without locks: go on without
        return False
    return True
