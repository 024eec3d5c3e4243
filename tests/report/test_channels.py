"""The first arrival's source / medium and its GA4 default channel group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError
from convsdk.report import load_report
from convsdk.report.channels import DEFAULT_CHANNEL_RULES, arrival, channel

from .conftest import GOALS, T0, make, write_jsonl, write_sqlite

SITE = "https://shop.example/"


@pytest.mark.parametrize(
    ("utm", "referrer", "url", "expected", "group"),
    [
        ({}, None, SITE, ("(direct)", "(none)", None), "Direct"),
        ({}, "https://shop.example/blog", SITE, ("(direct)", "(none)", None), "Direct"),
        ({}, "https://www.google.co.uk/", SITE, ("google", "organic", None), "Organic Search"),
        ({}, "https://duckduckgo.com/", SITE, ("duckduckgo", "organic", None), "Organic Search"),
        ({}, None, SITE + "?gclid=Cj0", ("google", "cpc", None), "Paid Search"),
        ({}, None, SITE + "?msclkid=9", ("bing", "cpc", None), "Paid Search"),
        ({}, None, SITE + "?fbclid=IwA", ("facebook", "paid_social", None), "Paid Social"),
        ({}, "https://l.instagram.com/", SITE, ("l.instagram", "referral", None), "Organic Social"),
        (
            {},
            "https://news.ycombinator.com/",
            SITE,
            ("news.ycombinator.com", "referral", None),
            "Referral",
        ),
        (
            {"source": "Newsletter", "medium": "Email", "campaign": "weekly"},
            None,
            SITE,
            ("newsletter", "email", "weekly"),
            "Email",
        ),
        (
            {"source": "facebook", "medium": "cpc"},
            None,
            SITE + "?gclid=x",
            ("facebook", "cpc", None),
            "Paid Social",
        ),
        (
            {"source": "partner", "medium": "affiliate"},
            None,
            SITE,
            ("partner", "affiliate", None),
            "Affiliates",
        ),
        (
            {"source": "criteo", "medium": "display"},
            None,
            SITE,
            ("criteo", "display", None),
            "Display",
        ),
        (
            {"source": "adnet", "medium": "cpc", "campaign": "spring cross-network"},
            None,
            SITE,
            ("adnet", "cpc", "spring cross-network"),
            "Cross-network",
        ),
        ({"source": "mystery"}, None, SITE, ("mystery", "(not set)", None), "Unassigned"),
    ],
)
def test_arrival_and_channel_by_hand(
    utm: dict[str, str], referrer: str | None, url: str, expected: tuple[Any, ...], group: str
) -> None:
    assert arrival(utm, referrer, url) == expected
    assert channel(*expected) == group


def test_rules_are_data_a_site_can_replace() -> None:
    mine = [{"channel": "Partners", "source_in": ["acme", "globex"]}, *DEFAULT_CHANNEL_RULES]
    assert channel("acme", "referral", None, mine) == "Partners"
    assert channel("acme", "referral", None) == "Referral"


def _rows(data: dict[str, Any], key: str) -> dict[str, tuple[int, int]]:
    return {r["value"]: (r["visitors"], r["converters"]) for r in data["breakdowns"][key]}


def test_every_store_groups_first_arrivals_alike(
    tmp_path: Path, engine: str, postgres_table: tuple[str, Any]
) -> None:
    buy = {"path": "/checkout", "kind": "macro", "goal": "purchase", "value": 5.0}
    events = [
        make("page_view", 0, "ada", referrer="https://www.google.com/search?q=x"),
        make("checkout", 30, "ada", **buy),
        make("page_view", 0, "ben", path="/?gclid=abc"),
        make("page_view", 3600, "ben", utm={"source": "newsletter", "medium": "email"}),
        make("page_view", 0, "cy", utm={"source": "newsletter", "medium": "email"}),
        make("checkout", 10, "cy", **buy),
        make("page_view", 0, "dee"),
    ]
    # make() puts the path in the URL: ben's landing URL carries the click id.
    url, write = postgres_table
    write(events)
    figures = []
    for source in (
        write_sqlite(tmp_path / "e.db", events),
        write_jsonl(tmp_path / "e.jsonl", events),
        url,
    ):
        data = json.loads(load_report(source, GOALS, since=T0, engine=engine).to_json())
        figures.append((_rows(data, "channel"), _rows(data, "source_medium")))
    assert figures[0] == figures[1] == figures[2]
    channels, source_medium = figures[0]
    assert channels == {
        "Organic Search": (1, 1),
        "Paid Search": (1, 0),  # ben's later newsletter visit is not his first arrival
        "Email": (1, 1),
        "Direct": (1, 0),
    }
    assert source_medium["google / organic"] == (1, 1)
    assert source_medium["google / cpc"] == (1, 0)


def test_a_rules_file_of_the_sites_own_comes_before_the_defaults(tmp_path: Path) -> None:
    rules = tmp_path / "channels.toml"
    rules.write_text('[[channel]]\nchannel = "Partners"\nsource_in = ["acme"]\n', "utf-8")
    events = [
        make("page_view", 0, "ada", utm={"source": "acme", "medium": "referral"}),
        make("page_view", 0, "ben", referrer="https://www.google.com/"),
    ]
    source = write_sqlite(tmp_path / "e.db", events)
    data = json.loads(load_report(source, GOALS, since=T0, channels=rules).to_json())
    assert _rows(data, "channel") == {"Partners": (1, 0), "Organic Search": (1, 0)}
    rules.write_text('[[channel]]\nchannel = "X"\nsorce_in = ["a"]\n', "utf-8")
    with pytest.raises(ConfigError, match="did you mean source_in"):
        load_report(source, GOALS, channels=rules)
