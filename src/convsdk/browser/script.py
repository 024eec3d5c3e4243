"""The browser script: its source with the site's settings written in, and its version.

The script (``convsdk/static/c.min.js``, under 2 KB, no dependencies) records the
micro conversions only the browser sees and sends them to the collect endpoint
(:class:`convsdk.browser.BeaconEndpoint`), which serves it at ``/_convsdk/c.js``:

- ``convsdk('video_played', {video: 'demo'})`` from the page's own code;
- ``scroll_depth`` with ``{depth: 25}``, 50, 75 and 100 as the visitor scrolls;
- ``time_on_page`` with ``{seconds: 30}`` after 30 seconds with the page visible;
- a click on any element carrying ``data-convsdk-click="compare_plans"`` (its
  ``data-convsdk-props`` JSON, if any, becomes the properties).

Events are batched and sent with ``navigator.sendBeacon`` (``fetch`` with
``keepalive`` as a fallback) when the page is hidden or left. The server records only
the event names the site allowlists. :mod:`convsdk.browser.templates` puts the tag
on a page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..checks import is_int
from ..errors import ConfigError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_COLLECT_PATH",
    "DEFAULT_SCRIPT_PATH",
    "DEFAULT_SCROLL_DEPTHS",
    "DEFAULT_TIME_THRESHOLDS",
    "Script",
    "browser_script",
    "script_for",
]


DEFAULT_COLLECT_PATH = "/_convsdk/collect"
DEFAULT_SCRIPT_PATH = "/_convsdk/c.js"
DEFAULT_SCROLL_DEPTHS = (25, 50, 75, 100)
DEFAULT_TIME_THRESHOLDS = (30,)
DEFAULT_BATCH_SIZE = 20

# The settings line of c.js as the minifier leaves it; browser_script() replaces it.
_DEFAULTS_LINE = 'var o={"c":"/_convsdk/collect","s":[25,50,75,100],"t":[30],"n":20,"a":0};'
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/\-]*\Z")


@functools.cache
def _source() -> str:
    text = resources.files("convsdk").joinpath("static", "c.min.js").read_text("utf-8")
    if _DEFAULTS_LINE not in text:  # pragma: no cover - guarded by a test on the shipped file
        raise RuntimeError("convsdk/static/c.min.js does not hold the settings line")
    return text


def _numbers(option: str, values: Iterable[int], *, upper: int | None = None) -> list[int]:
    if isinstance(values, str | bytes):
        raise ConfigError("must be a list of whole numbers", field=option)
    result = []
    for value in values:
        if not is_int(value) or value <= 0:
            raise ConfigError(f"must hold positive whole numbers, got {value!r}", field=option)
        if upper is not None and value > upper:
            raise ConfigError(f"must hold numbers up to {upper}, got {value!r}", field=option)
        result.append(value)
    return sorted(set(result))


def browser_script(
    *,
    auto_scroll: bool = True,
    time_thresholds: Iterable[int] = DEFAULT_TIME_THRESHOLDS,
    collect_path: str = DEFAULT_COLLECT_PATH,
    scroll_depths: Iterable[int] = DEFAULT_SCROLL_DEPTHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    events: Iterable[str] | None = None,
) -> str:
    """The browser script's source, minified, with these defaults written in.

    ``auto_scroll``: send ``scroll_depth`` at each of ``scroll_depths`` (percent of
    the page). ``time_thresholds``: seconds of visible time at which ``time_on_page``
    is sent (empty: none). ``collect_path``: where the events go. ``batch_size``: the
    most events in one request (the endpoint's ``max_events``). ``events``: the names
    the endpoint accepts; the script sends no other (the endpoint refuses a whole batch
    for one name it does not know), and no ``scroll_depth`` or ``time_on_page`` unless
    they are among them. The script tag's ``data-*`` attributes still override the
    thresholds page by page.

    >>> browser_script(time_thresholds=(30, 120))[:11]
    '(function(w'
    """
    if not isinstance(collect_path, str) or _PATH.match(collect_path) is None:
        raise ConfigError(f"must be a URL path, got {collect_path!r}", field="collect_path")
    if not is_int(batch_size) or batch_size <= 0:
        raise ConfigError(
            f"must be a positive whole number, got {batch_size!r}", field="batch_size"
        )
    allowed = None if events is None else sorted(set(events))
    settings: dict[str, Any] = {
        "c": collect_path,
        "s": _numbers("scroll_depths", scroll_depths, upper=100) if auto_scroll else [],
        "t": _numbers("time_thresholds", time_thresholds),
        "n": batch_size,
        "a": 0 if allowed is None else allowed,
    }
    if allowed is not None:
        if "scroll_depth" not in allowed:
            settings["s"] = []
        if "time_on_page" not in allowed:
            settings["t"] = []
    # "<" escaped: the source stays safe if a page inlines it in a <script> element.
    line = "var o=" + json.dumps(settings, separators=(",", ":")).replace("<", "\\u003c") + ";"
    return _source().replace(_DEFAULTS_LINE, line, 1)


@dataclass(frozen=True, slots=True)
class Script:
    """The served script: its bytes, ``ETag`` and the version that goes in its URL."""

    body: bytes
    etag: str
    version: str

    @classmethod
    def build(cls, source: str) -> Script:
        """Wrap a script source (see :func:`browser_script`)."""
        body = source.encode("utf-8")
        version = hashlib.sha256(body).hexdigest()[:16]
        return cls(body, f'"{version}"', version)


@functools.lru_cache(maxsize=64)
def script_for(
    collect_path: str,
    auto_scroll: bool = True,
    time_thresholds: tuple[int, ...] = DEFAULT_TIME_THRESHOLDS,
    scroll_depths: tuple[int, ...] = DEFAULT_SCROLL_DEPTHS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    events: tuple[str, ...] | None = None,
) -> Script:
    """The :class:`Script` for these settings (cached: a site serves one or two)."""
    return Script.build(
        browser_script(
            auto_scroll=auto_scroll,
            time_thresholds=time_thresholds,
            collect_path=collect_path,
            scroll_depths=scroll_depths,
            batch_size=batch_size,
            events=events,
        )
    )
