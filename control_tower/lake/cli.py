"""`control-tower lake ...`: publish the Parquet lake now, and show its current version.

`publish` reads the warehouse, so it takes the writer lock like `ingest` (the pipeline's
`lake` step publishes after every run when CONTROL_TOWER_LAKE_DIR is set); `show` reads only
the lake's CURRENT pointer and manifest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
import duckdb

from control_tower.export import command_settings, emit_rows, format_option, json_text
from control_tower.lake.layout import LakeError
from control_tower.settings import Settings, utc_now
from control_tower.storage import WriterBusyError, WriterLock
from control_tower.storage.schema import connect_writer

SHOW_COLUMNS = ("table", "kind", "partition_by", "partitions", "rows", "files", "bytes")


def _lake_dir(settings: Settings, given: Path | None) -> Path:
    lake_dir = given or settings.lake_dir
    if lake_dir is None:
        raise click.ClickException(
            "no lake folder: set CONTROL_TOWER_LAKE_DIR (or give --lake-dir)"
        )
    return lake_dir


_lake_option = click.option(
    "--lake-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lake folder (default: CONTROL_TOWER_LAKE_DIR).",
)


@contextmanager
def _writer(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    if not settings.warehouse_path.exists():
        raise click.ClickException(
            f"no warehouse at {settings.warehouse_path}; land data first with `control-tower ingest`"
        )
    lock = WriterLock.for_settings(settings, purpose="control-tower lake publish")
    try:
        lock.acquire()
    except WriterBusyError as exc:
        raise click.ClickException(str(exc)) from None
    con = connect_writer(settings.warehouse_path, settings.duckdb)
    try:
        yield con
    finally:
        con.close()
        lock.release()


@click.group("lake")
def lake_group() -> None:
    """The Parquet lake other engines read (docs/lake.md): publish it, show what it holds."""


@lake_group.command("publish")
@_lake_option
@click.option("--as-of", "as_of", default=None, help="evaluation day (YYYY-MM-DD; default today)")
@click.pass_context
def publish_command(ctx: click.Context, lake_dir: Path | None, as_of: str | None) -> None:
    """Publish the warehouse's landed tables and derived inputs as a new lake version (only
    changed partitions are written; nothing when nothing changed)."""
    from control_tower.lake.publish import publish_lake
    from control_tower.lake.tables import lake_tables

    settings = command_settings(ctx)
    folder = _lake_dir(settings, lake_dir)
    try:
        day = date.fromisoformat(as_of) if as_of else utc_now().date()
    except ValueError:
        raise click.BadParameter(f"{as_of!r} is not a date in YYYY-MM-DD format") from None
    with _writer(settings) as con:
        try:
            tables = lake_tables(con, settings.kpi_definitions)
            report = publish_lake(con, folder, as_of=day, tables=tables)
        except LakeError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{report.summary()} in {report.seconds:.1f} s ({folder})")


@lake_group.command("show")
@_lake_option
@format_option()
@click.pass_context
def show_command(ctx: click.Context, lake_dir: Path | None, fmt: str) -> None:
    """The current lake version: its tables with their partitions, rows, files and size."""
    from control_tower.lake.read import current_manifest

    folder = _lake_dir(command_settings(ctx), lake_dir)
    try:
        manifest = current_manifest(folder)
    except LakeError as exc:
        raise click.ClickException(str(exc)) from None
    rows: list[dict[str, Any]] = [
        {
            "table": name,
            "kind": t.kind,
            "partition_by": ",".join(t.partition_by) or "-",
            "partitions": len({tuple(f.partition.values()) for f in t.files}),
            "rows": t.rows,
            "files": len(t.files),
            "bytes": sum(f.bytes for f in t.files),
        }
        for name, t in manifest.tables.items()
    ]
    if fmt == "json":
        head = {
            "version": manifest.version,
            "published_at": manifest.published_at,
            "as_of": manifest.as_of,
            "lake_dir": str(folder),
            "tables": rows,
        }
        click.echo(json_text(head))
        return
    if fmt == "table":
        size = sum(r["bytes"] for r in rows)
        click.echo(
            f"Lake {folder}: version {manifest.version}, published {manifest.published_at} "
            f"(as of {manifest.as_of}); {len(rows)} tables, {sum(r['rows'] for r in rows):,} "
            f"rows, {sum(r['files'] for r in rows)} files, {size / 1e6:.1f} MB"
        )
    emit_rows(rows, SHOW_COLUMNS, fmt, title="Lake tables", right=SHOW_COLUMNS[3:])
