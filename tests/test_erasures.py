"""A person erased from the store while their events waited in a tracker's spool or
queue: the trackers leave those events out, and deliver what the person does later."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from convsdk import BackendError, ConfigError, Destination, Event, Tracker
from convsdk.delivery.erasures import ERASED_FILE
from convsdk.report.erasure import forget

BEFORE = datetime.now(UTC) - timedelta(minutes=5)


class Down:
    """The store, down for a tracker's whole run: it spools everything for the next."""

    def __init__(self, destination_key: str) -> None:
        self.destination_key = destination_key

    def write(self, events: Sequence[Event]) -> None:
        raise BackendError("connection refused", backend="down")

    def close(self) -> None:
        pass


def stored(db: Path) -> list[tuple[str, str | None]]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT visitor_id, user_id FROM convsdk_events ORDER BY visitor_id")
        return list(rows)


def store_with(tmp_path: Path, *events: Event) -> tuple[str, Path]:
    """A SQLite store holding ``events`` (by default Hana's login on her phone): its URL
    and file."""
    db = tmp_path / "events.db"
    url = f"sqlite:///{db}"
    with Tracker(backend=url, spool_dir=None) as earlier:
        for event in events or [
            Event("identify", visitor_id="hana-phone", user_id="u-hana", timestamp=BEFORE)
        ]:
            earlier.emit(event)
    return url, db


def hanas_visit() -> list[Event]:
    """Hana's events of a visit: on her phone (the store links it to her), then on a
    laptop where she logs in (the login is waiting too), and Ivan's."""
    return [
        *(Event("page_view", visitor_id="hana-phone", timestamp=BEFORE) for _ in range(3)),
        Event("page_view", visitor_id="hana-laptop", timestamp=BEFORE),
        Event("identify", visitor_id="hana-laptop", user_id="u-hana", timestamp=BEFORE),
        Event(
            "purchase",
            kind="macro",
            goal="purchase",
            value=30.0,
            currency="EUR",
            transaction_id="T-7",
            visitor_id="hana-laptop",
            user_id="u-hana",
            timestamp=BEFORE,
        ),
        Event("page_view", visitor_id="ivan", timestamp=BEFORE),
    ]


def test_events_erased_while_they_waited_in_the_spool_are_not_delivered(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    url, db = store_with(tmp_path)
    down = Tracker(
        backend=Down(Destination(url).spool_name()),
        spool_dir=spool,
        flush_interval=0.02,
        retry_max_delay=0.05,
        max_retries=0,
    )
    for event in hanas_visit():
        down.emit(event)
    assert down.close() is False  # all of it waits in the spool

    done = forget(url, users=["u-hana"], spools=[spool])
    assert done.events == 1  # the store's
    # Her events waiting, the laptop's anonymous page view too (linked by the waiting login).
    assert done.visitors == ("hana-laptop", "hana-phone") and done.waiting == 6
    listed = (spool / ERASED_FILE).read_bytes()
    assert b"hana" not in listed  # digests only: the ids are what was erased
    assert hashlib.sha256(b"hana-laptop").hexdigest().encode() in listed

    with Tracker(backend=url, spool_dir=spool, flush_interval=0.02) as later:
        later.emit(Event("page_view", visitor_id="hana-phone"))  # she comes back
        assert later.flush(timeout=20)
        stats = later.stats()
    assert stored(db) == [("hana-phone", None), ("ivan", None)]
    assert (stats["erased"], stats["replayed"], stats["delivered"]) == (6, 1, 2)
    assert stats["dropped"] == stats["dead_lettered"] == 0


def test_events_erased_while_they_waited_in_the_queue_are_not_delivered(tmp_path: Path) -> None:
    """Events still queued when the erasure comes: those carrying her user id are left
    out. The visitor ids that only these events link to her are unknown to the erasure
    (the store has none of them yet), so their anonymous events are delivered."""
    spool = tmp_path / "spool"
    url, db = store_with(tmp_path, Event("page_view", visitor_id="ivan", timestamp=BEFORE))
    # A batch size and flush interval no test reaches: the events stay queued.
    with Tracker(backend=url, spool_dir=spool, batch_size=1000, flush_interval=3600) as t:
        for event in hanas_visit():
            t.emit(event)
        (spool / "destinations" / "ga4").mkdir(parents=True)  # another destination's spool
        done = forget(url, users=["u-hana"], spools=[spool])
        assert (done.events, done.waiting) == (0, 0)  # nothing stored, nothing spooled yet
        assert (spool / "destinations" / "ga4" / ERASED_FILE).exists()
        assert t.flush(timeout=20)
        stats = t.stats()
    assert stored(db) == [
        ("hana-laptop", None),
        *[("hana-phone", None)] * 3,
        ("ivan", None),
        ("ivan", None),
    ]
    assert (stats["erased"], stats["delivered"], stats["enqueued"]) == (2, 5, 7)


def test_a_dry_run_lists_nobody(tmp_path: Path) -> None:
    url, db = store_with(tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    assert forget(url, users=["u-hana"], spools=[spool], dry_run=True).events == 1
    assert not (spool / ERASED_FILE).exists()


def test_a_torn_or_foreign_line_in_the_list_is_skipped(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    url, db = store_with(tmp_path)
    spool.mkdir()
    (spool / ERASED_FILE).write_bytes(b'["not", "an", "entry"]\n{"at": "soon"}\n')
    forget(url, users=["u-hana"], spools=[spool])
    with (spool / ERASED_FILE).open("ab") as file:
        file.write(b'{"at": 1e18, "users": ["')  # a line being written
    with Tracker(backend=url, spool_dir=spool, batch_size=1000, flush_interval=3600) as t:
        t.emit(Event("page_view", visitor_id="hana-phone", timestamp=BEFORE))
        t.emit(Event("page_view", visitor_id="ivan", timestamp=BEFORE))
        assert t.flush(timeout=20)
        assert t.stats()["erased"] == 1
    assert stored(db) == [("ivan", None)]


def test_a_spool_the_erasure_cannot_write_to_is_told(tmp_path: Path) -> None:
    url, db = store_with(tmp_path)
    spool = tmp_path / "spool"
    spool.write_text("a file where the spool should be")
    with pytest.raises(ConfigError, match="erased 1 events from the store") as caught:
        forget(url, users=["u-hana"], spools=[spool])
    assert caught.value.field == "spools"
    assert stored(db) == []  # the store's erasure stands
