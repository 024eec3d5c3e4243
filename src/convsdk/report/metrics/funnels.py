"""Funnels: how far each visitor got, in order and within the window, step by step."""

from __future__ import annotations

from bisect import bisect_left

from ...goals import Funnel
from ..dataset import Dataset, GoalHits
from .common import ratio, timing
from .model import FunnelReport, FunnelStep

__all__ = ["funnel_report"]


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


def funnel_report(dataset: Dataset, funnel: Funnel) -> FunnelReport:
    """Visitors, conversion, drop-off and timing of each step of ``funnel``."""
    n = len(funnel.steps)
    window = int(funnel.window.total_seconds() * 1_000_000)
    reached = [0] * n
    from_previous: list[list[int]] = [[] for _ in range(n)]
    from_first: list[list[int]] = [[] for _ in range(n)]
    first_step = funnel.steps[0]
    capped = 0
    for visitor in dataset.visitors:
        goals = visitor.goals
        if first_step not in goals:
            continue
        capped += any(goals[step].capped for step in funnel.steps if step in goals)
        path = _funnel_path([_step_times(goals.get(step)) for step in funnel.steps], window)
        for k, moment in enumerate(path):
            reached[k] += 1
            if k:
                from_previous[k].append(moment - path[k - 1])
                from_first[k].append(moment - path[0])
    total = len(dataset.visitors)
    steps = []
    for k, goal in enumerate(funnel.steps):
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
                time_from_previous=timing(from_previous[k]),
                time_from_first=timing(from_first[k]),
            )
        )
    return FunnelReport(
        name=funnel.name,
        window_seconds=funnel.window.total_seconds(),
        steps=steps,
        completed=reached[-1],
        completion_rate=ratio(reached[-1], reached[0]),
        capped_visitors=capped,
    )
