"""Configuring several destinations: ``CONVSDK_BACKEND`` lists, names without secrets,
spool directories, and a :class:`~convsdk.ConfigError` naming the option at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from convsdk import ConfigError, Destination, Tracker
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import SQLiteBackend

from .conftest import Forwarder


def test_convsdk_backend_lists_several(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (tmp_path / f"{n}.db" for n in "abc")
    monkeypatch.setenv(
        "CONVSDK_BACKEND", f"sqlite:///{a}, sqlite:///{b}?forward=purchase,signup  sqlite:///{c}"
    )
    with Tracker(spool_dir=None) as tracker:
        assert [type(b) for b in tracker.backends] == [SQLiteBackend] * 3
        assert [backend.path for backend in tracker.backends] == [str(a), str(b), str(c)]  # type: ignore[attr-defined]
        tracker.track("purchase", kind="macro")
        tracker.track("pricing", kind="micro")
        assert tracker.flush(timeout=5)
        counts = {name: d["delivered"] for name, d in tracker.stats()["destinations"].items()}
    assert counts == {f"sqlite:///{a}": 2, f"sqlite:///{b}": 1, f"sqlite:///{c}": 2}


def test_one_url_in_convsdk_backend_is_one_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVSDK_BACKEND", f" sqlite:///{tmp_path}/a.db ")
    with Tracker(spool_dir=None) as tracker:
        assert len(tracker.backends) == 1 and isinstance(tracker.backend, SQLiteBackend)


def test_names_and_spool_directories_never_hold_secrets() -> None:
    dest = Destination("ga4://G-XXXX/collect?api_secret=s3cret&write_key=wk&token=t&debug=1")
    assert dest.name() == "ga4://G-XXXX/collect?api_secret=***&write_key=***&token=***&debug=1"
    assert Destination("segment://WRITEKEY1?forward=all").name() == "segment://***"  # a key
    spool = dest.spool_name()
    assert spool.startswith("ga4-") and "s3cret" not in spool and "G-XXXX" not in spool
    # Stable: derived from the scheme, host and path, not from the query (secrets rotate).
    assert Destination("ga4://G-XXXX/collect?api_secret=other").spool_name() == spool
    assert Destination("ga4://G-YYYY/collect?api_secret=s3cret").spool_name() != spool
    assert (
        Destination("meta://user:pw@PIXEL").spool_name() == Destination("meta://PIXEL").spool_name()
    )


def test_each_destination_after_the_first_spools_in_its_own_directory(tmp_path: Path) -> None:
    from convsdk.fanout.entries import entries
    from convsdk.fanout.spools import match

    spool = str(tmp_path)
    found = entries([f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db", MemoryBackend()])
    dirs, orphaned = match(found, spool)
    assert dirs[0] == spool
    assert dirs[1] == str(
        tmp_path / "destinations" / Destination(f"sqlite:///{tmp_path}/b.db").spool_name()
    )
    assert dirs[2] == str(tmp_path / "destinations" / "memorybackend")
    assert orphaned == {}


@pytest.mark.parametrize(
    ("backend", "field", "words"),
    [
        ([], "backend", "empty"),
        ((), "backend", "empty"),
        ([MemoryBackend(), 42], "backend", "42"),
        (["memory://", "memory://"], "backend", "twice"),
    ],
)
def test_a_bad_list_is_a_config_error(backend: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Tracker(backend=backend, spool_dir=None)
    assert caught.value.field == field and words in str(caught.value)


def test_the_same_backend_object_twice_is_a_config_error() -> None:
    store = MemoryBackend()
    with pytest.raises(ConfigError, match="twice"):
        Tracker(backend=[store, Destination(store, forward="macro")], spool_dir=None)


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"foward": "macro"}, "foward", "did you mean forward?"),
        ({"sample_pageviews": 0.5}, "sample_pageviews", "did you mean sample_page_views?"),
        ({"forward": "macros"}, "forward", "did you mean macro?"),
        ({"forward": "purchase,Micro"}, "forward", "did you mean micro?"),
        ({"forward": ""}, "forward", "names nothing"),
        ({"forward": ["macro", 3]}, "forward", "goal names"),
        ({"sample_page_views": 1.5}, "sample_page_views", "from 0 to 1"),
        ({"sample_page_views": -0.1}, "sample_page_views", "from 0 to 1"),
        ({"sample_page_views": True}, "sample_page_views", "from 0 to 1"),
        ({"before_send": "drop"}, "before_send", "callable"),
    ],
)
def test_a_bad_destination_option_is_a_config_error(
    options: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Destination(MemoryBackend(), **options)
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sample_page_views=2", "sample_page_views"),
        ("sample_page_views=half", "sample_page_views"),
        ("forward=macros", "forward"),
    ],
)
def test_bad_options_in_a_url_are_config_errors(tmp_path: Path, query: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Tracker(backend=["memory://", f"sqlite:///{tmp_path}/a.db?{query}"], spool_dir=None)
    assert caught.value.field == field


def test_a_goal_name_is_not_mistaken_for_a_kind() -> None:
    for goal in ("mail", "email", "micro_survey", "all_features_tour", "macro_economics"):
        assert Destination(MemoryBackend(), forward=goal).forward == (goal,)


def test_an_unknown_option_in_a_url_is_the_backends_to_refuse(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Tracker(backend=["memory://", f"sqlite:///{tmp_path}/a.db?foward=macro"], spool_dir=None)
    assert caught.value.field == "foward"


def test_a_bad_entry_after_a_good_one_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Tracker(backend=[f"sqlite:///{tmp_path}/a.db", "nosuchscheme://x"], spool_dir=None)


def test_a_backend_with_default_forward_is_a_forwarding_destination() -> None:
    forwarder = Forwarder()
    route = Destination(forwarder).route(forwarder)
    assert route is not None and route.private and route.kinds == {"macro"}
    assert Destination(MemoryBackend()).route(MemoryBackend()) is None  # a store: everything
