"""The shape of a goal file (TOML or JSON), as marshmallow schemas.

Only shapes and types here: :class:`~convsdk.goals.Goal` and
:class:`~convsdk.goals.Funnel` check the values themselves, so a goal built in code
and a goal read from a file obey exactly the same rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, validate
from marshmallow import fields as mf

from ..checks import is_int, is_number
from .validation import KINDS, ROLES, SOURCES

__all__ = ["SECTION_KEYS", "GoalFileSchema"]


class _StrictFloat(mf.Float):
    """A number in the file, not a string that looks like one."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not is_number(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _Window(mf.Field[Any]):
    """A duration string or a number of seconds; Funnel checks the value itself."""

    default_error_messages = {"invalid": "must be a duration like '7d' or a number of seconds"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not (isinstance(value, str) or is_number(value)):
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
        if not items or any(not (isinstance(i, str) or is_int(i)) for i in items):
            raise self.make_error("invalid")
        return tuple(value) if isinstance(value, list) else value


def _optional_string() -> mf.String:
    return mf.String(load_default=None, allow_none=True)


class _GoalSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(required=True)
    kind = mf.String(required=True, validate=validate.OneOf(KINDS))
    event = _optional_string()
    path = _StringOrList(load_default=None, allow_none=True)
    method = _optional_string()
    status = _Status(load_default=None, allow_none=True)
    value = _StrictFloat(load_default=None, allow_none=True)
    value_from = _optional_string()
    currency = _optional_string()
    stage = _optional_string()
    role = mf.String(load_default="milestone", validate=validate.OneOf(ROLES))
    source = mf.String(load_default="server", validate=validate.OneOf(SOURCES))
    description = _optional_string()


class _FunnelSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(required=True)
    steps = mf.List(mf.String(), required=True)
    window = _Window(load_default="30d")


class GoalFileSchema(Schema):
    """A whole goal file: a ``goals`` list and a ``funnels`` list, nothing else."""

    class Meta:
        unknown = RAISE

    goals = mf.List(mf.Nested(_GoalSchema), load_default=list)
    funnels = mf.List(mf.Nested(_FunnelSchema), load_default=list)


#: The keys each section of a goal file allows (``None``: the top level).
SECTION_KEYS: dict[str | None, list[str]] = {
    "goals": sorted(_GoalSchema().fields),
    "funnels": sorted(_FunnelSchema().fields),
    None: sorted(GoalFileSchema().fields),
}
