"""pytest plugin: every Falcon app built during a run answers through convsdk's middleware.

Loaded with ``-p convsdk_field_falcon`` by ``run_suites.py`` when it runs Falcon's own
test suite, which builds WSGI apps (``falcon.App``) and ASGI ones (``falcon.asgi.App``)
and calls them directly from its test client. It patches both classes' ``__call__``:
each app answers through a ``ConversionMiddleware`` (the WSGI one, or the ASGI one)
around its own ``__call__``, made at its first request. The apps stay what they are
(the suite checks their type to pick WSGI or ASGI), as ``app = ConversionMiddleware(app)``
would not leave them.

Falcon's test client runs an ASGI app's lifespan around each request: the middleware
delivers the tracker's events at each shutdown, and the next request records on. The
tracker and the summary at the end are :mod:`field_tracker`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import field_tracker

from convsdk.integrations.asgi import ConversionMiddleware as ASGIMiddleware
from convsdk.integrations.wsgi import ConversionMiddleware as WSGIMiddleware

_state = {"apps": 0}
# Falcon's apps have __slots__ (no attribute of ours, no weak reference): each app's
# middleware is kept by the app's id, with the app, so that the id is not reused.
_middleware: dict[int, tuple[Any, Any]] = {}


def _around(app: Any, call: Callable[..., Any], kind: type) -> Any:
    """The middleware of ``kind`` around ``app``'s own ``call``, made once an app."""
    found = _middleware.get(id(app))
    if found is None or found[0] is not app:
        _state["apps"] += 1
        found = _middleware[id(app)] = (app, kind(functools.partial(call, app)))
    return found[1]


def _patch() -> None:
    import falcon
    import falcon.asgi

    wsgi_call = falcon.App.__call__
    asgi_call = falcon.asgi.App.__call__
    if getattr(wsgi_call, "_convsdk_field", False):
        return

    def wsgi(self: Any, environ: Any, start_response: Any) -> Any:
        return _around(self, wsgi_call, WSGIMiddleware)(environ, start_response)

    async def asgi(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await _around(self, asgi_call, ASGIMiddleware)(scope, receive, send)

    wsgi._convsdk_field = True  # type: ignore[attr-defined]
    falcon.App.__call__ = wsgi  # type: ignore[method-assign]
    falcon.asgi.App.__call__ = asgi  # type: ignore[method-assign]


pytest_configure, pytest_runtest_setup = field_tracker.patching(_patch)


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{_state['apps']} Falcon apps wrapped")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
