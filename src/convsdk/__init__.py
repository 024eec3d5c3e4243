"""convsdk: server-side micro and macro conversion tracking for Python web sites.

>>> import convsdk
>>> from convsdk import Goal, track_macro, annotate
>>> tracker = convsdk.init(
...     backend="sqlite:///convsdk.db",
...     goals=[Goal.micro("viewed_pricing", event="page_view", path="/pricing")],
...     secret_key="change-me",
... )
>>> convsdk.track("video_played", kind="micro", properties={"video": "demo"})
"""

import typing

from . import _lazy

__version__ = "0.1.0"

#: What ``convsdk`` exports, and the module that defines each: imported on first use,
#: so ``import convsdk.testing`` or ``convsdk report`` load only what they need.
_EXPORTS = {
    "Backend": ".backends",
    "BackendError": ".errors",
    "ConfigError": ".errors",
    "ConvSDKError": ".errors",
    "Destination": ".fanout",
    "Event": ".event",
    "EventSchema": ".event",
    "Funnel": ".goals",
    "Goal": ".goals",
    "GoalSet": ".goals",
    "Tracker": ".tracker",
    "annotate": ".decorators",
    "cancel_conversion": ".decorators",
    "close": ".tracker",
    "flush": ".tracker",
    "forget": ".tracker",
    "get_tracker": ".tracker",
    "identify": ".tracker.default",  # not the module tracker/identify.py
    "init": ".tracker",
    "load_goals": ".goals",
    "track": ".tracker",
    "track_macro": ".decorators",
    "track_micro": ".decorators",
}

if typing.TYPE_CHECKING:
    from .backends import Backend as Backend
    from .decorators import annotate as annotate
    from .decorators import cancel_conversion as cancel_conversion
    from .decorators import track_macro as track_macro
    from .decorators import track_micro as track_micro
    from .errors import BackendError as BackendError
    from .errors import ConfigError as ConfigError
    from .errors import ConvSDKError as ConvSDKError
    from .event import Event as Event
    from .event import EventSchema as EventSchema
    from .fanout import Destination as Destination
    from .goals import Funnel as Funnel
    from .goals import Goal as Goal
    from .goals import GoalSet as GoalSet
    from .goals import load_goals as load_goals
    from .tracker import Tracker as Tracker
    from .tracker import close as close
    from .tracker import flush as flush
    from .tracker import forget as forget
    from .tracker import get_tracker as get_tracker
    from .tracker import init as init
    from .tracker import track as track
    from .tracker.default import identify as identify
else:
    __getattr__, __dir__ = _lazy.lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Backend",
    "BackendError",
    "ConfigError",
    "ConvSDKError",
    "Destination",
    "Event",
    "EventSchema",
    "Funnel",
    "Goal",
    "GoalSet",
    "Tracker",
    "__version__",
    "annotate",
    "cancel_conversion",
    "close",
    "flush",
    "forget",
    "get_tracker",
    "identify",
    "init",
    "load_goals",
    "track",
    "track_macro",
    "track_micro",
]
