"""``ga4://``: Google Analytics 4, by the Measurement Protocol (extra ``http``).

:mod:`.names` (GA4's rules for names and values), :mod:`.payload` (events as
requests), :mod:`.backend` (:class:`GA4Destination`).
"""

from __future__ import annotations

from .backend import GA4Destination

__all__ = ["GA4Destination"]
