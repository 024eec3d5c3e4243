"""The ``convsdk`` command.

::

    convsdk report SOURCE [--goals goals.toml] [--since 2026-11-01|7d] [--until ...]
                          [--format table|json|html] [-o FILE] [--top N] [--no-rollups]
    convsdk rollup URL [--rebuild] [--goals goals.toml [--interval ...] [--by ...]
                                    [--experiment-goal GOAL] [--include-bots]]
    convsdk demo [--visitors N] [--db PATH] [--html PATH] [--seed N]
    convsdk consume SOURCE --into DEST [--group G] [--idle-timeout S] [--max-events N]
                   [--claim-idle S]
    convsdk migrate URL
    convsdk collect BACKEND [--host 127.0.0.1] [--port 8000]
                    (--token-file PATH | env CONVSDK_COLLECT_TOKEN | --insecure)
                    [--max-value N] [--max-future-days N] [--earliest DATE]
    convsdk --version

``SOURCE`` is a backend URL (``sqlite:///convsdk.db``, ``file:///var/log/events.jsonl``,
``postgresql://host/db?table=convsdk_events``) or a path (``.db`` → SQLite, ``.jsonl`` →
JSON Lines). ``collect`` needs the bearer token senders present, read from a file
(``--token-file``) or the environment (``CONVSDK_COLLECT_TOKEN``), never from the
command line, where ``ps`` shows it to every user; ``--insecure`` runs without one
(a local demo). ``report --format json`` prints the JSON document described in
:mod:`convsdk.report.metrics` (stable keys; ``version`` changes when one changes
meaning); ``--format html`` writes a self-contained page (``convsdk-report.html``
unless ``-o`` says otherwise).

Exit status: 0 done; 1 the work failed (a store or server could not be read or
written); 2 a usage or configuration error (a bad option, source or goal file), told
in one line on standard error; 130 interrupted.

Each command imports what it needs when it runs, so a missing optional dependency
only breaks the command that needs it.

Modules: :mod:`~convsdk.cli.parser` (the command line), :mod:`~convsdk.cli.base`
(statuses, messages, loading a command's module), one per command group
(:mod:`~convsdk.cli.report` with :mod:`~convsdk.cli.progress`, :mod:`~convsdk.cli.rollup`,
:mod:`~convsdk.cli.stores`: demo, consume, migrate; :mod:`~convsdk.cli.collect`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..errors import BackendError, ConfigError
from .base import FAILED, INTERRUPTED, USAGE, Unavailable, UsageError, error
from .collect import COLLECT_TOKEN_ENV
from .parser import build_parser
from .progress import PROGRESS_DELAY

__all__ = ["COLLECT_TOKEN_ENV", "PROGRESS_DELAY", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``convsdk`` command with ``argv`` (default: the process's); return its status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return exc.status
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return USAGE
    try:
        return handler(args)
    except ConfigError as exc:
        error(str(exc))
        return USAGE
    except (BackendError, Unavailable) as exc:
        error(str(exc))
        return FAILED
    except KeyboardInterrupt:
        error("interrupted")
        return INTERRUPTED
