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

from typing import Any

import field_tracker

from convsdk.integrations.asgi import ConversionMiddleware as ASGIMiddleware
from convsdk.integrations.wsgi import ConversionMiddleware as WSGIMiddleware

_apps = field_tracker.SlottedApps()


def _patch() -> None:
    import falcon
    import falcon.asgi

    wsgi_call = falcon.App.__call__
    asgi_call = falcon.asgi.App.__call__
    if getattr(wsgi_call, "_convsdk_field", False):
        return

    def wsgi(self: Any, environ: Any, start_response: Any) -> Any:
        return _apps.around(self, wsgi_call, WSGIMiddleware)(environ, start_response)

    async def asgi(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await _apps.around(self, asgi_call, ASGIMiddleware)(scope, receive, send)

    wsgi._convsdk_field = True  # type: ignore[attr-defined]
    falcon.App.__call__ = wsgi  # type: ignore[method-assign]
    falcon.asgi.App.__call__ = asgi  # type: ignore[method-assign]


pytest_configure, pytest_runtest_setup = field_tracker.patching(_patch)


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{_apps.count} Falcon apps wrapped")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
