"""A spool replays only into the destination it was written for: each spool directory
records its destination's key, and the next tracker matches spools to destinations by
that record, whatever their order in ``backend=``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from convsdk import BackendError, ConfigError, Destination
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import SQLiteBackend
from convsdk.delivery.owner import RECORD
from convsdk.event import Event
from convsdk.spool import Spool

from .conftest import names, open_tracker


class Platform(MemoryBackend):
    """A destination that says which one it is (``destination_key``), down or up."""

    def __init__(self, key: str, *, down: bool = False) -> None:
        super().__init__()
        self.destination_key = key
        self.down = down

    def write(self, events: Sequence[Event]) -> None:
        if self.down:
            raise BackendError("the platform is down", backend=self.destination_key)
        super().write(events)


def rows(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return sorted(name for (name,) in conn.execute("SELECT name FROM convsdk_events"))


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


def broken_databases(tmp_path: Path) -> tuple[Path, Path]:
    """Two database paths SQLite cannot open (directories there): every write fails,
    retryably, until the test removes them."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    a.mkdir()
    b.mkdir()
    return a, b


def test_reordered_urls_each_replay_their_own_spool_once(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    a, b = broken_databases(tmp_path)
    dest_a = Destination(f"sqlite:///{a}", forward="macro")  # purchases only
    dest_b = Destination(f"sqlite:///{b}", forward="micro")  # signups only
    first = open_tracker([dest_a, dest_b], spool)
    first.track("purchase", kind="macro")
    first.track("signup", kind="micro")
    assert not first.close()  # both down: each one's event waits in its own spool
    assert segments(spool) and segments(spool / "destinations" / dest_b.spool_name())
    assert (spool / RECORD).read_text().strip() == dest_a.spool_name()

    a.rmdir()
    b.rmdir()  # both fixed; the next process lists them the other way round
    again_a = Destination(f"sqlite:///{a}", forward="macro")
    again_b = Destination(f"sqlite:///{b}", forward="micro")
    again = open_tracker([again_b, again_a], spool)
    assert again.flush(timeout=30)
    stats = again.stats()
    assert again.close()
    assert rows(a) == ["purchase"]  # a's spool into a, once
    assert rows(b) == ["signup"]  # b's into b, once
    assert stats["replayed"] == 2 and stats["orphaned_spool_bytes"] == 0
    assert segments(spool) == [] and segments(spool / "destinations" / dest_b.spool_name()) == []
    # The next run in the new order replays nothing twice.
    last = open_tracker([f"sqlite:///{b}", f"sqlite:///{a}"], spool)
    assert last.flush(timeout=30) and last.close()
    assert rows(a) == ["purchase"] and rows(b) == ["signup"]


@pytest.mark.parametrize("place", [0, 1], ids=["first", "second"])
def test_the_spool_of_a_dropped_destination_waits_and_goes_nowhere_else(
    tmp_path: Path, place: int, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    store, gone = Platform("the-store"), Platform("gone", down=True)
    backends: list[object] = [gone, store] if place == 0 else [store, gone]
    first = open_tracker(backends, spool)
    first.track("purchase", kind="macro")
    assert not first.close()
    assert names(store) == ["purchase"]
    waiting = spool if place == 0 else spool / "destinations" / "gone"
    held = sum(path.stat().st_size for path in segments(waiting))
    assert held > 0

    store_again, newcomer = Platform("the-store"), Platform("newcomer")
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        again = open_tracker([store_again, newcomer], spool)
    assert again.flush(timeout=30)
    stats = again.stats()
    assert again.close()
    assert names(store_again) == [] and names(newcomer) == []  # replayed into nobody
    assert stats["replayed"] == 0 and stats["orphaned_spool_bytes"] == held
    assert sum(path.stat().st_size for path in segments(waiting)) == held  # still on disk
    [warning] = [r.getMessage() for r in caplog.records if "not replayed" in r.getMessage()]
    assert str(waiting) in warning and f"{held} bytes" in warning and "gone" in warning

    back = Platform("gone")  # configured again: its spool is delivered to it
    last = open_tracker([Platform("the-store"), back], spool)
    assert last.flush(timeout=30) and last.close()
    assert names(back) == ["purchase"] and segments(waiting) == []


def test_a_spool_without_a_record_replays_into_the_first_destination(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    older = Spool(spool)  # as a version before records wrote it: no record
    older.append([Event("legacy", kind="macro").to_json() + b"\n"])
    older.close()
    assert not (spool / RECORD).exists()

    first, second = MemoryBackend(), Platform("second")
    tracker = open_tracker([first, second], spool)
    assert tracker.flush(timeout=30) and tracker.close()
    assert names(first) == ["legacy"] and names(second) == []
    assert (spool / RECORD).read_text().strip() == "memorybackend"  # the first's, from now on


def test_two_keyed_objects_of_one_class_keep_their_spools_when_reordered(
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    meta, ga4 = Platform("meta-shop", down=True), Platform("ga4-shop", down=True)
    first = open_tracker(
        [Destination(meta, forward="macro"), Destination(ga4, forward="micro")], spool
    )
    first.track("purchase", kind="macro")
    first.track("signup", kind="micro")
    assert not first.close()

    meta_again, ga4_again = Platform("meta-shop"), Platform("ga4-shop")
    again = open_tracker(
        [Destination(ga4_again, forward="micro"), Destination(meta_again, forward="macro")], spool
    )
    assert again.flush(timeout=30) and again.close()
    assert names(meta_again) == ["purchase"] and names(ga4_again) == ["signup"]


def test_a_backend_object_replays_the_spool_of_its_url(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    db = tmp_path / "events.db"
    db.mkdir()  # down
    url = f"sqlite:///{db}"
    first = open_tracker([MemoryBackend(), url], spool)
    first.track("purchase", kind="macro")
    assert not first.close()

    db.rmdir()
    store = SQLiteBackend(db)  # the same database, built as an object
    assert store.destination_key == Destination(url).spool_name()
    again = open_tracker([store, MemoryBackend()], spool)
    assert again.flush(timeout=30) and again.close()
    assert rows(db) == ["purchase"]


def test_objects_of_one_class_without_keys_are_told_apart_by_order_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        open_tracker([MemoryBackend(), MemoryBackend()], tmp_path / "spool").close()
    [warning] = [r.getMessage() for r in caplog.records if "share the spool key" in r.getMessage()]
    assert "memorybackend" in warning and "order" in warning and "destination_key" in warning


def test_the_record_names_a_url_destination_without_its_secrets(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    db = tmp_path / "events.db"
    db.mkdir()
    url = f"sqlite:///{db}?timeout=1"
    first = open_tracker([MemoryBackend(), Destination(url)], spool)
    first.track("purchase", kind="macro")
    assert not first.close()
    [own] = (spool / "destinations").iterdir()
    assert (own / RECORD).read_text() == f"{Destination(url).spool_name()}\n"
    assert own.name == Destination(url).spool_name()


@pytest.mark.parametrize("key", ["", 42])
def test_a_bad_destination_key_is_a_config_error(tmp_path: Path, key: object) -> None:
    with pytest.raises(ConfigError) as info:
        open_tracker([MemoryBackend(), Platform(key)], tmp_path / "spool")  # type: ignore[arg-type]
    assert info.value.field == "destination_key"


def test_a_key_that_is_not_a_plain_name_is_digested() -> None:
    spool = Destination(Platform("kafka://broker:9092/orders")).spool_name()
    assert spool.startswith("platform-") and "/" not in spool and "kafka" not in spool
    assert Destination(Platform("kafka-orders")).spool_name() == "kafka-orders"


def test_a_spool_without_a_record_is_not_given_to_a_first_destination_with_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "spool"
    own = spool / "destinations" / "second"
    older = Spool(own, owner="second")
    older.append([Event("its_own", kind="macro").to_json() + b"\n"])
    older.close()
    legacy = Spool(spool)  # another destination's, from before records
    legacy.append([Event("someone_elses", kind="macro").to_json() + b"\n"])
    legacy.close()

    second = Platform("second")  # now listed first
    with caplog.at_level(logging.WARNING, logger="convsdk"):
        tracker = open_tracker([second, Platform("third")], spool)
    assert tracker.flush(timeout=30) and tracker.close()
    assert names(second) == ["its_own"]
    assert segments(spool)  # left where it was, and said so
    assert any("version before records" in r.getMessage() for r in caplog.records)
