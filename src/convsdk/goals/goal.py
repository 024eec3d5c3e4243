"""The :class:`Goal`: one rule that turns an interaction into a micro or macro conversion.

A goal is checked once, when it is built (:mod:`convsdk.goals.validation`), and
compiled into the tests :meth:`Goal.matches` runs on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, TypedDict, Unpack

from .amounts import to_amount
from .paths import compile_paths
from .status import parse_status, succeeded
from .validation import (
    check_choices,
    check_currency,
    check_event,
    check_labels,
    check_method,
    check_name,
    check_value,
    check_value_from,
    path_patterns,
)

__all__ = ["Goal", "GoalOptions", "Kind", "Role", "Source"]

logger = logging.getLogger("convsdk.goals")

Kind = Literal["micro", "macro"]
Role = Literal["milestone", "secondary"]
Source = Literal["server", "browser"]


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
    _statuses: frozenset[int] | None  # None: succeeded() (below 400, not 307/308)
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
    - ``event``, ``path`` (a glob or a list of globs), ``method``: what to match (see
      :mod:`convsdk.goals`); ``None`` matches anything.
    - ``status``: the response statuses that count (``"2xx"``, ``"3xx"``, a code, or a
      list); ``None``, the default, is any status below 400 but 307 and 308 (see
      :mod:`convsdk.goals.status`).
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
        # Checked in the order of the fields, so the first bad one is the one reported.
        name = self.name
        check_name(name)
        check_choices(self.kind, self.role, self.source, name)
        check_event(self.event, name)
        patterns = path_patterns(self.path, name)
        status = self.status
        statuses = None if status is None else parse_status(status, goal=name)
        method = check_method(self.method, name)
        value = check_value(self.value, name)
        value_spec = check_value_from(self.value_from, value, name)
        currency = check_currency(self.currency, name)
        check_labels(self.stage, self.description, name)
        # Normalised forms: hashable tuples for lists, upper-case codes, a float value.
        set_field = object.__setattr__
        if patterns and not isinstance(self.path, str):
            set_field(self, "path", patterns)
        if status is not None and not isinstance(status, str | int):
            set_field(self, "status", tuple(status))
        set_field(self, "method", method)
        set_field(self, "value", value)
        set_field(self, "currency", currency)
        set_field(self, "_path_test", compile_paths(patterns) if patterns else None)
        set_field(self, "_statuses", statuses)
        set_field(self, "_value_spec", value_spec)

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
            if status not in statuses if statuses is not None else not succeeded(status):
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
            return to_amount(mapping.get(key))
        except Exception:  # a user-supplied mapping may do anything; never break a request
            logger.debug("goal %r: could not read %s", self.name, self.value_from, exc_info=True)
            return None
