"""Multi-touch attribution, worked out by hand, the same from every store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convsdk.event import Event
from convsdk.report import load_report, render_html, render_text

from .conftest import GOALS, T0, make, write_jsonl, write_sqlite

DAY = 86_400
BUY = {"path": "/checkout", "kind": "macro", "goal": "purchase", "currency": "USD"}


def _events() -> list[Event]:
    """ann: Google search, the newsletter two days on, a Facebook ad on day 5, buys on
    day 6 for USD 60, comes back from a Google ad on day 8 (after buying: no credit);
    her moves within the site are no touches. bo: direct, buys an hour later for 10.
    cy: from a news site, buys 40 days later for 30: outside the 30-day lookback."""
    mail = {"source": "newsletter", "medium": "email", "campaign": "weekly"}
    site = "https://shop.example/pricing"
    return [
        make("page_view", 0, "ann", referrer="https://www.google.com/search?q=beans"),
        make("page_view", 2 * DAY, "ann", utm=mail),
        make("page_view", 5 * DAY, "ann", path="/?fbclid=IwAR"),
        make("page_view", 5 * DAY + 60, "ann", referrer=site),
        make("checkout", 6 * DAY, "ann", value=60.0, referrer=site, **BUY),
        make("page_view", 8 * DAY, "ann", path="/?gclid=x"),
        make("page_view", 0, "bo"),
        make("checkout", 3600, "bo", value=10.0, referrer=site, **BUY),
        make("page_view", 0, "cy", referrer="https://news.ycombinator.com/item"),
        make("checkout", 40 * DAY, "cy", value=30.0, referrer=site, **BUY),
    ]


def _credit(data: dict[str, Any], model: str, dimension: str = "channel") -> dict[str, float]:
    rows = data["attribution"]["models"][model][dimension]
    return {r["value"]: round(r["conversions"], 6) for r in rows}


def test_five_models_by_hand_in_every_store(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    events = _events()
    url, write = postgres_table
    write(events)
    figures = [
        json.loads(load_report(source, GOALS, since=T0, engine=engine).to_json())
        for source in (
            write_sqlite(tmp_path / "e.db", events),
            write_jsonl(tmp_path / "e.jsonl", events),
            url,
        )
    ]
    for data in figures:
        del data["meta"]
    assert figures[0] == figures[1] == figures[2]
    data = figures[0]
    # bo's own landing, and cy's conversion with no touch in the window: direct.
    search, mail, social = "Organic Search", "Email", "Paid Social"
    assert _credit(data, "first") == {"Direct": 2, search: 1}
    assert _credit(data, "last") == {"Direct": 2, social: 1}
    third = round(1 / 3, 6)
    assert _credit(data, "linear") == {"Direct": 2, search: third, mail: third, social: third}
    assert _credit(data, "position") == {"Direct": 2, search: 0.4, mail: 0.2, social: 0.4}
    # Seven-day half-life: touches 6, 4 and 1 days before the purchase.
    weights = [2 ** (-6 / 7), 2 ** (-4 / 7), 2 ** (-1 / 7)]
    shares = [round(w / sum(weights), 6) for w in weights]
    assert _credit(data, "time_decay") == {
        "Direct": 2,
        search: shares[0],
        mail: shares[1],
        social: shares[2],
    }
    revenue = {
        r["value"]: r["revenue"] for r in data["attribution"]["models"]["position"]["channel"]
    }
    assert revenue[social] == {"USD": pytest.approx(24.0)} and revenue["Direct"] == {"USD": 40.0}
    campaigns = _credit(data, "linear", "campaign")
    assert campaigns["weekly"] == third


def test_shown_in_text_and_html(tmp_path: Path) -> None:
    report = load_report(write_sqlite(tmp_path / "e.db", _events()), GOALS, since=T0)
    assert "Attribution of macro conversions by channel" in render_text(report)
    assert 'id="attribution"' in render_html(report)
