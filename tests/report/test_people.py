"""Visitors linked by user ids become one person: the merge every reader shares."""

from __future__ import annotations

from convsdk.report.dataset import Dataset, GoalHits, VisitorSummary
from convsdk.report.people import (
    groups,
    merge_people,
    merge_summaries,
    merged_counts,
    person_macro_times,
)


def test_a_visitor_linked_to_two_users_joins_them() -> None:
    links = [("v1", "u1"), ("v2", "u1"), ("v2", "u2"), ("v3", "u2"), ("v4", "u4")]
    assert groups(links) == [["v1", "v2", "v3"]]
    assert merged_counts(links) == (3, 1)


def test_summaries_merge_earliest_first_goals_added() -> None:
    phone = VisitorSummary(
        first_seen=100,
        device="mobile",
        landing_page="/ad",
        first_touch=("facebook", "cpc", "spring"),
        variant="B",
        exposed=100,
        touchpoints=[(100, ("facebook", "cpc", "spring"))],
        goals={"pricing": GoalHits(count=1, first=110, last=110, times=[110])},
    )
    laptop = VisitorSummary(
        first_seen=500,
        device="desktop",
        last_touch=("google", "cpc", "brand"),
        variant="A",
        exposed=500,
        touchpoints=[(90, ("google", "cpc", "brand"))],
        goals={
            "pricing": GoalHits(count=2, first=90, last=600, times=[90, 600]),
            "purchase": GoalHits(count=1, first=700, last=700, revenue={"USD": 9.0}),
        },
    )
    alone = VisitorSummary(first_seen=50)
    dataset = Dataset(visitors=[])
    merge_people(
        dataset,
        {"laptop": laptop, "solo": alone, "phone": phone},
        [("phone", "u"), ("laptop", "u")],
    )
    assert dataset.links == [("laptop", "u"), ("phone", "u")]
    person, solo = dataset.visitors
    assert solo is alone
    assert (person.first_seen, person.device, person.landing_page) == (100, "mobile", "/ad")
    assert person.first_touch == ("facebook", "cpc", "spring")
    assert person.last_touch == ("google", "cpc", "brand")
    assert (person.variant, person.exposed) == ("B", 100)
    assert [t for t, _ in person.touchpoints or []] == [90, 100]
    pricing = person.goals["pricing"]
    assert (pricing.count, pricing.first, pricing.last, pricing.times) == (
        3,
        90,
        600,
        [90, 110, 600],
    )
    assert person.goals["purchase"].revenue == {"USD": 9.0}
    assert laptop.goals["pricing"].count == 2  # the visitors' own summaries are untouched


def test_links_of_visitors_left_out_are_dropped() -> None:
    dataset = Dataset(visitors=[])
    merge_people(dataset, {"v1": VisitorSummary(first_seen=1)}, [("v1", "u"), ("bot", "u")])
    assert dataset.links == [("v1", "u")]
    assert merged_counts(dataset.links) == (0, 0)


def test_every_visitor_id_of_a_person_counts_touches_up_to_their_first_purchase() -> None:
    # frank bought on his laptop at 500, and on his tablet at 300; his phone never did.
    # vic, alone, keeps his own time; the bot's link joins nobody.
    macro = [("laptop", 500), ("tablet", 300), ("vic", 40), ("bot", 10)]
    links = [("phone", "u-frank"), ("laptop", "u-frank"), ("tablet", 7), ("bot", "u-frank")]
    links += [("laptop", 7), ("other", "u-other")]
    kept = {"phone", "laptop", "tablet", "vic", "other"}
    limits = person_macro_times(macro, links, kept)
    assert limits == {"phone": 300, "laptop": 300, "tablet": 300, "vic": 40, "bot": 10}


def test_a_persons_touches_are_the_earliest_and_latest_of_their_devices() -> None:
    # The laptop came first but was tagged last; the phone's tags fall in between.
    laptop = VisitorSummary(
        first_seen=100,
        first_touch=("bing", "cpc", "b"),
        last_touch=("bing", "cpc", "b"),
        touch_times=(700, 700),
    )
    phone = VisitorSummary(
        first_seen=200,
        first_touch=("facebook", "cpc", "a"),
        last_touch=("newsletter", "email", "c"),
        touch_times=(300, 400),
    )
    person = merge_summaries([("laptop", laptop), ("phone", phone)])
    assert (person.first_touch, person.last_touch) == (
        ("facebook", "cpc", "a"),
        ("bing", "cpc", "b"),
    )
    assert person.touch_times == (300, 700)
