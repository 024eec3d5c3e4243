"""The template helpers that put the browser script's ``<script>`` tag on a page.

::

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

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from .script import DEFAULT_COLLECT_PATH, DEFAULT_SCRIPT_PATH, script_for

if TYPE_CHECKING:
    from flask import Flask
    from starlette.requests import HTTPConnection

    from .endpoint import BeaconEndpoint

__all__ = ["register_flask_template_helper", "render_script_tag", "script_tag"]

_DATA_NAME = re.compile(r"[a-z][a-z0-9_\-]{0,31}\Z")


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
    app sets one). ``endpoint``: the :class:`~convsdk.browser.BeaconEndpoint` serving
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
