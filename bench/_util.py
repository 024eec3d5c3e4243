"""Shared helpers for the benchmark scripts: medians over repeats, a plain table."""

from __future__ import annotations

import compileall
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

NOTE = "(2 noisy cores: compare medians and ratios, not single timings)"


def per_call_us(fn: Callable[[], object], *, number: int = 20_000, repeats: int = 7) -> float:
    """Median over ``repeats`` of the mean µs per call of ``fn`` over ``number`` calls."""
    results = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        results.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(results)


def byte_compile() -> None:
    """Compile convsdk's modules to bytecode (``__pycache__``), as installing the package
    does: a benchmark that times a fresh process's imports then times loading them, not
    compiling them (an environment with ``PYTHONDONTWRITEBYTECODE`` set would compile
    every module again in every process)."""
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "src" / "convsdk", quiet=1)


def otel_provider() -> Any:
    """OpenTelemetry's SDK tracer provider, its batch span processor feeding an exporter
    that drops the spans (raises ImportError without the ``bench`` extra)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter(), max_queue_size=100_000))
    return provider


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    return str(value)
