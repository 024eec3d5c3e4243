"""Django's request and response in convsdk's terms: the :class:`~convsdk.context.Request`
the Recorder reads, the submitted form, and the cookies added to the response."""

from __future__ import annotations

import logging
from http.cookies import Morsel
from typing import Any

from django.utils.http import escape_leading_slashes

from ...context import Request
from ...web.forms import Form, parse_form

__all__ = ["add_cookies", "appended_slash", "read_form", "read_request"]

log = logging.getLogger("convsdk.integrations.django")

_FLAGS = frozenset({"httponly", "secure"})


def read_request(request: Any, variant_header: str | None = None) -> Request:
    """The parts convsdk reads of a Django ``HttpRequest`` (WSGI or ASGI).

    ``request.META`` is a WSGI environ under both handlers; the path is Django's own
    (script prefix included, decoded), the scheme the server's (an ASGI request keeps
    it in its scope).
    """
    meta = request.META
    read = Request.from_environ(meta, variant_header)
    read.path = request.path
    if "wsgi.url_scheme" not in meta:
        scope = getattr(request, "scope", None)
        if scope is not None:
            scheme = scope.get("scheme") or "http"
            read.scheme = "https" if scheme == "wss" else scheme
    return read


def read_form(request: Any) -> Form | None:
    """The submitted form's fields, as Django parsed them (files left out).

    Called once the view has answered, so the view parsed the body first, with its own
    upload handlers; ``request.POST`` and ``request.FILES`` are Django's cached objects
    either way. A form Django does not parse (``PUT``, ``PATCH``) is read from
    ``request.body``. ``None`` when the body cannot be read.
    """
    try:
        if request.method == "POST":
            post = request.POST
            return {key: post.getlist(key) for key in post}
        return parse_form(request.META.get("CONTENT_TYPE"), request.body)
    except Exception:
        # A body the view streamed itself, too big for Django's limits, or malformed.
        log.debug("the form of this request cannot be read", exc_info=True)
        return None


def appended_slash(request: Any, response: Any) -> bool:
    """Whether ``response`` is ``APPEND_SLASH``'s redirect (``CommonMiddleware``): the
    request's own URL with a slash added, answered before any view ran. A form posted
    there is lost (the browser follows a 301 with a GET): it converts nobody."""
    if request.path.endswith("/"):
        return False
    location: str | None = response.get("Location")
    slashed: str = escape_leading_slashes(request.get_full_path(force_append_slash=True))
    return location == slashed


class _HeaderMorsel(Morsel[str]):
    """A cookie of Django's ``response.cookies`` written out as convsdk built it."""

    #: The ``Set-Cookie`` value as convsdk built it (None: unpickled, made again).
    header: str | None = None

    def __init__(self, header: str) -> None:
        super().__init__()
        self.header = header

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802 (the stdlib's name)
        header = self.header
        return header if header is not None else super().OutputString(attrs)

    def output(self, attrs: Any = None, header: str = "Set-Cookie:") -> str:
        """``Morsel.output`` (what Django's handlers call), one layer shorter."""
        own = self.header
        return f"{header} {own if own is not None else super().OutputString(attrs)}"


def _morsel(header: str) -> Morsel[str]:
    """A ``Set-Cookie`` value (``name=value; Max-Age=...; Path=/; HttpOnly; ...``)."""
    name, _, rest = header.partition("=")
    value, _, attributes = rest.partition("; ")
    # Every visitor's cookie of one name has the same attributes (and its name was
    # checked when they were first parsed): copy them, and set the three attributes
    # Morsel.set() sets (as its __setstate__ does) in one step.
    template = _templates.get((name, attributes))
    if template is None:
        template = _template(name, attributes)
    morsel = _new_morsel(_HeaderMorsel)
    dict.update(morsel, template)
    morsel.__dict__ = {"_key": name, "_value": value, "_coded_value": value, "header": header}
    return morsel


_new_morsel = dict.__new__
#: The attributes of each cookie convsdk sets, by (name, attributes text).
_templates: dict[tuple[str, str], Morsel[str]] = {}


def _template(name: str, attributes: str) -> Morsel[str]:
    morsel = Morsel[str]()
    morsel.set(name, "", "")  # a name Morsel refuses raises here, as it did per cookie
    for attribute in attributes.split("; ") if attributes else ():
        key, _, text = attribute.partition("=")
        key = key.lower()
        morsel[key] = True if key in _FLAGS else text
    if len(_templates) < 64:  # a handful in practice: two cookies, their secure forms
        _templates[name, attributes] = morsel
    return morsel


def add_cookies(response: Any, cookies: list[str]) -> None:
    """Add convsdk's ``Set-Cookie`` values to a Django response (``response.cookies``)."""
    jar = response.cookies
    for header in cookies:
        morsel = _morsel(header)
        # What SimpleCookie's __setitem__ does with a Morsel, without its Python layer.
        dict.__setitem__(jar, morsel.key, morsel)
