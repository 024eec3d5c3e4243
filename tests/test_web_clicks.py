"""Click ids in landing URLs and the platforms' cookies, read as the platforms write them."""

from __future__ import annotations

import pytest

from convsdk.web.clicks import clicks_in_query, ga_client_id, maybe_click, platform_cookie


@pytest.mark.parametrize("name", ["gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid"])
def test_every_click_id_is_read(name: str) -> None:
    query = f"utm_source=ads&{name}=Ab-1_2.x"
    assert maybe_click(query)
    assert clicks_in_query(query, 1700000000000) == [
        {"name": name, "id": "Ab-1_2.x", "at": 1700000000000}
    ]


def test_a_url_tagged_by_two_platforms_gives_both_clicks_in_its_order() -> None:
    query = "fbclid=IwAR2&utm_source=x&gclid=Cj0K&gclid=again"
    assert [(c["name"], c["id"]) for c in clicks_in_query(query, 1)] == [
        ("fbclid", "IwAR2"),
        ("gclid", "Cj0K"),
    ]


def test_queries_without_click_ids_are_not_parsed() -> None:
    assert not maybe_click("utm_source=google&page=2")
    assert clicks_in_query("gclid=%3Cscript%3E", 1) == []  # no platform's id shape
    assert clicks_in_query("gclid=" + "a" * 300, 1) == []


def test_ga_and_meta_cookies() -> None:
    assert ga_client_id("GA1.1.1234567890.1700000000") == "1234567890.1700000000"
    assert ga_client_id("GA1.2.987.654") == "987.654"
    assert ga_client_id("garbage") is None
    assert platform_cookie("fb.1.1596403881668.1116446470") == "fb.1.1596403881668.1116446470"
    assert platform_cookie("fb.1.x.<script>") is None
