"""One reporting currency: revenue in every currency converted at rates the site gives.

A rates file (TOML or JSON) says what one unit of each currency is worth in the
reporting currency::

    currency = "EUR"
    [rates]
    USD = 0.92
    GBP = 1.17

Values stored without a currency are left apart ("(no currency)"); a currency the file
has no rate for is a :class:`~convsdk.ConfigError` naming it, never a silent drop.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ..errors import ConfigError
from .dataset import NO_CURRENCY, Dataset, GoalHits, VisitorStream, VisitorSummary

__all__ = ["Rates", "convert_dataset", "load_rates"]

#: The reporting currency and the worth, in it, of one unit of each other currency.
Rates = tuple[str, dict[str, float]]


def load_rates(path: str | os.PathLike[str]) -> Rates:
    """Read a rates file (``.toml`` or ``.json``: ``currency`` and ``rates``)."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
        data = json.loads(text) if source.endswith(".json") else tomllib.loads(text)
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
        raise ConfigError(message, field="rates", source=source) from exc
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"not a rates file: {exc}", field="rates", source=source) from exc
    currency = data.get("currency")
    rates = data.get("rates")
    if not isinstance(currency, str) or len(currency) != 3 or not isinstance(rates, Mapping):
        raise ConfigError(
            'a rates file has currency = "EUR" and a [rates] table', field="rates", source=source
        )
    checked: dict[str, float] = {currency.upper(): 1.0}
    for code, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ConfigError(f"the rate of {code} must be a positive number", field="rates")
        if not math.isfinite(rate):
            raise ConfigError(f"the rate of {code} must be finite", field="rates")
        checked[str(code).upper()] = float(rate)
    return currency.upper(), checked


def convert_dataset(dataset: Dataset, rates: Rates) -> None:
    """Turn every revenue of ``dataset`` into the reporting currency, in place (the
    people of a :class:`~convsdk.report.dataset.VisitorStream` as it is read)."""
    if isinstance(dataset.visitors, VisitorStream):
        dataset.visitors = VisitorStream(_converting(dataset, dataset.visitors, rates))
        return
    for hits in dataset.anonymous_goals.values():
        _convert(hits, rates)
    for visitor in dataset.visitors:
        _convert_visitor(visitor, rates)


def _converting(
    dataset: Dataset, people: Iterable[VisitorSummary], rates: Rates
) -> Iterator[VisitorSummary]:
    """``people`` converted as they are read; then the conversions without a visitor,
    which a reader may complete while its people are read."""
    for visitor in people:
        _convert_visitor(visitor, rates)
        yield visitor
    for hits in dataset.anonymous_goals.values():
        _convert(hits, rates)


def _convert_visitor(visitor: VisitorSummary, rates: Rates) -> None:
    for hits in visitor.goals.values():
        _convert(hits, rates)


def _convert(hits: GoalHits, rates: Rates) -> None:
    if not hits.revenue:
        return
    currency, table = rates
    converted: dict[str, float] = {}
    for code, amount in hits.revenue.items():
        if code == NO_CURRENCY:
            converted[code] = converted.get(code, 0.0) + amount
            continue
        rate = table.get(code)
        if rate is None:
            raise ConfigError(f"no rate for {code} in the rates file", field="rates")
        converted[currency] = converted.get(currency, 0.0) + amount * rate
    hits.revenue = converted
