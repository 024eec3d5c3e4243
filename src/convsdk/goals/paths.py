"""A goal's path globs, compiled into the cheapest test that decides them.

``*`` matches any run of characters (``/`` included), ``?`` exactly one; an exact
pattern matches the page with or without its trailing slash. This runs on every
request, so exact patterns and prefixes become string comparisons, not regexes.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable

__all__ = ["compile_path", "compile_paths"]

PathTest = Callable[[str], bool]


def compile_path(pattern: str) -> PathTest:
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


def compile_paths(patterns: tuple[str, ...]) -> PathTest:
    """One test for a goal's path patterns: any matches; ``/a`` and ``/a/`` are one page."""
    exact: set[str] = set()
    tests: list[PathTest] = []
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            bare = _slashless(pattern)
            exact.add(bare)
            if bare != "/":
                exact.add(bare + "/")
        elif pattern.endswith("*"):
            tests.append(compile_path(pattern))
        else:
            bare = _slashless(pattern)
            tests.append(compile_path(bare))
            tests.append(compile_path(bare + "/"))
    if not tests:
        return frozenset(exact).__contains__
    if exact:
        tests.insert(0, frozenset(exact).__contains__)
    if len(tests) == 1:
        return tests[0]
    checks = tuple(tests)
    return lambda path: any(test(path) for test in checks)
