"""``track_micro`` / ``track_macro`` route decorators and ``annotate``.

>>> @app.post("/checkout")
... @track_macro("purchase", currency="USD")
... def checkout():
...     order = place_order(request.form)
...     annotate(value=order.total, transaction_id=order.id)
...     return redirect("/thanks")

The conversion is recorded when the view returns normally with a status below 400.
Decorators find the default tracker when the view runs, so they can be applied at
import time, before :func:`convsdk.init`. Tracking never breaks the view: a problem
inside convsdk is logged on the ``convsdk`` logger and the view's result is returned
unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast, overload

from . import context as _context
from . import tracker as _tracker
from .event import _check_name

__all__ = ["annotate", "track_macro", "track_micro"]

log = logging.getLogger("convsdk.decorators")

F = TypeVar("F", bound=Callable[..., Any])
Dynamic = Any  # a constant, or a callable of the view's result


class _Notes:
    """What ``annotate()`` said during one decorated call."""

    __slots__ = ("currency", "properties", "transaction_id", "user_id", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.currency: str | None = None
        self.transaction_id: Any = None
        self.user_id: Any = None
        self.properties: dict[str, Any] = {}


_notes: ContextVar[tuple[_Notes, ...]] = ContextVar("convsdk_notes", default=())


def annotate(
    *,
    value: Any = None,
    currency: str | None = None,
    transaction_id: Any = None,
    properties: dict[str, Any] | None = None,
    user_id: Any = None,
) -> None:
    """Fill in, from inside the view, what only the view knows about the conversion.

    Applies to every ``track_micro``/``track_macro`` decorator around the running view;
    outside a decorated view it applies to the goals the middleware matches for the
    current request (``value`` and ``transaction_id`` of a checkout, say).
    """
    stack = _notes.get()
    if stack:
        for notes in stack:
            if value is not None:
                notes.value = value
            if currency is not None:
                notes.currency = currency
            if transaction_id is not None:
                notes.transaction_id = transaction_id
            if user_id is not None:
                notes.user_id = user_id
            if properties:
                notes.properties.update(properties)
        return
    ctx = _context._current.get()
    if ctx is None:
        log.debug("annotate() called outside a tracked view or request: ignored")
        return
    given = {
        "value": value,
        "currency": currency,
        "transaction_id": transaction_id,
        "user_id": user_id,
    }
    ctx.annotations.update({k: v for k, v in given.items() if v is not None})
    if properties:
        ctx.annotations.setdefault("properties", {}).update(properties)


class _Spec:
    __slots__ = ("currency", "goal", "kind", "properties", "transaction_id", "value")

    def __init__(
        self,
        goal: str,
        kind: str,
        value: Dynamic,
        currency: str | None,
        properties: Dynamic,
        transaction_id: Dynamic,
    ) -> None:
        _check_name("goal", goal)
        self.goal = goal
        self.kind = kind
        self.value = value
        self.currency = currency
        self.properties = properties
        self.transaction_id = transaction_id


def _status_of(result: Any) -> int:
    """The HTTP status a view's return value answers with (200 when it does not say)."""
    status = getattr(result, "status_code", None)
    if isinstance(status, int):
        return status
    if isinstance(result, tuple) and len(result) >= 2:
        # Flask: (body, status), (body, status, headers), (body, headers)
        if isinstance(result[1], int):
            return result[1]
        status = getattr(result[0], "status_code", None)
        if isinstance(status, int):
            return status
    return 200


def _resolve(option: Dynamic, result: Any) -> Any:
    return option(result) if callable(option) else option


def _record(
    spec: _Spec, notes: _Notes, result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        if _status_of(result) >= 400:
            return
        ctx = _context._current.get()
        # Under a middleware given its own tracker, that tracker records the conversion.
        tracker = ctx.tracker if ctx is not None and ctx.tracker is not None else None
        if tracker is None:
            tracker = _tracker._get_default()
        if tracker is None or tracker.closed:
            _tracker._warn_no_tracker()
            return
        value = notes.value if notes.value is not None else _resolve(spec.value, result)
        properties = dict(_resolve(spec.properties, result) or {})
        properties.update(notes.properties)
        transaction_id = (
            notes.transaction_id
            if notes.transaction_id is not None
            else _resolve(spec.transaction_id, result)
        )
        if ctx is None:
            ctx = _context.from_framework(args, kwargs, tracker)
        if ctx is not None and ctx.method in _context.SKIPPED_METHODS:
            return  # a HEAD or OPTIONS request (a link checker, a preflight) converts nobody
        event = tracker.build_event(
            spec.goal,
            kind=spec.kind,
            goal=spec.goal,
            value=value,
            currency=notes.currency or spec.currency,
            transaction_id=transaction_id,
            properties=properties,
            user_id=notes.user_id,
            ctx=ctx,
        )
        if event is None:
            return
        if ctx is not None and ctx.deferred and ctx.status is None:
            # The middleware knows the final status: it emits (or drops) the
            # conversion when the response starts, merged with its own goal match,
            # whose currency stands unless this view named one.
            if not (notes.currency or spec.currency):
                event.currency = None
            ctx.conversions[spec.goal] = event
        elif ctx is None or ctx.status is None or ctx.status < 400:
            # (A bare WSGI app starts its response before returning: the status is
            # already known, so the conversion is emitted here.)
            tracker.emit(event)
    except Exception:
        log.exception("convsdk could not record the %r conversion", spec.goal)


def _decorator(spec: _Spec) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        if inspect.iscoroutinefunction(view):
            async_view = cast(Callable[..., Awaitable[Any]], view)

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                notes = _Notes()
                token = _notes.set((*_notes.get(), notes))
                try:
                    result = await async_view(*args, **kwargs)
                finally:
                    _notes.reset(token)
                _record(spec, notes, result, args, kwargs)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            notes = _Notes()
            token = _notes.set((*_notes.get(), notes))
            try:
                result = view(*args, **kwargs)
            finally:
                _notes.reset(token)
            _record(spec, notes, result, args, kwargs)
            return result

        return cast(F, wrapper)

    return decorate


@overload
def track_micro(goal: F) -> F: ...
@overload
def track_micro(
    goal: str,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
) -> Callable[[F], F]: ...


def track_micro(
    goal: str | F,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
) -> Callable[[F], F] | F:
    """Record a micro conversion named ``goal`` when the view succeeds.

    ``value``, ``properties`` and ``transaction_id`` take a constant or a callable of
    the view's result. Used bare (``@track_micro``) the goal is the view's name.

    >>> @app.post("/newsletter")
    ... @track_micro("newsletter_signup", properties={"list": "weekly"})
    ... def newsletter(): ...
    """
    if callable(goal):
        return _decorator(_Spec(goal.__name__, "micro", None, None, None, None))(goal)
    return _decorator(_Spec(goal, "micro", value, currency, properties, transaction_id))


@overload
def track_macro(goal: F) -> F: ...
@overload
def track_macro(
    goal: str,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
) -> Callable[[F], F]: ...


def track_macro(
    goal: str | F,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
) -> Callable[[F], F] | F:
    """Record a macro conversion named ``goal`` (a purchase, a paid signup) when the view succeeds.

    >>> @app.post("/checkout")
    ... @track_macro("purchase", currency="USD")
    ... def checkout():
    ...     annotate(value=order.total, transaction_id=order.id)
    ...     return redirect("/thanks")
    """
    if callable(goal):
        return _decorator(_Spec(goal.__name__, "macro", None, None, None, None))(goal)
    return _decorator(_Spec(goal, "macro", value, currency, properties, transaction_id))
