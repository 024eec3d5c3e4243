"""The tracker of convsdk's field plugins (``convsdk_field``, ``convsdk_field_flask``).

It writes to memory, has no spool, and has goals for page views, form submits (with a
value read from a form field, so the middleware reads form bodies) and checkouts. It
records bots too: the suites' test clients announce themselves as such (``testclient``,
``Werkzeug/3.1``), and a request left out as a bot would skip what is tried here. It is
the default tracker; an app's lifespan shutdown closes it (as a server's would), so
:func:`tracker` makes another, writing to memory of its own (closing a tracker closes
its backend), for what comes next. At the end of
the run a plugin calls :func:`finish`: it prints what was wrapped and recorded, and
writes both as JSON to ``FIELD_REPORT`` when that is set.
"""

from __future__ import annotations

import json
import os
from typing import Any

import convsdk
from convsdk import Goal, runtime
from convsdk.backends.memory import MemoryBackend

_trackers: list[convsdk.Tracker] = []
_memories: list[MemoryBackend] = []


def tracker() -> convsdk.Tracker:
    """The run's tracker, the default one: a new one when the last was closed."""
    if not _trackers or _trackers[-1].closed:
        _memories.append(MemoryBackend())
        made = convsdk.Tracker(
            backend=_memories[-1],
            spool_dir=None,
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
    events = [event for memory in _memories for event in memory.events]
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.name] = kinds.get(event.name, 0) + 1
    dropped = sum(int(made.stats()["dropped"]) for made in _trackers)
    return {
        **more,
        "wrapped": wrapped,
        "events": len(events),
        "events_by_name": kinds,
        "trackers": len(_trackers),
        "dropped": dropped,
    }


def write_line(terminalreporter: Any, found: dict[str, Any], title: str) -> None:
    """Say at the end of pytest's output what ``found`` (a :func:`summary`) holds."""
    terminalreporter.write_line(
        f"{title}: {found['wrapped']}, {found['events']} events recorded "
        f"{found['events_by_name']} by {found['trackers']} trackers, {found['dropped']} dropped"
    )


def finish(found: dict[str, Any]) -> None:
    """Close the tracker; write ``found`` (a :func:`summary`) to ``FIELD_REPORT``."""
    if _trackers:
        _trackers[-1].close()
    report = os.environ.get("FIELD_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as file:
            json.dump(found, file, indent=2, default=str)
