"""Run Wagtail's own test suite with and without convsdk's Django middleware.

::

    .venv/bin/python tests/field/run_wagtail.py [--all] [LABEL ...]

Wagtail's sdist ships its tests and their settings (``wagtail.test.settings``: a
project of page types, forms, snippets, redirects, documents and images, with the
admin). The sdist of :data:`WAGTAIL` is downloaded once into ``.field-cache/``, with a
venv of its ``testing`` extra, the project venv's Django and convsdk (editable). Django's
test runner then runs the suite twice in that venv, both times with
``field_wagtail_settings`` (media and static files in a fresh directory each run) and
``field_wagtail_runner`` (it writes every test's outcome to a file):

- as Wagtail has it;
- with convsdk: ``ConversionMiddleware`` first in ``MIDDLEWARE``, its app installed,
  goals on page views, form submits (valued from a form field, so the middleware reads
  form bodies) and checkouts, the events stored in a JSON Lines file.

Every test's outcome is compared. Prints the totals of both runs, the events recorded,
and the tests that fail only with convsdk; exits 1 when there is any (or when nothing
was recorded: the middleware was not active). Without labels the run covers the apps
that serve a site's pages, forms and files (:data:`LABELS`, ~1,700 tests, about
3 minutes a run); ``--all`` runs the whole suite, the admin included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
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

WAGTAIL = "7.4.4"
#: What a marketing site built on Wagtail serves: pages and their routing (core),
#: form pages, redirects, routable pages, sitemaps, documents, images, the API.
LABELS = [
    "wagtail.tests",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.routable_page",
    "wagtail.contrib.sitemaps",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.api",
]
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


def ensure_venv() -> Path:
    """The venv of Wagtail's suite: its testing extra, the project's Django, convsdk."""
    return build_venv(
        CACHE / "wagtail-venv",
        [
            f"-e{ROOT}[django,bots]",
            f"wagtail[testing]=={WAGTAIL}",
            f"django=={installed_version('django')}",
        ],
    )


def run_suite(
    python: Path, source: Path, labels: list[str], with_convsdk: bool
) -> tuple[Outcomes, float, Counter[str] | None]:
    """One run of the suite: the outcome of every test, seconds, and the events by name
    (``None`` without convsdk)."""
    label = "with-convsdk" if with_convsdk else "baseline"
    results = CACHE / "results"
    results.mkdir(parents=True, exist_ok=True)
    output = results / f"wagtail-{label}.log"
    found = results / f"wagtail-{label}.json"
    found.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="convsdk-wagtail-") as tmp:
        env = {name: value for name, value in os.environ.items() if not name.startswith("CONVSDK_")}
        env.update(PYTHONPATH=str(HERE), FIELD_MEDIA=tmp, FIELD_OUTCOMES=str(found))
        events = Path(tmp) / "events.jsonl"
        if with_convsdk:
            goals = Path(tmp) / "goals.toml"
            goals.write_text(GOALS, encoding="utf-8")
            env.update(FIELD_EVENTS=str(events), FIELD_GOALS=str(goals))
        cmd = [
            str(python),
            "-m",
            "django",
            "test",
            "--settings=field_wagtail_settings",
            "--testrunner=field_wagtail_runner.Runner",
            "--noinput",
            "--parallel=1",
            *labels,
        ]
        elapsed = run_logged(f"wagtail {label}", cmd, source, env, output, found)
        names = None
        if with_convsdk:
            # The tracker closed with the process: every event is in the file.
            names = Counter()
            if events.exists():
                with open(events, encoding="utf-8") as lines:
                    for line in lines:
                        event = json.loads(line)
                        names[event["name"]] += 1
                        if event["goal"] is not None:
                            names[f"goal {event['goal']}"] += 1
    written: dict[str, list[str]] = json.loads(found.read_text(encoding="utf-8"))
    outcomes = {test: (outcome, message) for test, (outcome, message) in written.items()}
    return outcomes, elapsed, names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="the whole suite, admin included")
    parser.add_argument("labels", nargs="*", help=f"test labels (default: {' '.join(LABELS)})")
    args = parser.parse_args(argv)
    labels = ["wagtail"] if args.all else (args.labels or LABELS)
    django = installed_version("django")
    log(f"versions: wagtail {WAGTAIL}, django {django}, convsdk from {ROOT.name}")
    source = fetch_source("wagtail", WAGTAIL, tests="wagtail/test")
    python = ensure_venv()
    base, base_time, _ = run_suite(python, source, labels, False)
    field, field_time, names = run_suite(python, source, labels, True)
    print(f"\n== wagtail ({source.name}: {' '.join(labels)})")
    print(f"baseline:     {totals(base)}  in {base_time:.0f} s")
    print(f"with convsdk: {totals(field)}  in {field_time:.0f} s")
    problems: list[str] = []
    if not names:
        problems.append("wagtail: convsdk recorded no event: the middleware was not active")
        print(problems[-1])
    else:
        print(
            f"convsdk: {sum(n for k, n in names.items() if not k.startswith('goal '))} events "
            f"{dict(sorted(names.items()))}"
        )
    problems += differences("wagtail", base, field)
    return verdict(problems)


if __name__ == "__main__":
    sys.exit(main())
