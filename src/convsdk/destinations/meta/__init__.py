"""``meta://``: Meta's Conversions API (extra ``http``).

:mod:`.names` (standard events for goals), :mod:`.payload` (events as server
events), :mod:`.backend` (:class:`MetaDestination`).
"""

from __future__ import annotations

from .backend import DEFAULT_VERSION, MetaDestination

__all__ = ["DEFAULT_VERSION", "MetaDestination"]
