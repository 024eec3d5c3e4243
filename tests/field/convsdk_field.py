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

The tracker writes to memory, has no spool, and has goals for page views, form submits
(with a value read from a form field, so the middleware reads form bodies) and
checkouts. At the end the plugin prints how many apps it wrapped and how many events it
recorded, and writes both as JSON to ``FIELD_REPORT`` when that is set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

import convsdk
from convsdk import Goal
from convsdk.backends.memory import MemoryBackend
from convsdk.integrations.asgi import ConversionMiddleware

PLACEMENT = os.environ.get("FIELD_PLACEMENT", "outer")

_memory = MemoryBackend()
_state: dict[str, Any] = {"tracker": None, "apps": 0, "clients": 0}


def _tracker() -> convsdk.Tracker:
    tracker = _state["tracker"]
    assert tracker is not None, "convsdk_field: the tracker is not set up"
    return tracker  # type: ignore[no-any-return]


def _make_tracker() -> convsdk.Tracker:
    return convsdk.Tracker(
        backend=_memory,
        spool_dir=None,
        secret_key="convsdk-field-secret",
        flush_interval=0.2,
        goals=[
            Goal.macro("field_checkout", event="checkout", value_from="form:total"),
            Goal.micro("field_form", event="form_submit", value_from="form:amount"),
            Goal.micro("field_page", event="page_view"),
        ],
    )


def _wrap(app: Any) -> ConversionMiddleware:
    return ConversionMiddleware(app, tracker=_tracker())


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
            self.user_middleware = [Middleware(ConversionMiddleware, tracker=_tracker()), *saved]
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
    if _state["tracker"] is None:
        _state["tracker"] = _make_tracker()
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


def _summary() -> dict[str, Any]:
    tracker = _state["tracker"]
    if tracker is not None and not tracker.closed:
        tracker.flush(timeout=10.0)
    events = _memory.events
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.name] = kinds.get(event.name, 0) + 1
    return {
        "placement": PLACEMENT,
        "apps_wrapped": _state["apps"],
        "clients_wrapped": _state["clients"],
        "events": len(events),
        "events_by_name": kinds,
        "stats": tracker.stats() if tracker is not None else {},
    }


def pytest_terminal_summary(terminalreporter: Any) -> None:
    summary = _summary()
    terminalreporter.write_line(
        f"convsdk field ({summary['placement']}): {summary['apps_wrapped']} app stacks and "
        f"{summary['clients_wrapped']} bare ASGI apps wrapped, {summary['events']} events "
        f"recorded {summary['events_by_name']}"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    tracker = _state["tracker"]
    if tracker is None:
        return
    summary = _summary()
    tracker.close()
    report = os.environ.get("FIELD_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as file:
            json.dump(summary, file, indent=2, default=str)
