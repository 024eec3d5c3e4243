"""Contexts for code running without the middleware: a WSGI environ, an ASGI scope, or
the request a framework (Flask, Starlette / FastAPI) hands a decorated view."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .context import RequestContext
from .request import Request

if TYPE_CHECKING:
    from ..tracker.core import Tracker

__all__ = ["ContextReader", "add_context_reader", "from_environ", "from_framework", "from_scope"]

#: Builds the context of a decorated view's request from the view's arguments (None:
#: not this framework's view). Framework integrations add theirs with
#: :func:`add_context_reader`.
ContextReader = Callable[[tuple[Any, ...], dict[str, Any], "Tracker"], "RequestContext | None"]

_readers: list[ContextReader] = []


def add_context_reader(reader: ContextReader) -> None:
    """Let ``reader`` find the request of a framework's views (once per reader)."""
    if reader not in _readers:
        _readers.append(reader)


def from_environ(environ: Mapping[str, Any], tracker: Tracker | None = None) -> RequestContext:
    """A :class:`RequestContext` for a WSGI environ, without the middleware.

    Applies the tracker's privacy settings (IP anonymisation, Do-Not-Track, bots) and
    reads, but never issues, the visitor and session cookies (a missing or expired
    cookie gives no id). ``tracker`` defaults to the default tracker.
    """
    # Imported here: the recorder loads the privacy rules (the bot patterns), which
    # code importing convsdk.context (the decorators, the test plugin) does not need.
    from ..interactions import default_recorder

    return default_recorder().read_context(Request.from_environ(environ), tracker)


def from_scope(scope: Mapping[str, Any], tracker: Tracker | None = None) -> RequestContext:
    """A :class:`RequestContext` for an ASGI scope, without the middleware.

    See :func:`from_environ`.
    """
    from ..interactions import default_recorder

    return default_recorder().read_context(Request.from_scope(scope), tracker)


def from_framework(
    args: tuple[Any, ...], kwargs: dict[str, Any], tracker: Tracker
) -> RequestContext | None:
    """A context for a decorated view running without the middleware.

    Flask's request is found through ``flask.request``; a Starlette / FastAPI view
    passes its ``Request`` among its arguments. Framework modules are looked up in
    ``sys.modules``, never imported here. The context carries the request details and
    the visitor and session ids when the browser sent valid cookies (nothing can be
    issued without the response); privacy settings apply as with the middleware.
    """
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_request_context():
        return from_environ(flask.request.environ, tracker)
    for reader in _readers:
        ctx = reader(args, kwargs, tracker)
        if ctx is not None:
            return ctx
    starlette_requests = sys.modules.get("starlette.requests")
    if starlette_requests is not None:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, starlette_requests.HTTPConnection):
                return from_scope(arg.scope, tracker)
    return None
