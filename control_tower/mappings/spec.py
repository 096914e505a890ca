"""Source mappings: declarative YAML files that turn a non-canonical export into canonical tables.

One file per source, e.g. `pipelines/mappings/dataco.yml`. A mapping names
where its rows come from (files matching a glob in an inbox folder, or
tables of a SQL database), how source columns are read (renames, strptime
formats, placeholder strings read as missing, value maps) and, for each
canonical target table, one expression per canonical column. Loading
validates everything that can be known without the data: unknown keys,
unknown target tables and columns, missing required target columns and bad
expressions are reported with the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url
from sqlglot import exp

from control_tower import resources
from control_tower.contracts import LOAD_ORDER, TABLES
from control_tower.mappings.checks import FORMAT_META
from control_tower.mappings.expr import Compiled, ExpressionError, compile_expression

SOURCE_ALIAS = "s"


class MappingError(ValueError):
    """A mapping file is invalid: names the file, the key and the reason."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        self.path, self.key, self.reason = str(path), key, reason
        super().__init__(f"{path}: {key}: {reason}")


@dataclass(frozen=True)
class FileSource:
    """Files matching `glob` in `inbox/<folder>/`."""

    folder: str
    glob: str
    encoding: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class SqlTable:
    """One table pulled from a SQL database: its key and incremental cursor column."""

    name: str
    key: tuple[str, ...]
    cursor: str


@dataclass(frozen=True)
class SqlSource:
    """Tables of a database reachable through a SQLAlchemy URL (or a named connection)."""

    url: str | None  # a URL without a password (a password belongs in the environment)
    connection: str | None  # URL from the setting CONTROL_TOWER_SOURCE_<NAME>_URL
    tables: dict[str, SqlTable]
    retries: int = 4  # further attempts after a connection error, with exponential backoff
    overlap_seconds: int = 300  # timestamp cursors: re-read this far below the watermark
    chunk_rows: int = 50_000  # rows fetched and written to DuckDB per chunk

    @property
    def env_name(self) -> str | None:
        """The environment variable holding the URL of a named connection."""
        if self.connection is None:
            return None
        return f"CONTROL_TOWER_SOURCE_{self.connection.upper()}_URL"


@dataclass(frozen=True)
class Join:
    """A lookup table joined to a SQL target's driving table."""

    table: str
    alias: str
    on: Compiled


@dataclass(frozen=True)
class Target:
    """How one canonical table is built from the source."""

    table: str
    columns: dict[str, Compiled]  # canonical column -> SQL over the source
    where: Compiled | None = None
    dedupe: bool = False  # keep the first row per key (a wide export repeats dimension rows)
    source_table: str | None = None  # SQL sources: the driving table
    joins: tuple[Join, ...] = ()


@dataclass(frozen=True)
class SourceMapping:
    """One validated mapping file."""

    name: str
    path: Path
    description: str
    source: FileSource | SqlSource
    targets: tuple[Target, ...]  # in load order
    rename: dict[str, str] = field(default_factory=dict)
    digest: str = ""  # identifies the mapping's content: a changed mapping re-lands its files

    @property
    def kind(self) -> str:
        """`files` or `sql`."""
        return "files" if isinstance(self.source, FileSource) else "sql"


TOP_KEYS = {
    "name",
    "description",
    "source",
    "missing",
    "rename",
    "formats",
    "value_maps",
    "targets",
}
TARGET_KEYS = {"table", "from", "joins", "where", "dedupe", "columns"}


def _keys(path: Path, where: str, value: Any, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, MappingABC):
        raise MappingError(path, where, f"must be a mapping of keys to values, got {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise MappingError(
            path,
            where,
            f"unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}",
        )
    missing = sorted(required - set(value))
    if missing:
        raise MappingError(path, where, f"missing required key(s) {', '.join(missing)}")
    return dict(value)


def _str_map(path: Path, where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, MappingABC):
        raise MappingError(path, where, "must map names to text")
    out = {}
    for k, v in value.items():
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise MappingError(path, f"{where}.{k}", f"must be text, got {v!r}")
        out[str(k).strip().lower() if where in ("rename", "formats") else str(k)] = str(v)
    return out


def _source(path: Path, raw: Any) -> FileSource | SqlSource:
    spec = _keys(path, "source", raw, {"files", "sql"}, set())
    if len(spec) != 1:
        raise MappingError(path, "source", "give exactly one of files or sql")
    if "files" in spec:
        files = _keys(
            path,
            "source.files",
            spec["files"],
            {"folder", "glob", "encoding", "sheet"},
            {"folder", "glob"},
        )
        folder = str(files["folder"])
        if (
            "/" in folder
            or "\\" in folder
            or folder.startswith(".")
            or folder in ("erp", "wms", "tms")
        ):
            raise MappingError(
                path,
                "source.files.folder",
                f"{folder!r} must be one plain folder name under the inbox, not erp/wms/tms",
            )
        glob = str(files["glob"])
        if "/" in glob or "\\" in glob or ".." in glob or not glob.strip():
            raise MappingError(
                path,
                "source.files.glob",
                f"{glob!r} must be a file name pattern inside the folder, such as 'Orders*.csv' "
                "(no folders, no '..')",
            )
        return FileSource(folder, glob, files.get("encoding"), files.get("sheet"))
    sql = _keys(
        path,
        "source.sql",
        spec["sql"],
        {"url", "connection", "tables", "retries", "overlap_seconds", "chunk_rows"},
        {"tables"},
    )
    if ("url" in sql) == ("connection" in sql):
        raise MappingError(path, "source.sql", "give exactly one of url or connection")
    if "url" in sql:
        _check_url(path, str(sql["url"]))
    if "connection" in sql and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(sql["connection"])):
        raise MappingError(
            path, "source.sql.connection", "must be a name of letters, digits and underscores"
        )
    tables = {}
    if not isinstance(sql["tables"], MappingABC) or not sql["tables"]:
        raise MappingError(path, "source.sql.tables", "must name at least one table")
    for name, tspec in sql["tables"].items():
        where = f"source.sql.tables.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?", str(name)):
            raise MappingError(path, where, "a table name is `table` or `schema.table`")
        t = _keys(path, where, tspec, {"key", "cursor"}, {"key", "cursor"})
        key = t["key"] if isinstance(t["key"], list) else [t["key"]]
        tables[str(name)] = SqlTable(str(name), tuple(str(k) for k in key), str(t["cursor"]))
    numbers = {}
    for name, default, least in (
        ("retries", 4, 0),
        ("overlap_seconds", 300, 0),
        ("chunk_rows", 50_000, 1),
    ):
        value = sql.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise MappingError(path, f"source.sql.{name}", f"must be a whole number >= {least}")
        numbers[name] = value
    url = str(sql["url"]) if "url" in sql else None
    connection = str(sql["connection"]) if "connection" in sql else None
    return SqlSource(url, connection, tables, **numbers)


def _check_url(path: Path, url: str) -> None:
    """A URL in a mapping must parse and must not carry a password."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError (and ValueError for ports)
        raise MappingError(path, "source.sql.url", f"not a SQLAlchemy URL: {exc}") from None
    if parsed.password is not None:
        raise MappingError(
            path,
            "source.sql.url",
            "must not contain a password: use `connection: <name>` and put the URL in the "
            "environment variable CONTROL_TOWER_SOURCE_<NAME>_URL",
        )


def _resolver(
    path: Path,
    where: str,
    rename: dict[str, str],
    formats: dict[str, str],
    missing: list[str],
    aliases: dict[str, str],
):
    """Column references of expressions -> SQL reading the source (placeholders, formats applied)."""

    def resolve(qualifier: str, name: str) -> exp.Expression:
        if qualifier and qualifier not in aliases:
            raise ExpressionError(
                f"{qualifier}.{name}: {qualifier!r} is not a joined table (known: {', '.join(aliases) or 'none'})"
            )
        alias = qualifier or SOURCE_ALIAS
        column = rename.get(name, name) if not qualifier else name
        ref: exp.Expression = exp.column(column, table=alias, quoted=True)
        if missing:
            ref = (
                exp.Case()
                .when(
                    exp.In(
                        this=exp.Trim(this=ref.copy()),
                        expressions=[exp.Literal.string(m) for m in missing],
                    ),
                    exp.Null(),
                )
                .else_(ref.copy())
            )
        pattern = formats.get(name) if not qualifier else None
        if pattern is None and not qualifier:
            pattern = formats.get(column)
        if pattern is not None:
            parsed = exp.func("try_strptime", ref, exp.Literal.string(pattern), dialect="duckdb")
            parsed.meta[FORMAT_META] = (name, pattern)
            ref = exp.cast(parsed, "TIMESTAMP")
        return ref

    return resolve


def _constant(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _target(
    path: Path, i: int, raw: Any, ctx: dict[str, Any], source: FileSource | SqlSource
) -> Target:
    where = f"targets[{i}]"
    spec = _keys(path, where, raw, TARGET_KEYS, {"table", "columns"})
    name = str(spec["table"])
    if name not in TABLES:
        raise MappingError(
            path, f"{where}.table", f"unknown canonical table {name!r}; known: {', '.join(TABLES)}"
        )
    where = f"targets[{i}] ({name})"
    table = TABLES[name]
    aliases: dict[str, str] = {}
    joins: list[Join] = []
    source_table = None
    if isinstance(source, SqlSource):
        if "from" not in spec or spec["from"] not in source.tables:
            raise MappingError(
                path,
                f"{where}.from",
                f"a SQL target names its driving table, one of: {', '.join(source.tables)}",
            )
        source_table = str(spec["from"])
        # YAML 1.1 reads a bare `on:` key as true: take it as the `on` it was meant to be.
        join_specs = [
            {("on" if k is True else k): v for k, v in jraw.items()}
            if isinstance(jraw, MappingABC)
            else jraw
            for jraw in spec.get("joins") or []
        ]
        for j, jraw in enumerate(join_specs):
            jwhere = f"{where}.joins[{j}]"
            js = _keys(path, jwhere, jraw, {"table", "as", "on"}, {"table", "as", "on"})
            if js["table"] not in source.tables:
                raise MappingError(
                    path, f"{jwhere}.table", f"{js['table']!r} is not in source.sql.tables"
                )
            aliases[str(js["as"]).lower()] = str(js["table"])
        for j, jraw in enumerate(join_specs):
            on = _compile(path, f"{where}.joins[{j}].on", str(jraw["on"]), ctx, aliases)
            joins.append(Join(str(jraw["table"]), str(jraw["as"]).lower(), on))
    elif "from" in spec or "joins" in spec:
        raise MappingError(path, where, "from and joins are for SQL sources only")
    columns_spec = spec["columns"]
    if not isinstance(columns_spec, MappingABC) or not columns_spec:
        raise MappingError(path, f"{where}.columns", "must map canonical columns to expressions")
    columns: dict[str, Compiled] = {}
    for col, value in columns_spec.items():
        if col not in table.column_names:
            raise MappingError(
                path,
                f"{where}.columns.{col}",
                f"{name} has no column {col!r}; its columns: {', '.join(table.column_names)}",
            )
        if isinstance(value, MappingABC):
            _keys(path, f"{where}.columns.{col}", value, {"value"}, {"value"})
            columns[col] = Compiled(
                exp.Literal.string(_constant(value["value"])).sql("duckdb"), frozenset()
            )
        elif isinstance(value, str):
            columns[col] = _compile(path, f"{where}.columns.{col}", value, ctx, aliases)
        else:
            raise MappingError(
                path,
                f"{where}.columns.{col}",
                f"must be an expression (text) or {{value: constant}}, got {value!r}",
            )
    absent = [c for c in table.required_columns if c not in columns]
    if absent:
        raise MappingError(
            path, f"{where}.columns", f"missing required column(s) of {name}: {', '.join(absent)}"
        )
    filt = (
        _compile(path, f"{where}.where", str(spec["where"]), ctx, aliases)
        if spec.get("where")
        else None
    )
    dedupe = spec.get("dedupe", False)
    if not isinstance(dedupe, bool):
        raise MappingError(path, f"{where}.dedupe", "must be true or false")
    return Target(name, columns, filt, dedupe, source_table, tuple(joins))


def _compile(
    path: Path, where: str, text: str, ctx: dict[str, Any], aliases: dict[str, str]
) -> Compiled:
    resolve = _resolver(path, where, ctx["rename"], ctx["formats"], ctx["missing"], aliases)
    try:
        return compile_expression(text, resolve, ctx["value_maps"])
    except ExpressionError as exc:
        raise MappingError(path, where, str(exc)) from None


def _str_keys(value: Any) -> Any:
    """The parsed YAML with every mapping key as text (YAML may read `on:` as true)."""
    if isinstance(value, MappingABC):
        return {str(k): _str_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_str_keys(v) for v in value]
    return value


def load_mapping(path: Path) -> SourceMapping:
    """Read and validate one mapping file; MappingError says what is wrong and where."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(path, "(file)", f"not valid YAML: {exc}") from None
    spec = _keys(path, "(top level)", raw, TOP_KEYS, {"source", "targets"})
    source = _source(path, spec["source"])
    missing = spec.get("missing") or []
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        raise MappingError(path, "missing", "must be a list of placeholder strings read as missing")
    value_maps_raw = spec.get("value_maps") or {}
    if not isinstance(value_maps_raw, MappingABC):
        raise MappingError(
            path, "value_maps", "must map map names to {source value: canonical value}"
        )
    value_maps = {str(k): _str_map(path, f"value_maps.{k}", v) for k, v in value_maps_raw.items()}
    ctx = {
        "rename": _str_map(path, "rename", spec.get("rename")),
        "formats": _str_map(path, "formats", spec.get("formats")),
        "missing": [m.strip() for m in missing],
        "value_maps": value_maps,
    }
    ctx["rename"] = {k: v.strip().lower() for k, v in ctx["rename"].items()}
    targets_raw = spec["targets"]
    if not isinstance(targets_raw, list) or not targets_raw:
        raise MappingError(path, "targets", "must be a list of at least one target table")
    targets = [_target(path, i, t, ctx, source) for i, t in enumerate(targets_raw)]
    names = [t.table for t in targets]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise MappingError(path, "targets", f"table(s) {', '.join(dups)} mapped more than once")
    targets.sort(key=lambda t: LOAD_ORDER.index(t.table))
    digest = hashlib.sha256(
        json.dumps(_str_keys(raw), sort_keys=True, default=str).encode()
    ).hexdigest()
    return SourceMapping(
        name=str(spec.get("name") or path.stem),
        path=path,
        description=str(spec.get("description") or ""),
        source=source,
        targets=tuple(targets),
        rename=ctx["rename"],
        digest=digest,
    )


def load_mappings(
    folder: Path | Sequence[Path], names: list[str] | None = None
) -> list[SourceMapping]:
    """Mappings (`<name>.yml`) in a folder, or in several (the product's, then an installation's
    own), all of them or only `names`, in that order. A name in two folders is refused."""
    dirs = resources.folders(folder)
    paths, clashes = resources.files_by_name(dirs)
    if clashes:
        first = clashes[0]
        raise MappingError(first.second, "(file)", first.describe("source mapping"))
    if names is None:
        return [load_mapping(p) for p in paths.values()]
    out = []
    for name in names:
        path = paths.get(name)
        if path is None:
            known = ", ".join(sorted(paths)) or "none"
            where = " or ".join(str(d) for d in dirs)
            raise MappingError(
                dirs[-1] / f"{name}.yml",
                "(file)",
                f"no mapping {name!r} in {where} (known: {known})",
            )
        out.append(load_mapping(path))
    return out
