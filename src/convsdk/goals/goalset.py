"""The :class:`GoalSet`: goals and funnels in declaration order, and matching against them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import ConfigError
from .funnel import Funnel
from .goal import Goal
from .validation import suggest

__all__ = ["GoalSet"]


def _goals_by_name(goals: tuple[Goal, ...]) -> dict[str, Goal]:
    by_name: dict[str, Goal] = {}
    for goal in goals:
        if not isinstance(goal, Goal):
            raise ConfigError(f"expected Goal objects, got {type(goal).__name__}", field="goals")
        if goal.name in by_name:
            raise ConfigError("two goals have this name", field="name", goal=goal.name)
        by_name[goal.name] = goal
    return by_name


def _check_funnels(funnels: tuple[Funnel, ...], goals: dict[str, Goal]) -> None:
    """Funnel names are unique and every step names one of ``goals``."""
    funnel_names: set[str] = set()
    for funnel in funnels:
        if not isinstance(funnel, Funnel):
            raise ConfigError(
                f"expected Funnel objects, got {type(funnel).__name__}", field="funnels"
            )
        if funnel.name in funnel_names:
            raise ConfigError("two funnels have this name", field="name", goal=funnel.name)
        funnel_names.add(funnel.name)
        unknown = [step for step in funnel.steps if step not in goals]
        if unknown:
            raise ConfigError(
                f"step {unknown[0]!r} names no goal{suggest(unknown[0], goals)}",
                field="steps",
                goal=funnel.name,
            )


class GoalSet:
    """An ordered, validated collection of goals and funnels (names unique).

    ``match`` returns the first goal, in declaration order, that matches an
    interaction, so put specific goals before broad ones::

        goals = GoalSet([Goal.macro("purchase", event="checkout", path="/checkout/done"),
                         Goal.micro("checkout_step", event="checkout")])
        goals.match("checkout", "/checkout/done", "POST").name   # "purchase"
        "purchase" in goals                                       # True
    """

    __slots__ = ("_any_event", "_by_event", "_by_name", "funnels", "goals", "macro", "micro")

    goals: tuple[Goal, ...]
    """Every goal, in declaration order."""
    funnels: tuple[Funnel, ...]
    """Every funnel, in declaration order."""
    micro: tuple[Goal, ...]
    """The micro goals, in declaration order."""
    macro: tuple[Goal, ...]
    """The macro goals, in declaration order."""

    def __init__(self, goals: Iterable[Goal] = (), funnels: Iterable[Funnel] = ()) -> None:
        goals = tuple(goals)
        funnels = tuple(funnels)
        by_name = _goals_by_name(goals)
        _check_funnels(funnels, by_name)
        self.goals = goals
        self.funnels = funnels
        self.micro = tuple(g for g in goals if g.kind == "micro")
        self.macro = tuple(g for g in goals if g.kind == "macro")
        self._by_name = by_name
        # Candidates per event name, keeping declaration order, so match() only tries
        # goals that can match the event at hand.
        self._any_event = tuple(g for g in goals if g.event is None)
        self._by_event = {
            event: tuple(g for g in goals if g.event in (event, None))
            for event in {g.event for g in goals if g.event is not None}
        }

    def match(
        self,
        event: str,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> Goal | None:
        """The first goal (in declaration order) matching the interaction, or ``None``."""
        for goal in self._by_event.get(event, self._any_event):
            if goal.matches(event, path, method, status):
                return goal
        return None

    def get(self, name: str) -> Goal | None:
        """The goal called ``name``, or ``None``."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Goal]:
        return iter(self.goals)

    def __len__(self) -> int:
        return len(self.goals)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Goal):
            return self._by_name.get(item.name) == item
        return item in self._by_name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GoalSet):
            return NotImplemented
        return self.goals == other.goals and self.funnels == other.funnels

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        goals = [g.name for g in self.goals]
        funnels = [f.name for f in self.funnels]
        return f"GoalSet(goals={goals!r}, funnels={funnels!r})"
