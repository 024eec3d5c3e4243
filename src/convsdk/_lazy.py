"""A package's exports imported when first used (PEP 562), not when the package is.

``import convsdk`` happens in places that need little of it: every pytest run where
convsdk is installed loads :mod:`convsdk.testing`'s fixtures, and a ``convsdk report``
needs neither the tracker nor the decorators. A package lists its exports as ``{name:
module}``; the first ``package.name`` (or ``from package import name``) imports the
module and keeps the value in the package, so later lookups are plain attribute reads.
A submodule not listed is imported on first access too (``convsdk.backends.register``
after ``import convsdk`` keeps working). Type checkers see the package's
``if TYPE_CHECKING:`` imports instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose ``exports`` map each
    name to the module (relative to ``package``) that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
        elif not name.startswith("_") and _has_submodule(package, name):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__


def _has_submodule(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except (ImportError, ValueError):
        return False
