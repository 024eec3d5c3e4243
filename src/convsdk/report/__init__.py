"""Turn stored events into the micro → macro picture: goals, funnels, lift, channels.

::

    from convsdk.report import load_report, render_report, render_text, render_html

    report = load_report("sqlite:///convsdk.db", goals="goals.toml", since="7d")
    print(render_text(report))                        # terminal tables
    report.to_json()                                  # for machines (keys: see metrics)
    Path("report.html").write_text(render_html(report))

    # or in one call, as the ``convsdk report`` command does:
    render_report("events.jsonl", goals="goals.toml", fmt="html", output="report.html")

    # from events read anywhere (same rules: duplicates, first/last touch, variants):
    report = report_from_events(my_store.events(), goals="goals.toml", since="7d")

Stores of other kinds are read by plugins: :func:`register_reader`, or the
``convsdk.readers`` entry-point group (see :mod:`~convsdk.report.plugins`).

Modules: :mod:`~convsdk.report.reader` (reading any store into per-visitor summaries),
:mod:`~convsdk.report.rollup` (a SQLite or PostgreSQL store's events summed up per day,
read instead),
:mod:`~convsdk.report.events` (folding an iterable of events into them),
:mod:`~convsdk.report.plugins` (readers of other stores),
:mod:`~convsdk.report.period` (time ranges and the report's time zone),
:mod:`~convsdk.report.erasure` (erasure requests: ``convsdk forget``),
:mod:`~convsdk.report.metrics` (the maths and the report's structure),
:mod:`~convsdk.report.stats` (intervals and tests), :mod:`~convsdk.report.terminal`
and :mod:`~convsdk.report.html` (output), :mod:`~convsdk.report.output` (the formats).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from ..errors import ConfigError
from ..event import Event
from ..goals import Funnel, Goal, GoalSet, resolve_goals
from .channels import DEFAULT_CHANNEL_RULES, ChannelRules, load_channel_rules
from .collector import collector_paused
from .currency import Rates, convert_dataset, load_rates
from .dataset import Dataset
from .events import EventsReader, summarise_events
from .html import render_html
from .metrics import Meta, Report, build_report, check_choices
from .metrics.common import declared_kinds, funnel_steps
from .output import Format, check_format, format_report, write_report
from .period import parse_moment, parse_zone, span_before, zone_name
from .plugins import register_reader, unregister_reader
from .progress import ProgressCallback
from .reader import Reader, open_reader
from .rollup.counted import KeptReport, counted_report
from .rollup.through import ThroughRollups
from .terminal import print_report, render_text

__all__ = [
    "EventsReader",
    "Format",
    "Reader",
    "Report",
    "format_report",
    "load_report",
    "open_reader",
    "print_report",
    "register_reader",
    "render_html",
    "render_report",
    "render_text",
    "report_from_events",
    "unregister_reader",
    "write_report",
]

GoalsArg = GoalSet | str | os.PathLike[str] | Iterable[Goal | Funnel] | None
MomentArg = datetime | date | str | None
ZoneArg = str | tzinfo | None


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
    rates: str | os.PathLike[str] | None = None,
    channels: str | os.PathLike[str] | None = None,
    engine: str = "auto",
    rollups: bool = True,
    timezone: ZoneArg = None,
) -> Report:
    """Read ``source`` and compute the report.

    ``source`` is a backend URL or a path (``.db`` → SQLite, ``.jsonl`` → JSON Lines),
    or a URL of a store whose reader is registered (see :func:`register_reader`);
    ``goals`` a goal file, :class:`~convsdk.GoalSet` or list (none: no funnels).
    ``since`` (inclusive) and ``until`` (exclusive) take datetimes, dates, ISO text or
    durations ago (``"7d"``); a date given as ``until`` includes that day; dates are
    midnights of ``timezone`` (an IANA zone, ``"America/New_York"``; default UTC), whose
    days the trend counts too. Known bots (their first event's user agent) are left out
    unless ``include_bots``. ``experiment_goal``: the goal the variants are compared on
    (default: any macro goal). ``interval`` (``"day"``, ``"week"``, ``"month"``) adds a
    trend by the period of each visitor's first event. ``compare="previous"`` reads the
    period as long just before ``since`` too, and gives each headline figure's change.
    ``by`` (:data:`~convsdk.report.metrics.SEGMENT_BY`): goals and funnels by that
    property of the first event. ``rates`` and ``channels``: files of exchange rates
    and of channel rules. ``engine``: how a log is read; ``rollups=False``: a SQL store's
    events, not its rollups. Raises :class:`convsdk.ConfigError` for a bad source, goal
    file, time or zone, :class:`convsdk.BackendError` when the store cannot be read.
    """
    zone = parse_zone(timezone)
    goal_set, start, end = _settings(goals, since, until, zone)
    check_choices(by, interval)  # before reading: the store may be large
    before, money, rules = _options(compare, start, end, zone, rates, channels)
    reader = open_reader(source, engine=engine, rollups=rollups)
    meta = _meta(reader.source, goals, start, end, zone)
    if start is None and end is None and before is None and money is None and channels is None:
        kept = _kept(goal_set, experiment_goal, interval, by, include_bots, zone)
        if kept is not None and (counted := _counted(reader, kept, meta)) is not None:
            return counted  # kept counted by convsdk rollup --goals
    dataset = _read(reader, goal_set, start, end, progress, include_bots, money)
    previous = _previous(reader, goal_set, before, start, progress, include_bots, money)
    return build_report(
        dataset,
        goal_set,
        meta=meta,
        experiment_goal=experiment_goal,
        interval=interval,
        previous=previous,
        by=by,
        channel_rules=rules,
        timezone=zone,
    )


def _options(
    compare: str | None,
    start: datetime | None,
    end: datetime | None,
    zone: tzinfo | None,
    rates: str | os.PathLike[str] | None,
    channels: str | os.PathLike[str] | None,
) -> tuple[datetime | None, Rates | None, ChannelRules]:
    """The start of the period to compare with, the rates and the channel rules."""
    before = _previous_start(compare, start, end, zone)
    money = load_rates(rates) if rates is not None else None
    rules = load_channel_rules(channels) if channels is not None else DEFAULT_CHANNEL_RULES
    return before, money, rules


def _previous(
    reader: Reader,
    goal_set: GoalSet | None,
    before: datetime | None,
    start: datetime | None,
    progress: ProgressCallback | None,
    include_bots: bool,
    money: Rates | None,
) -> tuple[Dataset, str, str] | None:
    """The dataset of the period as long just before ``start``, with its bounds."""
    if before is None or start is None:
        return None
    earlier = _read(reader, goal_set, before, start, progress, include_bots, money)
    return earlier, before.isoformat(), start.isoformat()


def _counted(reader: Reader, report: KeptReport, meta: Meta) -> Report | None:
    """``report`` from the counts the store keeps of it, if it keeps any (over the whole
    store: :mod:`convsdk.report.rollup.counted`)."""
    if not isinstance(reader, ThroughRollups):
        return None
    with collector_paused():
        return counted_report(reader, report, meta)


def report_from_events(
    events: Iterable[Event | Mapping[str, Any]],
    goals: GoalsArg = None,
    since: MomentArg = None,
    until: MomentArg = None,
    *,
    source: str = "events",
    include_bots: bool = False,
    experiment_goal: str | None = None,
    interval: str | None = None,
    by: str | None = None,
    timezone: ZoneArg = None,
) -> Report:
    """Compute the report of ``events``: :class:`~convsdk.Event` objects (or their
    serialised form, dicts), from any store, in any order.

    The same rules as every store's report hold: an event repeated (same ``event_id``)
    and a transaction converted twice count once, first and last touch, variants.
    ``source`` names the events in the report. See :func:`load_report` for the other
    arguments; events outside ``since``/``until`` are left out.

    >>> report = report_from_events(read_my_store(), goals="goals.toml", since="7d")
    >>> print(render_text(report))
    """
    zone = parse_zone(timezone)
    goal_set, start, end = _settings(goals, since, until, zone)
    with collector_paused():
        dataset = summarise_events(
            events,
            since=start,
            until=end,
            step_goals=funnel_steps(goal_set),
            goal_kinds=declared_kinds(goal_set),
            include_bots=include_bots,
        )
    return build_report(
        dataset,
        goal_set,
        meta=_meta(source, goals, start, end, zone),
        experiment_goal=experiment_goal,
        interval=interval,
        by=by,
        timezone=zone,
    )


def _settings(
    goals: GoalsArg, since: MomentArg, until: MomentArg, zone: tzinfo | None
) -> tuple[GoalSet | None, datetime | None, datetime | None]:
    """The goals and the period's bounds (dates at ``zone``'s midnights), checked."""
    goal_set = resolve_goals(goals) if goals is not None else None
    start = parse_moment(since, field="since", zone=zone) if since is not None else None
    end = parse_moment(until, end=True, field="until", zone=zone) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            f"the period is empty: since {start.isoformat()} is not before until {end.isoformat()}",
            field="until",
        )
    return goal_set, start, end


def _previous_start(
    compare: str | None, start: datetime | None, end: datetime | None, zone: tzinfo | None
) -> datetime | None:
    """The start of the period to compare with (as long, just before: as many days of
    ``zone`` for a range of whole days); ``None`` without."""
    if compare is None:
        return None
    if compare != "previous":
        raise ConfigError(f"compare takes 'previous', got {compare!r}", field="compare")
    if start is None:
        raise ConfigError("compare needs a start: give since (7d, 2026-11-01)", field="since")
    return span_before(start, end or datetime.now(UTC), zone)


def _read(
    reader: Reader,
    goal_set: GoalSet | None,
    start: datetime | None,
    end: datetime | None,
    progress: ProgressCallback | None,
    include_bots: bool,
    rates: Rates | None,
) -> Dataset:
    """The dataset of ``start`` to ``end``, with the goal file's step goals and kinds,
    its revenue in the currency of ``rates`` if given."""
    with collector_paused():
        dataset = reader.read(
            since=start,
            until=end,
            step_goals=funnel_steps(goal_set),
            progress=progress,
            goal_kinds=declared_kinds(goal_set),
            include_bots=include_bots,
        )
    if rates is not None:
        convert_dataset(dataset, rates)
    return dataset


def _meta(
    source: str, goals: GoalsArg, start: datetime | None, end: datetime | None, zone: tzinfo | None
) -> Meta:
    goals_file = os.fspath(goals) if isinstance(goals, str | os.PathLike) else None
    return Meta(
        source=source,
        goals_file=goals_file,
        since=start.isoformat() if start else None,
        until=end.isoformat() if end else None,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        timezone=zone_name(zone),
    )


def _kept(
    goals: GoalSet | None,
    experiment_goal: str | None,
    interval: str | None,
    by: str | None,
    include_bots: bool,
    zone: tzinfo | None,
) -> KeptReport | None:
    """The report as ``convsdk rollup --goals`` keeps it counted; ``None`` for a zone
    kept counts cannot name (a fixed offset given as a ``tzinfo``: read the events)."""
    if zone is not None and getattr(zone, "key", None) is None:
        return None
    return KeptReport(goals, experiment_goal, interval, by, include_bots, zone_name(zone))


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
    timezone: ZoneArg = None,
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
    report = load_report(source, goals, since, until, progress=progress, timezone=timezone)
    text = format_report(report, fmt, top=top)
    if output is None:
        return text
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(text)
    return None
