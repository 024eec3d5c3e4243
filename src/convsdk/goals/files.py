"""Goal files: :func:`load_goals` reads goals and funnels from TOML or JSON, and
:func:`resolve_goals` turns whatever a user passed as ``goals=`` into a
:class:`~convsdk.goals.GoalSet`.

The file format, with a complete example, is in the :mod:`convsdk.goals` documentation.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import ValidationError

from ..errors import ConfigError
from .file_errors import schema_error, with_source
from .file_schema import GoalFileSchema
from .funnel import Funnel
from .goal import Goal
from .goalset import GoalSet

__all__ = ["load_goals", "resolve_goals"]

logger = logging.getLogger("convsdk.goals")


def _read_text(path: str | os.PathLike[str], source: str) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ConfigError("goal file not found", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read goal file: {exc.strerror or exc}", source=source) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        raise ConfigError(message, source=source) from exc


def _parse_file(path: str | os.PathLike[str], source: str) -> Any:
    suffix = os.path.splitext(source)[1].lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError(
            f"unsupported goal file type {suffix or '(no extension)'!r}: use .toml or .json",
            source=source,
        )
    text = _read_text(path, source)
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

    The format is described in the :mod:`convsdk.goals` documentation. Any problem
    raises :class:`convsdk.ConfigError` with ``source`` (the file), ``goal`` (the goal
    or funnel at fault, when there is one) and ``field``::

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
        loaded = GoalFileSchema().load(data)
    except ValidationError as exc:
        raise schema_error(exc, data, source) from None
    try:
        goals = [Goal(**entry) for entry in loaded["goals"]]
        funnels = [Funnel(**entry) for entry in loaded["funnels"]]
        result = GoalSet(goals, funnels)
    except ConfigError as exc:
        raise with_source(exc, source) from None
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
