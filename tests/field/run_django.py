"""Run Django's, Wagtail's and django CMS's own test suites with and without convsdk's
Django middleware.

::

    .venv/bin/python tests/field/run_django.py [django|wagtail|djangocms|all] [--all]
                                               [--store sqlite] [LABEL ...]

The three sdists ship their tests: Django's ``tests/`` with its runner (``runtests.py``:
an app per feature, run against SQLite), Wagtail's with its settings
(``wagtail.test.settings``: a project of page types, forms, snippets, redirects,
documents and images, with the admin), django CMS's with its settings and
``manage.py`` (``cms.tests.settings``: pages, placeholders, plugins, menus, apphooks,
the toolbar, behind Django's per-site cache). The sdist (Django: the version in the
project's venv) is downloaded once into ``.field-cache/``, with a venv of what the
tests import, the project venv's Django and convsdk (editable). Each suite runs twice
in it, with the settings of ``field_django_settings``, ``field_wagtail_settings`` or
``field_djangocms_settings`` and the runner of ``field_django_runner`` (it writes every
test's outcome to a file):

- as the project has it;
- with convsdk: ``ConversionMiddleware`` first in ``MIDDLEWARE``, its app installed,
  goals on page views, form submits (valued from a form field, so the middleware reads
  form bodies) and checkouts, the events stored in a JSON Lines file, or with
  ``--store sqlite`` in an SQLite file with a durable spool (any event left in the
  spool when the process has exited is a problem).

Every test's outcome is compared. Prints the totals of both runs, the events recorded,
and the tests that fail only with convsdk; exits 1 when there is any (or when nothing
was recorded: the middleware was not active). Without labels a suite covers the apps
that serve requests (:attr:`DjangoSuite.labels`: Django's handlers, test client, file
uploads, CSRF, middleware, views, sessions, messages, redirects, flat pages, ASGI;
Wagtail's pages, form pages, redirects, documents, images, API; all of django CMS's);
``--all`` runs the whole suite (Django's 18,000 tests: about 15 minutes a run;
Wagtail's admin included).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from run_suites import (
    CACHE,
    HERE,
    ROOT,
    build_venv,
    differences,
    fetch_source,
    installed_version,
    log,
    run_logged,
    totals,
    verdict,
)

GOALS = """
[[goals]]
name = "field_checkout"
kind = "macro"
event = "checkout"
value_from = "form:total"

[[goals]]
name = "field_form"
kind = "micro"
event = "form_submit"
value_from = "form:amount"

[[goals]]
name = "field_page"
kind = "micro"
event = "page_view"
"""

Outcomes = dict[str, tuple[str, str]]


def django_command(python: Path, labels: list[str]) -> list[str]:
    """Django's ``runtests.py`` (run in its ``tests/``), one process."""
    return [str(python), "runtests.py", "--settings=field_django_settings", "--parallel=1", *labels]


def django_test_command(*entry: str, settings: str) -> Callable[[Path, list[str]], list[str]]:
    """The command of Django's ``test`` run by ``entry`` (``manage.py``, ``-m django``)
    with ``settings`` and the outcome runner, one process."""

    def command(python: Path, labels: list[str]) -> list[str]:
        options = [f"--settings={settings}", "--testrunner=field_django_runner.Runner"]
        return [str(python), *entry, "test", *options, "--noinput", "--parallel=1", *labels]

    return command


@dataclass(frozen=True)
class DjangoSuite:
    """A Django project's test suite, shipped in its sdist."""

    package: str
    #: The version run: ``None`` for the project venv's (Django's suite tests itself).
    pinned: str | None
    #: The suite's directory in the sdist; the runner runs there when ``run_inside``.
    tests: str
    run_inside: bool
    #: The command of one run, given the venv's Python and the labels.
    command: Callable[[Path, list[str]], list[str]]
    #: What a marketing site serves: the labels run by default.
    labels: tuple[str, ...]
    #: The labels of ``--all``: the whole suite.
    everything: tuple[str, ...]
    #: What the tests import beyond the package (and Django, and convsdk).
    requirements: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return self.pinned or installed_version(self.package)


SUITES = {
    "django": DjangoSuite(
        "django",
        None,
        "tests",
        True,
        django_command,
        (
            "handlers",
            "requests_tests",
            "test_client",
            "test_client_regress",
            "file_uploads",
            "csrf_tests",
            "middleware",
            "middleware_exceptions",
            "view_tests",
            "generic_views",
            "responses",
            "httpwrappers",
            "sessions_tests",
            "messages_tests",
            "redirects_tests",
            "flatpages_tests",
            "shortcuts",
            "conditional_processing",
            "asgi",
            "wsgi",
            "builtin_server",
            "decorators",
            "signed_cookies_tests",
            "i18n.patterns",
            "servers",
        ),
        (),
        ("tblib", "pillow", "jinja2", "pyyaml", "argon2-cffi"),
    ),
    "wagtail": DjangoSuite(
        "wagtail",
        "7.4.4",
        "wagtail/test",
        False,
        django_test_command("-m", "django", settings="field_wagtail_settings"),
        (
            "wagtail.tests",
            "wagtail.contrib.forms",
            "wagtail.contrib.redirects",
            "wagtail.contrib.routable_page",
            "wagtail.contrib.sitemaps",
            "wagtail.documents",
            "wagtail.images",
            "wagtail.api",
        ),
        ("wagtail",),
        ("wagtail[testing]=={version}",),
    ),
    "djangocms": DjangoSuite(
        "django-cms",
        "5.1.3",
        "cms/tests",
        False,
        django_test_command("manage.py", settings="field_djangocms_settings"),
        ("cms", "menus"),
        ("cms", "menus"),
        (
            # test_requirements/requirements_base.txt, less coverage, linters and the
            # spell checker (a C library), with the sdist's own pins.
            "django-cms=={version}",
            "dj-database-url",
            "django-app-helper",
            "django-classy-tags>=0.7.2",
            "django-formtools",
            "django-sekizai>=0.7",
            "django-treebeard>=4.3,<6",
            "djangocms-admin-style>=1.5",
            "djangocms-text!=1.0.0",
            "iptools",
            "mock>=2.0.0",
            "pillow",
        ),
    ),
}


def ensure_venv(suite: DjangoSuite) -> Path:
    """The venv of ``suite``: what its tests import, the project's Django, convsdk."""
    django = installed_version("django")
    requirements = [req.format(version=suite.version) for req in suite.requirements]
    return build_venv(
        CACHE / f"{suite.package}-venv",
        [f"-e{ROOT}[django,bots]", *requirements, f"django=={django}"],
    )


def run_suite(
    name: str, python: Path, source: Path, labels: list[str], with_convsdk: bool, store: str
) -> tuple[Outcomes, float, Counter[str] | None]:
    """One run of a suite: the outcome of every test, seconds, and the events by name
    (``None`` without convsdk), with ``spooled`` lines left in the spool."""
    suite = SUITES[name]
    label = "with-convsdk" if with_convsdk else "baseline"
    results = CACHE / "results"
    results.mkdir(parents=True, exist_ok=True)
    output = results / f"{name}-{label}.log"
    found = results / f"{name}-{label}.json"
    found.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"convsdk-{name}-") as tmp:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CONVSDK_")}
        env.update(PYTHONPATH=str(HERE), FIELD_MEDIA=tmp, FIELD_OUTCOMES=str(found))
        events = Path(tmp) / ("events.db" if store == "sqlite" else "events.jsonl")
        spool = Path(tmp) / "spool"
        if with_convsdk:
            goals = Path(tmp) / "goals.toml"
            goals.write_text(GOALS, encoding="utf-8")
            env.update(FIELD_EVENTS=str(events), FIELD_GOALS=str(goals), FIELD_SPOOL=str(spool))
        cwd = source / suite.tests if suite.run_inside else source
        elapsed = run_logged(
            f"{name} {label}", suite.command(python, labels), cwd, env, output, found
        )
        # The tracker closed with the process: every event is stored, or left in the
        # spool (counted: a problem).
        names = count_events(events) if with_convsdk else None
        if names is not None:
            names["spooled"] = sum(
                len(path.read_bytes().splitlines()) for path in spool.glob("**/*.jsonl")
            )
    written: dict[str, list[str]] = json.loads(found.read_text(encoding="utf-8"))
    outcomes = {test: (outcome, message) for test, (outcome, message) in written.items()}
    return outcomes, elapsed, names


def count_events(events: Path) -> Counter[str]:
    """The events of a store (JSON Lines or SQLite) by name, and by goal."""
    names: Counter[str] = Counter()
    if not events.exists():
        return names
    if events.suffix == ".db":
        with sqlite3.connect(events) as conn:
            rows = list(conn.execute("SELECT name, goal FROM convsdk_events"))
        conn.close()
    else:
        with open(events, encoding="utf-8") as lines:
            rows = [(event["name"], event["goal"]) for event in map(json.loads, lines)]
    for event_name, goal in rows:
        names[event_name] += 1
        if goal is not None:
            names[f"goal {goal}"] += 1
    return names


def compare(name: str, everything: bool, labels: list[str], store: str) -> list[str]:
    """Run suite ``name`` both ways; the problems found (see :func:`differences`)."""
    suite = SUITES[name]
    labels = list(suite.everything if everything else labels or suite.labels)
    versions = f"{name} {suite.version}"
    if name != "django":
        versions += f", django {installed_version('django')}"
    log(f"{versions}, convsdk from {ROOT.name}")
    source = fetch_source(suite.package, suite.version, tests=suite.tests)
    python = ensure_venv(suite)
    base, base_time, _ = run_suite(name, python, source, labels, False, store)
    field, field_time, names = run_suite(name, python, source, labels, True, store)
    print(f"\n== {name} ({source.name}: {' '.join(labels) or 'all'})")
    print(f"baseline:     {totals(base)}  in {base_time:.0f} s")
    print(f"with convsdk: {totals(field)}  in {field_time:.0f} s")
    problems: list[str] = []
    if not names:
        problems.append(f"{name}: convsdk recorded no event: the middleware was not active")
        print(problems[-1])
    else:
        spooled = names.pop("spooled", 0)
        events = sum(n for key, n in names.items() if not key.startswith("goal "))
        print(f"convsdk: {events} events in {store} {dict(sorted(names.items()))}")
        if spooled:  # the process exited with events undelivered
            problems.append(f"{name}: convsdk left {spooled} events in the spool")
            print(problems[-1])
    return problems + differences(name, base, field)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="all", choices=[*SUITES, "all"])
    parser.add_argument("--all", action="store_true", help="the whole suite")
    parser.add_argument(
        "--store",
        choices=["jsonl", "sqlite"],
        default="jsonl",
        help="where the events go: a JSON Lines file (default), or an SQLite file and a "
        "durable spool",
    )
    parser.add_argument("labels", nargs="*", help="test labels (default: the suite's own)")
    args = parser.parse_args(argv)
    names = list(SUITES) if args.suite == "all" else [args.suite]
    if args.labels and len(names) > 1:
        parser.error("labels name the tests of one suite: name it (django or wagtail)")
    problems: list[str] = []
    for name in names:
        problems += compare(name, args.all, args.labels, args.store)
    return verdict(problems)


if __name__ == "__main__":
    sys.exit(main())
