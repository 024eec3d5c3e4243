"""README.md and examples/*/README.md work as written, each block on its own.

Every fenced ``python`` block runs alone, in a fresh namespace, in a new working
directory (for an example's README: a copy of the example's directory, where its
README says to run things), with no default tracker before and every tracker it built
closed after. A block that is a pytest module (it defines ``test_`` functions or
``Test`` classes) is run by pytest instead. Apps a block defines are then asked what
the README promises of them (the routes they define answer and record what they
should, once). Every ``toml`` block parses (goal files load, package files name the
modules they install), and every line of a shell block that runs ``convsdk`` or
``pytest`` runs, against a store filled by ``convsdk demo`` and the goal file the
README shows, and exits 0. Lines that install, build or serve are skipped with the
reason.

A block that needs something it does not show says so in a comment on the line above
its fence: ``<!-- test: skip: REASON -->``, ``<!-- test: after=previous -->`` (the
previous Python block of the file runs first, in the same namespace) or
``<!-- test: needs=NAME (what it stands for) -->`` (see ``NEEDS``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shlex
import shutil
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

import convsdk
from convsdk import load_goals
from convsdk.backends import register
from convsdk.backends.file import FileBackend
from convsdk.backends.sqlite.reader import read_events
from convsdk.cli import main
from convsdk.report import load_report
from convsdk.testing import capture_events
from convsdk.tracker import registry, set_default

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "examples").glob("*/README.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
DIRECTIVE = re.compile(r"^<!-- test: (.*?) -->$")
SHELL = {"", "sh", "console", "shell", "bash"}
# What a shell line starting with these words does, when the test does not run it.
NOT_RUN = {
    "pip": "installs packages",
    "make": "runs the project's make targets (make test runs this suite)",
    "flask": "starts a development server",
    "uvicorn": "starts a server",
    "export": "sets environment variables (tests/test_options.py covers them)",
    "cd": "changes directory (the blocks run in a copy of the example's directory)",
}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    directive: str  # the text of a `<!-- test: ... -->` comment just above, or ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def example_dir(self) -> Path | None:
        return self.doc.parent if self.doc.parent != ROOT else None


def parse(doc: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the test directive above each."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        end = index + 1
        while not lines[end].startswith("```"):
            end += 1
        above = lines[index - 1] if index else ""
        directive = DIRECTIVE.match(above)
        blocks.append(
            Block(
                doc,
                index + 1,
                match.group(1),
                "\n".join(lines[index + 1 : end]) + "\n",
                directive.group(1) if directive else "",
            )
        )
        index = end + 1
    return blocks


BLOCKS = [block for doc in DOCS for block in parse(doc)]
PYTHON = [b for b in BLOCKS if b.lang == "python"]
TOML = [b for b in BLOCKS if b.lang == "toml"]


@dataclass(frozen=True)
class Command:
    block: Block
    line: int
    argv: list[str]

    @property
    def where(self) -> str:
        return f"{self.block.doc.relative_to(ROOT).as_posix()}:{self.line}"


def commands() -> list[Command]:
    """Every command line of the shell blocks, without prompt, comment or env assignments."""
    found = []
    for block in BLOCKS:
        if block.lang not in SHELL:
            continue
        for offset, text in enumerate(block.code.splitlines(), start=1):
            argv = shlex.split(text.removeprefix("$ "), comments=True)
            while argv and re.match(r"^[A-Z_]+=", argv[0]):
                argv.pop(0)
            if argv:
                found.append(Command(block, block.line + offset, argv))
    return found


COMMANDS = commands()


# -- running a block --------------------------------------------------------------------


@contextmanager
def _register_csv(workdir: Path) -> Iterator[None]:
    from csv_backend import CSVBackend  # type: ignore[import-not-found]

    register("csv", CSVBackend)
    yield


@contextmanager
def _platforms(workdir: Path) -> Iterator[None]:
    """GA4 and Meta as stand-ins on loopback: ``ga4://`` and ``meta://`` URLs post there
    (their ``endpoint``), and each must have received what the block sent."""
    pytest.importorskip("httpx")
    from convsdk.destinations.ga4 import GA4Destination
    from convsdk.destinations.meta import MetaDestination

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from destinations.standin import StandIn, serving  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "tests"))

    def meta_answer(request: Any) -> Any:
        return 200, {"events_received": len(request.body["data"])}, {}

    with (
        serving(StandIn(lambda request: (204, None, {}))) as ga4,
        serving(StandIn(meta_answer)) as meta,
    ):
        for scheme, real, base in (
            ("ga4", GA4Destination, ga4.base),
            ("meta", MetaDestination, meta.base),
        ):
            at = functools.partial(real.from_url, endpoint=base)
            register(scheme, type(f"StandIn{real.__name__}", (real,), {"from_url": at}))
        try:
            yield
        finally:
            register("ga4", GA4Destination)  # what the scheme names without a stand-in
            register("meta", MetaDestination)
        assert ga4.requests and meta.requests, "the block forwarded nothing"


#: Scaffolding a block may declare with `needs=NAME`.
NEEDS: dict[str, Callable[[Path], AbstractContextManager[None]]] = {
    "csv-entry-point": _register_csv,
    "platforms": _platforms,
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _copy_example(block: Block, into: Path, *, tests: bool = False) -> None:
    """The example's own files, for a block its README runs "from this directory"
    (its test modules only for a line that runs them)."""
    if block.example_dir is None:
        return
    for path in block.example_dir.iterdir():
        if not tests and path.name.startswith("test_"):
            continue
        if path.is_file() and path.suffix in (".py", ".toml"):
            shutil.copy(path, into / path.name)


@pytest.fixture
def no_default_tracker() -> Iterator[None]:
    """No default tracker while the block runs; every tracker it built is closed after."""
    before = set(registry.live)
    previous = set_default(None)
    try:
        yield
    finally:
        for tracker in set(registry.live) - before:
            tracker.close()
        set_default(previous)


def _is_pytest_module(code: str) -> bool:
    return bool(re.search(r"^(def test_|class Test)", code, re.M))


def _run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error", *args)


@pytest.mark.parametrize("block", PYTHON, ids=[b.where for b in PYTHON])
def test_python_block_runs_alone(
    block: Block,
    workdir: Path,
    no_default_tracker: None,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directive = block.directive
    if directive.startswith("skip:"):
        pytest.skip(directive.removeprefix("skip:").strip())
    if _is_pytest_module(block.code):
        pytester: pytest.Pytester = request.getfixturevalue("pytester")
        _copy_example(block, pytester.path)
        name = re.match(r"# (test_\w+\.py)", block.code)
        pytester.makepyfile(**{name.group(1)[:-3] if name else "test_block": block.code})
        result = _run_pytest(pytester)
        outcomes = result.parseoutcomes()
        assert outcomes.get("passed", 0) > 0, result.stdout.str()
        assert not {"failed", "errors", "error"} & outcomes.keys(), result.stdout.str()
        return
    _copy_example(block, workdir)
    monkeypatch.syspath_prepend(str(workdir))
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    needs = NEEDS[directive.removeprefix("needs=").split()[0]] if "needs=" in directive else None
    with needs(workdir) if needs is not None else nullcontext():
        if directive == "after=previous":
            previous = PYTHON[PYTHON.index(block) - 1]
            assert previous.doc == block.doc, f"{block.where}: no previous block in the file"
            exec(compile(previous.code, previous.where, "exec"), namespace)
        exec(compile(block.code, block.where, "exec"), namespace)
        exercised = [check(value) for value in list(namespace.values()) for check in APP_CHECKS]
        for tracker in {v for v in namespace.values() if isinstance(v, convsdk.Tracker)}:
            # What the block tracked itself was delivered, none dropped.
            assert tracker.flush(timeout=5), tracker.stats()
            stats = tracker.stats()
            assert stats["dropped"] == 0 and stats["delivered"] == stats["enqueued"], stats
    if "Flask(" in block.code or "FastAPI(" in block.code:
        assert any(exercised), f"{block.where}: an app no check knows; add one to APP_CHECKS"


# -- what the apps of the README's blocks promise -----------------------------------------


def _one_visitor_cookie(set_cookies: list[str]) -> None:
    visitor = [c for c in set_cookies if c.startswith("cv_vid=")]
    assert len(visitor) == 1, f"expected one visitor cookie, got {set_cookies}"


def _check_flask(app: object) -> bool:
    if not isinstance(app, Flask):
        return False
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    client = app.test_client()
    if "/" in rules:  # a middleware block: one page view a request, one visitor
        with capture_events() as events:
            response = client.get("/")
            assert response.status_code == 200
            assert events.names() == ["page_view"]
        _one_visitor_cookie(response.headers.getlist("Set-Cookie"))
    if "/checkout" in rules:
        with capture_events() as events:
            assert client.post("/checkout", data={"total": "12.5"}).status_code == 302
            purchase = events.macro("purchase")
            assert (purchase.value, purchase.transaction_id) == (12.5, "order-1")
    if "/newsletter" in rules:
        with capture_events() as events:
            assert client.post("/newsletter").status_code == 200
            assert events.micro("newsletter").properties == {"list": "weekly"}
    if "/register" in rules:
        with capture_events() as events:
            assert client.get("/register").status_code == 200
            assert client.post("/register", data={"username": "ann"}).status_code == 302
            assert client.post("/register", data={"username": "ann"}).status_code == 200
            assert events.macro("signup")  # the one redirect, not the form nor the retry
    if "/api/invite" in rules:
        with capture_events() as events:
            client.post("/api/invite", data={"email": "qa@example.test"})
            assert events.conversions() == []
            client.post("/api/invite", data={"email": "ann@shop.example"})
            assert events.micro("invited")
    return True


def _check_fastapi(app: object) -> bool:
    if not isinstance(app, FastAPI):
        return False
    paths = {getattr(route, "path", None) for route in app.routes}
    client = TestClient(app)
    if "/" in paths:
        with capture_events() as events:
            response = client.get("/")
            assert response.status_code == 200
            assert events.names() == ["page_view"]
        _one_visitor_cookie(response.headers.get_list("set-cookie"))
    if "/subscribe" in paths:
        with capture_events() as events:
            response = client.post("/subscribe", params={"plan": "pro"})
            assert response.json() == {"price": 29.0}
            signup = events.macro("paid_signup")
            assert (signup.value, signup.user_id) == (29.0, "user-7")
    return True


APP_CHECKS: list[Callable[[object], bool]] = [_check_flask, _check_fastapi]


# -- TOML -------------------------------------------------------------------------------


@pytest.mark.parametrize("block", TOML, ids=[b.where for b in TOML])
def test_toml_block_is_what_it_claims(block: Block, workdir: Path) -> None:
    data = tomllib.loads(block.code)
    if "goals" in data:  # a goal file: convsdk loads it
        (workdir / "goals.toml").write_text(block.code, encoding="utf-8")
        goals = load_goals(workdir / "goals.toml")
        assert [g.name for g in goals.goals] == [g["name"] for g in data["goals"]]
    if "project" in data:  # a package's: as the example's own pyproject.toml says
        assert block.example_dir is not None
        path = block.example_dir / "pyproject.toml"
        real = tomllib.loads(path.read_text(encoding="utf-8"))
        modules = real["tool"]["setuptools"]["py-modules"]
        for module in modules:
            assert (block.example_dir / f"{module}.py").is_file()
        for group, points in data["project"]["entry-points"].items():
            assert real["project"]["entry-points"][group] == points, group
            for target in points.values():
                assert target.split(":")[0] in modules


# -- command lines ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the demo shop's simulated visitors, made once and copied where needed."""
    where = tmp_path_factory.mktemp("demo")
    db = where / "demo.db"
    argv = ["demo", "--visitors", "50", "--seed", "1", "--db", str(db)]
    assert main([*argv, "--html", str(where / "demo.html")]) == 0
    return db


def _fill(source: str, demo_db: Path) -> None:
    """Put the demo's events where a report line reads them."""
    if source.startswith("sqlite:///"):
        source = source.removeprefix("sqlite:///")
    if source.endswith(".db"):
        shutil.copy(demo_db, source)
    elif source.endswith(".jsonl"):
        backend = FileBackend(source)
        backend.write(list(read_events(demo_db)))
        backend.close()


def _walk_ledgerly(workdir: Path, store: str) -> None:
    """What the FastAPI example's README says to do: a visitor from a campaign views
    pricing, starts a trial, onboards and subscribes, through the example's own app."""
    spec = importlib.util.spec_from_file_location("ledgerly_readme_app", workdir / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tracker = convsdk.Tracker(
        backend=store, goals=workdir / "goals.toml", secret_key="change-me", spool_dir=None
    )
    try:
        with TestClient(
            module.create_app(tracker),
            headers={"user-agent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"},
        ) as client:
            client.get("/pricing?utm_source=google&utm_medium=cpc&utm_campaign=freelancers")
            trial = client.post("/trial", data={"email": "grace@example.com", "plan": "pro"})
            assert trial.status_code == 200, trial.text  # 303, then the onboarding page
            for step, form in [
                ("profile", {"business_name": "Hopper & Co"}),
                ("connect_bank", {"bank": "Mondo"}),
                ("first_invoice", {"amount": "1200"}),
            ]:
                assert client.post(f"/onboarding/{step}", data=form).status_code == 200
            assert client.post("/subscribe", data={"plan": "team"}).status_code == 200
    finally:
        tracker.close()
    report = load_report(store, load_goals(workdir / "goals.toml"))
    (funnel,) = report.funnels
    assert [step.visitors for step in funnel.steps] == [1] * len(funnel.steps)


#: Example directories whose README reports on the traffic of the example's own app
#: (the Flask shop's is what ``convsdk demo`` simulates).
WALKS: dict[str, Callable[[Path, str], None]] = {"fastapi_saas": _walk_ledgerly}


def _goals_for(block: Block, workdir: Path) -> None:
    """The goal file a line names: the example's own, or the one the README shows."""
    if block.example_dir is None:
        shown = next(b for b in TOML if b.doc == block.doc and "[[goals]]" in b.code)
        (workdir / "goals.toml").write_text(shown.code, encoding="utf-8")


def _skip_reason(argv: list[str]) -> str | None:
    if argv[0] in NOT_RUN:
        return NOT_RUN[argv[0]]
    if argv[0] == "convsdk" and argv[1] == "collect":
        return "starts a server (tests/test_collector.py runs it)"
    if argv[0] == "convsdk" and any(a.startswith(("postgresql:", "redis:", "nats:")) for a in argv):
        return "needs a PostgreSQL, Redis or NATS server (tests/services/ cover them)"
    if argv[0] not in ("convsdk", "pytest"):
        return f"not a command the docs test knows: {argv[0]}"
    return None


@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_command_line_exits_0(
    command: Command,
    workdir: Path,
    demo_db: Path,
    no_default_tracker: None,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = command.argv
    if command.block.directive.startswith("skip:"):
        pytest.skip(command.block.directive.removeprefix("skip:").strip())
    reason = _skip_reason(argv)
    if reason:
        pytest.skip(reason)
    if argv[0] == "pytest":
        pytester: pytest.Pytester = request.getfixturevalue("pytester")
        _copy_example(command.block, pytester.path, tests=True)
        result = _run_pytest(pytester, *argv[1:])
        assert result.ret == 0, result.stdout.str()
        return
    _copy_example(command.block, workdir)
    _goals_for(command.block, workdir)
    if argv[1] in ("report", "rollup", "forget"):
        walk = WALKS.get(command.block.example_dir.name if command.block.example_dir else "")
        if walk is None:
            _fill(argv[2], demo_db)
        else:
            walk(workdir, argv[2])
    status = main(argv[1:])
    out = capsys.readouterr().out
    assert status == 0, out
    if "-o" in argv:
        written = (workdir / argv[argv.index("-o") + 1]).read_text(encoding="utf-8")
        if "json" in argv:
            out = json.dumps(json.loads(written))
    # The goal file's funnels are reported: the one given, or in an example its own
    # goals.toml, which a report line there must give.
    goals = argv[argv.index("--goals") + 1] if "--goals" in argv else None
    if goals is None and command.block.example_dir is not None:
        goals = "goals.toml"
    if goals is not None and argv[1] == "report":
        funnels = load_goals(workdir / goals).funnels
        missing = [funnel.name for funnel in funnels if funnel.name not in out]
        assert funnels and not missing, f"funnels {missing} missing from the report:\n{out}"


def test_every_kind_of_block_is_found() -> None:
    """The collection itself: a change to the Markdown cannot silently drop the blocks."""
    assert len(PYTHON) >= 12 and len(TOML) >= 2
    assert sum(c.argv[0] == "convsdk" for c in COMMANDS) >= 5
    assert all(not b.code.startswith("```") for b in BLOCKS)
