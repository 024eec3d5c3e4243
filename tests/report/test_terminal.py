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
        "First arrival",
        "Attribution of macro conversions by channel",
        "First UTM-tagged visit",
        "Last UTM-tagged visit before buying",
        "Referrer of the first visit",
        "Experiment variants",
        "Time to convert",
    ]


def test_rich_text_shows_the_figures(report: Report) -> None:
    text = render_text(report)
    assert "purchase" in text and "75.00%" in text  # viewed_pricing: 3 of 4 visitors
    assert "USD 30.00" in text and "EUR 35.00" in text
    assert "(no visitor)" in text
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


HOSTILE = {
    "source": "evil\x1b[2J\x1b[H\x1b[31mred\u009b2J\x7f\x00\x08",
    "medium": "\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07",
    "campaign": "[bold magenta]styled[/bold magenta]",
}


@pytest.fixture
def hostile(tmp_path: Path) -> Report:
    from .conftest import make

    events = [
        *scenario(),
        make(
            "page_view",
            10,
            "mallory",
            utm=HOSTILE,
            variant="line\nbreak[blink]",
            referrer="https://ref.example/",
        ),
    ]
    return load_report(write_sqlite(tmp_path / "events.db", events), GOALS, since=T0)


@pytest.mark.parametrize("rich", [True, False])
def test_visitor_strings_cannot_drive_the_terminal(
    hostile: Report, rich: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not rich:
        monkeypatch.setattr(terminal, "_have_rich", lambda: False)
    text = render_text(hostile, width=200)
    for raw in ("\x1b", "\x07", "\x7f", "\x00", "\x08", "\u009b"):
        assert raw not in text
    assert "evilred" in text  # the text around the escapes stays readable
    assert "click me" in text and "evil.example" not in text
    assert "line break" in text  # a visitor's newline does not start a row
    if rich:
        # Rich markup in a stored value is shown as typed, never applied.
        assert "[bold magenta]styled[/bold magenta]" in text
        assert "[blink]" in text
        coloured = render_text(hostile, width=200, color=True)
        assert "\x1b[2J" not in coloured and "\x1b]8" not in coloured
        assert "\x1b[35m" not in coloured and "\x1b[1;35m" not in coloured  # no magenta


def test_safe_text() -> None:
    assert terminal.safe_text("plain · text") == "plain · text"
    assert terminal.safe_text("a\x1bPdata\x1b\\b\x9d0;title\x07c\u202eд") == "abcд"
    assert terminal.safe_text("two\nlines\t") == "two\nlines"
