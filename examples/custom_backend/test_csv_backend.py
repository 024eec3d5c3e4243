"""Run convsdk's backend contract on CSVBackend: ``pytest test_csv_backend.py``."""

from pathlib import Path

from csv_backend import CSVBackend, read_events

from convsdk import Event
from convsdk.backends import register
from convsdk.testing import BackendContract

register("csv", CSVBackend)  # what the entry point in pyproject.toml does once installed


class TestCSVBackend(BackendContract):
    supports_dedupe = True
    preserves_order = True

    def make_backend(self, tmp_path: Path) -> CSVBackend:
        return CSVBackend(tmp_path / "events.csv")

    def read_back(self, backend: CSVBackend) -> list[Event]:
        return list(read_events(backend.path))

    def break_backend(self, backend: CSVBackend) -> None:
        Path(backend.path).unlink()
        Path(backend.path).mkdir()  # a directory where the file was: appending fails

    def repair_backend(self, backend: CSVBackend) -> None:
        Path(backend.path).rmdir()

    def make_url(self, tmp_path: Path) -> str:
        return f"csv://{tmp_path / 'from_url.csv'}"
