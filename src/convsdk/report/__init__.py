"""Turn stored events into the micro → macro picture: goals, funnels, lift, channels.

::

    from convsdk.report import load_report, render_report, render_text, render_html

    report = load_report("sqlite:///convsdk.db", goals="goals.toml", since="7d")
    print(render_text(report))                        # terminal tables
    report.to_json()                                  # for machines (keys: see metrics)
    Path("report.html").write_text(render_html(report))

    # or in one call, as the ``convsdk report`` command does:
    render_report("events.jsonl", goals="goals.toml", fmt="html", output="report.html")

Modules: :mod:`~convsdk.report.reader` (reading any store into per-visitor summaries),
:mod:`~convsdk.report.metrics` (the maths and the report's structure),
:mod:`~convsdk.report.stats` (intervals and tests), :mod:`~convsdk.report.terminal`
and :mod:`~convsdk.report.html` (output), :mod:`~convsdk.report.output` (the formats).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from ..errors import ConfigError
from ..goals import Funnel, Goal, GoalSet, resolve_goals
from .dataset import Dataset
from .html import render_html
from .metrics import Meta, Report, build_report
from .output import Format, check_format, format_report, write_report
from .period import parse_moment
from .progress import ProgressCallback
from .reader import Reader, open_reader
from .terminal import print_report, render_text

__all__ = [
    "Format",
    "Report",
    "format_report",
    "load_report",
    "open_reader",
    "print_report",
    "render_html",
    "render_report",
    "render_text",
    "write_report",
]

GoalsArg = GoalSet | str | os.PathLike[str] | Iterable[Goal | Funnel] | None
MomentArg = datetime | date | str | None


def load_report(
    source: str | os.PathLike[str],
    goals: GoalsArg = None,
    since: MomentArg = None,
    until: MomentArg = None,
    *,
    progress: ProgressCallback | None = None,
    include_bots: bool = False,
    experiment_goal: str | None = None,
    interval: str | None = None,
    compare: str | None = None,
    by: str | None = None,
) -> Report:
    """Read ``source`` and compute the report.

    ``source`` is a backend URL or a path (``.db`` → SQLite, ``.jsonl`` → JSON Lines);
    ``goals`` a goal file, a :class:`~convsdk.GoalSet` or a list of goals and funnels
    (without it there are no funnels, and goals take their kind from the events).
    ``since`` (inclusive) and ``until`` (exclusive) take datetimes, dates, ISO-8601
    text or durations ago such as ``"7d"``; a date given as ``until`` includes that day.
    Visitors whose first event came from a known bot (by its stored user agent) are
    left out and counted in ``summary.bot_visitors``; ``include_bots=True`` keeps them.
    ``experiment_goal`` names the goal the experiment variants are compared on (default:
    any macro goal). ``interval`` (``"day"``, ``"week"``, ``"month"``) adds a trend:
    visitors, converters, rate and revenue by the period of each visitor's first event.
    ``compare="previous"`` reads the period as long just before ``since`` too, and gives
    each headline figure's change (``since`` is needed; ``until`` defaults to now).
    ``by`` (``"channel"``, ``"source"``, ``"campaign"``, ``"variant"``, ``"landing_page"``,
    ``"device"``) breaks goals and funnels down by that property of the first event.

    Raises :class:`convsdk.ConfigError` for a bad source, goal file or time, and
    :class:`convsdk.BackendError` when the store cannot be read.
    """
    goal_set = resolve_goals(goals) if goals is not None else None
    start = parse_moment(since, field="since") if since is not None else None
    end = parse_moment(until, end=True, field="until") if until is not None else None
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            f"the period is empty: since {start.isoformat()} is not before until {end.isoformat()}",
            field="until",
        )
    if compare not in (None, "previous"):
        raise ConfigError(f"compare takes 'previous', got {compare!r}", field="compare")
    if compare is not None and start is None:
        raise ConfigError("compare needs a start: give since (7d, 2026-11-01)", field="since")
    reader = open_reader(source)
    dataset = _read(reader, goal_set, start, end, progress, include_bots)
    previous = None
    if compare is not None and start is not None:
        finish = end or datetime.now(UTC)
        before = start - (finish - start)
        previous = (
            _read(reader, goal_set, before, start, progress, include_bots),
            before.isoformat(),
            start.isoformat(),
        )
    goals_file = os.fspath(goals) if isinstance(goals, str | os.PathLike) else None
    meta = Meta(
        source=reader.source,
        goals_file=goals_file,
        since=start.isoformat() if start else None,
        until=end.isoformat() if end else None,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return build_report(
        dataset,
        goal_set,
        meta=meta,
        experiment_goal=experiment_goal,
        interval=interval,
        previous=previous,
        by=by,
    )


def _read(
    reader: Reader,
    goal_set: GoalSet | None,
    start: datetime | None,
    end: datetime | None,
    progress: ProgressCallback | None,
    include_bots: bool,
) -> Dataset:
    """The dataset of ``start`` to ``end``, with the goal file's step goals and kinds."""
    steps = {step for funnel in goal_set.funnels for step in funnel.steps} if goal_set else set()
    kinds = {goal.name: goal.kind for goal in goal_set.goals} if goal_set else {}
    with _collector_paused():
        return reader.read(
            since=start,
            until=end,
            step_goals=steps,
            progress=progress,
            goal_kinds=kinds,
            include_bots=include_bots,
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Reading builds millions of small containers and frees none of them in a cycle;
    # the cyclic garbage collector would walk them all again and again (a sixth of
    # the time on a million events) to find nothing. Paused, not disabled for good.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def render_report(
    source: str | os.PathLike[str],
    goals: GoalsArg = None,
    since: MomentArg = None,
    until: MomentArg = None,
    fmt: Format = "table",
    output: str | os.PathLike[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    top: int = 10,
) -> str | None:
    """Read ``source``, compute the report and render it as ``fmt``.

    ``fmt`` is ``"table"`` (terminal text), ``"json"`` or ``"html"`` (a self-contained
    page); tables show their first ``top`` rows. Returns the rendered text, or writes it
    to ``output`` (UTF-8) and returns ``None`` when ``output`` is given. See
    :func:`load_report` for the other arguments.

    >>> print(render_report("convsdk.db", goals="goals.toml"))
    >>> render_report("convsdk.db", goals="goals.toml", fmt="html", output="report.html")
    """
    check_format(fmt)
    report = load_report(source, goals, since, until, progress=progress)
    text = format_report(report, fmt, top=top)
    if output is None:
        return text
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(text)
    return None
