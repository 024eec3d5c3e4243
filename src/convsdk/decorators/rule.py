"""The method and status rule: which requests to a decorated view convert.

A view whose URL also takes a submission converts on the submission only (and, when
the same URL shows the form on ``GET``, only when it redirects); a view that takes no
submission converts on ``GET``. The methods are read from Flask's URL rules or
Starlette's routes; ``methods=`` and ``status=`` override.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from .. import context as _context
from .spec import Spec

# Methods that change something: a view accepting one of them converts on those only.
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Reads the methods a decorated view's URL takes from the view's arguments (None:
#: not this framework's view). Framework integrations add theirs with
#: :func:`add_method_reader`.
MethodReader = Callable[[tuple[Any, ...], dict[str, Any]], "set[str] | None"]

_readers: list[MethodReader] = []


def add_method_reader(reader: MethodReader) -> None:
    """Let ``reader`` tell the methods of a framework's views (once per reader)."""
    if reader not in _readers:
        _readers.append(reader)


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
    for reader in _readers:
        methods = reader(args, kwargs)
        if methods is not None:
            return methods
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


def rule(
    spec: Spec, ctx: _context.RequestContext | None, args: tuple[Any, ...], kwargs: dict[str, Any]
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


def status_of(result: Any) -> int:
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
