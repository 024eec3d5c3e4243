"""Testing helpers: a pytest plugin to check what an app records, and a contract kit for
backend authors.

**Checking an app's conversions.** pytest loads :mod:`.plugin` (the ``pytest11`` entry
point), so every test can ask for the ``convsdk_events`` fixture::

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

Every pytest run where convsdk is installed loads the plugin: it imports pytest alone, and
its fixture imports the rest when a test asks for it. The helpers here are imported on
first use (``-p convsdk.testing`` still loads them all, the fixtures with them).

The package: :mod:`.plugin` (the fixtures), :mod:`.capture` (:func:`capture_events`),
:mod:`.compare` (:func:`assert_events_equal`), :mod:`.events` and :mod:`.large` (the
events the contract writes), :mod:`.contract` (:class:`BackendContract`).
"""

from __future__ import annotations

import typing

from .. import _lazy

#: The helpers, and the module of each: imported on first use, so the pytest plugin
#: (:mod:`.plugin`, which every pytest run loads) costs next to nothing.
_EXPORTS = {
    "BackendContract": ".contract",
    "CapturedEvents": ".capture",
    "assert_events_equal": ".compare",
    "capture_events": ".capture",
    "convsdk_events": ".plugin",
    "convsdk_tracker_options": ".plugin",
    "large_events": ".large",
    "large_properties": ".large",
    "numbered_events": ".events",
    "round_trip_events": ".events",
    "unicode_events": ".events",
}

if typing.TYPE_CHECKING:
    from .capture import CapturedEvents as CapturedEvents
    from .capture import capture_events as capture_events
    from .compare import assert_events_equal as assert_events_equal
    from .contract import BackendContract as BackendContract
    from .events import numbered_events as numbered_events
    from .events import round_trip_events as round_trip_events
    from .events import unicode_events as unicode_events
    from .large import large_events as large_events
    from .large import large_properties as large_properties
    from .plugin import convsdk_events as convsdk_events
    from .plugin import convsdk_tracker_options as convsdk_tracker_options
else:
    __getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

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
