"""Fan-out: one tracker, several destinations, each with its own queue, retries, spool
and counters, so a slow or failing destination never delays or loses another.

>>> convsdk.init(backend=[
...     "sqlite:///convsdk.db",                                  # a store: every event
...     Destination("ga4://G-XXXX?api_secret=...", forward="macro,newsletter"),
... ])

The parts: :mod:`~convsdk.fanout.destination` (:class:`Destination`, its ``forward=``
filter and page-view sampling), :mod:`~convsdk.fanout.hooks` (running ``before_send``
hooks), :mod:`~convsdk.fanout.entries` (the ``backend=`` list read into destinations)
and :mod:`~convsdk.fanout.fanout` (:class:`FanOut`, the dispatchers as one).
:mod:`~convsdk.fanout.spools` matches each destination to its spool directory by the
record of its key in the directory, so a spool replays only into the destination it
was written for, whatever the order of ``backend=``.
"""

from .destination import Destination as Destination
from .destination import DestinationOptions as DestinationOptions
from .destination import Hook as Hook
from .entries import BackendArg as BackendArg
from .fanout import DeliveryStats as DeliveryStats
from .fanout import FanOut as FanOut

__all__ = ["BackendArg", "DeliveryStats", "Destination", "DestinationOptions", "FanOut", "Hook"]
