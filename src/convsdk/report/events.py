"""Reports from any source of events: an iterable of :class:`~convsdk.Event` folded into a
:class:`~convsdk.report.dataset.Dataset` by the same fold as JSON Lines logs, so the same
rules hold (duplicates by ``event_id`` and by transaction, first and last touch, variants).

:class:`EventsReader` makes a :class:`~convsdk.report.reader.Reader` of any function
``read_events(since, until)``: the easy way to report from a store of one's own. A
reader that can count in the store itself (SQL) should implement ``Reader`` instead.

Every event id is remembered while folding (a stream gives no chance of a first pass
over it), so memory grows with the number of events, about a hundred bytes each, on top
of what the per-visitor summaries take.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from ..errors import BackendError, ConvSDKError
from ..event import Event
from .dataset import Dataset
from .jsonl.fold import Fold
from .progress import ProgressCallback, report_progress

__all__ = ["EventsReader", "ReadEvents", "summarise_events"]

#: ``read_events(since, until)``: the events from ``since`` (inclusive) to ``until``
#: (exclusive), either of them ``None`` for no bound, in any order. Returning more is
#: allowed (the fold filters), returning fewer is not.
ReadEvents = Callable[[datetime | None, datetime | None], Iterable[Event]]

_PROGRESS_EVERY = 10_000


def summarise_events(
    events: Iterable[Event | Mapping[str, Any]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    step_goals: Collection[str] = (),
    progress: ProgressCallback | None = None,
    goal_kinds: Mapping[str, str] | None = None,
    include_bots: bool = False,
) -> Dataset:
    """Fold ``events`` (objects, or their serialised form as dicts) of the range
    ``since`` (inclusive) to ``until`` (exclusive) into per-visitor summaries.

    An event repeated (same ``event_id``) counts once. ``goal_kinds`` and
    ``include_bots`` are as in :meth:`convsdk.report.reader.Reader.read`. Raises
    ``TypeError``, ``KeyError`` or ``ValueError`` for a dict that is not an event.
    """
    fold = Fold(set(), since, until, set(step_goals), goal_kinds, include_bots)
    count = 0
    for event in events:
        fold.add(event.to_dict() if isinstance(event, Event) else dict(event))
        count += 1
        if count % _PROGRESS_EVERY == 0:
            report_progress(progress, "reading", count, 0)
    fold.settle()
    return fold.dataset()


class EventsReader:
    """A :class:`~convsdk.report.reader.Reader` over a function that yields events.

    >>> reader = EventsReader(lambda since, until: my_store.events(since, until), "mystore://x")
    >>> reader.read(since=datetime(2026, 11, 1, tzinfo=UTC))
    """

    def __init__(self, read_events: ReadEvents, source: str) -> None:
        self.read_events = read_events
        self.source = source

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
        """Summarise the events ``read_events(since, until)`` yields, within the range.

        An error other than convsdk's own while reading becomes a
        :class:`convsdk.BackendError` naming the source.
        """
        try:
            return summarise_events(
                self.read_events(since, until),
                since=since,
                until=until,
                step_goals=step_goals,
                progress=progress,
                goal_kinds=goal_kinds,
                include_bots=include_bots,
            )
        except ConvSDKError:
            raise
        except Exception as exc:
            raise BackendError(f"cannot read {self.source}: {exc}") from exc
