"""Set-up shared by the WSGI and ASGI middlewares (they differ only in I/O)."""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from .. import options as _options
from .. import privacy
from ..beacon import BeaconEndpoint, pop_beacon_options
from ..browser.config import middleware_error
from ..errors import ConfigError
from ..interactions import Recorder

if TYPE_CHECKING:
    from ..tracker import Tracker

__all__ = ["check_app", "prepare"]

log = logging.getLogger("convsdk.integrations")

_OTHER = {"wsgi": "asgi", "asgi": "wsgi"}


def check_app(app: Any, protocol: str) -> None:
    """Refuse an app of the other protocol, and warn about one wrapped twice.

    A WSGI app is a plain callable; an ASGI app's call is a coroutine function.
    Called with the wrong one, a middleware would fail on every request with a
    ``TypeError`` about argument counts.
    """
    # A function, or the bound __call__ of an app object.
    call = app if inspect.isroutine(app) else getattr(app, "__call__", None)  # noqa: B004
    is_asgi = inspect.iscoroutinefunction(call)
    looks_wsgi = hasattr(app, "wsgi_app") or (not is_asgi and callable(app) and _takes_two(call))
    wrong = (protocol == "wsgi" and is_asgi) or (protocol == "asgi" and not is_asgi and looks_wsgi)
    if wrong:
        other = _OTHER[protocol]
        raise ConfigError(
            f"{app!r} is an app of the {other.upper()} protocol: wrap it with "
            f"convsdk.integrations.{other}.ConversionMiddleware",
            field="app",
        )
    if type(app).__name__ == "ConversionMiddleware" and type(app).__module__.startswith(
        "convsdk.integrations"
    ):
        log.warning(
            "this app is already wrapped by convsdk's middleware: wrap it once (the inner "
            "one records nothing, so each request still counts once)"
        )


def _takes_two(call: Any) -> bool:
    """Whether ``call`` takes exactly WSGI's two positional arguments."""
    try:
        params = inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 2 and not any(p.kind is p.VAR_POSITIONAL for p in params)


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
    beacon = None
    if beacon_options is not None:
        try:
            beacon = BeaconEndpoint(tracker, recorder=recorder, **beacon_options)
        except ConfigError as exc:
            raise middleware_error(exc) from None
    # Compile the bot patterns and build the cookie signer now: the first request
    # should not pay for them, and a missing secret key is reported at startup.
    privacy.prepare()
    if tracker is not None:
        recorder.identity(tracker)
    return recorder, beacon
