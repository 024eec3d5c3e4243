"""The README's Python examples run as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import convsdk
from convsdk.tracker import set_default

README = Path(__file__).parent.parent / "README.md"


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    previous = set_default(None)
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
        # The Flask example records a purchase through the default tracker.
        tracker = convsdk.init(backend="memory://", spool_dir=None, secret_key="k")
        client = namespace["app"].test_client()  # type: ignore[attr-defined]
        assert client.post("/checkout", data={"total": "12.5"}).status_code == 302
        assert tracker.flush(timeout=5)
        purchases = [e for e in tracker.backend.events if e.goal == "purchase"]  # type: ignore[attr-defined]
        assert [(p.value, p.transaction_id) for p in purchases] == [(12.5, "order-1")]
    finally:
        convsdk.close()
        set_default(previous)
