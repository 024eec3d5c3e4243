"""Multi-touch attribution: each converter's macro conversions and revenue shared among
the arrivals that led to their first macro conversion, by five models.

A converter's touchpoints are their landing (first event) and every later arrival (UTM
parameters, an ad click id or another site's referrer; a direct return is not one, as
in GA4's last non-direct click) up to their first macro conversion, within the lookback
window before it (30 days by default). With none in the window, the conversion is
credited to ``(direct) / (none)``. The models:

- ``first`` and ``last``: all credit to the first or the last touchpoint;
- ``linear``: equal shares;
- ``time_decay``: shares halving every ``half_life`` days before the conversion (GA4's
  former time-decay model used 7 days);
- ``position``: 40 % to the first, 40 % to the last, 20 % shared by those between (half
  each with two touchpoints, all with one).

Credit is given by channel, by ``source / medium`` and by campaign.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from typing import TypeVar

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import UTM, Dataset, GoalHits, VisitorSummary
from .common import addends, collect, fold, money
from .model import Attribution, AttributionRow
from .states import (
    InconsistentState,
    State,
    as_mapping,
    as_values,
    bag,
    count_of,
    mapping_of,
)

__all__ = ["MODELS", "AttributionCounts", "attribution"]

T = TypeVar("T")

_DAY = 86_400_000_000  # microseconds
_DIRECT: UTM = ("(direct)", "(none)", None)


def _first(times: list[int], at: int, half_life: float) -> list[float]:
    return [1.0] + [0.0] * (len(times) - 1)


def _last(times: list[int], at: int, half_life: float) -> list[float]:
    return [0.0] * (len(times) - 1) + [1.0]


def _linear(times: list[int], at: int, half_life: float) -> list[float]:
    return [1.0 / len(times)] * len(times)


def _time_decay(times: list[int], at: int, half_life: float) -> list[float]:
    weights = [2.0 ** (-(at - t) / (half_life * _DAY)) for t in times]
    total = sum(weights)
    return [w / total for w in weights]


def _position(times: list[int], at: int, half_life: float) -> list[float]:
    n = len(times)
    if n == 1:
        return [1.0]
    if n == 2:
        return [0.5, 0.5]
    return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]


#: Model name to the function giving each touchpoint's share (they add up to 1).
MODELS: dict[str, Callable[[list[int], int, float], list[float]]] = {
    "first": _first,
    "last": _last,
    "linear": _linear,
    "time_decay": _time_decay,
    "position": _position,
}


def _path(visitor: VisitorSummary, at: int, lookback: int) -> list[tuple[int, UTM]]:
    """The visitor's touchpoints within ``lookback`` before ``at``, landing included."""
    path = [(visitor.first_seen, visitor.arrival or _DIRECT)]
    path += [tp for tp in visitor.touchpoints or () if tp[0] != visitor.first_seen]
    return [tp for tp in path if at - lookback <= tp[0] <= at] or [(at, _DIRECT)]


_DIMENSIONS = ("channel", "source_medium", "campaign")


def _labels(utm: UTM, rules: ChannelRules) -> tuple[str, str, str]:
    """An arrival's key in each of :data:`_DIMENSIONS`."""
    source, medium, campaign = utm
    return channel(source, medium, campaign, rules), f"{source} / {medium}", campaign or "(none)"


class AttributionCounts:
    """Shares each converter's macro conversions and revenue among their touchpoints,
    by every model, person by person."""

    def __init__(
        self,
        macro: list[str],
        lookback_days: float = 30,
        half_life_days: float = 7,
        rules: ChannelRules = DEFAULT_CHANNEL_RULES,
    ) -> None:
        self.macro = macro
        self.lookback_days = lookback_days
        self.half_life_days = half_life_days
        self.lookback = int(lookback_days * _DAY)
        self.rules = rules
        # Shares are summed at the end with fsum, exact in any order: readers list the
        # visitors in different orders, and every store must give the same figures.
        self.credit: dict[str, dict[str, dict[str, array[float]]]] = {
            m: {d: {} for d in _DIMENSIONS} for m in MODELS
        }
        self.revenue: dict[str, dict[str, dict[str, dict[str, array[float]]]]] = {
            m: {d: {} for d in _DIMENSIONS} for m in MODELS
        }
        self.labels: dict[UTM, tuple[str, str, str]] = {}  # few distinct: labelled once
        # Most converters have one touchpoint, which every model credits in full: those
        # are tallied once, by touchpoint, and given to every model at the end.
        self.single: dict[tuple[str, str, str], tuple[list[int], dict[str, array[float]]]] = {}

    def add(self, visitor: VisitorSummary) -> None:
        """Credit ``visitor``'s touchpoints, if they converted."""
        goals = visitor.goals
        if not goals:
            return
        hits: list[GoalHits] = []
        for name in self.macro:
            found = goals.get(name)
            if found is not None:
                hits.append(found)
        if not hits:
            return
        at = min(h.first for h in hits)
        conversions = sum(h.count for h in hits)
        amounts: dict[str, list[float]] = {}
        for h in hits:
            collect(amounts, h.revenue)
        totals = [(currency, sum(values)) for currency, values in amounts.items()]
        path = _path(visitor, at, self.lookback)
        times = [t for t, _ in path]
        labels = self.labels
        keys = [
            labels.get(utm) or labels.setdefault(utm, _labels(utm, self.rules)) for _, utm in path
        ]
        if len(keys) == 1:
            single = self.single.get(keys[0])
            if single is None:
                single = self.single[keys[0]] = ([0], {})
            single[0][0] += conversions
            for currency, total in totals:
                _amounts_of(single[1], currency).append(total)
            return
        for model, shares in MODELS.items():
            model_credit, model_revenue = self.credit[model], self.revenue[model]
            for share, touch in zip(shares(times, at, self.half_life_days), keys, strict=True):
                credited = share * conversions
                for dimension, key in zip(_DIMENSIONS, touch, strict=True):
                    _amounts_of(model_credit[dimension], key).append(credited)
                    cash = model_revenue[dimension].setdefault(key, {})
                    for currency, total in totals:
                        _amounts_of(cash, currency).append(share * total)

    def state(self) -> State:
        """The counts as plain data (:mod:`.states`); before :meth:`attribution`, which
        spends them."""
        return {
            "credit": {
                model: {d: {k: bag(v, "d") for k, v in rows.items()} for d, rows in dims.items()}
                for model, dims in self.credit.items()
            },
            "revenue": {
                model: {
                    d: {k: {c: bag(v, "d") for c, v in cash.items()} for k, cash in rows.items()}
                    for d, rows in dims.items()
                }
                for model, dims in self.revenue.items()
            },
            "single": {
                touch: {
                    "conversions": conversions[0],
                    "revenue": {c: bag(v, "d") for c, v in cash.items()},
                }
                for touch, (conversions, cash) in self.single.items()
            },
        }

    def restore(self, state: State) -> None:
        """Add the counts of ``state`` (as :meth:`state` gives them) to these."""
        for model, dims in mapping_of(state, "credit").items():
            for dimension, rows in as_mapping(dims).items():
                target = _part(_part(self.credit, model), dimension)
                for key, values in as_mapping(rows).items():
                    _amounts_of(target, key).extend(as_values(values))
        for model, dims in mapping_of(state, "revenue").items():
            for dimension, rows in as_mapping(dims).items():
                cash_of = _part(_part(self.revenue, model), dimension)
                for key, cash in as_mapping(rows).items():
                    amounts = cash_of.setdefault(key, {})
                    for currency, values in as_mapping(cash).items():
                        _amounts_of(amounts, currency).extend(as_values(values))
        for touch, figures in mapping_of(state, "single").items():
            single = self.single.get(touch)
            if single is None:
                single = self.single[touch] = ([0], {})
            single[0][0] += count_of(figures, "conversions")
            for currency, values in mapping_of(figures, "revenue").items():
                _amounts_of(single[1], currency).extend(as_values(values))

    def attribution(self) -> Attribution:
        """Each model's credit, by channel, source / medium and campaign."""
        for touch, (conversions, cash) in self.single.items():
            for model in MODELS:
                model_credit, model_revenue = self.credit[model], self.revenue[model]
                for dimension, key in zip(_DIMENSIONS, touch, strict=True):
                    # An integer sum is exact: fsum gives what it gives for the parts.
                    _amounts_of(model_credit[dimension], key).append(float(conversions[0]))
                    target = model_revenue[dimension].setdefault(key, {})
                    for currency, totals in cash.items():
                        _amounts_of(target, currency).extend(totals)
        self.single = {}
        models = {model: _rows(self.credit[model], self.revenue[model]) for model in MODELS}
        return Attribution(
            lookback_days=self.lookback_days, half_life_days=self.half_life_days, models=models
        )


def _part(parts: dict[str, T], name: object) -> T:
    """The part of the counts called ``name`` (a model, a dimension)."""
    if not isinstance(name, str) or name not in parts:
        raise InconsistentState(f"no {name!r} in this report's attribution")
    return parts[name]


def _amounts_of(target: dict[str, array[float]], key: str) -> array[float]:
    """``target``'s amounts under ``key``, made empty the first time (as compact as the
    durations: a report keeps one or more per converter)."""
    values = target.get(key)
    if values is None:
        values = target[key] = addends()
    return values


def attribution(
    dataset: Dataset,
    macro: list[str],
    lookback_days: float = 30,
    half_life_days: float = 7,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Attribution:
    """Each model's credit of macro conversions and revenue, by channel, source / medium
    and campaign."""
    counts = AttributionCounts(macro, lookback_days, half_life_days, rules)
    fold(dataset.visitors, counts)
    return counts.attribution()


def _rows(
    credit: dict[str, dict[str, array[float]]],
    revenue: dict[str, dict[str, dict[str, array[float]]]],
) -> dict[str, list[AttributionRow]]:
    """One model's rows per dimension, the most credited first."""
    return {
        dimension: sorted(
            (
                AttributionRow(key, conversions, money(revenue[dimension][key]))
                for key, conversions in ((k, math.fsum(v)) for k, v in rows.items())
                if conversions > 0
            ),
            key=lambda row: (-row.conversions, row.value),
        )
        for dimension, rows in credit.items()
        if rows  # a dimension without any credit is left out, as for no converter
    }
