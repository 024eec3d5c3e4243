"""What a ``track_micro``/``track_macro`` decorator was told: its goal, kind, value,
properties, transaction id, and the methods and statuses that convert (checked here,
when the decorator is applied)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import ConfigError
from ..event import check_name
from ..goals import StatusSpec, parse_status

Dynamic = Any  # a constant, or a callable of the view's result

_ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _methods(option: Iterable[str] | None) -> frozenset[str] | None:
    if option is None:
        return None
    if isinstance(option, str | bytes) or not isinstance(option, Iterable):
        raise ConfigError(f"must be a list of HTTP methods, got {option!r}", field="methods")
    methods = frozenset(str(m).upper() for m in option)
    unknown = sorted(methods - _ALL_METHODS)
    if unknown or not methods:
        raise ConfigError(
            f"must be a non-empty list of GET, POST, PUT, PATCH, DELETE, got {option!r}",
            field="methods",
        )
    return methods


class Spec:
    """One decorator's goal and options, checked when the decorator is applied."""

    __slots__ = (
        "currency",
        "goal",
        "kind",
        "methods",
        "properties",
        "statuses",
        "transaction_id",
        "value",
    )

    def __init__(
        self,
        goal: str,
        kind: str,
        value: Dynamic,
        currency: str | None,
        properties: Dynamic,
        transaction_id: Dynamic,
        methods: Iterable[str] | None = None,
        status: StatusSpec | None = None,
    ) -> None:
        try:
            check_name("goal", goal)
        except ValueError as exc:  # when the view is defined, never inside a request
            raise ConfigError(str(exc).removeprefix("goal "), field="goal") from None
        self.goal = goal
        self.kind = kind
        self.value = value
        self.currency = currency
        self.properties = properties
        self.transaction_id = transaction_id
        self.methods = _methods(methods)
        self.statuses = None if status is None else parse_status(status, goal=goal)
