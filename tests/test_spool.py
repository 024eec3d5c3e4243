from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from convsdk import ConfigError
from convsdk._json import dumps, loads
from convsdk.errors import BackendError
from convsdk.event import Event
from convsdk.spool import Claim, Spool, SpoolWriteError, parse_line
from faults import FullDisk


def line(event: Event) -> bytes:
    return dumps(event.to_dict()) + b"\n"


def events(n: int, name: str = "e") -> list[Event]:
    return [Event(f"{name}{i}") for i in range(n)]


def replay(claim: Claim, size: int = 1000) -> list[str]:
    """Read a whole claim and delete it; the event ids it held."""
    ids = [event.event_id for batch in claim.batches(size) for _, event in batch]
    claim.finish()
    return ids


def segment_files(spool: Spool) -> list[str]:
    return sorted(n for n in os.listdir(spool.directory) if n.endswith(".jsonl"))


def test_appended_events_come_back_in_order_and_the_segment_goes(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    written = events(10)
    assert spool.append([line(e) for e in written]) == 10
    assert spool.claim_next() is None, "an open overflow segment is not replayable yet"
    assert spool.seal()
    claim = spool.claim_next()
    assert claim is not None
    assert replay(claim) == [e.event_id for e in written]
    assert segment_files(spool) == []
    assert spool.used_bytes == 0


def test_replayed_events_keep_every_field(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    event = Event(
        "purchase",
        kind="macro",
        goal="purchase",
        value=19.5,
        currency="EUR",
        transaction_id="t1",
        visitor_id="v",
        session_id="s",
        user_id="u",
        properties={"items": [1, 2], "plan": "pro"},
        context={"path": "/checkout"},
    )
    spool.append([line(event)])
    spool.seal()
    claim = spool.claim_next()
    assert claim is not None
    [[(_, back)]] = list(claim.batches(10))
    claim.finish()
    assert back == event


def test_segments_replay_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=1024)
    written = events(40)
    for event in written:  # small segments: many files
        spool.append([line(event)])
    spool.seal()
    assert len(segment_files(spool)) > 3
    ids: list[str] = []
    while (claim := spool.claim_next()) is not None:
        ids += replay(claim)
    assert ids == [e.event_id for e in written]


def test_a_segment_owned_by_a_live_writer_is_not_claimed(tmp_path: Path) -> None:
    # Another Spool on the same directory holds its own open files, like another process.
    writer, replayer = Spool(tmp_path), Spool(tmp_path)
    writer.append([line(Event("x"))])
    wal = writer.open_wal()
    wal.write(line(Event("y")))
    assert replayer.claim_next() is None
    writer.close()  # the writer goes away: both segments are claimable now
    names: list[str] = []
    while (claim := replayer.claim_next()) is not None:
        names += [e.name for batch in claim.batches(10) for _, e in batch]
        claim.finish()
    assert sorted(names) == ["x", "y"]


def test_concurrent_claimers_take_each_segment_once(tmp_path: Path) -> None:
    writer = Spool(tmp_path, segment_bytes=1024)
    written = events(200)
    for event in written:
        writer.append([line(event)])
    writer.close()
    got: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def claim_all(i: int) -> None:
        spool = Spool(tmp_path)
        start.wait(5)
        while (claim := spool.claim_next()) is not None:
            got[i] += replay(claim)

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ids = [i for g in got for i in g]
    assert sorted(ids) == sorted(e.event_id for e in written)
    assert len(ids) == len(set(ids))


def test_a_crashed_writers_write_ahead_segment_is_replayed(tmp_path: Path) -> None:
    crashed = Spool(tmp_path)
    wal = crashed.open_wal()
    written = events(5)
    for event in written:
        wal.write(line(event))
    os.close(wal.fd)  # what the kernel does when the process dies: the lock goes
    claim = Spool(tmp_path).claim_next()
    assert claim is not None
    assert replay(claim) == [e.event_id for e in written]


def test_retired_write_ahead_segments_are_deleted_kept_ones_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    done = spool.open_wal()
    done.write(line(Event("delivered")))
    spool.retire(done)
    assert segment_files(spool) == []
    kept = spool.open_wal()
    kept.write(line(Event("not_delivered")))
    spool.retire(kept, keep=True)
    claim = spool.claim_next()
    assert claim is not None
    assert [e.name for batch in claim.batches(10) for _, e in batch] == ["not_delivered"]
    claim.finish()


def test_torn_and_garbage_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = events(3)
    name = f"{1:020d}-1-abcdef01.seg.jsonl"
    (tmp_path / name).write_bytes(
        line(good[0])
        + b"not json at all\n"
        + b'{"no": "event_id"}\n'
        + b"\n"
        + line(good[1])
        + b"\x00\xff\xfe garbage\n"
        + line(good[2])
        + line(Event("torn"))[:40]  # the writer died mid-line
    )
    spool = Spool(tmp_path)
    claim = spool.claim_next()
    assert claim is not None
    assert replay(claim) == [e.event_id for e in good]
    assert spool.corrupt == 4


def test_a_huge_line_without_newline_is_skipped_without_failing(tmp_path: Path) -> None:
    from convsdk.delivery import claim as spool_module

    name = f"{1:020d}-1-abcdef01.seg.jsonl"
    ok = Event("ok")
    (tmp_path / name).write_bytes(b"x" * (3 * 1024) + b"\n" + line(ok))
    spool = Spool(tmp_path)
    original = spool_module.MAX_LINE
    spool_module.MAX_LINE = 1024
    try:
        claim = spool.claim_next()
        assert claim is not None
        assert replay(claim) == [ok.event_id]
    finally:
        spool_module.MAX_LINE = original
    assert spool.corrupt == 1


def test_keep_writes_back_only_what_was_not_sent(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    written = events(10)
    spool.append([line(e) for e in written])
    spool.seal()
    claim = spool.claim_next()
    assert claim is not None
    batches = claim.batches(3)
    next(batches)  # "delivered"
    failed = next(batches)
    claim.keep([raw for raw, _ in failed])
    [remaining] = segment_files(spool)
    assert ".claimed" not in remaining
    claim = spool.claim_next()
    assert claim is not None
    assert replay(claim) == [e.event_id for e in written[3:]]


def test_released_claims_are_claimable_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([line(Event("x"))])
    spool.seal()
    claim = spool.claim_next()
    assert claim is not None
    claim.release()
    again = spool.claim_next()
    assert again is not None
    assert [e.name for b in again.batches(5) for _, e in b] == ["x"]
    again.finish()


def test_disk_use_is_bounded_by_deleting_the_oldest_segments(tmp_path: Path) -> None:
    size = len(line(Event("e0")))
    spool = Spool(tmp_path, max_bytes=40 * size, segment_bytes=10 * size)
    written = events(100)
    for event in written:
        assert spool.append([line(event)]) == 1
    assert spool.used_bytes <= 40 * size
    assert spool.evicted > 0
    spool.seal()
    kept: list[str] = []
    while (claim := spool.claim_next()) is not None:
        kept += replay(claim)
    # The newest events survive, the oldest were dropped and counted, never silently.
    assert kept == [e.event_id for e in written[-len(kept) :]]
    assert spool.evicted + len(kept) == 100


def test_a_full_spool_refuses_what_it_cannot_make_room_for(tmp_path: Path) -> None:
    size = len(line(Event("e0")))
    owner = Spool(tmp_path)
    wal = owner.open_wal()  # a live writer's segment: not evictable
    wal.write(line(Event("e0")) * 10)
    owner.retire(wal, keep=True)
    held = owner.claim_next()  # hold it, like a replay in progress elsewhere
    assert held is not None
    spool = Spool(tmp_path, max_bytes=12 * size)
    assert spool.append([line(Event("e1"))] * 5) == 0
    held.release()


def test_a_batch_larger_than_the_whole_spool_evicts_nothing(tmp_path: Path) -> None:
    size = len(line(Event("e0")))
    spool = Spool(tmp_path, max_bytes=40 * size, segment_bytes=10 * size)
    small = events(20)
    assert spool.append([line(e) for e in small]) == 20
    assert spool.append([line(e) for e in events(50, "big")]) == 0
    assert spool.evicted == 0
    spool.seal()
    claim = spool.claim_next()
    assert claim is not None and replay(claim) == [e.event_id for e in small]


def test_room_freed_by_another_process_is_seen_before_evicting(tmp_path: Path) -> None:
    size = len(line(Event("e0")))
    writer = Spool(tmp_path, max_bytes=40 * size, segment_bytes=10 * size)
    first = events(30)
    assert writer.append([line(e) for e in first]) == 30
    writer.seal()
    # Another process (a second Spool on the same directory) replays and deletes them.
    other = Spool(tmp_path, max_bytes=40 * size)
    replayed = []
    while (claim := other.claim_next()) is not None:
        replayed += replay(claim)
    assert replayed == [e.event_id for e in first]
    second = events(30, "later")
    assert writer.append([line(e) for e in second]) == 30
    assert writer.evicted == 0


def test_eviction_warns_at_most_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    size = len(line(Event("e0")))
    spool = Spool(tmp_path, max_bytes=20 * size, segment_bytes=5 * size)
    with caplog.at_level("WARNING", logger="convsdk.spool"):
        for event in events(200):
            spool.append([line(event)])
    assert spool.evicted > 100
    warnings = [r for r in caplog.records if "over its limit" in r.getMessage()]
    assert len(warnings) == 1


def test_dead_letters_keep_the_event_and_the_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    refused = events(2)
    spool.dead_letter(refused, BackendError("422 unprocessable", backend="http"))
    [path] = list((tmp_path / "dead-letter").glob("*.jsonl"))
    records = [loads(raw) for raw in path.read_bytes().splitlines()]
    assert [r["event"]["event_id"] for r in records] == [e.event_id for e in refused]
    assert records[0]["error"] == "http: 422 unprocessable"
    assert records[0]["error_type"] == "BackendError"
    assert spool.claim_next() is None, "dead letters are not replayed"


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".tmp-00000000000000000001-1-abcdef01.seg.jsonl"
    stale.write_bytes(b"half written")
    Spool(tmp_path)
    assert not stale.exists()


def test_fsync_mode_syncs_what_was_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    spool = Spool(tmp_path, fsync=True)
    spool.append([line(Event("x"))])
    wal = spool.open_wal()
    wal.write(line(Event("y")))
    synced.clear()
    spool.sync()
    assert len(synced) == 3, "both segments and the directory holding them"
    synced.clear()
    spool.sync()
    assert synced == [], "nothing new to sync"


def test_a_file_in_the_way_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "spool").write_text("")
    with pytest.raises(ConfigError) as info:
        Spool(tmp_path / "spool")
    assert info.value.field == "spool_dir"


def test_parse_line_rejects_what_is_not_an_event() -> None:
    assert parse_line(b"[1, 2]") is None
    assert parse_line(b'{"name": "x"}') is None
    assert parse_line(b"{") is None
    event = parse_line(line(Event("ok")))
    assert event is not None and event.name == "ok"


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")


@needs_proc
def test_a_partial_write_keeps_the_whole_lines_and_says_how_many(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    written = events(5)
    lines = [line(e) for e in written]
    monkeypatch.setattr(os, "write", FullDisk(tmp_path, len(lines[0]) + len(lines[1]) + 7))
    with pytest.raises(SpoolWriteError) as info:
        spool.append(lines)
    assert info.value.stored == 2 and info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    # The torn third line was cut off: the segment goes on after the two whole lines.
    assert spool.append(lines[2:]) == 3
    assert spool.seal()
    claim = spool.claim_next()
    assert claim is not None
    assert replay(claim) == [e.event_id for e in written]
    assert spool.corrupt == 0 and spool.used_bytes == 0


@needs_proc
def test_a_write_ahead_segment_refused_at_once_leaves_no_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    overflow_failed = False
    monkeypatch.setattr(os, "write", FullDisk(tmp_path, 0))
    wal = spool.open_wal()
    with pytest.raises(OSError):
        wal.write(line(Event("x")))
    spool.retire(wal, keep=True)  # kept for replay, but there is nothing to replay
    try:
        spool.append([line(Event("y"))])
    except OSError:
        overflow_failed = True
    spool.close()
    assert overflow_failed
    assert segment_files(spool) == []


def test_a_directory_named_like_a_segment_is_ignored(tmp_path: Path) -> None:
    stray = tmp_path / f"{1:020d}-4242-0badf00d.seg.jsonl"
    stray.mkdir()
    spool = Spool(tmp_path)
    assert not spool.rescan(), "nothing waits: a directory is not a segment"
    spool.append([line(Event("x"))])
    spool.seal()
    claim = spool.claim_next()
    assert claim is not None and replay(claim) and claim.path.name != stray.name
    assert spool.claim_next() is None
    assert stray.is_dir()


@pytest.mark.parametrize("files", [50, 400])
def test_replaying_many_segments_lists_the_directory_a_fixed_number_of_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: int
) -> None:
    written = events(files)
    for i, event in enumerate(written):
        (tmp_path / f"{i + 1:020d}-4242-{i:08x}.seg.jsonl").write_bytes(line(event))
    spool = Spool(tmp_path)
    listings = 0
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir(path: object = ".") -> object:
        nonlocal listings
        listings += os.fspath(path) == str(tmp_path)  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    def listdir(path: object = ".") -> list[str]:
        nonlocal listings
        listings += os.fspath(path) == str(tmp_path)  # type: ignore[arg-type]
        return real_listdir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    ids: list[str] = []
    while (claim := spool.claim_next()) is not None:
        ids += replay(claim)
    monkeypatch.undo()
    assert ids == [e.event_id for e in written], "oldest first, each once"
    # One listing for the pass and one to see nothing is left, whatever the count.
    assert listings <= 2, f"{listings} listings to replay {files} segments"
