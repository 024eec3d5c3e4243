"""Funnels: how far each visitor got, in order and within the window, step by step."""

from __future__ import annotations

from array import array
from bisect import bisect_left

from ...goals import Funnel
from ..dataset import Dataset, GoalHits, VisitorSummary
from .common import durations, fold, ratio, timing
from .model import FunnelReport, FunnelStep
from .states import InconsistentState, State, as_count, as_values, bag, count_of, mapping_of

__all__ = ["FunnelCounts", "funnel_report"]


def _step_times(hits: GoalHits | None) -> list[int]:
    if hits is None:
        return []
    return hits.times if hits.times else [hits.first]


def _funnel_path(steps: list[list[int]], window: int) -> list[int]:
    """Times of the steps a visitor reached, in order, on their furthest attempt."""
    best: list[int] = []
    for start in steps[0]:
        path = [start]
        previous = start
        limit = start + window
        for times in steps[1:]:
            # Earliest occurrence at or after the previous step: taking any later one
            # could only leave less room for the steps after it.
            i = bisect_left(times, previous)
            if i == len(times) or times[i] > limit:
                break
            previous = times[i]
            path.append(previous)
        if len(path) > len(best):
            best = path
            if len(best) == len(steps):
                break
    return best


class FunnelCounts:
    """Counts how far each person got through one funnel, and how long each step took."""

    def __init__(self, funnel: Funnel) -> None:
        self.funnel = funnel
        n = len(funnel.steps)
        self.window = int(funnel.window.total_seconds() * 1_000_000)
        self.visitors = 0
        self.reached = [0] * n
        self.from_previous: list[array[int]] = [durations() for _ in range(n)]
        self.from_first: list[array[int]] = [durations() for _ in range(n)]
        self.capped = 0

    def add(self, visitor: VisitorSummary) -> None:
        """Count ``visitor``."""
        self.visitors += 1
        goals = visitor.goals
        steps = self.funnel.steps
        if steps[0] not in goals:
            return
        times: list[list[int]] = []
        capped = False
        for step in steps:
            hits = goals.get(step)
            if hits is not None and hits.capped:
                capped = True
            times.append(_step_times(hits))
        self.capped += capped
        path = _funnel_path(times, self.window)
        for k, moment in enumerate(path):
            self.reached[k] += 1
            if k:
                self.from_previous[k].append(moment - path[k - 1])
                self.from_first[k].append(moment - path[0])

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`; steps by their index)."""
        return {
            "visitors": self.visitors,
            "capped": self.capped,
            "reached": dict(enumerate(self.reached)),
            "from_previous": {k: bag(times, "q") for k, times in enumerate(self.from_previous)},
            "from_first": {k: bag(times, "q") for k, times in enumerate(self.from_first)},
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        self.visitors += count_of(state, "visitors")
        self.capped += count_of(state, "capped")
        for k, count in mapping_of(state, "reached").items():
            self.reached[_step(k, self.reached)] += as_count(count)
        for k, times in mapping_of(state, "from_previous").items():
            self.from_previous[_step(k, self.reached)].extend(as_values(times))
        for k, times in mapping_of(state, "from_first").items():
            self.from_first[_step(k, self.reached)].extend(as_values(times))

    def report(self) -> FunnelReport:
        """The funnel, step by step, of the people counted."""
        reached, total = self.reached, self.visitors
        steps = []
        for k, goal in enumerate(self.funnel.steps):
            dropped = reached[k - 1] - reached[k] if k else None
            steps.append(
                FunnelStep(
                    goal=goal,
                    visitors=reached[k],
                    conversion_from_previous=ratio(reached[k], reached[k - 1]) if k else None,
                    conversion_overall=ratio(reached[k], reached[0]),
                    share_of_visitors=ratio(reached[k], total),
                    drop_off=dropped,
                    drop_off_rate=None if dropped is None else ratio(dropped, reached[k - 1]),
                    time_from_previous=timing(self.from_previous[k]),
                    time_from_first=timing(self.from_first[k]),
                )
            )
        return FunnelReport(
            name=self.funnel.name,
            window_seconds=self.funnel.window.total_seconds(),
            steps=steps,
            completed=reached[-1],
            completion_rate=ratio(reached[-1], reached[0]),
            capped_visitors=self.capped,
        )


def _step(index: object, steps: list[int]) -> int:
    """``index``, a step of the funnel."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(steps):
        raise InconsistentState(f"no step {index!r} in this funnel")
    return index


def funnel_report(dataset: Dataset, funnel: Funnel) -> FunnelReport:
    """Visitors, conversion, drop-off and timing of each step of ``funnel``."""
    counts = FunnelCounts(funnel)
    fold(dataset.visitors, counts)
    return counts.report()
