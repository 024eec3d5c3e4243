"""Testing helpers: a pytest plugin to check what an app records, and a contract kit for
backend authors.

**Checking an app's conversions.** pytest loads this package as a plugin (the ``pytest11``
entry point), so every test can ask for the ``convsdk_events`` fixture::

    def test_checkout(client, convsdk_events):
        client.post("/checkout", data={"total": "49.90"})
        assert convsdk_events.macro("purchase").value == 49.9
        assert convsdk_events.names() == ["page_view", "purchase"]

For the test's duration an in-memory tracker is the default tracker, and every
tracker's events go to it: the decorators, :func:`convsdk.track`, middleware given a
``tracker=`` of its own, and trackers built during the test (an app factory calling
:func:`convsdk.init` or ``ConvSDK(app)``) all record into the capture, so a test run
never writes into a real store. Trackers built during the test build no backend, spool
or thread at all (and record nothing once the test is over). Each event is still built
by the tracker that recorded it, with its goals and settings.

The capturing tracker copies the goals, secret key, currency and privacy settings of the
default tracker it stands in for (so ``convsdk.init(goals=...)`` at import time still
classifies requests), except that bots are not filtered: test clients such as httpx send
user agents that look like bots. Override any option by defining a
``convsdk_tracker_options`` fixture returning :class:`~convsdk.Tracker` keyword arguments::

    @pytest.fixture
    def convsdk_tracker_options():
        return {"goals": "goals.toml", "secret_key": "test"}

Outside pytest, :func:`capture_events` is the same thing as a context manager.

**Testing a backend.** Subclass :class:`BackendContract` in a test module, name the
subclass ``Test...``, and pytest runs the contract against your backend; see its docstring.

This package is imported by every pytest run where convsdk is installed: it imports no web
framework nor driver.

The package: :mod:`.plugin` (the fixtures), :mod:`.capture` (:func:`capture_events`),
:mod:`.compare` (:func:`assert_events_equal`), :mod:`.events` and :mod:`.large` (the
events the contract writes), :mod:`.contract` (:class:`BackendContract`).
"""

from __future__ import annotations

from .capture import CapturedEvents, capture_events
from .compare import assert_events_equal
from .contract import BackendContract
from .events import numbered_events, round_trip_events, unicode_events
from .large import large_events, large_properties
from .plugin import convsdk_events, convsdk_tracker_options

__all__ = [
    "BackendContract",
    "CapturedEvents",
    "assert_events_equal",
    "capture_events",
    "convsdk_events",
    "convsdk_tracker_options",
    "large_events",
    "large_properties",
    "numbered_events",
    "round_trip_events",
    "unicode_events",
]
