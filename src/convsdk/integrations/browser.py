"""Moved to :mod:`convsdk.browser` (the script and its template helpers); kept for imports."""

from __future__ import annotations

from ..browser.script import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_COLLECT_PATH,
    DEFAULT_SCRIPT_PATH,
    DEFAULT_SCROLL_DEPTHS,
    DEFAULT_TIME_THRESHOLDS,
    Script,
    browser_script,
    script_for,
)
from ..browser.templates import register_flask_template_helper, render_script_tag, script_tag

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_COLLECT_PATH",
    "DEFAULT_SCRIPT_PATH",
    "DEFAULT_SCROLL_DEPTHS",
    "DEFAULT_TIME_THRESHOLDS",
    "Script",
    "browser_script",
    "register_flask_template_helper",
    "render_script_tag",
    "script_for",
    "script_tag",
]
