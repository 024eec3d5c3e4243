"""The DuckDB reader of JSON Lines logs: when it reads, and when it hands over.

That its figures equal the streaming reader's is checked by every cross-store test
(the ``engine`` fixture runs them with both).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from convsdk import ConfigError
from convsdk.report import load_report, open_reader
from convsdk.report.duck import DuckReader
from convsdk.report.jsonl import FileReader

from .conftest import GOALS, T0, scenario, write_jsonl, write_sqlite

pytest.importorskip("duckdb")

HANDED_OVER = "reading it line by line"


def _figures(source: str, engine: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        load_report(source, GOALS, since=T0, engine=engine).to_json()
    )
    del data["meta"]
    return data


def test_a_log_is_read_by_duckdb_when_it_is_installed_else_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = write_jsonl(tmp_path / "events.jsonl", scenario())
    assert isinstance(open_reader(url), DuckReader)  # the faster and leaner, as measured
    assert isinstance(open_reader(url, engine="duckdb"), DuckReader)
    assert isinstance(open_reader(str(tmp_path / "events.jsonl"), engine="duckdb"), DuckReader)
    assert isinstance(open_reader(str(tmp_path / "events.jsonl"), engine="python"), FileReader)
    with pytest.raises(ConfigError) as caught:
        open_reader(url, engine="spark")
    assert caught.value.field == "engine" and "auto, duckdb, python" in str(caught.value)
    monkeypatch.setitem(sys.modules, "duckdb", None)  # the extra not installed
    assert isinstance(open_reader(url), FileReader)
    with pytest.raises(ConfigError, match=r"convsdk\[duckdb\]"):
        open_reader(url, engine="duckdb")


def test_a_clean_rotated_log_is_counted_in_duckdb(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_jsonl(tmp_path / "events.jsonl", scenario(), split=7)
    calls: list[tuple[str, float, float]] = []
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        report = load_report(
            url, GOALS, since=T0, engine="duckdb", progress=lambda *a: calls.append(a)
        )
    assert HANDED_OVER not in caplog.text
    assert calls[0][0] == "reading" and calls[-1][1] == calls[-1][2]
    data = json.loads(report.to_json())
    del data["meta"]
    assert data == _figures(url, "python")


def test_a_torn_last_line_is_skipped_without_handing_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    url = write_jsonl(path, scenario(), split=7)
    rotated = path.with_name("events.jsonl.1")
    with open(rotated, "ab") as fh:  # a crash mid-write, before the log rotated
        fh.write(b'{"event_id": "00000000-0000-7000-8000-999999999999", "name": "page_vi')
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        figures = _figures(url, "duckdb")
    assert "torn last line" in caplog.text and HANDED_OVER not in caplog.text
    assert figures == _figures(url, "python")


def test_a_whole_event_without_its_newline_is_left_out_as_by_the_streaming_reader(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = scenario()
    path = tmp_path / "events.jsonl"
    url = write_jsonl(path, events[:-1])
    expected = _figures(url, "python")
    with open(path, "ab") as fh:  # written up to its closing brace, not its newline
        fh.write(json.dumps(events[-1].to_dict()).encode())
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        assert _figures(url, "duckdb") == expected
    assert HANDED_OVER in caplog.text


@pytest.mark.parametrize(
    "line",
    [
        b"this is not json",
        b'{"no": "event"}',
        b'{"event_id": 7, "name": "page_view", "timestamp": "2026-11-02T10:00:00+00:00"}',
    ],
)
def test_a_line_that_is_not_an_event_hands_the_log_over(
    tmp_path: Path, line: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    url = write_jsonl(path, scenario())
    with open(path, "ab") as fh:
        fh.write(line + b"\n")
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        figures = _figures(url, "duckdb")
    assert HANDED_OVER in caplog.text and "not an event" in caplog.text
    assert figures == _figures(url, "python")


def test_two_events_under_one_id_hand_the_log_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = scenario()
    path = tmp_path / "events.jsonl"
    url = write_jsonl(path, events)
    other = events[4].to_dict() | {"event_id": events[3].event_id}
    with open(path, "ab") as fh:
        fh.write(json.dumps(other).encode() + b"\n")
    with caplog.at_level(logging.INFO, logger="convsdk.report"):
        figures = _figures(url, "duckdb")
    assert HANDED_OVER in caplog.text
    assert figures == _figures(url, "python")


def test_the_command_takes_an_engine(tmp_path: Path) -> None:
    url = write_jsonl(tmp_path / "events.jsonl", scenario())
    outputs = []
    for engine in ("duckdb", "python"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "convsdk",
                "report",
                url,
                "--format",
                "json",
                "--engine",
                engine,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        del data["meta"]
        outputs.append(data)
    assert outputs[0] == outputs[1]
    done = subprocess.run(
        [sys.executable, "-m", "convsdk", "report", url, "--engine", "fast"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "engine" in done.stderr


def test_a_database_is_reported_without_importing_duckdb(tmp_path: Path) -> None:
    """DuckDB reads logs only: a report of a database (the default engine, or DuckDB's
    asked for) never pays its import, and a log's reader imports it when it reads."""
    database = write_sqlite(tmp_path / "events.db", scenario())
    log = write_jsonl(tmp_path / "events.jsonl", scenario())
    code = (
        "import sys\n"
        "from convsdk.report import load_report, open_reader\n"
        f"load_report({database!r})\n"
        f"load_report({database!r}, engine='duckdb')\n"
        f"open_reader({log!r})\n"
        "print('duckdb' in sys.modules)\n"
        f"load_report({log!r})\n"
        "print('duckdb' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
