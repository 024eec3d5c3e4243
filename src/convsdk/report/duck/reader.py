"""The DuckDB reader of JSON Lines logs (extra ``duckdb``): one scan, then SQL."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from ...errors import BackendError, missing_extra
from ...event import format_timestamp
from ..dataset import Dataset
from ..jsonl import FileReader
from ..progress import ProgressCallback
from .fold import summarise
from .queries import load_query
from .session import Session
from .tails import look_at_tails

__all__ = ["DuckReader", "require_duckdb"]

_log = logging.getLogger("convsdk.report")


class DuckReader:
    """Reads a JSON Lines event log and its rotated siblings with DuckDB.

    >>> DuckReader("/var/log/shop/events.jsonl").read(since=datetime(2026, 11, 1, tzinfo=UTC))

    The same files and the same report as :class:`~convsdk.report.jsonl.FileReader`,
    which it hands the log over to when a line is not an event (a torn last line aside):
    that reader warns about each such line and knows which of two different events
    with one id came first.
    """

    def __init__(self, path: str | os.PathLike[str], *, source: str | None = None) -> None:
        self.streaming = FileReader(path, source=source)
        self.path = self.streaming.path
        self.source = self.streaming.source

    @classmethod
    def from_url(cls, url: str) -> DuckReader:
        """``file:///absolute/events.jsonl`` or ``file://relative/events.jsonl``."""
        return cls(FileReader.from_url(url).path, source=url)

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
        settings: dict[str, Any] = {
            "since": since,
            "until": until,
            "step_goals": step_goals,
            "progress": progress,
            "goal_kinds": goal_kinds,
            "include_bots": include_bots,
        }
        duckdb = require_duckdb(self.source)
        handles: list[tuple[Path, io.BufferedReader]] = []
        try:
            for name in self.streaming.files():
                try:
                    handles.append((name, open(name, "rb")))
                except FileNotFoundError:
                    continue  # rotated away since listed: its events moved to an older name
            if not handles:
                return self.streaming.read(**settings)  # which says there is no log
            tails = look_at_tails(handles)
            if tails.readable is not None:
                why = f"{tails.readable} ends with a line cut short"
            else:
                found = self._count(
                    Session(duckdb, self.path, progress), handles, tails.torn, settings
                )
                if isinstance(found, Dataset):
                    return found
                why = found
        except OSError as exc:
            raise BackendError(f"cannot read {self.path}: {exc}", backend="file") from exc
        finally:
            for _, handle in handles:
                handle.close()
        _log.info("%s: %s; reading it line by line", self.path, why)
        return self.streaming.read(**settings)

    def _count(
        self,
        session: Session,
        handles: list[tuple[Path, io.BufferedReader]],
        torn: list[Path],
        settings: dict[str, Any],
    ) -> Dataset | str:
        """The dataset, whose people's stream closes ``session``; or why the streaming
        reader must read the log instead, ``session`` closed."""
        try:
            files = [_open_path(path, handle) for path, handle in handles]
            session.load(*_load(files, settings["since"], settings["until"]))
            ((unclean, shared_ids),) = session.run("check")
            if unclean != len(torn) or shared_ids:
                session.close()
                return "some lines are not events" if unclean else "two events share an id"
            for path in torn:
                _log.warning("%s: skipped a torn last line (no newline)", path)
            session.run("clean")
            return summarise(
                session,
                settings["step_goals"],
                settings["goal_kinds"] or {},
                settings["include_bots"],
            )
        except BaseException:
            session.close()
            raise


def _load(
    files: list[str], since: datetime | None, until: datetime | None
) -> tuple[str, dict[str, Any]]:
    """The query that reads ``files`` into the table ``ev``, events of the range only,
    and its parameters."""
    parameters: dict[str, Any] = {"files": files}
    if since is not None:
        parameters["since"] = format_timestamp(since)
    if until is not None:
        parameters["until"] = format_timestamp(until)
    return load_query(since is not None, until is not None), parameters


def _open_path(path: Path, handle: io.BufferedReader) -> str:
    """A path to the file already open, where the system has one (``/dev/fd/N``): a
    rotation while DuckDB reads then moves no event from a file not yet read into one
    already read."""
    fd_path = f"/dev/fd/{handle.fileno()}"
    return fd_path if os.path.exists(fd_path) else os.fspath(path)


def require_duckdb(source: str | None = None) -> Any:
    """The ``duckdb`` module; :class:`convsdk.ConfigError` saying how to install it if
    it is missing."""
    try:
        import duckdb
    except ImportError as exc:
        raise missing_extra(
            "reading logs with DuckDB", "duckdb", exc, field="engine", source=source
        ) from exc
    return duckdb
