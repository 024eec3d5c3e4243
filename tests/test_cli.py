"""The ``convsdk`` command, run in-process through ``main(argv)``."""

from __future__ import annotations

import functools
import io
import json
import sqlite3
import sys
import types
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import convsdk
from convsdk.cli import main
from convsdk.cli import report as report_cli
from convsdk.cli.progress import ProgressBar
from report.conftest import T0, scenario, write_jsonl, write_sqlite

GOALS_TOML = """\
[[goals]]
name = "viewed_pricing"
kind = "micro"
event = "page_view"
path = "/pricing"

[[goals]]
name = "newsletter"
kind = "micro"
event = "form_submit"
path = "/newsletter"
role = "secondary"

[[goals]]
name = "purchase"
kind = "macro"
event = "checkout"
path = "/checkout*"

[[funnels]]
name = "buy"
steps = ["viewed_pricing", "purchase"]
window = "1d"
"""


@pytest.fixture
def shop(tmp_path: Path) -> tuple[str, str]:
    """(SQLite database path, goal file path) of the report tests' scenario."""
    db = tmp_path / "events.db"
    write_sqlite(db, scenario())
    goals = tmp_path / "goals.toml"
    goals.write_text(GOALS_TOML)
    return str(db), str(goals)


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convsdk: error: ")
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"convsdk {convsdk.__version__}"


def test_report_as_tables(shop: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    db, goals = shop
    assert main(["report", db, "--goals", goals, "--since", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    for title in (
        "Summary",
        "Goals",
        "Funnel buy (within 1d)",
        "First UTM-tagged visit",
        "Experiment variants",
        "Time to convert",
    ):
        assert title in out
    assert "video_played *" in out  # seen in the events, not in the goal file
    assert "\x1b[" not in out  # no colour codes when not writing to a terminal


def test_report_as_json(shop: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    db, goals = shop
    assert (
        main(
            [
                "report",
                f"sqlite:///{db}",
                "--goals",
                goals,
                "--since",
                "2026-11-02",
                "--format",
                "json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 1
    assert data["meta"]["goals_file"] == goals
    assert data["meta"]["since"] == "2026-11-02T00:00:00+00:00"
    assert (data["summary"]["visitors"], data["summary"]["converters"]) == (4, 2)
    assert [f["name"] for f in data["funnels"]] == ["buy"]


def test_report_in_a_time_zone(shop: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    db, goals = shop
    days = ["--since", "2026-11-02", "--interval", "day", "--format", "json"]
    assert main(["report", db, "--goals", goals, *days, "--tz", "Asia/Tokyo"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["timezone"] == "Asia/Tokyo"
    assert data["meta"]["since"] == "2026-11-01T15:00:00+00:00"  # midnight in Tokyo
    assert main(["report", db, "--goals", goals, *days]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["timezone"] == "UTC"
    assert main(["report", db, "--tz", "asia/tokyo"]) == 2
    assert "did you mean 'Asia/Tokyo'" in capsys.readouterr().err


def test_report_json_is_the_same_from_a_log(
    shop: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, goals = shop
    log = tmp_path / "events.jsonl"
    write_jsonl(log, scenario())
    outputs = []
    for source in (db, str(log)):
        assert (
            main(
                [
                    "report",
                    source,
                    "--goals",
                    goals,
                    "--format",
                    "json",
                    "-o",
                    str(tmp_path / "out.json"),
                ]
            )
            == 0
        )
        data = json.loads((tmp_path / "out.json").read_text())
        del data["meta"]
        outputs.append(data)
    assert outputs[0] == outputs[1]
    assert capsys.readouterr().out == ""


def test_report_as_html(
    shop: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, goals = shop
    out = tmp_path / "report.html"
    assert main(["report", db, "--goals", goals, "--format", "html", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    monkeypatch.chdir(tmp_path)
    assert main(["report", db, "--format", "html"]) == 0
    assert "<svg" in (tmp_path / "convsdk-report.html").read_text(encoding="utf-8")


def test_report_table_to_a_file_is_plain_text(shop: tuple[str, str], tmp_path: Path) -> None:
    db, goals = shop
    out = tmp_path / "report.txt"
    assert main(["report", db, "--goals", goals, "--top", "1", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Goals" in text and "\x1b[" not in text
    assert "more rows in the JSON and HTML reports" in " ".join(text.split())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report", "{tmp}/missing.db"], "no SQLite database"),
        (["report", "{tmp}/events.csv"], "cannot tell what kind of store"),
        (["report", "redis://localhost/x"], "cannot report from redis://"),
        (["report", "file://{tmp}/none.jsonl"], "no event log"),
        (["report", "{db}", "--since", "last tuesday"], "field 'since': not a date"),
        (["report", "{db}", "--since", "2026-11-05", "--until", "2026-11-01"], "empty"),
        (["report", "{db}", "--goals", "{tmp}/nope.toml"], "nope.toml: goal file not found"),
        (["migrate", "redis://localhost/x"], "give a postgresql:// or sqlite:/// URL"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str],
    expected: str,
    shop: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db, _ = shop
    args = [a.format(tmp=tmp_path, db=db) for a in argv]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert expected in _one_line_error(captured.err)
    assert captured.out == ""


def test_bad_goal_file_names_the_goal_and_field(
    shop: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = shop
    bad = tmp_path / "bad.toml"
    bad.write_text('[[goals]]\nname = "x"\nkind = "huge"\n')
    assert main(["report", db, "--goals", str(bad)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "bad.toml" in line and "'kind'" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report"], "report: the following arguments are required: SOURCE"),
        (["report", "x.db", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["report", "x.db", "--top", "0"], "must be 1 or more"),
        (["demo", "--visitors", "many"], "demo: argument --visitors"),
        (["consume", "redis://h/0/s"], "consume: the following arguments are required: --into"),
        (["migrate"], "migrate: the following arguments are required: URL"),
        (["collect", "e.db", "--port", "80000"], "a port is 1 to 65535, got 80000"),
        (["nosuch"], "invalid choice: 'nosuch'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert expected in line
    assert line.endswith("--help)")


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: convsdk" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["report", "demo", "consume", "migrate", "collect"])
def test_every_command_has_a_description_and_help_for_each_option(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from convsdk.cli.parser import build_parser

    parser = build_parser()
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
    assert sub.description, command
    for action in sub._actions:
        if action.help != "==SUPPRESS==":
            assert action.help, f"{command} {action.option_strings or action.dest}"
    assert "usage: convsdk " + command in text


def test_collect_checks_its_store_then_says_where_senders_send(tmp_path: Path) -> None:
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "convsdk", "collect", str(tmp_path / "events.db")]
    argv += ["--insecure", "--port", str(port)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # written once the store answered
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    assert line.startswith(f"collecting at http://127.0.0.1:{port}/ingest into sqlite:///")
    assert (tmp_path / "events.db").exists()


def test_every_command_takes_a_path_as_a_store(
    collect_calls: list[tuple[Any, ...]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVSDK_COLLECT_TOKEN", "t")
    assert main(["migrate", "events.db"]) == 0
    with closing(sqlite3.connect(tmp_path / "events.db")) as conn:
        assert conn.execute("SELECT count(*) FROM convsdk_events")
    assert main(["collect", "events.jsonl"]) == 0
    assert collect_calls[0][0] == f"file://{tmp_path.as_posix()}/events.jsonl"


def test_unreachable_database_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2"]) == 1
    assert "cannot connect" in _one_line_error(capsys.readouterr().err)


def test_migrate_creates_a_sqlite_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fresh.db"
    assert main(["migrate", f"sqlite:///{db}"]) == 0
    with closing(sqlite3.connect(db)) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert ("convsdk_events",) in tables
    assert "ready" in capsys.readouterr().out


def test_demo_gets_only_the_options_given(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def run_demo(**kwargs: Any) -> int:
        calls.append(kwargs)
        return 0

    monkeypatch.setitem(sys.modules, "convsdk.demo", types.SimpleNamespace(run_demo=run_demo))
    assert main(["demo", "--visitors", "50", "--seed", "7", "--db", "d.db"]) == 0
    assert calls == [{"visitors": 50, "seed": 7, "db_path": "d.db"}]


def test_consume_reports_how_many_moved(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[Any, ...]] = []

    def consume(source: str, into: str, **kwargs: Any) -> int:
        calls.append((source, into, kwargs))
        return 1234

    monkeypatch.setitem(sys.modules, "convsdk.consume", types.SimpleNamespace(consume=consume))
    argv = [
        "consume",
        "redis://h/0/s",
        "--into",
        "sqlite:///e.db",
        "--idle-timeout",
        "1.5",
        "--max-events",
        "10",
    ]
    assert main(argv) == 0
    assert calls == [("redis://h/0/s", "sqlite:///e.db", {"idle_timeout": 1.5, "max_events": 10})]
    assert capsys.readouterr().out == "moved 1,234 events\n"


@pytest.fixture
def collect_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    from convsdk.collector import Bounds

    calls: list[tuple[Any, ...]] = []
    fake = types.SimpleNamespace(serve=lambda url, **kw: calls.append((url, kw)), Bounds=Bounds)
    monkeypatch.setitem(sys.modules, "convsdk.collector", fake)
    monkeypatch.delenv("CONVSDK_COLLECT_TOKEN", raising=False)
    return calls


def test_collect_reads_its_token_from_a_file(
    collect_calls: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    token_file.chmod(0o600)
    argv = ["collect", "sqlite:///e.db", "--port", "9000", "--token-file", str(token_file)]
    assert main(argv) == 0
    assert collect_calls == [
        ("sqlite:///e.db", {"host": "127.0.0.1", "port": 9000, "token": "s3cret"})
    ]


def test_collect_reads_its_token_from_the_environment(
    collect_calls: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVSDK_COLLECT_TOKEN", "from-env")
    assert main(["collect", "sqlite:///e.db"]) == 0
    assert collect_calls[0][1]["token"] == "from-env"


def test_collect_refuses_to_start_without_a_token(
    collect_calls: list[tuple[Any, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "sqlite:///e.db"]) == 2
    assert collect_calls == []
    error = _one_line_error(capsys.readouterr().err)
    assert "--token-file" in error and "CONVSDK_COLLECT_TOKEN" in error and "--insecure" in error


def test_collect_runs_open_only_when_told_and_warns(
    collect_calls: list[tuple[Any, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "sqlite:///e.db", "--insecure"]) == 0
    assert collect_calls[0][1]["token"] is None
    assert "warning: running without a token" in capsys.readouterr().err


def test_collect_refuses_a_token_on_the_command_line(
    collect_calls: list[tuple[Any, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["collect", "sqlite:///e.db", "--token", "t"]) == 2
    assert collect_calls == []
    assert "visible to every user" in capsys.readouterr().err


def test_collect_warns_about_a_token_file_others_can_read(
    collect_calls: list[tuple[Any, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret")
    token_file.chmod(0o644)
    assert main(["collect", "sqlite:///e.db", "--token-file", str(token_file)]) == 0
    assert "readable by other users" in capsys.readouterr().err
    (tmp_path / "empty").write_text("\n")
    assert main(["collect", "sqlite:///e.db", "--token-file", str(tmp_path / "empty")]) == 2
    assert main(["collect", "sqlite:///e.db", "--token-file", str(tmp_path / "missing")]) == 2


def test_collect_passes_its_bounds(collect_calls: list[tuple[Any, ...]]) -> None:
    from datetime import UTC, datetime, timedelta

    argv = [
        "collect",
        "sqlite:///e.db",
        "--insecure",
        "--max-value",
        "5000",
        "--max-future-days",
        "1",
        "--earliest",
        "2024-01-01",
    ]
    assert main(argv) == 0
    bounds = collect_calls[0][1]["bounds"]
    assert (bounds.max_value, bounds.max_future, bounds.earliest) == (
        5000.0,
        timedelta(days=1),
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert main(["collect", "sqlite:///e.db", "--insecure", "--max-value", "inf"]) == 2
    assert main(["collect", "sqlite:///e.db", "--insecure", "--earliest", "soon"]) == 2


def test_a_command_whose_module_is_missing_fails_alone(
    monkeypatch: pytest.MonkeyPatch, shop: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "convsdk.consume", None)  # makes the import fail
    assert main(["consume", "redis://h/0/s", "--into", "sqlite:///e.db"]) == 1
    assert "consume cannot be loaded" in _one_line_error(capsys.readouterr().err)
    assert main(["report", shop[0]]) == 0


@pytest.mark.parametrize(
    ("argv", "missing", "extra"),
    [
        (["collect", "sqlite:///e.db", "--token-file", "token"], "uvicorn", "collector"),
        (["migrate", "postgresql://127.0.0.1:1/db"], "psycopg", "postgres"),
        (["consume", "redis://127.0.0.1:1/0/s", "--into", "sqlite:///e.db"], "redis", "redis"),
        (["consume", "nats://127.0.0.1:1/s", "--into", "sqlite:///e.db"], "nats", "nats"),
        (["report", "postgresql://127.0.0.1:1/db"], "psycopg", "postgres"),
    ],
)
def test_a_missing_extra_is_one_message_and_exit_2_in_every_command(
    argv: list[str],
    missing: str,
    extra: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token").write_text("s3cret-token-of-32-characters-or-more\n")
    (tmp_path / "token").chmod(0o600)
    # As if the extra were not installed: its package and convsdk's modules using it
    # import again, and fail.
    monkeypatch.setitem(sys.modules, missing, None)
    for name in list(sys.modules):
        if name.startswith(
            (
                "convsdk.collector",
                "convsdk.backends.postgres",
                "convsdk.consume",
                "convsdk.report.sql.postgres",
            )
        ):
            monkeypatch.delitem(sys.modules, name)
    assert main(argv) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"needs the '{extra}' extra ({missing} is not installed); " in line, line
    assert line.endswith(f"run: pip install 'convsdk[{extra}]'"), line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_only_when_slow() -> None:
    terminal = _Terminal()
    quick = ProgressBar(terminal, delay=60.0)
    quick("reading", 10, 100)
    quick.close()
    assert terminal.getvalue() == ""
    slow = ProgressBar(terminal, delay=0.0)
    slow("reading", 50, 100)
    slow.close()
    assert "Reading" in terminal.getvalue()
    piped = ProgressBar(io.StringIO(), delay=0.0)
    piped("reading", 50, 100)
    piped.close()
    assert piped._progress is None


def test_the_report_draws_its_progress_on_standard_error(
    shop: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report goes to a pipe or a file; the person waiting sees the bar on the
    # terminal (every read is slow enough for it here).
    db, goals = shop
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(report_cli, "ProgressBar", functools.partial(ProgressBar, delay=0.0))
    assert main(["report", db, "--goals", goals, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["visitors"] > 0
    assert "Reading people" in terminal.getvalue()


def test_a_day_given_as_until_is_included(
    shop: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = shop
    assert main(["report", db, "--format", "json", "--until", T0.date().isoformat()]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["until"] == "2026-11-03T00:00:00+00:00"
    # erin (the 1st), alice, bob, carol (the 2nd); dave came on the 4th.
    assert data["summary"]["visitors"] == 4


def test_python_dash_m_convsdk_runs_the_command() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "convsdk", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"convsdk {convsdk.__version__}"


def test_report_since_takes_what_its_help_shows(tmp_path: Path) -> None:
    from convsdk.cli.parser import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["report"]  # type: ignore[union-attr]
    since = next(a for a in sub._actions if a.dest == "since")
    db = str(tmp_path / "e.db")
    assert main(["migrate", db]) == 0
    for example in ("2026-11-01", "2026-11-01T09:30", "7d", "24h", "30m"):
        assert example in (since.help or "")
        assert main(["report", db, "--since", example, "--format", "json"]) == 0, example
