"""A period against the one before it: each headline figure, its change and relative change."""

from __future__ import annotations

from .common import ratio
from .model import Change, Comparison, Summary

__all__ = ["compare"]


def _change(name: str, current: float | None, previous: float | None) -> Change:
    delta = None if current is None or previous is None else current - previous
    relative = None if delta is None or not previous else ratio(delta, previous)
    return Change(name, current, previous, delta, relative)


def compare(current: Summary, previous: Summary, since: str, until: str) -> Comparison:
    """``current``'s headline figures against ``previous``'s (the period ``since`` to
    ``until``): visitors, converters, rate, revenue and revenue per visitor per currency."""
    changes = [
        _change("visitors", current.visitors, previous.visitors),
        _change("micro_converters", current.micro_converters, previous.micro_converters),
        _change("converters", current.converters, previous.converters),
        _change("conversion_rate", current.conversion_rate, previous.conversion_rate),
    ]
    for currency in sorted(set(current.revenue) | set(previous.revenue)):
        changes.append(
            _change(
                f"revenue {currency}",
                current.revenue.get(currency, 0.0),
                previous.revenue.get(currency, 0.0),
            )
        )
    return Comparison(since=since, until=until, previous=previous, changes=changes)
