"""The page's style sheet: light and dark themes, cards, tables and chart classes."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root { --fg: #1d2330; --muted: #5f6b7a; --bg: #ffffff; --panel: #f5f7fa; --line: #dde3ea;
  --accent: #2f6fde; --accent2: #17a398; --warn: #d9822b; --bad: #c8443b; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ee; --muted: #9aa5b4; --bg: #14171c; --panel: #1d222a; --line: #2e3540;
    --accent: #6b9cf0; --accent2: #3cc4b4; --warn: #f0a656; --bad: #ef6f66; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 40px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
p.meta, p.note, figcaption { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
  margin-top: 18px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; }
.card .value.small { font-size: 17px; }
.card .sub { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right;
  white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; white-space: normal;
  vertical-align: bottom; }
th:first-child, td:first-child, td.l, th.l { text-align: left; }
td:first-child { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
tr.dim td { color: var(--muted); font-style: italic; }
.scroll { overflow-x: auto; }
.grid2 { display: grid;
  grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr));
  gap: 8px 28px; }
figure { margin: 10px 0 6px; }
svg { max-width: 100%; height: auto; display: block; }
svg text { fill: var(--fg); font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
svg text.muted { fill: var(--muted); font-size: 11px; }
svg .bar { fill: var(--accent); }
svg .bar2 { fill: var(--accent2); }
svg .bar0 { fill: var(--muted); opacity: .5; }
svg .track { fill: var(--panel); stroke: var(--line); }
svg .axis { stroke: var(--line); }
svg .ref { stroke: var(--warn); stroke-dasharray: 4 3; }
svg .whisker { stroke: var(--fg); stroke-width: 1.5; }
svg .dot { fill: var(--accent); stroke: var(--bg); stroke-width: 1.5; }
.sig { color: var(--accent2); font-weight: 600; }
dl { font-size: 13px; color: var(--muted); }
dt { font-weight: 600; color: var(--fg); margin-top: 8px; }
dd { margin: 2px 0 0 0; }
"""
