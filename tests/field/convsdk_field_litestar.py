"""pytest plugin: every Litestar app built during a run answers through convsdk's middleware.

Loaded with ``-p convsdk_field_litestar`` by ``run_suites.py`` when it runs Litestar's
own test suite. Its test clients (``TestClient``, ``AsyncTestClient``, the lifespan
handler they start) and its unit tests call the app itself, ``await app(scope,
receive, send)``: the plugin patches ``Litestar.__call__``, its ASGI entry, so that each
app answers through an ASGI ``ConversionMiddleware`` around its own ``__call__``, made
at its first call, as ``app = ConversionMiddleware(app)`` would wrap it. The apps keep
their type and attributes, which the suite checks (and which a mounted Litestar app, or
``scope["app"]``, refers to).

The test clients run the app's lifespan around each ``with`` block: the middleware
delivers the tracker's events at each shutdown, and the next test records on. The
tracker and the summary at the end are :mod:`field_tracker`'s.
"""

from __future__ import annotations

from typing import Any

import field_tracker

from convsdk.integrations.asgi import ConversionMiddleware

_apps = field_tracker.SlottedApps()


def _patch() -> None:
    from litestar import Litestar

    original = Litestar.__call__
    if getattr(original, "_convsdk_field", False):
        return

    async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await _apps.around(self, original, ConversionMiddleware)(scope, receive, send)

    __call__._convsdk_field = True  # type: ignore[attr-defined]
    Litestar.__call__ = __call__  # type: ignore[method-assign]


pytest_configure, pytest_runtest_setup = field_tracker.patching(_patch)


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{_apps.count} Litestar apps wrapped")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
