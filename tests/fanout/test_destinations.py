"""Each destination has its own queue, retries, spool and counters: a failing or hung
one neither delays nor loses another's events, and what it missed is replayed into it
alone by the next tracker on the same spool directory."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import convsdk
from convsdk import Destination, Tracker
from convsdk.backends.memory import MemoryBackend

from .conftest import Failing, Hanging, names


def rows(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(name for (name,) in conn.execute("SELECT name FROM convsdk_events"))


def open_tracker(backends: list[object], spool: Path) -> Tracker:
    return Tracker(
        backend=backends,  # type: ignore[arg-type]
        spool_dir=spool,
        flush_interval=0.05,
        max_retries=1,
        retry_timeout=0.2,
        shutdown_timeout=1.0,
    )


def test_a_failing_and_a_hung_destination_cost_the_others_nothing(
    tmp_path: Path, released: threading.Event
) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    failing, hanging = Failing(), Hanging(released)
    spool = tmp_path / "spool"
    tracker = open_tracker([f"sqlite:///{a}", f"sqlite:///{b}", failing, hanging], spool)
    sent = [f"event_{i}" for i in range(20)]
    for name in sent:
        assert tracker.track(name, kind="micro") is not None

    assert not tracker.flush(timeout=1.0)  # the hung one never answers: False, on time
    assert rows(a) == rows(b) == sorted(sent)  # ...and the stores have everything
    stats = tracker.stats()["destinations"]
    assert stats[f"sqlite:///{a}"]["delivered"] == stats[f"sqlite:///{b}"]["delivered"] == 20
    assert stats["Failing"]["delivered"] == 0 and stats["Failing"]["spooled"] == 20
    assert stats["Hanging"]["delivered"] == 0
    assert tracker.stats()["delivered"] == 40  # the totals sum the destinations

    assert not tracker.close()  # the hung one's events go to its spool
    assert failing.events == [] and hanging.events == []
    released.set()

    # The next process: the same destinations, now up, on the same spool directory.
    failing_again, hanging_again = Failing(down=False), Hanging(released)
    again = open_tracker(
        [f"sqlite:///{a}", f"sqlite:///{b}", failing_again, Destination(hanging_again)],
        spool,
    )
    assert again.flush(timeout=10)
    assert sorted(names(failing_again)) == sorted(sent)  # its own spool, into it alone
    assert sorted(names(hanging_again)) == sorted(sent)
    assert rows(a) == rows(b) == sorted(sent)
    assert again.stats()["destinations"]["Failing"]["replayed"] == 20
    assert again.stats()["destinations"][f"sqlite:///{a}"]["replayed"] == 0
    assert again.close()


def test_the_hung_destination_is_spooled_by_class_and_replayed_there(
    tmp_path: Path, released: threading.Event
) -> None:
    spool = tmp_path / "spool"
    store, hanging = MemoryBackend(), Hanging(released)
    tracker = open_tracker([store, hanging], spool)
    tracker.track("signup", kind="macro")
    assert not tracker.close()
    assert names(store) == ["signup"]
    released.set()
    later = Hanging(released)  # the same destination in the next process
    again = open_tracker([MemoryBackend(), later], spool)
    assert again.flush(timeout=10)
    assert names(later) == ["signup"]
    assert again.close()


def test_the_first_destination_keeps_the_spool_directory_of_a_single_backend(
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    single = open_tracker([Failing()], spool)  # a list of one: the same as backend=Failing()
    single.track("purchase", kind="macro")
    assert not single.close()
    assert any(spool.glob("*.jsonl"))  # today's layout: segments in spool_dir itself
    assert not (spool / "destinations").exists()

    first, second = Failing(down=False), MemoryBackend()
    again = open_tracker([first, second], spool)
    assert again.flush(timeout=10)
    assert names(first) == ["purchase"] and names(second) == []
    assert again.close()


def test_one_url_runs_as_before(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with Tracker(backend=f"sqlite:///{db}", spool_dir=tmp_path / "spool") as tracker:
        assert tracker.backends == (tracker.backend,)
        tracker.track("signup", kind="micro")
        assert tracker.flush(timeout=5)
        stats = tracker.stats()
        assert list(stats["destinations"]) == [f"sqlite:///{db}"]
        own = stats["destinations"][f"sqlite:///{db}"]
        assert own["delivered"] == stats["delivered"] == 1
        assert (own["filtered"], own["sampled"], own["hook_dropped"]) == (0, 0, 0)


def test_backends_lists_them_all_in_order(tmp_path: Path) -> None:
    one, two = MemoryBackend(), MemoryBackend()
    with Tracker(backend=[one, Destination(two)], spool_dir=None) as tracker:
        assert tracker.backend is one
        assert tracker.backends == (one, two)
        assert list(tracker.stats()["destinations"]) == ["MemoryBackend", "MemoryBackend#2"]


def test_durable_mode_logs_each_destination_apart(tmp_path: Path) -> None:
    one, two = MemoryBackend(), MemoryBackend()
    spool = tmp_path / "spool"
    with Tracker(backend=[one, two], spool_dir=spool, durable=True, flush_interval=0.05) as t:
        t.track("signup", kind="micro")
        assert t.flush(timeout=5)
    assert names(one) == names(two) == ["signup"]


def test_the_default_tracker_fans_out_too(tmp_path: Path) -> None:
    one, two = MemoryBackend(), MemoryBackend()
    convsdk.init(backend=[one, two], spool_dir=None)
    try:
        convsdk.track("signup", kind="micro")
        assert convsdk.flush(timeout=5)
    finally:
        convsdk.close()
    assert names(one) == names(two) == ["signup"]
