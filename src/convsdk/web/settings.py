"""The recorder's options, checked once: :class:`Settings` is built from the keyword
arguments of :class:`~convsdk.web.recorder.Recorder` (and of the middlewares)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .. import options as _options
from .. import privacy
from ..errors import ConfigError
from ..identity import DEFAULT_SESSION_COOKIE, DEFAULT_VISITOR_COOKIE, DEFAULT_VISITOR_MAX_AGE
from .pages import DEFAULT_CHECKOUT_PATHS, DEFAULT_EXCLUDED_PATHS, PathSet

if TYPE_CHECKING:
    from .request import Request

__all__ = ["DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_BODY_SIZE", "DntMode", "Settings"]

log = logging.getLogger("convsdk.interactions")

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: Seconds the ASGI middleware waits for a form body before letting the request through.
DEFAULT_BODY_TIMEOUT = 5.0

DntMode = Literal["anonymous", "skip"]

_LABEL = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9.\-]+")


@dataclass(slots=True)
class Settings:
    """The options of a recorder, as given; checked and normalised when built.

    A bad option raises :class:`~convsdk.ConfigError` naming it. ``checkout`` and
    ``exclude`` are the path sets built from the path options. The options:

    - ``trusted_proxies``: how many proxies in front of the app append to
      ``X-Forwarded-For`` (and set ``X-Forwarded-Proto``); 0 trusts the socket only.
    - ``checkout_paths``: globs of checkout pages (default ``["/checkout*"]``).
    - ``exclude_paths``: globs never recorded, on top of static assets and health
      checks (``exclude_defaults=False`` drops those built-in exclusions except
      assets by extension).
    - ``capture_fields``: form fields recorded as event properties (never the
      sensitive ones, see :func:`convsdk.privacy.is_sensitive_field`).
    - ``max_body_size``: the largest form body read (bytes, default 1 MiB); a larger
      form is recorded without its fields.
    - ``body_timeout``: seconds the ASGI middleware waits for a form body (default 5);
      a client still sending past it is recorded without its form fields, and the app
      gets the request at once (with the body read so far, then the rest).
    - ``variant_cookie`` / ``variant_header``: where the experiment variant is.
    - ``consent``: a callable of the :class:`~convsdk.context.Request` returning
      whether the visitor agreed to be identified (a cookie banner's answer); False
      records the request anonymously.
    - ``dnt``: ``"anonymous"`` (default: count the request without identifiers) or
      ``"skip"`` (record nothing) when the browser sends ``Sec-GPC: 1`` or ``DNT: 1``
      and the tracker respects them.
    - ``visitor_cookie``, ``session_cookie``, ``visitor_max_age`` (seconds),
      ``cookie_domain``, ``secure_cookies`` (default: on for https).
    - ``secret_key``: signs the cookies (default: the tracker's).
    - ``clock``: the time source for sessions (tests inject one).
    """

    trusted_proxies: int = 0
    checkout_paths: Iterable[str] = DEFAULT_CHECKOUT_PATHS
    exclude_paths: Iterable[str] = ()
    exclude_defaults: bool = True
    capture_fields: Iterable[str] = ()
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    variant_cookie: str | None = None
    variant_header: str | None = None
    consent: Callable[[Request], bool] | None = None
    dnt: DntMode = "anonymous"
    visitor_cookie: str = DEFAULT_VISITOR_COOKIE
    session_cookie: str = DEFAULT_SESSION_COOKIE
    visitor_max_age: int = DEFAULT_VISITOR_MAX_AGE
    cookie_domain: str | None = None
    secure_cookies: bool | None = None
    secret_key: str | bytes | None = None
    clock: Callable[[], float] = time.time
    checkout: PathSet = field(init=False)
    exclude: PathSet = field(init=False)

    def __post_init__(self) -> None:
        # Each option's type is checked where it is defined (convsdk.options).
        self.trusted_proxies = _options.check("trusted_proxies", self.trusted_proxies)
        self.max_body_size = _options.check("max_body_size", self.max_body_size)
        self.body_timeout = float(_options.check("body_timeout", self.body_timeout))
        self.dnt = _options.check("dnt", self.dnt)
        self.consent = _options.check("consent", self.consent)
        if not callable(self.clock):
            raise ConfigError("must be a callable returning seconds", field="clock")
        self.capture_fields = _capture_fields(_options.check("capture_fields", self.capture_fields))
        self._check_names()
        self.visitor_max_age = _options.check("visitor_max_age", self.visitor_max_age)
        self.secure_cookies = _options.check("secure_cookies", self.secure_cookies)
        domain = self.cookie_domain
        if domain is not None and (not isinstance(domain, str) or not _DOMAIN.fullmatch(domain)):
            raise ConfigError(f"must be a domain name, got {domain!r}", field="cookie_domain")
        self.secret_key = _options.check("secret_key", self.secret_key)
        self.checkout = PathSet(self.checkout_paths, option="checkout_paths")
        excluded = [*DEFAULT_EXCLUDED_PATHS] if self.exclude_defaults else []
        self.exclude = PathSet([*excluded, *self.exclude_paths], option="exclude_paths")

    def _check_names(self) -> None:
        """Cookie and header names are tokens; the two cookies differ."""
        named: tuple[tuple[str, str | None], ...] = (
            ("visitor_cookie", self.visitor_cookie),
            ("session_cookie", self.session_cookie),
            ("variant_cookie", self.variant_cookie),
            ("variant_header", self.variant_header),
        )
        for option, label in named:
            if label is None and option.startswith("variant"):
                continue
            if not isinstance(label, str) or _LABEL.fullmatch(label) is None:
                raise ConfigError(f"must be a cookie or header name, got {label!r}", field=option)
        if self.visitor_cookie == self.session_cookie:
            raise ConfigError("must differ from visitor_cookie", field="session_cookie")


def _capture_fields(names: Iterable[str]) -> tuple[str, ...]:
    """The form fields to record, without the sensitive ones (warned about)."""
    fields = tuple(names)
    for name in fields:
        if not name:
            raise ConfigError("field names are not empty", field="capture_fields")
    never = [name for name in fields if privacy.is_sensitive_field(name)]
    if never:
        log.warning("capture_fields %s look sensitive and are never recorded", never)
    return tuple(name for name in fields if name not in never)
