"""Tabular output shared by every export: CSV files from the web pages and the API, and the
`--format table|json|csv` of every listing command, and the settings a command runs against.

One CSV writer, so a file exported from a page, downloaded from `/api/v1` or written by the
command line has the same columns, quoting and line endings, and the same protection against
formula injection: a text cell that a spreadsheet would run as a formula (it starts with `=`,
`+`, `-`, `@`, a tab or a carriage return) is written with a leading single quote, so it opens
as text. Numbers (and text that is exactly a decimal number, such as `-5`) stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

import click
from rich.console import Console
from rich.table import Table

from control_tower.settings import Settings, SettingsError, load_settings

FORMATS: tuple[str, ...] = ("table", "json", "csv")


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    """Write a header and one line per row (only `columns`, in that order); return the row count.

    Missing keys are written empty, extra keys are left out, NULLs are empty cells.
    """
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", restval="")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({c: _csv_cell(row.get(c)) for c in columns})
        count += 1
    return count


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The CSV text of `rows` (see `write_csv`)."""
    out = io.StringIO()
    write_csv(rows, columns, out)
    return out.getvalue()


def csv_chunks(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], rows_per_chunk: int = 500
) -> Iterator[str]:
    """The CSV text of `rows` (see `write_csv`) in pieces of about `rows_per_chunk` rows, for
    streaming a large export; the first piece holds the header (it is the only one when empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", restval="")
    writer.writeheader()
    for n, row in enumerate(rows, 1):
        writer.writerow({c: _csv_cell(row.get(c)) for c in columns})
        if n % rows_per_chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_formula(text: str) -> str:
    """`text` as a spreadsheet shows it as text: a leading single quote when it starts like a
    formula; unchanged when it does not, or when it is exactly a decimal number (`-5`, `+1.5e3`:
    a spreadsheet reads those as the number, which runs nothing)."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, bool | int | float | Decimal):
        return value
    return neutralise_formula(str(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def json_text(payload: Any) -> str:
    """Indented JSON; dates and timestamps as ISO 8601 text."""
    return json.dumps(payload, indent=2, default=_json_default)


def console() -> Console:
    """A console for command output: on a terminal it fits the window; piped or redirected,
    lines are never cut or folded, so `grep` and `cut` see whole values."""
    out = Console()
    if out.is_terminal:
        return out
    return Console(width=100_000, soft_wrap=True)


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    table_columns: Sequence[str] | None = None,
    cell: Callable[[str, Any], str] | None = None,
    right: Sequence[str] = (),
    empty: str = "Nothing to show.",
) -> None:
    """Print rows as a table (for people), JSON (a list of objects) or CSV (for programs).

    `table_columns` narrows what the table shows (JSON and CSV always carry every column);
    `cell` renders a table cell (default: its text); `right` lists right-aligned columns.
    """
    if fmt == "json":
        click.echo(json_text([{c: row.get(c) for c in columns} for row in rows]))
        return
    if fmt == "csv":
        click.echo(csv_text(rows, columns), nl=False)
        return
    if fmt != "table":
        raise ValueError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    out = console()
    if not rows:
        out.print(empty)
        return
    shown = list(table_columns or columns)
    table = Table(title=title)
    for col in shown:
        table.add_column(col, justify="right" if col in right else "left")
    render = cell or (lambda _c, v: "" if v is None else str(v))
    for row in rows:
        table.add_row(*(render(c, row.get(c)) for c in shown))
    out.print(table)


def format_option(default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The `--format table|json|csv` option every listing command takes (as `fmt`)."""
    return click.option(
        "--format",
        "fmt",
        default=default,
        show_default=True,
        type=click.Choice(FORMATS),
        help="table for people; json or csv for programs (whole values, never cut).",
    )


def command_settings(ctx: click.Context) -> Settings:
    """The settings of the installation a command runs against (the root command's `--home`);
    a settings error becomes the command's error message."""
    try:
        return load_settings((ctx.find_root().obj or {}).get("home"))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
