"""The reader of JSON Lines logs: the log's files, opened at once, read in two passes."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ...errors import BackendError, ConfigError
from ..collector import collector_paused
from ..dataset import Dataset, VisitorStream, VisitorSummary
from ..progress import ProgressCallback, report_progress
from .candidates import candidates
from .fold import Fold
from .lines import Handles, blocks
from .parts import MAX_PARTS, PART_BYTES, Links, Part, Parts, add_totals

__all__ = ["FileReader", "summarise"]

_log = logging.getLogger("convsdk.report")


class FileReader:
    """Reads a JSON Lines event log and its rotated siblings (see the module docs).

    >>> FileReader("/var/log/shop/events.jsonl").read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        source: str | None = None,
        part_bytes: int | None = None,
    ) -> None:
        """``part_bytes``: a log larger than this is read in parts of about this size
        (:mod:`~convsdk.report.jsonl.parts`), one part's visitors in memory at a time;
        default :data:`~convsdk.report.jsonl.parts.PART_BYTES`."""
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.source = source or os.fspath(path)
        self.part_bytes = part_bytes

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
        """Summarise the events from ``since`` (inclusive) to ``until`` (exclusive).

        A log larger than ``part_bytes`` is read in parts (:mod:`.parts`): the people of
        the dataset are then read from the log, part after part, as the dataset's
        stream is read; its totals and links are complete once it is.
        """
        names = self.files()
        if not names:
            raise ConfigError(
                "no event log here (nor rotated files of it)", field="source", source=str(self.path)
            )
        handles: Handles = []
        with _reading(self.path, handles):
            # Everything is opened first, so a rotation while reading moves no event
            # from a file not yet read into one already read.
            for name in names:
                try:
                    handle = open(name, "rb")
                except FileNotFoundError:
                    continue  # rotated away since listed: its events moved to an older name
                handles.append((name, handle, os.fstat(handle.fileno()).st_size))
            part_bytes = PART_BYTES if self.part_bytes is None else self.part_bytes
            parts = -(-sum(size for _, _, size in handles) // max(1, part_bytes))
            parts = min(parts, MAX_PARTS)  # a log of more than 255 GiB: larger parts
            links = None if parts <= 1 else Links()
            found = candidates(handles, progress, links)
            if links is None:
                fold = Fold(found, since, until, set(step_goals), goal_kinds, include_bots)
                return summarise(handles, fold, progress)
            dataset = _in_parts(
                self.path,
                list(handles),
                Parts(parts, links.links),
                progress,
                lambda part: Fold(
                    found, since, until, set(step_goals), goal_kinds, include_bots, part
                ),
            )
            handles.clear()  # the people's stream reads them, and closes them when read
            return dataset


@contextmanager
def _reading(path: Path, handles: Handles) -> Iterator[None]:
    """Read the log at ``path``: an error reading it is a BackendError; the files left in
    ``handles`` are closed at the end."""
    try:
        yield
    except OSError as exc:
        raise BackendError(f"cannot read {path}: {exc}", backend="file") from exc
    finally:
        for _, handle, _ in handles:
            handle.close()


def _in_parts(
    path: Path,
    handles: Handles,
    split: Parts,
    progress: ProgressCallback | None,
    fold: Callable[[Part], Fold],
) -> Dataset:
    """The dataset of the log at ``path`` read in parts (``fold(part)`` reads a part).

    The first part is read now: its fold also finds the goals' kinds and each
    transaction's earliest conversion over the whole log, which the report needs before
    it starts. The other parts are read as the people are, and the totals and links
    are complete once they are all read.
    """
    first = fold(split.part(0))
    kinds, transactions = first.kinds, first.transactions  # kept by the fold's dataset
    part = summarise(handles, first, progress, f"reading part 1 of {split.count}")
    dataset = Dataset(visitors=[], goal_kinds=dict(kinds))
    add_totals(dataset, part)
    rest = _rest(
        dataset,
        list(part.links),
        handles,
        split,
        lambda index: fold(split.part(index, kinds, transactions)),
        progress,
    )
    dataset.visitors = VisitorStream(_people(path, handles, part.visitors, rest))
    return dataset


def _people(
    path: Path,
    handles: Handles,
    first: Iterable[VisitorSummary],
    rest: Iterator[VisitorSummary],
) -> Iterator[VisitorSummary]:
    """The first part's people, then the others' as they are read; the log's files
    closed at the end."""
    with _reading(path, handles):
        yield from first
        yield from rest


def _rest(
    dataset: Dataset,
    links: list[tuple[str, str]],
    handles: Handles,
    split: Parts,
    fold: Callable[[int], Fold],
    progress: ProgressCallback | None,
) -> Iterator[VisitorSummary]:
    """The people of the parts after the first, read in turn; ``dataset`` gets a part's
    totals before its people, and every part's ``links`` once all are read."""
    for index in range(1, split.count):
        # Read as the report is made, out of load_report's pause: paused here too.
        with collector_paused():
            phase = f"reading part {index + 1} of {split.count}"
            part = summarise(handles, fold(index), progress, phase)
        if not split.read_alike():
            raise BackendError(
                f"{handles[0][0]} changed while it was read (truncated?)", backend="file"
            )
        add_totals(dataset, part)
        links.extend(part.links)
        yield from part.visitors
        del part  # its fold's leftovers, before the next part's are made
    dataset.links = sorted(links)


def summarise(
    handles: Handles, fold: Fold, progress: ProgressCallback | None, phase: str = "reading"
) -> Dataset:
    """Second pass: fold every distinct event of the range into per-visitor state."""
    total = sum(size for _, _, size in handles)
    done = 0
    report_progress(progress, phase, 0, total)
    for name, handle, size in handles:
        lineno = 0
        for lines, read, torn in blocks(handle, size):
            done += read
            report_progress(progress, phase, done, total)
            if torn:
                if lines[0].strip() and (fold.part is None or fold.part.first):  # said once
                    _log.warning("%s:%d: skipped a torn last line (no newline)", name, lineno + 1)
                continue
            lineno = fold.block(name, lines, lineno)
    fold.settle()
    return fold.dataset()
