"""The ``file://`` backend: JSON Lines out, the same events back, rotation, damage, URLs."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from convsdk import BackendError, ConfigError
from convsdk.backends import from_url
from convsdk.backends.file import FileBackend, read_events
from convsdk.backends.file.locking import LOCKS, exclusive
from convsdk.event import Event, make_event

LOGGER = "convsdk.backends.file"


def full_event(**overrides: object) -> Event:
    """An event with every field set, non-ASCII text and nested properties."""
    fields: dict[str, object] = {
        "kind": "macro",
        "goal": "purchase",
        "value": 129.95,
        "currency": "eur",
        "transaction_id": "order-42",
        "visitor_id": "visitor-1",
        "session_id": "session-1",
        "user_id": "user-7",
        "properties": {
            "items": 3,
            "city": "Zürich",
            "note": '日本語 ✓ "quoted"\nnew line',
            "coupon": None,
            "gift": False,
            "tags": ["a", "b"],
            "cart": {"sku": "X-1", "qty": 2, "price": 43.32},
        },
        "context": {
            "method": "POST",
            "path": "/checkout",
            "url": "https://shop.example/checkout?utm_source=news",
            "referrer": "https://shop.example/cart",
            "user_agent": "Mozilla/5.0",
            "ip": "203.0.113.0",
            "status": 303,
            "utm": {
                "source": "newsletter",
                "medium": "email",
                "campaign": "été",
                "term": None,
                "content": "hero",
            },
        },
        "timestamp": datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC),
    }
    fields.update(overrides)
    return make_event("checkout", **fields)  # type: ignore[arg-type]


def page_views(count: int, start: int = 0) -> list[Event]:
    return [
        make_event("page_view", visitor_id=f"v{i}", context={"path": f"/p/{i}"})
        for i in range(start, start + count)
    ]


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    written = [full_event(), make_event("page_view"), full_event(value=0.0, user_id=None)]
    backend.write(written)
    backend.close()

    read = list(read_events(path))

    assert [e.to_dict() for e in read] == [e.to_dict() for e in written]
    assert read[0].timestamp == datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert read[0].currency == "EUR"
    assert read[1].kind is None and read[1].properties == {} and read[1].context == {}


def test_file_holds_one_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    events = [full_event(), *page_views(2)]
    backend.write(events)
    backend.close()

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [e.to_dict() for e in events]
    assert "Zürich" in lines[0]  # stored as UTF-8, not \u escapes


def test_batches_append_and_backend_read_streams_them(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "events.jsonl")
    first, second = page_views(3), page_views(2, start=3)
    backend.write(first)
    backend.write([])
    backend.write(second)

    assert [e.event_id for e in backend.read()] == [e.event_id for e in first + second]
    backend.close()


def test_creates_parent_directories_lazily(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "events.jsonl"
    backend = FileBackend(path)
    assert not path.parent.exists()  # nothing touched before the first batch
    backend.write(page_views(1))
    backend.close()
    assert path.exists()


def test_rotation_keeps_batches_whole_and_reads_back_in_order(tmp_path: Path) -> None:
    batches = [page_views(5, start=5 * i) for i in range(8)]
    probe = FileBackend(tmp_path / "probe.jsonl")
    probe.write(batches[0])
    probe.close()
    batch_bytes = probe.path.stat().st_size
    path = tmp_path / "log" / "events.jsonl"
    backend = FileBackend(path, max_bytes=int(batch_bytes * 2.5), backups=10)
    for batch in batches:
        backend.write(batch)
    backend.close()

    # Two batches fit under max_bytes, the third would not: 8 batches make 4 files.
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "events.jsonl",
        "events.jsonl.1",
        "events.jsonl.2",
        "events.jsonl.3",
    ]
    for name in ["events.jsonl.3", "events.jsonl.2", "events.jsonl.1", "events.jsonl"]:
        assert len((path.parent / name).read_bytes().splitlines()) == 10
    expected = [e.event_id for batch in batches for e in batch]
    assert [e.event_id for e in read_events(path)] == expected


def test_rotation_deletes_files_beyond_backups(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    batches = [page_views(4, start=4 * i) for i in range(6)]
    backend = FileBackend(path, max_bytes=1, backups=2)  # every batch starts a new file
    for batch in batches:
        backend.write(batch)
    backend.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.jsonl",
        "events.jsonl.1",
        "events.jsonl.2",
    ]
    expected = [e.event_id for batch in batches[-3:] for e in batch]
    assert [e.event_id for e in read_events(path)] == expected


def test_backups_zero_keeps_only_the_current_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path, max_bytes=1, backups=0)
    backend.write(page_views(2))
    last = page_views(2, start=2)
    backend.write(last)
    backend.close()

    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]
    assert [e.event_id for e in read_events(path)] == [e.event_id for e in last]


def test_lowering_backups_prunes_older_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    wide = FileBackend(path, max_bytes=1, backups=5)
    for i in range(6):
        wide.write(page_views(1, start=i))
    wide.close()
    narrow = FileBackend(path, max_bytes=1, backups=2)
    narrow.write(page_views(1, start=6))
    narrow.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.jsonl",
        "events.jsonl.1",
        "events.jsonl.2",
    ]


def test_max_bytes_zero_never_rotates(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path, max_bytes=0)
    for i in range(5):
        backend.write(page_views(3, start=3 * i))
    backend.close()
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]
    assert len(list(read_events(path))) == 15


def test_two_writers_on_one_file_follow_each_others_rotation(tmp_path: Path) -> None:
    # Two worker processes sharing a log: neither loses the other's events.
    path = tmp_path / "events.jsonl"
    a = FileBackend(path, max_bytes=1500, backups=50)
    b = FileBackend(path, max_bytes=1500, backups=50)
    written: list[str] = []
    for i in range(12):
        batch = page_views(3, start=3 * i)
        (a if i % 2 else b).write(batch)
        written.extend(e.event_id for e in batch)
        # Whoever wrote last wrote to the file at the path, not to a rotated one.
        assert json.loads(path.read_bytes().splitlines()[-1])["event_id"] == written[-1]
    a.close()
    b.close()

    assert len(list(tmp_path.iterdir())) > 2
    assert sorted(e.event_id for e in read_events(path)) == sorted(written)


def test_follows_a_file_moved_away_by_logrotate(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    backend.write(page_views(2))
    path.rename(tmp_path / "archived.jsonl")
    later = page_views(1, start=2)
    backend.write(later)
    backend.close()

    assert [e.event_id for e in read_events(path)] == [later[0].event_id]
    assert len(list(read_events(tmp_path / "archived.jsonl"))) == 2


def test_torn_and_garbage_lines_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    first, second = page_views(2), page_views(2, start=2)
    backend.write(first)
    backend.close()
    with open(path, "ab") as f:
        f.write(b"this is not json\n")
        f.write(b'{"no": "event fields"}\n')
    backend = FileBackend(path)  # the next process
    backend.write(second)
    backend.close()
    with open(path, "ab") as f:
        f.write(b'{"event_id": "torn-by-a-cra')  # a crash mid-line

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        read = list(read_events(path))

    assert [e.event_id for e in read] == [e.event_id for e in first + second]
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert ":3:" in warnings[0].getMessage() and ":4:" in warnings[1].getMessage()
    assert "torn" in warnings[2].getMessage()


def test_writer_starts_a_fresh_line_after_a_torn_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"event_id": "torn')
    backend = FileBackend(path)
    events = page_views(3)
    backend.write(events)
    backend.close()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert [e.event_id for e in read_events(path)] == [e.event_id for e in events]
    assert len(caplog.records) == 1  # the torn fragment, nothing else


def test_resent_batch_is_read_once_unless_dedupe_is_off(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path, max_bytes=1)
    batch = page_views(3)
    backend.write(batch)
    backend.write(batch)  # at-least-once: a retry after an unseen success
    backend.close()

    assert [e.event_id for e in read_events(path)] == [e.event_id for e in batch]
    assert len(list(read_events(path, dedupe=False))) == 6


def test_read_events_of_a_missing_log_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "nothing.jsonl")


def test_read_events_accepts_a_file_url(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    backend.write(page_views(2))
    backend.close()
    assert len(list(read_events(f"file://{path}"))) == 2


def test_an_unserialisable_event_is_logged_and_the_rest_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    bad = Event("broken", properties={"when": object()})
    good = page_views(2)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        backend.write([good[0], bad, good[1]])
    backend.close()

    assert [e.event_id for e in read_events(path)] == [e.event_id for e in good]
    assert bad.event_id in caplog.text


def test_io_error_raises_a_retryable_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.mkdir()  # a directory where the file should be
    backend = FileBackend(path)
    with pytest.raises(BackendError) as info:
        backend.write(page_views(1))
    assert info.value.backend == "file" and info.value.retryable


def test_fsync_after_every_batch_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    plain = FileBackend(tmp_path / "plain.jsonl")
    plain.write(page_views(1))
    plain.close()
    assert synced == []
    backend = FileBackend(tmp_path / "durable.jsonl", fsync=True)
    backend.write(page_views(1))
    backend.write(page_views(1))
    backend.close()
    assert len(synced) == 2


def test_write_from_another_thread_then_close_from_this_one(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)  # built here, written by a "dispatcher" thread
    events = page_views(50)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            for i in range(0, 50, 10):
                backend.write(events[i : i + 10])
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=dispatcher)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and errors == []
    backend.close()

    assert [e.event_id for e in read_events(path)] == [e.event_id for e in events]


def test_a_write_after_close_is_refused_for_good(tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "events.jsonl")
    backend.write(page_views(1))
    backend.close()
    backend.close()  # twice is harmless
    with pytest.raises(BackendError, match="after close") as caught:
        backend.write(page_views(1, start=1))
    assert caught.value.retryable is False
    assert len(list(backend.read())) == 1


# -- URLs and options -------------------------------------------------------------


def test_from_url_absolute_path_and_options(tmp_path: Path) -> None:
    backend = from_url(f"file://{tmp_path}/logs/events.jsonl?max_bytes=1000000&backups=5&fsync=1")
    assert isinstance(backend, FileBackend)
    assert backend.path == tmp_path / "logs" / "events.jsonl"
    assert (backend.max_bytes, backend.backups, backend.fsync) == (1_000_000, 5, True)


def test_from_url_defaults() -> None:
    backend = FileBackend.from_url("file:///var/log/events.jsonl")
    assert backend.path == Path("/var/log/events.jsonl")
    assert (backend.max_bytes, backend.backups, backend.fsync) == (100 * 1024 * 1024, 10, False)


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("file://events.jsonl", "events.jsonl"),
        ("file://./data/events.jsonl", "data/events.jsonl"),
        ("file://data/my%20events.jsonl", "data/my events.jsonl"),
    ],
)
def test_from_url_relative_paths_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, relative: str
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = FileBackend.from_url(url)
    monkeypatch.chdir(tmp_path.parent)  # a later chdir does not move the log
    backend.write(page_views(1))
    backend.close()
    assert backend.path == tmp_path / relative
    assert (tmp_path / relative).exists()


def test_keyword_options_override_the_query_string(tmp_path: Path) -> None:
    backend = FileBackend.from_url(f"file://{tmp_path}/e.jsonl?backups=5", backups=2)
    assert backend.backups == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_bytes=lots", "max_bytes"),
        ("max_bytes=-1", "max_bytes"),
        ("backups=1.5", "backups"),
        ("fsync=maybe", "fsync"),
        ("compress=gzip", "compress"),
    ],
)
def test_bad_option_raises_config_error_naming_it(tmp_path: Path, query: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_url(f"file://{tmp_path}/events.jsonl?{query}")
    assert info.value.field == field
    assert field in str(info.value)


def test_bad_constructor_option_raises_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        FileBackend("events.jsonl", backups=True)  # a bool is not a count
    assert info.value.field == "backups"


def test_url_without_a_path_raises_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        FileBackend.from_url("file://")
    assert info.value.field == "path"


def test_stdlib_json_and_orjson_write_the_same_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # Logs stay byte-for-byte the same whether or not the ``fast`` extra is installed.
    orjson = pytest.importorskip("orjson")
    import convsdk._json as fast

    monkeypatch.setitem(sys.modules, "orjson", None)  # hides orjson from a fresh import
    spec = importlib.util.spec_from_file_location("convsdk_json_stdlib", fast.__file__)
    assert spec is not None and spec.loader is not None
    stdlib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stdlib)

    assert (fast.IMPLEMENTATION, stdlib.IMPLEMENTATION) == ("orjson", "json")
    data = full_event().to_dict()
    assert stdlib.dumps(data) == orjson.dumps(data)
    assert stdlib.dumps_str(data) == fast.dumps_str(data)
    assert stdlib.loads(stdlib.dumps(data)) == data == stdlib.loads(stdlib.dumps_str(data))


@pytest.mark.skipif(not LOCKS, reason="no flock on this platform")
def test_a_batch_is_appended_under_the_logs_shared_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An eraser (convsdk forget) takes the log's lock exclusively: while a batch is
    # written, it cannot, and while it holds it, a writer cannot write.
    import fcntl

    path = tmp_path / "events.jsonl"
    backend = FileBackend(path)
    refused: list[bool] = []
    append = FileBackend._append_locked

    def watched(self: FileBackend, *args: Any) -> None:
        with open(path, "rb") as other:
            try:
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                refused.append(True)
            else:
                refused.append(False)
        append(self, *args)

    monkeypatch.setattr(FileBackend, "_append_locked", watched)
    backend.write([Event("a", kind="micro")])
    backend.write([Event("b", kind="micro")])
    assert refused == [True, True]
    with exclusive(path) as held, open(path, "rb") as writer:
        assert held is not None
        with pytest.raises(BlockingIOError):
            fcntl.flock(writer.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    backend.close()
