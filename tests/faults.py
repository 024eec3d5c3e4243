"""Faults the tests inject: a disk that fills up."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class FullDisk:
    """``os.write`` for files under ``directory``: ``room`` bytes more, the last write
    short (as a file system does at its edge), then ENOSPC; other files as usual.

    >>> monkeypatch.setattr(os, "write", FullDisk(tmp_path, room=1000))
    """

    def __init__(self, directory: Path, room: int) -> None:
        self.directory = str(directory)
        self.room = room
        self.real = os.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if not target.startswith(self.directory):
            return self.real(fd, data)
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = self.real(fd, bytes(data[: self.room]))
        self.room -= n
        return n
