"""A tracker's options: :class:`TrackerOptions` (their types and what each one does) and
:func:`settings`, the values a tracker runs with (keyword argument > ``CONVSDK_*``
environment variable > default, see :mod:`convsdk.options`), checked together."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from .. import options as _options
from ..dispatch import Backpressure
from ..errors import ConfigError
from ..fanout import BackendArg, DeliveryStats, Hook
from ..goals import Funnel, Goal, GoalSet
from .reloaders import reloader_child
from .serverless import serverless_platform, temporary_spool_dir

log = logging.getLogger("convsdk.tracker")

GoalsArg = str | os.PathLike[str] | GoalSet | Iterable[Goal | Funnel]


class TrackerOptions(TypedDict, total=False):
    """The keyword options of :class:`~convsdk.Tracker` (and :func:`convsdk.init`).

    ``backend``: URL or :class:`~convsdk.backends.Backend` instance, or a list of URLs,
    backends and :class:`~convsdk.Destination` objects: each gets its own queue,
    retries, spool and counters (see :mod:`convsdk.fanout`); ``CONVSDK_BACKEND`` may
    list several, separated by commas or spaces. :attr:`~convsdk.Tracker.backend` is the
    first, :attr:`~convsdk.Tracker.backends` all of them.
    ``before_send``: ``hook(event) -> event | None``, called with a copy of each event
    before any destination gets it: edit and return it, or return None to drop it
    (counted per destination as ``hook_dropped``; a hook that raises is logged, counted
    as ``hook_errors``, and its event dropped). A destination may have its own
    (``Destination(url, before_send=...)``), applied after this one.
    ``goals``: goals and funnels, or the path of a ``goals.toml`` / ``goals.json``.
    ``secret_key``: signs the visitor and session cookies (default: env
    ``CONVSDK_SECRET_KEY``; without one the middleware runs cookieless).
    ``batch_size``, ``flush_interval`` (seconds): a batch is written when either is reached.
    ``max_queue_size``: events held in memory before the backpressure policy applies.
    ``spool_dir``: where undeliverable events wait on disk (``None`` disables it); the
    next tracker opened on the same directory delivers what is left there, and
    processes (pre-forked workers) may share one.
    ``durable``: append every event to the spool's write-ahead log (one unbuffered
    write, no fsync) before ``track()`` returns, so a killed process loses nothing
    ``track()`` returned; needs ``spool_dir``.
    ``flush_after_request``: the middleware delivers each request's events before it
    hands the response back, and ``track()`` outside a request delivers its event
    before it returns. For platforms that freeze the process between requests; on by
    default on AWS Lambda, Vercel and Google Cloud Functions (see
    :mod:`convsdk.tracker.serverless`).
    ``fsync``: ``"never"`` (default; survives a killed process, not a power cut) or
    ``"batch"`` (spool files are flushed to disk once per dispatcher cycle, so at most
    ``flush_interval`` seconds of events are at risk in a power cut); ``True`` /
    ``False`` mean ``"batch"`` / ``"never"``.
    ``backpressure``: when the queue is full, ``"spool"`` (default with a spool),
    ``"drop_newest"`` (default without) or ``"drop_oldest"``; each counted in
    :meth:`~convsdk.Tracker.stats`.
    ``max_spool_bytes``: disk the spool may use (default 512 MiB); past it the oldest
    segments are deleted, their events counted as dropped.
    ``max_retries``, ``retry_max_delay``, ``retry_timeout``: a failing batch is retried
    up to ``max_retries`` times with exponential backoff and full jitter, each wait at
    most ``retry_max_delay`` seconds (also the cap on a backend's ``retry_after`` and on
    the probe interval while the backend is down), all in at most ``retry_timeout``
    seconds; then it goes to the spool, replayed once the backend answers again. A batch
    the backend refuses for good (``BackendError(retryable=False)``) is not retried: it
    goes to ``<spool_dir>/dead-letter/`` with the error.
    ``shutdown_timeout``: how long ``close()`` (and interpreter exit) may flush; what
    is not delivered by then goes to the spool.
    ``signal_handlers``: ``False`` leaves SIGTERM and SIGINT alone (an app or a server
    that handles them itself and calls ``convsdk.close()``); by default the first
    tracker built in the main thread closes every tracker on them, then hands the signal
    on (see :mod:`convsdk.shutdown`).
    ``anonymize_ip``, ``respect_dnt``, ``filter_bots``: privacy defaults, all on.
    ``session_timeout``: seconds of inactivity that end a session.
    ``currency``: the ISO 4217 code for values given without one.
    ``max_value``: the largest conversion value (in absolute terms) an event may carry
    (default 1e9). Values come from visitors (``value_from="form:total"``); one out of
    range is dropped from its event, which is still recorded, with a warning (at most
    once a minute) and counted in :meth:`~convsdk.Tracker.stats` as ``values_dropped``.
    ``enabled``: ``False`` records nothing: no backend is built, no spool directory
    created, no thread started; ``track()`` still builds and returns the event (so
    code using it behaves the same), ``flush()`` returns True and ``stats()`` zeros.
    Middleware and decorators keep running (cookies are still set).
    ``phone_country_code``: the country calling code (``"44"``, ``"1"``) of phone numbers
    given to :meth:`~convsdk.Tracker.identify` in national form (``"(020) 7946-0958"``);
    without it only international numbers (``"+44 20 7946 0958"``) are kept.

    Every option may also come from a ``CONVSDK_<NAME>`` environment variable
    (``CONVSDK_BACKEND``, ``CONVSDK_BATCH_SIZE``, ``CONVSDK_DISABLED=1``, ...); a keyword
    argument wins. An unknown option is a :class:`~convsdk.ConfigError` with "did you
    mean". (Written out for mypy; a test checks it lists exactly the tracker options of
    :mod:`convsdk.options`.)
    """

    enabled: bool
    backend: BackendArg | Sequence[BackendArg]
    before_send: Hook | None
    goals: GoalsArg
    secret_key: str | bytes | None
    batch_size: int
    flush_interval: float
    max_queue_size: int
    spool_dir: str | os.PathLike[str] | None
    durable: bool
    flush_after_request: bool
    fsync: bool | str
    backpressure: Backpressure | None
    max_spool_bytes: int
    max_retries: int
    retry_max_delay: float
    retry_timeout: float
    shutdown_timeout: float
    signal_handlers: bool
    anonymize_ip: bool
    respect_dnt: bool
    filter_bots: bool
    session_timeout: int
    currency: str
    max_value: float
    phone_country_code: str | None


class TrackerStats(DeliveryStats):
    """What :meth:`~convsdk.Tracker.stats` returns: the delivery counters (summed over
    the backends, and per backend under ``destinations``), ``bots`` and
    ``values_dropped``."""

    bots: int
    values_dropped: int


def settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Every tracker option's value: keyword argument > ``CONVSDK_*`` environment
    variable > default; ``spool_dir`` made absolute, ``backpressure`` defaulted from it.

    A combination that cannot work (``"spool"`` or ``durable=True`` without a
    ``spool_dir``) is a :class:`~convsdk.ConfigError`. In the serving process of a
    development server's reloader, which kills it when stopped, ``durable`` defaults to
    True when there is a spool (see :mod:`convsdk.tracker.reloaders`). On a serverless
    platform, ``flush_after_request`` defaults to True and ``spool_dir`` to the system's
    temporary directory (see :mod:`convsdk.tracker.serverless`).
    """
    given = _options.resolve([_options.TRACKER], options)
    values = {**_options.defaults(_options.TRACKER), **given}
    platform = serverless_platform() if values["enabled"] else None
    if platform is not None:
        _serverless_defaults(values, given, platform)
    spool_dir = values["spool_dir"]
    values["spool_dir"] = spool_dir = os.path.abspath(spool_dir) if spool_dir is not None else None
    if "durable" not in given and spool_dir is not None and values["enabled"]:
        reloader = reloader_child()
        if reloader is not None:
            values["durable"] = True
            log.info(
                "serving under %s, which kills this process when it is stopped: every "
                "event goes to the spool as it is tracked (durable=True; durable=False "
                "turns this off)",
                reloader,
            )
    backpressure = values["backpressure"]
    if backpressure is None:
        values["backpressure"] = backpressure = "spool" if spool_dir is not None else "drop_newest"
    if backpressure == "spool" and spool_dir is None:
        raise ConfigError("'spool' needs a spool_dir", field="backpressure")
    if values["durable"] and spool_dir is None:
        raise ConfigError("durable=True needs a spool_dir", field="durable")
    code = values["phone_country_code"]
    if code is not None:
        code = values["phone_country_code"] = code.strip().lstrip("+")
        if not (code.isdigit() and 1 <= len(code) <= 3):
            raise ConfigError(f"{code!r} is no country calling code", field="phone_country_code")
    return values


def _serverless_defaults(values: dict[str, Any], given: Mapping[str, Any], platform: str) -> None:
    """The defaults of a tracker on ``platform``, which freezes the process between
    requests; an option given wins."""
    if "flush_after_request" not in given:
        values["flush_after_request"] = True
        log.info(
            "running on %s, which freezes this process once a response is returned: "
            "each request's events are delivered before its response "
            "(flush_after_request=False turns this off)",
            platform,
        )
    if "spool_dir" not in given:
        values["spool_dir"] = temporary_spool_dir()
