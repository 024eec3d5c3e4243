"""What every ``convsdk`` command shares: exit statuses, the parser class, one-line
messages, and loading a command's module only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from ..errors import missing_extra

__all__ = [
    "FAILED",
    "INTERRUPTED",
    "USAGE",
    "Parser",
    "Unavailable",
    "UsageError",
    "error",
    "load",
    "positive_int",
    "store_url",
    "warning",
]

#: Exit statuses: the work failed; a usage or configuration error; interrupted.
FAILED, USAGE, INTERRUPTED = 1, 2, 130

# The extra that brings what a command's module imports.
EXTRAS = {".demo": "flask", ".collector": "collector", ".backends.postgres": "postgres"}


class UsageError(Exception):
    """argparse found a bad command line (it has printed the usage already)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Unavailable(Exception):
    """The module a command needs cannot be imported."""


def load(module: str, name: str, command: str) -> Any:
    """``convsdk<module>.name``, imported now, so that only the command needing it can fail.

    ``module`` is relative to the ``convsdk`` package: ``".demo"``, ``".collector"``;
    ``command`` is the one that needs it (``"collect"``), named in the error. A missing
    extra is a :class:`~convsdk.ConfigError` (exit 2) worded as everywhere else; a module
    of convsdk's own that cannot be loaded is :class:`Unavailable` (exit 1).
    """
    try:
        return getattr(importlib.import_module(module, "convsdk"), name)
    except ImportError as exc:
        extra = EXTRAS.get(module)
        if extra is not None and not (exc.name or "").startswith("convsdk"):
            raise missing_extra(f"convsdk {command}", extra, exc) from exc
        raise Unavailable(f"convsdk {command} cannot be loaded ({exc}); reinstall convsdk") from exc


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` instead of exiting the process.

    A bad command line is told like every other error, in one line on standard error,
    with the command's ``--help`` to read next.
    """

    def error(self, message: str) -> Any:  # type: ignore[override]
        command = self.prog.removeprefix("convsdk").strip()
        where = f"{command}: " if command else ""
        error(f"{where}{message} (see: {self.prog} --help)")
        raise UsageError(USAGE)

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        # argparse exits the process; a caller of main() wants a status back instead.
        if message:
            self._print_message(message, sys.stderr)
        raise UsageError(status)


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


_PATH_SCHEMES = {".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite"}
_PATH_SCHEMES.update({".jsonl": "file", ".ndjson": "file"})


def store_url(text: str) -> str:
    """An argparse ``type`` for a store: a backend URL as given, or a path made a URL.

    Every command takes a store alike: ``events.db`` (or ``.sqlite``, ``.sqlite3``) is
    ``sqlite:///`` that file, ``events.jsonl`` (or ``.ndjson``) ``file:///`` that file.
    """
    if "://" in text:
        return text
    path = Path(text)
    scheme = _PATH_SCHEMES.get(path.suffix.lower())
    if scheme is None:
        return text  # the backend's own error tells what a URL looks like
    # sqlite:////abs.db (an absolute path after "sqlite:///"); file:///abs.jsonl.
    slash = "/" if scheme == "sqlite" else ""
    return f"{scheme}://{slash}{path.absolute().as_posix()}"


def warning(message: str) -> None:
    """Tell the person at the terminal something went half right, in one line."""
    sys.stderr.write(f"convsdk: warning: {' '.join(message.split())}\n")


def error(message: str) -> None:
    """Tell why a command failed, in one line."""
    # One line: the message is for a person at a terminal, not a traceback.
    text = " ".join(message.split())
    sys.stderr.write(f"convsdk: error: {text}\n")
