"""``manage.py convsdk_forget``: ``convsdk forget`` on the project's own store.

SOURCE defaults to ``CONVSDK_BACKEND`` and ``--spool`` to the tracker's spool directory
(``CONVSDK_SPOOL_DIR``), whose waiting events of the people named are counted; the
other options are the CLI's (``--user``, ``--visitor``, ``--dry-run``).

    python manage.py convsdk_forget --user 1042
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from .....cli.base import store_url
from .....cli.forget import add_forget_options, run_forget
from .....errors import BackendError, ConfigError
from ... import settings as _settings
from ..output import CommandStream, project_store

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no type hints
    """Erase people's events from the project's store (see ``convsdk forget --help``)."""

    help = "Erase people's events from the project's store (an erasure request)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The CLI's ``forget`` options, SOURCE defaulting to the settings."""
        parser.add_argument("source", nargs="?", metavar="SOURCE", help="default: CONVSDK_BACKEND")
        add_forget_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run ``convsdk forget`` on the project's store and spool."""
        tracker = _settings.tracker_options(_settings.convsdk_settings())
        spools = options["spool"]
        own = tracker["spool_dir"]
        if not spools and own is not None and os.path.isdir(own):
            spools = [os.fspath(own)]  # the project's tracker's, if it ever spooled
        forget = argparse.Namespace(
            url=store_url(project_store(options["source"], tracker)),
            user=options["user"],
            visitor=options["visitor"],
            dry_run=options["dry_run"],
            spool=spools,
        )
        try:
            with contextlib.redirect_stdout(CommandStream(self)):  # type: ignore[type-var]
                run_forget(forget)
        except (ConfigError, BackendError) as exc:
            raise CommandError(str(exc)) from exc
