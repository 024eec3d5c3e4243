"""The decorator factories ``track_micro`` and ``track_macro``: wrap a view (sync or
async) so that each call collects its notes and records its conversion afterwards."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast, overload

from ..goals import StatusSpec
from .notes import Notes, notes_stack
from .record import record
from .spec import Dynamic, Spec

F = TypeVar("F", bound=Callable[..., Any])


def _decorator(spec: Spec) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        if inspect.iscoroutinefunction(view):
            async_view = cast(Callable[..., Awaitable[Any]], view)

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                notes = Notes()
                token = notes_stack.set((*notes_stack.get(), notes))
                try:
                    result = await async_view(*args, **kwargs)
                finally:
                    notes_stack.reset(token)
                record(spec, notes, result, args, kwargs)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            notes = Notes()
            token = notes_stack.set((*notes_stack.get(), notes))
            try:
                result = view(*args, **kwargs)
            finally:
                notes_stack.reset(token)
            record(spec, notes, result, args, kwargs)
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
    methods: Iterable[str] | None = None,
    status: StatusSpec | None = None,
) -> Callable[[F], F]: ...


def track_micro(
    goal: str | F,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
    methods: Iterable[str] | None = None,
    status: StatusSpec | None = None,
) -> Callable[[F], F] | F:
    """Record a micro conversion named ``goal`` when the view succeeds.

    ``value``, ``properties`` and ``transaction_id`` take a constant or a callable of
    the view's result. Used bare (``@track_micro``) the goal is the view's name.
    ``methods`` names the request methods that convert (default: the view's
    submission methods if it has any, else ``GET``); ``status`` the response statuses
    (``"2xx"``, ``"3xx"``, a code or a list; default: below 400, and 3xx for the
    submission of a view that also shows its form on ``GET``).

    >>> @app.post("/newsletter")
    ... @track_micro("newsletter_signup", properties={"list": "weekly"})
    ... def newsletter(): ...
    """
    if callable(goal):
        return _decorator(Spec(goal.__name__, "micro", None, None, None, None))(goal)
    return _decorator(
        Spec(goal, "micro", value, currency, properties, transaction_id, methods, status)
    )


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
    methods: Iterable[str] | None = None,
    status: StatusSpec | None = None,
) -> Callable[[F], F]: ...


def track_macro(
    goal: str | F,
    *,
    value: Dynamic = None,
    currency: str | None = None,
    properties: Dynamic = None,
    transaction_id: Dynamic = None,
    methods: Iterable[str] | None = None,
    status: StatusSpec | None = None,
) -> Callable[[F], F] | F:
    """Record a macro conversion named ``goal`` (a purchase, a paid signup) when the view succeeds.

    Options as for :func:`track_micro`. A form view (``GET`` shows it, ``POST`` takes
    it) converts on a ``POST`` that redirects (a failed one shows the form again with
    200); ``status="2xx"`` for a form that answers its success with a page.

    >>> @app.post("/checkout")
    ... @track_macro("purchase", currency="USD")
    ... def checkout():
    ...     annotate(value=order.total, transaction_id=order.id)
    ...     return redirect("/thanks")
    """
    if callable(goal):
        return _decorator(Spec(goal.__name__, "macro", None, None, None, None))(goal)
    return _decorator(
        Spec(goal, "macro", value, currency, properties, transaction_id, methods, status)
    )
