"""The browser script and the template helpers that put it on a page.

The script (``convsdk/static/c.min.js``, under 2 KB, no dependencies) records the
micro conversions only the browser sees and sends them to the collect endpoint
(:class:`convsdk.beacon.BeaconEndpoint`), which serves it at ``/_convsdk/c.js``:

- ``convsdk('video_played', {video: 'demo'})`` from the page's own code;
- ``scroll_depth`` with ``{depth: 25}``, 50, 75 and 100 as the visitor scrolls;
- ``time_on_page`` with ``{seconds: 30}`` after 30 seconds with the page visible;
- a click on any element carrying ``data-convsdk-click="compare_plans"`` (its
  ``data-convsdk-props`` JSON, if any, becomes the properties).

Events are batched and sent with ``navigator.sendBeacon`` (``fetch`` with
``keepalive`` as a fallback) when the page is hidden or left. The server records only
the event names the site allowlists.

Put the tag on the page with a template helper::

    # Flask / Jinja
    register_flask_template_helper(app)
    # in the template:  {{ convsdk_script() }}  or  {{ convsdk_script(nonce=csp_nonce()) }}

    # Starlette / FastAPI (Jinja2Templates or any template engine)
    templates.env.globals["convsdk_script"] = script_tag
    # in the template:  {{ convsdk_script(request) }}

Both render ``<script src="/_convsdk/c.js?v=..." defer></script>``: the version in the
URL lets browsers cache the script for a year, and changes when the script does.
Keyword arguments become ``data-*`` attributes that configure the script on that
page: ``scroll=False`` (or ``scroll=[50, 100]``), ``time=[30, 120]``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from ..errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask
    from starlette.requests import HTTPConnection

    from ..beacon import BeaconEndpoint

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

DEFAULT_COLLECT_PATH = "/_convsdk/collect"
DEFAULT_SCRIPT_PATH = "/_convsdk/c.js"
DEFAULT_SCROLL_DEPTHS = (25, 50, 75, 100)
DEFAULT_TIME_THRESHOLDS = (30,)
DEFAULT_BATCH_SIZE = 20

# The settings line of c.js as the minifier leaves it; browser_script() replaces it.
_DEFAULTS_LINE = 'var o={"c":"/_convsdk/collect","s":[25,50,75,100],"t":[30],"n":20,"a":0};'
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/\-]*\Z")
_DATA_NAME = re.compile(r"[a-z][a-z0-9_\-]{0,31}\Z")


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
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
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


# -- the <script> tag ----------------------------------------------------------------


def _data_value(value: Any) -> str:
    if value is False or value is None:
        return "off"
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(str(item) for item in value) or "off"
    return str(value)


def render_script_tag(
    src: str, nonce: str | None = None, data: Mapping[str, Any] | None = None
) -> Markup:
    """``<script src=... defer>`` with a CSP ``nonce`` and ``data-*`` attributes, escaped.

    >>> str(render_script_tag("/_convsdk/c.js", data={"scroll": False}))
    '<script src="/_convsdk/c.js" data-scroll="off" defer></script>'
    """
    parts = [f'<script src="{escape(src)}"']
    if nonce:
        parts.append(f' nonce="{escape(nonce)}"')
    for name, value in (data or {}).items():
        if _DATA_NAME.match(name) is None:
            raise ValueError(f"not a data attribute name: {name!r}")
        if value is True:
            continue  # on: the script's default
        parts.append(f' data-{name.replace("_", "-")}="{escape(_data_value(value))}"')
    parts.append(" defer></script>")
    return Markup("".join(parts))


def _script_src(prefix: str, endpoint: BeaconEndpoint | None) -> str:
    if endpoint is not None:
        return endpoint.script_url(prefix)
    script = script_for(prefix + DEFAULT_COLLECT_PATH)
    return f"{prefix}{DEFAULT_SCRIPT_PATH}?v={script.version}"


def script_tag(
    request: HTTPConnection,
    nonce: str | None = None,
    *,
    endpoint: BeaconEndpoint | None = None,
    **data: Any,
) -> Markup:
    """The ``<script>`` tag of the browser script for a Starlette / FastAPI page.

    ``nonce``: the page's CSP nonce (default: ``request.state.csp_nonce`` when the
    app sets one). ``endpoint``: the :class:`~convsdk.beacon.BeaconEndpoint` serving
    the script, when its paths or settings are not the defaults. ``data``: ``data-*``
    attributes (``scroll=False``, ``time=[30, 120]``, ``collect="/custom"``).

    >>> templates.env.globals["convsdk_script"] = script_tag   # {{ convsdk_script(request) }}
    """
    if nonce is None:
        nonce = getattr(request.state, "csp_nonce", None)
    prefix = (request.scope.get("root_path") or "").rstrip("/")
    if endpoint is None:
        endpoint = request.scope.get("convsdk.beacon")  # set by the ASGI middleware
    return render_script_tag(_script_src(prefix, endpoint), nonce, data)


def register_flask_template_helper(app: Flask, endpoint: BeaconEndpoint | None = None) -> None:
    """Add the ``convsdk_script()`` template global to a Flask app.

    ``{{ convsdk_script() }}`` renders the script tag; ``nonce=`` sets a CSP nonce
    (default: ``request.csp_nonce`` or ``g.csp_nonce``, where CSP extensions keep
    it), other keyword arguments become ``data-*`` attributes. ``endpoint`` defaults
    to the one the convsdk middleware installed on the app serves (the ``beacon``
    attribute of ``app.extensions["convsdk"]``), else the default paths.
    """

    def convsdk_script(nonce: str | None = None, **data: Any) -> Markup:
        from flask import g, request

        if nonce is None:
            nonce = getattr(request, "csp_nonce", None) or g.get("csp_nonce")
        chosen = endpoint
        if chosen is None:
            chosen = getattr(app.extensions.get("convsdk"), "beacon", None)
        return render_script_tag(_script_src(request.script_root, chosen), nonce, data)

    app.add_template_global(convsdk_script, "convsdk_script")
