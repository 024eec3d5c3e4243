"""What every store's reader offers the report: the :class:`Reader` protocol.

The built-in readers (SQLite, PostgreSQL, JSON Lines) implement it, as may a reader
plugin that counts in its own store (see :mod:`convsdk.report.plugins`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from .dataset import Dataset
from .progress import ProgressCallback

__all__ = ["Reader"]


class Reader(Protocol):
    """What every store offers the report."""

    source: str
    """The store, as the report names it (a URL without its password, or a path)."""

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

        ``step_goals`` names the goals whose every conversion time matters (funnel
        steps); for the others the first is enough. ``goal_kinds`` (the goal file's)
        say which goals are macro where the stored events say otherwise (a goal
        promoted since): a converter's touches count up to their first macro one.
        Visitors whose first event's user agent is a known bot are left out, and
        counted in ``Dataset.bot_visitors``, unless ``include_bots``.

        Raises :class:`convsdk.ConfigError` when there is nothing to read (no such file,
        database or table) and :class:`convsdk.BackendError` when reading fails.
        """
        ...
