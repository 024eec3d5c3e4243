"""The client network an address belongs to, the key of a per-network limit."""

from __future__ import annotations

import functools
import ipaddress

__all__ = ["network_of"]


@functools.lru_cache(maxsize=4096)
def network_of(ip: str | None) -> str:
    """The client network an address belongs to: its IPv4 /24 or IPv6 /64.

    One visitor is easy to multiply (a new cookie, a new User-Agent); a network is
    not. Anything that is not an address (no socket peer, a forged header) is ``"?"``.

    >>> network_of("203.0.113.9"), network_of("2001:db8:1:2:3::9")
    ('203.0.113.0/24', '2001:db8:1:2::/64')
    """
    if not ip:
        return "?"
    text = ip.strip()
    if text.startswith("["):  # "[2001:db8::1]" (some proxies write the brackets)
        text = text[1 : text.find("]")]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return "?"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
