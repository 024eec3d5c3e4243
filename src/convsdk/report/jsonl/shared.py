"""The values many visitors of a log share, kept once: :class:`Shared`.

Each line of a log is parsed anew, so every visitor's state would hold its own copy of
the user agent, landing URL, UTM parameters, variant and goal names its events carry,
which are mostly the same for many visitors: a third of the streaming reader's memory,
measured on a million events. Values are shared by equality, and only values of one
type are (1, 1.0 and ``true`` are equal in Python, and a visitor keeps their own).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_SHARED", "Shared"]

#: The most values kept to share: a log of ever-new values (every URL with its own
#: click id) holds each once anyway.
MAX_SHARED = 200_000


class Shared:
    """Texts, UTM parameters and arrivals, each the one kept for its value. The keys:
    a text itself; ``("utm", *items)``; ``(UTM items or None, referrer, url)``."""

    __slots__ = ("kept",)

    def __init__(self) -> None:
        self.kept: dict[Any, Any] = {}

    def text(self, value: Any) -> Any:
        """``value`` as kept already, if a text seen before (else kept now, up to a bound)."""
        if type(value) is not str:
            return value
        kept = self.kept
        found = kept.get(value)
        if found is not None:
            return found
        if len(kept) < MAX_SHARED:
            kept[value] = value
        return value

    def utm(self, utm: dict[str, Any]) -> dict[str, Any]:
        """UTM parameters (read, never changed) as kept already if seen before."""
        if not all(type(value) is str for value in utm.values()):
            return utm
        key = ("utm", *utm.items())
        found: dict[str, Any] | None = self.kept.get(key)
        if found is not None:
            return found
        if len(self.kept) < MAX_SHARED:
            self.kept[key] = utm
        return utm

    def arrival(self, utm: Any, referrer: Any, url: Any) -> tuple[Any, Any, Any]:
        """``(utm, referrer, url)`` of a possible arrival, as kept already if seen before
        (texts, and UTM parameters of text values; anything else is kept as it is)."""
        texts = (referrer is None or type(referrer) is str) and (url is None or type(url) is str)
        if not texts or (utm is not None and type(utm) is not dict):
            return utm, referrer, url
        if utm is not None and not all(type(value) is str for value in utm.values()):
            return utm, referrer, url
        key = (None if utm is None else tuple(utm.items()), referrer, url)
        found: tuple[Any, Any, Any] | None = self.kept.get(key)
        if found is None:
            found = (utm, self.text(referrer), self.text(url))
            if len(self.kept) < MAX_SHARED:
                self.kept[key] = found
        return found
