"""Consent signals a browser sends: Global Privacy Control and Do-Not-Track."""

from __future__ import annotations

__all__ = ["opted_out"]


def opted_out(gpc: str | None, dnt: str | None) -> bool:
    """Whether the browser asked not to be tracked (``Sec-GPC: 1`` or ``DNT: 1``)."""
    return (gpc is not None and gpc.strip() == "1") or (dnt is not None and dnt.strip() == "1")
