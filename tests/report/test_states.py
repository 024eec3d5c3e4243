"""A report's counts as plain data: kept, added to and taken away from, to the digit.

Counting two groups of people apart and adding their counts must give the counts of
everyone; taking a group's counts away from everyone's must give the other group's; and
the report made of counts kept as data must be the report made of the people.
"""

from __future__ import annotations

import marshal
import random
from typing import Any

import pytest

from convsdk.event import Event
from convsdk.goals import GoalSet
from convsdk.report.dataset import Dataset, VisitorSummary
from convsdk.report.events import summarise_events
from convsdk.report.metrics import build_report, finish_report, start_counts
from convsdk.report.metrics.common import fold
from convsdk.report.metrics.counts import ReportCounts
from convsdk.report.metrics.states import (
    Bag,
    InconsistentState,
    State,
    combine,
    is_empty,
    pack,
    unpack,
)

from .conftest import make
from .test_rollup import STEPS

# The rollup tests' goals: two funnels, one of three steps.
GOALS = STEPS
MICRO = {"pricing": ("page_view", "viewed_pricing"), "newsletter": ("form_submit", "newsletter")}
SOURCES = [None, ("google", "cpc"), ("newsletter", "email"), ("facebook", "social")]
REFERRERS = [None, "https://www.google.com/", "https://news.example/post", "https://shop.example/"]


def _events(seed: int, visitors: int = 80) -> list[Event]:
    """A few days of a shop: visits from every kind of source, variants, micro
    conversions, purchases in two currencies, renewals."""
    rng = random.Random(seed)
    events = []
    for n in range(visitors):
        visitor = f"v{n:03d}"
        at = rng.uniform(0, 4 * 86_400)
        source = rng.choice(SOURCES)
        utm = None if source is None else {"source": source[0], "medium": source[1]}
        if utm is not None and rng.random() < 0.5:
            utm["campaign"] = rng.choice(["spring", "launch"])
        variant = rng.choice([None, "control", "b"])
        events.append(
            make(
                "page_view", at, visitor, path="/", referrer=rng.choice(REFERRERS),
                utm=utm, variant=variant,
            )
        )  # fmt: skip
        for _ in range(rng.randrange(4)):
            at += rng.uniform(10, 40_000)
            step = rng.choice(["pricing", "newsletter", "checkout", "renewal", "page"])
            if step in ("pricing", "newsletter"):
                name, goal = MICRO[step]
                events.append(
                    make(name, at, visitor, path=f"/{step}", kind="micro", goal=goal,
                         variant=variant)
                )  # fmt: skip
            elif step == "checkout":
                currency = rng.choice(["USD", "EUR"])
                events.append(
                    make(
                        "checkout", at, visitor, path="/checkout", kind="macro", goal="purchase",
                        value=round(rng.uniform(5, 300), 2), currency=currency,
                        transaction_id=f"o{n}-{rng.randrange(3)}", variant=variant,
                        utm={"source": "google", "medium": "cpc"} if rng.random() < 0.2 else None,
                    )
                )  # fmt: skip
            elif step == "renewal":
                events.append(
                    make(
                        "renewal", at, visitor, kind="macro", goal="renewal",
                        value=round(rng.uniform(1, 50), 2), currency="USD",
                    )
                )  # fmt: skip
            else:
                events.append(make("page_view", at, visitor, path=f"/p/{rng.randrange(5)}"))
    return events


def _dataset(events: list[Event]) -> Dataset:
    steps = {step for funnel in GOALS.funnels for step in funnel.steps}
    kinds = {goal.name: goal.kind for goal in GOALS.goals}
    return summarise_events(events, step_goals=steps, goal_kinds=kinds)


def _people(events: list[Event]) -> tuple[Dataset, list[VisitorSummary]]:
    dataset = _dataset(events)
    people = list(dataset.visitors)
    dataset.visitors = people
    return dataset, people


OPTIONS: list[dict[str, Any]] = [
    {},
    {"interval": "day", "by": "channel"},
    {"interval": "week", "by": "variant", "experiment_goal": "purchase"},
]


def _counts(dataset: Dataset, people: list[VisitorSummary], **options: Any) -> ReportCounts:
    counts = start_counts(dataset, GOALS, **options)
    fold(people, *counts.sections())
    return counts


def _figures(report: Any) -> dict[str, Any]:
    data = report.to_dict()
    del data["meta"]
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "day by channel", "week by variant"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_of_two_groups_add_up_and_take_away(options: dict[str, Any], seed: int) -> None:
    dataset, people = _people(_events(seed))
    rng = random.Random(seed)
    group = set(rng.sample(range(len(people)), len(people) // 3))
    some = [p for k, p in enumerate(people) if k in group]
    rest = [p for k, p in enumerate(people) if k not in group]
    everyone = _counts(dataset, people, **options).state()
    first, second = (_counts(dataset, part, **options).state() for part in (some, rest))
    assert combine(first, second) == everyone
    assert combine(everyone, first, -1) == second
    assert combine(everyone, second, -1) == first
    assert is_empty(combine(everyone, everyone, -1))
    # As kept: each bag's values in order, taken away from by search.
    kept = unpack(marshal.loads(marshal.dumps(pack(everyone))))
    assert combine(kept, first, -1) == second
    assert combine(kept, second, -1) == first


@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "day by channel", "week by variant"])
def test_the_report_of_kept_counts_is_the_report_of_the_people(options: dict[str, Any]) -> None:
    dataset, people = _people(_events(7))
    expected = _figures(build_report(dataset, GOALS, **options))
    # Everyone but the last ten, kept as bytes; the last ten added; five taken away and
    # counted again.
    kept = marshal.dumps(pack(_counts(dataset, people[:-10], **options).state()))
    state = combine(unpack(marshal.loads(kept)), _counts(dataset, people[-10:], **options).state())
    again = _counts(dataset, people[:5], **options).state()
    state = combine(combine(state, again, -1), again)
    counts = start_counts(dataset, GOALS, **options)
    counts.restore(state)
    assert _figures(finish_report(counts, dataset, GOALS)) == expected


def test_taking_away_what_was_not_counted_is_refused() -> None:
    dataset, people = _people(_events(4))
    some = _counts(dataset, people[:20]).state()
    others = _counts(dataset, people[20:40]).state()
    with pytest.raises(InconsistentState):
        combine(some, others, -1)
    with pytest.raises(InconsistentState):
        combine(Bag("d", [1.0, 2.0]), Bag("d", [3.0]), -1)
    with pytest.raises(InconsistentState):
        combine(unpack(pack(Bag("d", [2.0, 1.0, 2.0]))), Bag("d", [2.0, 2.0, 2.0]), -1)
    assert combine(unpack(pack(Bag("q", [3, 1, 3, 2]))), Bag("q", [3, 1]), -1) == Bag("q", [2, 3])
    with pytest.raises(InconsistentState):
        combine(3, 4, -1)
    with pytest.raises(InconsistentState):
        combine({"a": 1}, Bag("q", [1]))


def test_counts_of_another_report_are_refused() -> None:
    dataset, people = _people(_events(5))
    state = _counts(dataset, people, interval="day").state()
    with pytest.raises(InconsistentState):
        start_counts(dataset, GOALS).restore(state)  # no trend in this one
    fewer = GoalSet(GOALS.goals, GOALS.funnels[:1])
    with pytest.raises(InconsistentState):
        start_counts(dataset, fewer).restore(_counts(dataset, people).state())


@pytest.mark.parametrize(
    "data",
    [True, 1.5, ("q", "not bytes"), ("d", b"\x00\x01\x02"), ["a list"], {"x": None}],
    ids=["bool", "float", "text bag", "short bytes", "list", "none"],
)
def test_data_that_is_no_state_is_refused(data: object) -> None:
    with pytest.raises(InconsistentState):
        unpack(data)


def test_packed_counts_are_the_same_bytes_for_the_same_people() -> None:
    dataset, people = _people(_events(6))
    state: State = _counts(dataset, people, interval="month").state()
    shuffled = list(people)
    random.Random(1).shuffle(shuffled)
    other = _counts(dataset, shuffled, interval="month").state()
    assert marshal.dumps(pack(state)) == marshal.dumps(pack(other))
