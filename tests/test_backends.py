"""``convsdk.backends.from_url``: built-in schemes, run-time and entry-point plugins."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from convsdk import ConfigError, Event, Tracker
from convsdk.backends import Backend, from_url, register, registered_schemes
from convsdk.backends.memory import MemoryBackend


def test_builtin_schemes_are_listed() -> None:
    assert {"memory", "file", "sqlite", "postgresql", "http", "https", "redis", "nats"} <= set(
        registered_schemes()
    )


def test_memory_url_builds_a_backend_that_satisfies_the_protocol() -> None:
    backend = from_url("memory://")
    assert isinstance(backend, MemoryBackend)
    assert isinstance(backend, Backend)


@pytest.mark.parametrize("url", ["nosuch://x", "not a url", "", "sqlite"])
def test_bad_urls_raise_config_error_naming_the_backend_field(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_url(url)
    assert info.value.field == "backend"


def test_password_is_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        from_url("nosuch://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://shop:s3cret@db/x", "postgresql://shop:***@db/x"),
        (
            "postgresql://shop@db/x?password=s3cret&sslmode=require",
            "postgresql://shop@db/x?password=***&sslmode=require",
        ),
        (
            "https://collector.example/ingest?token=s3cret&x=1",
            "https://collector.example/ingest?token=***&x=1",
        ),
        (
            "https://u:s3cret@collector.example/in?email=a@b.example",
            "https://u:***@collector.example/in?email=a@b.example",
        ),
        ("redis://:s3c#ret@cache:6379/0/s", "redis://:***@cache:6379/0/s"),
    ],
)
def test_urls_in_messages_never_show_a_secret(url: str, shown: str) -> None:
    from convsdk._urls import redact_url

    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url", ["postgresql://shop:s3c#ret@127.0.0.1/test", "redis://:p?ss@127.0.0.1:6379/0/s"]
)
def test_a_password_with_an_unencoded_hash_or_question_mark_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="percent-encode") as info:
        from_url(url)
    assert "s3c" not in str(info.value) and "p?ss" not in str(info.value)


def test_the_http_token_in_the_url_becomes_the_authorization_header() -> None:
    backend = from_url("https://collector.example/ingest?token=s3cret&x=1")
    try:
        assert backend.url == "https://collector.example/ingest?x=1"  # type: ignore[attr-defined]
        assert "s3cret" not in repr(backend)
        assert backend._headers["Authorization"] == "Bearer s3cret"  # type: ignore[attr-defined]
    finally:
        backend.close()


def test_a_missing_extra_names_the_pip_install_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package and its modules, so that importing it runs `import redis` again.
    package = "convsdk.backends.redis"
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    with pytest.raises(ConfigError, match=r"pip install 'convsdk\[redis\]'"):
        from_url("redis://127.0.0.1:6379/0/events")


class ListBackend:
    """A third-party backend: a class with from_url."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[Event] = []

    @classmethod
    def from_url(cls, url: str) -> ListBackend:
        return cls(url)

    def write(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def close(self) -> None:
        pass


def test_register_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import convsdk.backends

    monkeypatch.setattr(convsdk.backends, "_registered", {})
    register("listtest", ListBackend)
    backend = from_url("listtest://anything")
    assert isinstance(backend, ListBackend) and backend.url == "listtest://anything"
    with Tracker(backend="listtest://x", spool_dir=None) as tracker:
        tracker.track("signup", kind="macro")
        assert tracker.flush(timeout=5)
        assert [e.name for e in tracker.backend.events] == ["signup"]  # type: ignore[attr-defined]


def test_entry_point_plugin_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real installed distribution (a dist-info folder on sys.path) declaring a backend
    # under the convsdk.backends entry-point group, as an adapter's pyproject would.
    (tmp_path / "convsdk_plugin_demo.py").write_text(
        "class PluginBackend:\n"
        "    def __init__(self, url):\n"
        "        self.url = url\n"
        "    def write(self, events):\n"
        "        pass\n"
        "    def close(self):\n"
        "        pass\n",
        encoding="utf-8",
    )
    dist = tmp_path / "convsdk_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: convsdk-plugin-demo\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[convsdk.backends]\nplugdemo = convsdk_plugin_demo:PluginBackend\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "plugdemo" in registered_schemes()
    backend = from_url("plugdemo://somewhere")
    assert type(backend).__name__ == "PluginBackend"
    assert backend.url == "plugdemo://somewhere"  # type: ignore[attr-defined]


def test_a_broken_plugin_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "convsdk_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: convsdk-broken\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[convsdk.backends]\nbroken = convsdk_no_such_module:Backend\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="failed to load"):
        from_url("broken://x")
