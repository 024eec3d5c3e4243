"""The wheel ``make dist`` builds holds everything convsdk needs where there is no checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built as ``make dist`` builds it."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out)]
    built = subprocess.run([*command, str(ROOT)], capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("convsdk-*.whl")
    return path


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "src"
    expected = {
        path.relative_to(package).as_posix()
        for path in (package / "convsdk").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected - names == set()
    assert "convsdk/py.typed" in names and "convsdk/static/c.min.js" in names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "convsdk = convsdk.cli:main" in text


def test_the_installed_wheel_runs_the_demo_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("CONVSDK_BACKEND", None)
    script = (
        "import convsdk, sys; from convsdk.cli import main; "
        "print(convsdk.__file__); sys.exit(main(sys.argv[1:]))"
    )
    argv = ["demo", "--visitors", "20", "--seed", "3", "--db", "shop.db", "--html", "r.html"]
    run = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith(str(site))  # the wheel's copy, not src/
    assert (tmp_path / "shop.db").stat().st_size > 0
    assert "Funnel" in (tmp_path / "r.html").read_text(encoding="utf-8")
