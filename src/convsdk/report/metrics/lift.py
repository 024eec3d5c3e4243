"""Micro → macro lift: how much more often visitors who did a micro conversion converted."""

from __future__ import annotations

from array import array

from ..dataset import Dataset, VisitorSummary
from ..stats import ratio_interval
from .common import durations, fold, rate, ratio, timing
from .model import LiftRow
from .states import InconsistentState, State, as_count, as_values, bag, count_of, mapping_of

__all__ = ["LiftCounts", "lift_rows"]


Pair = tuple[str, str]


class LiftCounts:
    """Per macro goal its converters; per (micro, macro) pair the "with" group's figures,
    counted person by person."""

    def __init__(self, micro: list[str], macro: list[str]) -> None:
        self.micro = set(micro)
        self.macro = macro
        self.visitors = 0
        self.converted = dict.fromkeys(macro, 0)
        self.did: dict[Pair, int] = {}
        self.did_converted: dict[Pair, int] = {}
        self.lags: dict[Pair, array[int]] = {}
        for m in micro:
            for big in macro:
                self.did[m, big] = self.did_converted[m, big] = 0
                self.lags[m, big] = durations()

    def add(self, visitor: VisitorSummary) -> None:
        """Count whether ``visitor`` converted, and did each micro conversion before (or
        without) each macro one."""
        self.visitors += 1
        goals = visitor.goals
        if not goals:
            return
        macro_hits = []
        for big in self.macro:
            hits = goals.get(big)
            if hits is not None:
                self.converted[big] += 1
            macro_hits.append((big, hits))
        did, did_converted, lags, micro = self.did, self.did_converted, self.lags, self.micro
        for m, small in goals.items():
            if m not in micro:
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

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`)."""
        return {
            "visitors": self.visitors,
            "converted": dict(self.converted),
            "did": dict(self.did),
            "did_converted": dict(self.did_converted),
            "lags": {pair: bag(lags, "q") for pair, lags in self.lags.items()},
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        self.visitors += count_of(state, "visitors")
        counters: tuple[dict[str, int] | dict[Pair, int], ...] = (
            self.converted, self.did, self.did_converted,
        )  # fmt: skip
        for field, mine in zip(("converted", "did", "did_converted"), counters, strict=True):
            for key, count in mapping_of(state, field).items():
                if key not in mine:
                    raise InconsistentState(f"no {key!r} in this report's lift")
                mine[key] += as_count(count)
        for pair, lags in mapping_of(state, "lags").items():
            if pair not in self.lags:
                raise InconsistentState(f"no {pair!r} in this report's lift")
            self.lags[pair].extend(as_values(lags))

    def rows(self) -> list[LiftRow]:
        """Every micro × macro pair, most predictive first (see the module docs)."""
        rows = [
            _row(m, big, n1, self.did_converted[m, big], self, self.lags[m, big])
            for (m, big), n1 in self.did.items()
        ]
        rows.sort(key=_rank)
        return rows


def lift_rows(dataset: Dataset, micro: list[str], macro: list[str]) -> list[LiftRow]:
    """Every micro × macro pair, most predictive first (see the module docs)."""
    counts = LiftCounts(micro, macro)
    fold(dataset.visitors, counts)
    return counts.rows()


def _row(m: str, big: str, n1: int, a: int, counts: LiftCounts, lags: array[int]) -> LiftRow:
    """The pair's row: ``a`` of the ``n1`` who did ``m`` converted on ``big``."""
    n2 = counts.visitors - n1
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
