"""Run Starlette's, FastAPI's, Flask's, Falcon's, Pyramid's, Bottle's, Django REST
framework's and Litestar's own test suites with and without convsdk.

::

    .venv/bin/python tests/field/run_suites.py \
        [starlette|fastapi|flask|flaskr|falcon|pyramid|bottle|drf|litestar|all] \
        [--placement user] [--store sqlite] [-- -k EXPR]

For each suite: download the sdist of the version installed in the project's venv from
PyPI (the sdists ship their ``tests/``; Flask's also the tutorial's app, flaskr, with
its tests), unpack it under ``.field-cache/``, make a venv there with convsdk
(editable) and what the suites' tests import, run the suite once as it is and once
with convsdk's plugin for it, and compare the outcome of every test:

- Starlette and FastAPI, ``convsdk_field``: every app they build gets the ASGI
  ``ConversionMiddleware``;
- Flask and flaskr, ``convsdk_field_flask``: every Flask app gets the ``ConvSDK``
  extension (the WSGI middleware around ``app.wsgi_app``);
- Falcon (:data:`FALCON_REQUIREMENTS`; the version its :class:`Suite` pins),
  ``convsdk_field_falcon``: every WSGI and ASGI Falcon app answers through the WSGI or
  the ASGI ``ConversionMiddleware``;
- Django REST framework (:data:`DRF_REQUIREMENTS`; not in the project's venv: the
  version its :class:`Suite` pins), ``convsdk_field_django``: the Django middleware
  first in ``MIDDLEWARE``;
- Litestar (:data:`LITESTAR_REQUIREMENTS`), ``convsdk_field_litestar``: every Litestar
  app answers through the ASGI ``ConversionMiddleware``. Its newest sdists no longer
  ship their tests: its :class:`Suite` pins the last that did (2.13.0), and its venv
  the versions of that time where newer ones break the suite.

The events go to memory, or with ``--store sqlite`` to an SQLite file and a durable
spool for each tracker (see :mod:`field_tracker`). Prints the totals of both runs and
the tests that fail only with convsdk; exits 1 when there is any, when the plugin
recorded no event (then the middleware was not active), when convsdk dropped events, or
when it left something behind once closed: a file still open, a thread alive, bytes in
a spool.

The separate venv keeps the suites' test dependencies (their pytest plugins, pins such
as ``pytest<9.2``) out of the project's own venv and ``make test``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".field-cache"

# What each suite's tests import, beyond the framework itself (from their
# pyproject's test dependency groups, less linters, coverage and benchmark tools).
COMMON = [
    "pytest>=9.1.1,<9.2",  # FastAPI pins <9.2; Starlette wants >=9.1.1
    "pytest-timeout>=2.4",
    "anyio[trio]>=4.1",
    "trio>=0.34",
]
REQUIREMENTS = {
    "starlette": [
        "itsdangerous",
        "jinja2",
        "opentelemetry-api",
        "opentelemetry-sdk>=1.44",
        "python-multipart>=0.0.18",
        "pyyaml",
        "httpx>=0.27,<0.29",
        "httpx2[zstd]>=2.0",
        "blockbuster>=1.5.23",
    ],
    "fastapi": [
        "opentelemetry-instrumentation-fastapi>=0.65b0",
        "opentelemetry-sdk>=1.44",
        "opentelemetry-exporter-otlp-proto-http>=1.44",
        "logfire>=5.1",
        "sentry-sdk>=2.70",
        "httpx>=0.27,<0.29",
        "httpx2>=2.0",
        "python-slugify>=8.0.4",
        "dirty-equals>=0.9",
        "flask>=3.0,<4",
        "inline-snapshot>=0.21.1",
        "pwdlib[argon2]>=0.2.1",
        "pyjwt>=2.9",
        "pyyaml>=5.3.1,<7",
        "sqlmodel>=0.0.31",
        "strawberry-graphql>=0.200,<1",
        "typer>=0.26.1",
        "a2wsgi>=1.9,<=2.0",
        "pytest-xdist>=3.0.2",  # only for its xdist_group marker (--strict-markers)
        "jinja2>=3.1.5",
        "python-multipart>=0.0.18",
        "itsdangerous>=1.1",
        "email-validator>=2.0",
        "pydantic-settings>=2.0",
        "pydantic-extra-types>=2.0",
        "orjson",
        "ujson",
    ],
}
# Flask's suite wants a pytest of its own (its conftest uses a name pytest 9 dropped):
# Flask's and flaskr's suites run in a venv of their own.
FLASK_REQUIREMENTS = [
    "pytest>=8.3,<9",
    "pytest-timeout>=2.4",
    "asgiref",
    "greenlet",
    "python-dotenv",
]
# Falcon's suite: its requirements/tests, less coverage.
FALCON_REQUIREMENTS = [
    "pytest>=9.1.1,<9.2",
    "pytest-timeout>=2.4",
    "pyyaml",
    "requests",
    "aiofiles",
    "httpx",
    "uvicorn>=0.17.0",
    "websockets>=13.1",
    "cbor2",
    "msgpack",
    "mujson",
    "ujson",
    "python-rapidjson",
    "orjson",
    "msgspec",
]
# Pyramid's and Bottle's suites: Pyramid's testing extra (less coverage), and the
# template engines Bottle's tests try.
WSGI_REQUIREMENTS = [
    "pytest>=9.1.1,<9.2",
    "pytest-timeout>=2.4",
    "webtest>=1.3.1",
    "zope.component>=4.0",
    "jinja2",
    "mako",
]
# Django REST framework's suite: its test dependency group and the optional packages
# its tests use (less PostgreSQL's driver: the suite runs on SQLite).
DRF_REQUIREMENTS = [
    "pytest>=9,<10",
    "pytest-django>=4.5.2,<5",
    "pytest-timeout>=2.4",
    "dj-database-url>=3.1.0",
    "django-filter",
    "inflection==0.5.1",
    "markdown>=3.3.7",
    "pygments",
    "pyyaml>=5.3.1,<6.1",
    "requests",
    "uritemplate",
]
# Litestar's suite (2.13.0, of November 2024): its test dependency group, the packages of
# its ``full`` extra and of its dev groups that its tests import (less linters, coverage,
# docs), with the bounds of that time where a newer release breaks the suite.
LITESTAR_REQUIREMENTS = [
    "pytest<8.0.0",
    "pytest-asyncio<0.24",  # the last for pytest 7
    "pytest-lazy-fixtures",
    "pytest-mock",
    "pytest-rerunfailures<15",
    "pytest-timeout",
    "pytest-xdist",  # its addopts say --dist=loadgroup
    "time-machine<3",  # its tests import time_machine.Coordinates
    "httpx>=0.22,<0.28",
    "click<8.2",
    "polyfactory>=2.6.3,<3",
    "annotated-types",
    "attrs",
    "brotli",
    "cryptography",
    "jinja2>=3.1.2",
    "pyjwt>=2.9.0,<2.10",  # 2.10 wants a str "iss", which a test does not give
    "mako>=1.2.4",
    "minijinja>=1.0.0",
    "opentelemetry-instrumentation-asgi",
    "opentelemetry-sdk",
    "piccolo",
    "picologging",
    "prometheus-client",
    "pydantic>=2,<2.10",
    "email-validator",
    "pydantic-extra-types",
    "redis[hiredis]>=4.4.4",
    "advanced-alchemy>=0.2.2,<0.26",
    "sqlalchemy>=2,<2.1",
    "structlog",
    "jsbeautifier",
    "uvicorn[standard]",
    "fast-query-parsers>=1.0.2",
    "beanie>=1.21.0",
    "beautifulsoup4",
    "fsspec",
    "greenlet",
    "hypothesis",
    "python-dotenv",
    "starlette<0.42",
    "trio",
    "aiosqlite",
    "asyncpg>=0.29.0",
    "psycopg[pool,binary]>=3.1.10,<3.2",
    "psutil>=5.9.8",
    "hypercorn>=0.16.0",
    "daphne>=4.0.0",
    "httpx-sse",
]
# Paths of each suite left out of both runs: benchmarks need pytest-codspeed; Litestar's
# tests of its docs' examples import docs/examples/, which its sdist does not ship.
IGNORE = {
    "fastapi": ["tests/benchmarks", "tests/memory_benchmarks"],
    "litestar": ["tests/examples", "tests/unit/test_cli/test_session_commands.py"],
}
#: Tests that fail with convsdk by design, and why (printed, not counted as problems).
KNOWN = {
    "tests.test_basic::test_app_freed_on_zero_refcount": (
        "ConvSDK(app) sets app.wsgi_app to the middleware around the app's own wsgi_app, "
        "as Flask's docs install ProxyFix: the app and the middleware refer to each "
        "other, and the garbage collector (which the test turns off) frees them"
    ),
    "test.test_mount.TestAppMounting::test_mount_cookie": (
        "the test compares every Set-Cookie header of an HTML page (from a mounted Bottle "
        "app) with the two its view sets; convsdk adds a new visitor's two, as on any site"
    ),
    # Django's own suite (run_django.py), with its test ids.
    "wsgi.tests.WSGITest.test_get_wsgi_application": (
        "the test compares the headers of an HTML page with exactly Content-Length and "
        "Content-Type; convsdk adds a new visitor's two Set-Cookie headers to a page, as "
        "on any site"
    ),
    "asgi.tests.ASGITest.test_get_asgi_application": (
        "the test compares the headers of an HTML page from Django's ASGI handler with "
        "exactly Content-Length and Content-Type; convsdk adds a new visitor's two "
        "Set-Cookie headers to a page"
    ),
    "middleware.tests.ConditionalGetMiddlewareTest.test_not_modified_headers": (
        "the test asks the test client for the same page twice, without cookies, and "
        "expects the same cookies on both answers; to convsdk these are two new "
        "visitors, each given ids of their own"
    ),
}


@dataclass(frozen=True)
class Suite:
    """A test suite shipped in a package's sdist: where pytest runs it, with which plugin."""

    #: The package whose sdist holds the suite (the version installed in the project's venv).
    package: str
    #: The plugin that adds convsdk to the apps the suite builds.
    plugin: str
    #: The directory of the suite in the sdist (pytest runs there; ``tests/`` below it).
    where: str = "."
    #: Whether the suite's own app is imported from ``where`` (it is not installed).
    importable: bool = False
    #: The venv it runs in (under ``.field-cache/``): ``venv`` for the ASGI suites.
    venv: str = "venv"
    #: The version run when the package is not in the project's venv.
    pinned: str | None = None
    #: The directory of the tests, below ``where``.
    tests: str = "tests"
    #: For a suite without a pytest configuration of its own: a file of ``where`` that
    #: pytest takes as its configuration (else it would find the project's, above).
    config: str | None = None


SUITES = {
    "starlette": Suite("starlette", "convsdk_field"),
    "fastapi": Suite("fastapi", "convsdk_field"),
    "flask": Suite("flask", "convsdk_field_flask", venv="flask-venv"),
    "flaskr": Suite(
        "flask", "convsdk_field_flask", "examples/tutorial", importable=True, venv="flask-venv"
    ),
    "falcon": Suite("falcon", "convsdk_field_falcon", venv="falcon-venv", pinned="4.4.0"),
    "pyramid": Suite("pyramid", "convsdk_field_wsgi", venv="wsgi-venv", pinned="2.1"),
    "bottle": Suite(
        "bottle",
        "convsdk_field_wsgi",
        venv="wsgi-venv",
        pinned="0.13.5",
        tests="test",
        config="setup.cfg",
    ),
    "drf": Suite("djangorestframework", "convsdk_field_django", venv="drf-venv", pinned="3.18.3"),
    # The last sdist with its tests (see the module's docstring).
    "litestar": Suite("litestar", "convsdk_field_litestar", venv="litestar-venv", pinned="2.13.0"),
}
TIMEOUT = 120  # seconds per test (pytest-timeout): a hang fails a test, not the run


def log(message: str) -> None:
    print(f"[field] {message}", flush=True)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def installed_version(name: str) -> str:
    return importlib.metadata.version(name)


def fetch_source(name: str, version: str, tests: str = "tests") -> Path:
    """The unpacked sdist of ``name==version`` (downloaded once into the cache); it must
    hold the directory ``tests``."""
    # An sdist's file name, and the folder it unpacks to, spell the name with
    # underscores (PEP 625): django_cms-5.1.3.tar.gz.
    stem = f"{name.replace('-', '_')}-{version}"
    target = CACHE / "src" / stem
    if (target / tests).is_dir():
        return target
    sdists = CACHE / "sdist"
    sdists.mkdir(parents=True, exist_ok=True)
    archive = next(iter(sdists.glob(f"{stem}.tar.gz")), None)
    if archive is None:
        log(f"downloading the {name} {version} sdist")
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(sdists),
                f"{name}=={version}",
            ]
        )
        archive = next(iter(sdists.glob(f"{stem}.tar.gz")))
    unpacked = CACHE / "src"
    unpacked.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    if not (target / tests).is_dir():
        raise SystemExit(f"the {name} {version} sdist has no {tests}/ directory")
    return target


def ensure_venv(venv: str, versions: dict[str, str]) -> Path:
    """The Python of the venv ``venv`` (see :class:`Suite`): convsdk (editable), the
    frameworks of its suites at the project's versions, and what their tests import."""
    if venv == "flask-venv":
        requirements = [f"-e{ROOT}[flask,bots]", f"flask=={versions['flask']}"]
        return build_venv(CACHE / venv, [*requirements, *FLASK_REQUIREMENTS])
    if venv == "falcon-venv":
        requirements = [f"-e{ROOT}[bots]", f"falcon=={versions['falcon']}"]
        return build_venv(CACHE / venv, [*requirements, *FALCON_REQUIREMENTS])
    if venv == "wsgi-venv":
        requirements = [
            f"-e{ROOT}[bots]",
            *(f"{name}=={versions[name]}" for name in ("pyramid", "bottle")),
        ]
        return build_venv(CACHE / venv, [*requirements, *WSGI_REQUIREMENTS])
    if venv == "drf-venv":
        requirements = [
            f"-e{ROOT}[django,bots]",
            f"djangorestframework=={versions['djangorestframework']}",
            f"django=={installed_version('django')}",
        ]
        return build_venv(CACHE / venv, [*requirements, *DRF_REQUIREMENTS])
    if venv == "litestar-venv":
        requirements = [f"-e{ROOT}[bots]", f"litestar=={versions['litestar']}"]
        return build_venv(CACHE / venv, [*requirements, *LITESTAR_REQUIREMENTS])
    requirements = [
        f"-e{ROOT}[fastapi,bots]",
        *(f"{name}=={versions[name]}" for name in ("fastapi", "starlette")),
        *COMMON,
        *sorted({req for reqs in REQUIREMENTS.values() for req in reqs}),
    ]
    return build_venv(CACHE / venv, requirements)


def build_venv(venv: Path, requirements: list[str]) -> Path:
    """The Python of ``venv`` with ``requirements`` installed (built again when they
    change); the venv keeps a suite's test dependencies out of the project's own."""
    python = venv / "bin" / "python"
    digest = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()
    stamp = venv / ".field-installed"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    log(f"building {venv.relative_to(ROOT)} (one time, a minute or two)")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(python), "-m", "pip", "install", "--quiet", *requirements])
    stamp.write_text(digest)
    return python


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (outcome, first line of the failure) from a JUnit XML report."""
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    result: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = (child.get("message") or "").strip().splitlines()[:1]
                message = message[0] if message else ""
                break
            if child.tag == "skipped":
                outcome = "skipped"
        previous = result.get(test_id)
        if previous is None or rank[outcome] > rank[previous[0]]:
            result[test_id] = (outcome, message)
    return result


def run_suite(
    python: Path,
    name: str,
    source: Path,
    with_convsdk: bool,
    placement: str,
    store: str,
    extra: list[str],
) -> tuple[dict[str, tuple[str, str]], float, dict[str, Any] | None]:
    """One run of the suite ``name`` in ``source``: every test's outcome, seconds, and
    the plugin's summary (``None`` without convsdk)."""
    suite = SUITES[name]
    where = source / suite.where
    label = "with-convsdk" if with_convsdk else "baseline"
    results = CACHE / "results"
    results.mkdir(parents=True, exist_ok=True)
    junit = results / f"{name}-{label}.xml"
    output = results / f"{name}-{label}.log"
    report = results / f"{name}-{label}-convsdk.json"
    report.unlink(missing_ok=True)
    cmd = [
        str(python),
        "-m",
        "pytest",
        suite.tests,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        f"--timeout={TIMEOUT}",
        "-o",
        "junit_family=xunit1",
    ]
    if suite.config is not None:
        cmd += ["-c", suite.config]
    cmd += [f"--ignore={path}" for path in IGNORE.get(name, [])]
    if with_convsdk:
        cmd += ["-p", suite.plugin]
    cmd += extra
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), *([str(where)] if suite.importable else [])]),
        "FIELD_PLACEMENT": placement,
        "FIELD_REPORT": str(report),
        "FIELD_STORE": store,
    }
    env.pop("CONVSDK_SECRET_KEY", None)
    elapsed = run_logged(f"{name} {label}", cmd, where, env, output, junit)
    summary = json.loads(report.read_text()) if report.exists() else None
    return outcomes(junit), elapsed, summary


def run_logged(
    what: str, cmd: list[str], cwd: Path, env: dict[str, str], output: Path, result: Path
) -> float:
    """Run a suite's ``cmd`` with its output in ``output``; the seconds it took. Exits
    when it did not end with its tests run (exit status 0 or 1, ``result`` written)."""
    log(f"{what}: running the suite (output in {output.relative_to(ROOT)})")
    started = time.monotonic()
    with open(output, "w", encoding="utf-8") as out:
        code = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    elapsed = time.monotonic() - started
    if code not in (0, 1) or not result.exists():
        tail = output.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{what}: the suite's runner exited {code}\n{tail}")
    return elapsed


def totals(results: dict[str, tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for outcome, _ in results.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped"))


def compare(
    name: str, python: Path, source: Path, placement: str, store: str, extra: list[str]
) -> list[str]:
    base, base_time, _ = run_suite(python, name, source, False, placement, store, extra)
    field, field_time, summary = run_suite(python, name, source, True, placement, store, extra)
    problems: list[str] = []
    print(f"\n== {name} ({Path(source.name) / SUITES[name].where})")
    print(f"baseline:     {totals(base)}  in {base_time:.0f} s")
    print(f"with convsdk: {totals(field)}  in {field_time:.0f} s")
    if summary is None or not summary.get("events"):
        problems.append(f"{name}: the convsdk plugin recorded no event: it was not active")
        print(problems[-1])
    else:
        print(
            f"convsdk: {summary['wrapped']}, {summary['events']} events {summary['events_by_name']}"
        )
        if summary.get("dropped"):
            # Recorded but never stored: a closed tracker or a backend refusing them,
            # where the run means to try the whole path, storage included.
            problems.append(f"{name}: convsdk dropped {summary['dropped']} events")
            print(problems[-1])
        unaccounted = summary["enqueued"] - summary["delivered"] - summary["dropped"]
        if unaccounted:  # neither delivered nor counted as dropped: lost silently
            problems.append(f"{name}: {unaccounted} events neither delivered nor dropped")
            print(problems[-1])
        left = summary.get("left_behind") or {}
        for what, found in left.items():
            if found:  # files still open, threads alive, bytes in a spool: a leak
                problems.append(f"{name}: convsdk left behind {what}: {found}")
                print(problems[-1][:500])
    return problems + differences(name, base, field)


def differences(
    name: str, base: dict[str, tuple[str, str]], field: dict[str, tuple[str, str]]
) -> list[str]:
    """Print the tests whose outcome differs between the ``base`` run and the ``field``
    run (with convsdk); return the problems: the tests failing or missing only there."""
    problems: list[str] = []
    bad = {"failed", "error"}
    only_convsdk = sorted(
        test
        for test, (outcome, _) in field.items()
        if outcome in bad and base.get(test, ("missing", ""))[0] not in bad
    )
    only_base = sorted(
        test
        for test, (outcome, _) in base.items()
        if outcome in bad and field.get(test, ("missing", ""))[0] not in bad
    )
    missing = sorted(set(base) - set(field))
    known = [test for test in only_convsdk if test in KNOWN]
    only_convsdk = [test for test in only_convsdk if test not in KNOWN]
    print(f"failing only with convsdk: {len(only_convsdk)}")
    for test in only_convsdk:
        outcome, message = field[test]
        print(f"  {outcome.upper():6} {test}\n         {message[:300]}")
        problems.append(f"{name}: {test}")
    if known:
        print(f"failing with convsdk by design: {len(known)}")
        for test in known:
            print(f"  {test}: {KNOWN[test]}")
    if only_base:
        print(f"failing only without convsdk (flaky?): {len(only_base)}")
        for test in only_base:
            print(f"  {test}: {base[test][1][:200]}")
    if missing:
        print(f"in the baseline only (not run with convsdk): {len(missing)}")
        for test in missing[:20]:
            print(f"  {test}")
        problems += [f"{name}: {test} not run with convsdk" for test in missing]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="all", choices=[*SUITES, "all"])
    parser.add_argument(
        "--placement",
        choices=["outer", "user"],
        default="outer",
        help="ASGI suites: outer, around the whole stack (default); user, where "
        "app.add_middleware() puts it",
    )
    parser.add_argument(
        "--store",
        choices=["memory", "sqlite"],
        default="memory",
        help="where the events go: memory (default), or an SQLite file and a durable "
        "spool for each tracker",
    )
    parser.epilog = "after --: more pytest arguments for both runs (e.g. -- -k expr)"
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1 :]
    names = list(SUITES) if args.suite == "all" else [args.suite]
    versions = {
        suite.package: suite.pinned or installed_version(suite.package) for suite in SUITES.values()
    }
    log(
        "versions: "
        + ", ".join(f"{n} {v}" for n, v in versions.items())
        + f", convsdk from {ROOT.name}"
    )
    sources = {
        name: fetch_source(
            SUITES[name].package,
            versions[SUITES[name].package],
            str(Path(SUITES[name].where) / SUITES[name].tests),
        )
        for name in names
    }
    problems: list[str] = []
    for name in names:
        python = ensure_venv(SUITES[name].venv, versions)
        problems += compare(name, python, sources[name], args.placement, args.store, extra)
    return verdict(problems)


def verdict(problems: list[str]) -> int:
    """Print the outcome of the runs; the exit status: 1 with ``problems``, else 0."""
    print()
    if problems:
        print(f"FAIL: {len(problems)} problem(s) with convsdk's middleware")
        return 1
    print("OK: no test fails with convsdk's middleware that passes without it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
