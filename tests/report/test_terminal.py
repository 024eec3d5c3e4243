"""The terminal report: rich tables, or plain text when rich is not installed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from convsdk.report import load_report, print_report, render_text, terminal
from convsdk.report.metrics import Report

from .conftest import GOALS, T0, scenario, write_sqlite


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return load_report(write_sqlite(tmp_path / "events.db", scenario()), GOALS, since=T0)


def test_tables_in_order(report: Report) -> None:
    titles = [t.title for t in terminal.tables(report)]
    assert titles == [
        "Summary",
        "Goals",
        "Funnel buy (within 1d)",
        "Which micro conversions predict a macro one",
        "First touch (UTM)",
        "Last touch (UTM)",
        "Referrer of the first visit",
        "Experiment variants",
        "Time to convert",
    ]


def test_rich_text_shows_the_figures(report: Report) -> None:
    text = render_text(report)
    assert "purchase" in text and "75.00%" in text  # viewed_pricing: 3 of 4 visitors
    assert "USD 30.00" in text and "EUR 35.00" in text
    assert "(anonymous)" in text
    # viewed_pricing: 2 of 3 bought, against none of the others.
    assert "∞×" in text
    assert "\x1b[" not in text
    assert "\x1b[" in render_text(report, color=True)


def test_plain_text_without_rich(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal, "_have_rich", lambda: False)
    text = render_text(report)
    assert "Goals\n=====\n" in text
    goals = text.split("Goals\n=====\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header, rule, *rows, note = goals
    assert header.split()[:3] == ["Goal", "Kind", "Stage"]
    assert note.startswith("(rate: of all visitors")
    # Columns line up: every row is as wide as the rule, or narrower (trailing space cut).
    assert all(len(row) <= len(rule) for row in rows)
    assert any(row.startswith("purchase") and "EUR 35.00 · USD 30.00" in row for row in rows)
    out = io.StringIO()
    print_report(report, out)
    assert out.getvalue() == text


def test_print_report_is_wide_enough_when_piped(report: Report) -> None:
    out = io.StringIO()
    print_report(report, out)
    assert max(len(line) for line in out.getvalue().splitlines()) > 80
