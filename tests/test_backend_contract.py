"""The backend contract kit (convsdk.testing.BackendContract) run on the embedded backends,
and on the custom-backend example so that it stays correct."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

import pytest

from convsdk.backends.file import FileBackend
from convsdk.backends.file import read_events as read_file_events
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import SQLiteBackend, connect
from convsdk.backends.sqlite import read_events as read_sqlite_events
from convsdk.event import Event
from convsdk.testing import BackendContract, assert_events_equal, numbered_events

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_backend"


class TestMemoryBackend(BackendContract):
    supports_dedupe = False
    preserves_order = True
    in_process_store = True

    def make_backend(self, tmp_path: Path) -> MemoryBackend:
        return MemoryBackend()

    def make_url(self, tmp_path: Path) -> str:
        return "memory://"

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

    def repair_backend(self, backend: FileBackend) -> None:
        backend.path.rmdir()

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

    def repair_backend(self, backend: SQLiteBackend) -> None:
        connect(backend.path).close()  # convsdk's connection creates the table

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


KIT_RUN = """
import sqlite3

from convsdk.backends.memory import MemoryBackend
from convsdk.testing import BackendContract

import adapters


class Kit(BackendContract):
    supports_dedupe = True
    preserves_order = False
    store = adapters.SQLStore

    def make_backend(self, tmp_path):
        return self.store(tmp_path / "events.db")

    def read_back(self, backend):
        return list(adapters.read_store(backend.path))

    def break_backend(self, backend):
        with sqlite3.connect(backend.path) as conn:
            conn.execute("DROP TABLE events")
        conn.close()

    def repair_backend(self, backend):
        with sqlite3.connect(backend.path) as conn:
            conn.execute(backend.table)
        conn.close()


class TestGood(Kit):
    pass


class TestNaiveTimestamps(Kit):
    store = adapters.NaiveTimestamps


class TestDedupeInMemory(Kit):
    store = adapters.DedupeInMemory


class TestNoLock(Kit):
    store = adapters.NoLock


class TestAllPermanent(Kit):
    store = adapters.AllPermanent


class TestReconnectsAfterClose(Kit):
    store = adapters.ReconnectsAfterClose


class Lossy(MemoryBackend):
    def write(self, events):
        super().write([e for e in events if e.kind != "macro"])


class Silent(MemoryBackend):
    broken = False

    def write(self, events):
        if not self.broken:
            super().write(events)


class TestLossy(BackendContract):
    in_process_store = True

    def make_backend(self, tmp_path):
        return Lossy()

    def read_back(self, backend):
        return backend.events


class TestSilent(BackendContract):
    in_process_store = True

    def make_backend(self, tmp_path):
        return Silent()

    def read_back(self, backend):
        return backend.events

    def break_backend(self, backend):
        backend.broken = True
"""


@pytest.fixture(scope="module")
def kit_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, set[str]], str]:
    """The kit run once on the adapter of ``tests/contract/adapters.py``, its broken
    variants and two broken memory stores: each class's failed tests, and the output."""
    where = tmp_path_factory.mktemp("kit")
    shutil.copy(Path(__file__).parent / "contract" / "adapters.py", where / "adapters.py")
    (where / "test_kit.py").write_text(KIT_RUN, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:asyncio",
            "-W",
            "error",
            "-rfs",
            "-q",
            "test_kit.py",
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=240,
    )
    failed: dict[str, set[str]] = {}
    for line in run.stdout.splitlines():
        if line.startswith("FAILED test_kit.py::"):
            cls, _, test = line.removeprefix("FAILED test_kit.py::").split(" ")[0].partition("::")
            failed.setdefault(cls, set()).add(test)
    return failed, run.stdout


def test_the_kit_passes_a_well_made_adapter(kit_run: tuple[dict[str, set[str]], str]) -> None:
    failed, output = kit_run
    assert "TestGood" not in failed, output
    assert "passed" in output


@pytest.mark.parametrize(
    ("variant", "caught_by"),
    [
        ("TestNaiveTimestamps", "test_timestamps_in_other_time_zones"),
        ("TestDedupeInMemory", "test_a_resend_from_another_instance"),
        ("TestNoLock", "test_concurrent_writes_from_four_threads"),
        ("TestAllPermanent", "test_write_to_a_failed_store_raises"),
        ("TestReconnectsAfterClose", "test_write_after_close_raises_a_permanent_error"),
        ("TestSilent", "test_write_to_a_failed_store_raises"),
        ("TestLossy", "test_round_trip_every_field"),
    ],
)
def test_the_kit_fails_each_broken_adapter_by_the_test_named_after_its_flaw(
    kit_run: tuple[dict[str, set[str]], str], variant: str, caught_by: str
) -> None:
    failed, output = kit_run
    assert caught_by in failed.get(variant, set()), output


def test_kit_failures_say_what_to_fix(kit_run: tuple[dict[str, set[str]], str]) -> None:
    _, output = kit_run
    for advice in (
        "never as the wall-clock time alone",  # naive timestamps
        "guard the connection with a lock",
        "raise a retryable error for an outage",
        "after close() returned normally: raise BackendError",
        "events missing, e.g.",
    ):
        assert advice in output, advice
    # A store that fails silently is caught by the broken-store test alone.
    assert "test_round_trip_every_field" not in kit_run[0].get("TestSilent", set())
    assert "SKIPPED" in output and "does not implement make_url()" in output


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
    # Each test using the backend errors in setup (no teardown crash); the URL tests skip.
    assert outcomes == {"errors": 23, "skipped": 2}, outcomes
    result.stdout.fnmatch_lines(["*TestSkeleton.make_backend() returned None*"])
    result.stdout.no_fnmatch_line("*NoneType*")
