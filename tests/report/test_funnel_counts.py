"""Funnel counts are exact: every store's report equals a brute-force count made here.

The reference walks every chain of step times a visitor has, by recursion over all of
them (no greedy choice, no bound on how many are kept), and takes the furthest step
any chain within the window reaches.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from convsdk.event import Event
from convsdk.goals import Funnel, Goal, GoalSet
from convsdk.report import load_report, render_text
from convsdk.report.dataset import MAX_STEP_TIMES

from .conftest import T0, make, write_jsonl, write_sqlite

STEPS = ["viewed_pricing", "started_trial", "purchase"]
WINDOW = timedelta(hours=6)
GOALS = GoalSet(
    [
        Goal.micro("viewed_pricing", event="page_view", path="/pricing"),
        Goal.micro("started_trial", event="form_submit", path="/trial"),
        Goal.macro("purchase", event="checkout", path="/checkout"),
    ],
    [Funnel("buy", STEPS, window="6h")],
)


def furthest_step(times: list[list[float]], window: float) -> int:
    """How many steps, in order, some chain of the visitor's times completes within
    ``window`` of its first step: every chain tried."""

    def deepest(step: int, start: float, previous: float) -> int:
        if step == len(times):
            return step
        best = step
        for moment in times[step]:
            if previous <= moment <= start + window:
                best = max(best, deepest(step + 1, start, moment))
        return best

    return max((deepest(1, start, start) for start in times[0]), default=0)


def _visitor_events(visitor: str, times: list[list[float]]) -> list[Event]:
    kinds = {"viewed_pricing": "micro", "started_trial": "micro", "purchase": "macro"}
    names = {"viewed_pricing": "page_view", "started_trial": "form_submit"}
    paths = {"viewed_pricing": "/pricing", "started_trial": "/trial", "purchase": "/checkout"}
    events = [make("page_view", 0, visitor, path="/")]
    for step, moments in zip(STEPS, times, strict=True):
        for moment in moments:
            name = names.get(step, "checkout")
            events.append(
                make(name, moment, visitor, path=paths[step], kind=kinds[step], goal=step)
            )
    return events


def _population(seed: int) -> dict[str, list[list[float]]]:
    """Visitors with random step times over two days, and one who views pricing 150
    times before the start that completes the funnel (a bound of 100 times lost it)."""
    rng = random.Random(seed)
    day = 86_400.0
    people: dict[str, list[list[float]]] = {}
    for n in range(120):
        people[f"v{n}"] = [
            sorted(rng.uniform(1, 2 * day) for _ in range(rng.randint(1, 8))),
            sorted(rng.uniform(1, 2 * day) for _ in range(rng.randint(0, 4))),
            sorted(rng.uniform(1, 2 * day) for _ in range(rng.randint(0, 2))),
        ]
    # Pricing every ten minutes for 25 hours; the trial and purchase come after the
    # last view, more than the window after the first 100.
    views = [float(600 * k) for k in range(1, 151)]
    people["keen"] = [views, [views[-1] + 30], [views[-1] + 90]]
    return people


def _steps(report_json: str) -> list[int]:
    data: dict[str, Any] = json.loads(report_json)
    (funnel,) = data["funnels"]
    return [step["visitors"] for step in funnel["steps"]]


def test_funnels_equal_a_brute_force_count_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    people = _population(seed=7)
    events = [e for visitor, times in people.items() for e in _visitor_events(visitor, times)]
    window = WINDOW.total_seconds()
    depth = [furthest_step(times, window) for times in people.values()]
    expected = [sum(d > k for d in depth) for k in range(len(STEPS))]
    assert expected[-1] > 0 and expected[0] > expected[-1]  # a funnel that narrows
    assert furthest_step(people["keen"], window) == 3
    url, write = postgres_table
    write(events)
    for source in (
        write_sqlite(tmp_path / "e.db", events),
        write_jsonl(tmp_path / "e.jsonl", events),
        url,
    ):
        report = load_report(source, GOALS, since=T0 - timedelta(days=1), engine=engine)
        assert _steps(report.to_json()) == expected, source
        assert report.funnels[0].capped_visitors == 0


def test_a_bound_on_step_times_is_stated_with_the_visitors_it_touched(tmp_path: Path) -> None:
    views = [float(k) for k in range(MAX_STEP_TIMES + 5)]
    events = _visitor_events("bot-like", [views, [views[-1] + 1], [views[-1] + 2]])
    events += _visitor_events("person", [[1.0], [2.0], [3.0]])
    report = load_report(write_sqlite(tmp_path / "e.db", events), GOALS, since=T0)
    (funnel,) = report.funnels
    assert funnel.capped_visitors == 1
    assert f"only their first {MAX_STEP_TIMES:,} counted" in render_text(report)


@pytest.mark.parametrize("window_hours", [0.5, 6, 48])
def test_the_reference_itself_on_hand_made_cases(window_hours: float) -> None:
    hour = 3600.0
    # Pricing at 0 h and 10 h, trial at 10.2 h, purchase at 10.5 h: only the second
    # start completes within 6 h; within 30 minutes too; within 48 h the first does.
    times = [[0.0, 10 * hour], [10.2 * hour], [10.5 * hour]]
    assert furthest_step(times, window_hours * hour) == 3
    assert furthest_step([[0.0], [2 * hour], [1 * hour]], 6 * hour) == 2  # out of order
    assert furthest_step([[0.0], [], [1.0]], 6 * hour) == 1
