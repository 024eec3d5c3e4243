"""Each destination has its own queue, retries, spool and counters: a failing or hung
one neither delays nor loses another's events, and what it missed is replayed into it
alone by the next tracker on the same spool directory."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import convsdk
from convsdk import Destination, Tracker
from convsdk.backends.memory import MemoryBackend

from .conftest import Failing, Filling, Hanging, names, open_tracker


def rows(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return sorted(name for (name,) in conn.execute("SELECT name FROM convsdk_events"))


def test_a_failing_and_a_hung_destination_cost_the_others_nothing(
    tmp_path: Path, released: threading.Event
) -> None:
    a, b = Filling(20), Filling(20)
    failing, hanging = Failing(), Hanging(released)
    spool = tmp_path / "spool"
    tracker = open_tracker([a, b, failing, hanging], spool, shutdown_timeout=0.5)
    sent = [f"event_{i}" for i in range(20)]
    for name in sent:
        assert tracker.track(name, kind="micro") is not None

    assert not tracker.flush(timeout=0.5)  # the hung one never answers: False, on time
    assert a.full.wait(30) and b.full.wait(30)  # ...the stores get everything meanwhile
    assert names(a) == names(b) == sent

    assert not tracker.close()  # what the others could not deliver goes to their spools
    stats = tracker.stats()
    each = stats["destinations"]
    assert each["Filling"]["delivered"] == each["Filling#2"]["delivered"] == 20
    assert each["Failing"]["delivered"] == 0 and each["Failing"]["spooled"] == 20
    assert each["Hanging"]["delivered"] == 0 and each["Hanging"]["spooled"] >= 20
    assert stats["delivered"] == 40  # the totals sum the destinations
    assert failing.events == [] and hanging.events == []
    released.set()

    # The next process: the same destinations, now up, on the same spool directory.
    a_again, b_again = MemoryBackend(), MemoryBackend()
    failing_again, hanging_again = Failing(down=False), Hanging(released)
    again = open_tracker([a_again, b_again, failing_again, Destination(hanging_again)], spool)
    assert again.flush(timeout=30)
    assert names(failing_again) == sent  # from its own spool, into it alone
    assert sorted(names(hanging_again)) == sorted(sent)
    assert a_again.events == [] and b_again.events == []
    assert again.stats()["destinations"]["Failing"]["replayed"] == 20
    assert again.close()


def test_a_failing_url_spools_apart_and_replays_into_that_url(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    broken = tmp_path / "b.db"
    broken.mkdir()  # SQLite cannot open it: every write fails (retryable)
    urls = [f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{broken}"]
    tracker = open_tracker(urls, spool)  # type: ignore[arg-type]
    tracker.track("purchase", kind="macro")
    assert not tracker.close()
    assert tracker.stats()["destinations"][urls[1]]["spooled"] == 1
    assert rows(tmp_path / "a.db") == ["purchase"]
    [own] = (spool / "destinations").iterdir()
    assert own.name == Destination(urls[1]).spool_name() and any(own.glob("*.jsonl"))

    broken.rmdir()  # fixed before the next process
    again = open_tracker(urls, spool)  # type: ignore[arg-type]
    assert again.flush(timeout=30)
    assert again.close()
    assert rows(broken) == ["purchase"] and rows(tmp_path / "a.db") == ["purchase"]


def test_the_hung_destination_is_spooled_by_class_and_replayed_there(
    tmp_path: Path, released: threading.Event
) -> None:
    spool = tmp_path / "spool"
    store, hanging = Filling(1), Hanging(released)
    tracker = open_tracker([store, hanging], spool, shutdown_timeout=0.5)
    tracker.track("signup", kind="macro")
    assert store.full.wait(30)
    assert not tracker.close()
    released.set()
    later = Hanging(released)  # the same destination in the next process
    again = open_tracker([MemoryBackend(), later], spool)
    assert again.flush(timeout=30)
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
    assert again.flush(timeout=30)
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
