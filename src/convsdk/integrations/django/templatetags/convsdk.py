"""``{% load convsdk %}`` then ``{% convsdk_script %}``: the browser script's tag.

``{% convsdk_script nonce=request.csp_nonce scroll=False %}``: a CSP nonce (default:
``request.csp_nonce``, where django-csp keeps it) and ``data-*`` attributes. The script
is served by :class:`~convsdk.integrations.django.ConversionMiddleware` when
``CONVSDK_COLLECT`` (or ``CONVSDK_BROWSER_EVENTS``) is set.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import get_script_prefix

from ....browser.script import DEFAULT_COLLECT_PATH, DEFAULT_SCRIPT_PATH, script_for
from ....browser.templates import render_script_tag

__all__ = ["convsdk_script", "register"]

register = template.Library()


@register.simple_tag(takes_context=True)  # type: ignore[untyped-decorator, misc]
def convsdk_script(context: Any, nonce: str | None = None, **data: Any) -> str:
    """The ``<script>`` tag of the browser script, for the page being rendered."""
    request = context.get("request")
    if nonce is None:
        nonce = getattr(request, "csp_nonce", None)
    prefix = get_script_prefix().rstrip("/")
    endpoint = getattr(request, "convsdk_beacon", None)
    if endpoint is not None:
        src = endpoint.script_url(prefix)
    else:
        src = f"{prefix}{DEFAULT_SCRIPT_PATH}?v={script_for(prefix + DEFAULT_COLLECT_PATH).version}"
    return render_script_tag(src, nonce, data)
