"""pytest plugin: every Pyramid router and Bottle app answers through convsdk's WSGI middleware.

Loaded with ``-p convsdk_field_wsgi`` by ``run_suites.py`` when it runs Pyramid's or
Bottle's own test suite. Both frameworks' apps are WSGI callables whose class defines
``__call__`` (``pyramid.router.Router``, ``bottle.Bottle``); the plugin patches it on
each class it can import: an app answers through a ``ConversionMiddleware`` around its
own ``__call__``, made at its first request, as ``app = ConversionMiddleware(app)``
would wrap it. The apps keep their type and attributes, which the suites check.

Pyramid's functional tests drive the router through WebTest, whose ``TestApp`` checks
the WSGI conversation (``webtest.lint``); Bottle's go through ``wsgiref.validate``:
both then check the middleware's side of it too. The tracker and the summary at the
end are :mod:`field_tracker`'s.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable
from typing import Any

import field_tracker

from convsdk.integrations.wsgi import ConversionMiddleware

#: The WSGI app classes patched, when importable: (module, class).
APPS = (("pyramid.router", "Router"), ("bottle", "Bottle"))

_state = {"apps": 0}
# Each app's middleware, kept by the app's id with the app (so the id is not reused).
_middleware: dict[int, tuple[Any, ConversionMiddleware]] = {}


def _around(app: Any, call: Callable[..., Iterable[bytes]]) -> ConversionMiddleware:
    """The middleware around ``app``'s own ``call``, made once an app."""
    found = _middleware.get(id(app))
    if found is None or found[0] is not app:
        _state["apps"] += 1
        found = _middleware[id(app)] = (app, ConversionMiddleware(functools.partial(call, app)))
    return found[1]


def _patch(module: str, name: str) -> None:
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError:
        return
    call = cls.__call__
    if getattr(call, "_convsdk_field", False):
        return

    def wsgi(self: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return _around(self, call)(environ, start_response)

    wsgi._convsdk_field = True  # type: ignore[attr-defined]
    cls.__call__ = wsgi


def _patch_all() -> None:
    for module, name in APPS:
        _patch(module, name)


pytest_configure, pytest_runtest_setup = field_tracker.patching(_patch_all)


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{_state['apps']} WSGI apps wrapped")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
