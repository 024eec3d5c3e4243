"""Rows fetched ahead by a thread (the PostgreSQL reader's streams): in order, errors
raised where the rows are read, memory bounded, the thread gone once stopped."""

from __future__ import annotations

import threading

import pytest

from convsdk.report.sql.ahead import AHEAD, Ahead, ReadAhead


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"convsdk-report-{name}"]


def test_rows_come_in_order_and_a_fetch_error_where_they_are_read() -> None:
    batches = iter([[1, 2], [3], ConnectionError("server gone")])

    def fetch() -> list[int]:
        batch = next(batches)
        if isinstance(batch, Exception):
            raise batch
        return batch

    ahead, got = Ahead(fetch, "failing"), []
    with pytest.raises(ConnectionError, match="server gone"):
        for row in ahead:
            got.append(row)
    assert got == [1, 2, 3]
    ahead.stop()  # as the reader does when its rows end, one way or another
    assert _threads("failing") == []


def test_an_empty_batch_ends_the_rows() -> None:
    batches = iter([[1], [2, 3], [], [4]])
    assert list(Ahead(lambda: next(batches), "ending")) == [1, 2, 3]
    assert next(batches) == [4]  # nothing fetched past the end


def test_a_reader_gone_halfway_stops_the_thread_and_it_fetched_little_ahead() -> None:
    fetched: list[int] = []

    def fetch() -> list[int]:  # rows without end: only the reader stops them
        fetched.append(len(fetched))
        return [fetched[-1]]

    ahead = Ahead(fetch, "endless")
    rows = iter(ahead)
    assert next(rows) == 0
    ahead.stop()
    assert _threads("endless") == []
    # The batch read, those queued ahead, and the one the thread was putting.
    assert len(fetched) <= 2 + AHEAD
    ahead.stop()  # a second call does nothing


class _Cursor:
    """A cursor of endless rows, which notes when it is closed."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def fetchmany(self, size: int) -> list[int]:
        return list(range(size))

    def close(self) -> None:
        self.log.append("cursor closed")


def test_a_read_closes_its_fetching_threads_before_its_cursors() -> None:
    log: list[str] = []
    reading = ReadAhead()
    rows = reading.rows(reading.held(_Cursor(log)), 3, "held")
    assert next(rows) == 0  # read a little, then dropped halfway
    assert _threads("held") != []
    reading.close()
    assert _threads("held") == [] and log == ["cursor closed"]
    reading.close()  # a second call does nothing
    assert log == ["cursor closed"]
