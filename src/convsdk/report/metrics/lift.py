"""Micro → macro lift: how much more often visitors who did a micro conversion converted."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dataset import Dataset
from ..stats import ratio_interval
from .common import rate, ratio, timing
from .model import LiftRow

__all__ = ["lift_rows"]


Pair = tuple[str, str]


@dataclass(slots=True)
class _Counts:
    """Per macro goal its converters; per (micro, macro) pair the "with" group's figures."""

    converted: dict[str, int]
    did: dict[Pair, int] = field(default_factory=dict)
    did_converted: dict[Pair, int] = field(default_factory=dict)
    lags: dict[Pair, list[int]] = field(default_factory=dict)


def lift_rows(dataset: Dataset, micro: list[str], macro: list[str]) -> list[LiftRow]:
    """Every micro × macro pair, most predictive first (see the module docs)."""
    counts = _count(dataset, micro, macro)
    total = len(dataset.visitors)
    rows = [
        _row(m, big, n1, counts.did_converted[m, big], total, counts, counts.lags[m, big])
        for (m, big), n1 in counts.did.items()
    ]
    rows.sort(key=_rank)
    return rows


def _count(dataset: Dataset, micro: list[str], macro: list[str]) -> _Counts:
    """Who converted, and who did each micro conversion before (or without) each macro."""
    counts = _Counts(converted=dict.fromkeys(macro, 0))
    converted, did, did_converted, lags = (
        counts.converted,
        counts.did,
        counts.did_converted,
        counts.lags,
    )
    for m in micro:
        for big in macro:
            did[m, big] = did_converted[m, big] = 0
            lags[m, big] = []
    micro_set = set(micro)
    for visitor in dataset.visitors:
        goals = visitor.goals
        macro_hits = [(big, goals.get(big)) for big in macro]
        for big, hits in macro_hits:
            if hits is not None:
                converted[big] += 1
        for m, small in goals.items():
            if m not in micro_set:
                continue
            for big, hits in macro_hits:
                if hits is None:
                    did[m, big] += 1
                elif small.first <= hits.first:
                    did[m, big] += 1
                    did_converted[m, big] += 1
                    lags[m, big].append(hits.first - small.first)
                # else: the micro came after the macro, so it could not have led to it;
                # the visitor belongs to the "did not" group.
    return counts


def _row(
    m: str, big: str, n1: int, a: int, total: int, counts: _Counts, lags: list[int]
) -> LiftRow:
    """The pair's row: ``a`` of the ``n1`` who did ``m`` converted on ``big``."""
    n2 = total - n1
    c = counts.converted[big] - a
    with_rate = ratio(a, n1)
    without_rate = ratio(c, n2)
    lift = None
    if with_rate is not None and without_rate:
        lift = with_rate / without_rate
    interval = ratio_interval(a, n1, c, n2)
    return LiftRow(
        micro=m,
        macro=big,
        did=rate(a, n1),
        did_not=rate(c, n2),
        lift=lift,
        lift_ci_low=None if interval is None else interval[0],
        lift_ci_high=None if interval is None else interval[1],
        prerequisite=a > 0 and c == 0,
        lag=timing(lags),
    )


def _rank(r: LiftRow) -> tuple[bool, bool, float, bool, float, str, str]:
    """Surest predictors first, prerequisites after them, pairs without a lift last."""
    return (
        r.lift_ci_low is None,
        r.prerequisite,
        -(r.lift_ci_low or 0.0),
        r.lift is None,
        -(r.lift or 0.0),
        r.micro,
        r.macro,
    )
