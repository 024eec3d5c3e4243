"""Where a collect request may come from: the hosts of its ``Origin``, ``Referer`` and page.

``allowed_hosts`` names them (``"example.com"``, ``"*.example.com"``,
``"localhost:8000"``); without it, the request's own ``Host``, which stops other
sites' pages in a browser but not a client that writes its ``Host`` too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from ..errors import ConfigError

__all__ = ["Hosts", "hosts_option", "parse_url", "split_host"]

log = logging.getLogger("convsdk.beacon")


@functools.lru_cache(maxsize=1024)
def split_host(netloc: str) -> tuple[str, str | None]:
    """(host, port) of a ``host[:port]``, lower-cased; default ports dropped."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):  # [2001:db8::1]:8080
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
    else:
        host, sep, port_text = netloc.partition(":")
        port = port_text if sep else None
    # Origin omits the default port and Host may carry it: they are the same site.
    if port in ("80", "443", ""):
        port = None
    return host.rstrip("."), port


def parse_url(text: str) -> SplitResult | None:
    """An ``http(s)`` URL with a host and no user info, split; else ``None``."""
    try:
        parts = urlsplit(text)
    except ValueError:  # a malformed IPv6 literal
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return parts


class Hosts:
    """Which hosts may send events: ``allowed_hosts``, else the request's own Host."""

    __slots__ = ("_patterns", "names")

    def __init__(self, allowed: Iterable[str]) -> None:
        if isinstance(allowed, str | bytes):
            raise ConfigError("must be a list of host names, not a string", field="allowed_hosts")
        names = tuple(allowed)
        patterns: list[tuple[str, str | None]] = []
        for entry in names:
            if not isinstance(entry, str) or not entry.strip() or "/" in entry:
                raise ConfigError(
                    f"must hold host names like 'example.com', '*.example.com' or "
                    f"'localhost:8000', got {entry!r}",
                    field="allowed_hosts",
                )
            patterns.append(split_host(entry))
        #: ``allowed_hosts`` as given
        self.names = names
        self._patterns = tuple(patterns)

    def allows(self, netloc: str, own_host: str) -> bool:
        """Whether a page or origin at ``netloc`` belongs to the site."""
        host, port = split_host(netloc)
        if not self._patterns:
            return (host, port) == split_host(own_host)
        for pattern, wanted_port in self._patterns:
            if wanted_port is not None and wanted_port != port:
                continue
            if pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False


def hosts_option(allowed_hosts: Iterable[str]) -> Hosts:
    """The ``allowed_hosts`` option checked; without any, a warning says what that means."""
    hosts = Hosts(allowed_hosts)
    if not hosts.names:
        log.warning(
            "allowed_hosts is not set: the collect endpoint accepts requests whose Origin "
            "is their own Host header, which a client other than a browser writes as it "
            "likes; set allowed_hosts=[...] to the site's host names"
        )
    return hosts
