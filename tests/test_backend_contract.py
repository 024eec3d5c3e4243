"""The backend contract kit (convsdk.testing.BackendContract) run on the embedded backends,
and on the custom-backend example so that it stays correct."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from convsdk.backends.file import FileBackend
from convsdk.backends.file import read_events as read_file_events
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import SQLiteBackend
from convsdk.backends.sqlite import read_events as read_sqlite_events
from convsdk.event import Event
from convsdk.testing import BackendContract, assert_events_equal, numbered_events

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_backend"


class TestMemoryBackend(BackendContract):
    supports_dedupe = False
    preserves_order = True
    url = "memory://"

    def make_backend(self, tmp_path: Path) -> MemoryBackend:
        return MemoryBackend()

    def read_back(self, backend: MemoryBackend) -> list[Event]:
        return backend.events


class TestFileBackend(BackendContract):
    # The file may hold a re-sent event twice; read_events() drops the copy, and that
    # reader is how events come back out of a file.
    supports_dedupe = True
    preserves_order = True

    def make_backend(self, tmp_path: Path) -> FileBackend:
        return FileBackend(tmp_path / "events.jsonl")

    def read_back(self, backend: FileBackend) -> Iterable[Event]:
        if not backend.path.exists():
            return []
        return read_file_events(backend.path)

    def break_backend(self, backend: FileBackend) -> None:
        # A directory where the log should be: opening it for append fails (even as root).
        backend.path.unlink()
        backend.path.mkdir()

    def make_url(self, tmp_path: Path) -> str:
        return (tmp_path / "from url" / "events.jsonl").as_uri()


class TestSQLiteBackend(BackendContract):
    supports_dedupe = True
    preserves_order = False  # read back ordered by timestamp

    def make_backend(self, tmp_path: Path) -> SQLiteBackend:
        return SQLiteBackend(tmp_path / "convsdk.db")

    def read_back(self, backend: SQLiteBackend) -> Iterable[Event]:
        if not Path(backend.path).exists():
            return []
        return read_sqlite_events(backend.path)

    def break_backend(self, backend: SQLiteBackend) -> None:
        # Another connection drops the table under the backend's open connection.
        with sqlite3.connect(backend.path) as conn:
            conn.execute("DROP TABLE convsdk_events")
        conn.close()

    def make_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'from_url.db'}"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The example's test module imports its adapter as ``csv_backend``, as it does when
# pytest runs it from its own directory.
if "csv_backend" not in sys.modules:
    _load("csv_backend", EXAMPLE / "csv_backend.py")
_example = _load("convsdk_example_test_csv_backend", EXAMPLE / "test_csv_backend.py")
TestExampleCSVBackend = _example.TestCSVBackend


# -- the kit itself: it must catch broken backends --------------------------------------


class _Forgetful(MemoryBackend):
    """Drops every event's microseconds and last property: a store that loses data."""

    def write(self, events: Sequence[Event]) -> None:
        kept = []
        for event in events:
            data = event.to_dict()
            data["timestamp"] = data["timestamp"][:19] + "+00:00"
            data["properties"] = dict(list(data["properties"].items())[:-1])
            kept.append(Event.from_dict(data))
        super().write(kept)


class _Sorting(MemoryBackend):
    """Keeps events sorted by timestamp while claiming to keep write order."""

    @property
    def events(self) -> list[Event]:
        return sorted(super().events, key=lambda e: e.timestamp)


def test_assert_events_equal_names_event_and_field() -> None:
    events = numbered_events(3)
    backend = _Forgetful()
    backend.write(events)
    with pytest.raises(AssertionError) as info:
        assert_events_equal(events, backend.events)
    message = str(info.value)
    assert f"event 0 {events[0].name} ({events[0].event_id}): timestamp: expected" in message
    assert "properties: key 'tag' is missing" in message


def test_assert_events_equal_reports_order_missing_and_duplicates() -> None:
    events = numbered_events(5)
    backend = _Sorting()
    backend.write(events)
    with pytest.raises(AssertionError, match="another order"):
        assert_events_equal(events, backend.events)
    assert_events_equal(events, backend.events, ordered=False)
    with pytest.raises(AssertionError, match="1 events missing"):
        assert_events_equal(events, events[1:], ordered=False)
    with pytest.raises(AssertionError, match="stored more than once"):
        assert_events_equal(events, events + events[:1], ordered=False)


def test_assert_events_equal_accepts_values_read_back_as_decimal_or_int() -> None:
    from decimal import Decimal

    event = numbered_events(3)[2]  # a macro conversion with a value
    data = event.to_dict()
    assert_events_equal([event], [Event.from_dict({**data, "value": Decimal(str(event.value))})])
    with pytest.raises(AssertionError, match="value: expected 2.5, got '2.5'"):
        assert_events_equal([event], [Event.from_dict({**data, "value": "2.5"})])


def test_the_kit_fails_a_backend_that_loses_data(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from convsdk.backends.memory import MemoryBackend
        from convsdk.event import Event
        from convsdk.testing import BackendContract

        class Lossy(MemoryBackend):
            def write(self, events):
                super().write([e for e in events if e.kind != "macro"])

        class Silent(MemoryBackend):
            broken = False
            def write(self, events):
                if not self.broken:
                    super().write(events)

        class TestLossy(BackendContract):
            def make_backend(self, tmp_path):
                return Lossy()
            def read_back(self, backend):
                return backend.events

        class TestSilent(BackendContract):
            def make_backend(self, tmp_path):
                return Silent()
            def read_back(self, backend):
                return backend.events
            def break_backend(self, backend):
                backend.broken = True
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error", "-rfs")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 8, outcomes
    # Every test that writes a conversion catches the lossy store, naming what is missing.
    for name in ("round_trip_every_field", "batch_of_a_thousand", "unicode", "large_events"):
        # (Under CI=true pytest prints the whole message after the name: hence the *.)
        result.stdout.fnmatch_lines([f"FAILED *TestLossy::test_{name}*"])
    result.stdout.fnmatch_lines(["E * events missing, e.g. *"])
    # A store that fails silently is caught by the broken-store test alone.
    result.stdout.fnmatch_lines(["FAILED *TestSilent::test_write_to_a_failed_store_raises*"])
    result.stdout.no_fnmatch_line("FAILED *TestSilent::test_round_trip*")
    result.stdout.fnmatch_lines(["SKIPPED *TestSilent sets neither url nor make_url()"])


def test_a_skeleton_make_backend_fails_once_per_test_with_a_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from convsdk.testing import BackendContract

        class TestSkeleton(BackendContract):
            def make_backend(self, tmp_path): ...
            def read_back(self, backend): ...
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error")
    outcomes = result.parseoutcomes()
    # Each test using the backend errors in setup (no teardown crash); from_url skips.
    assert outcomes == {"errors": 12, "skipped": 1}, outcomes
    result.stdout.fnmatch_lines(["*TestSkeleton.make_backend() returned None*"])
    result.stdout.no_fnmatch_line("*NoneType*")
