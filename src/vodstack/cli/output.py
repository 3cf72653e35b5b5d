"""Tables and readable views for a person, plain text for a pipe, never a cut id.

On a terminal a table is drawn by rich, with every id column kept whole on one line (rich
shrinks the other columns, which wrap instead of ending in "…"), so an id can always be
copied and pasted. Piped (``vodstack assets list | grep …``), the same table is plain
aligned columns: no box characters, no colours, no wrapping, nothing cut.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

#: Column headers whose values are ids (kept whole, one line).
ID_HEADERS = frozenset({"id", "asset", "asset id", "key id", "job", "viewer"})


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def show_table(table: Table, *, terminal: bool | None = None) -> None:
    """Print ``table``: drawn on a terminal, plain aligned text when piped."""
    if terminal if terminal is not None else stdout_is_terminal():
        for column in table.columns:
            column.overflow = "fold"  # wrap long words; never "…"
            if str(column.header).lower() in ID_HEADERS:
                cells = [str(c) for c in column.cells]
                column.no_wrap = True
                column.min_width = max([len(str(column.header)), *map(len, cells)])
        Console().print(table)
        return
    typer.echo(plain_table([str(c.header) for c in table.columns], _rows(table)), nl=False)


def dict_table(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """``show_table`` of dicts: one column per key, ``None`` as an empty cell."""
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    show_table(table)


def _rows(table: Table) -> list[list[str]]:
    columns = [[_text(c) for c in column.cells] for column in table.columns]
    return [list(row) for row in zip(*columns, strict=False)] if columns else []


def _text(cell: Any) -> str:
    plain = getattr(cell, "plain", None)
    return " ".join(str(plain if plain is not None else cell).split())


def plain_table(headers: list[str], rows: Iterable[list[str]]) -> str:
    """Aligned columns separated by two spaces; the last column is not padded."""
    rows = [[" ".join(str(v).split()) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = []
    for row in [headers, *rows]:
        cells = [v.ljust(widths[i]) if i < len(row) - 1 else v for i, v in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
