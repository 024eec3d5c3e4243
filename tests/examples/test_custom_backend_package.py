"""``examples/custom_backend`` is a whole adapter package: it installs with pip, passes the
contract kit installed, and ``convsdk report`` reads its store through its reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_backend"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package, installed by pip (from a copy: a build writes next to its sources)."""
    where = tmp_path_factory.mktemp("csv-package")
    source = where / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__"))
    site = where / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    return site


def _run(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def test_the_installed_package_passes_the_contract_kit(installed: Path, tmp_path: Path) -> None:
    # Only the test module here: the adapter comes from the installed package.
    shutil.copy(EXAMPLE / "test_csv_backend.py", tmp_path)
    pytest = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "error"]
    run = _run(installed, tmp_path, *pytest)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_its_entry_points_serve_the_tracker_and_the_report(installed: Path, tmp_path: Path) -> None:
    store = f"csv://{tmp_path / 'events.csv'}"
    track = (
        "import convsdk, sys\n"
        "tracker = convsdk.Tracker(backend=sys.argv[1], spool_dir=None)\n"
        "tracker.track('page_view')\n"
        "tracker.track('purchase', kind='macro', value=20, currency='EUR')\n"
        "tracker.close()\n"
        "assert tracker.stats()['delivered'] == 2, tracker.stats()\n"
    )
    wrote = _run(installed, tmp_path, "-c", track, store)
    assert wrote.returncode == 0, wrote.stderr
    report = _run(installed, tmp_path, "-m", "convsdk", "report", store, "--format", "json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["summary"]["events"] == 2
    assert data["summary"]["anonymous"]["revenue"] == {"EUR": 20.0}
    missing = _run(installed, tmp_path, "-m", "convsdk", "report", f"csv://{tmp_path / 'no.csv'}")
    assert missing.returncode == 2 and "no such file" in missing.stderr
