"""The values a log's visitors share, kept once by the streaming reader."""

from __future__ import annotations

import pytest

from convsdk.report.jsonl import shared
from convsdk.report.jsonl.shared import Shared


def _copy(text: str) -> str:
    """An equal text that is another object."""
    return "".join(list(text))


def test_equal_texts_and_parameters_become_one_object_of_their_own_type() -> None:
    kept = Shared()
    agent = "Mozilla/5.0 (X11; Linux x86_64)"
    assert kept.text(agent) is agent
    assert kept.text(_copy(agent)) is agent
    utm = {"source": "google", "medium": "cpc"}
    assert kept.utm(dict(utm)) is kept.utm(dict(utm))
    # Equal in Python, not alike: never taken for each other.
    assert kept.text(1) == 1 and kept.utm({"source": True}) == {"source": True}
    odd = {"source": 1}
    assert kept.utm(odd) is odd and kept.utm({"source": 1}) is not odd
    first = kept.arrival(utm, "https://www.google.com/", agent)
    assert kept.arrival(dict(utm), _copy("https://www.google.com/"), agent) is first
    assert kept.arrival(None, 1, agent) == (None, 1, agent)


def test_no_more_than_the_bound_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "MAX_SHARED", 2)
    kept = Shared()
    kept.text("a")
    kept.text("b")
    late = _copy("late")
    assert kept.text(late) is late
    assert kept.text(_copy("late")) is not late  # the bound was reached: not kept
    assert kept.text(_copy("a")) == "a"
    assert len(kept.kept) == 2
