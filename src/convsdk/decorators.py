"""``track_micro`` / ``track_macro`` route decorators and ``annotate``.

>>> @app.post("/checkout")
... @track_macro("purchase", currency="USD")
... def checkout():
...     order = place_order(request.form)
...     annotate(value=order.total, transaction_id=order.id)
...     return redirect("/thanks")

The conversion is recorded when the view returns normally with a status below 400
(``status=`` names other statuses: ``"3xx"`` for a Post/Redirect/Get form), and only
for the requests that do what the goal names: a view that serves a form (``GET``) and
takes its submission (``POST``) converts on the submission only, and only when it
redirects (Post/Redirect/Get: a failed submission shows the form again with 200); a
view that takes submissions only converts on them (status below 400); a ``GET``-only
view on ``GET``. The methods are read from Flask's URL rules or Starlette's routes,
for the view's URL; ``methods=`` and ``status=`` override. :func:`cancel_conversion`
inside the view drops the request's conversions (a form that failed validation).
Decorators find the default
tracker when the view runs, so they can be applied at import time, before
:func:`convsdk.init`. Tracking never breaks the view: a problem
inside convsdk is logged on the ``convsdk`` logger and the view's result is returned
unchanged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar, cast, overload

from . import context as _context
from . import runtime
from .errors import ConfigError
from .event import check_name
from .goals import StatusSpec, parse_status

__all__ = ["annotate", "cancel_conversion", "track_macro", "track_micro"]

log = logging.getLogger("convsdk.decorators")

F = TypeVar("F", bound=Callable[..., Any])
Dynamic = Any  # a constant, or a callable of the view's result


class _Notes:
    """What ``annotate()`` said during one decorated call."""

    __slots__ = ("cancelled", "currency", "properties", "transaction_id", "user_id", "value")

    def __init__(self) -> None:
        self.cancelled = False
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
    ctx = runtime.current_request.get()
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


def cancel_conversion() -> None:
    """Drop the conversions the current request would record.

    Call it in a view whose submission did not succeed (a form shown again with its
    errors): the ``track_micro``/``track_macro`` conversions of the request and the goal
    the middleware would match are dropped; the interaction itself (the form submit)
    is still recorded, as a plain event, so reports keep their denominators.

    >>> @app.route("/register", methods=["GET", "POST"])
    ... @track_macro("signup")
    ... def register():
    ...     if request.method == "POST" and not form.validate():
    ...         cancel_conversion()
    ...         return render_template("register.html", form=form)
    """
    stack = _notes.get()
    for notes in stack:
        notes.cancelled = True
    ctx = runtime.current_request.get()
    if ctx is not None:
        ctx.cancelled = True
        ctx.conversions.clear()
    elif not stack:
        log.debug("cancel_conversion() called outside a tracked view or request: ignored")


# Methods that change something: a view accepting one of them converts on those only.
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _methods(option: Iterable[str] | None) -> frozenset[str] | None:
    if option is None:
        return None
    if isinstance(option, str | bytes) or not isinstance(option, Iterable):
        raise ConfigError(f"must be a list of HTTP methods, got {option!r}", field="methods")
    methods = frozenset(str(m).upper() for m in option)
    unknown = sorted(methods - _ALL_METHODS)
    if unknown or not methods:
        raise ConfigError(
            f"must be a non-empty list of GET, POST, PUT, PATCH, DELETE, got {option!r}",
            field="methods",
        )
    return methods


class _Spec:
    __slots__ = (
        "currency",
        "goal",
        "kind",
        "methods",
        "properties",
        "statuses",
        "transaction_id",
        "value",
    )

    def __init__(
        self,
        goal: str,
        kind: str,
        value: Dynamic,
        currency: str | None,
        properties: Dynamic,
        transaction_id: Dynamic,
        methods: Iterable[str] | None = None,
        status: StatusSpec | None = None,
    ) -> None:
        check_name("goal", goal)
        self.goal = goal
        self.kind = kind
        self.value = value
        self.currency = currency
        self.properties = properties
        self.transaction_id = transaction_id
        self.methods = _methods(methods)
        self.statuses = None if status is None else parse_status(status, goal=goal)


def _view_methods(
    ctx: _context.RequestContext, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> set[str] | None:
    """The methods the running view's URL accepts, as its framework routed it (None:
    unknown), its sibling routes on the same path included (``@app.get("/register")``
    and ``@app.post("/register")`` are one form page).

    Framework modules are looked up in ``sys.modules``, never imported here.
    """
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        return _flask_methods(flask)
    scope = ctx.scope
    if scope is None:
        requests = sys.modules.get("starlette.requests")
        if requests is None:
            return None
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, requests.HTTPConnection):
                scope = arg.scope
                break
        else:
            return None
    return _route_methods(scope)


def _flask_methods(flask: Any) -> set[str] | None:
    rule = flask.request.url_rule
    if rule is None:
        return None
    methods = set(rule.methods or ())
    for other in flask.current_app.url_map.iter_rules():
        if other.rule == rule.rule and other is not rule:
            methods.update(other.methods or ())
    return methods


def _route_methods(scope: Mapping[str, Any]) -> set[str] | None:
    """The methods of the route Starlette / FastAPI matched (``scope["route"]``, or the
    route of ``scope["endpoint"]`` on Starlettes that set no route) and of the
    routes on its path."""
    routes = getattr(scope.get("router"), "routes", ())
    route = scope.get("route")
    if route is None:
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return None
        route = next((r for r in routes if getattr(r, "endpoint", None) is endpoint), None)
    methods = getattr(route, "methods", None)
    if methods is None:
        return None
    found = set(methods)
    path = getattr(route, "path", None)
    for other in routes:
        if other is not route and getattr(other, "path", None) == path:
            found.update(getattr(other, "methods", None) or ())
    return found


_REDIRECTS = frozenset(range(300, 400))


def _rule(
    spec: _Spec, ctx: _context.RequestContext | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, frozenset[int] | None]:
    """Whether this request's method converts, and the statuses it needs (None: below 400).

    A view whose URL also takes a submission (POST, PUT, PATCH, DELETE) converts on
    those only; when the same URL also shows the form (GET), the submission converts
    when it redirects (Post/Redirect/Get: a failed one shows the form again with 200).
    A view that takes no submission converts on GET. ``methods=`` and ``status=``
    override.
    """
    method = ctx.method if ctx is not None else None
    if method is None:
        return True, spec.statuses
    if spec.methods is not None:
        return method in spec.methods, spec.statuses
    allowed = _view_methods(ctx, args, kwargs) if ctx is not None else None
    if allowed is None:
        return True, spec.statuses  # no framework routing to read: record as asked
    writes = _WRITE_METHODS.intersection(allowed)
    if not writes:
        return method == "GET", spec.statuses
    if method not in writes:
        return False, None  # the GET of a form page: the form was shown, not submitted
    if spec.statuses is None and "GET" in allowed:
        return True, _REDIRECTS
    return True, spec.statuses


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
        if notes.cancelled:
            return
        ctx = runtime.current_request.get()
        if ctx is not None and ctx.cancelled:
            return
        # Under a middleware given its own tracker, that tracker records the conversion.
        tracker = ctx.tracker if ctx is not None and ctx.tracker is not None else None
        if tracker is None:
            tracker = runtime.default
        if tracker is None or tracker.closed:
            runtime.warn_no_tracker()
            return
        if ctx is None:
            ctx = _context.from_framework(args, kwargs, tracker)
        if ctx is not None and ctx.method in _context.SKIPPED_METHODS:
            return  # a HEAD or OPTIONS request (a link checker, a preflight) converts nobody
        converts, statuses = _rule(spec, ctx, args, kwargs)
        if not converts:
            return
        # Under a middleware, a status rule is checked against the final response (the
        # view's return value may not tell: FastAPI's status_code=); "below 400" is
        # checked by both.
        waits = ctx is not None and ctx.deferred and ctx.status is None
        if not (waits and statuses is not None):
            status = ctx.status if ctx is not None and ctx.status is not None else None
            if status is None:
                status = _status_of(result)
            if not (status < 400 if statuses is None else status in statuses):
                return
        value = notes.value if notes.value is not None else _resolve(spec.value, result)
        properties = dict(_resolve(spec.properties, result) or {})
        properties.update(notes.properties)
        transaction_id = (
            notes.transaction_id
            if notes.transaction_id is not None
            else _resolve(spec.transaction_id, result)
        )
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
            if statuses is not None:
                if ctx.statuses is None:
                    ctx.statuses = {}
                ctx.statuses[spec.goal] = statuses
        else:
            # (A bare WSGI app starts its response before returning: the status is
            # already known, and was checked above; the conversion is emitted here.)
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
        return _decorator(_Spec(goal.__name__, "micro", None, None, None, None))(goal)
    return _decorator(
        _Spec(goal, "micro", value, currency, properties, transaction_id, methods, status)
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
        return _decorator(_Spec(goal.__name__, "macro", None, None, None, None))(goal)
    return _decorator(
        _Spec(goal, "macro", value, currency, properties, transaction_id, methods, status)
    )
