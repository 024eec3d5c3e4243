"""Which methods a Django view takes, for ``track_micro`` / ``track_macro``'s method rule.

A class-based view declares them (its ``get``, ``post``, ... handlers), whether the
decorator is on ``dispatch`` (``method_decorator(..., name="dispatch")`` or on the
method itself) or on a handler. A function view declares nothing (Django routes by
path only), so it is taken for a form page, :data:`FUNCTION_VIEW_METHODS`: it
converts on ``POST`` only, and only when it redirects (Post/Redirect/Get), which
opening the form or a failed submission shown again never does. A page
(``methods=("GET",)``) or an API answering its success with 200 (``status="2xx"``)
says so in the decorator.

Without the middleware, :func:`view_context` gives a decorated view's conversion its
request's details (and the visitor, from the cookies the browser sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.views import View

from ...interactions import default_recorder
from .http import read_request

if TYPE_CHECKING:
    from ...context import RequestContext
    from ...tracker import Tracker

__all__ = [
    "FUNCTION_VIEW_METHODS",
    "class_methods",
    "django_request",
    "view_context",
    "view_methods",
]

#: What a function view is taken to accept: a form shown on GET, taken on POST.
FUNCTION_VIEW_METHODS = frozenset({"GET", "POST"})

# Django answers these itself (View.options, HEAD as GET); they never convert.
_ANSWERED = frozenset({"options", "head"})


def class_methods(view_class: type[Any]) -> set[str]:
    """The methods a class-based view handles (as Django's ``View._allowed_methods``)."""
    return {
        name.upper()
        for name in view_class.http_method_names
        if name not in _ANSWERED and hasattr(view_class, name)
    }


def view_methods(args: tuple[Any, ...], kwargs: dict[str, Any]) -> set[str] | None:
    """The methods of the Django view running with ``args`` (None: not a Django view)."""
    for arg in args:
        if isinstance(arg, View):  # a decorated dispatch(self, request, ...)
            return class_methods(type(arg))
        if isinstance(arg, HttpRequest):
            func = getattr(arg.resolver_match, "func", None)
            view_class = getattr(func, "view_class", None)
            if view_class is not None:
                return class_methods(view_class)
            return set(FUNCTION_VIEW_METHODS)
    return None


def django_request(args: tuple[Any, ...]) -> Any:
    """The ``HttpRequest`` among a Django view's arguments (a class-based view's own), or None."""
    for arg in args:
        if isinstance(arg, HttpRequest):
            return arg
        if isinstance(arg, View):
            return getattr(arg, "request", None)
    return None


def view_context(
    args: tuple[Any, ...], kwargs: dict[str, Any], tracker: Tracker
) -> RequestContext | None:
    """The context of a decorated Django view running without the middleware (cookies
    read, never issued; privacy rules applied), or None: not a Django view."""
    request = django_request(args)
    if request is None:
        return None
    return default_recorder().read_context(read_request(request), tracker)
