"""The ``convsdk`` command line: the top-level parser, with each command group's own."""

from __future__ import annotations

import argparse

from .. import __version__
from .base import Parser
from .collect import add_collect
from .forget import add_forget
from .report import add_report
from .rollup import add_rollup
from .stores import add_consume, add_demo, add_migrate

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each sets ``handler``, the function that runs it."""
    parser = Parser(
        prog="convsdk",
        description="Server-side micro and macro conversion tracking: reports and tools.",
    )
    parser.add_argument("--version", action="version", version=f"convsdk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    every = (add_report, add_rollup, add_forget, add_demo, add_consume, add_migrate, add_collect)
    for add in every:
        add(commands)
    return parser
