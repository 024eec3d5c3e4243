"""Which conversion of a repeated transaction counts, over a report's range.

A ``transaction_id`` repeated for a goal counts once: its earliest conversion (by time,
then event id) among those of the range, whichever visitor or day holds it. Rollups
mark every conversion whose transaction id another one shares (``shared``), so a
report reads only those, and the rolled-up ones sharing an id with an event it reads
raw. Everything else is alone in its transaction and counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .fold import TransactionRow
from .span import Span

if TYPE_CHECKING:
    from .source import RollupSource

__all__ = ["Transactions", "settle_transactions"]

#: (goal, transaction id) -> (time, event id) of the conversion that counts.
Winners = dict[tuple[str, str], tuple[int, str]]


class Transactions:
    """The conversions that count, of the transactions repeated in a range."""

    __slots__ = ("dropped", "winners")

    def __init__(self, winners: Winners, dropped: dict[str, dict[str, int]]) -> None:
        self.winners = winners
        """The earliest conversion of each transaction seen more than once."""
        self.dropped = dropped
        """Goal to kind to the number of conversions that do not count."""

    def counts(self, goal: str, transaction: str, moment: int, event_id: str) -> bool:
        """Whether the conversion of ``transaction`` at ``moment`` counts."""
        won = self.winners.get((goal, transaction))
        return won is None or won == (moment, event_id)

    def kinds(self, order_kinds: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
        """Goal to kind of the conversions that count, of those counted in ``order_kinds``
        (goal to kind to count, every conversion with a transaction id of the range)."""
        kinds: dict[str, str] = {}
        for goal, counts in order_kinds.items():
            gone = self.dropped.get(goal, {})
            for kind, count in counts.items():
                if count > gone.get(kind, 0) and (goal not in kinds or kind < kinds[goal]):
                    kinds[goal] = kind
        return kinds


def settle_transactions(
    source: RollupSource | None, span: Span, raw: Iterable[TransactionRow]
) -> Transactions:
    """The repeated transactions of the range: those the rollups of its whole days mark
    as shared, and those of ``raw`` (the conversions read as events). Without
    ``source``, ``raw`` alone."""
    members: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    first, end = span.days
    if source is not None and span.has_days:
        for goal, transaction, moment, event_id, kind in source.shared(first, end):
            members.setdefault((goal, transaction), []).append((moment, event_id, kind))
    fresh: set[tuple[str, str]] = set()
    for goal, transaction, event_id, moment, kind, _ in raw:
        key = (goal, transaction)
        if key not in members:
            fresh.add(key)
        members.setdefault(key, []).append((moment, event_id, kind))
    if source is not None and span.has_days and fresh:  # rolled-up ones not marked yet
        for key, found in source.alike(fresh, first, end).items():
            members[key].extend(found)
    winners: Winners = {}
    dropped: dict[str, dict[str, int]] = {}
    for (goal, transaction), found in members.items():
        if len(found) < 2:
            continue
        found.sort()
        winners[goal, transaction] = (found[0][0], found[0][1])
        gone = dropped.setdefault(goal, {})
        for _, _, kind in found[1:]:
            gone[kind] = gone.get(kind, 0) + 1
    return Transactions(winners, dropped)
