"""Reading a store through its rollups, whatever the store: :class:`ThroughRollups`.

A report reads whole days from the rollups and the rest from the events
(:class:`~.assemble.Assembly` over a :class:`~.source.RollupSource`); when the store
has no usable rollups, the store's own reader reads the events. Each store says how
its rollups are opened and what its errors mean (:mod:`.sqlite_reader`,
:mod:`.postgres_reader`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Generic, TypeVar

from ...errors import BackendError
from ..dataset import Dataset
from ..progress import ProgressCallback
from ..protocol import Reader
from .assemble import Assembly
from .source import RollupSource

__all__ = ["ThroughRollups"]

_log = logging.getLogger("convsdk.report")

EventsReader = TypeVar("EventsReader", bound=Reader)


class ThroughRollups(ABC, Generic[EventsReader]):
    """A :class:`~convsdk.report.reader.Reader` that reads through the rollups of the
    store ``events`` reads, and leaves the range to ``events`` when there are none."""

    def __init__(self, events: EventsReader) -> None:
        self.events = events
        """The reader of the events, for what the rollups cannot answer."""
        self.source = events.source

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
        """Summarise the events of the range (see :class:`~convsdk.report.reader.Reader`):
        the same summaries as the events reader's, people handed over as a stream."""
        opened = self.open_rollups()
        if opened is None:
            return self.events.read(
                since=since,
                until=until,
                step_goals=step_goals,
                progress=progress,
                goal_kinds=goal_kinds,
                include_bots=include_bots,
            )
        rollups, updated_at = opened
        _log.info("%s: read from rollups up to %s", self.source, updated_at)
        assembly = Assembly(rollups, step_goals, goal_kinds or {}, include_bots, progress)
        try:
            return assembly.dataset(since, until)
        except BaseException as exc:
            rollups.close()
            error = self.failure(exc)
            if error is None:
                raise
            raise error from exc

    @abstractmethod
    def open_rollups(self) -> tuple[RollupSource, str] | None:
        """The store's rollups opened for one read, and when they were last brought up
        to date; ``None`` when the events reader is to read (none, stale, unreadable)."""

    @abstractmethod
    def failure(self, exc: BaseException) -> BackendError | None:
        """The :class:`~convsdk.BackendError` a failure while reading the rollups is
        reported as; ``None`` for one to raise as it is."""
