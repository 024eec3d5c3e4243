"""``nats://``: events published to NATS JetStream (extra ``nats``).

::

    nats://broker.internal:4222/convsdk.events?stream=CONVSDK
    nats://user:password@broker.internal:4222/convsdk.events

The path is the subject (default ``convsdk.events``); ``stream`` names the JetStream
stream (default ``CONVSDK``), created with that one subject if it does not exist (create
it yourself to choose retention, replicas and limits). Query options, all in seconds:
``timeout`` (default 10) bounds a batch's acknowledgements, ``connect_timeout``
(default 5) a connection attempt, ``ack_wait`` (default 30) is how long a consumer
(:func:`convsdk.consume.consume`) has before JetStream delivers an unacknowledged
message again.

Every message carries the header ``Nats-Msg-Id: <event_id>``, so JetStream drops a
batch sent again within the stream's duplicate window (two minutes by default).

nats-py is asyncio; the backend is not. It runs one event loop in a daemon thread of
its own (:class:`EventLoopThread`, started on the first write) and waits for each batch
there with a timeout.

The package: :mod:`.target` (the URL), :mod:`.loop` (:class:`EventLoopThread`),
:mod:`.connection` (connecting, the stream), :mod:`.backend` (:class:`NATSBackend`).
"""

from __future__ import annotations

from .backend import NATSBackend
from .connection import ensure_stream, open_connection
from .loop import EventLoopThread
from .target import DEFAULT_STREAM, DEFAULT_SUBJECT, NATSTarget

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_SUBJECT",
    "EventLoopThread",
    "NATSBackend",
    "NATSTarget",
    "ensure_stream",
    "open_connection",
]
