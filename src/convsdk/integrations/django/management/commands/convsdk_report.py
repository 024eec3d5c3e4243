"""``manage.py convsdk_report``: ``convsdk report`` on the project's own store and goals.

SOURCE defaults to ``CONVSDK_BACKEND`` and ``--goals`` to ``CONVSDK_GOALS`` (settings,
then environment), and ``--tz`` to the project's ``TIME_ZONE``: the site's days are the
report's; the other options are the CLI's, defined once there (``--since``,
``--until``, ``--format``, ``-o``, ``--top``, ``--interval``, ``--by``...).
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from .....cli.base import Unavailable
from .....cli.report import add_report_options, run_report
from .....errors import BackendError, ConfigError
from ... import settings as _settings
from ..output import CommandStream, project_store

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no type hints
    """Report on the events the project stored (see ``convsdk report --help``)."""

    help = "Goals, funnels, micro → macro lift and channels from the project's stored events."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The CLI's ``report`` options, SOURCE and ``--goals`` defaulting to the settings."""
        parser.add_argument("source", nargs="?", metavar="SOURCE", help="default: CONVSDK_BACKEND")
        parser.add_argument("--goals", metavar="FILE", help="default: CONVSDK_GOALS")
        add_report_options(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run ``convsdk report`` with the project's store and goals."""
        config = _settings.convsdk_settings()
        tracker = _settings.tracker_options(config)
        source = project_store(options["source"], tracker)
        names = (
            "since",
            "until",
            "format",
            "output",
            "top",
            "interval",
            "by",
            "compare",
            "rates",
            "channels",
            "engine",
            "no_rollups",
        )
        report = argparse.Namespace(
            source=source,
            goals=options["goals"] or tracker["goals"] or None,
            experiment_goal=options["experiment_goal"],
            include_bots=options["include_bots"],
            timezone=options["timezone"] or _site_zone(),
            **{name: options[name] for name in names},
        )
        try:
            with contextlib.redirect_stdout(CommandStream(self)):  # type: ignore[type-var]
                run_report(report)
        except (ConfigError, BackendError, Unavailable) as exc:
            raise CommandError(str(exc)) from exc


def _site_zone() -> str | None:
    """The project's ``TIME_ZONE`` (Django's own default, America/Chicago, too: it is
    the zone Django shows the site's times in)."""
    from django.conf import settings

    zone = getattr(settings, "TIME_ZONE", None)
    return zone if isinstance(zone, str) and zone else None
