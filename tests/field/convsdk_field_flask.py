"""pytest plugin: every Flask app built during a run gets convsdk's Flask extension.

Loaded with ``-p convsdk_field_flask`` by ``run_suites.py`` when it runs Flask's own test
suite or the tutorial's (flaskr). It patches ``Flask.__init__``: once an app is made,
``ConvSDK(app, tracker=...)`` installs the WSGI middleware around ``app.wsgi_app``, as
a user does right after making the app. The tracker and the summary at the end are
:mod:`field_tracker`'s.
"""

from __future__ import annotations

from typing import Any

import field_tracker
import pytest
from field_tracker import tracker

from convsdk.integrations.flask import ConvSDK

_state = {"apps": 0}


def _patch_flask() -> None:
    from flask import Flask

    original = Flask.__init__
    if getattr(original, "_convsdk_field", False):
        return

    def __init__(self: Flask, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _state["apps"] += 1
        ConvSDK(self, tracker=tracker())

    __init__._convsdk_field = True  # type: ignore[attr-defined]
    Flask.__init__ = __init__  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    tracker()
    _patch_flask()


def _summary() -> dict[str, Any]:
    return field_tracker.summary(f"{_state['apps']} Flask apps wrapped")


pytest_terminal_summary, pytest_unconfigure = field_tracker.reporting(_summary, "convsdk field")
