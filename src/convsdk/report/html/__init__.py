"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script.

>>> Path("report.html").write_text(render_html(report), encoding="utf-8")

The page loads nothing from anywhere (no fonts, scripts, images or style sheets), so it
can be mailed, archived or opened offline, and it shows the same figures as the JSON
output: summary cards, goals, each funnel (bars and table), the micro → macro lift
ranking (a forest plot of lifts with their 95 % intervals, on a log scale), experiment
variants (rates with intervals), channel breakdowns and a time-to-convert histogram.
Light and dark themes follow the reader's system setting.

Modules: :mod:`.style` (the CSS), :mod:`.markup` (escaped pieces), :mod:`.charts`,
:mod:`.overview`, :mod:`.analysis`, :mod:`.channels` (the sections) and :mod:`.page`.
"""

from __future__ import annotations

from .charts import funnel_chart, histogram_chart, lift_chart, variant_chart
from .page import render_html

__all__ = ["funnel_chart", "histogram_chart", "lift_chart", "render_html", "variant_chart"]
