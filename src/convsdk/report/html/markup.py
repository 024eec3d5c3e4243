"""Small pieces of HTML and SVG, every text escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from .. import formatting as fmt

__all__ = ["br_lines", "card", "cell_money", "esc", "svg", "svg_text", "table"]


def esc(value: object) -> str:
    """``value`` as text, escaped for HTML (quotes too)."""
    return escape(str(value), quote=True)


def br_lines(value: str) -> str:
    """Escaped text, each ``\\n`` a line break (one amount per currency a line)."""
    return "<br>".join(esc(line) for line in value.split("\n"))


def cell_money(amounts: dict[str, float], digits: int = 2) -> str:
    """Amounts, one currency a line."""
    return fmt.money(amounts, digits).replace(" · ", "\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, dim: Iterable[int] = ()) -> str:
    """An HTML table; rows whose index is in ``dim`` are dimmed."""
    dimmed = set(dim)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = ' class="dim"' if i in dimmed else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{br_lines(c)}</td>" for c in row) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def card(label: str, value: str, sub: str = "") -> str:
    """A summary card: label, value and an optional line under it."""
    extra = f'<div class="sub">{esc(sub)}</div>' if sub else ""
    size = " small" if "\n" in value else ""
    return (
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="value{size}">{br_lines(value)}</div>{extra}</div>'
    )


def svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    # No xmlns: inline SVG in HTML needs none, and the page then holds no URL at all.
    """An inline SVG image titled ``title``."""
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>{"".join(body)}</svg>'
    )


def svg_text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    """An SVG text element at ``(x, y)``."""
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{esc(text)}</text>'
