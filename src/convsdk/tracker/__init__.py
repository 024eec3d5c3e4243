"""The :class:`Tracker` and the module-level default-tracker functions.

>>> tracker = convsdk.init(backend="sqlite:///convsdk.db", goals="goals.toml")
>>> tracker.track("video_played", kind="micro", properties={"video": "demo"})
>>> tracker.flush(timeout=5.0)

The parts: :mod:`~convsdk.tracker.core` (the :class:`Tracker` class),
:mod:`~convsdk.tracker.building` (building its events),
:mod:`~convsdk.tracker.config` (its options and stats), :mod:`~convsdk.tracker.parts`
(its backends, their dispatchers and spools behind one :class:`~convsdk.fanout.FanOut`),
:mod:`~convsdk.tracker.standins` (the parts of a tracker that records nothing),
:mod:`~convsdk.tracker.registry` (the live trackers, closed at exit),
:mod:`~convsdk.tracker.exits` (closed where a process ends with ``os._exit``),
:mod:`~convsdk.tracker.reloaders` (durable under a development server's reloader),
:mod:`~convsdk.tracker.serverless` (delivering per request on serverless platforms)
and :mod:`~convsdk.tracker.default` (the default tracker and ``convsdk.init``,
``convsdk.track``...).
"""

from .config import GoalsArg as GoalsArg
from .config import TrackerOptions as TrackerOptions
from .config import TrackerStats as TrackerStats
from .core import Tracker as Tracker
from .default import close as close
from .default import flush as flush
from .default import forget as forget
from .default import get_tracker as get_tracker
from .default import identify as identify
from .default import init as init
from .default import redirect_events as redirect_events
from .default import set_default as set_default
from .default import track as track

__all__ = [
    "Tracker",
    "TrackerOptions",
    "TrackerStats",
    "close",
    "flush",
    "forget",
    "get_tracker",
    "identify",
    "init",
    "track",
]
