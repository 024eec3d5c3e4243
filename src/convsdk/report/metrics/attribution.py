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
from collections.abc import Callable

from ..channels import DEFAULT_CHANNEL_RULES, ChannelRules, channel
from ..dataset import UTM, Dataset, VisitorSummary
from .common import collect, money
from .model import Attribution, AttributionRow

__all__ = ["MODELS", "attribution"]

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


def attribution(
    dataset: Dataset,
    macro: list[str],
    lookback_days: float = 30,
    half_life_days: float = 7,
    rules: ChannelRules = DEFAULT_CHANNEL_RULES,
) -> Attribution:
    """Each model's credit of macro conversions and revenue, by channel, source / medium
    and campaign."""
    lookback = int(lookback_days * _DAY)
    # Shares are summed at the end with fsum, exact in any order: readers list the
    # visitors in different orders, and every store must give the same figures.
    credit: dict[str, dict[str, dict[str, list[float]]]] = {m: {} for m in MODELS}
    revenue: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {m: {} for m in MODELS}
    for visitor in dataset.visitors:
        hits = [visitor.goals[name] for name in macro if name in visitor.goals]
        if not hits:
            continue
        at = min(h.first for h in hits)
        conversions = sum(h.count for h in hits)
        amounts: dict[str, list[float]] = {}
        for h in hits:
            collect(amounts, h.revenue)
        path = _path(visitor, at, lookback)
        times = [t for t, _ in path]
        keys = [
            {
                "channel": channel(source, medium, campaign, rules),
                "source_medium": f"{source} / {medium}",
                "campaign": campaign or "(none)",
            }
            for _, (source, medium, campaign) in path
        ]
        for model, shares in MODELS.items():
            for share, touch in zip(shares(times, at, half_life_days), keys, strict=True):
                for dimension, key in touch.items():
                    rows = credit[model].setdefault(dimension, {})
                    rows.setdefault(key, []).append(share * conversions)
                    cash = revenue[model].setdefault(dimension, {}).setdefault(key, {})
                    for currency, values in amounts.items():
                        cash.setdefault(currency, []).append(share * sum(values))
    models = {model: _rows(credit[model], revenue[model]) for model in MODELS}
    return Attribution(lookback_days=lookback_days, half_life_days=half_life_days, models=models)


def _rows(
    credit: dict[str, dict[str, list[float]]],
    revenue: dict[str, dict[str, dict[str, list[float]]]],
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
    }
