"""Drawing a table: plain text, or a rich table."""

from __future__ import annotations

from .table import Table

__all__ = ["plain", "rich_table"]


def plain(table: Table) -> str:
    """The table as plain text, columns aligned with spaces."""
    headers = [name.replace("\n", " ") for name, _ in table.columns]
    rows = [[cell.replace("\n", " · ") for cell in row] for row in table.rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(w) if align == "right" else cell.ljust(w)
            for cell, w, (_, align) in zip(cells, widths, table.columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [table.title, "=" * len(table.title)]
    if any(headers):
        out.append(line(headers))
        out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in rows)
    if table.note:
        out.append(f"({table.note})")
    return "\n".join(out)


def rich_table(table: Table) -> object:
    """The table as a rich ``Table`` (cells escaped: a visitor's markup is shown)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table as RichTable

    show_header = any(name for name, _ in table.columns)
    # Cells are rich markup: escaped, a visitor's "[bold red]" is shown, not applied.
    rich_table = RichTable(
        title=escape(table.title),
        title_justify="left",
        title_style="bold",
        caption=None if table.note is None else escape(table.note),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_header=show_header,
        header_style="bold cyan",
    )
    for i, (name, align) in enumerate(table.columns):
        # The first column names the row: it never wraps; numbers wrap only if they must.
        widest = max((len(line) for row in table.rows for line in row[i].split("\n")), default=0)
        rich_table.add_column(
            name, justify=align, overflow="fold", min_width=widest if i == 0 else None
        )
    for i, row in enumerate(table.rows):
        rich_table.add_row(
            *(escape(cell) for cell in row), style="dim" if i in table.dim_rows else None
        )
    return rich_table
