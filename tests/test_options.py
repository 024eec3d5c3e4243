"""convsdk.options: one definition of every option, its casters and where values come from."""

from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path
from typing import Any

import pytest

import convsdk
from convsdk import ConfigError, Tracker, options
from convsdk.backends.memory import MemoryBackend
from convsdk.backends.sqlite import SQLiteBackend
from convsdk.integrations.wsgi import ConversionMiddleware
from convsdk.interactions import Recorder


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"ok"]


# -- casters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_booleans_parse_the_usual_words(text: str, expected: bool) -> None:
    assert options.BOOL.parse is not None
    assert options.BOOL.parse(text) is expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("batch_size", "50", 50),
        ("batch_size", "1_000", 1000),
        ("flush_interval", "0.5", 0.5),
        ("flush_interval", "500ms", 0.5),
        ("retry_timeout", "2m", 120.0),
        ("shutdown_timeout", "0", 0.0),
        ("max_spool_bytes", "64KiB", 65536),
        ("max_spool_bytes", "10MB", 10_000_000),
        ("max_spool_bytes", "1GiB", 1024**3),
        ("max_spool_bytes", "4096", 4096),
        ("checkout_paths", "/buy*, /checkout* ,", ("/buy*", "/checkout*")),
        ("scroll_depths", "50,100", (50, 100)),
        ("fsync", "batch", "batch"),
        ("fsync", "true", "batch"),
        ("fsync", "0", "never"),
        ("backpressure", "DROP_OLDEST", "drop_oldest"),
        ("backpressure", "", None),
        ("secure_cookies", "auto", None),
        ("secure_cookies", "on", True),
        ("beacon_rate_limit", "30/10", (30, 10.0)),
        ("beacon_rate_limit", "none", None),
        ("currency", "eur", "EUR"),
    ],
)
def test_text_values_are_parsed_by_the_options_type(name: str, text: str, expected: Any) -> None:
    option = options.OPTIONS[name]
    assert options.from_mapping({option.variable: text}, option.groups, source="test") == {
        name: expected
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("batch_size", 0),
        ("batch_size", True),
        ("batch_size", 1.5),
        ("batch_size", "5"),  # text is parsed from the environment and config, not from code
        ("flush_interval", 0),
        ("flush_interval", float("nan")),
        ("max_retries", -1),
        ("durable", "yes"),
        ("fsync", "always"),
        ("backpressure", "drop_all"),
        ("spool_dir", 3),
        ("currency", "EURO"),
        ("secret_key", 42),
        ("backend", 42),
    ],
)
def test_bad_values_in_code_are_config_errors_naming_the_option(name: str, value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Tracker(**({"backend": MemoryBackend(), "spool_dir": None} | {name: value}))
    assert info.value.field == name


@pytest.mark.parametrize("value", ["", "none", "None", "NONE", None])
def test_an_empty_or_none_spool_dir_turns_the_spool_off(
    value: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Tracker(backend=MemoryBackend(), spool_dir=value) as tracker:
        assert tracker.spool_dir is None
        assert tracker.backpressure == "drop_newest"
    monkeypatch.setenv("CONVSDK_SPOOL_DIR", value or "")
    with Tracker(backend=MemoryBackend()) as tracker:
        assert tracker.spool_dir is None
    assert list(tmp_path.iterdir()) == []  # neither the working directory nor ./none


def test_every_middleware_option_default_is_the_recorders() -> None:
    for name, parameter in inspect.signature(Recorder.__init__).parameters.items():
        if name in ("self", "clock"):
            continue
        default = options.OPTIONS[name].default
        assert parameter.default == default or tuple(parameter.default) == default, name


def test_the_environment_table_lists_every_variable() -> None:
    table = options.table()
    for option in options.OPTIONS.values():
        if option.type.parse is not None:
            assert f"`{option.variable}`" in table
    assert "CONVSDK_CONSENT" not in table  # a callable: code only


# -- precedence ------------------------------------------------------------------------


def test_argument_beats_config_beats_environment_beats_default() -> None:
    environ = {
        "CONVSDK_BATCH_SIZE": "30",
        "CONVSDK_FLUSH_INTERVAL": "3",
        "CONVSDK_MAX_RETRIES": "3",
    }
    config = {"CONVSDK_BATCH_SIZE": 20, "CONVSDK_FLUSH_INTERVAL": "2"}
    found = options.resolve([options.TRACKER], {"batch_size": 10}, config=config, environ=environ)
    assert found == {"batch_size": 10, "flush_interval": 2.0, "max_retries": 3}
    assert options.defaults(options.TRACKER)["retry_timeout"] == 60.0


def test_the_tracker_reads_every_option_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    goals = tmp_path / "goals.toml"
    goals.write_text('[[goals]]\nname = "signup"\nkind = "micro"\nevent = "signed_up"\n')
    monkeypatch.setenv("CONVSDK_BACKEND", f"sqlite:///{tmp_path}/events.db")
    monkeypatch.setenv("CONVSDK_GOALS", str(goals))
    monkeypatch.setenv("CONVSDK_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("CONVSDK_BATCH_SIZE", "7")
    monkeypatch.setenv("CONVSDK_DURABLE", "yes")
    monkeypatch.setenv("CONVSDK_SECRET_KEY", "from-env")
    with Tracker(batch_size=9) as tracker:
        assert isinstance(tracker.backend, SQLiteBackend)
        assert tracker.backend.path == str(tmp_path / "events.db")
        assert [goal.name for goal in tracker.goals] == ["signup"]
        assert tracker.spool_dir == str(tmp_path / "spool")
        assert tracker.batch_size == 9  # the argument wins
        assert tracker.durable is True
        assert tracker.secret_key == "from-env"


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSDK_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError) as info:
        Tracker(backend=MemoryBackend(), spool_dir=None)
    assert info.value.field == "CONVSDK_BATCH_SIZE"
    assert info.value.source == "environment"
    assert "whole number" in str(info.value)


def test_a_missing_goals_file_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("CONVSDK_GOALS", str(missing))
    with pytest.raises(ConfigError, match="not found") as info:
        Tracker(backend=MemoryBackend(), spool_dir=None)
    assert info.value.source == str(missing)


# -- unknown options -------------------------------------------------------------------


def test_an_unknown_tracker_option_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean batch_size") as info:
        Tracker(backend=MemoryBackend(), spool_dir=None, batchsize=5)  # type: ignore[call-arg]
    assert info.value.field == "batchsize"


def test_an_unknown_init_option_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean spool_dir"):
        convsdk.init(backend=MemoryBackend(), spool_dri=None)  # type: ignore[call-arg]


def test_an_unknown_middleware_option_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean trusted_proxies"):
        ConversionMiddleware(_app, trusted_proxy=1)
    with pytest.raises(ConfigError, match="did you mean browser_events"):
        ConversionMiddleware(_app, browser_event=["x"])


def test_an_unknown_environment_variable_is_only_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONVSDK_BATCHSIZE", "5")
    monkeypatch.setattr(options.resolution, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="convsdk.options"):
        Tracker(backend=MemoryBackend(), spool_dir=None).close()
        Tracker(backend=MemoryBackend(), spool_dir=None).close()
    warnings = [r for r in caplog.records if "CONVSDK_BATCHSIZE" in r.getMessage()]
    assert len(warnings) == 1  # once per process
    assert "CONVSDK_BATCH_SIZE" in warnings[0].getMessage()


# -- middleware options from the environment -----------------------------------------


def test_middleware_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSDK_TRUSTED_PROXIES", "2")
    monkeypatch.setenv("CONVSDK_CAPTURE_FIELDS", "plan,seats")
    middleware = ConversionMiddleware(_app, trusted_proxies=1)
    assert middleware.recorder.trusted_proxies == 1  # the argument wins
    assert middleware.recorder.capture_fields == ("plan", "seats")


def test_the_middleware_does_not_take_the_environments_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONVSDK_SECRET_KEY", "env")
    with Tracker(backend=MemoryBackend(), spool_dir=None, secret_key="own") as tracker:
        middleware = ConversionMiddleware(_app, tracker=tracker)
        assert middleware.recorder.secret_key is None  # the tracker's own key signs


def test_the_start_is_logged_once_with_the_backend_redacted(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    url = "http://user:s3cret@127.0.0.1:9/collect?token=abc"
    with caplog.at_level(logging.INFO, logger="convsdk.tracker"):
        Tracker(backend=url, spool_dir=None).close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "convsdk.tracker"]
    assert "s3cret" not in line and "abc" not in line
    assert "127.0.0.1:9" in line and "0 goals" in line


def test_os_environ_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "CONVSDK_MAX_RETRIES", "1")
    assert options.resolve([options.TRACKER], {}) == {"max_retries": 1}


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert options.table() in readme
