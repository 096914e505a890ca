"""Base models: a trusted SQL SELECT over landed tables at one grain (`kpi_definitions/models/`).

A model exposes dimensions, time dimensions (local dates) and per-row
measure columns; it may read other models, which are inlined before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot
from sqlglot import exp

from control_tower.contracts import TABLES
from control_tower.kpi.checks import Checker, Problem, read_yaml

# Columns of the compiled KPI query: a model may not expose them.
RESERVED_COLUMNS = ("period", "value", "numerator", "denominator", "dimension", "dimension_value")
# Tables a model may read besides the landed contract tables.
EXTRA_TABLES = (
    "exc.queue_items",
    "money.fx_daily",
    "money.fx_monthly",
    "money.entity_currencies",
    "money.settings",
)

MODEL_KEYS = {
    "name": True,
    "description": True,
    "grain": True,
    "key": True,
    "dimensions": True,
    "time_dimensions": True,
    "measures": True,
    "parameters": False,
    "sql": True,
    "incremental": False,
}
INCREMENTAL_KEYS = {"keys_from": True, "scoped": True}
# The table of the keys in scope, as `scoped` SQL names it.
SCOPE_TABLE = "scope"


@dataclass(frozen=True)
class Incremental:
    """How a delta maps to a model's keys, and how to build only those keys' rows.

    `keys_from`: per table the model reads (a landed table, or a model it uses), a
    SELECT of the model's key columns that the changed rows of that table reach
    (they are the CTE `touched`: the run's rows of a landed table; the changed rows,
    old and new, of a model). `scoped`: per table read, a SELECT of its rows restricted
    to the keys in scope (the table `scope`, of the key columns); the model then reads
    that instead of the whole table. Tables left out of `scoped` are read whole.
    """

    keys_from: Mapping[str, str]
    scoped: Mapping[str, str]


@dataclass(frozen=True)
class Model:
    """A governed base model: a trusted SELECT at one grain."""

    name: str
    description: str
    grain: str
    key: tuple[str, ...]
    dimensions: tuple[str, ...]
    time_dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    parameters: tuple[str, ...]
    sql: str
    path: Path
    text: str
    tables: tuple[str, ...] = ()  # landed tables read, including through the models it uses
    uses: tuple[str, ...] = ()  # other models it reads (inlined before it)
    direct: tuple[str, ...] = ()  # tables its own SQL reads (not through the models it uses)
    # How a delta rebuilds only the keys it reached (its text is part of `text`).
    incremental: Incremental | None = field(default=None, compare=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the model exposes to KPI definitions."""
        return (*self.key, *self.dimensions, *self.time_dimensions, *self.measures)


def _tables_read(tree: exp.Expression) -> tuple[str, ...]:
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or (table.name in ctes and not table.db):
            continue  # a table function (generate_series) or a CTE
        found.add(f"{table.db}.{table.name}" if table.db and table.db != "main" else table.name)
    return tuple(sorted(found))


def parse_model(
    path: Path, root: Path, problems: list[Problem], model_names: Iterable[str] = ()
) -> Model | None:
    """Read and check one base model file; problems are appended."""
    model_names = set(model_names)
    chk = Checker(path, root)
    data, text = read_yaml(path, chk)
    model = None
    if data is not None and chk.mapping(data, MODEL_KEYS, ""):
        name = chk.text(data, "name")
        if name and name != path.stem:
            chk.add(
                "name", f"{name!r} must equal the file name {path.stem!r}", chk.line(data, "name")
            )
        if name in TABLES:
            chk.add(
                "name",
                f"{name!r} is a landed table: give the model another name",
                chk.line(data, "name"),
            )
        grain = chk.text(data, "grain")
        if grain and not grain.lower().startswith("one row per "):
            chk.add(
                "grain",
                "must be a grain sentence starting 'one row per ...'",
                chk.line(data, "grain"),
            )
        description = chk.text(data, "description")
        sql = chk.text(data, "sql")
        key = chk.names(data, "key")
        dims = chk.names(data, "dimensions")
        tdims = chk.names(data, "time_dimensions")
        measures = chk.names(data, "measures")
        params = chk.names(data, "parameters")
        for col in (*key, *dims, *tdims, *measures):
            if col in RESERVED_COLUMNS or col.startswith("_"):
                chk.add(
                    "sql",
                    f"column {col!r} is reserved for KPI queries: rename it",
                    chk.line(data, "sql"),
                )
        tables: tuple[str, ...] = ()
        uses: tuple[str, ...] = ()
        if sql:
            try:
                tree = sqlglot.parse_one(sql, dialect="duckdb")
            except sqlglot.errors.ParseError as exc:
                chk.add("sql", f"does not parse: {exc}", chk.line(data, "sql"))
                tree = None
            if tree is not None:
                if not isinstance(tree, exp.Query):
                    chk.add("sql", "must be a single SELECT", chk.line(data, "sql"))
                else:
                    selected = set(tree.named_selects)
                    for col in (*key, *dims, *tdims, *measures):
                        if col not in selected:
                            chk.add(
                                "sql",
                                f"does not select declared column {col!r}",
                                chk.line(data, "sql"),
                            )
                used = {p.name for p in tree.find_all(exp.Placeholder)}
                for extra in sorted(used - {"as_of", *params}):
                    chk.add(
                        "sql",
                        f"uses ${extra}, which is not a declared parameter",
                        chk.line(data, "sql"),
                    )
                read = _tables_read(tree)
                uses = tuple(t for t in read if t in model_names and t != name)
                tables = tuple(t for t in read if t not in uses)
                for table in tables:
                    if table not in TABLES and table not in EXTRA_TABLES:
                        chk.add(
                            "sql",
                            f"reads {table!r}, which is not a landed table",
                            chk.line(data, "sql"),
                        )
        model = Model(
            name=name,
            description=description,
            grain=grain,
            key=key,
            dimensions=dims,
            time_dimensions=tdims,
            measures=measures,
            parameters=params,
            sql=sql,
            path=path,
            text=text,
            tables=tables,
            uses=uses,
            direct=tables,
            incremental=_incremental(data, chk, key, (*tables, *uses), ("as_of", *params)),
        )
    problems.extend(chk.problems)
    return model if not chk.problems else None


def _select(chk: Checker, where: str, sql: Any, line: int | None) -> exp.Query | None:
    """`sql` parsed as one SELECT, or None (with the problem added)."""
    if not isinstance(sql, str) or not sql.strip():
        chk.add(where, "must be the SQL text of a SELECT", line)
        return None
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        chk.add(where, f"does not parse: {exc}", line)
        return None
    if not isinstance(tree, exp.Query):
        chk.add(where, "must be a single SELECT", line)
        return None
    return tree


def _incremental(
    data: Mapping[str, Any],
    chk: Checker,
    key: tuple[str, ...],
    read: tuple[str, ...],
    params: tuple[str, ...],
) -> Incremental | None:
    """The model's `incremental` block, checked against its key, the tables it reads and its
    parameters."""
    block = data.get("incremental")
    if block is None or not chk.mapping(block, INCREMENTAL_KEYS, "incremental."):
        return None
    if not key:
        chk.add("incremental", "needs the model's key", chk.line(data, "incremental"))
    parts: dict[str, dict[str, str]] = {}
    for part in INCREMENTAL_KEYS:
        where = f"incremental.{part}"
        entries = block.get(part)
        if entries is None:
            continue  # refused as required
        if not isinstance(entries, dict) or not entries:
            chk.add(where, "must map tables the model reads to SQL", chk.line(block, part))
            continue
        parts[part] = {}
        for table, sql in entries.items():
            line = chk.line(entries, str(table))
            if table not in read:
                chk.add(
                    f"{where}.{table}",
                    f"the model does not read {table!r} (it reads: {', '.join(read)})",
                    line,
                )
                continue
            tree = _select(chk, f"{where}.{table}", sql, line)
            if tree is None:
                continue
            if part == "keys_from" and sorted(tree.named_selects) != sorted(key):
                chk.add(
                    f"{where}.{table}",
                    f"must select exactly the key columns {list(key)}, not {tree.named_selects}",
                    line,
                )
            for extra in sorted({p.name for p in tree.find_all(exp.Placeholder)} - set(params)):
                chk.add(
                    f"{where}.{table}", f"uses ${extra}, which is not a declared parameter", line
                )
            names = {t.name for t in tree.find_all(exp.Table)}
            if part == "scoped" and not {table, SCOPE_TABLE} <= names:
                chk.add(
                    f"{where}.{table}",
                    f"must read {table!r} restricted to the keys in {SCOPE_TABLE!r}",
                    line,
                )
            parts[part][str(table)] = sql
    missing = [t for t in read if t not in parts.get("keys_from", {}) and "." not in t]
    uses = [t for t in missing if t not in TABLES]
    if "keys_from" in parts and uses:
        chk.add(
            "incremental.keys_from",
            f"must map the models it uses ({', '.join(uses)}) to the keys their changed rows reach",
            chk.line(block, "keys_from"),
        )
    if len(parts) < len(INCREMENTAL_KEYS) or chk.problems:
        return None
    return Incremental(
        keys_from=MappingProxyType(parts["keys_from"]), scoped=MappingProxyType(parts["scoped"])
    )


def resolve_uses(models: dict[str, Model], problems: list[Problem]) -> None:
    """Give each model the landed tables of the models it uses; refuse cycles."""

    def tables(name: str, seen: tuple[str, ...]) -> set[str]:
        model = models[name]
        if name in seen:
            raise ValueError(" -> ".join((*seen, name)))
        out = set(model.tables)
        for dep in model.uses:
            if dep in models:
                out |= tables(dep, (*seen, name))
        return out

    for name in list(models):
        try:
            models[name] = replace(models[name], tables=tuple(sorted(tables(name, ()))))
        except ValueError as cycle:
            problems.append(
                Problem(
                    str(models[name].path.relative_to(models[name].path.parents[2])),
                    "sql",
                    f"models read each other in a cycle: {cycle}",
                )
            )


def model_chain(model: Model, models: Mapping[str, Model]) -> tuple[Model, ...]:
    """The models `model` reads (dependencies first) followed by itself."""
    out: list[Model] = []

    def visit(m: Model) -> None:
        for dep in m.uses:
            visit(models[dep])
        if m not in out:
            out.append(m)

    visit(model)
    return tuple(out)
