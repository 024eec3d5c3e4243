"""Goals: the rules that turn an interaction into a micro or macro conversion.

A :class:`Goal` names a conversion and says which interactions count as one::

    from convsdk import Goal, Funnel

    goals = [
        Goal.micro("viewed_pricing", event="page_view", path="/pricing", stage="consideration"),
        Goal.micro("newsletter", event="form_submit", path="/newsletter", role="secondary"),
        Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total",
                   currency="USD", stage="decision"),
        Funnel("purchase_path", ["viewed_pricing", "purchase"], window="7d"),
    ]

A :class:`GoalSet` holds goals and funnels in declaration order; :meth:`GoalSet.match`
returns the first goal that matches an interaction. :func:`resolve_goals` builds one from
a list like the above, from a :class:`GoalSet`, or from a goal file (:func:`load_goals`).

Matching
--------
``event`` is compared exactly (``"page_view"``, ``"form_submit"``, ``"checkout"``, or any
name given to ``track()`` or sent by the browser); ``None`` matches every event.
``method`` is an HTTP verb compared case-insensitively; ``None`` matches every method.
``path`` is a case-sensitive glob over the URL path (no query string); ``None`` matches
every path:

- ``/pricing`` matches ``/pricing`` and ``/pricing/`` (one page, with or without the
  trailing slash; the stored path stays as the browser sent it), not ``/pricing/team``;
- ``*`` matches any run of characters, ``/`` included: ``/checkout*`` matches
  ``/checkout``, ``/checkout/pay`` and ``/checkout-now``; ``/blog/*`` matches
  ``/blog/`` and ``/blog/2024/launch`` but not ``/blog``; ``*`` alone matches any path;
- ``?`` matches exactly one character; every other character stands for itself;
- a list of patterns (``path=["/signup", "/register"]``) matches any of them.

``status`` is the response status the interaction must have: ``"2xx"``, ``"3xx"``
(any class ``"1xx"``-``"5xx"``), a code (``302``), or a list of those; by default any
status below 400. A Post/Redirect/Get form succeeds with a redirect and fails by
showing the form again (200), so its goal says ``status="3xx"``::

    Goal.macro("signup", event="form_submit", path="/register", status="3xx")

Values
------
A goal's conversion value is either fixed (``value=49.0``) or read from the request
(``value_from``): ``"form:<field>"`` (a submitted form field), ``"query:<param>"`` (a
query-string parameter) or ``"property:<key>"`` (a key of the event's properties).
Text is read leniently (see :meth:`Goal.extract_value`): ``"49.90"``, ``"1,299.00"``,
``"$19"``, ``"19,90 €"``, ``"1.299,00 EUR"`` are all understood; anything else gives no
value rather than an error.

Goal files
----------
:func:`load_goals` reads goals and funnels from TOML or JSON (chosen by the file's
extension, ``.toml`` or ``.json``). Keys are the :class:`Goal` and :class:`Funnel`
arguments; ``name`` and ``kind`` are required for a goal, ``name`` and ``steps`` for a
funnel. A complete TOML example::

    [[goals]]
    name = "viewed_pricing"
    kind = "micro"
    event = "page_view"
    path = "/pricing"
    stage = "consideration"
    description = "Saw the pricing page"

    [[goals]]
    name = "newsletter"
    kind = "micro"
    event = "form_submit"
    path = "/newsletter"
    method = "POST"
    role = "secondary"

    [[goals]]
    name = "demo_video"
    kind = "micro"
    event = "video_played"        # a custom event, sent by the browser beacon
    source = "browser"

    [[goals]]
    name = "purchase"
    kind = "macro"
    event = "checkout"
    path = "/checkout*"
    value_from = "form:total"
    currency = "USD"
    stage = "decision"

    [[goals]]
    name = "enterprise_lead"
    kind = "macro"
    event = "form_submit"
    path = "/contact/sales"
    value = 500.0                 # a fixed value for every conversion

    [[goals]]
    name = "signup"
    kind = "macro"
    event = "form_submit"
    path = ["/register", "/signup"]
    status = "3xx"                # success redirects; a failed form shows again (200)

    [[funnels]]
    name = "purchase_path"
    steps = ["viewed_pricing", "purchase"]
    window = "7d"                 # "90s", "30m", "24h", "7d", "2w", "1d12h" or seconds

The same in JSON::

    {
      "goals": [
        {"name": "viewed_pricing", "kind": "micro", "event": "page_view",
         "path": "/pricing", "stage": "consideration"},
        {"name": "purchase", "kind": "macro", "event": "checkout", "path": "/checkout*",
         "value_from": "form:total", "currency": "USD", "stage": "decision"},
        {"name": "signup", "kind": "macro", "event": "form_submit",
         "path": ["/register", "/signup"], "status": "3xx"}
      ],
      "funnels": [
        {"name": "purchase_path", "steps": ["viewed_pricing", "purchase"], "window": "7d"}
      ]
    }

Any problem (a missing file, a syntax error, an unknown key, a value of the wrong type
or out of range, two goals with the same name, a funnel step naming no goal) raises
:class:`convsdk.ConfigError` whose ``source``, ``goal`` and ``field`` say where.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import math
import operator
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal, TypedDict, Unpack

from marshmallow import RAISE, Schema, ValidationError, validate
from marshmallow import fields as mf

from .errors import ConfigError

__all__ = ["Funnel", "Goal", "GoalSet", "load_goals", "parse_status", "resolve_goals"]

logger = logging.getLogger("convsdk.goals")

Kind = Literal["micro", "macro"]
Role = Literal["milestone", "secondary"]
Source = Literal["server", "browser"]

_NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
_KINDS = ("micro", "macro")
_ROLES = ("milestone", "secondary")
_SOURCES = ("server", "browser")
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
_VALUE_FROM = re.compile(r"(form|query|property):(\S.{0,127})\Z", re.DOTALL)
_MAX_PATH = 2048
_MAX_LABEL = 64


# -- path globs --------------------------------------------------------------------


def _compile_path(pattern: str) -> Callable[[str], bool]:
    """Turn a path glob into the cheapest test that decides it.

    Most goal paths are exact (``/pricing``) or a prefix (``/checkout*``); a string
    comparison beats a regex for both, and this runs on every request.
    """
    if "*" not in pattern and "?" not in pattern:
        return functools.partial(operator.eq, pattern)
    stem = pattern.rstrip("*")
    if "*" not in stem and "?" not in stem:
        if not stem:
            return _any_path
        return lambda path: path.startswith(stem)
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            if not parts or parts[-1] != ".*":  # "**" is the same as "*"
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    fullmatch = re.compile("".join(parts), re.DOTALL).fullmatch
    return lambda path: fullmatch(path) is not None


def _any_path(path: str) -> bool:
    return True


def _slashless(pattern: str) -> str:
    """``pattern`` without its trailing slash (``/`` itself and globs ending in ``*`` stay)."""
    if len(pattern) > 1 and pattern.endswith("/"):
        return pattern.rstrip("/") or "/"
    return pattern


def _compile_paths(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One test for a goal's path patterns: any matches; ``/a`` and ``/a/`` are one page."""
    exact: set[str] = set()
    tests: list[Callable[[str], bool]] = []
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            bare = _slashless(pattern)
            exact.add(bare)
            if bare != "/":
                exact.add(bare + "/")
        elif pattern.endswith("*"):
            tests.append(_compile_path(pattern))
        else:
            bare = _slashless(pattern)
            tests.append(_compile_path(bare))
            tests.append(_compile_path(bare + "/"))
    if not tests:
        return frozenset(exact).__contains__
    if exact:
        tests.insert(0, frozenset(exact).__contains__)
    if len(tests) == 1:
        return tests[0]
    checks = tuple(tests)
    return lambda path: any(test(path) for test in checks)


# -- response statuses -------------------------------------------------------------

StatusSpec = str | int | Iterable[str | int]
_STATUS_CLASS = re.compile(r"([1-5])xx\Z", re.IGNORECASE)


def parse_status(spec: Any, *, field: str = "status", goal: str | None = None) -> frozenset[int]:
    """The status codes a ``status=`` option accepts: ``"2xx"``, ``"3xx"``, ``302``, or a list.

    Raises :class:`convsdk.ConfigError` naming ``field`` (and ``goal``) for anything else::

        parse_status(["2xx", 302])   # 200-299 and 302
    """
    items = [spec] if isinstance(spec, str | int) else spec
    if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
        raise ConfigError(
            f"must be '2xx', '3xx', a status code or a list of those, got {spec!r}",
            field=field,
            goal=goal,
        )
    codes: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            item = repr(item)  # not a status: reported below
        if isinstance(item, int) and 100 <= item <= 599:
            codes.add(item)
            continue
        if isinstance(item, str):
            text = item.strip()
            m = _STATUS_CLASS.match(text)
            if m is not None:
                first = int(m[1]) * 100
                codes.update(range(first, first + 100))
                continue
            if text.isdigit() and 100 <= int(text) <= 599:
                codes.add(int(text))
                continue
        raise ConfigError(
            f"must be '2xx', '3xx', a status code (100-599) or a list of those, got {item!r}",
            field=field,
            goal=goal,
        )
    if not codes:
        raise ConfigError("must name at least one status", field=field, goal=goal)
    return frozenset(codes)


# -- reading amounts ---------------------------------------------------------------

_AMOUNT = re.compile(
    r"\s*(?P<pre>[^\d\s.,]*)\s*"
    r"(?P<num>[.,]?\d(?:[\d.,' \u00a0\u202f]*\d)?)"
    r"\s*(?P<post>[^\d\s.,]*)\s*"
)
_GROUP_SPLIT = re.compile(r"[.,' \u00a0\u202f]")
_MAX_AMOUNT_TEXT = 64


def _is_currency_mark(mark: str) -> bool:
    # "$", "€", "US$", "R$", "kr", "USD": letters of a code or currency symbols.
    return len(mark) <= 4 and all(
        (c.isascii() and c.isalpha()) or unicodedata.category(c) == "Sc" for c in mark
    )


def _parse_amount(text: str) -> float | None:
    """Read a human-written, non-negative amount; ``None`` when it is not one."""
    if len(text) > _MAX_AMOUNT_TEXT:
        return None
    m = _AMOUNT.fullmatch(text)
    if m is None or not _is_currency_mark(m["pre"]) or not _is_currency_mark(m["post"]):
        return None
    num = m["num"]
    dots, commas = num.count("."), num.count(",")
    if dots and commas:
        # Both present: the last one is the decimal mark ("1,299.00", "1.299,00").
        decimal: str | None = "." if num.rfind(".") > num.rfind(",") else ","
    elif commas == 1 and not dots:
        decimal = ","
        head, _, tail = num.partition(",")
        # "1,299" is a thousands separator (no currency has three decimals written
        # with a comma in practice); "19,90" and "0,500" are decimal commas.
        if len(tail) == 3 and head.strip(" '\u00a0\u202f").lstrip("0"):
            decimal = None
    elif dots == 1 and not commas:
        decimal = "."
    else:
        decimal = None  # only grouping separators: "1,299,000", "1.299.000", "1 299"
    if decimal is not None:
        if num.count(decimal) != 1:
            return None
        whole, frac = num.split(decimal)
        if not (frac.isdigit() and frac.isascii()):
            return None
    else:
        whole, frac = num, "0"
    groups = _GROUP_SPLIT.split(whole) if whole else ["0"]
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    digits = "".join(groups) or "0"
    if not digits.isdigit() or not digits.isascii():
        return None
    amount = float(f"{digits}.{frac}")
    return amount if math.isfinite(amount) else None


def _to_amount(raw: Any) -> float | None:
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None  # parse_qs-style {"total": ["49.90"]}
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        amount = float(raw)
        return amount if math.isfinite(amount) and amount >= 0 else None
    if isinstance(raw, str):
        return _parse_amount(raw)
    return None


# -- Goal --------------------------------------------------------------------------


class GoalOptions(TypedDict, total=False):
    """Keyword options of :meth:`Goal.micro` and :meth:`Goal.macro` (see :class:`Goal`)."""

    event: str | None
    path: str | Sequence[str] | None
    method: str | None
    status: str | int | Sequence[str | int] | None
    value: float | None
    value_from: str | None
    currency: str | None
    stage: str | None
    role: Role
    source: Source
    description: str | None


class _Compiled:
    # Derived state lives in slots outside the dataclass fields, so it stays out of
    # eq, hash, repr, fields() and asdict().
    __slots__ = ("_path_test", "_statuses", "_value_spec")
    _path_test: Callable[[str], bool] | None
    _statuses: frozenset[int] | None  # None: any status below 400
    _value_spec: tuple[str, str] | None  # ("form" | "query" | "property", key)


@dataclass(frozen=True, slots=True)
class Goal(_Compiled):
    """A rule that turns an interaction into a micro or macro conversion.

    Build goals with :meth:`micro` and :meth:`macro`; every argument is checked at
    construction and a bad one raises :class:`convsdk.ConfigError` naming the goal
    and the field::

        Goal.micro("viewed_pricing", event="page_view", path="/pricing")
        Goal.macro("purchase", event="checkout", path="/checkout*",
                   value_from="form:total", currency="usd")   # stored as "USD"

    - ``name``: letters, digits and ``_``, 1 to 64 characters; the event's ``goal``.
    - ``kind``: ``"micro"`` or ``"macro"``.
    - ``event``, ``path`` (a glob or a list of globs), ``method``: what to match (see the
      module docs); ``None`` matches anything.
    - ``status``: the response statuses that count (``"2xx"``, ``"3xx"``, a code, or a
      list); ``None``, the default, is any status below 400.
    - ``value`` (a fixed, non-negative amount) or ``value_from`` (``"form:<field>"``,
      ``"query:<param>"``, ``"property:<key>"``), not both.
    - ``currency``: ISO 4217 code, upper-cased; ``None`` means the tracker's default.
    - ``stage``: a funnel-stage label for reports (``"awareness"``, ``"decision"``...).
    - ``role``: ``"milestone"`` (a step towards the macro goal) or ``"secondary"``
      (a sign of future intent, like a newsletter signup).
    - ``source``: ``"server"``, or ``"browser"`` for a micro goal the browser beacon
      may report. Macro goals are server-only: a browser could forge them.
    """

    name: str
    kind: Kind
    event: str | None = None
    path: str | Sequence[str] | None = None  # a list is kept as a tuple
    method: str | None = None
    value: float | None = None
    value_from: str | None = None
    currency: str | None = None
    stage: str | None = None
    role: Role = "milestone"
    source: Source = "server"
    description: str | None = None
    status: str | int | Sequence[str | int] | None = None  # a list is kept as a tuple

    def __post_init__(self) -> None:
        name = self.name
        goal = name if isinstance(name, str) else None

        def fail(field: str, message: str) -> ConfigError:
            return ConfigError(message, field=field, goal=goal)

        if not isinstance(name, str) or _NAME.match(name) is None:
            raise fail("name", f"must be 1-64 letters, digits or underscores, got {name!r}")
        if self.kind not in _KINDS:
            raise fail("kind", f"must be 'micro' or 'macro', got {self.kind!r}")
        if self.role not in _ROLES:
            raise fail("role", f"must be 'milestone' or 'secondary', got {self.role!r}")
        if self.source not in _SOURCES:
            raise fail("source", f"must be 'server' or 'browser', got {self.source!r}")
        if self.source == "browser" and self.kind == "macro":
            raise fail("source", "a macro goal cannot come from the browser (it could be forged)")
        event = self.event
        if event is not None and (not isinstance(event, str) or _NAME.match(event) is None):
            raise fail("event", f"must be 1-64 letters, digits or underscores, got {event!r}")
        path = self.path
        patterns: tuple[str, ...] = ()
        if path is not None:
            if isinstance(path, str):
                patterns = (path,)
            elif isinstance(path, Iterable) and not isinstance(path, bytes | Mapping):
                patterns = tuple(path)
                if not patterns:
                    raise fail("path", "must name at least one path pattern")
                object.__setattr__(self, "path", patterns)  # hashable, like the rest
            else:
                raise fail("path", f"must be a path pattern or a list of them, got {path!r}")
            for pattern in patterns:
                if not isinstance(pattern, str) or not pattern.startswith(("/", "*")):
                    raise fail(
                        "path", f"must be a path pattern starting with '/' or '*', got {pattern!r}"
                    )
                if len(pattern) > _MAX_PATH:
                    raise fail("path", f"must be at most {_MAX_PATH} characters")
        statuses = None
        status = self.status
        if status is not None:
            statuses = parse_status(status, goal=goal)
            if not isinstance(status, str | int):
                object.__setattr__(self, "status", tuple(status))
        method = self.method
        if method is not None:
            if not isinstance(method, str) or method.upper() not in _METHODS:
                known = ", ".join(sorted(_METHODS))
                raise fail("method", f"must be an HTTP method ({known}), got {method!r}")
            object.__setattr__(self, "method", method.upper())
        value = self.value
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise fail("value", f"must be a number, got {type(value).__name__}")
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise fail("value", f"must be a finite number of at least 0, got {value!r}")
            object.__setattr__(self, "value", value)
        value_spec = None
        if self.value_from is not None:
            if value is not None:
                raise fail("value_from", "give either a fixed value or value_from, not both")
            spec = self.value_from
            m = _VALUE_FROM.match(spec) if isinstance(spec, str) else None
            if m is None:
                raise fail(
                    "value_from",
                    f"must be 'form:<field>', 'query:<param>' or 'property:<key>', got {spec!r}",
                )
            value_spec = (m[1], m[2])
        currency = self.currency
        if currency is not None:
            if (
                not isinstance(currency, str)
                or len(currency) != 3
                or not currency.isascii()
                or not currency.isalpha()
            ):
                raise fail("currency", f"must be a three-letter ISO 4217 code, got {currency!r}")
            object.__setattr__(self, "currency", currency.upper())
        for field in ("stage", "description"):
            text = getattr(self, field)
            if text is not None and not isinstance(text, str):
                raise fail(field, f"must be a string, got {type(text).__name__}")
        stage = self.stage
        if stage is not None and not (0 < len(stage.strip()) and len(stage) <= _MAX_LABEL):
            raise fail("stage", f"must be a non-blank label of at most {_MAX_LABEL} characters")
        object.__setattr__(self, "_path_test", _compile_paths(patterns) if patterns else None)
        object.__setattr__(self, "_statuses", statuses)
        object.__setattr__(self, "_value_spec", value_spec)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild through __init__ so the derived slots are recomputed (pickle, copy).
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))

    @classmethod
    def micro(cls, name: str, **options: Unpack[GoalOptions]) -> Goal:
        """A micro conversion: a step towards a macro goal, or a sign of intent::

        Goal.micro("newsletter", event="form_submit", path="/newsletter", role="secondary")
        """
        return cls(name, "micro", **options)

    @classmethod
    def macro(cls, name: str, **options: Unpack[GoalOptions]) -> Goal:
        """A macro conversion: the action the site exists for (a purchase, a signup)::

        Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total")
        """
        return cls(name, "macro", **options)

    def matches(
        self,
        event: str,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> bool:
        """Whether an interaction (event name, URL path, HTTP method, status) counts for this goal.

        A goal with a ``path`` (or ``method``) never matches when none is given; the
        status is checked only when given (the middleware gives the response's).

        >>> Goal.macro("purchase", event="checkout", path="/checkout*").matches(
        ...     "checkout", "/checkout/pay", "POST")
        True
        """
        if self.event is not None and event != self.event:
            return False
        want = self.method
        if want is not None and (method is None or (method != want and method.upper() != want)):
            return False
        if status is not None:
            statuses = self._statuses
            if status not in statuses if statuses is not None else status >= 400:
                return False
        test = self._path_test
        if test is None:
            return True
        return path is not None and test(path)

    def extract_value(
        self,
        *,
        form: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> float | None:
        """The conversion value: the fixed ``value``, or the one ``value_from`` names.

        Mappings may hold strings, numbers or lists of them (the first item counts).
        Text is read leniently: ``"49.90"``, ``"1,299.00"``, ``"$19"``, ``"USD 19"``,
        ``"19,90 €"`` (a lone comma is a decimal comma, except in ``"1,299"``),
        ``"1.299,00"``. Missing, negative or unreadable values give ``None``; this
        never raises.

        >>> Goal.macro("purchase", value_from="form:total").extract_value(form={"total": "$49.90"})
        49.9
        """
        if self.value is not None:
            return self.value
        spec = self._value_spec
        if spec is None:
            return None
        source, key = spec
        mapping = form if source == "form" else query if source == "query" else properties
        if mapping is None:
            return None
        try:
            return _to_amount(mapping.get(key))
        except Exception:  # a user-supplied mapping may do anything; never break a request
            logger.debug("goal %r: could not read %s", self.name, self.value_from, exc_info=True)
            return None


# -- Funnel ------------------------------------------------------------------------

_WINDOW = re.compile(r"(?:\d+(?:\.\d+)?[wdhms])+")
_WINDOW_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_DEFAULT_WINDOW = timedelta(days=30)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def _parse_window(window: Any, funnel: str | None) -> timedelta:
    def fail(message: str) -> ConfigError:
        return ConfigError(message, field="window", goal=funnel)

    try:
        if isinstance(window, timedelta):
            result = window
        elif isinstance(window, int | float) and not isinstance(window, bool):
            if not math.isfinite(window):
                raise fail(f"must be a finite number of seconds, got {window!r}")
            result = timedelta(seconds=window)
        elif isinstance(window, str):
            text = window.strip().lower()
            if _WINDOW.fullmatch(text) is None:
                raise fail(
                    "must be a duration like '90s', '30m', '24h', '7d', '2w' or '1d12h', "
                    f"got {window!r}"
                )
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _WINDOW_PART.findall(text))
            result = timedelta(seconds=seconds)
        else:
            raise fail(
                "must be a timedelta, a number of seconds or a string like '7d', "
                f"got {type(window).__name__}"
            )
    except OverflowError as exc:
        raise fail(f"is too long: {window!r}") from exc
    if result <= timedelta(0):
        raise fail(f"must be positive, got {window!r}")
    return result


@dataclass(frozen=True, slots=True, init=False)
class Funnel:
    """An ordered path of goals a visitor should complete within ``window``.

    ``steps`` names at least two distinct goals, in order. ``window`` accepts a
    :class:`~datetime.timedelta`, a number of seconds, or a string such as ``"90s"``,
    ``"30m"``, ``"24h"``, ``"7d"``, ``"2w"`` or ``"1d12h"``; it is stored as a
    ``timedelta``::

        Funnel("purchase_path", ["viewed_pricing", "started_trial", "purchase"], window="7d")
    """

    name: str
    steps: tuple[str, ...]
    window: timedelta

    def __init__(
        self,
        name: str,
        steps: Iterable[str],
        window: timedelta | float | str = _DEFAULT_WINDOW,
    ) -> None:
        funnel = name if isinstance(name, str) else None
        if not isinstance(name, str) or _NAME.match(name) is None:
            raise ConfigError(
                f"funnel name must be 1-64 letters, digits or underscores, got {name!r}",
                field="name",
                goal=funnel,
            )
        if isinstance(steps, str | bytes) or not isinstance(steps, Iterable):
            raise ConfigError("must be a list of goal names", field="steps", goal=funnel)
        steps = tuple(steps)
        for step in steps:
            if not isinstance(step, str) or _NAME.match(step) is None:
                raise ConfigError(f"{step!r} is not a goal name", field="steps", goal=funnel)
        if len(steps) < 2:
            raise ConfigError("a funnel needs at least two steps", field="steps", goal=funnel)
        if len(set(steps)) != len(steps):
            raise ConfigError("a goal may appear only once", field="steps", goal=funnel)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "window", _parse_window(window, funnel))


# -- GoalSet -----------------------------------------------------------------------


class GoalSet:
    """An ordered, validated collection of goals and funnels (names unique).

    ``match`` returns the first goal, in declaration order, that matches an
    interaction, so put specific goals before broad ones::

        goals = GoalSet([Goal.macro("purchase", event="checkout", path="/checkout/done"),
                         Goal.micro("checkout_step", event="checkout")])
        goals.match("checkout", "/checkout/done", "POST").name   # "purchase"
        "purchase" in goals                                       # True
    """

    __slots__ = ("_any_event", "_by_event", "_by_name", "funnels", "goals", "macro", "micro")

    goals: tuple[Goal, ...]
    """Every goal, in declaration order."""
    funnels: tuple[Funnel, ...]
    """Every funnel, in declaration order."""
    micro: tuple[Goal, ...]
    """The micro goals, in declaration order."""
    macro: tuple[Goal, ...]
    """The macro goals, in declaration order."""

    def __init__(self, goals: Iterable[Goal] = (), funnels: Iterable[Funnel] = ()) -> None:
        goals = tuple(goals)
        funnels = tuple(funnels)
        by_name: dict[str, Goal] = {}
        for goal in goals:
            if not isinstance(goal, Goal):
                raise ConfigError(
                    f"expected Goal objects, got {type(goal).__name__}", field="goals"
                )
            if goal.name in by_name:
                raise ConfigError("two goals have this name", field="name", goal=goal.name)
            by_name[goal.name] = goal
        funnel_names: set[str] = set()
        for funnel in funnels:
            if not isinstance(funnel, Funnel):
                raise ConfigError(
                    f"expected Funnel objects, got {type(funnel).__name__}", field="funnels"
                )
            if funnel.name in funnel_names:
                raise ConfigError("two funnels have this name", field="name", goal=funnel.name)
            funnel_names.add(funnel.name)
            unknown = [step for step in funnel.steps if step not in by_name]
            if unknown:
                raise ConfigError(
                    f"step {unknown[0]!r} names no goal{_suggest(unknown[0], by_name)}",
                    field="steps",
                    goal=funnel.name,
                )
        self.goals = goals
        self.funnels = funnels
        self.micro = tuple(g for g in goals if g.kind == "micro")
        self.macro = tuple(g for g in goals if g.kind == "macro")
        self._by_name = by_name
        # Candidates per event name, keeping declaration order, so match() only tries
        # goals that can match the event at hand.
        self._any_event = tuple(g for g in goals if g.event is None)
        self._by_event = {
            event: tuple(g for g in goals if g.event in (event, None))
            for event in {g.event for g in goals if g.event is not None}
        }

    def match(
        self,
        event: str,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
    ) -> Goal | None:
        """The first goal (in declaration order) matching the interaction, or ``None``."""
        for goal in self._by_event.get(event, self._any_event):
            if goal.matches(event, path, method, status):
                return goal
        return None

    def get(self, name: str) -> Goal | None:
        """The goal called ``name``, or ``None``."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Goal]:
        return iter(self.goals)

    def __len__(self) -> int:
        return len(self.goals)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Goal):
            return self._by_name.get(item.name) == item
        return item in self._by_name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GoalSet):
            return NotImplemented
        return self.goals == other.goals and self.funnels == other.funnels

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        goals = [g.name for g in self.goals]
        funnels = [f.name for f in self.funnels]
        return f"GoalSet(goals={goals!r}, funnels={funnels!r})"


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- goal files --------------------------------------------------------------------


class _StrictFloat(mf.Float):
    """A number in the file, not a string that looks like one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _Window(mf.Field[Any]):
    """A duration string or a number of seconds; Funnel checks the value itself."""

    default_error_messages = {"invalid": "must be a duration like '7d' or a number of seconds"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid")
        return value


class _StringOrList(mf.Field[Any]):
    """A string or a list of strings (a goal's path patterns)."""

    default_error_messages = {"invalid": "must be a string or a list of strings"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise self.make_error("invalid")


class _Status(mf.Field[Any]):
    """``"2xx"``, ``"3xx"``, a status code, or a list of those; Goal checks the values."""

    default_error_messages = {"invalid": "must be '2xx', '3xx', a status code or a list of those"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not items or any(isinstance(i, bool) or not isinstance(i, str | int) for i in items):
            raise self.make_error("invalid")
        return tuple(value) if isinstance(value, list) else value


def _optional_string() -> mf.String:
    return mf.String(load_default=None, allow_none=True)


class _GoalSchema(Schema):
    class Meta:
        unknown = RAISE

    # Only shapes and types here: Goal itself checks the values, so a goal built in
    # code and a goal read from a file obey exactly the same rules.
    name = mf.String(required=True)
    kind = mf.String(required=True, validate=validate.OneOf(_KINDS))
    event = _optional_string()
    path = _StringOrList(load_default=None, allow_none=True)
    method = _optional_string()
    status = _Status(load_default=None, allow_none=True)
    value = _StrictFloat(load_default=None, allow_none=True)
    value_from = _optional_string()
    currency = _optional_string()
    stage = _optional_string()
    role = mf.String(load_default="milestone", validate=validate.OneOf(_ROLES))
    source = mf.String(load_default="server", validate=validate.OneOf(_SOURCES))
    description = _optional_string()


class _FunnelSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(required=True)
    steps = mf.List(mf.String(), required=True)
    window = _Window(load_default="30d")


class _GoalFileSchema(Schema):
    class Meta:
        unknown = RAISE

    goals = mf.List(mf.Nested(_GoalSchema), load_default=list)
    funnels = mf.List(mf.Nested(_FunnelSchema), load_default=list)


_SECTION_KEYS = {
    "goals": sorted(_GoalSchema().fields),
    "funnels": sorted(_FunnelSchema().fields),
    None: sorted(_GoalFileSchema().fields),
}


_Location = tuple[str | int, ...]


def _flatten(messages: Any, path: _Location = ()) -> Iterator[tuple[_Location, str]]:
    """Yield (location, message) for every error in a marshmallow messages tree."""
    if isinstance(messages, dict):
        for key, sub in messages.items():
            yield from _flatten(sub, (*path, key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


# marshmallow's messages, reworded for someone editing a TOML or JSON file.
_REWORDED = {
    "Missing data for required field.": "required key is missing",
    "Invalid input type.": "must be a table (an object in JSON)",
    "Not a valid string.": "must be a string",
    "Not a valid list.": "must be a list (an array)",
    "Not a valid number.": "must be a number",
    "Field may not be null.": "may not be null",
}


def _prefix(goal: str | None, field: str | None) -> str:
    """The "goal 'x': field 'y'" part of a ConfigError message."""
    return ": ".join(p for p in (goal and f"goal {goal!r}", field and f"field {field!r}") if p)


def _describe(location: _Location, message: str, data: Any) -> tuple[str | None, str | None, str]:
    """(goal or funnel name, field, readable message) for one schema error."""
    section: str | None = None
    item: Any = None
    rest = location
    where = ""
    if len(location) >= 2 and location[0] in ("goals", "funnels") and isinstance(location[1], int):
        section, index, rest = str(location[0]), location[1], location[2:]
        entries = data.get(section) if isinstance(data, dict) else None
        if isinstance(entries, list) and index < len(entries):
            item = entries[index]
        where = f"{section}[{index}]"
    # "_schema" is marshmallow's key for a problem with the whole entry (not a table).
    rest = tuple(part for part in rest if part != "_schema")
    name = item.get("name") if isinstance(item, dict) else None
    goal = name if isinstance(name, str) else None
    field = str(rest[0]) if rest else section
    message = _REWORDED.get(message, message)
    if message == "Unknown field." and field is not None:
        allowed = _SECTION_KEYS[section]
        hint = _suggest(field, allowed)
        message = f"unknown key{hint}" if hint else f"unknown key; known keys: {', '.join(allowed)}"
    elif len(rest) > 1:
        message = f"item {rest[1]} {message}"
    if goal is None and where:
        message = f"in {where}: {message}"  # no usable name: say which entry
    return goal, field, message


def _schema_error(exc: ValidationError, data: Any, source: str) -> ConfigError:
    problems = list(_flatten(exc.messages))
    if not problems:  # pragma: no cover - marshmallow always says something
        return ConfigError(str(exc), source=source)
    goal, field, message = _describe(*problems[0], data)
    if len(problems) > 1:
        # Report every problem at once, so a file can be fixed in one pass.
        others = []
        for location, text in problems[1:6]:
            g, f, m = _describe(location, text, data)
            others.append(": ".join(p for p in (_prefix(g, f), m) if p))
        more = f" (and {len(problems) - 6} more)" if len(problems) > 6 else ""
        message += f"; also {'; '.join(others)}{more}"
    return ConfigError(message, source=source, goal=goal, field=field)


def _with_source(exc: ConfigError, source: str) -> ConfigError:
    text = str(exc)
    prefix = _prefix(exc.goal, exc.field)
    if prefix and text.startswith(prefix + ": "):
        text = text[len(prefix) + 2 :]
    return ConfigError(text, source=source, goal=exc.goal, field=exc.field)


def _parse_file(path: str | os.PathLike[str], source: str) -> Any:
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError(
            f"unsupported goal file type {suffix or '(no extension)'!r}: use .toml or .json",
            source=source,
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ConfigError("goal file not found", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read goal file: {exc.strerror or exc}", source=source) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise ConfigError(message, source=source) from exc
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # its message carries the line and column
            raise ConfigError(f"invalid TOML: {exc}", source=source) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=source
        ) from exc


def load_goals(path: str | os.PathLike[str]) -> GoalSet:
    """Read goals and funnels from a ``.toml`` or ``.json`` goal file.

    The format is described in this module's documentation. Any problem raises
    :class:`convsdk.ConfigError` with ``source`` (the file), ``goal`` (the goal or
    funnel at fault, when there is one) and ``field``::

        goals = load_goals("goals.toml")
        goals.match("page_view", "/pricing", "GET")
    """
    source = os.fspath(path)
    if not isinstance(source, str):
        raise ConfigError("the goal file path must be text, not bytes", field="goals")
    data = _parse_file(path, source)
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a table with 'goals' and 'funnels', got {type(data).__name__}",
            source=source,
        )
    try:
        loaded = _GoalFileSchema().load(data)
    except ValidationError as exc:
        raise _schema_error(exc, data, source) from None
    try:
        goals = [Goal(**entry) for entry in loaded["goals"]]
        funnels = [Funnel(**entry) for entry in loaded["funnels"]]
        result = GoalSet(goals, funnels)
    except ConfigError as exc:
        raise _with_source(exc, source) from None
    logger.debug("loaded %d goals and %d funnels from %s", len(goals), len(funnels), source)
    return result


def resolve_goals(goals: GoalSet | str | os.PathLike[str] | Iterable[Goal | Funnel]) -> GoalSet:
    """Turn what a user passed as ``goals=`` into a :class:`GoalSet`.

    Accepts a :class:`GoalSet` (returned as is), a path to a goal file, or an
    iterable mixing :class:`Goal` and :class:`Funnel` objects::

        resolve_goals("goals.toml")
        resolve_goals([Goal.micro("signup", event="form_submit", path="/signup")])
    """
    if isinstance(goals, GoalSet):
        return goals
    if isinstance(goals, str | os.PathLike):
        return load_goals(goals)
    if isinstance(goals, bytes | Mapping) or not isinstance(goals, Iterable):
        raise ConfigError(
            "goals must be a GoalSet, a path to a goal file, or a list of Goal and Funnel "
            f"objects, got {type(goals).__name__}",
            field="goals",
        )
    goal_list: list[Goal] = []
    funnel_list: list[Funnel] = []
    for item in goals:
        if isinstance(item, Goal):
            goal_list.append(item)
        elif isinstance(item, Funnel):
            funnel_list.append(item)
        else:
            raise ConfigError(
                f"expected Goal or Funnel objects, got {type(item).__name__}", field="goals"
            )
    return GoalSet(goal_list, funnel_list)
