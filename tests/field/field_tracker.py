"""The tracker of convsdk's field plugins (``convsdk_field``, ``convsdk_field_flask``,
``convsdk_field_django``).

It has goals for page views, form submits (with a value read from a form field, so the
middleware reads form bodies) and checkouts. It records bots too: the suites' test
clients announce themselves as such (``testclient``, ``Werkzeug/3.1``), and a request
left out as a bot would skip what is tried here. It is the default tracker; an app's
lifespan shutdown has it deliver its events and leaves it open, unless they could not
be delivered in time: then it is closed, and :func:`tracker` makes another, writing to
a store of its own (closing a tracker closes its backend), for what comes next.

``FIELD_STORE`` says where the events go: ``memory`` (the default: memory, no spool)
or ``sqlite``: an SQLite file and a durable spool (every event in the spool's
write-ahead log before ``track()`` returns) for each tracker, in a folder of the run's
own, so the run tries the disk paths too. At the end of the run a plugin calls
:func:`finish`: it closes the last tracker, then prints what was wrapped and recorded,
and what convsdk left behind (a leak is a problem): files of that folder still open,
convsdk threads still alive, bytes left in a spool. It writes all of it as JSON to
``FIELD_REPORT`` when that is set.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import convsdk
from convsdk import Goal, runtime
from convsdk.backends.memory import MemoryBackend

STORE = os.environ.get("FIELD_STORE", "memory")
if STORE not in ("memory", "sqlite"):
    raise SystemExit(f"FIELD_STORE: memory or sqlite, not {STORE!r}")

_trackers: list[convsdk.Tracker] = []
_memories: list[MemoryBackend] = []
_databases: list[Path] = []
#: The folder of the run's SQLite files and spools (``FIELD_STORE=sqlite``).
_folder = Path(tempfile.mkdtemp(prefix="convsdk-field-")) if STORE == "sqlite" else None


def tracker() -> convsdk.Tracker:
    """The run's tracker, the default one: a new one when the last was closed."""
    if not _trackers or _trackers[-1].closed:
        store: dict[str, Any]
        if _folder is not None:
            number = len(_trackers)
            _databases.append(_folder / f"events-{number}.db")
            store = {
                "backend": f"sqlite:///{_databases[-1]}",
                "spool_dir": str(_folder / f"spool-{number}"),
                "durable": True,
            }
        else:
            _memories.append(MemoryBackend())
            store = {"backend": _memories[-1], "spool_dir": None}
        made = convsdk.Tracker(
            **store,
            secret_key="convsdk-field-secret",
            flush_interval=0.2,
            filter_bots=False,
            goals=[
                Goal.macro("field_checkout", event="checkout", value_from="form:total"),
                Goal.micro("field_form", event="form_submit", value_from="form:amount"),
                Goal.micro("field_page", event="page_view"),
            ],
        )
        _trackers.append(made)
        runtime.set_default(made)
    return _trackers[-1]


def summary(wrapped: str, **more: Any) -> dict[str, Any]:
    """What was recorded so far (delivered first), with ``wrapped``: what was wrapped."""
    if _trackers and not _trackers[-1].closed:
        _trackers[-1].flush(timeout=10.0)
    kinds: dict[str, int] = {}
    ids: set[str] = set()
    stored = 0
    for event in (event for memory in _memories for event in memory.events):
        kinds[event.name] = kinds.get(event.name, 0) + 1
        ids.add(event.event_id)
        stored += 1
    for database in _databases:
        if database.exists():
            with closing(sqlite3.connect(database)) as conn:
                query = "SELECT name, count(*) FROM convsdk_events GROUP BY name"
                for name, count in conn.execute(query):
                    kinds[name] = kinds.get(name, 0) + count
            conn.close()
    stats = [made.stats() for made in _trackers]
    dropped = sum(int(stat["dropped"]) for stat in stats)
    return {
        **more,
        "wrapped": wrapped,
        "store": STORE,
        "events": sum(kinds.values()),
        "events_by_name": kinds,
        "trackers": len(_trackers),
        "dropped": dropped,
        "enqueued": sum(int(stat["enqueued"]) for stat in stats),
        "delivered": sum(int(stat["delivered"]) for stat in stats),
        # Events stored twice (memory keeps each write; SQLite keeps one by event_id).
        "stored_twice": stored - len(ids),
    }


def left_behind() -> dict[str, Any]:
    """What convsdk holds once every tracker is closed: files of the run's folder still
    open, its threads still alive, bytes left in a spool (all should be none)."""
    open_files = []
    if _folder is not None:
        for fd in Path("/proc/self/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed while listed
                continue
            if target.startswith(str(_folder)):
                open_files.append(target)
    threads = [t.name for t in threading.enumerate() if t.name.startswith("convsdk")]
    spooled = 0
    if _folder is not None:
        # Event lines wait in *.jsonl files (segments, claimed ones, dead letters); a
        # spool's other file only names its destination.
        spooled = sum(f.stat().st_size for f in _folder.glob("spool-*/**/*.jsonl"))
    return {"open_files": open_files, "threads": threads, "spooled_bytes": spooled}


def write_line(terminalreporter: Any, found: dict[str, Any], title: str) -> None:
    """Say at the end of pytest's output what ``found`` (a :func:`summary`) holds."""
    terminalreporter.write_line(
        f"{title}: {found['wrapped']}, {found['events']} events recorded in {found['store']} "
        f"{found['events_by_name']} by {found['trackers']} trackers, {found['dropped']} dropped"
    )


def finish(found: dict[str, Any]) -> None:
    """Close the tracker; write ``found`` (a :func:`summary`), with what convsdk left
    behind (:func:`left_behind`), to ``FIELD_REPORT``."""
    if _trackers:
        _trackers[-1].close()
    found = {**found, "left_behind": left_behind()}
    report = os.environ.get("FIELD_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as file:
            json.dump(found, file, indent=2, default=str)


Hooks = tuple[Callable[[Any], None], Callable[[Any], None]]


class SlottedApps:
    """The middleware around each app of a framework whose apps have ``__slots__`` (no
    attribute of ours, no weak reference): kept by the app's id, with the app, so that
    the id is not reused while it is kept."""

    def __init__(self) -> None:
        self.count = 0
        self._kept: dict[int, tuple[Any, Any]] = {}

    def around(self, app: Any, call: Callable[..., Any], middleware: Callable[[Any], Any]) -> Any:
        """``middleware`` around ``app``'s own ``call``, made once an app."""
        found = self._kept.get(id(app))
        if found is None or found[0] is not app:
            self.count += 1
            found = self._kept[id(app)] = (app, middleware(functools.partial(call, app)))
        return found[1]


def patching(patch: Callable[[], None]) -> Hooks:
    """A plugin's ``pytest_configure`` (the tracker, then ``patch()``, which puts the
    middleware around the framework's apps) and ``pytest_runtest_setup`` (a new default
    tracker if a shutdown could not deliver and closed the last)."""

    def pytest_configure(config: Any) -> None:
        tracker()
        patch()

    def pytest_runtest_setup(item: Any) -> None:
        tracker()

    return pytest_configure, pytest_runtest_setup


def reporting(summary: Callable[[], dict[str, Any]], title: str) -> Hooks:
    """A plugin's ``pytest_terminal_summary`` and ``pytest_unconfigure``: say what
    ``summary()`` holds at the end of pytest's output (:func:`write_line`), then close
    the tracker and write the report (:func:`finish`)."""

    def pytest_terminal_summary(terminalreporter: Any) -> None:
        write_line(terminalreporter, summary(), title)

    def pytest_unconfigure(config: Any) -> None:
        finish(summary())

    return pytest_terminal_summary, pytest_unconfigure
