"""Reading the lake: CURRENT -> manifest -> the exact file list of every table.

A reader never lists directories: it reads `CURRENT`, then that version's manifest, then
exactly the files the manifest names. A publish replaces CURRENT last, after every file and
the manifest are in place, so a reader sees the previous version or the new one whole.
`register_duckdb` gives a DuckDB connection a view per table (`main.sales_order_lines`,
`money.fx_daily`) over those files, with the manifest's columns and types only (no hive
partition column leaks in).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from control_tower.lake.layout import (
    CURRENT,
    MANIFESTS_DIR,
    LakeError,
    Manifest,
    manifest_from_json,
    version_number,
)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def current_version(lake_dir: Path) -> str:
    """The version CURRENT points at; a missing or malformed pointer is a LakeError."""
    pointer = Path(lake_dir) / CURRENT
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise LakeError(
            f"no lake published at {lake_dir}: {pointer} does not exist "
            "(publish one with `control-tower lake publish`)"
        ) from None
    version_number(version, where=f"lake pointer {pointer}")
    return version


def manifest_path(lake_dir: Path, version: str) -> Path:
    """Where the manifest of `version` lives."""
    return Path(lake_dir) / MANIFESTS_DIR / f"{version}.json"


def read_manifest(lake_dir: Path, version: str) -> Manifest:
    """The manifest of `version`; a missing or invalid one is a LakeError naming its path."""
    path = manifest_path(lake_dir, version)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LakeError(f"lake manifest {path} of version {version} does not exist") from None
    manifest = manifest_from_json(text, path=path, lake_dir=Path(lake_dir))
    if manifest.version != version:
        raise LakeError(f"lake manifest {path} says it is version {manifest.version}")
    return manifest


def current_manifest(lake_dir: Path) -> Manifest:
    """The manifest of the current version of the lake at `lake_dir`."""
    return read_manifest(lake_dir, current_version(lake_dir))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(manifest: Manifest, table: str) -> str:
    """The SELECT over `table`'s exact files, with the manifest's columns cast to their types."""
    entry = manifest.table(table)
    files = ", ".join(_literal(str(p)) for p in manifest.files(table))
    columns = ", ".join(
        f"CAST({_quote_ident(c.name)} AS {c.type}) AS {_quote_ident(c.name)}" for c in entry.columns
    )
    return (
        f"SELECT {columns} FROM read_parquet([{files}], hive_partitioning = false, "
        "union_by_name = false)"
    )


def register_duckdb(
    con: duckdb.DuckDBPyConnection, lake_dir: Path, manifest: Manifest | None = None
) -> Manifest:
    """Create a view per lake table on `con` (schemas created as needed): landed tables as
    `main.<table>`, derived inputs as `<schema>.<table>`; returns the manifest used (the
    current one unless given)."""
    manifest = manifest or current_manifest(lake_dir)
    for name in manifest.tables:
        for path in manifest.files(name):
            if not path.is_file():
                raise LakeError(
                    f"lake version {manifest.version}, table {name}: file {path} is missing"
                )
    for name, entry in manifest.tables.items():
        schema, table = entry.source.split(".", 1)
        if not (_IDENT.match(schema) and _IDENT.match(table)):
            raise LakeError(f"lake version {manifest.version}: {entry.source!r} is not a table")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE OR REPLACE VIEW {schema}.{table} AS {view_sql(manifest, name)}")
    return manifest
