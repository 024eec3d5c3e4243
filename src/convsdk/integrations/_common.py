"""Set-up shared by the WSGI and ASGI middlewares (they differ only in I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import options as _options
from .. import privacy
from ..beacon import BeaconEndpoint, pop_beacon_options
from ..interactions import Recorder

if TYPE_CHECKING:
    from ..tracker import Tracker

__all__ = ["prepare"]


def prepare(
    tracker: Tracker | None, options: dict[str, Any]
) -> tuple[Recorder, BeaconEndpoint | None]:
    """The request recorder and, when ``collect`` is on, the browser events endpoint.

    ``options`` are middleware and browser-event options (:mod:`convsdk.options`); those
    not given come from ``CONVSDK_*`` environment variables. An unknown one is a
    :class:`convsdk.ConfigError` with "did you mean".
    """
    # The secret key is the tracker's unless given here: the environment's is the
    # tracker's business (a tracker given its own key must not be overridden).
    options = _options.resolve(
        [_options.MIDDLEWARE, _options.BEACON], options, skip_environ=["secret_key"]
    )
    beacon_options = pop_beacon_options(options)
    recorder = Recorder(**options)
    beacon = (
        None
        if beacon_options is None
        else BeaconEndpoint(tracker, recorder=recorder, **beacon_options)
    )
    # Compile the bot patterns and build the cookie signer now: the first request
    # should not pay for them, and a missing secret key is reported at startup.
    privacy.prepare()
    if tracker is not None:
        recorder.identity(tracker)
    return recorder, beacon
