"""The examples in convsdk's docstrings are valid Python, and those that show a result show it.

Every ``>>>`` example of every module compiles. A docstring where an example shows
what it returns is run as a doctest (``...`` matches anything), in a new working
directory, with ``convsdk`` and ``Event`` at hand besides the module's own names, and
no default tracker before or after. Examples without a result sketch a use in an app
(``app.wsgi_app = ConversionMiddleware(app.wsgi_app, ...)``): those are compiled only.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import convsdk
from convsdk.runtime import set_default

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _configure_django() -> None:
    """Django's integration modules need its settings: those of the suite's Django project."""
    try:
        import django  # noqa: F401
    except ImportError:
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
    import django_project  # type: ignore[import-not-found]

    django_project.setup()


def _docstring_tests() -> list[doctest.DocTest]:
    """The docstrings with examples, once each (a name re-exported elsewhere is one)."""
    _configure_django()
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: dict[tuple[str | None, int | None], doctest.DocTest] = {}
    for module in pkgutil.walk_packages(convsdk.__path__, "convsdk."):
        if module.name.endswith("__main__"):
            continue  # importing it runs the command line
        for test in finder.find(importlib.import_module(module.name), module.name):
            if test.examples:
                found.setdefault((test.filename, test.lineno), test)
    return sorted(found.values(), key=lambda test: test.name)


DOCSTRINGS = _docstring_tests()
WITH_RESULTS = [test for test in DOCSTRINGS if any(example.want for example in test.examples)]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    previous = set_default(None)
    try:
        yield
    finally:
        built = set_default(previous)
        if built is not None:
            built.close()


def test_there_are_docstring_examples_to_check() -> None:
    assert len(DOCSTRINGS) > 50 and len(WITH_RESULTS) > 30


@pytest.mark.parametrize("test", DOCSTRINGS, ids=lambda test: test.name)
def test_every_example_compiles(test: doctest.DocTest) -> None:
    for example in test.examples:
        try:
            compile(example.source, f"<{test.name}:{example.lineno}>", "single")
        except SyntaxError as exc:
            pytest.fail(f"{test.name}, example {example.source!r}: {exc}")


@pytest.mark.parametrize("test", WITH_RESULTS, ids=lambda test: test.name)
def test_examples_show_what_they_return(test: doctest.DocTest, isolated: None) -> None:
    test.globs = {**test.globs, "convsdk": convsdk, "Event": convsdk.Event}
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    try:
        result = runner.run(test, out=report.append, clear_globs=False)
    finally:
        for value in list(test.globs.values()):
            close = getattr(value, "close", None)
            if isinstance(value, convsdk.Tracker) or type(value).__name__.endswith("Backend"):
                if callable(close):
                    close()
        test.globs.clear()
    assert result.failed == 0, "".join(report)
