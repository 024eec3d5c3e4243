"""Goal-file errors worded for the person editing the file.

marshmallow reports problems as a tree of messages keyed by position; this turns them
into one :class:`convsdk.ConfigError` naming the file, the goal or funnel at fault (by
name, or by position when it has none) and the field, with every other problem listed
after the first, so a file can be fixed in one pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from marshmallow import ValidationError

from ..errors import ConfigError
from .file_schema import SECTION_KEYS
from .validation import suggest

__all__ = ["schema_error", "with_source"]

_Location = tuple[str | int, ...]

# marshmallow's messages, reworded for someone editing a TOML or JSON file.
_REWORDED = {
    "Missing data for required field.": "required key is missing",
    "Invalid input type.": "must be a table (an object in JSON)",
    "Not a valid string.": "must be a string",
    "Not a valid list.": "must be a list (an array)",
    "Not a valid number.": "must be a number",
    "Field may not be null.": "may not be null",
}


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
        allowed = SECTION_KEYS[section]
        hint = suggest(field, allowed)
        message = f"unknown key{hint}" if hint else f"unknown key; known keys: {', '.join(allowed)}"
    elif len(rest) > 1:
        message = f"item {rest[1]} {message}"
    if goal is None and where:
        message = f"in {where}: {message}"  # no usable name: say which entry
    return goal, field, message


def schema_error(exc: ValidationError, data: Any, source: str) -> ConfigError:
    """One :class:`ConfigError` for every problem the schema found in ``data`` (from ``source``)."""
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


def with_source(exc: ConfigError, source: str) -> ConfigError:
    """``exc`` (raised by a goal or funnel read from a file) naming the file as well."""
    text = str(exc)
    prefix = _prefix(exc.goal, exc.field)
    if prefix and text.startswith(prefix + ": "):
        text = text[len(prefix) + 2 :]
    return ConfigError(text, source=source, goal=exc.goal, field=exc.field)
