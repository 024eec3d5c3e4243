"""``convsdk demo``: simulated traffic through the demo shop, stored, then reported."""

from __future__ import annotations

import contextlib
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from convsdk import Event
from convsdk._demo_shop import GOALS
from convsdk.backends.sqlite import read_events
from convsdk.demo import BOTS, DAYS, PRIVATE_BROWSERS, run_demo
from convsdk.report import Report, load_report

# Enough visitors for the planted effects to stand out whatever the seed (checked over
# twenty seeds), few enough to run in a couple of seconds.
VISITORS = 600


@dataclass
class DemoRun:
    status: int
    output: str
    db: Path
    html: Path
    events: list[Event]
    report: Report


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    db, html = folder / "demo.db", folder / "report.html"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = run_demo(visitors=VISITORS, db_path=db, html_path=html, seed=7)
    return DemoRun(
        status=status,
        output=out.getvalue(),
        db=db,
        html=html,
        events=list(read_events(db)),
        report=load_report(db, goals=GOALS),
    )


def test_the_demo_succeeds_and_says_where_its_files_are(demo: DemoRun) -> None:
    assert demo.status == 0
    assert str(demo.db) in demo.output and str(demo.html) in demo.output
    assert "Which micro conversions predict a macro one" in demo.output
    # What a marketer looks for first: channels, the daily trend, the experiment.
    for shown in ("First arrival", "Organic Search", "Trend by day", "Experiment variants"):
        assert shown in demo.output, shown
    assert demo.html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_events_are_stored_with_every_goal(demo: DemoRun) -> None:
    goals = {e.goal for e in demo.events}

    assert len(demo.events) > VISITORS
    assert {
        "read_blog",
        "viewed_pricing",
        "added_to_cart",
        "started_checkout",
        "purchase",
        "newsletter",
    } <= goals
    assert all(e.value and e.value > 0 for e in demo.events if e.goal == "purchase")


def test_crawlers_are_never_counted(demo: DemoRun) -> None:
    agents = {e.context.get("user_agent") for e in demo.events}

    assert agents.isdisjoint(BOTS)


def test_dnt_and_gpc_visitors_are_counted_without_identifiers(demo: DemoRun) -> None:
    private = [e for e in demo.events if e.context.get("user_agent") in PRIVATE_BROWSERS]
    others = [e for e in demo.events if e.context.get("user_agent") not in PRIVATE_BROWSERS]

    assert private, "the simulation sends some Do-Not-Track / GPC visitors"
    assert all(e.visitor_id is None and e.session_id is None for e in private)
    assert all(e.visitor_id and e.session_id for e in others)
    assert demo.report.summary.anonymous.events == len(private)


def test_time_is_simulated_over_days_with_returning_visitors(demo: DemoRun) -> None:
    times = sorted(e.timestamp for e in demo.events)
    sessions: dict[str, set[str]] = defaultdict(set)
    for e in demo.events:
        if e.visitor_id and e.session_id:
            sessions[e.visitor_id].add(e.session_id)

    assert times[-1] - times[0] > timedelta(days=DAYS - 2)
    # Visitors who came back hours or days later started a new session.
    assert sum(len(ids) > 1 for ids in sessions.values()) > VISITORS // 20


def test_reading_the_journal_is_the_top_predictor_of_a_purchase(demo: DemoRun) -> None:
    rows = [row for row in demo.report.lift if row.macro == "purchase"]

    assert rows[0].micro == "read_blog"
    assert rows[0].lift_ci_low is not None and rows[0].lift_ci_low > 1.0
    newsletter = next(row for row in rows if row.micro == "newsletter")
    assert newsletter.lift is not None and newsletter.lift > 1.0


def test_pricing_variant_b_converts_better_than_a(demo: DemoRun) -> None:
    variants = {row.value: row for row in demo.report.breakdowns.variant.rows}

    assert demo.report.breakdowns.variant.control == "A"
    a, b = variants["A"].conversion_rate, variants["B"].conversion_rate
    assert a is not None and b is not None and b > a


def test_purchase_funnel_narrows_step_by_step(demo: DemoRun) -> None:
    funnel = next(f for f in demo.report.funnels if f.name == "purchase_path")
    reached = [step.visitors for step in funnel.steps]

    assert reached == sorted(reached, reverse=True) and reached[-1] > 0
    assert reached[0] > reached[-1]  # abandoned carts and checkouts


def test_each_run_starts_from_a_fresh_database(tmp_path: Path) -> None:
    db, html = tmp_path / "demo.db", tmp_path / "report.html"
    counts = []
    for _ in range(2):
        with contextlib.redirect_stdout(io.StringIO()):
            assert run_demo(visitors=40, db_path=db, html_path=html, seed=3) == 0
        counts.append(sum(1 for _ in read_events(db)))

    assert counts[0] == counts[1] > 0


def test_a_database_of_any_name_is_reported_on_and_named_for_the_report_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from convsdk.cli import main

    db, html = tmp_path / "events.data", tmp_path / "r.html"
    assert run_demo(visitors=20, db_path=db, html_path=html, seed=2) == 0
    out = capsys.readouterr().out
    command = out.split("report on them again: ", 1)[1].split(")\n", 1)[0]
    assert command.startswith("convsdk report sqlite:///")
    assert main(["report", command.split()[-1], "--format", "json"]) == 0
    assert '"visitors"' in capsys.readouterr().out


def test_refuses_to_replace_a_file_that_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("my notes", encoding="utf-8")

    assert run_demo(visitors=10, db_path=notes, html_path=tmp_path / "r.html", seed=1) == 2
    assert notes.read_text(encoding="utf-8") == "my notes"
    assert "not a SQLite database" in capsys.readouterr().err


@pytest.mark.parametrize("visitors", [0, -5, True])
def test_rejects_a_bad_number_of_visitors(
    visitors: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, html = tmp_path / "d.db", tmp_path / "r.html"

    assert run_demo(visitors=visitors, db_path=db, html_path=html) == 2
    assert "visitors" in capsys.readouterr().err
    assert not db.exists()
