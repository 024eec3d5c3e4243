"""Experiment figures as statsmodels and SciPy compute them, on planted data sets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.event import Event
from convsdk.goals import Goal, GoalSet
from convsdk.report import load_report, render_text
from convsdk.report.metrics import VariantBreakdown

from .conftest import make, write_jsonl, write_sqlite

stats = pytest.importorskip("scipy.stats", reason="SciPy checks the figures")
proportion = pytest.importorskip("statsmodels.stats.proportion")
multitest = pytest.importorskip("statsmodels.stats.multitest")
power = pytest.importorskip("statsmodels.stats.power")

GOALS = GoalSet(
    [
        Goal.micro("signup", event="form_submit", path="/signup"),
        Goal.macro("purchase", event="checkout", path="/checkout"),
        Goal.macro("demo", event="form_submit", path="/demo"),
    ]
)


def _arm(variant: str, visitors: int, buyers: int, signups: int) -> list[Event]:
    """``visitors`` of ``variant``: the first ``buyers`` buy, the first ``signups`` sign up."""
    events = []
    for n in range(visitors):
        who = f"{variant}-{n}"
        events.append(make("page_view", n, who, variant=variant))
        if n < buyers:
            events.append(
                make("checkout", n + 1, who, path="/checkout", kind="macro", goal="purchase")
            )
        if n < signups:
            events.append(
                make("form_submit", n + 2, who, path="/signup", kind="micro", goal="signup")
            )
    return events


def _variants(tmp_path: Path, arms: list[tuple[str, int, int, int]], **kw: str) -> VariantBreakdown:
    events = [e for arm in arms for e in _arm(*arm)]
    report = load_report(write_sqlite(tmp_path / "e.db", events), GOALS, **kw)  # type: ignore[arg-type]
    return report.breakdowns.variant


def test_three_variants_match_statsmodels(tmp_path: Path) -> None:
    variants = _variants(
        tmp_path, [("A", 1000, 100, 300), ("B", 1000, 125, 300), ("C", 1000, 150, 300)]
    )
    assert variants.control == "A" and variants.goal is None
    control, b, c = variants.rows
    raw = []
    for row, buyers in ((b, 125), (c, 150)):
        z, p = proportion.proportions_ztest([buyers, 100], [1000, 1000])
        assert row.z == pytest.approx(z, rel=1e-9) and row.p_value == pytest.approx(p, rel=1e-9)
        raw.append(p)
    _, adjusted, _, _ = multitest.multipletests(raw, method="holm")
    assert [b.p_adjusted, c.p_adjusted] == pytest.approx(list(adjusted), rel=1e-12)
    # B (12.5% vs 10%): p ≈ 0.075, not significant; C (15%): p ≈ 0.0007, significant.
    assert (b.significant, c.significant) == (False, True)
    assert control.p_adjusted is None and not control.significant
    # Equal split: no mismatch; the statistic is SciPy's.
    chi2, p = stats.chisquare([1000, 1000, 1000])
    assert variants.srm_chi2 == pytest.approx(chi2) and variants.srm_p_value == pytest.approx(p)
    assert not variants.srm_mismatch
    # The MDE: the effect size statsmodels solves for 80% power, in rate units.
    d = power.NormalIndPower().solve_power(nobs1=1000, ratio=1.0, alpha=0.05, power=0.8)
    assert variants.mde == pytest.approx(d * math.sqrt(0.1 * 0.9), rel=1e-4)


def test_a_sample_ratio_mismatch_is_flagged(tmp_path: Path) -> None:
    variants = _variants(tmp_path, [("A", 1000, 100, 0), ("B", 1200, 120, 0)])
    chi2, p = stats.chisquare([1000, 1200])
    assert variants.srm_p_value == pytest.approx(p, rel=1e-9) and p < 0.001
    assert variants.srm_mismatch
    (row,) = [r for r in variants.rows if r.value == "B"]
    assert row.p_adjusted == pytest.approx(row.p_value)  # one comparison: nothing to adjust


def test_the_experiment_goal_is_chosen_and_the_text_marks_what_matters(tmp_path: Path) -> None:
    arms = [("A", 400, 40, 100), ("B", 400, 40, 160), ("C", 200, 20, 80)]
    events = [e for arm in arms for e in _arm(*arm)]
    source = write_sqlite(tmp_path / "e.db", events)
    report = load_report(source, GOALS, experiment_goal="signup")
    variants = report.breakdowns.variant
    assert variants.goal == "signup"
    b = next(r for r in variants.rows if r.value == "B")
    assert (b.converters, b.conversion_rate) == (160, 0.4)
    z, p = proportion.proportions_ztest([160, 100], [400, 400])
    assert b.p_value == pytest.approx(p, rel=1e-9) and b.significant
    text = render_text(report)
    assert "significant" in text and "SAMPLE RATIO MISMATCH" in text  # 400/400/200
    assert "'signup' rate" in text
    with pytest.raises(ConfigError, match="did you mean 'signup'") as caught:
        load_report(source, GOALS, experiment_goal="signpu")
    assert caught.value.field == "experiment_goal"


def test_only_conversions_after_the_first_exposure_count_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    buy = {"path": "/checkout", "kind": "macro", "goal": "purchase"}
    events = [
        # zed bought before the experiment showed him B: not B's conversion.
        make("page_view", 0, "zed"),
        make("checkout", 10, "zed", **buy),
        make("page_view", 20, "zed", variant="B"),
        # yan saw B, then bought; xi saw A and left.
        make("page_view", 0, "yan", variant="B"),
        make("checkout", 10, "yan", variant="B", **buy),
        make("page_view", 0, "xi", variant="A"),
    ]
    url, write = postgres_table
    write(events)
    for source in (
        write_sqlite(tmp_path / "e.db", events),
        write_jsonl(tmp_path / "e.jsonl", events),
        url,
    ):
        rows = {
            r.value: r for r in load_report(source, GOALS, engine=engine).breakdowns.variant.rows
        }
        assert (rows["B"].visitors, rows["B"].converters) == (2, 1), source
        assert (rows["A"].visitors, rows["A"].converters) == (1, 0), source
