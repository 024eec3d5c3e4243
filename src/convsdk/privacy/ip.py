"""IP addresses: reading one as proxies write it, and anonymising it.

Both functions are cached per input string: a site sees the same few thousand
addresses over and over.
"""

from __future__ import annotations

import functools
import ipaddress

__all__ = ["anonymize_ip", "normalize_ip"]

_CACHE_SIZE = 4096


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443", as some proxies write it
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.partition(":")[0]
    text = text.partition("%")[0]  # an IPv6 zone id ("fe80::1%eth0") identifies nothing
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def anonymize_ip(ip: str) -> str | None:
    """``ip`` with its host part zeroed; ``None`` when it is not an IP address.

    IPv4 keeps 24 bits, IPv6 keeps 48 (an IPv4-mapped IPv6 address is treated as
    IPv4).

    >>> anonymize_ip("203.0.113.77")
    '203.0.113.0'
    >>> anonymize_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348")
    '2001:db8:85a3::'
    """
    addr = _parse_ip(ip)
    if addr is None:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is None:
            return str(ipaddress.IPv6Address(int(addr) >> 80 << 80))
        addr = mapped
    return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def normalize_ip(ip: str) -> str | None:
    """``ip`` in canonical form (no port, no zone id); ``None`` when it is not an IP."""
    addr = _parse_ip(ip)
    return None if addr is None else str(addr)
