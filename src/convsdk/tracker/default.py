"""The default tracker and the module-level API that uses it: :func:`init`,
:func:`get_tracker`, :func:`track`, :func:`identify`, :func:`forget`, :func:`flush`,
:func:`close` (re-exported as ``convsdk.init`` and so on). The default itself is kept
in :mod:`convsdk.runtime`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Unpack

from .. import runtime
from ..errors import ConvSDKError
from ..event import Event
from .config import TrackerOptions
from .core import Tracker, redirected
from .core import set_redirect as _set_redirect
from .identify import forget_user

__all__ = [
    "close",
    "flush",
    "forget",
    "get_tracker",
    "identify",
    "init",
    "redirect_events",
    "set_default",
    "track",
]


def init(**options: Unpack[TrackerOptions]) -> Tracker:
    """Build a :class:`Tracker` with ``options`` and make it the default one.

    A previous default tracker is closed first. Decorators and the module-level
    :func:`track` use the default tracker. Options not given come from ``CONVSDK_*``
    environment variables (see :mod:`convsdk.options`), so ``convsdk.init()`` alone
    configures from the environment.

    >>> tracker = convsdk.init(backend="sqlite:///convsdk.db", secret_key="...")
    """
    tracker = Tracker(**options)
    previous = runtime.set_default(tracker)
    # (A test's capturing tracker stays open: it keeps receiving every tracker's events.)
    if previous is not None and previous is not tracker and previous is not redirected():
        previous.close()
    return tracker


def redirect_events(target: Tracker | None) -> Tracker | None:
    """Send every tracker's events to ``target`` (``None`` stops); return the previous one.

    For tests (:func:`convsdk.testing.capture_events` uses it): trackers built while a
    target is set build no backend, spool or thread, so nothing reaches a real store.
    """
    return _set_redirect(target)


def get_tracker() -> Tracker:
    """The default tracker; raises :class:`ConvSDKError` before :func:`init`."""
    tracker = runtime.default
    if tracker is None:
        raise ConvSDKError("no default tracker: call convsdk.init(...) first")
    return tracker


set_default = runtime.set_default


def track(
    name: str,
    *,
    kind: str | None = None,
    goal: str | None = None,
    value: Any = None,
    currency: str | None = None,
    transaction_id: Any = None,
    properties: dict[str, Any] | None = None,
    user_id: Any = None,
    timestamp: datetime | None = None,
) -> Event | None:
    """Record an event with the default tracker: :meth:`Tracker.track`, same arguments.

    Before :func:`init` nothing is recorded and a warning is logged once.

    >>> convsdk.track("purchase", kind="macro", value=49.0, currency="EUR")
    """
    # The same signature as Tracker.track, spelt out so help() and editors show it
    # (a test keeps the two alike).
    tracker = runtime.default
    if tracker is None:
        runtime.warn_no_tracker()
        return None
    return tracker.track(
        name,
        kind=kind,
        goal=goal,
        value=value,
        currency=currency,
        transaction_id=transaction_id,
        properties=properties,
        user_id=user_id,
        timestamp=timestamp,
    )


def identify(user_id: Any, traits: Mapping[str, Any] | None = None) -> Event | None:
    """Link the current visitor to ``user_id`` with the default tracker:
    :meth:`Tracker.identify`, same arguments.

    >>> convsdk.identify("user-42", {"email": "ada@example.com", "phone": "+44 20 7946 0958"})
    """
    tracker = runtime.default
    if tracker is None:
        runtime.warn_no_tracker()
        return None
    return tracker.identify(user_id, traits)


def forget() -> bool:
    """Unlink the current visitor from the user id :func:`identify` gave (at logout):
    the request's later events, and the next requests', carry no ``user_id`` nor
    traits, and the response removes the user cookie, so the next person on a shared
    device is not counted as the last one. Records no event; False outside a request
    that records its visitor.

    >>> convsdk.forget()
    """
    return forget_user()


def flush(timeout: float = 5.0) -> bool:
    """Flush the default tracker; True when there is none or everything was delivered."""
    tracker = runtime.default
    return True if tracker is None else tracker.flush(timeout)


def close() -> bool:
    """Close the default tracker and forget it."""
    tracker = set_default(None)
    return True if tracker is None else tracker.close()
