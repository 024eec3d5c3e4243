"""Reports kept counted beside the rollups: a repeated report recounts only the people
that changed.

``convsdk rollup URL --goals goals.toml`` (:func:`~convsdk.report.rollup.roll_up` with
``keep=``:class:`KeptReport`) brings the rollups up to date, then counts the report of
those goals and options over them, and keeps its counts (every section's, as plain
data: :mod:`convsdk.report.metrics.states`) with the watermark they count to. A store
keeps one report counted, the last one named; every later run counts it again, from
its definition (goal names and kinds, funnels, options) kept beside the counts, or
carries the counts over when it rolled no event up.

A report asking the same (the same goals, goal kinds and options, over the whole store,
without a comparison, rates or channel rules of its own) then starts from those counts:

1. the events stored after the watermark are read raw, as for any report through the
   rollups;
2. the people they change are found: their visitors, the visitors whose conversion a
   new one of the same transaction id may outrank (the earliest counts, and a replayed
   spool carries old times), and every visitor id of those people, before and after
   the links the new events make;
3. those people are finished twice, from the rollups alone (as the kept counts counted
   them) and with the new events; the first are taken out of the counts, the second
   added;
4. the report is made of the counts, with the totals of every day.

A micro goal the new events name first joins the counts (nobody counted had it). A
new macro goal (the lift of every micro goal on it counts everyone), a goal whose kind
they change (a micro goal some event now calls macro), or counts that do not add up,
mean the report is read through the rollups as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from ...goals import Funnel, Goal, GoalSet
from ...privacy.bots import rules_id
from ..dataset import Dataset, VisitorSummary
from ..metrics import Meta, Report, finish_report, start_counts
from ..metrics.common import declared_kinds, fold, funnel_steps, goal_kinds
from ..metrics.counts import ReportCounts
from ..metrics.model import REPORT_VERSION
from ..metrics.states import InconsistentState, State, combine, pack, unpack
from ..people import groups, merged_counts
from ..period import parse_zone, zone_name
from .agents import BotCheck
from .assemble import Assembly, Frame
from .fold import RollupFold
from .linked import linked_people, visitor_states
from .source import RollupSource
from .span import Span
from .through import ThroughRollups

__all__ = [
    "KEPT_FORMAT",
    "Kept",
    "KeptReport",
    "KeptRow",
    "count_rollups",
    "counted_report",
    "kept_definitions",
]

_log = logging.getLogger("convsdk.report")

#: The layout of kept counts; counts of another layout are counted again, not read.
KEPT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class KeptReport:
    """A report whose counts are kept beside the rollups: its goals and options, as
    :func:`~convsdk.report.load_report` takes them (over the whole store, with GA4's
    channel rules, revenue in its own currencies)."""

    goals: GoalSet | None = None
    experiment_goal: str | None = None
    interval: str | None = None
    by: str | None = None
    include_bots: bool = False
    timezone: str | None = None
    """The IANA zone of the trend's days; ``None``: UTC (also what ``"UTC"`` becomes).
    An unknown name is a :class:`~convsdk.ConfigError`."""

    def __post_init__(self) -> None:
        zone = parse_zone(self.timezone)
        object.__setattr__(self, "timezone", None if zone is None else zone_name(zone))

    @property
    def step_goals(self) -> set[str]:
        """The goals that are funnel steps."""
        return funnel_steps(self.goals)

    @property
    def goal_kinds(self) -> dict[str, str]:
        """The goal file's kind of each goal."""
        return declared_kinds(self.goals)

    def assembly(self, source: RollupSource) -> Assembly:
        """How this report's people are read from ``source``'s rollups."""
        return Assembly(source, self.step_goals, self.goal_kinds, self.include_bots, None)

    def counts(self, dataset: Dataset) -> ReportCounts:
        """This report's sections for ``dataset``'s goals, counting nobody yet."""
        zone = parse_zone(self.timezone)
        return start_counts(
            dataset, self.goals, self.experiment_goal, self.interval, self.by, zone=zone
        )

    def definition(self) -> str:
        """What the report counts, as text (JSON): its goals' names and kinds, its
        funnels, its options. What a goal matches is the tracker's business, not the
        report's."""
        goals, funnels = [], []
        if self.goals is not None:
            goals = [[goal.name, goal.kind] for goal in self.goals.goals]
            funnels = [
                [funnel.name, list(funnel.steps), funnel.window.total_seconds()]
                for funnel in self.goals.funnels
            ]
        described = {
            "format": KEPT_FORMAT,
            "goals": None if self.goals is None else goals,
            "funnels": funnels,
            "experiment_goal": self.experiment_goal,
            "interval": self.interval,
            "by": self.by,
            "include_bots": self.include_bots,
        }
        if self.timezone is not None:  # UTC's reports keep the key they always had
            described["timezone"] = self.timezone
        return json.dumps(described, sort_keys=True, separators=(",", ":"))

    def key(self) -> str:
        """The report's key among those kept: its definition, hashed."""
        return hashlib.sha256(self.definition().encode()).hexdigest()

    @classmethod
    def from_definition(cls, text: str) -> KeptReport:
        """The report :meth:`definition` described; :class:`InconsistentState` for a
        definition of another layout."""
        try:
            found = json.loads(text)
            if found["format"] != KEPT_FORMAT:
                raise InconsistentState("a definition of another layout")
            goals = None
            if found["goals"] is not None:
                goals = GoalSet(
                    [Goal(name, kind) for name, kind in found["goals"]],
                    [Funnel(name, steps, window) for name, steps, window in found["funnels"]],
                )
            return cls(
                goals, found["experiment_goal"], found["interval"], found["by"],
                bool(found["include_bots"]), found.get("timezone"),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            raise InconsistentState(f"an unreadable definition ({exc})") from None

    def spec(self, kinds: Mapping[str, str]) -> str:
        """What the counts of this report are of, with every goal's ``kinds`` (the
        events' too), hashed: the same text, the same counts."""
        described = {
            "definition": self.definition(),
            "report": REPORT_VERSION,
            "kinds": sorted(kinds.items()),
            "channels": "ga4",
        }
        text = json.dumps(described, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class Kept:
    """A report's counts as kept: every section's, and the people's figures that are no
    section's (visitors left out as bots, visitor ids merged into people); with the
    verdicts on their user agents, and the bot rules that made them (see
    :mod:`.agents`)."""

    state: State
    bots: int
    merged: tuple[int, int]
    agents: dict[str, bool] = field(default_factory=dict)
    rules: str = ""

    def encode(self) -> bytes:
        """As stored (:mod:`marshal` data: no classes, no code)."""
        data = {
            "format": KEPT_FORMAT,
            "state": pack(self.state),
            "bots": self.bots,
            "merged": self.merged,
            "agents": self.agents,
            "rules": self.rules,
        }
        return marshal.dumps(data, 4)

    @classmethod
    def decode(cls, blob: bytes) -> Kept:
        """The counts ``blob`` holds; :class:`InconsistentState` for anything else."""
        try:
            data = marshal.loads(blob)
        except (EOFError, ValueError, TypeError) as exc:
            raise InconsistentState(f"unreadable counts ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != KEPT_FORMAT:
            raise InconsistentState("counts of another layout")
        bots, merged = data.get("bots"), data.get("merged")
        if (
            not isinstance(bots, int)
            or not isinstance(merged, tuple)
            or len(merged) != 2
            or not all(isinstance(n, int) for n in merged)
        ):
            raise InconsistentState("counts without their people's figures")
        agents, rules = data.get("agents"), data.get("rules")
        if not isinstance(agents, dict) or not isinstance(rules, str):
            agents, rules = {}, ""  # counts kept before the verdicts were: none known
        return cls(unpack(data.get("state")), bots, (merged[0], merged[1]), agents, rules)


#: A row of the table of counts: the report's key, its definition, what its counts are
#: of, the watermark they count to, and the counts.
KeptRow = tuple[str, str, str, str, bytes]


def kept_definitions(reader: ThroughRollups[Any]) -> list[str]:
    """The definitions of the reports whose counts the store keeps."""
    with _reading(reader) as source:
        return [] if source is None else source.definitions()


def count_rollups(
    reader: ThroughRollups[Any], report: KeptReport, unchanged_since: str | None = None
) -> KeptRow | None:
    """The row of counts of ``report`` over the rollups alone (the events after their
    watermark left out); ``None`` when the store has no rollups to read.
    ``unchanged_since``: a watermark whose rollups are these (a run rolled nothing up
    since): counts kept at it are carried over, not counted again."""
    with _reading(reader) as source:
        if source is None:
            return None
        found = source.kept(report.key())
        if found is not None and unchanged_since is not None and found[1] == unchanged_since:
            return report.key(), report.definition(), found[0], source.watermark, found[2]
        assembly = report.assembly(source)
        dataset = assembly.dataset(None, None, raw=False)
        counts = report.counts(dataset)
        fold(dataset.visitors, *counts.sections())
        agents = assembly.bots.kept()
        kept = Kept(
            counts.state(), dataset.bot_visitors, merged_counts(dataset.links), agents, rules_id()
        )
        spec = report.spec(goal_kinds(dataset, report.goals))
        return report.key(), report.definition(), spec, source.watermark, kept.encode()


def counted_report(
    reader: ThroughRollups[Any],
    report: KeptReport,
    meta: Meta,
) -> Report | None:
    """``report`` of the whole store from its kept counts and the events after them;
    ``None`` when there are none for it (then read the store as usual)."""
    try:
        with _reading(reader) as source:
            return None if source is None else _recount(source, report, meta)
    except InconsistentState as exc:
        _log.warning("%s: kept counts not used (%s): reading the rollups", reader.source, exc)
        return None


@contextmanager
def _reading(reader: ThroughRollups[Any]) -> Iterator[RollupSource | None]:
    """The store's rollups, read in one transaction (``None`` when it has none to
    read): a store's error raised as the reader tells it, the rest as it is."""
    opened = reader.open_rollups()
    if opened is None:
        yield None
        return
    source, _ = opened
    try:
        yield source
    except BaseException as exc:
        ours = isinstance(exc, ConfigError | InconsistentState)
        error = None if ours else reader.failure(exc)
        if error is None:
            raise
        raise error from exc
    finally:
        source.close()


def _recount(source: RollupSource, report: KeptReport, meta: Meta) -> Report | None:
    """The report from the counts kept of it, the people changed since recounted."""
    assembly = report.assembly(source)
    span = Span(None, None)
    raw = source.raw(span)
    after = assembly.frame(span, raw)
    found = source.kept(report.key())
    if found is None or found[1] != source.watermark:
        return None  # none, or counted before the rollups went further
    before = assembly.frame(span, RollupFold())
    kinds, was_kinds = (goal_kinds(f.dataset, report.goals) for f in (after, before))
    if found[0] != report.spec(was_kinds):
        return None  # counted with other goal kinds
    if any(kinds[goal] != kind for goal, kind in was_kinds.items()) or any(
        kind == "macro" for goal, kind in kinds.items() if goal not in was_kinds
    ):
        # A goal's kind changed, or a macro goal is new: the lift of every micro goal
        # on it counts everyone who did the micro one.
        return None
    kept = Kept.decode(found[2])
    if kept.rules and kept.rules != rules_id():
        return None  # counted under other bot rules (crawlerdetect upgraded): not these
    bots = assembly.bots
    bots.learn(kept.agents)  # known user agents: no bot patterns compiled
    changed = _changed(source, raw, before.links, after.links)
    source.read_states(changed, *span.days)  # theirs, read once for both counts
    was = _people(source, span, changed, before, bots)
    now = _people(source, span, changed, after, bots)
    dataset = after.dataset
    taken, added = _state(was.summaries, report, before), _state(now.summaries, report, after)
    counts = report.counts(dataset)
    counts.restore(combine(combine(kept.state, taken, -1), added))
    dataset.bot_visitors = _figure(kept.bots, was.bots, now.bots)
    merged_was, merged_now = merged_counts(was.links), merged_counts(now.links)
    merged = (
        _figure(kept.merged[0], merged_was[0], merged_now[0]),
        _figure(kept.merged[1], merged_was[1], merged_now[1]),
    )
    _log.info(
        "%s: counted from the counts kept up to %s, %d visitor ids recounted",
        meta.source,
        source.watermark,
        len(changed),
    )
    return finish_report(counts, dataset, report.goals, meta=meta, merged=merged)


def _changed(
    source: RollupSource,
    raw: RollupFold,
    before: list[tuple[str, str]],
    after: list[tuple[str, str]],
) -> set[str]:
    """The visitor ids whose people the events of ``raw`` change: theirs, those of the
    rolled-up conversions sharing a transaction id with one of theirs, and every visitor
    id linked to one of those, ``before`` and ``after`` the links of ``raw``."""
    found = {visitor_id for visitor_id, _ in raw.visitors}
    found |= source.owners({(row[0], row[1]) for row in raw.transactions})
    return _linked_closure(found, (before, after))


def _linked_closure(found: set[str], links: Iterable[list[tuple[str, str]]]) -> set[str]:
    """``found`` and every visitor id linked to one of them, through any of ``links``."""
    groups_of: dict[str, list[list[str]]] = {}
    for pairs in links:
        for ids in groups(pairs):
            for visitor_id in ids:
                groups_of.setdefault(visitor_id, []).append(ids)
    result = set(found)
    todo = list(found)
    while todo:
        for ids in groups_of.get(todo.pop(), ()):
            for visitor_id in ids:
                if visitor_id not in result:
                    result.add(visitor_id)
                    todo.append(visitor_id)
    return result


@dataclass(slots=True)
class _People:
    """Some people of a report: their summaries, the visitors of theirs left out as
    bots, and the links of those kept."""

    summaries: list[VisitorSummary]
    bots: int
    links: list[tuple[str, str]]


def _people(
    source: RollupSource, span: Span, visitors: Collection[str], frame: Frame, bots: BotCheck
) -> _People:
    """The people of ``visitors`` (every visitor id of each of them), made as a report
    through the rollups makes them with ``frame``."""
    links = [(visitor_id, user) for visitor_id, user in frame.links if visitor_id in visitors]
    summaries, kept_links, left_out = linked_people(
        source, span, links, frame.states, frame.finisher, bots
    )
    linked = {visitor_id for visitor_id, _ in links}
    alone = sorted(v for v in visitors if v not in linked)
    for _, state in visitor_states(source, span, alone, frame.states):
        if bots.left_out(state.user_agent):
            left_out += 1
            continue
        summaries.append(frame.finisher.person(state))
    return _People(summaries, left_out, kept_links)


def _state(people: list[VisitorSummary], report: KeptReport, frame: Frame) -> State:
    """The counts of ``people`` alone."""
    counts = report.counts(frame.dataset)
    fold(people, *counts.sections())
    return counts.state()


def _figure(kept: int, before: int, after: int) -> int:
    """A kept figure with the people changed counted again."""
    if before > kept:
        raise InconsistentState(f"taking {before} away from {kept}")
    return kept - before + after
