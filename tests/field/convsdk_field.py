"""pytest plugin: every Starlette/FastAPI app built during a run gets convsdk's ASGI middleware.

Loaded with ``-p convsdk_field`` by ``run_suites.py`` when it runs Starlette's or
FastAPI's own test suite. It patches:

- ``build_middleware_stack`` of ``Starlette`` (and of ``FastAPI``, which defines its
  own): the stack the app builds is wrapped in ``ConversionMiddleware``;
- ``TestClient.__init__``: a plain ASGI 3 app (a function, a ``Router``, a bare
  middleware) given to the test client is wrapped too, unless a Starlette app (already
  wrapped by the first patch) or a ``ConversionMiddleware`` is found in its ``.app``
  chain.

``FIELD_PLACEMENT``: ``outer`` (default) puts the middleware around the whole
stack, outside ``ServerErrorMiddleware``; ``user`` adds it as the outermost user
middleware, where ``app.add_middleware(ConversionMiddleware, ...)`` puts it.

The middleware follows the default tracker, :mod:`field_tracker`'s: an app's lifespan
shutdown has it deliver its events, and the next test records on (with a new one, if a
shutdown could not deliver and closed it). The summary at the end is
:mod:`field_tracker`'s too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import field_tracker
import pytest
from field_tracker import tracker as _tracker

from convsdk.integrations.asgi import ConversionMiddleware

PLACEMENT = os.environ.get("FIELD_PLACEMENT", "outer")

_state: dict[str, Any] = {"apps": 0, "clients": 0}


def _wrap(app: Any) -> ConversionMiddleware:
    return ConversionMiddleware(app)  # the default tracker, looked up per request


def _patch_stack(cls: type) -> None:
    original: Callable[[Any], Any] = cls.__dict__["build_middleware_stack"]
    if getattr(original, "_convsdk_field", False):
        return

    if PLACEMENT == "user":
        from starlette.middleware import Middleware

        def build_middleware_stack(self: Any) -> Any:
            _state["apps"] += 1
            saved = self.user_middleware
            # add_middleware() inserts at 0: the last one added is the outermost.
            self.user_middleware = [Middleware(ConversionMiddleware), *saved]
            try:
                return original(self)
            finally:
                self.user_middleware = saved

    else:

        def build_middleware_stack(self: Any) -> Any:
            _state["apps"] += 1
            return _wrap(original(self))

    build_middleware_stack._convsdk_field = True  # type: ignore[attr-defined]
    cls.build_middleware_stack = build_middleware_stack  # type: ignore[attr-defined]


def _holds_app(app: Any, starlette_cls: type) -> bool:
    """Whether a Starlette app or a ConversionMiddleware is in ``app``'s ``.app`` chain."""
    seen = 0
    while app is not None and seen < 50:
        if isinstance(app, starlette_cls | ConversionMiddleware):
            return True
        app = getattr(app, "app", None)
        seen += 1
    return False


def _patch_test_client() -> None:
    import starlette.testclient as testclient
    from starlette.applications import Starlette

    cls = testclient.TestClient
    original = cls.__init__
    if getattr(original, "_convsdk_field", False):
        return
    is_asgi3 = testclient._is_asgi3

    def __init__(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
        if is_asgi3(app) and not _holds_app(app, Starlette):
            _state["clients"] += 1
            app = _wrap(app)
        original(self, app, *args, **kwargs)

    __init__._convsdk_field = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _tracker()
    from starlette.applications import Starlette

    _patch_stack(Starlette)
    try:
        from fastapi import FastAPI
    except ImportError:
        pass
    else:
        if "build_middleware_stack" in FastAPI.__dict__:
            _patch_stack(FastAPI)
    _patch_test_client()


def pytest_runtest_setup(item: pytest.Item) -> None:
    _tracker()  # a new default tracker if a lifespan shutdown could not deliver and closed it


def _summary() -> dict[str, Any]:
    wrapped = f"{_state['apps']} app stacks and {_state['clients']} bare ASGI apps wrapped"
    return field_tracker.summary(wrapped, placement=PLACEMENT)


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(
    _summary, f"convsdk field ({PLACEMENT})"
)
