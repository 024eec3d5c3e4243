"""The visitor's marks beyond visitor and session ids: ad click ids (first and last, kept
in a signed cookie of their own), Meta's fbc/fbp, the Google Analytics client id, and
the user id and hashed traits ``identify()`` gave (kept in the signed user cookie).

They go in ``context`` of every event of the visitor (``click_ids``, ``fbc``, ``fbp``,
``ga_client_id``, ``traits``) and in ``Event.user_id``. Looked for only when the query
string may hold a click id or the ``Cookie`` header names one of the cookies (which the
visitor cookie's cached reading tells, see :meth:`~convsdk.identity.Identity.begin`),
and what a ``Cookie`` header says is cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from ..identity import CLICK_COOKIE, USER_COOKIE, SignedState, cookie_value
from ..identity.signing import MAX_CACHED_HEADER
from .clicks import (
    CLICK_ID_NAMES,
    Click,
    clicks_in_query,
    fbc_from_click,
    ga_client_id,
    maybe_click,
    platform_cookie,
)
from .context import RequestContext

__all__ = ["CookieMarks", "Marks"]

_HINTS = ("_fbc=", "_fbp=", "_ga=", CLICK_COOKIE + "=", USER_COOKIE + "=")


class CookieMarks(NamedTuple):
    """What a ``Cookie`` header says beyond visitor and session."""

    user_id: str | None
    traits: dict[str, str] | None
    clicks: dict[str, Click] | None
    fbc: str | None
    fbp: str | None
    ga_client_id: str | None


_NO_MARKS = CookieMarks(None, None, None, None, None, None)


def _click(value: Any) -> Click | None:
    if (
        isinstance(value, dict)
        and value.get("name") in CLICK_ID_NAMES
        and isinstance(value.get("id"), str)
        and isinstance(value.get("at"), int)
    ):
        return {"name": value["name"], "id": value["id"], "at": value["at"]}
    return None


class Marks:
    """Reads and keeps the visitor's marks for one :class:`~convsdk.identity.Identity`
    (its click and user cookies; ``None`` each in cookieless mode). Thread-safe."""

    __slots__ = ("_cached", "clicks", "user")

    def __init__(self, clicks: SignedState | None, user: SignedState | None) -> None:
        self.clicks = clicks
        self.user = user
        # A browser sends the same header until a cookie changes: read it once.
        self._cached = functools.lru_cache(maxsize=4096)(self.read_cookies)

    def find(self, header: str | None) -> CookieMarks | None:
        """The marks in a ``Cookie`` header (cached when short enough), or ``None``."""
        if not header:
            return None
        return (
            self._cached(header) if len(header) <= MAX_CACHED_HEADER else self.read_cookies(header)
        )

    def read_cookies(self, header: str) -> CookieMarks | None:
        """The marks in a ``Cookie`` header; ``None`` when it holds none."""
        if not any(hint in header for hint in _HINTS):
            return None
        user = self.user.read(header) if self.user is not None else None
        user_id = traits = None
        if user is not None and isinstance(user.get("u"), str):
            user_id = user["u"]
            hashed = user.get("t")
            if isinstance(hashed, dict):
                traits = {str(k): str(v) for k, v in hashed.items()}
        stored = self.clicks.read(header) if self.clicks is not None else None
        clicks = None
        if stored is not None:
            first, last = _click(stored.get("first")), _click(stored.get("last"))
            if first is not None and last is not None:
                clicks = {"first": first, "last": last}
        marks = CookieMarks(
            user_id,
            traits,
            clicks,
            platform_cookie(cookie_value(header, "_fbc")),
            platform_cookie(cookie_value(header, "_fbp")),
            ga_client_id(cookie_value(header, "_ga")),
        )
        return None if marks == _NO_MARKS else marks

    def apply(
        self,
        ctx: RequestContext,
        found: CookieMarks | None,
        query: str,
        clock: Callable[[], float],
        secure: bool,
    ) -> list[str]:
        """Put the visitor's marks in ``ctx``: those ``found`` in the cookies (:meth:`find`)
        and the click ids of the landing URL; return the click cookie's ``Set-Cookie`` when
        the URL's last click is new (``clock`` stamps it), else nothing."""
        landed: list[Click] = []
        if query and maybe_click(query):
            landed = clicks_in_query(query, int(clock() * 1000))
        if found is None and not landed:
            return []
        marks = found or _NO_MARKS
        clicks, set_cookie = marks.clicks, None
        if landed:
            click = landed[-1]
            last = clicks["last"] if clicks else None
            if last is None or (last["name"], last["id"]) != (click["name"], click["id"]):
                clicks = {"first": clicks["first"] if clicks else landed[0], "last": click}
                if self.clicks is not None:
                    set_cookie = self.clicks.set_cookie(clicks, secure)
        identifiers: dict[str, Any] = {}
        if clicks:
            identifiers["click_ids"] = {
                "first": dict(clicks["first"]),
                "last": dict(clicks["last"]),
            }
        fbc = marks.fbc or _latest_fbc(clicks)
        for key, value in (("fbc", fbc), ("fbp", marks.fbp), ("ga_client_id", marks.ga_client_id)):
            if value is not None:
                identifiers[key] = value
        if marks.traits:
            identifiers["traits"] = dict(marks.traits)
        if marks.user_id is not None:
            ctx.user_id = marks.user_id
        ctx.identifiers = identifiers or None
        return [] if set_cookie is None else [set_cookie]

    def user_cookies(self, ctx: RequestContext, secure: bool) -> list[str]:
        """The user cookie's ``Set-Cookie`` holding what ``identify()`` gave in this
        request, or removing it after ``forget()`` (none in cookieless mode); once a
        request."""
        ctx.identified = False
        if self.user is None:
            return []
        if ctx.user_id is None:  # forget(): the browser drops the user
            return [self.user.clear_cookie(secure)]
        traits = (ctx.identifiers or {}).get("traits") or {}
        cookie = self.user.set_cookie({"u": ctx.user_id, "t": traits}, secure)
        return [] if cookie is None else [cookie]


def _latest_fbc(clicks: dict[str, Click] | None) -> str | None:
    """fbc built from the latest fbclid of the visitor's clicks."""
    if clicks:
        for click in (clicks["last"], clicks["first"]):
            if click["name"] == "fbclid":
                return fbc_from_click(click)
    return None
