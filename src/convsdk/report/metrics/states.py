"""A section's counts as plain data: kept between reports, added and taken away.

A report's sections count people one by one (:class:`~.common.Section`); their counts,
written out as plain data (:data:`State`), can be kept, added to the counts of more
people, and have the counts of some people taken away again, exactly:

- an ``int`` is a count;
- a :class:`Bag` is a multiset of amounts or durations, which the sections sum
  (``math.fsum``, exact in any order) or sort (medians) at the end: the order of its
  values never matters, and taking one away removes one equal value;
- a ``dict`` maps keys (text, numbers, tuples of them) to states. An entry whose state
  is empty (zero counts, empty bags) is left out, as counting nobody would leave it.

Two states of the same counts are equal (:meth:`Bag.__eq__` ignores the order of the
values) once :func:`prune` has left out their empty entries.

The plain data is what :mod:`marshal` stores (no classes, no code): :func:`pack` and
:func:`unpack` turn the bags into bytes and back. A section writes its counts with
``state()`` and adds a state to its own (fresh) counts with ``restore()``; every
section of a report together: :class:`~.counts.ReportCounts`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

__all__ = [
    "Bag",
    "InconsistentState",
    "State",
    "add_amounts",
    "amounts_state",
    "as_count",
    "as_mapping",
    "as_values",
    "bag",
    "combine",
    "count_of",
    "is_empty",
    "mapping_of",
    "pack",
    "prune",
    "unpack",
    "values_of",
]


class Bag:
    """A multiset of numbers: ``"d"`` amounts (floats) or ``"q"`` durations (ints);
    ``ordered``: its values are in ascending order (as :func:`unpack` gives them), which
    makes taking a few away from many cheap."""

    __slots__ = ("ordered", "typecode", "values")

    def __init__(self, typecode: str, values: Iterable[float] = (), ordered: bool = False) -> None:
        self.typecode = typecode
        self.values: list[Any] = list(values)
        self.ordered = ordered

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bag):
            return NotImplemented
        return self.typecode == other.typecode and sorted(self.values) == sorted(other.values)

    def __hash__(self) -> int:  # pragma: no cover - mutable, never a key
        raise TypeError("a Bag is not hashable")

    def __repr__(self) -> str:
        return f"Bag({self.typecode!r}, {len(self.values)} values)"


#: A section's counts as plain data (see the module).
State: TypeAlias = int | Bag | dict[Any, "State"]


class InconsistentState(ValueError):
    """Taking away counts that are not there: the kept counts do not match the people
    they are said to count."""


def bag(values: Iterable[float], typecode: str) -> Bag:
    """A bag of ``values`` (a list or an ``array`` of amounts or durations)."""
    return Bag(typecode, values)


def amounts_state(amounts: Mapping[str, Iterable[float]]) -> dict[str, State]:
    """Amounts per currency (lists of floats) as bags."""
    return {currency: Bag("d", values) for currency, values in amounts.items()}


def add_amounts(target: dict[str, list[float]], state: Mapping[str, State]) -> None:
    """Add the amounts per currency of ``state`` to ``target``'s lists."""
    for currency, values in state.items():
        target.setdefault(currency, []).extend(as_values(values))


def is_empty(state: State) -> bool:
    """Whether ``state`` counts nothing (zeros and empty bags all the way down)."""
    if isinstance(state, int):
        return state == 0
    if isinstance(state, Bag):
        return not state.values
    return all(is_empty(value) for value in state.values())


def prune(state: State) -> State:
    """``state`` without its empty entries (the form :func:`combine` gives)."""
    if isinstance(state, dict):
        kept = {key: prune(value) for key, value in state.items()}
        return {key: value for key, value in kept.items() if not is_empty(value)}
    return state


def combine(first: State, second: State, sign: int = 1) -> State:
    """``first`` with ``second`` added (``sign`` 1) or taken away (``sign`` -1); empty
    entries of the result are left out. Raises :class:`InconsistentState` when taking
    away a count, a value or an entry that ``first`` does not hold."""
    if isinstance(first, int) and isinstance(second, int):
        total = first + sign * second
        if total < 0:
            raise InconsistentState(f"a count below zero ({first} - {second})")
        return total
    if isinstance(first, Bag) and isinstance(second, Bag):
        return _combine_bags(first, second, sign)
    if isinstance(first, dict) and isinstance(second, dict):
        merged: dict[Any, State] = {}
        for key, value in first.items():
            other = second.get(key)
            result = value if other is None else combine(value, other, sign)
            if not is_empty(result):
                merged[key] = result
        for key, other in second.items():
            if key in first:
                continue
            if sign < 0:
                if is_empty(other):
                    continue
                raise InconsistentState(f"nothing kept under {key!r} to take away")
            if not is_empty(other):
                merged[key] = other
        return merged
    raise InconsistentState(f"{type(first).__name__} and {type(second).__name__} do not combine")


def _combine_bags(first: Bag, second: Bag, sign: int) -> Bag:
    if first.typecode != second.typecode:
        raise InconsistentState(f"bags of {first.typecode!r} and {second.typecode!r}")
    if sign > 0:
        return Bag(first.typecode, first.values + second.values)
    if not second.values:
        return first
    if first.ordered:
        return Bag(first.typecode, _without(first.values, sorted(second.values)), True)
    away = Counter(second.values)
    kept = []
    for value in first.values:
        if away[value] > 0:
            away[value] -= 1
        else:
            kept.append(value)
    if any(count > 0 for count in away.values()):
        raise InconsistentState("taking away values that were not counted")
    return Bag(first.typecode, kept)


def _without(values: list[Any], away: list[Any]) -> list[Any]:
    """``values`` (ascending) without ``away`` (ascending), one equal value for each."""
    kept: list[Any] = []
    start = 0
    for value in away:
        at = bisect_left(values, value, start)
        if at == len(values) or values[at] != value:
            raise InconsistentState("taking away values that were not counted")
        kept.extend(values[start:at])
        start = at + 1
    kept.extend(values[start:])
    return kept


def _bag(state: State) -> Bag:
    if not isinstance(state, Bag):
        raise InconsistentState(f"a bag was expected, not {type(state).__name__}")
    return state


def pack(state: State) -> Any:
    """``state`` as :mod:`marshal` data: each bag a ``(typecode, bytes)`` pair, values and
    keys in order (the same counts always pack the same)."""
    if isinstance(state, Bag):
        return (state.typecode, array(state.typecode, sorted(state.values)).tobytes())
    if isinstance(state, dict):
        # Keys in the order of their text: keys of mixed types (tuples holding None)
        # do not compare.
        return {key: pack(state[key]) for key in sorted(state, key=repr)}
    return state


def unpack(data: Any) -> State:
    """The state :func:`pack` made ``data`` of; :class:`InconsistentState` for anything
    else."""
    if isinstance(data, bool):
        raise InconsistentState("a count is a number")
    if isinstance(data, int):
        return data
    if isinstance(data, tuple) and len(data) == 2 and data[0] in ("d", "q"):
        typecode, raw = data
        if not isinstance(raw, bytes):
            raise InconsistentState("a bag's values are bytes")
        values = array(typecode)
        try:
            values.frombytes(raw)
        except ValueError as exc:
            raise InconsistentState(f"a bag's bytes: {exc}") from None
        return Bag(typecode, values.tolist(), ordered=True)
    if isinstance(data, dict):
        return {key: unpack(value) for key, value in data.items()}
    raise InconsistentState(f"{type(data).__name__} is no part of a state")


def as_mapping(state: State) -> dict[Any, State]:
    """``state``, a mapping (:class:`InconsistentState` otherwise)."""
    if not isinstance(state, dict):
        raise InconsistentState(f"a mapping was expected, not {type(state).__name__}")
    return state


def as_count(state: State) -> int:
    """``state``, a count (:class:`InconsistentState` otherwise)."""
    if not isinstance(state, int) or isinstance(state, bool):
        raise InconsistentState(f"a count was expected, not {type(state).__name__}")
    return state


def as_values(state: State) -> list[Any]:
    """The values of ``state``, a bag (:class:`InconsistentState` otherwise)."""
    return _bag(state).values


def count_of(state: State, key: Any) -> int:
    """The count under ``key`` of the mapping ``state`` (0 when left out)."""
    return as_count(as_mapping(state).get(key, 0))


def values_of(state: State, key: Any) -> list[Any]:
    """The values of the bag under ``key`` of the mapping ``state`` (none when left out)."""
    found = as_mapping(state).get(key)
    return [] if found is None else as_values(found)


def mapping_of(state: State, key: Any) -> dict[Any, State]:
    """The mapping under ``key`` of the mapping ``state`` (empty when left out)."""
    return as_mapping(as_mapping(state).get(key, {}))
