"""Lake layout v1: where the published Parquet files live and what the manifest says about them.

The lake is a folder other engines (Spark, DuckDB, Trino, pandas...) read without the product:

    <lake>/CURRENT                      the current version id ("v000012\\n")
    <lake>/_manifests/v000012.json      that version's manifest: every table, its columns and
                                        its exact file list
    <lake>/tables/<table>/entity=<E>/month=<YYYY-MM>/part-<fp16>.parquet   landed fact tables
    <lake>/tables/<table>/part-<fp16>.parquet                              landed master tables
    <lake>/tables/<schema>.<table>/part-<fp16>.parquet                     derived inputs

Partition directory keys are `entity` and `month`, not the data columns' names, so hive
partition discovery never collides with `entity_id` (which stays in the files). A fact table
is partitioned by `entity` when it has an `entity_id` column and always by `month` of its main
date column (`MONTH_COLUMNS`, the one place that choice is made); masters are not partitioned.
A NULL partition value is the directory `__none__`. Files are immutable and named by their
partition's content fingerprint. docs/lake.md is the reader's description of this layout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from control_tower.contracts import TABLES
from control_tower.storage.schema import landed_columns

LAYOUT_VERSION = 1
CURRENT = "CURRENT"
MANIFESTS_DIR = "_manifests"
TABLES_DIR = "tables"
STAGING_DIR = "_staging"
NONE_PARTITION = "__none__"
ENTITY_KEY = "entity"
MONTH_KEY = "month"
ENTITY_COLUMN = "entity_id"
KINDS = ("landed", "derived")
_VERSION = re.compile(r"^v(\d{6,})$")

# The main date column of every landed fact table: its rows' `month=` partition. A landed table
# not named here is a master (items, customers...) and is published unpartitioned. Chosen as the
# date a reader filters the table by: when the order was placed, shipped, received, counted.
MONTH_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "sales_order_lines": "order_ts_local_date",
        "purchase_order_lines": "order_date",
        "ap_invoice_lines": "invoice_date",
        "returns": "created_at_local_date",
        "close_tasks": "due_date",
        "inventory_snapshots": "snapshot_date",
        "cycle_counts": "counted_at_local_date",
        "waves": "planned_release_ts_local_date",
        "shipments": "shipped_ts_local_date",
        "receipts": "arrived_ts_local_date",
        "inventory_adjustments": "adjusted_at_local_date",
        "stock_transfers": "created_at_local_date",
        "freight_shipments": "planned_pickup_ts_local_date",
        "tracking_events": "event_ts_local_date",
    }
)
# Landed masters: small, read whole, published as one file each.
MASTER_TABLES: frozenset[str] = frozenset(
    {"entities", "fx_rates", "locations", "suppliers", "items", "customers"}
)

# DuckDB types whose Parquet form would lose values (DuckDB writes HUGEINT as DOUBLE): stored
# exactly as another type. The manifest keeps the warehouse type; readers cast back to it.
STORAGE_TYPES: Mapping[str, str] = MappingProxyType(
    {"HUGEINT": "DECIMAL(38,0)", "UHUGEINT": "DECIMAL(38,0)"}
)


class LakeError(ValueError):
    """The lake (its CURRENT pointer, a manifest, the layout spec) cannot be used; says where."""


@dataclass(frozen=True)
class PartitionSpec:
    """How one landed table is split into directories: `entity=` and/or `month=` (or neither)."""

    entity: bool = False
    month_column: str | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The partition directory keys, outermost first."""
        return tuple(
            k
            for k, on in ((ENTITY_KEY, self.entity), (MONTH_KEY, self.month_column is not None))
            if on
        )


UNPARTITIONED = PartitionSpec()


def partition_spec(table: str) -> PartitionSpec:
    """The partitioning of the landed contract table `table` (derived inputs: UNPARTITIONED)."""
    contract = TABLES.get(table)
    if contract is None:
        raise LakeError(f"{table!r} is not a landed contract table; known: {', '.join(TABLES)}")
    if table in MASTER_TABLES:
        return UNPARTITIONED
    month = MONTH_COLUMNS.get(table)
    if month is None:
        raise LakeError(
            f"landed table {table!r} has no partitioning decided: add its main date column to "
            "control_tower.lake.layout.MONTH_COLUMNS (or it to MASTER_TABLES)"
        )
    types = dict(landed_columns(contract))
    if types.get(month) != "DATE":
        raise LakeError(
            f"MONTH_COLUMNS names {table}.{month}, which is not a DATE column of the landed table"
        )
    return PartitionSpec(entity=ENTITY_COLUMN in types, month_column=month)


def version_id(number: int) -> str:
    """The id of version `number`: v000012."""
    return f"v{number:06d}"


def version_number(version: str, *, where: str) -> int:
    """The number of a version id; a malformed id is a LakeError naming `where`."""
    match = _VERSION.match(version)
    if match is None:
        raise LakeError(f"{where}: {version!r} is not a lake version id (v000012)")
    return int(match.group(1))


def partition_dir(values: Mapping[str, str]) -> str:
    """The hive directory path of a partition (`entity=US01/month=2026-05`), values escaped the
    hive way (%XX) so that an odd entity id never makes a path of its own."""
    return "/".join(f"{k}={quote(v, safe='')}" for k, v in values.items())


def table_dir(name: str) -> str:
    """The folder of a table, relative to the lake: tables/<name>."""
    return f"{TABLES_DIR}/{name}"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a published table: its name and warehouse (DuckDB) type."""

    name: str
    type: str


@dataclass(frozen=True)
class FileEntry:
    """One immutable Parquet file of a table version."""

    path: str  # relative to the lake folder, POSIX separators
    partition: Mapping[str, str]
    rows: int
    fingerprint: str
    bytes: int = 0


@dataclass(frozen=True)
class TableEntry:
    """One published table: where it comes from, its columns and its files."""

    name: str
    kind: str  # landed | derived
    source: str  # main.sales_order_lines, money.fx_daily
    partition_by: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    rows: int
    files: tuple[FileEntry, ...]
    # Landed tables: how the publish tells, without hashing the rows, that the table has not
    # changed since (the ledger's newest batch id of the table, and the rows' batch-id stats).
    change_marks: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """One version of the lake: every table and its exact file list."""

    version: str
    published_at: str  # ISO 8601, UTC
    as_of: str  # the pipeline's evaluation day
    tables: Mapping[str, TableEntry]
    layout_version: int = LAYOUT_VERSION
    lake_dir: Path | None = None  # the folder it was read from (None: not read from disk)

    def table(self, name: str) -> TableEntry:
        """The entry of table `name`; an unknown name is a LakeError listing the tables."""
        entry = self.tables.get(name)
        if entry is None:
            raise LakeError(
                f"lake version {self.version} has no table {name!r}; it has "
                f"{', '.join(sorted(self.tables))}"
            )
        return entry

    def files(self, name: str) -> list[Path]:
        """The absolute paths of table `name`'s files in this version."""
        if self.lake_dir is None:
            raise LakeError(f"lake version {self.version} was not read from a lake folder")
        return [self.lake_dir / f.path for f in self.table(name).files]

    def to_json(self) -> str:
        """The manifest as JSON (the documented format of docs/lake.md)."""
        return json.dumps(_manifest_dict(self), indent=1, sort_keys=False) + "\n"


def _manifest_dict(m: Manifest) -> dict[str, Any]:
    return {
        "layout_version": m.layout_version,
        "version": m.version,
        "published_at": m.published_at,
        "as_of": m.as_of,
        "tables": {
            name: {
                "kind": t.kind,
                "source": t.source,
                "partition_by": list(t.partition_by),
                "columns": [{"name": c.name, "type": c.type} for c in t.columns],
                "rows": t.rows,
                "files": [
                    {
                        "path": f.path,
                        "partition": dict(f.partition),
                        "rows": f.rows,
                        "fingerprint": f.fingerprint,
                        "bytes": f.bytes,
                    }
                    for f in t.files
                ],
                **({"change_marks": dict(t.change_marks)} if t.change_marks else {}),
            }
            for name, t in m.tables.items()
        },
    }


def manifest_from_json(text: str, *, path: Path, lake_dir: Path | None = None) -> Manifest:
    """Parse and check a manifest read from `path`; every problem is a LakeError naming it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LakeError(f"lake manifest {path} is not valid JSON: {exc}") from None
    reader = _Reader(path)
    obj = reader.obj(data, "the manifest")
    layout = obj.get("layout_version")
    if layout != LAYOUT_VERSION:
        raise LakeError(
            f"lake manifest {path} has layout_version {layout!r}; this release reads layout "
            f"version {LAYOUT_VERSION} only"
        )
    version = reader.text(obj, "version", "the manifest")
    version_number(version, where=f"lake manifest {path}")
    tables = {
        name: reader.table(name, entry)
        for name, entry in reader.obj(obj.get("tables"), "tables").items()
    }
    return Manifest(
        version=version,
        published_at=reader.text(obj, "published_at", "the manifest"),
        as_of=reader.text(obj, "as_of", "the manifest"),
        tables=MappingProxyType(tables),
        lake_dir=lake_dir,
    )


class _Reader:
    """Checks of a manifest's parts; each failure names the file and the part."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, why: str) -> LakeError:
        return LakeError(f"lake manifest {self.path}: {where}: {why}")

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a JSON object")
        return value

    def text(self, obj: Mapping[str, Any], key: str, where: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"{key!r} must be a non-empty string")
        return value

    def count(self, obj: Mapping[str, Any], key: str, where: str) -> int:
        value = obj.get(key, 0 if key == "bytes" else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(where, f"{key!r} must be a whole number, 0 or more")
        return value

    def table(self, name: str, value: object) -> TableEntry:
        where = f"table {name!r}"
        t = self.obj(value, where)
        kind = self.text(t, "kind", where)
        if kind not in KINDS:
            raise self.fail(where, f"kind {kind!r} is not one of {KINDS}")
        keys = t.get("partition_by")
        if not isinstance(keys, list) or not all(k in (ENTITY_KEY, MONTH_KEY) for k in keys):
            raise self.fail(where, f"partition_by must be a list of {ENTITY_KEY!r}/{MONTH_KEY!r}")
        cols = t.get("columns")
        if not isinstance(cols, list) or not cols:
            raise self.fail(where, "columns must be a non-empty list")
        columns = tuple(
            ColumnSpec(self.text(c, "name", where), self.text(c, "type", where))
            for c in (self.obj(c, f"{where} column") for c in cols)
        )
        files = t.get("files")
        if not isinstance(files, list) or not files:
            raise self.fail(where, "files must be a non-empty list (an empty table has one file)")
        entries = tuple(self.file(where, name, keys, f) for f in files)
        rows = self.count(t, "rows", where)
        if rows != sum(f.rows for f in entries):
            raise self.fail(where, f"rows {rows} is not the sum of its files' rows")
        marks = self.obj(t.get("change_marks", {}), f"{where} change_marks")
        if not all(isinstance(v, int) for v in marks.values()):
            raise self.fail(where, "change_marks must map names to whole numbers")
        return TableEntry(
            name=name,
            kind=kind,
            source=self.text(t, "source", where),
            partition_by=tuple(keys),
            columns=columns,
            rows=rows,
            files=entries,
            change_marks=MappingProxyType(marks),
        )

    def file(self, where: str, table: str, keys: list[str], value: object) -> FileEntry:
        f = self.obj(value, f"{where} file")
        path = self.text(f, "path", f"{where} file")
        parts = PurePosixPath(path).parts
        if (
            PurePosixPath(path).is_absolute()
            or ".." in parts
            or parts[:2] != (TABLES_DIR, table)
            or not path.endswith(".parquet")
        ):
            raise self.fail(
                where, f"file path {path!r} is not a Parquet file under tables/{table}/"
            )
        partition = self.obj(f.get("partition", {}), f"{where} file {path}")
        if list(partition) != keys or not all(isinstance(v, str) for v in partition.values()):
            raise self.fail(where, f"file {path}: partition must give {keys} as strings")
        return FileEntry(
            path=path,
            partition=MappingProxyType(partition),
            rows=self.count(f, "rows", f"{where} file {path}"),
            fingerprint=self.text(f, "fingerprint", f"{where} file {path}"),
            bytes=self.count(f, "bytes", f"{where} file {path}"),
        )
