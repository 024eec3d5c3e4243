"""The reader of JSON Lines logs: the log's files, opened at once, read in two passes."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path

from ...errors import BackendError, ConfigError
from ..dataset import Dataset
from ..progress import ProgressCallback, report_progress
from .candidates import candidates
from .fold import Fold
from .lines import Handles, blocks

__all__ = ["FileReader", "summarise"]

_log = logging.getLogger("convsdk.report")


class FileReader:
    """Reads a JSON Lines event log and its rotated siblings (see the module docs).

    >>> FileReader("/var/log/shop/events.jsonl").read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str | None = None) -> None:
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.source = source or os.fspath(path)

    @classmethod
    def from_url(cls, url: str) -> FileReader:
        """``file:///absolute/events.jsonl`` or ``file://relative/events.jsonl``."""
        from ...backends.file import FileBackend

        return cls(FileBackend.from_url(url).path, source=url)

    def files(self) -> list[Path]:
        """The log's files, oldest first: ``events.jsonl.N`` ... ``.1``, then the file."""
        pattern = re.compile(re.escape(self.path.name) + r"\.([1-9][0-9]*)\Z")
        rotated: list[tuple[int, Path]] = []
        try:
            entries = list(os.scandir(self.path.parent))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        for entry in entries:
            match = pattern.match(entry.name)
            if match and entry.is_file():
                rotated.append((int(match.group(1)), Path(entry.path)))
        files = [path for _, path in sorted(rotated, reverse=True)]
        if self.path.is_file():
            files.append(self.path)
        return files

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        step_goals: Collection[str] = (),
        progress: ProgressCallback | None = None,
        goal_kinds: Mapping[str, str] | None = None,
        include_bots: bool = False,
    ) -> Dataset:
        """Summarise the events from ``since`` (inclusive) to ``until`` (exclusive)."""
        names = self.files()
        if not names:
            raise ConfigError(
                "no event log here (nor rotated files of it)", field="source", source=str(self.path)
            )
        handles: Handles = []
        try:
            # Everything is opened first, so a rotation while reading moves no event
            # from a file not yet read into one already read.
            for name in names:
                try:
                    handle = open(name, "rb")
                except FileNotFoundError:
                    continue  # rotated away since listed: its events moved to an older name
                handles.append((name, handle, os.fstat(handle.fileno()).st_size))
            found = candidates(handles, progress)
            fold = Fold(found, since, until, set(step_goals), goal_kinds, include_bots)
            return summarise(handles, fold, progress)
        except OSError as exc:
            raise BackendError(f"cannot read {self.path}: {exc}", backend="file") from exc
        finally:
            for _, handle, _ in handles:
                handle.close()


def summarise(handles: Handles, fold: Fold, progress: ProgressCallback | None) -> Dataset:
    """Second pass: fold every distinct event of the range into per-visitor state."""
    total = sum(size for _, _, size in handles)
    done = 0
    report_progress(progress, "reading", 0, total)
    for name, handle, size in handles:
        lineno = 0
        for lines, read, torn in blocks(handle, size):
            done += read
            report_progress(progress, "reading", done, total)
            if torn:
                if lines[0].strip():
                    _log.warning("%s:%d: skipped a torn last line (no newline)", name, lineno + 1)
                continue
            lineno = fold.block(name, lines, lineno)
    fold.settle()
    return fold.dataset()
