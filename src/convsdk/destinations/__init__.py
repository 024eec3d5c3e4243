"""Destinations: services that events are forwarded to, as backends named by URL.

::

    convsdk.init(backend=["sqlite:///convsdk.db",
                          "ga4://G-XXXX?api_secret=...",
                          "meta://PIXEL_ID?access_token=...",
                          "segment://WRITE_KEY"])

Each is a :class:`~convsdk.backends.Backend` with ``default_forward = "macro"``: the
fan-out forwards it macro conversions unless its ``forward=`` says otherwise. They
need the ``http`` extra (httpx). ``endpoint=`` on each replaces the service's scheme
and host (a test server, a proxy, a regional host).

The package: :mod:`.url` (reading a destination's URL), :mod:`.transport` (posting
and reading the answer), :mod:`.events` (what every destination reads from an event),
and one package a service: :mod:`.ga4`, :mod:`.meta`, :mod:`.segment`.
"""

from __future__ import annotations

__all__: list[str] = []
